// A security profile exactly as `aws iot create-security-profile --cli-input-json` takes it
// (botocore iot 2015-05-28 CreateSecurityProfileRequest), validated with zod. A behavior
// describes what is normal: a datapoint complies when `measured OPERATOR value` holds.

import { z } from "zod";
import { CLOUD_METRICS, DEVICE_METRICS, DIMENSION_METRICS, type ValueKind } from "../metrics/catalogue.js";
import { parseCidr } from "./cidr.js";
import { mlMetricProblem } from "./ml/metrics.js";

export const NUMERIC_OPERATORS = ["less-than", "less-than-equals", "greater-than", "greater-than-equals"] as const;
/** API ComparisonOperator. */
export const COMPARISON_OPERATORS = [...NUMERIC_OPERATORS, "in-cidr-set", "not-in-cidr-set", "in-port-set", "not-in-port-set", "in-set", "not-in-set"] as const;
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

/** A metric computed by AWS IoT Core from broker traffic. */
export function isCloudMetric(metric: string): boolean {
  return metric in CLOUD_METRICS;
}

/** The known metric nearest to a misspelt aws: name (edit distance at most 3). */
function nearestMetric(metric: string): string | undefined {
  const distance = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    return d[a.length]![b.length]!;
  };
  let best: { name: string; d: number } | undefined;
  for (const known of [...Object.keys(DEVICE_METRICS), ...Object.keys(CLOUD_METRICS)]) {
    const d = distance(metric, known);
    if (d <= 3 && (best === undefined || d < best.d)) best = { name: known, d };
  }
  return best?.name;
}

/** Why a metric name is not one Detect knows (an aws: name that is no Device Defender metric), or undefined. */
export function unknownMetric(metric: string): string | undefined {
  if (!metric.startsWith("aws:") || metric in DEVICE_METRICS || metric in CLOUD_METRICS) return undefined;
  const near = nearestMetric(metric);
  return `${metric} is not a Device Defender metric${near ? ` (did you mean ${near}?)` : ""}; custom metrics are named without aws:`;
}

/** API BehaviorName, SecurityProfileName, DimensionName: 1-128 of [a-zA-Z0-9:_-]. */
const NAME_RULE = "must be 1-128 characters, each a letter, a digit, or one of : _ - (no spaces)";
const name = z.string().regex(/^[a-zA-Z0-9:_-]{1,128}$/, NAME_RULE);

/** API RoleArn: 20-2048 characters. */
const roleArn = z
  .string({ error: "is required" })
  .min(20, "must be a role ARN of 20 to 2048 characters")
  .max(2048, "must be a role ARN of 20 to 2048 characters");

/** API MetricDimension: dimensionName required; operator IN (the default) or NOT_IN. */
const MetricDimensionSchema = z.strictObject({
  dimensionName: z.string({ error: "is required" }).regex(/^[a-zA-Z0-9:_-]{1,128}$/, NAME_RULE),
  operator: z.enum(["IN", "NOT_IN"], { error: "must be IN or NOT_IN" }).optional(),
});

/** CloudFormation types Value.Count as a string; the API as a number: accept both. */
const count = z.union([z.int().min(0), z.string().regex(/^\d+$/).transform(Number)], { error: "must be a whole number >= 0" });
/** API Cidr (2-43 of [a-fA-F0-9:./]), and an address with a prefix that fits it. */
const cidr = z
  .string()
  .min(2)
  .max(43)
  .refine(
    (c) => /^[a-fA-F0-9:./]+$/.test(c) && parseCidr(c) !== undefined,
    "must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32 (a valid address, and a prefix of at most 32 for IPv4, 128 for IPv6)",
  );

export const MetricValueSchema = z.strictObject({
  count: count.optional(),
  cidrs: z.array(cidr).optional(),
  ports: z.array(z.int().min(0).max(65535)).optional(),
  number: z.number().optional(),
  numbers: z.array(z.number()).optional(),
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
    metricDimension: MetricDimensionSchema.optional(),
    criteria: CriteriaSchema.optional(),
    suppressAlerts: z.boolean().optional(),
    exportMetric: z.boolean().optional(),
  })
  .superRefine((b, ctx) => {
    const issue = (path: Array<string | number>, message: string) => ctx.addIssue({ code: "custom", path, message });
    const c = b.criteria;
    if (b.metric === undefined) {
      issue(["metric"], "is required");
      return;
    }
    const unknown = unknownMetric(b.metric);
    if (unknown) {
      issue(["metric"], unknown);
      return;
    }
    if (c === undefined) {
      issue(["criteria"], "is required");
      return;
    }
    if (c.mlDetectionConfig) {
      // API BehaviorCriteria: an ML behavior is a confidence level and the consecutive datapoints, nothing else.
      for (const field of ["comparisonOperator", "value", "statisticalThreshold", "durationSeconds"] as const) {
        if (c[field] !== undefined)
          issue(["criteria", field], "an ML behavior (mlDetectionConfig) takes no comparisonOperator, value, statisticalThreshold or durationSeconds");
      }
      const problem = mlMetricProblem(b.metric);
      if (problem) issue(["metric"], problem);
      if (b.metricDimension && !DIMENSION_METRICS.has(b.metric)) {
        issue(["metricDimension"], `cannot be used with ${b.metric}: dimensions apply to ${[...DIMENSION_METRICS].join(", ")}`);
      }
      return;
    }
    if (c.comparisonOperator === undefined) {
      issue(["criteria", "comparisonOperator"], "is required");
      return;
    }
    if ((c.value === undefined) === (c.statisticalThreshold === undefined)) {
      issue(["criteria"], "needs exactly one of value or statisticalThreshold");
      return;
    }
    // A custom metric's type shows in its value field; statistical thresholds apply to numbers only.
    const kind = kindOf(b.metric, c.value) ?? (c.statisticalThreshold ? "number" : undefined);
    if (kind === undefined) {
      issue(["criteria", "value"], "has no field that tells the custom metric's type (number, numbers, strings, cidrs)");
      return;
    }
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
    if (b.metricDimension && !DIMENSION_METRICS.has(b.metric)) {
      issue(["metricDimension"], `cannot be used with ${b.metric}: dimensions apply to ${[...DIMENSION_METRICS].join(", ")}`);
    }
  });
export type Behavior = z.infer<typeof BehaviorSchema>;

const MetricToRetainSchema = z
  .strictObject({
    metric: z.string({ error: "is required" }).min(1),
    metricDimension: MetricDimensionSchema.optional(),
    exportMetric: z.boolean().optional(),
  })
  .superRefine((m, ctx) => {
    const unknown = unknownMetric(m.metric);
    if (unknown) ctx.addIssue({ code: "custom", path: ["metric"], message: unknown });
    if (m.metricDimension && !DIMENSION_METRICS.has(m.metric)) {
      ctx.addIssue({
        code: "custom",
        path: ["metricDimension"],
        message: `cannot be used with ${m.metric}: dimensions apply to ${[...DIMENSION_METRICS].join(", ")}`,
      });
    }
  });

/** API CreateSecurityProfileRequest (botocore iot 2015-05-28 service-2.json). */
export const SecurityProfileSchema = z
  .strictObject({
    securityProfileName: name,
    securityProfileDescription: z
      .string()
      .max(1000, "must be at most 1000 characters")
      .regex(/^[\x20-\x7e]*$/, "must be printable characters and spaces only (pattern [\\p{Graph}\\x20]*: no tabs, newlines or control characters)")
      .optional(),
    behaviors: z.array(BehaviorSchema).max(100, "a profile has at most 100 behaviors").optional(),
    alertTargets: z
      .record(z.string(), z.strictObject({ alertTargetArn: z.string({ error: "is required" }).min(1, "is required"), roleArn }))
      .superRefine((targets, ctx) => {
        for (const type of Object.keys(targets)) {
          if (type !== "SNS") ctx.addIssue({ code: "custom", path: [type], message: "the only alert target type is SNS (API AlertTargetType)" });
        }
      })
      .optional(),
    additionalMetricsToRetain: z
      .array(
        z.string().superRefine((m, ctx) => {
          const unknown = unknownMetric(m);
          if (unknown) ctx.addIssue({ code: "custom", message: unknown });
        }),
      )
      .optional(),
    additionalMetricsToRetainV2: z.array(MetricToRetainSchema).optional(),
    tags: z
      .array(
        z.strictObject({
          Key: z
            .string({ error: "is required" })
            .min(1, "must be 1-128 characters")
            .max(128, "must be 1-128 characters")
            .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, "must be letters, digits, spaces and _ . : / = + - @ only"),
          Value: z.string().max(256, "must be at most 256 characters").optional(),
        }),
      )
      .optional(),
    metricsExportConfig: z.strictObject({ mqttTopic: z.string({ error: "is required" }).min(1).max(512, "must be 1-512 characters"), roleArn }).optional(),
  })
  .superRefine((p, ctx) => {
    // The alarm state is per behavior name: two behaviors with one name would share it.
    const seen = new Map<string, number>();
    (p.behaviors ?? []).forEach((b, i) => {
      const first = seen.get(b.name);
      if (first !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["behaviors", i, "name"],
          message: `"${b.name}" is also the name of behavior ${first + 1}; behavior names must be unique in a profile`,
        });
      else seen.set(b.name, i);
    });
  });
export type SecurityProfile = z.infer<typeof SecurityProfileSchema>;

/** Why a behavior is not evaluated on the device, or undefined when it is. */
export function skipReason(b: Behavior): string | undefined {
  if (b.metric && isCloudMetric(b.metric))
    return `${b.metric} is computed by AWS IoT Core from broker traffic, which the device cannot see (needs AWS IoT Core)`;
  return undefined;
}
