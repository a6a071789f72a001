// The Greengrass IPC connection: one SDK client at a time. A disconnected SDK client cannot
// reconnect, so every reconnection builds a fresh client (capped exponential backoff) and runs
// the set-up again (configuration read, subscriptions). Set-up that fails on a live connection
// is retried on that connection; on a connection that is going away it is left to the reconnect.

import { statSync } from "node:fs";
import { createClient } from "aws-iot-device-sdk-v2/dist/greengrasscoreipc";
import { type IpcClient, connectionEnded, isAlive, withTimeout } from "./ipc-wait.js";
import { type Logger, errorMessage } from "../util/log.js";

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Text of an SDK RpcError (with the service's error shape and message), or any error. */
export function rpcErrorText(err: unknown): string {
  // Anything may have been thrown or rejected (undefined and null too).
  const e = err as { description?: string; serviceError?: { message?: string; _errorCode?: string }; message?: string } | null | undefined;
  if (e?.serviceError) {
    // nucleus lite sends {"_message": "", "_errorCode": ...} (ggipcd/src/ipc_server.c,
    // send_stream_error), which the SDK's model reads as no message at all.
    const shape = e.serviceError._errorCode ?? "ServiceError";
    return `${shape}: ${e.serviceError.message || "the runtime gave no message"}`;
  }
  return e?.description ?? errorMessage(err);
}

/** The modelled error shape of an SDK RpcError (UnauthorizedError, ServiceError, ...), if any. */
export function errorShape(err: unknown): string | undefined {
  return (err as { serviceError?: { _errorCode?: string } } | null | undefined)?.serviceError?._errorCode;
}

/**
 * Which nucleus instance serves the socket: the nucleus deletes and re-creates its IPC socket file
 * when it starts (ipc/IPCEventStreamService.java startup() and close(), Platform
 * prepareDomainSocketFilepath / cleanupIpcBackingFile), so a new file means a restarted nucleus,
 * whose in-memory spool started empty.
 */
export function nucleusIdentity(socketPath: string): string {
  try {
    const s = statSync(socketPath, { bigint: true });
    return `${s.dev}:${s.ino}:${s.birthtimeNs || s.ctimeNs}`;
  } catch (err) {
    return `unknown:${(err as NodeJS.ErrnoException).code ?? "EIO"}`;
  }
}

export interface ConnectionEvents {
  /** A client is connected; resolves when set-up is done, throws to have it retried. */
  onConnected(client: IpcClient, nucleus: string): Promise<void>;
  /** The connection is gone (a new client will follow). */
  onDisconnected(): void;
}

export class IpcConnection {
  private client: IpcClient | undefined;
  private closed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private setUpTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  private nucleusId: string | undefined;

  constructor(
    private readonly log: Logger,
    private readonly socketPath: string,
    private readonly events: ConnectionEvents,
    private readonly backoff: Backoff,
  ) {}

  /** The live client, or undefined while disconnected. */
  get current(): IpcClient | undefined {
    return this.client;
  }

  /** Identity of the nucleus behind the live client (see nucleusIdentity). */
  get nucleus(): string | undefined {
    return this.client === undefined ? undefined : this.nucleusId;
  }

  start(): void {
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.setUpTimer);
    const c = this.client;
    this.client = undefined;
    if (c) {
      connectionEnded(c);
      await withTimeout(1000, "close", () => c.close()).catch(() => undefined);
    }
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const generation = ++this.generation;
    let client: IpcClient;
    try {
      client = createClient();
    } catch (err) {
      this.log.error("ipc.unavailable", { reason: rpcErrorText(err) });
      this.retry();
      return;
    }
    let lost = false;
    client.on("disconnection", (ev) => {
      lost = true;
      connectionEnded(client);
      if (generation !== this.generation || this.closed) return;
      this.client = undefined;
      clearTimeout(this.setUpTimer);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition, @typescript-eslint/no-unnecessary-type-conversion -- the reason is whatever the SDK's JavaScript passes on; its message is not guaranteed to be a string
      this.log.warn("ipc.disconnected", { reason: ev?.reason ? String(ev.reason.message ?? ev.reason) : "closed" });
      this.events.onDisconnected();
      this.retry();
    });
    try {
      await withTimeout(10_000, "connect", () => client.connect());
    } catch (err) {
      this.log.warn("ipc.connect_failed", { reason: rpcErrorText(err), attempt: this.attempt + 1 });
      connectionEnded(client);
      await client.close().catch(() => undefined);
      this.retry();
      return;
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- both can change while connect() awaits: close(), and the disconnection listener above
    if (this.closed || lost) {
      connectionEnded(client);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run while connect() awaited
      if (this.closed) await client.close().catch(() => undefined);
      return;
    }
    this.client = client;
    this.nucleusId = nucleusIdentity(this.socketPath);
    this.attempt = 0;
    this.log.info("ipc.connected", {});
    await this.setUp(client, generation, 0);
  }

  /** Runs the set-up; if it fails while this connection stays up, tries again after a while. */
  private async setUp(client: IpcClient, generation: number, failures: number): Promise<void> {
    try {
      await this.events.onConnected(client, this.nucleusId!);
    } catch (err) {
      const live = generation === this.generation && !this.closed && this.client === client && isAlive(client);
      if (!live) return; // the reconnection takes over with a fresh client
      const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** failures);
      this.log.warn("ipc.setup_failed", { reason: rpcErrorText(err), retry_in_ms: delay });
      this.setUpTimer = setTimeout(() => void this.setUp(client, generation, failures + 1), delay);
    }
  }

  private retry(): void {
    if (this.closed || this.retryTimer) return;
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.attempt);
    this.attempt++;
    this.generation++; // events of the old client no longer count
    this.log.info("ipc.reconnect_scheduled", { in_ms: delay, attempt: this.attempt });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }
}
