// The local history of datapoints: segment files of one JSON line per datapoint
// (src/store/segments.ts), bounded by age (HistoryDays) and size (HistoryMaxBytes), the oldest
// going first, a whole segment at a time, so nothing is ever rewritten.
//
// Numbers and lists are kept apart, each in its own log with half of HistoryMaxBytes: the numbers
// (traffic, counts, custom numbers) are what baselines and models learn from, a few hundred bytes
// a datapoint; the lists (ports, peers, custom lists) are only looked at (`explore`), and under a
// connection storm one datapoint's peers are thousands of addresses. Apart, a storm can push out
// older lists but never a baseline. A list is also kept short: at most HISTORY_LIST_MAX elements
// a datapoint, with how many there were. In memory the history holds only the numbers the
// behaviors judge, exactly the datapoints within the age bound, never more than the disk does.

import { join } from "node:path";
import type { Logger } from "../util/log.js";
import type { FailureLog } from "../store/files.js";
import { SegmentedLog } from "../store/segments.js";
import { type Datapoint, type MetricValue, numbersOnly, withMetrics } from "./datapoint.js";
import { Datapoints } from "./datapoints.js";

export interface HistoryOptions {
  maxAgeMs: number;
  maxBytes: number;
}

/** The most elements of one list a datapoint keeps in the history. */
export const HISTORY_LIST_MAX = 1000;

/** Compact on disk: {"t":time,"i":interval,"v":{metric:value},"n":{metric:elements}} with the value's one field shortened. */
const SHORT: Record<string, string> = { count: "c", number: "n", numbers: "N", strings: "s", ports: "p", cidrs: "i" };
const LONG: Record<string, string> = Object.fromEntries(Object.entries(SHORT).map(([k, v]) => [v, k]));

export function encodeDatapoint(dp: Datapoint): string {
  const v: Record<string, Record<string, unknown>> = {};
  for (const [metric, value] of Object.entries(dp.values)) {
    const [k, x] = (Object.entries(value) as Array<[string, unknown]>)[0] ?? [];
    if (k !== undefined) v[metric] = { [SHORT[k] ?? k]: x };
  }
  const line: Record<string, unknown> = { t: dp.time };
  if (dp.interval !== undefined) line.i = dp.interval;
  line.v = v;
  if (dp.elements !== undefined) line.n = dp.elements;
  if (dp.bands !== undefined) line.b = dp.bands;
  return `${JSON.stringify(line)}\n`;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null;

export function decodeDatapoint(line: string): Datapoint | undefined {
  try {
    const o: unknown = JSON.parse(line);
    if (!isObject(o) || typeof o.t !== "number" || !isObject(o.v)) return undefined;
    const values: Record<string, MetricValue> = {};
    for (const [metric, value] of Object.entries(o.v)) {
      if (!isObject(value)) return undefined;
      const [k, x] = Object.entries(value)[0] ?? [];
      if (k !== undefined) values[metric] = { [LONG[k] ?? k]: x };
    }
    const dp: Datapoint = typeof o.i === "number" ? { time: o.t, interval: o.i, values } : { time: o.t, values };
    if (isObject(o.n)) dp.elements = Object.fromEntries(Object.entries(o.n).filter((e): e is [string, number] => typeof e[1] === "number"));
    if (isObject(o.b)) {
      const isBand = (b: unknown): b is [number, number, number, number] => Array.isArray(b) && b.length === 4 && b.every((x) => typeof x === "number");
      dp.bands = Object.fromEntries(Object.entries(o.b).filter((e): e is [string, [number, number, number, number]] => isBand(e[1])));
    }
    return dp;
  } catch {
    return undefined;
  }
}

const timeOf = (line: string): number | undefined => {
  const m = /^\{"t":(\d+)/.exec(line);
  return m ? Number(m[1]) : undefined;
};

/** The history folder in the work folder; a history.ndjson of version 1.0.0 is adopted as its oldest segment. */
export const HISTORY_FOLDER = "history";
/** The lists' log, inside the history folder. */
export const LISTS_FOLDER = "lists";

/** A datapoint's lists, each cut to HISTORY_LIST_MAX elements (how many there were in `elements`); undefined when it has none. */
export function listsOf(dp: Datapoint): Datapoint | undefined {
  const values: Record<string, MetricValue> = {};
  const elements: Record<string, number> = {};
  for (const [metric, v] of Object.entries(dp.values)) {
    if (v.count !== undefined || v.number !== undefined) continue;
    const [k, list] = Object.entries(v)[0] ?? [];
    if (k === undefined || !Array.isArray(list)) continue;
    const seen = dp.elements?.[metric] ?? list.length;
    values[metric] = list.length > HISTORY_LIST_MAX ? { [k]: list.slice(0, HISTORY_LIST_MAX) } : v;
    if (seen > (values[metric][k as keyof MetricValue] as unknown[]).length) elements[metric] = seen;
  }
  if (Object.keys(values).length === 0) return undefined;
  const out: Datapoint = { time: dp.time, values };
  if (Object.keys(elements).length > 0) out.elements = elements;
  return out;
}

export class History {
  /** In memory, by column (./datapoints.ts); a Series for the evaluator. */
  points = new Datapoints();
  /** Lines that could not be read when the history was opened (a torn last line, say). */
  readonly dropped: number;
  private readonly numbers: SegmentedLog<number>;
  private readonly lists: SegmentedLog<number>;

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
    this.numbers = new SegmentedLog<number>(folder, failures, logger, readOnly);
    this.lists = new SegmentedLog<number>(folder === undefined ? undefined : join(folder, LISTS_FOLDER), failures, logger, readOnly);
    const { entries, dropped } = this.numbers.load(decodeDatapoint, (d) => d.time, this.budget, legacyFile);
    this.lists.open(timeOf, this.budget);
    this.dropped = dropped;
    if (dropped > 0) logger?.warn("history.lines_dropped", { count: dropped, reason: "torn or unreadable lines" });
    this.remember(entries);
  }

  /** Each log's share of HistoryMaxBytes. */
  private get budget(): number {
    return this.opts.maxBytes / 2;
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
        : new SegmentedLog<number>(this.folder, undefined, undefined, true).load(decodeDatapoint, (d) => d.time, this.budget).entries;
    this.points = new Datapoints();
    this.remember(entries);
  }

  private remember(entries: Datapoint[]): void {
    const newest = entries.at(-1)?.time;
    const cutoff = newest === undefined ? -Infinity : newest - this.opts.maxAgeMs;
    for (const dp of entries) if (dp.time > cutoff) this.points.push(this.inMemory(dp));
  }

  /** What memory keeps of a datapoint: the numbers of the judged metrics (lists are only looked at, from disk). */
  private inMemory(dp: Datapoint): Datapoint {
    return numbersOnly(this.judged === undefined ? dp : withMetrics(dp, this.judged));
  }

  /**
   * The datapoints as objects, numbers and lists together (for the commands; the component reads
   * `points`): from disk when the history has a folder, else what memory holds.
   */
  get datapoints(): Datapoint[] {
    if (this.folder === undefined) return this.points.toArray();
    const read = (dir: string) => new SegmentedLog<number>(dir, undefined, undefined, true).load(decodeDatapoint, (d) => d.time, this.budget).entries;
    const byTime = new Map<number, Datapoint>();
    for (const dp of read(this.folder)) byTime.set(dp.time, dp);
    for (const l of read(join(this.folder, LISTS_FOLDER))) {
      const dp = byTime.get(l.time);
      if (dp === undefined) continue; // the numbers of that datapoint are gone: so is it
      Object.assign(dp.values, l.values);
      if (l.elements) dp.elements = { ...dp.elements, ...l.elements };
    }
    const cutoff = Math.max(...byTime.keys()) - this.opts.maxAgeMs;
    return [...byTime.values()].filter((d) => d.time > cutoff).sort((a, b) => a.time - b.time);
  }

  /** Bytes on disk (or that would be). */
  get bytes(): number {
    return this.numbers.totalBytes + this.lists.totalBytes;
  }

  append(dp: Datapoint): void {
    this.points.push(this.inMemory(dp));
    // Memory only and no size cap (replay): there is no log to keep, not even its byte count.
    if (this.folder === undefined && !Number.isFinite(this.opts.maxBytes)) {
      this.points.dropUntil(dp.time - this.opts.maxAgeMs);
      return;
    }
    const segmentBytes = Math.max(1024, Math.floor(this.budget / 16));
    // Every datapoint has its line of numbers (an empty one too): it is what says the datapoint was.
    this.numbers.append(encodeDatapoint(numbersOnly(dp)), dp.time, segmentBytes);
    const lists = listsOf(dp);
    if (lists !== undefined) this.lists.append(encodeDatapoint(lists), dp.time, segmentBytes);
    const cutoff = dp.time - this.opts.maxAgeMs;
    const expired = (seg: { lastKey: number | undefined }) => seg.lastKey !== undefined && seg.lastKey <= cutoff;
    const gone = this.numbers.trim(expired, this.budget);
    this.lists.trim(expired, this.budget);
    const dropUntil = Math.max(cutoff, ...gone.map((g) => g.lastKey ?? -Infinity));
    this.points.dropUntil(dropUntil);
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((m) => b.has(m));
}
