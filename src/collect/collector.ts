// What every collector is: a function of one sample's context. The standard ones fill the
// report's metric families (src/metrics/catalogue.ts); the others are sources that a
// CustomMetrics entry names. Both kinds live in one table (./collectors/index.ts).

import type { CollectContext } from "./context.js";

/** Custom metric types (API CreateCustomMetric metricType). */
export const METRIC_TYPES = ["number", "number-list", "string-list", "ip-address-list"] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

/** What a CustomMetrics entry may pass to a source. */
export interface SourceParams {
  path?: string;
  regex?: string;
  scale?: number;
  type?: MetricType;
}

export interface Collector<T> {
  /** For a collector that a CustomMetrics entry may name as its source. */
  readonly custom?: {
    /** The metric type it yields; "any" for a file, whose type the entry says. */
    type: MetricType | "any";
    /** What the entry must, or may, give besides the type. */
    needs?: ReadonlyArray<"path">;
    accepts?: ReadonlyArray<"regex" | "scale">;
  };
  /** One sample's value; throws CollectError (why it has none), or returns PENDING. */
  collect(ctx: CollectContext, params: SourceParams): T | typeof PENDING;
}

/** Nothing to report yet, and not a failure: the first sample of a delta (cpu_usage). */
export const PENDING: unique symbol = Symbol("pending");

/** Why a collector has no value this sample (a file missing, unparsable, not allowed). */
export class CollectError extends Error {}

export function collector<T>(c: Collector<T>): Collector<T> {
  return c;
}
