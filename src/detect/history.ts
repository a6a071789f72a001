// The local history of datapoints: segment files of one JSON line per datapoint
// (src/store/segments.ts), bounded by age (HistoryDays) and size (HistoryMaxBytes), the oldest
// going first, a whole segment at a time, so nothing is ever rewritten. In memory it holds
// exactly the datapoints within the age bound, and never more than the disk does.

import type { Logger } from "../util/log.js";
import type { FailureLog } from "../store/files.js";
import { SegmentedLog } from "../store/segments.js";
import type { Datapoint } from "./datapoint.js";
import type { MetricValue } from "./profile-schema.js";

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
    const [k, x] = Object.entries(value)[0] ?? [];
    if (k !== undefined) v[metric] = { [SHORT[k] ?? k]: x };
  }
  return `${JSON.stringify(dp.interval === undefined ? { t: dp.time, v } : { t: dp.time, i: dp.interval, v })}\n`;
}

export function decodeDatapoint(line: string): Datapoint | undefined {
  try {
    const o = JSON.parse(line) as { t?: unknown; i?: unknown; v?: Record<string, Record<string, unknown>> };
    if (typeof o.t !== "number" || typeof o.v !== "object" || o.v === null) return undefined;
    const values: Record<string, MetricValue> = {};
    for (const [metric, value] of Object.entries(o.v)) {
      if (typeof value !== "object" || value === null) return undefined;
      const [k, x] = Object.entries(value)[0] ?? [];
      if (k !== undefined) values[metric] = { [LONG[k] ?? k]: x } as MetricValue;
    }
    return typeof o.i === "number" ? { time: o.t, interval: o.i, values } : { time: o.t, values };
  } catch {
    return undefined;
  }
}

/** The history folder in the work folder; a history.ndjson of version 1.0.0 is adopted as its oldest segment. */
export const HISTORY_FOLDER = "history";

export class History {
  readonly datapoints: Datapoint[] = [];
  /** Lines that could not be read when the history was opened (a torn last line, say). */
  readonly dropped: number;
  private readonly log: SegmentedLog<number>;

  /**
   * `folder` undefined keeps the history in memory only (replay). `legacyFile`, when given, is an
   * older single-file history to adopt.
   */
  constructor(
    folder: string | undefined,
    private readonly opts: HistoryOptions,
    readOnly = false,
    logger?: Logger,
    failures?: FailureLog,
    legacyFile?: string,
  ) {
    this.log = new SegmentedLog<number>(folder, failures, logger, readOnly);
    const { entries, dropped } = this.log.load(decodeDatapoint, (d) => d.time, opts.maxBytes, legacyFile);
    this.dropped = dropped;
    if (dropped > 0) logger?.warn("history.lines_dropped", { count: dropped, reason: "torn or unreadable lines" });
    const newest = entries.at(-1)?.time;
    const cutoff = newest === undefined ? -Infinity : newest - opts.maxAgeMs;
    for (const dp of entries) if (dp.time > cutoff) this.datapoints.push(dp);
  }

  /** Bytes on disk (or that would be). */
  get bytes(): number {
    return this.log.totalBytes;
  }

  append(dp: Datapoint): void {
    this.datapoints.push(dp);
    const segmentBytes = Math.max(1024, Math.floor(this.opts.maxBytes / 16));
    this.log.append(encodeDatapoint(dp), dp.time, segmentBytes);
    const cutoff = dp.time - this.opts.maxAgeMs;
    const gone = this.log.trim((seg) => seg.lastKey !== undefined && seg.lastKey <= cutoff, this.opts.maxBytes);
    const dropUntil = Math.max(cutoff, ...gone.map((g) => g.lastKey ?? -Infinity));
    let drop = 0;
    while (drop < this.datapoints.length && this.datapoints[drop]!.time <= dropUntil) drop++;
    if (drop > 0) this.datapoints.splice(0, drop);
  }
}
