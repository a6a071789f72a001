// The Detect evaluator (pure): one datapoint per report, judged against every behavior of every
// profile, driving one alarm state machine per (profile, behavior).
// Semantics (developer guide detect-behaviors, device-defender-troubleshoot; API BehaviorCriteria):
// a behavior describes normal behaviour, so a datapoint complies when `measured OP value` holds;
// in-* sets are allow lists, not-in-* deny lists, an empty list complies; N violating datapoints
// in a row raise an alarm, M compliant ones clear it.

import { createHash } from "node:crypto";
import { DEVICE_METRICS } from "../metrics/catalogue.js";
import { type Cidr, cidrContains, parseCidr } from "./cidr.js";
import { type Datapoint, numberOf } from "./datapoint.js";
import { type Behavior, type MetricValue, type SecurityProfile, skipReason } from "./profile-schema.js";

export type ViolationEventType = "in-alarm" | "alarm-cleared" | "alarm-invalidated";

/** Shaped like the service's ViolationEvent (API ListViolationEvents). */
export interface ViolationEvent {
  violationId: string;
  thingName: string;
  securityProfileName: string;
  behavior: Behavior;
  metricValue: MetricValue;
  violationEventType: ViolationEventType;
  /** Epoch ms: the report_id of the datapoint that caused the transition. */
  violationEventTime: number;
}

export interface AlarmState {
  inAlarm: boolean;
  violating: number;
  compliant: number;
  behavior: Behavior;
  violationId?: string;
  violationStartTime?: number;
  lastViolationTime?: number;
  lastViolationValue?: MetricValue;
}

export type AlarmStates = Record<string, AlarmState>;

export type Outcome = "complies" | "violates" | "no-datapoint" | "learning" | "skipped";

export interface Verdict {
  profile: string;
  behavior: string;
  outcome: Outcome;
  measured?: MetricValue;
  threshold?: number;
  reason?: string;
}

export interface EvaluateOptions {
  thingName: string;
  /** Earlier datapoints a percentile needs before a statistical behavior is judged (default 30). */
  minStatisticalDatapoints: number;
  /**
   * Sorted baselines kept between calls by an owner whose history only grows at the end and
   * loses its oldest datapoints (the Detector): each call then costs a few insertions instead
   * of a sort of the whole history per metric.
   */
  baselines?: Baselines;
}

/** Incrementally maintained sorted values of a metric over the history (see EvaluateOptions). */
export class Baselines {
  private readonly series = new Map<string, { queue: Array<{ t: number; v: number }>; sorted: number[]; lastTime: number }>();

  sorted(history: readonly Datapoint[], metric: string, durationSeconds: number | undefined): number[] {
    const key = `${metric}|${durationSeconds ?? 0}`;
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = { queue: [], sorted: [], lastTime: -Infinity }));
    const first = history[0]?.time ?? Infinity;
    const span = (durationSeconds ?? 0) * 1000;
    let expired = 0;
    // A value leaves the baseline when its datapoint (or, windowed, the start of its window) leaves the history.
    while (expired < s.queue.length && s.queue[expired]!.t - span < first) {
      s.sorted.splice(lowerBound(s.sorted, s.queue[expired]!.v), 1);
      expired++;
    }
    if (expired > 0) s.queue.splice(0, expired);
    let i = history.length;
    while (i > 0 && history[i - 1]!.time > s.lastTime) i--;
    for (; i < history.length; i++) {
      const v = measureAt(history, i, metric, durationSeconds);
      if (v === undefined) continue;
      s.queue.push({ t: history[i]!.time, v });
      s.sorted.splice(lowerBound(s.sorted, v), 0, v);
    }
    if (history.length > 0) s.lastTime = history[history.length - 1]!.time;
    return s.sorted;
  }
}

function lowerBound(sorted: readonly number[], v: number): number {
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
 * The metric's measured value at history[i]: its own value, or the sum over the window ending
 * there. A window that starts before the history does is incomplete, so it is no value.
 */
function measureAt(history: readonly Datapoint[], i: number, metric: string, durationSeconds: number | undefined): number | undefined {
  const own = numberOf(history[i]!.values[metric]);
  if (own === undefined || durationSeconds === undefined) return own;
  const from = history[i]!.time - durationSeconds * 1000;
  if (from < history[0]!.time) return undefined;
  let sum = own;
  for (let j = i - 1; j >= 0 && history[j]!.time > from; j--) sum += numberOf(history[j]!.values[metric]) ?? 0;
  return sum;
}

export const stateKey = (profile: string, behavior: string) => `${profile}/${behavior}`;

/** Nearest-rank percentile of sorted values: the value at rank ⌈p/100·n⌉ (p0 is the minimum). */
export function percentile(sorted: readonly number[], statistic: string): number {
  const p = Number(statistic.slice(1));
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

/**
 * Judges one datapoint. `history` holds the earlier datapoints, oldest first (not the current
 * one). `states` is updated in place; the transitions are returned as violation events.
 */
export function evaluate(
  profiles: readonly SecurityProfile[],
  history: readonly Datapoint[],
  dp: Datapoint,
  states: AlarmStates,
  opts: EvaluateOptions,
): { events: ViolationEvent[]; verdicts: Verdict[] } {
  const events = invalidateRemoved(profiles, states, dp.time, opts.thingName);
  const verdicts: Verdict[] = [];
  const baselines = new Map<string, number[]>();
  for (const profile of profiles) {
    for (const b of profile.behaviors ?? []) {
      const verdict = judge(b, history, dp, baselines, opts);
      verdicts.push({ profile: profile.securityProfileName, behavior: b.name, ...verdict });
      if (verdict.outcome !== "complies" && verdict.outcome !== "violates") continue;
      const event = step(profile.securityProfileName, b, verdict.outcome === "violates", verdict.measured!, dp.time, states, opts.thingName);
      if (event) events.push(event);
    }
  }
  return { events, verdicts };
}

/** A behavior or profile that was removed while in alarm ends as alarm-invalidated. */
export function invalidateRemoved(profiles: readonly SecurityProfile[], states: AlarmStates, time: number, thingName: string): ViolationEvent[] {
  const live = new Map<string, Behavior>();
  for (const p of profiles) for (const b of p.behaviors ?? []) live.set(stateKey(p.securityProfileName, b.name), b);
  const events: ViolationEvent[] = [];
  for (const [key, s] of Object.entries(states)) {
    const current = live.get(key);
    if (current !== undefined && JSON.stringify(current) === JSON.stringify(s.behavior)) continue;
    if (s.inAlarm) {
      events.push({
        violationId: s.violationId!,
        thingName,
        securityProfileName: key.slice(0, key.indexOf("/")),
        behavior: s.behavior,
        metricValue: s.lastViolationValue ?? {},
        violationEventType: "alarm-invalidated",
        violationEventTime: time,
      });
    }
    delete states[key]; // a changed behavior starts over
  }
  return events;
}

function step(profile: string, b: Behavior, violating: boolean, measured: MetricValue, time: number, states: AlarmStates, thingName: string): ViolationEvent | undefined {
  const key = stateKey(profile, b.name);
  const s = (states[key] ??= { inAlarm: false, violating: 0, compliant: 0, behavior: b });
  const toAlarm = b.criteria?.consecutiveDatapointsToAlarm ?? 1;
  const toClear = b.criteria?.consecutiveDatapointsToClear ?? 1;
  const event = (type: ViolationEventType): ViolationEvent => ({
    violationId: s.violationId!,
    thingName,
    securityProfileName: profile,
    behavior: b,
    metricValue: measured,
    violationEventType: type,
    violationEventTime: time,
  });
  if (violating) {
    s.compliant = 0;
    s.violating++;
    s.lastViolationTime = time;
    s.lastViolationValue = measured;
    if (!s.inAlarm && s.violating >= toAlarm) {
      s.inAlarm = true;
      s.violationStartTime = time;
      s.violationId = createHash("sha256").update(`${thingName}\n${profile}\n${b.name}\n${time}`).digest("hex").slice(0, 32);
      return event("in-alarm");
    }
    return undefined;
  }
  s.violating = 0;
  if (!s.inAlarm) return undefined;
  s.compliant++;
  if (s.compliant < toClear) return undefined;
  const cleared = event("alarm-cleared");
  Object.assign(s, { inAlarm: false, compliant: 0, violationId: undefined, violationStartTime: undefined });
  return cleared;
}

function judge(
  b: Behavior,
  history: readonly Datapoint[],
  dp: Datapoint,
  baselines: Map<string, number[]>,
  opts: EvaluateOptions,
): Omit<Verdict, "profile" | "behavior"> {
  const skip = skipReason(b);
  if (skip) return { outcome: "skipped", reason: skip };
  const metric = b.metric!;
  const c = b.criteria!;
  const current = dp.values[metric];
  if (current === undefined) return { outcome: "no-datapoint" };
  const op = c.comparisonOperator!;
  const numeric = numberOf(current) !== undefined && (current.count !== undefined || current.number !== undefined);
  if (numeric) {
    const windowed = c.durationSeconds !== undefined && DEVICE_METRICS[metric]?.delta === true;
    const measuredNumber = windowed ? windowSum(history, dp, metric, c.durationSeconds!) : numberOf(current)!;
    const measured = current.count !== undefined ? { count: measuredNumber } : { number: measuredNumber };
    let threshold: number;
    if (c.statisticalThreshold) {
      const key = `${metric}|${windowed ? c.durationSeconds : 0}`;
      let sorted = baselines.get(key);
      if (sorted === undefined) {
        const duration = windowed ? c.durationSeconds! : undefined;
        sorted = opts.baselines
          ? opts.baselines.sorted(history, metric, duration)
          : earlierValues(history, metric, duration).sort((x, y) => x - y);
        baselines.set(key, sorted);
      }
      if (sorted.length < opts.minStatisticalDatapoints) {
        return { outcome: "learning", measured, reason: `${sorted.length} of ${opts.minStatisticalDatapoints} datapoints for the device baseline` };
      }
      threshold = percentile(sorted, c.statisticalThreshold.statistic);
    } else {
      threshold = numberOf(c.value)!;
    }
    const ok =
      op === "less-than" ? measuredNumber < threshold
      : op === "less-than-equals" ? measuredNumber <= threshold
      : op === "greater-than" ? measuredNumber > threshold
      : measuredNumber >= threshold;
    return { outcome: ok ? "complies" : "violates", measured, threshold };
  }
  return { outcome: listComplies(op, current, c.value ?? {}) ? "complies" : "violates", measured: current };
}

function listComplies(op: string, measured: MetricValue, value: MetricValue): boolean {
  const allow = op.startsWith("in-");
  let items: Array<string | number>;
  let inSet: (x: string | number) => boolean;
  if (op.endsWith("cidr-set")) {
    const cidrs = (value.cidrs ?? []).map(parseCidr).filter((x): x is Cidr => x !== undefined);
    items = measured.cidrs ?? [];
    inSet = (ip) => cidrs.some((cidr) => cidrContains(cidr, String(ip)));
  } else if (op.endsWith("port-set")) {
    const ports = new Set(value.ports ?? []);
    items = measured.ports ?? [];
    inSet = (p) => ports.has(p as number);
  } else {
    const set = new Set<string | number>([...(value.strings ?? []), ...(value.numbers ?? [])]);
    items = [...(measured.strings ?? []), ...(measured.numbers ?? [])];
    inSet = (x) => set.has(x);
  }
  // An empty list always complies; allow lists need every element in the set, deny lists none.
  return allow ? items.every(inSet) : !items.some(inSet);
}

/** Sum of a delta metric over the reports in the trailing window (time − duration, time]. */
function windowSum(history: readonly Datapoint[], dp: Datapoint, metric: string, durationSeconds: number): number {
  const from = dp.time - durationSeconds * 1000;
  let sum = numberOf(dp.values[metric]) ?? 0;
  for (let i = history.length - 1; i >= 0 && history[i]!.time > from; i--) sum += numberOf(history[i]!.values[metric]) ?? 0;
  return sum;
}

/** The metric's measured value at each earlier datapoint (window sums when windowed). */
function earlierValues(history: readonly Datapoint[], metric: string, durationSeconds: number | undefined): number[] {
  const out: number[] = [];
  for (let i = 0; i < history.length; i++) {
    const v = measureAt(history, i, metric, durationSeconds);
    if (v !== undefined) out.push(v);
  }
  return out;
}
