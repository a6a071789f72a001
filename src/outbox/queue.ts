// A durable queue with independent targets: what the violation outbox (the local bus and the
// alert path) and the export outbox (IoT Core) are made of.
//
// - Durable: items are appended to a segmented log in the work folder (one write per batch)
//   before any delivery is tried, and read back at start.
// - Targets are independent: each has its own cursor (the last item it took) and its own delivery
//   loop, so one target that cannot deliver never holds back another; each takes the items in order.
// - Writes follow what changed: adding appends; a delivery moves a cursor in memory, and the small
//   cursor file is written at the end of each pass and every CURSOR_EVERY items. A process killed
//   mid-pass therefore delivers up to that many items again (at least once; each item has a key).
// - Bounded: the log holds at most `maxBytes`. Beyond it the oldest segment goes, and a target that
//   had not taken its items counts them as dropped: counters per target, kept in the cursor file,
//   that never go back. Said once per overflow, until the target catches up.
// - Segments that every target has passed are deleted; nothing is rewritten.

import { join } from "node:path";
import { z } from "zod";
import type { FailureLog, JsonFile, WorkDir } from "../store/files.js";
import { SegmentedLog } from "../store/segments.js";
import type { Logger } from "../util/log.js";

/** Items a delivery pass may take before the cursors are written. */
const CURSOR_EVERY = 50;

const CursorsSchema = z.object({
  kind: z.literal("community.greengrass.DeviceDefender/queue"),
  /** The seq of the last item each target took (or had dropped). */
  cursors: z.record(z.string(), z.int().min(0)),
  /** Items each target lost at the bound, ever. */
  dropped: z.record(z.string(), z.int().min(0)),
});
type Cursors = z.infer<typeof CursorsSchema>;

const LineSchema = z.object({ s: z.int().min(1), x: z.array(z.string()).optional(), d: z.unknown() });

interface Entry<T> {
  seq: number;
  item: T;
  /** Targets that do not take this item (an alert path a suppressed event skips, a bus a device lacks). */
  exempt: readonly string[];
}

export interface QueueOptions<T> {
  work: WorkDir;
  /** The queue's folder in the work folder. */
  folder: string;
  /** How an item read back is checked: a line that does not pass is dropped with one warning. */
  item: z.ZodType<T>;
  targets: readonly string[];
  maxBytes: number;
  log: Logger;
  /** The event name of the overflow error ("violation.outbox_full"). */
  fullEvent: string;
}

export class DurableQueue<T> {
  private readonly segments: SegmentedLog<number>;
  private readonly file: JsonFile<Cursors>;
  private entries: Array<Entry<T>> = [];
  private readonly cursors: Record<string, number> = {};
  readonly dropped: Record<string, number> = {};
  private nextSeq = 1;
  private readonly overflowing = new Set<string>();
  private untilSave = CURSOR_EVERY;

  constructor(private readonly o: QueueOptions<T>) {
    const dir = o.work.path(o.folder);
    const failures: FailureLog | undefined = o.work.failures;
    this.segments = new SegmentedLog<number>(dir, failures, o.log);
    this.file = o.work.json(join(o.folder, "cursors.json"), CursorsSchema);
    const saved = this.file.load();
    for (const t of o.targets) {
      this.cursors[t] = saved?.cursors[t] ?? 0;
      this.dropped[t] = saved?.dropped[t] ?? 0;
    }
    let unreadable = 0;
    const { entries, dropped } = this.segments.load(
      (line) => {
        const parsed = LineSchema.safeParse(safeJson(line));
        const item = parsed.success ? o.item.safeParse(parsed.data.d) : undefined;
        if (!parsed.success || !item?.success) {
          unreadable++;
          return undefined;
        }
        return { seq: parsed.data.s, item: item.data, exempt: parsed.data.x ?? [] };
      },
      (e) => e.seq,
      o.maxBytes,
    );
    if (dropped > 0 || unreadable > 0)
      o.log.warn("store.lines_dropped", { folder: dir, count: Math.max(dropped, unreadable), reason: "torn or unreadable lines" });
    const floor = Math.min(...o.targets.map((t) => this.cursors[t]!));
    this.entries = entries.filter((e) => e.seq > floor);
    this.nextSeq = Math.max(entries.at(-1)?.seq ?? 0, ...Object.values(this.cursors)) + 1;
  }

  /** Items some target has yet to take. */
  get size(): number {
    return this.entries.length;
  }

  /** Items `target` has yet to take. */
  pending(target: string): number {
    const c = this.cursors[target]!;
    return this.entries.filter((e) => e.seq > c && !e.exempt.includes(target)).length;
  }

  /** The keys of the items still held (for an owner that adds each item once). */
  items(): T[] {
    return this.entries.map((e) => e.item);
  }

  /** Appends items durably (one write), each with the targets it skips. */
  add(items: ReadonlyArray<{ item: T; exempt?: readonly string[] }>): void {
    if (items.length === 0) return;
    const segmentBytes = Math.max(4096, Math.floor(this.o.maxBytes / 8));
    let lines = "";
    const flush = () => {
      this.segments.append(lines, this.nextSeq - 1, segmentBytes);
      lines = "";
    };
    for (const { item, exempt = [] } of items) {
      const e: Entry<T> = { seq: this.nextSeq++, item, exempt };
      this.entries.push(e);
      lines += `${JSON.stringify(exempt.length > 0 ? { s: e.seq, x: exempt, d: item } : { s: e.seq, d: item })}\n`;
      // A batch larger than a segment is written a segment at a time, so the bound can act on it.
      if (lines.length >= segmentBytes) flush();
    }
    if (lines !== "") flush();
    this.trim();
  }

  /** The next item `target` has to take, oldest first. */
  next(target: string): { seq: number; item: T } | undefined {
    const c = this.cursors[target]!;
    for (const e of this.entries) if (e.seq > c && !e.exempt.includes(target)) return e;
    return undefined;
  }

  /** `target` took the item `seq` (and everything before it). */
  taken(target: string, seq: number): void {
    this.cursors[target] = Math.max(this.cursors[target]!, seq);
    if (--this.untilSave <= 0) this.save();
  }

  /** Writes the cursors (after a pass); forgets what every target has taken. */
  save(): void {
    this.untilSave = CURSOR_EVERY;
    this.file.save({ kind: "community.greengrass.DeviceDefender/queue", cursors: { ...this.cursors }, dropped: { ...this.dropped } });
    this.trim();
    for (const t of this.o.targets) if (this.overflowing.has(t) && this.next(t) === undefined) this.overflowing.delete(t);
  }

  private trim(): void {
    // Taken by every target (or skipped by it): no longer needed, in memory or on disk.
    const done = (e: Entry<T>) => this.o.targets.every((t) => e.seq <= this.cursors[t]! || e.exempt.includes(t));
    let k = 0;
    while (k < this.entries.length && done(this.entries[k]!)) k++;
    if (k > 0) this.entries.splice(0, k);
    const floor = this.entries[0]?.seq ?? this.nextSeq;
    const gone = this.segments.trim((seg) => seg.lastKey !== undefined && seg.lastKey < floor, this.o.maxBytes);
    const lost = Math.max(0, ...gone.map((g) => g.lastKey ?? 0));
    if (lost === 0 || lost < floor) return;
    // The bound: the oldest segment went with items some target had not taken.
    const counts: Record<string, number> = {};
    for (const e of this.entries) {
      if (e.seq > lost) break;
      for (const t of this.o.targets) if (e.seq > this.cursors[t]! && !e.exempt.includes(t)) counts[t] = (counts[t] ?? 0) + 1;
    }
    this.entries = this.entries.filter((e) => e.seq > lost);
    for (const [t, n] of Object.entries(counts)) {
      this.dropped[t] = this.dropped[t]! + n;
      if (!this.overflowing.has(t)) {
        this.overflowing.add(t);
        this.o.log.error(this.o.fullEvent, {
          target: t,
          dropped: n,
          dropped_total: this.dropped[t],
          max_bytes: this.o.maxBytes,
          effect: "the oldest undelivered go first; said once until this target catches up",
        });
      }
    }
    for (const t of this.o.targets) this.cursors[t] = Math.max(this.cursors[t]!, lost);
    this.file.save({ kind: "community.greengrass.DeviceDefender/queue", cursors: { ...this.cursors }, dropped: { ...this.dropped } });
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One delivery loop per target: a pass takes the target's items in order until it has none, the
 * holder goes, or a publish fails (the item stays for the next pass). A pass requested while one
 * runs makes one more pass.
 */
export class TargetLoop {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly pass: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by a run() made while the pass awaited
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
