// One metric as the device judged it, ready to draw: the figures behind both explore's SVG and the
// HTML page, so the two never disagree. Pure: the history, the alarm state and the models in,
// numbers out.
//
// - The unit is the one the device compares: a datapoint's own value, a rate per second for a
//   statistical threshold or an ML behavior on traffic, a window sum for durationSeconds
//   (./measure.ts, the evaluator's own functions). The unit is the first behavior's; a behavior
//   judged in another unit is named in a note, never drawn against the wrong line.
// - A statistical threshold is drawn at every datapoint as the device judged it then: the
//   percentile of the earlier measurements, without those it had found violating (its `excluded`).
// - An ML behavior is drawn as the band its model gave at each datapoint (the history keeps it).
// - Alarms run from in-alarm to alarm-cleared or alarm-invalidated; one still open stops at the
//   last datapoint, not in the future.

import { type Datapoint, numberOf } from "./datapoint.js";
import { type Mode, lowerBound, measureAt, modeOf, percentile, series } from "./measure.js";
import type { ViolationEvent } from "./evaluate.js";

export interface ChartBehavior {
  /** "profile/behavior", the key of its alarm and its model. */
  key: string;
  name: string;
  criteria?: unknown;
  /** Times of the datapoints its baseline left out (the alarm state's `excluded`). */
  excluded?: readonly number[];
}

/** A line aligned with the chart's times; null where it has no value. */
export interface ChartLine {
  label: string;
  values: Array<number | null>;
}

export interface ChartBand {
  label: string;
  expected: Array<number | null>;
  low: Array<number | null>;
  high: Array<number | null>;
}

export interface ChartData {
  metric: string;
  title: string;
  from: number;
  to: number;
  times: number[];
  values: number[];
  lines: ChartLine[];
  bands: ChartBand[];
  alarms: Array<{ from: number; to: number; label: string }>;
  notes: string[];
}

interface Criteria {
  value?: { count?: number; number?: number };
  statisticalThreshold?: { statistic: string };
  mlDetectionConfig?: { confidenceLevel: string };
  comparisonOperator?: string;
  durationSeconds?: number;
}

const criteriaOf = (b: { criteria?: unknown }) => (b.criteria ?? {}) as Criteria;

export const unitOf = (mode: Mode, duration: number | undefined) =>
  mode === "rate" ? " per second (the rate the device judges)" : mode === "window-sum" ? `, summed over ${duration} s windows` : "";

/** The alarm intervals of these events; an open one ends at `last`. */
export function alarmsOf(events: readonly ViolationEvent[], last: number): ChartData["alarms"] {
  const out: ChartData["alarms"] = [];
  const open = new Map<string, { from: number; label: string }>();
  for (const e of events) {
    if (e.violationEventType === "in-alarm") open.set(e.violationId, { from: e.violationEventTime, label: `${e.securityProfileName}/${e.behavior.name}` });
    else {
      const o = open.get(e.violationId);
      if (o === undefined) continue;
      out.push({ from: o.from, to: e.violationEventTime, label: o.label });
      open.delete(e.violationId);
    }
  }
  for (const o of open.values()) out.push({ from: o.from, to: Math.max(o.from, last), label: o.label });
  return out;
}

export function chartOf(
  metric: string,
  points: readonly Datapoint[],
  from: number,
  to: number,
  behaviors: readonly ChartBehavior[],
  events: readonly ViolationEvent[] = [],
): ChartData {
  const modeFor = (c: Criteria) => modeOf(metric, c.durationSeconds, c.statisticalThreshold !== undefined || c.mlDetectionConfig !== undefined);
  const judgesNumbers = (c: Criteria) =>
    c.statisticalThreshold !== undefined || c.mlDetectionConfig !== undefined || c.value?.count !== undefined || c.value?.number !== undefined;
  const lead = behaviors.find((b) => judgesNumbers(criteriaOf(b)));
  const mode = lead ? modeFor(criteriaOf(lead)) : "value";
  const duration = lead ? criteriaOf(lead).durationSeconds : undefined;
  const upTo = points.filter((p) => p.time <= to);
  const s = series(upTo);
  // The index in `upTo` of each drawn point.
  const drawnAt: number[] = [];
  const times: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < upTo.length; i++) {
    const p = upTo[i]!;
    const v = p.values[metric];
    if (p.time < from || v === undefined) continue;
    const numeric = numberOf(v);
    let drawn: number | undefined;
    if (numeric === undefined) drawn = (v.ports ?? v.strings ?? v.numbers ?? v.cidrs ?? []).length;
    else drawn = measureAt(s, i, metric, mode, duration)?.compared;
    if (drawn === undefined) continue;
    drawnAt.push(i);
    times.push(p.time);
    values.push(drawn);
  }
  const lines: ChartLine[] = [];
  const bands: ChartBand[] = [];
  const notes: string[] = [];
  for (const b of behaviors) {
    const c = criteriaOf(b);
    if (!judgesNumbers(c)) continue;
    if (modeFor(c) !== mode || c.durationSeconds !== duration) {
      notes.push(
        `note: ${b.name} judges ${metric}${unitOf(modeFor(c), c.durationSeconds) || " per datapoint"}; this chart is drawn${unitOf(mode, duration) || " per datapoint"}, so its threshold is not drawn`,
      );
      continue;
    }
    const fixed = c.value?.count ?? c.value?.number;
    if (fixed !== undefined) lines.push({ label: `${b.name}: ${c.comparisonOperator} ${fixed}`, values: times.map(() => fixed) });
    else if (c.statisticalThreshold) {
      lines.push({
        label: `${b.name}: ${c.statisticalThreshold.statistic} of the earlier datapoints`,
        values: baselineAt(s, drawnAt, metric, mode, duration, c.statisticalThreshold.statistic, b.excluded ?? []),
      });
    } else if (c.mlDetectionConfig) {
      const band = (k: 1 | 2 | 3) => drawnAt.map((i) => upTo[i]!.bands?.[b.key]?.[k] ?? null);
      bands.push({ label: `${b.name}: the model's band (${c.mlDetectionConfig.confidenceLevel})`, expected: band(1), low: band(2), high: band(3) });
    }
  }
  const last = upTo.at(-1)?.time ?? to;
  return {
    metric,
    title: `${metric}${unitOf(mode, duration)}`,
    from,
    to,
    times,
    values,
    lines,
    bands,
    alarms: alarmsOf(events, Math.min(to, last)).filter((a) => a.to >= from && a.from <= to),
    notes,
  };
}

/**
 * The device baseline at each drawn point: the percentile of the measurements before it, those it
 * judged violating left out. The earlier measurements are kept sorted as the points go by.
 */
function baselineAt(
  s: ReturnType<typeof series>,
  drawnAt: readonly number[],
  metric: string,
  mode: Mode,
  duration: number | undefined,
  statistic: string,
  excluded: readonly number[],
): Array<number | null> {
  const skip = new Set(excluded);
  const sorted: number[] = [];
  const out: Array<number | null> = [];
  let next = 0;
  for (const at of drawnAt) {
    for (; next < at; next++) {
      if (skip.has(s.timeAt(next))) continue;
      const m = measureAt(s, next, metric, mode, duration);
      if (m === undefined) continue;
      sorted.splice(lowerBound(sorted, m.compared), 0, m.compared);
    }
    out.push(sorted.length > 0 ? percentile(sorted, statistic) : null);
  }
  return out;
}
