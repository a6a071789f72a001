// The local history of datapoints: segment files of one JSON line per datapoint
// (src/store/segments.ts), bounded by age (HistoryDays) and size (HistoryMaxBytes), the oldest
// going first, a whole segment at a time, so nothing is ever rewritten. In memory it holds
// exactly the datapoints within the age bound, and never more than the disk does.

import type { Logger } from "../util/log.js";
import type { FailureLog } from "../store/files.js";
import { SegmentedLog } from "../store/segments.js";
import { type Datapoint, withMetrics } from "./datapoint.js";
import type { MetricValue } from "./profile-schema.js";
import { Datapoints } from "./datapoints.js";

export interface HistoryOptions {
  maxAgeMs: number;
  maxBytes: number;
}

/** Compact on disk: {"t":time,"i":interval,"v":{metric:value}} with the value's one field shortened. */
const SHORT: Record<string, string> = { count: "c", number: "n", numbers: "N", strings: "s", ports: "p", cidrs: "i" };
const LONG: Record<string, string> = Object.fromEntries(Object.entries(SHORT).map(([k, v]) => [v, k]));

export function encodeDatapoint(dp: Datapoint): string {
  const v: Record<string, Record<string, unknown>> = {};
  for (const [metric, value] of Object.entries(dp.values)) {
    const [k, x]: [string?, unknown?] = Object.entries(value)[0] ?? [];
    if (k !== undefined) v[metric] = { [SHORT[k] ?? k]: x };
  }
  return `${JSON.stringify(dp.interval === undefined ? { t: dp.time, v } : { t: dp.time, i: dp.interval, v })}\n`;
}

export function decodeDatapoint(line: string): Datapoint | undefined {
  try {
    // A line read back from disk: every field is checked before use.
    const o = JSON.parse(line) as { t?: unknown; i?: unknown; v?: unknown };
    if (typeof o.t !== "number" || typeof o.v !== "object" || o.v === null) return undefined;
    const values: Record<string, MetricValue> = {};
    for (const [metric, value] of Object.entries(o.v as Record<string, unknown>)) {
      if (typeof value !== "object" || value === null) return undefined;
      const [k, x]: [string?, unknown?] = Object.entries(value)[0] ?? [];
      if (k !== undefined) values[metric] = { [LONG[k] ?? k]: x };
    }
    return typeof o.i === "number" ? { time: o.t, interval: o.i, values } : { time: o.t, values };
  } catch {
    return undefined;
  }
}

/** The history folder in the work folder; a history.ndjson of version 1.0.0 is adopted as its oldest segment. */
export const HISTORY_FOLDER = "history";

export class History {
  /** In memory, by column (./datapoints.ts); a Series for the evaluator. */
  points = new Datapoints();
  /** Lines that could not be read when the history was opened (a torn last line, say). */
  readonly dropped: number;
  private readonly log: SegmentedLog<number>;

  /**
   * `folder` undefined keeps the history in memory only (replay). `legacyFile`, when given, is an
   * older single-file history to adopt. `judged`, when given, says which metrics memory keeps (the
   * ones the evaluator reads); the disk keeps every metric it is given.
   */
  constructor(
    private readonly folder: string | undefined,
    private readonly opts: HistoryOptions,
    readOnly = false,
    logger?: Logger,
    failures?: FailureLog,
    legacyFile?: string,
    private judged?: ReadonlySet<string>,
  ) {
    this.log = new SegmentedLog<number>(folder, failures, logger, readOnly);
    const { entries, dropped } = this.log.load(decodeDatapoint, (d) => d.time, opts.maxBytes, legacyFile);
    this.dropped = dropped;
    if (dropped > 0) logger?.warn("history.lines_dropped", { count: dropped, reason: "torn or unreadable lines" });
    this.remember(entries);
  }

  /**
   * Keeps other metrics in memory from now on, read again from disk: a behavior on a metric the
   * profiles only retained until now has its baseline at once.
   */
  judge(metrics: ReadonlySet<string>): void {
    if (this.judged !== undefined && sameSet(this.judged, metrics)) return;
    this.judged = metrics;
    // Memory only (replay): what it has is all there is.
    const entries =
      this.folder === undefined
        ? this.points.toArray()
        : new SegmentedLog<number>(this.folder, undefined, undefined, true).load(decodeDatapoint, (d) => d.time, this.opts.maxBytes).entries;
    this.points = new Datapoints();
    this.remember(entries);
  }

  private remember(entries: Datapoint[]): void {
    const newest = entries.at(-1)?.time;
    const cutoff = newest === undefined ? -Infinity : newest - this.opts.maxAgeMs;
    for (const dp of entries) if (dp.time > cutoff) this.points.push(this.inMemory(dp));
  }

  private inMemory(dp: Datapoint): Datapoint {
    return this.judged === undefined ? dp : withMetrics(dp, this.judged);
  }

  /** The datapoints as objects (for the commands; the component reads `points`). */
  get datapoints(): Datapoint[] {
    return this.points.toArray();
  }

  /** Bytes on disk (or that would be). */
  get bytes(): number {
    return this.log.totalBytes;
  }

  append(dp: Datapoint): void {
    this.points.push(this.inMemory(dp));
    const segmentBytes = Math.max(1024, Math.floor(this.opts.maxBytes / 16));
    this.log.append(encodeDatapoint(dp), dp.time, segmentBytes);
    const cutoff = dp.time - this.opts.maxAgeMs;
    const gone = this.log.trim((seg) => seg.lastKey !== undefined && seg.lastKey <= cutoff, this.opts.maxBytes);
    const dropUntil = Math.max(cutoff, ...gone.map((g) => g.lastKey ?? -Infinity));
    this.points.dropUntil(dropUntil);
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((m) => b.has(m));
}
