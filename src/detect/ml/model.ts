// The model behind an ML behavior (mlDetectionConfig), learnt on the device: pure functions, no I/O.
//
// What it learns, from the trailing 14 days of a metric (refreshed daily, as ML Detect did):
// - a daily shape (the value at each time of day, in bins of 15 minutes or one interval) and a
//   weekly rhythm (each 2-hour bin of the week; a week's deviation counts only when every week of
//   the window agrees with it: median(0, week 1, week 2, ...)), robust medians both, after the
//   decomposition of Cleveland et al.'s STL as Hochenbaum, Vallis and Kejariwal robustified it
//   for anomaly detection (Seasonal Hybrid ESD, 2017: median instead of trend, MAD for scale);
// - a level, followed datapoint by datapoint by exponential smoothing whose step is clipped to a
//   few robust scales (Gelper, Fried and Croux, "Robust forecasting with exponential and
//   Holt-Winters smoothing", 2010): an outlier moves it little, a lasting shift carries it to the
//   new level within about two days, which then is normal;
// - the scale of its one-step errors per 2-hour bin of the week (MAD), floored at a fraction of
//   one count at the expected value so that flat counters are not judged on nothing.
// Small counts (connections, ports) are modelled on a square root (Anscombe: Poisson noise made
// even), traffic on a logarithm (its noise is multiplicative), custom numbers as they are.
//
// A datapoint violates when its one-step error is beyond the confidence level's threshold (at
// least T robust scales, or beyond the training errors' own tail), or when a two-sided CUSUM of
// the errors (Page, 1954) crosses H: a drift or a slow ramp too small for one datapoint. HIGH
// alarms least (large T and H, a floor of two counts), LOW most.

import { z } from "zod";

const DAY = 86_400_000;
const WEEK = 7 * DAY;

export const CONFIDENCE_LEVELS = ["LOW", "MEDIUM", "HIGH"] as const;
export type ConfidenceLevel = (typeof CONFIDENCE_LEVELS)[number];

/**
 * Per confidence level: T, the fewest robust scales an error needs to violate; Q, the quantile of
 * the training errors it must also exceed (1: beyond the largest, by 10%); H, the CUSUM's
 * threshold; F, the floor of a scale in counts (a flat counter stepping by one).
 */
export const SENSITIVITY: Record<ConfidenceLevel, { T: number; Q: number; H: number; F: number }> = {
  LOW: { T: 4.5, Q: 0.999, H: 8, F: 0.2 },
  MEDIUM: { T: 5.5, Q: 0.9997, H: 12, F: 0.5 },
  HIGH: { T: 7, Q: 1, H: 20, F: 2 },
};

/** CUSUM: the allowance (in scales) and how much one datapoint may add; the sums are capped at 2H. */
const CUSUM_K = 0.75;
const CUSUM_STEP_MAX = 4;
/** The level's step is clipped to this many scales. */
const CLIP = 2;

export const ModelSchema = z.object({
  transform: z.enum(["log", "sqrt", "identity"]),
  confidence: z.enum(CONFIDENCE_LEVELS),
  dayBinMs: z.number().positive(),
  weekBinMs: z.number().positive(),
  /** The level's smoothing weight: one interval over a day. */
  alpha: z.number().positive().max(1),
  day: z.array(z.number()),
  week: z.array(z.number()),
  scale: z.array(z.number()),
  sigma: z.number().positive(),
  threshold: z.number().positive(),
  level: z.number(),
  cusumUp: z.number().min(0),
  cusumDown: z.number().min(0),
  /** When it was last trained (the datapoint's time). */
  trainedAt: z.number(),
  trainedOn: z.int().min(0),
});
export type Model = z.infer<typeof ModelSchema>;

/** What the model expects of a datapoint: the value and its band, in the metric's units. */
export interface Expectation {
  expected: number;
  low: number;
  high: number;
}

export interface Score {
  violates: boolean;
  /** The datapoint's error in robust scales. */
  z: number;
  band: Expectation;
}

/** Scratch space for median: training takes a thousand medians of small arrays. */
let scratch = new Float64Array(1024);

/** The k-th smallest of scratch[0, n) (Hoare's selection; the scratch is reordered). */
function select(n: number, k: number): number {
  const a = scratch;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** The median of `value(i)` over the indices given (into the scratch; nothing allocated). */
function medianOf(indices: Int32Array, value: (i: number) => number): number {
  const n = indices.length;
  if (n === 0) return NaN;
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  for (let k = 0; k < n; k++) scratch[k] = value(indices[k]!);
  return medianOfScratch(n);
}

/** Index lists per bucket: `each(i, add)` names the buckets point i belongs to. */
function buckets(count: number, n: number, each: (i: number, add: (b: number) => void) => void): Int32Array[] {
  const sizes = new Int32Array(count);
  for (let i = 0; i < n; i++)
    each(i, (b) => {
      sizes[b] = sizes[b]! + 1;
    });
  const out = Array.from(sizes, (size) => new Int32Array(size));
  const fill = new Int32Array(count);
  for (let i = 0; i < n; i++)
    each(i, (b) => {
      out[b]![fill[b]!] = i;
      fill[b] = fill[b]! + 1;
    });
  return out;
}

function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  for (let i = 0; i < n; i++) scratch[i] = values[i]!;
  return medianOfScratch(n);
}

function medianOfScratch(n: number): number {
  const m = n >> 1;
  const upper = select(n, m);
  if (n % 2 === 1) return upper;
  // The largest of the lower half: after selection everything before m is at most a[m].
  let lower = -Infinity;
  for (let i = 0; i < m; i++) if (scratch[i]! > lower) lower = scratch[i]!;
  return (lower + upper) / 2;
}

function quantile(values: Float64Array, q: number): number {
  const s = values.slice().sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const forward = (t: Model["transform"], x: number): number =>
  t === "log" ? Math.log1p(Math.max(0, x)) : t === "sqrt" ? 2 * Math.sqrt(Math.max(0, x) + 0.375) : x;
const inverse = (t: Model["transform"], y: number): number => (t === "log" ? Math.expm1(y) : t === "sqrt" ? Math.max(0, (y / 2) ** 2 - 0.375) : y);

function binsOf(m: Pick<Model, "dayBinMs" | "weekBinMs" | "day" | "week">, t: number): [number, number] {
  return [Math.floor((t % DAY) / m.dayBinMs) % m.day.length, Math.floor((t % WEEK) / m.weekBinMs) % m.week.length];
}

/** The scale of an error at a bin: the bin's own, at least half the global one, and the count floor. */
function scaleAt(m: Model, weekBin: number, predicted: number, floorCounts: number): number {
  let s = Math.max(m.scale[weekBin]!, 0.5 * m.sigma);
  if (m.transform !== "identity") {
    const x = Math.max(0, inverse(m.transform, predicted));
    s = Math.max(s, floorCounts * (forward(m.transform, x + 1) - forward(m.transform, x)));
  } else {
    s = Math.max(s, 1e-9 * Math.abs(predicted) + 1e-12);
  }
  return s;
}

export interface TrainOptions {
  /** "count": non-negative counts and traffic; "number": a custom number, modelled as it is. */
  kind: "count" | "number";
  intervalMs: number;
  confidence: ConfidenceLevel;
  /** When it is trained (the time of the datapoint that asked for it). */
  now: number;
}

/**
 * A model from the points of the trailing window (times ascending, at least a day of them). The
 * level and its CUSUMs come from running the model over the window itself; `carry` keeps the
 * CUSUMs of the model it replaces, so a refresh does not forget a drift in progress.
 */
export function train(times: ArrayLike<number>, values: ArrayLike<number>, o: TrainOptions, carry?: Pick<Model, "cusumUp" | "cusumDown">): Model {
  const n = times.length;
  const sense = SENSITIVITY[o.confidence];
  const transform: Model["transform"] = o.kind === "number" ? "identity" : median(values) < 100 ? "sqrt" : "log";
  const dayBinMs = Math.max(15 * 60_000, o.intervalMs);
  const weekBinMs = Math.max(2 * 3_600_000, 4 * o.intervalMs);
  const nD = Math.max(1, Math.round(DAY / dayBinMs));
  const nW = Math.max(1, Math.round(WEEK / weekBinMs));
  const m: Model = {
    transform,
    confidence: o.confidence,
    dayBinMs: DAY / nD,
    weekBinMs: WEEK / nW,
    alpha: Math.min(1, o.intervalMs / DAY),
    day: new Array<number>(nD).fill(0),
    week: new Array<number>(nW).fill(0),
    scale: new Array<number>(nW).fill(Infinity),
    sigma: 1,
    threshold: sense.T,
    level: 0,
    cusumUp: carry?.cusumUp ?? 0,
    cusumDown: carry?.cusumDown ?? 0,
    trainedAt: o.now,
    trainedOn: n,
  };
  // Plain loops: typed arrays' from() with a map function goes through the iterator protocol.
  const ys = new Float64Array(n);
  const db = new Int32Array(n);
  const wb = new Int32Array(n);
  const wk = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = times[i]!;
    ys[i] = forward(transform, values[i]!);
    db[i] = Math.floor((t % DAY) / m.dayBinMs) % nD;
    wb[i] = Math.floor((t % WEEK) / m.weekBinMs) % nW;
    wk[i] = Math.floor(t / WEEK);
  }
  const firstWeek = wk[0] ?? 0;
  const weeks = n > 0 ? wk[n - 1]! - firstWeek + 1 : 1;
  const lev = new Float64Array(n).fill(median(ys));
  const errs = new Float64Array(n);
  // Which points each bin's median takes, worked out once: a day bin takes its neighbours' too;
  // the week is taken bin by bin and week by week.
  const dayBins = buckets(nD, n, (i, add) => {
    for (let o2 = -1; o2 <= 1; o2++) add((db[i]! + o2 + nD) % nD);
  });
  const weekBins = buckets(nW * weeks, n, (i, add) => add(wb[i]! * weeks + (wk[i]! - firstWeek)));
  const scaleBins = buckets(nW, n, (i, add) => add(wb[i]!));
  let dayEnd = 0;
  while (dayEnd < n && times[dayEnd]! < times[0]! + DAY) dayEnd++;
  const firstDay = new Int32Array(dayEnd);
  for (let i = 0; i < dayEnd; i++) firstDay[i] = i;
  // The level through the window with the profiles so far; its one-step errors.
  const track = (): number => {
    let level = medianOf(firstDay, (i) => ys[i]! - m.day[db[i]!]! - m.week[wb[i]!]!);
    for (let i = 0; i < n; i++) {
      const predicted = level + m.day[db[i]!]! + m.week[wb[i]!]!;
      const s = Number.isFinite(m.scale[wb[i]!]!) ? scaleAt(m, wb[i]!, predicted, sense.F) : Infinity;
      const r = ys[i]! - predicted;
      errs[i] = r;
      lev[i] = level;
      level += m.alpha * Math.max(-CLIP * s, Math.min(CLIP * s, r));
    }
    return level;
  };
  const fitScale = () => {
    const abs = new Float64Array(n);
    for (let i = 0; i < n; i++) abs[i] = Math.abs(errs[i]!);
    m.sigma = Math.max(1.4826 * median(abs), 1e-12);
    for (let b = 0; b < nW; b++) m.scale[b] = scaleBins[b]!.length >= 12 ? 1.4826 * medianOf(scaleBins[b]!, (i) => Math.abs(errs[i]!)) : m.sigma;
  };
  // Two passes: profiles from the median level, the level tracked with them, the profiles again.
  for (let pass = 0; pass < 2; pass++) {
    // The daily shape: each bin with its neighbours, what the level and the week leave.
    for (let b = 0; b < nD; b++) m.day[b] = dayBins[b]!.length > 0 ? medianOf(dayBins[b]!, (i) => ys[i]! - lev[i]! - m.week[wb[i]!]!) : 0;
    const centre = median(m.day);
    for (let b = 0; b < nD; b++) m.day[b] = m.day[b]! - centre;
    // The weekly rhythm, week by week, then only what the weeks agree on.
    for (let b = 0; b < nW; b++) {
      const per = [0];
      for (let k = 0; k < weeks; k++) {
        const idx = weekBins[b * weeks + k]!;
        if (idx.length >= 3) per.push(medianOf(idx, (i) => ys[i]! - lev[i]! - m.day[db[i]!]!));
      }
      m.week[b] = median(per);
    }
    track();
    fitScale();
  }
  m.level = track();
  fitScale();
  const zs = new Float64Array(n);
  for (let i = 0; i < n; i++) zs[i] = Math.abs(errs[i]!) / scaleAt(m, wb[i]!, lev[i]! + m.day[db[i]!]! + m.week[wb[i]!]!, sense.F);
  const tail = sense.Q >= 1 ? zs.reduce((a, b) => Math.max(a, b), 0) * 1.1 : quantile(zs, sense.Q);
  m.threshold = Math.max(sense.T, Number.isFinite(tail) ? tail : sense.T);
  return m;
}

/** What the model expects at time `t` (no change to it). */
export function expectation(m: Model, t: number): Expectation {
  const [d, w] = binsOf(m, t);
  const predicted = m.level + m.day[d]! + m.week[w]!;
  const s = scaleAt(m, w, predicted, SENSITIVITY[m.confidence].F);
  return {
    expected: inverse(m.transform, predicted),
    low: inverse(m.transform, predicted - m.threshold * s),
    high: inverse(m.transform, predicted + m.threshold * s),
  };
}

/** Scores one datapoint as it arrives, and moves the model on past it (level and CUSUMs). */
export function score(m: Model, t: number, x: number): Score {
  const sense = SENSITIVITY[m.confidence];
  const band = expectation(m, t);
  const [d, w] = binsOf(m, t);
  const predicted = m.level + m.day[d]! + m.week[w]!;
  const s = scaleAt(m, w, predicted, sense.F);
  const r = forward(m.transform, x) - predicted;
  const z = r / s;
  const step = Math.max(-CUSUM_STEP_MAX, Math.min(CUSUM_STEP_MAX, z));
  m.cusumUp = Math.min(2 * sense.H, Math.max(0, m.cusumUp + step - CUSUM_K));
  m.cusumDown = Math.min(2 * sense.H, Math.max(0, m.cusumDown - step - CUSUM_K));
  m.level += m.alpha * Math.max(-CLIP * s, Math.min(CLIP * s, r));
  const violates = Math.abs(z) > m.threshold || m.cusumUp > sense.H || m.cusumDown > sense.H;
  return { violates, z, band };
}
