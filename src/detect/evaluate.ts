// The Detect evaluator (pure): one datapoint per sample, judged against every behavior of every
// profile, driving one alarm state machine per (profile, behavior) (./alarms.ts). What a behavior
// measures and its device baselines are in ./measure.ts; compliance rules in ./compliance.ts.

import type { MetricValue } from "../metrics/catalogue.js";
import { type AlarmState, type AlarmStates, type ViolationEvent, invalidateRemoved, invalidateSilent, stateKey, step } from "./alarms.js";
import { eventValue, listComplies, numberComplies } from "./compliance.js";
import { type Datapoint, numberOf } from "./datapoint.js";
import { type Baselines, type Points, type Series, earlierSorted, measureAt, modeOf, percentileOf, series, sizeOf, withoutTimes } from "./measure.js";
import { type Behavior, type SecurityProfile, skipReason } from "./profile-schema.js";
import { type MlJudgeOptions, judgeMl } from "./ml/behavior.js";
import type { Expectation } from "./ml/model.js";

export type { AlarmState, AlarmStates, ViolationEvent, ViolationEventType } from "./alarms.js";
export { Baselines, percentile } from "./measure.js";

export type VerdictOutcome = "complies" | "violates" | "no-datapoint" | "learning" | "skipped";

export interface Verdict {
  profile: string;
  behavior: string;
  outcome: VerdictOutcome;
  measured?: MetricValue;
  /** A list measurement cut short for the event: how many elements it had. */
  measuredCut?: { kept: number; total: number };
  /** For an ML behavior: what the model expected, in the unit it judges (traffic per second). */
  band?: Expectation;
  /** For an ML behavior: the value the model judged, in that unit. */
  judged?: number;
  /** For a statistical threshold: the baseline's value, in the measurement's units. */
  threshold?: number;
  reason?: string;
}

export interface EvaluateOptions {
  thingName: string;
  /** The ML behaviors' models (kept by the caller across calls) and the datapoints a model needs. */
  ml?: MlJudgeOptions;
  /** Earlier datapoints a percentile needs before a statistical behavior is judged (default 30). */
  minStatisticalDatapoints: number;
  /** Sorted baselines kept between calls by an owner of a growing history (see measure.ts). */
  baselines?: Baselines;
}

/**
 * Judges one datapoint. `history` holds the earlier datapoints, oldest first (not the current
 * one). `states` is updated in place; the transitions are returned as violation events.
 */
export function evaluate(
  profiles: readonly SecurityProfile[],
  history: Points,
  dp: Datapoint,
  states: AlarmStates,
  opts: EvaluateOptions,
): { events: ViolationEvent[]; verdicts: Verdict[] } {
  const events = [...invalidateRemoved(profiles, states, dp.time, opts.thingName), ...invalidateSilent(states, dp.time, opts.thingName)];
  const ml = opts.ml ?? { states: {}, minDatapoints: 1 };
  const verdicts: Verdict[] = [];
  const cache = new Map<string, number[]>();
  const earlier = series(history);
  const points = { earlier, withCurrent: series(earlier, dp) };
  for (const profile of profiles) {
    for (const b of profile.behaviors ?? []) {
      const key = stateKey(profile.securityProfileName, b.name);
      const verdict: Omit<Verdict, "profile" | "behavior"> =
        b.criteria?.mlDetectionConfig && skipReason(b) === undefined
          ? judgeMl(key, b, points.earlier, points.withCurrent, dp, ml)
          : judge(b, points, dp, cache, opts, states[key]?.excluded);
      verdicts.push({ profile: profile.securityProfileName, behavior: b.name, ...verdict });
      if (verdict.outcome !== "complies" && verdict.outcome !== "violates") continue;
      const event = step(
        profile.securityProfileName,
        b,
        verdict.outcome === "violates",
        verdict.measured!,
        dp.time,
        states,
        opts.thingName,
        verdict.measuredCut,
      );
      if (event) events.push(event);
      if (b.criteria?.statisticalThreshold !== undefined) {
        if (verdict.outcome === "violates") exclude(states[key]!, dp.time, earlier);
        // The run is over: its datapoints are ordinary history again. Kept out for good, every
        // datapoint above p99 (1% of normal ones) would lower the next p99, and so on down.
        else if (!states[key]!.inAlarm) delete states[key]!.excluded;
      }
    }
  }
  return { events, verdicts };
}

/**
 * While a statistical behavior's violating run lasts (from its first violating datapoint until it
 * complies out of alarm), those datapoints stay out of its baseline: an attack in progress must
 * not teach the baseline that it is normal (with fewer than 100 datapoints p99 is the maximum, so
 * one storm datapoint would hide the next and the alarm would never be raised). When the run ends
 * they are ordinary history again, so ordinary datapoints above the percentile never wear the
 * baseline down. At most MAX_EXCLUDED, and only while the history keeps them.
 */
function exclude(s: AlarmState, time: number, history: Series): void {
  const oldest = history.length > 0 ? history.timeAt(0) : time;
  const kept = (s.excluded ?? []).filter((t) => t >= oldest);
  kept.push(time);
  s.excluded = kept.slice(-MAX_EXCLUDED);
}

/** About 14 days at 300 s: the history's default length. */
const MAX_EXCLUDED = 4096;

function judge(
  b: Behavior,
  { earlier, withCurrent }: { earlier: Series; withCurrent: Series },
  dp: Datapoint,
  cache: Map<string, number[]>,
  opts: EvaluateOptions,
  excluded: readonly number[] = [],
): Omit<Verdict, "profile" | "behavior"> {
  const skip = skipReason(b);
  if (skip) return { outcome: "skipped", reason: skip };
  const metric = b.metric!;
  const c = b.criteria!;
  const current = dp.values[metric];
  if (current === undefined) return { outcome: "no-datapoint" };
  const op = c.comparisonOperator!;
  if (current.count === undefined && current.number === undefined) {
    const violates = !listComplies(op, current, c.value ?? {});
    const shown = eventValue(op, current, c.value ?? {}, violates);
    return { outcome: violates ? "violates" : "complies", measured: shown.value, measuredCut: shown.cut };
  }
  const statistical = c.statisticalThreshold !== undefined;
  const mode = modeOf(metric, c.durationSeconds, statistical);
  const m = measureAt(withCurrent, earlier.length, metric, mode, c.durationSeconds, false);
  if (m === undefined) return { outcome: "no-datapoint", reason: "no interval to make a rate of yet" };
  const measured = current.count !== undefined ? { count: m.value } : { number: m.value };
  let threshold: number;
  if (statistical) {
    const key = `${metric}|${mode}|${c.durationSeconds ?? 0}`;
    let all = cache.get(key);
    if (all === undefined) {
      all = opts.baselines ? opts.baselines.sorted(earlier, metric, mode, c.durationSeconds) : earlierSorted(earlier, metric, mode, c.durationSeconds);
      cache.set(key, all);
    }
    const baseline = withoutTimes(all, earlier, excluded, metric, mode, c.durationSeconds);
    const size = sizeOf(baseline);
    if (size < opts.minStatisticalDatapoints) {
      return { outcome: "learning", measured, reason: `${size} of ${opts.minStatisticalDatapoints} datapoints for the device baseline` };
    }
    threshold = percentileOf(baseline, c.statisticalThreshold!.statistic);
    const ok = numberComplies(op, m.compared, threshold);
    // A rate's threshold is shown in the measurement's units (per window, or per interval).
    return { outcome: ok ? "complies" : "violates", measured, threshold: mode === "rate" ? (threshold * m.value) / m.compared || threshold : threshold };
  }
  threshold = numberOf(c.value)!;
  return { outcome: numberComplies(op, m.compared, threshold) ? "complies" : "violates", measured, threshold };
}
