// The one port between the agent core (sampling, ledger, Detect, outbox) and the outside world.
// Greengrass IPC (src/greengrass/) and MQTT with mutual TLS (src/mqtt/) each implement it; the
// core imports neither. What the core needs: to know who holds what it hands over (so the ledger
// can tell when queued reports were lost with their holder), to publish to AWS IoT Core at QoS 1,
// and, where the device has one, to publish on its local bus.

/** A publish the other side refused: `reason` as it said it, `fix` when we know what would allow it. */
export class PublishRefused extends Error {
  constructor(
    readonly reason: string,
    /** The transport's own name for what was refused (PublishToTopic, PUBLISH, ...). */
    readonly operation: string,
    readonly fix?: string,
  ) {
    super(reason);
  }
}

export interface Transport {
  /**
   * Who holds what is handed over now: a nucleus instance (its spool), or this process's MQTT
   * session store. Undefined while nothing can take a publish. When it changes, whatever the
   * previous holder still had queued is gone.
   */
  holder(): string | undefined;
  /** QoS 1 publish to AWS IoT Core: resolves once the holder has it, rejects with PublishRefused. */
  publishToIoTCore(topic: string, payload: Uint8Array | string): Promise<void>;
  /** Publish on the device's local bus; absent where there is none (standalone). */
  readonly publishLocal?: (topic: string, message: Record<string, unknown>) => Promise<void>;
  /** The largest report carried, when below the service's 128 KB. */
  readonly maxReportBytes?: number;
}
