// One sample (or one report) → one datapoint: the value of every metric it carries, keyed by
// Detect metric name, read through the metric catalogue (src/metrics/catalogue.ts).

import type { Sample } from "../agent/sample.js";
import { FAMILIES, type Family, type MetricValue, type Traffic } from "../metrics/catalogue.js";
import type { CustomMetrics, Report } from "../report/schema.js";

export type { MetricValue };

export interface Datapoint {
  /** Epoch ms of the sample. */
  time: number;
  /** Seconds the delta values cover (since the previous sample); unknown for the first. */
  interval?: number;
  values: Record<string, MetricValue>;
  /** For a list cut short (the history keeps at most so many elements): how many elements it had. */
  elements?: Record<string, number>;
  /**
   * What each ML behavior's model made of this datapoint (key "profile/behavior"): the value it
   * judged, what it expected, and its band [judged, expected, low, high], in the unit it judges.
   */
  bands?: Record<string, [number, number, number, number]>;
}

const families = Object.entries(FAMILIES) as Array<[string, Family<unknown, unknown>]>;

function customValues(custom: CustomMetrics | undefined, into: Record<string, MetricValue>): void {
  for (const [name, [value]] of Object.entries(custom ?? {})) {
    if ("number" in value) into[name] = { number: value.number };
    else if ("number_list" in value) into[name] = { numbers: value.number_list };
    else if ("string_list" in value) into[name] = { strings: value.string_list };
    else if ("ip_list" in value) into[name] = { cidrs: value.ip_list };
  }
}

/**
 * A sample's datapoint, from everything the device saw (not the report, whose lists may be cut
 * to fit): `traffic` is the traffic since the previous sample.
 */
export function datapointOfSample(sample: Sample, traffic: Traffic | undefined, time: number = sample.takenAt, interval?: number): Datapoint {
  const values: Record<string, MetricValue> = {};
  for (const [, f] of families) {
    const value = f.input === "traffic" ? traffic : (sample.snapshot as Record<string, unknown>)[f.input];
    if (value === undefined) continue;
    for (const d of f.detect) values[d.name] = d.of(value);
  }
  customValues(sample.customMetrics, values);
  return interval === undefined ? { time, values } : { time, interval, values };
}

/** A report's datapoint (replay): what its blocks carry, at `time` (epoch ms). */
export function datapointOfReport(report: Report, time: number, interval?: number): Datapoint {
  const values: Record<string, MetricValue> = {};
  const metrics = (report.metrics ?? {}) as Record<string, unknown>;
  for (const [name, f] of families) {
    const block = metrics[name];
    if (block === undefined) continue;
    for (const d of f.detect) {
      const v = d.fromReport(block);
      if (v !== undefined) values[d.name] = v;
    }
  }
  customValues(report.custom_metrics, values);
  return interval === undefined ? { time, values } : { time, interval, values };
}

/** The datapoint with only the given metrics' values. */
export function withMetrics(dp: Datapoint, metrics: ReadonlySet<string>): Datapoint {
  const values = Object.fromEntries(Object.entries(dp.values).filter(([m]) => metrics.has(m)));
  return dp.interval === undefined ? { time: dp.time, values } : { time: dp.time, interval: dp.interval, values };
}

/** The datapoint with only its numbers (counts and custom numbers): what baselines and models learn from. */
export function numbersOnly(dp: Datapoint): Datapoint {
  const values = Object.fromEntries(Object.entries(dp.values).filter(([, v]) => v.count !== undefined || v.number !== undefined));
  const out: Datapoint = dp.interval === undefined ? { time: dp.time, values } : { time: dp.time, interval: dp.interval, values };
  if (dp.bands !== undefined) out.bands = dp.bands;
  return out;
}

/** The single number a numeric MetricValue carries. */
export function numberOf(v: MetricValue | undefined): number | undefined {
  return v?.count ?? v?.number;
}
