// Device Defender Detect metrics: which the device can evaluate from its own reports, and
// which only the cloud sees. Source: AWS IoT Device Defender developer guide,
// detect-device-side-metrics and detect-cloud-side-metrics; API BehaviorCriteria.

export type ValueKind = "number" | "port-list" | "ip-list" | "number-list" | "string-list";

/** Device-side metrics, from the report: kind and whether the report carries it as a delta. */
export const DEVICE_METRICS: Record<string, { kind: ValueKind; delta: boolean }> = {
  "aws:all-bytes-in": { kind: "number", delta: true },
  "aws:all-bytes-out": { kind: "number", delta: true },
  "aws:all-packets-in": { kind: "number", delta: true },
  "aws:all-packets-out": { kind: "number", delta: true },
  "aws:num-listening-tcp-ports": { kind: "number", delta: false },
  "aws:num-listening-udp-ports": { kind: "number", delta: false },
  "aws:num-established-tcp-connections": { kind: "number", delta: false },
  "aws:listening-tcp-ports": { kind: "port-list", delta: false },
  "aws:listening-udp-ports": { kind: "port-list", delta: false },
  "aws:destination-ip-addresses": { kind: "ip-list", delta: false },
};

/** Computed by AWS IoT Core from broker traffic: a device cannot reproduce them. */
export const CLOUD_METRICS: Record<string, ValueKind> = {
  "aws:message-byte-size": "number",
  "aws:num-messages-sent": "number",
  "aws:num-messages-received": "number",
  "aws:num-authorization-failures": "number",
  "aws:num-connection-attempts": "number",
  "aws:num-disconnects": "number",
  "aws:disconnect-duration": "number",
  "aws:source-ip-address": "ip-list",
};

export const NUMERIC_OPERATORS = ["less-than", "less-than-equals", "greater-than", "greater-than-equals"] as const;
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

export function isCloudMetric(metric: string): boolean {
  return metric in CLOUD_METRICS || (metric.startsWith("aws:") && !(metric in DEVICE_METRICS));
}
