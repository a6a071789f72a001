// Violation events are never lost silently: each is written to a durable queue in the work
// folder (./queue.ts) before delivery is tried, and delivered to each target on its own: the local
// bus (ViolationTopic, where the transport has one) and, when configured, IoT Core
// (ViolationIoTTopic, the alert path). One target that cannot deliver (IoT Core offline) never holds
// back the other; each keeps the events' order and takes each event once. A refusal is logged once
// per target, topic and reason, with what would allow it when the transport knows. At the bound
// (OUTBOX_MAX_BYTES) the oldest events a target has not taken go, counted per target.

import { z } from "zod";
import { PublishRefused, type Transport } from "../agent/transport.js";
import type { ComponentConfig } from "../config/schema.js";
import type { ViolationEvent } from "../detect/alarms.js";
import { violationIoTTopic } from "../report/topics.js";
import type { WorkDir } from "../store/files.js";
import { type Logger, errorMessage } from "../util/log.js";
import { DurableQueue, TargetLoop } from "./queue.js";

/**
 * The queue's size on disk and, about three times that, in memory: some 2,000 events (an event is
 * at most ~1 KB, its list cut to 100 elements). A day offline with 100 flapping behaviors fits.
 */
export const OUTBOX_MAX_BYTES = 2_000_000;
export const OUTBOX_FOLDER = "outbox";
/** The single-file outbox of earlier versions, read once into the queue. */
export const LEGACY_OUTBOX_FILE = "outbox.json";

type Target = "local" | "iot";
const TARGETS: readonly Target[] = ["local", "iot"];

const EventLike = z.looseObject({
  violationId: z.string(),
  violationEventType: z.string(),
  violationEventTime: z.number(),
  behavior: z.looseObject({ name: z.string(), suppressAlerts: z.boolean().optional() }),
});

const LegacySchema = z.object({
  entries: z.array(z.object({ event: z.record(z.string(), z.unknown()), local: z.boolean(), iot: z.boolean() })),
  dropped: z.number().int().min(0).default(0),
});

const keyOf = (e: { violationId: string; violationEventType: string; violationEventTime: number }) =>
  `${e.violationId}|${e.violationEventType}|${e.violationEventTime}`;

export class ViolationOutbox {
  private readonly queue: DurableQueue<z.infer<typeof EventLike>>;
  private readonly loops: Record<Target, TargetLoop>;
  private readonly failing = new Map<string, string>();
  /** Delivered by this process, per target. */
  readonly counts = { local: 0, iot: 0 };
  private transport: Transport | undefined;
  private config: ComponentConfig | undefined;

  constructor(
    work: WorkDir,
    private readonly log: Logger,
    private readonly thingName: string,
  ) {
    this.queue = new DurableQueue({
      work,
      folder: OUTBOX_FOLDER,
      item: EventLike,
      targets: TARGETS,
      maxBytes: OUTBOX_MAX_BYTES,
      log,
      fullEvent: "violation.outbox_full",
    });
    this.adoptLegacy(work);
    this.loops = { local: new TargetLoop(() => this.pass("local")), iot: new TargetLoop(() => this.pass("iot")) };
    if (this.queue.size > 0) log.info("violation.outbox_loaded", { pending: this.queue.size });
  }

  /** Events some target has yet to take. */
  get pending(): number {
    return this.queue.size;
  }

  /** Events each target lost at the bound, ever (kept across restarts). */
  get dropped(): Readonly<Record<string, number>> {
    return this.queue.dropped;
  }

  /**
   * Adds events (each once), durably, before any delivery is tried. `hasLocal`: the transport has
   * a local bus (standalone has none: the log and the violations file are its local target).
   */
  add(events: readonly ViolationEvent[], config: ComponentConfig, hasLocal: boolean): void {
    if (events.length === 0) return;
    const known = new Set(this.queue.items().map(keyOf));
    const items: Array<{ item: z.infer<typeof EventLike>; exempt: Target[] }> = [];
    for (const ev of events) {
      const key = keyOf(ev);
      if (known.has(key)) continue;
      known.add(key);
      // suppressAlerts silences the alert path only: "suppressed alarms aren't forwarded for SNS
      // notification", evaluation and alarms go on (developer guide, Detect behaviors). Here the
      // alert path is ViolationIoTTopic; the local topic, the log and `violations` still see it.
      const alerted = config.ViolationIoTTopic !== "" && ev.behavior.suppressAlerts !== true;
      const exempt: Target[] = [];
      if (!hasLocal) exempt.push("local");
      if (!alerted) exempt.push("iot");
      if (exempt.length < TARGETS.length) items.push({ item: EventLike.parse(ev), exempt });
    }
    this.queue.add(items);
  }

  /** Starts delivery to each target that has events (each on its own; never awaits the other). */
  deliver(transport: Transport, config: ComponentConfig): Promise<void> {
    this.transport = transport;
    this.config = config;
    if (transport.holder() === undefined) return Promise.resolve();
    return Promise.all(TARGETS.filter((t) => this.queue.next(t) !== undefined).map((t) => this.loops[t].run())).then(() => undefined);
  }

  private async pass(target: Target): Promise<void> {
    const transport = this.transport!;
    const config = this.config!;
    try {
      for (let next = this.queue.next(target); next !== undefined && transport.holder() !== undefined; next = this.queue.next(target)) {
        const event = next.item;
        let topic: string;
        let publish: () => Promise<void>;
        if (target === "local") {
          const local = transport.publishLocal;
          if (local === undefined) {
            this.queue.taken(target, next.seq);
            continue;
          }
          topic = config.ViolationTopic;
          publish = () => local(topic, event);
        } else {
          if (config.ViolationIoTTopic === "") {
            // Configured off since the event came: nothing to deliver it to.
            this.queue.taken(target, next.seq);
            continue;
          }
          topic = violationIoTTopic(config.ViolationIoTTopic, this.thingName);
          publish = () => transport.publishToIoTCore(topic, JSON.stringify(event));
        }
        if (!(await this.attempt(target, topic, event.violationId, publish))) return;
        this.queue.taken(target, next.seq);
        this.counts[target]++;
      }
    } finally {
      this.queue.save();
    }
  }

  private async attempt(target: Target, topic: string, violationId: string, publish: () => Promise<void>): Promise<boolean> {
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
          violation_id: violationId,
          reason,
          fix: err instanceof PublishRefused ? err.fix : undefined,
          pending: this.queue.pending(target),
          kept: "in the outbox until delivered",
        });
      }
      return false;
    }
  }

  /** An outbox.json of an earlier version: its events join the queue as they were, and it goes. */
  private adoptLegacy(work: WorkDir): void {
    const legacy = work.json(LEGACY_OUTBOX_FILE, LegacySchema);
    const old = legacy.load();
    if (old === undefined) return;
    const items = old.entries.flatMap((e) => {
      const event = EventLike.safeParse(e.event);
      const exempt = TARGETS.filter((t) => (t === "local" ? e.local : e.iot));
      return event.success && exempt.length < TARGETS.length ? [{ item: event.data, exempt }] : [];
    });
    this.queue.add(items);
    // Events the old outbox dropped were lost to both targets.
    for (const t of TARGETS) this.queue.dropped[t] = Math.max(this.queue.dropped[t]!, old.dropped);
    this.queue.save();
    legacy.remove();
    this.log.info("violation.outbox_migrated", { events: items.length, from: LEGACY_OUTBOX_FILE, to: `${OUTBOX_FOLDER}/` });
  }
}
