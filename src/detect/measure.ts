// What a numeric behavior measures at a datapoint, and the device baselines of statistical
// thresholds.
//
// - Gauges (connection and port counts, custom numbers) measure their own value.
// - Delta metrics (the traffic counters) with durationSeconds measure the sum of the datapoints
//   in the trailing window (time − duration, time]; a window that starts before the history does
//   is incomplete and measures nothing.
// - Statistical thresholds on delta metrics compare *rates*: the window's sum (or the datapoint's
//   own value) divided by the seconds its datapoints cover. A device baseline learned at one
//   reporting interval therefore still holds when SampleIntervalSeconds changes.
// - A device baseline is the nearest-rank percentile of the metric's earlier measurements in the
//   local history (the cloud's is fleet-wide; a single device cannot know that).

import { DEVICE_METRICS } from "../metrics/catalogue.js";
import { type Datapoint, numberOf } from "./datapoint.js";

export type Mode = "value" | "window-sum" | "rate";

/** How a behavior on `metric` measures: see above. */
export function modeOf(metric: string, durationSeconds: number | undefined, statistical: boolean): Mode {
  const delta = DEVICE_METRICS[metric]?.delta === true;
  if (delta && statistical) return "rate";
  if (delta && durationSeconds !== undefined) return "window-sum";
  return "value";
}

/**
 * The earlier datapoints, oldest first, and optionally the one being judged after them. The
 * evaluator reads a point's time, interval and one metric's number at a time: the history's
 * columns (./datapoints.ts) answer those without building the datapoint.
 */
export interface Series {
  readonly length: number;
  get(i: number): Datapoint;
  timeAt(i: number): number;
  intervalAt(i: number): number | undefined;
  numberAt(i: number, metric: string): number | undefined;
}

/** Earlier datapoints: an array, or the history's own columns (./datapoints.ts). */
export type Points = readonly Datapoint[] | Series;

export function series(history: Points, current?: Datapoint): Series {
  const earlier: Series = isSeries(history) ? history : arraySeries(history);
  if (current === undefined) return earlier;
  const n = earlier.length;
  return {
    length: n + 1,
    get: (i) => (i < n ? earlier.get(i) : current),
    timeAt: (i) => (i < n ? earlier.timeAt(i) : current.time),
    intervalAt: (i) => (i < n ? earlier.intervalAt(i) : current.interval),
    numberAt: (i, metric) => (i < n ? earlier.numberAt(i, metric) : numberOf(current.values[metric])),
  };
}

function arraySeries(points: readonly Datapoint[]): Series {
  return {
    length: points.length,
    get: (i) => points[i]!,
    timeAt: (i) => points[i]!.time,
    intervalAt: (i) => points[i]!.interval,
    numberAt: (i, metric) => numberOf(points[i]!.values[metric]),
  };
}

function isSeries(p: Points): p is Series {
  return !Array.isArray(p);
}

/**
 * The window sum of a delta metric ending at point i and the seconds it covers. A window that
 * starts before the first point is incomplete: for a baseline it is no value (undefined); the
 * datapoint being judged sums what there is.
 */
function windowAt(
  points: Series,
  i: number,
  metric: string,
  durationSeconds: number | undefined,
  complete: boolean,
): { sum: number; seconds: number } | undefined {
  const own = points.numberAt(i, metric);
  if (own === undefined) return undefined;
  if (durationSeconds === undefined) return { sum: own, seconds: points.intervalAt(i) ?? NaN };
  const from = points.timeAt(i) - durationSeconds * 1000;
  if (complete && from < points.timeAt(0)) return undefined;
  let sum = own;
  let seconds = points.intervalAt(i) ?? NaN;
  for (let j = i - 1; j >= 0; j--) {
    if (points.timeAt(j) <= from) break;
    const v = points.numberAt(j, metric);
    if (v === undefined) continue;
    sum += v;
    seconds += points.intervalAt(j) ?? NaN;
  }
  return { sum, seconds };
}

/**
 * The measurement at `points[i]` in `mode` (window sums look back through earlier points).
 * `value` is what a violation reports (the count or number itself); `compared` is what is
 * compared with the threshold (the same, or the rate).
 */
export function measureAt(
  points: Series,
  i: number,
  metric: string,
  mode: Mode,
  durationSeconds: number | undefined,
  complete = true,
): { value: number; compared: number } | undefined {
  if (mode === "value") {
    const v = points.numberAt(i, metric);
    return v === undefined ? undefined : { value: v, compared: v };
  }
  const w = windowAt(points, i, metric, durationSeconds, complete);
  if (w === undefined) return undefined;
  if (mode === "window-sum") return { value: w.sum, compared: w.sum };
  if (!(w.seconds > 0)) return undefined; // no interval known (the first sample of a run): no rate
  return { value: w.sum, compared: w.sum / w.seconds };
}

/** Nearest-rank percentile of sorted values: the value at rank ⌈p/100·n⌉ (p0 is the minimum). */
export function percentile(sorted: readonly number[], statistic: string): number {
  const p = Number(statistic.slice(1));
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

/**
 * The first index of a series (in time order) whose time is at least `time`, or, with `after`,
 * later than it; the series' length when there is none.
 */
export function timeIndex(s: Series, time: number, after = false): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const t = s.timeAt(mid);
    if (t < time || (after && t === time)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index of `sorted` whose value is not below `v`. */
export function lowerBound(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Incrementally maintained sorted measurements of a metric over a history that only grows at the
 * end and loses its oldest datapoints (the Detector's, replay's): each datapoint costs a few
 * insertions instead of a sort of the whole history per metric.
 */
export class Baselines {
  /** Per metric and mode: the measurements in history order (times and values, plain doubles) and sorted. */
  private readonly series = new Map<string, { times: number[]; values: number[]; sorted: number[]; lastTime: number }>();

  sorted(history: Points, metric: string, mode: Mode, durationSeconds: number | undefined): number[] {
    const key = `${metric}|${mode}|${durationSeconds ?? 0}`;
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = { times: [], values: [], sorted: [], lastTime: -Infinity }));
    const points = series(history);
    const timeAt = (i: number) => points.timeAt(i);
    const first = points.length > 0 ? timeAt(0) : Infinity;
    const span = mode === "value" ? 0 : (durationSeconds ?? 0) * 1000;
    let expired = 0;
    // A value leaves the baseline when its datapoint (or, windowed, the start of its window) leaves the history.
    while (expired < s.times.length && s.times[expired]! - span < first) {
      s.sorted.splice(lowerBound(s.sorted, s.values[expired]!), 1);
      expired++;
    }
    if (expired > 0) {
      s.times.splice(0, expired);
      s.values.splice(0, expired);
    }
    let i = points.length;
    while (i > 0 && timeAt(i - 1) > s.lastTime) i--;
    for (; i < points.length; i++) {
      const m = measureAt(points, i, metric, mode, durationSeconds);
      if (m === undefined) continue;
      s.times.push(timeAt(i));
      s.values.push(m.compared);
      s.sorted.splice(lowerBound(s.sorted, m.compared), 0, m.compared);
    }
    if (points.length > 0) s.lastTime = timeAt(points.length - 1);
    return s.sorted;
  }
}

/** A baseline (sorted values) with some of its values left out (`removed`, sorted, each one in `sorted`). */
export interface Baseline {
  sorted: readonly number[];
  removed: readonly number[];
}

/** How many values the baseline holds. */
export const sizeOf = (b: Baseline): number => b.sorted.length - b.removed.length;

/**
 * The baseline without the measurements of the datapoints at `times` (those a behavior judged
 * violating). Nothing is copied: the left-out values are listed beside the sorted ones. Times no
 * longer in the history are ignored.
 */
export function withoutTimes(
  sorted: readonly number[],
  history: Series,
  times: readonly number[],
  metric: string,
  mode: Mode,
  durationSeconds: number | undefined,
): Baseline {
  const removed: number[] = [];
  if (times.length === 0 || history.length === 0) return { sorted, removed };
  for (const t of times) {
    const lo = timeIndex(history, t);
    if (lo >= history.length || history.timeAt(lo) !== t) continue;
    const m = measureAt(history, lo, metric, mode, durationSeconds);
    if (m !== undefined && sorted[lowerBound(sorted, m.compared)] === m.compared) removed.push(m.compared);
  }
  // Each left-out time is its own datapoint, so its value has its own copy in `sorted`.
  removed.sort((x, y) => x - y);
  return { sorted, removed };
}

/**
 * Nearest-rank percentile of a baseline with values left out, without building it: the smallest
 * value whose count of kept values at or below it reaches the rank (binary search over `sorted`).
 */
export function percentileOf(b: Baseline, statistic: string): number {
  if (b.removed.length === 0) return percentile(b.sorted, statistic);
  const n = sizeOf(b);
  const p = Number(statistic.slice(1));
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  const atOrBelow = (v: number) => upperBound(b.sorted, v) - upperBound(b.removed, v);
  let lo = 0;
  let hi = b.sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (atOrBelow(b.sorted[mid]!) >= rank) hi = mid;
    else lo = mid + 1;
  }
  return b.sorted[lo]!;
}

function upperBound(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The earlier measurements, sorted (what Baselines keeps incrementally). */
export function earlierSorted(history: Points, metric: string, mode: Mode, durationSeconds: number | undefined): number[] {
  const out: number[] = [];
  const points = series(history);
  for (let i = 0; i < history.length; i++) {
    const m = measureAt(points, i, metric, mode, durationSeconds);
    if (m !== undefined) out.push(m.compared);
  }
  return out.sort((a, b) => a - b);
}
