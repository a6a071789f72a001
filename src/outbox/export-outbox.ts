// Metrics export messages wait in a durable queue in the work folder (./queue.ts) until IoT Core
// has taken them: in order, never holding back reports or Detect (delivery is started, not
// awaited). Written when messages come and, as a cursor, per delivery pass: a process killed
// mid-pass sends up to a pass's messages again (at least once; the export schema's `version` lets
// a consumer keep one). Bounded by size: beyond EXPORT_OUTBOX_MAX_BYTES the oldest go, said once
// per overflow with the running total kept.

import { z } from "zod";
import { PublishRefused, type Transport } from "../agent/transport.js";
import { type ExportBatch, ExportMessageSchema } from "../detect/export.js";
import type { WorkDir } from "../store/files.js";
import { type Logger, errorMessage } from "../util/log.js";
import { DurableQueue, TargetLoop } from "./queue.js";

/** About ten days of a few exported metrics at one sample every 300 s; what a 64 MB heap holds with room. */
export const EXPORT_OUTBOX_MAX_BYTES = 2_000_000;
export const EXPORT_OUTBOX_FOLDER = "exports";
/** The single-file outbox of earlier versions, read once into the queue. */
export const LEGACY_EXPORT_FILE = "exports.json";

const ItemSchema = z.object({ topic: z.string().min(1), message: ExportMessageSchema });
const LegacySchema = z.object({ pending: z.array(ItemSchema), dropped: z.number().int().min(0).default(0) });

export class ExportOutbox {
  private readonly queue: DurableQueue<z.infer<typeof ItemSchema>>;
  private readonly loop = new TargetLoop(() => this.pass());
  private transport: Transport | undefined;
  private failing: string | undefined;
  readonly counts = { delivered: 0 };

  constructor(
    work: WorkDir,
    private readonly log: Logger,
  ) {
    this.queue = new DurableQueue({
      work,
      folder: EXPORT_OUTBOX_FOLDER,
      item: ItemSchema,
      targets: ["iot"],
      maxBytes: EXPORT_OUTBOX_MAX_BYTES,
      log,
      fullEvent: "export.outbox_full",
    });
    const legacy = work.json(LEGACY_EXPORT_FILE, LegacySchema);
    const old = legacy.load();
    if (old !== undefined) {
      this.queue.add(old.pending.map((item) => ({ item })));
      this.queue.dropped.iot = Math.max(this.queue.dropped.iot!, old.dropped);
      this.queue.save();
      legacy.remove();
    }
  }

  /** Messages waiting for IoT Core. */
  get size(): number {
    return this.queue.size;
  }

  /** Messages lost at the bound, ever (kept across restarts). */
  get dropped(): number {
    return this.queue.dropped.iot!;
  }

  add(batches: readonly ExportBatch[]): void {
    this.queue.add(batches.map((b) => ({ item: { topic: b.topic, message: b.message } })));
  }

  /** Delivers what is pending, in order, stopping at the first refusal (the order is kept). */
  deliver(transport: Transport): Promise<void> {
    this.transport = transport;
    if (transport.holder() === undefined || this.queue.next("iot") === undefined) return Promise.resolve();
    return this.loop.run();
  }

  private async pass(): Promise<void> {
    const transport = this.transport!;
    try {
      for (let next = this.queue.next("iot"); next !== undefined && transport.holder() !== undefined; next = this.queue.next("iot")) {
        const { topic, message } = next.item;
        try {
          await transport.publishToIoTCore(topic, JSON.stringify(message));
        } catch (err) {
          if (this.failing !== topic) {
            this.failing = topic;
            this.log.error("export.not_published", {
              topic,
              reason: errorMessage(err),
              fix: err instanceof PublishRefused ? err.fix : undefined,
              pending: this.queue.size,
              kept: "in the outbox until delivered",
            });
          }
          return;
        }
        this.queue.taken("iot", next.seq);
        this.counts.delivered++;
        if (this.failing !== undefined) this.log.info("export.delivery_recovered", { topic: this.failing });
        this.failing = undefined;
      }
    } finally {
      this.queue.save();
    }
  }
}
