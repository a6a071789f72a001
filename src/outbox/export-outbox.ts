// Metrics export messages wait here, in the work folder, until IoT Core has taken them: in order,
// one pass at a time, never holding back reports or Detect (delivery is started, not awaited).
// The file is written when messages come and once per delivery pass, not once per message, so a
// process killed mid-pass sends the messages of that pass again (at least once; the export
// schema's `version` lets a consumer keep one). Bounded by size: beyond EXPORT_OUTBOX_MAX_BYTES
// the oldest messages go, said once per overflow with the running total kept in the file.

import { z } from "zod";
import { PublishRefused, type Transport } from "../agent/transport.js";
import { type ExportBatch, ExportMessageSchema } from "../detect/export.js";
import type { JsonFile, WorkDir } from "../store/files.js";
import { type Logger, errorMessage } from "../util/log.js";

/** About ten days of a few exported metrics at one sample every 300 s; what a 64 MB heap holds with room. */
export const EXPORT_OUTBOX_MAX_BYTES = 2_000_000;
export const EXPORT_OUTBOX_FILE = "exports.json";

const StoredSchema = z.object({
  kind: z.literal("community.greengrass.DeviceDefender/exports"),
  pending: z.array(z.object({ topic: z.string().min(1), message: ExportMessageSchema, bytes: z.number().int().min(0) })),
  dropped: z.number().int().min(0).default(0),
});
type Stored = z.infer<typeof StoredSchema>;

export class ExportOutbox {
  private readonly file: JsonFile<Stored>;
  private pending: Stored["pending"];
  private bytes: number;
  private delivering: Promise<void> | undefined;
  private again = false;
  private overflowing = false;
  private failing: string | undefined;
  readonly counts = { delivered: 0, dropped: 0 };

  constructor(
    work: WorkDir,
    private readonly log: Logger,
  ) {
    this.file = work.json(EXPORT_OUTBOX_FILE, StoredSchema);
    const loaded = this.file.load();
    this.pending = loaded?.pending ?? [];
    this.counts.dropped = loaded?.dropped ?? 0;
    this.bytes = this.pending.reduce((n, p) => n + p.bytes, 0);
  }

  get size(): number {
    return this.pending.length;
  }

  add(batches: readonly ExportBatch[]): void {
    if (batches.length === 0) return;
    for (const b of batches) {
      const bytes = Buffer.byteLength(JSON.stringify(b.message));
      this.pending.push({ topic: b.topic, message: b.message, bytes });
      this.bytes += bytes;
    }
    let dropped = 0;
    while (this.bytes > EXPORT_OUTBOX_MAX_BYTES && this.pending.length > 1) {
      this.bytes -= this.pending.shift()!.bytes;
      dropped++;
    }
    if (dropped > 0) {
      this.counts.dropped += dropped;
      if (!this.overflowing) {
        this.overflowing = true;
        this.log.error("export.outbox_full", {
          dropped_total: this.counts.dropped,
          kept_bytes: this.bytes,
          max_bytes: EXPORT_OUTBOX_MAX_BYTES,
          effect: "the oldest undelivered export messages go first; said once until the outbox drains",
        });
      }
    }
    this.save();
  }

  /** Delivers what is pending, in order, stopping at the first refusal (the order is kept). */
  deliver(transport: Transport): Promise<void> {
    if (transport.holder() === undefined || this.pending.length === 0) return Promise.resolve();
    if (this.delivering) {
      this.again = true;
      return this.delivering;
    }
    this.delivering = (async () => {
      try {
        do {
          this.again = false;
          await this.pass(transport);
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by a deliver() call made while this pass awaited
        } while (this.again && transport.holder() !== undefined);
      } finally {
        this.delivering = undefined;
      }
    })();
    return this.delivering;
  }

  private async pass(transport: Transport): Promise<void> {
    let sent = 0;
    try {
      while (this.pending.length > 0 && transport.holder() !== undefined) {
        const next = this.pending[0]!;
        await transport.publishToIoTCore(next.topic, JSON.stringify(next.message));
        this.pending.shift();
        this.bytes -= next.bytes;
        sent++;
        this.counts.delivered++;
      }
      if (this.failing !== undefined) this.log.info("export.delivery_recovered", { topic: this.failing });
      this.failing = undefined;
      if (this.pending.length === 0) this.overflowing = false;
    } catch (err) {
      const topic = this.pending[0]?.topic ?? "";
      if (this.failing !== topic) {
        this.failing = topic;
        this.log.error("export.not_published", {
          topic,
          reason: errorMessage(err),
          fix: err instanceof PublishRefused ? err.fix : undefined,
          pending: this.pending.length,
          kept: "in the outbox until delivered",
        });
      }
    } finally {
      if (sent > 0) this.save();
    }
  }

  private save(): void {
    this.file.save({ kind: "community.greengrass.DeviceDefender/exports", pending: this.pending, dropped: this.counts.dropped });
  }
}
