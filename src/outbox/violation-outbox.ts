// Violation events are never dropped: each is written to a durable outbox in the work folder
// before delivery is tried, and leaves it only once every target has taken it: the local bus
// (ViolationTopic, where the transport has one) and, when configured, IoT Core
// (ViolationIoTTopic). Targets are independent (a refused local publish does not hold back the
// IoT Core one), each keeps the events' order, and an event is delivered once per target.
// A refusal is logged once per topic and reason, with what would allow it when the transport knows.

import { z } from "zod";
import type { ComponentConfig } from "../config/schema.js";
import type { ViolationEvent } from "../detect/evaluate.js";
import { violationIoTTopic } from "../report/topics.js";
import type { JsonFile, WorkDir } from "../store/files.js";
import { type Logger, errorMessage, textOf } from "../util/log.js";
import { PublishRefused, type Transport } from "../agent/transport.js";
/** Beyond this many undelivered events the oldest go, with an error naming how many. */
export const OUTBOX_MAX = 2000;

const EntrySchema = z.object({
  key: z.string(),
  event: z.record(z.string(), z.unknown()),
  local: z.boolean(),
  iot: z.boolean(),
});
const OutboxSchema = z.object({
  kind: z.literal("community.greengrass.DeviceDefender/outbox"),
  entries: z.array(EntrySchema),
  /** Events ever dropped at the bound, across restarts (an older file has none: 0). */
  dropped: z.number().int().min(0).default(0),
});
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
    const loaded = this.file.load();
    this.entries = loaded?.entries ?? [];
    this.counts.dropped = loaded?.dropped ?? 0;
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
      // suppressAlerts silences the alert path only: "suppressed alarms aren't forwarded for SNS
      // notification", evaluation and alarms go on (developer guide, Detect behaviors). Here the
      // alert path is ViolationIoTTopic; the local topic, the log and `violations` still see it.
      const alerted = config.ViolationIoTTopic !== "" && ev.behavior.suppressAlerts !== true;
      this.entries.push({ key, event: ev as unknown as Record<string, unknown>, local: false, iot: !alerted });
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
  deliver(transport: Transport, config: ComponentConfig): Promise<void> {
    if (transport.holder() === undefined) return Promise.resolve();
    if (this.delivering) {
      this.again = true;
      return this.delivering;
    }
    this.delivering = (async () => {
      try {
        do {
          this.again = false;
          await this.pass(transport, config);
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by a deliver() call made while this pass awaited
        } while (this.again && transport.holder() !== undefined);
      } finally {
        this.delivering = undefined;
      }
    })();
    return this.delivering;
  }

  private async pass(transport: Transport, config: ComponentConfig): Promise<void> {
    const iotTopic = config.ViolationIoTTopic === "" ? undefined : violationIoTTopic(config.ViolationIoTTopic, this.thingName);
    const local = transport.publishLocal;
    let localBlocked = false;
    let iotBlocked = false;
    for (const entry of [...this.entries]) {
      if (transport.holder() === undefined) break;
      if (!entry.local) {
        // No local bus (standalone): the log and the violations file are the local target.
        if (local === undefined) entry.local = true;
        else if (!localBlocked) {
          if (await this.attempt("local", config.ViolationTopic, entry, () => local(config.ViolationTopic, entry.event))) {
            entry.local = true;
            this.counts.local++;
          } else localBlocked = true;
        }
      }
      if (!entry.iot) {
        if (iotTopic === undefined) entry.iot = true;
        else if (!iotBlocked) {
          if (await this.attempt("iot", iotTopic, entry, () => transport.publishToIoTCore(iotTopic, JSON.stringify(entry.event)))) {
            entry.iot = true;
            this.counts.iot++;
          } else iotBlocked = true;
        }
      }
      if (entry.local && entry.iot) this.entries.splice(this.entries.indexOf(entry), 1);
      this.save();
      if ((localBlocked || local === undefined) && (iotBlocked || iotTopic === undefined)) break;
    }
  }

  private async attempt(target: "local" | "iot", topic: string, entry: Entry, publish: () => Promise<void>): Promise<boolean> {
    const key = `${target}|${topic}`;
    try {
      await publish();
      if (this.failing.delete(key)) this.log.info("violation.delivery_recovered", { target, topic });
      return true;
    } catch (err) {
      const reason = errorMessage(err);
      if (this.failing.get(key) !== reason) {
        this.failing.set(key, reason);
        this.log.error("violation.not_published", {
          operation: err instanceof PublishRefused ? err.operation : target,
          topic,
          violation_id: textOf(entry.event.violationId),
          reason,
          fix: err instanceof PublishRefused ? err.fix : undefined,
          pending: this.entries.length,
          kept: "in the outbox until delivered",
        });
      }
      return false;
    }
  }

  private save(): void {
    this.file.save({ kind: "community.greengrass.DeviceDefender/outbox", entries: this.entries, dropped: this.counts.dropped });
  }
}
