// Violation events are never dropped: each is written to a durable outbox in the work folder
// before delivery is tried, and leaves it only once every target has taken it: the local topic
// (PublishToTopic on ViolationTopic) and, when configured, IoT Core (PublishToIoTCore on
// ViolationIoTTopic). Targets are independent (a refused local publish does not hold back the
// IoT Core one), each keeps the events' order, and an event is delivered once per target.
// A refusal for authorization is logged once per topic, naming the grant that would allow it.

import type { CancelController } from "aws-crt/dist/common/cancel";
import { z } from "zod";
import { model } from "aws-iot-device-sdk-v2/dist/greengrasscoreipc/client";
import type { ComponentConfig } from "../config/schema.js";
import type { ViolationEvent } from "../detect/evaluate.js";
import type { JsonFile, WorkDir } from "../store/files.js";
import type { Logger } from "../util/log.js";
import { MQTTPROXY, PUBSUB, missingGrant } from "./access-control.js";
import { errorShape, rpcErrorText } from "./ipc.js";
import { type IpcClient, call, isAlive } from "./ipc-wait.js";
import { violationIoTTopic } from "./topics.js";

const OPERATION_TIMEOUT_MS = 10_000;
/** Beyond this many undelivered events the oldest go, with an error naming how many. */
export const OUTBOX_MAX = 2000;

const EntrySchema = z.object({
  key: z.string(),
  event: z.record(z.string(), z.unknown()),
  local: z.boolean(),
  iot: z.boolean(),
});
const OutboxSchema = z.object({ kind: z.literal("community.greengrass.DeviceDefender/outbox"), entries: z.array(EntrySchema) });
type Entry = z.infer<typeof EntrySchema>;

export const OUTBOX_FILE = "outbox.json";

const keyOf = (e: ViolationEvent) => `${e.violationId}|${e.violationEventType}|${e.violationEventTime}`;

export class ViolationOutbox {
  private readonly file: JsonFile<z.infer<typeof OutboxSchema>>;
  private entries: Entry[];
  private delivering: Promise<void> | undefined;
  private again = false;
  private readonly failing = new Map<string, string>();
  readonly counts = { local: 0, iot: 0, dropped: 0 };

  constructor(
    work: WorkDir,
    private readonly log: Logger,
    private readonly thingName: string,
  ) {
    this.file = work.json(OUTBOX_FILE, OutboxSchema);
    this.entries = this.file.load()?.entries ?? [];
    if (this.entries.length > 0) log.info("violation.outbox_loaded", { pending: this.entries.length });
  }

  get pending(): number {
    return this.entries.length;
  }

  /** Adds events (each once), durably, before any delivery is tried. */
  add(events: readonly ViolationEvent[], config: ComponentConfig): void {
    if (events.length === 0) return;
    const known = new Set(this.entries.map((e) => e.key));
    for (const ev of events) {
      const key = keyOf(ev);
      if (known.has(key)) continue;
      known.add(key);
      this.entries.push({ key, event: ev as unknown as Record<string, unknown>, local: false, iot: config.ViolationIoTTopic === "" });
    }
    if (this.entries.length > OUTBOX_MAX) {
      const drop = this.entries.length - OUTBOX_MAX;
      this.entries.splice(0, drop);
      this.counts.dropped += drop;
      this.log.error("violation.outbox_full", { dropped: drop, dropped_total: this.counts.dropped, kept: OUTBOX_MAX, reason: "undelivered for too long" });
    }
    this.save();
  }

  /** Delivers what is pending, in order; one pass at a time (a request meanwhile adds one more pass). */
  deliver(client: IpcClient | undefined, config: ComponentConfig): Promise<void> {
    if (client === undefined) return Promise.resolve();
    if (this.delivering) {
      this.again = true;
      return this.delivering;
    }
    this.delivering = (async () => {
      try {
        do {
          this.again = false;
          await this.pass(client, config);
        } while (this.again && isAlive(client));
      } finally {
        this.delivering = undefined;
      }
    })();
    return this.delivering;
  }

  private async pass(client: IpcClient, config: ComponentConfig): Promise<void> {
    const iotTopic = config.ViolationIoTTopic === "" ? undefined : violationIoTTopic(config.ViolationIoTTopic, this.thingName);
    let localBlocked = false;
    let iotBlocked = false;
    for (const entry of [...this.entries]) {
      if (!isAlive(client)) break;
      if (!entry.local && !localBlocked) {
        const ok = await this.attempt(client, "PublishToTopic", PUBSUB, config.ViolationTopic, entry, (c) =>
          client.publishToTopic({ topic: config.ViolationTopic, publishMessage: { jsonMessage: { message: entry.event } } }, { cancelController: c }),
        );
        if (ok) {
          entry.local = true;
          this.counts.local++;
        } else localBlocked = true;
      }
      if (!entry.iot) {
        if (iotTopic === undefined) entry.iot = true;
        else if (!iotBlocked) {
          const ok = await this.attempt(client, "PublishToIoTCore", MQTTPROXY, iotTopic, entry, (c) =>
            client.publishToIoTCore({ topicName: iotTopic, qos: model.QOS.AT_LEAST_ONCE, payload: JSON.stringify(entry.event) }, { cancelController: c }),
          );
          if (ok) {
            entry.iot = true;
            this.counts.iot++;
          } else iotBlocked = true;
        }
      }
      if (entry.local && entry.iot) this.entries.splice(this.entries.indexOf(entry), 1);
      this.save();
      if (localBlocked && iotBlocked) break;
    }
  }

  private async attempt(client: IpcClient, operation: string, service: string, topic: string, entry: Entry, op: (c: CancelController) => Promise<unknown>): Promise<boolean> {
    try {
      await call(client, OPERATION_TIMEOUT_MS, operation, op);
      if (this.failing.delete(`${operation}|${topic}`)) this.log.info("violation.delivery_recovered", { operation, topic });
      return true;
    } catch (err) {
      const reason = rpcErrorText(err);
      const key = `${operation}|${topic}`;
      if (this.failing.get(key) !== reason) {
        this.failing.set(key, reason);
        this.log.error("violation.not_published", {
          operation,
          topic,
          violation_id: String(entry.event.violationId ?? ""),
          reason,
          fix: errorShape(err) === "UnauthorizedError" ? missingGrant(service, `aws.greengrass#${operation}`, topic) : undefined,
          pending: this.entries.length,
          kept: "in the outbox until delivered",
        });
      }
      return false;
    }
  }

  private save(): void {
    this.file.save({ kind: "community.greengrass.DeviceDefender/outbox", entries: this.entries });
  }
}
