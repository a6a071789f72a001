// A security profile exactly as `aws iot create-security-profile --cli-input-json` takes it
// (botocore iot 2015-05-28 CreateSecurityProfileRequest), validated with zod. A behavior
// describes what is normal: a datapoint complies when `measured OPERATOR value` holds.

import { z } from "zod";
import { CLOUD_METRICS, DEVICE_METRICS, type ValueKind } from "../metrics/catalogue.js";

export const NUMERIC_OPERATORS = ["less-than", "less-than-equals", "greater-than", "greater-than-equals"] as const;
/** API ComparisonOperator. */
export const COMPARISON_OPERATORS = [
  ...NUMERIC_OPERATORS,
  "in-cidr-set",
  "not-in-cidr-set",
  "in-port-set",
  "not-in-port-set",
  "in-set",
  "not-in-set",
] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

/** Operators the API allows for each kind of value (API BehaviorCriteria.comparisonOperator). */
export const OPERATORS_FOR: Record<ValueKind, readonly ComparisonOperator[]> = {
  number: NUMERIC_OPERATORS,
  "port-list": ["in-port-set", "not-in-port-set"],
  "ip-list": ["in-cidr-set", "not-in-cidr-set"],
  "number-list": ["in-set", "not-in-set"],
  "string-list": ["in-set", "not-in-set"],
};

/** The MetricValue field that carries a value of each kind. */
export const VALUE_FIELD_FOR: Record<ValueKind, readonly string[]> = {
  number: ["count", "number"],
  "port-list": ["ports"],
  "ip-list": ["cidrs"],
  "number-list": ["numbers"],
  "string-list": ["strings"],
};

/** API EvaluationStatistic pattern. */
export const STATISTICS = ["p0", "p0.1", "p0.01", "p1", "p10", "p50", "p90", "p99", "p99.9", "p99.99", "p100"] as const;

export const DURATIONS = [300, 600, 900, 1800, 3600] as const;

/** A metric computed by AWS IoT Core (known, or an unknown aws: name: see the lint for those). */
export function isCloudMetric(metric: string): boolean {
  return metric in CLOUD_METRICS || (metric.startsWith("aws:") && !(metric in DEVICE_METRICS));
}

const name = z.string().regex(/^[a-zA-Z0-9:_-]{1,128}$/, "must be 1-128 characters of a-z A-Z 0-9 : _ -");

/** CloudFormation types Value.Count as a string; the API as a number: accept both. */
const count = z.union([z.int().min(0), z.string().regex(/^\d+$/).transform(Number)], { error: "must be a whole number >= 0" });
const cidr = z.string().min(2).max(43).regex(/^[a-fA-F0-9:./]+$/, "must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32");

export const MetricValueSchema = z.strictObject({
  count: count.optional(),
  cidrs: z.array(cidr).optional(),
  ports: z.array(z.int().min(0).max(65535)).optional(),
  number: z.number().finite().optional(),
  numbers: z.array(z.number().finite()).optional(),
  strings: z.array(z.string()).optional(),
});
export type MetricValue = z.infer<typeof MetricValueSchema>;

const consecutive = z.int().min(1, "must be in range [1,10]").max(10, "must be in range [1,10]");

export const CriteriaSchema = z.strictObject({
  comparisonOperator: z.enum(COMPARISON_OPERATORS, { error: `must be one of ${COMPARISON_OPERATORS.join(", ")}` }).optional(),
  value: MetricValueSchema.optional(),
  durationSeconds: z
    .int()
    .refine((d) => (DURATIONS as readonly number[]).includes(d), `must be one of ${DURATIONS.join(", ")}`)
    .optional(),
  consecutiveDatapointsToAlarm: consecutive.optional(),
  consecutiveDatapointsToClear: consecutive.optional(),
  statisticalThreshold: z.strictObject({ statistic: z.enum(STATISTICS, { error: `must be one of ${STATISTICS.join(", ")}` }) }).optional(),
  mlDetectionConfig: z.strictObject({ confidenceLevel: z.enum(["LOW", "MEDIUM", "HIGH"]) }).optional(),
});

/** The kind of value a behavior's metric has: from the catalogue, or for custom metrics from its value field. */
export function kindOf(metric: string, value: MetricValue | undefined): ValueKind | undefined {
  if (metric in DEVICE_METRICS) return DEVICE_METRICS[metric]!.kind;
  if (metric in CLOUD_METRICS) return CLOUD_METRICS[metric];
  if (value?.number !== undefined || value?.count !== undefined) return "number";
  if (value?.numbers !== undefined) return "number-list";
  if (value?.strings !== undefined) return "string-list";
  if (value?.cidrs !== undefined) return "ip-list";
  if (value?.ports !== undefined) return "port-list";
  return undefined;
}

export const BehaviorSchema = z
  .strictObject({
    name,
    metric: z.string().min(1).optional(),
    metricDimension: z.strictObject({ dimensionName: z.string().min(1).max(128), operator: z.enum(["IN", "NOT_IN"]).optional() }).optional(),
    criteria: CriteriaSchema.optional(),
    suppressAlerts: z.boolean().optional(),
    exportMetric: z.boolean().optional(),
  })
  .superRefine((b, ctx) => {
    const issue = (path: Array<string | number>, message: string) => ctx.addIssue({ code: "custom", path, message });
    const c = b.criteria;
    if (b.metric === undefined) return issue(["metric"], "is required");
    if (c === undefined) return issue(["criteria"], "is required");
    if (c.mlDetectionConfig) {
      if (c.comparisonOperator || c.value || c.statisticalThreshold) issue(["criteria"], "an ML behavior takes no operator, value or statisticalThreshold");
      return;
    }
    if (c.comparisonOperator === undefined) return issue(["criteria", "comparisonOperator"], "is required");
    if ((c.value === undefined) === (c.statisticalThreshold === undefined)) {
      return issue(["criteria"], "needs exactly one of value or statisticalThreshold");
    }
    // A custom metric's type shows in its value field; statistical thresholds apply to numbers only.
    const kind = kindOf(b.metric, c.value) ?? (c.statisticalThreshold ? "number" : undefined);
    if (kind === undefined) return issue(["criteria", "value"], "has no field that tells the custom metric's type (number, numbers, strings, cidrs)");
    if (!OPERATORS_FOR[kind].includes(c.comparisonOperator)) {
      issue(["criteria", "comparisonOperator"], `${c.comparisonOperator} does not apply to ${b.metric} (${kind}); use ${OPERATORS_FOR[kind].join(" or ")}`);
    }
    if (c.value) {
      const given = Object.keys(c.value);
      const allowed = VALUE_FIELD_FOR[kind];
      if (given.length !== 1 || !allowed.includes(given[0]!)) issue(["criteria", "value"], `${b.metric} (${kind}) takes value.${allowed.join(" or value.")}`);
    }
    if (c.durationSeconds !== undefined && kind !== "number") issue(["criteria", "durationSeconds"], "cannot be used with list-based metrics");
    if (c.statisticalThreshold && kind !== "number") issue(["criteria", "statisticalThreshold"], "applies to numeric metrics only");
    if (b.metricDimension && !isCloudMetric(b.metric)) issue(["metricDimension"], "applies to cloud-side message metrics only");
  });
export type Behavior = z.infer<typeof BehaviorSchema>;

export const SecurityProfileSchema = z.strictObject({
  securityProfileName: name,
  securityProfileDescription: z.string().max(1000).optional(),
  behaviors: z.array(BehaviorSchema).max(100, "a profile has at most 100 behaviors").optional(),
  alertTargets: z.record(z.string(), z.unknown()).optional(),
  additionalMetricsToRetain: z.array(z.string()).optional(),
  additionalMetricsToRetainV2: z
    .array(z.strictObject({ metric: z.string(), metricDimension: z.unknown().optional(), exportMetric: z.boolean().optional() }))
    .optional(),
  tags: z.array(z.strictObject({ Key: z.string(), Value: z.string().optional() })).optional(),
  metricsExportConfig: z.unknown().optional(),
});
export type SecurityProfile = z.infer<typeof SecurityProfileSchema>;

/** Why a behavior is not evaluated on the device, or undefined when it is. */
export function skipReason(b: Behavior): string | undefined {
  if (b.criteria?.mlDetectionConfig) return "ML Detect behaviors need the cloud's model";
  if (b.metric && isCloudMetric(b.metric)) return `${b.metric} is computed by AWS IoT Core from broker traffic, which the device cannot see`;
  return undefined;
}
