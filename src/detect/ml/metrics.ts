// The metrics ML Detect takes (developer guide dd-detect-ml), apart so the profile schema can
// check an ML behavior without the model.

/** Device-side metrics ML behaviors may use (developer guide dd-detect-ml). */
export const ML_DEVICE_METRICS: ReadonlySet<string> = new Set([
  "aws:all-bytes-in",
  "aws:all-bytes-out",
  "aws:all-packets-in",
  "aws:all-packets-out",
  "aws:num-listening-tcp-ports",
  "aws:num-listening-udp-ports",
  "aws:num-established-tcp-connections",
]);

/** Cloud-side metrics ML Detect supported: computed by AWS IoT Core, skipped on the device. */
export const ML_CLOUD_METRICS: ReadonlySet<string> = new Set([
  "aws:num-authorization-failures",
  "aws:num-connection-attempts",
  "aws:num-disconnects",
  "aws:message-byte-size",
  "aws:num-messages-sent",
  "aws:num-messages-received",
]);

/** Why an ML behavior may not use `metric` (the API's rule), or undefined. Custom metrics are checked by type elsewhere. */
export function mlMetricProblem(metric: string): string | undefined {
  if (!metric.startsWith("aws:") || ML_DEVICE_METRICS.has(metric) || ML_CLOUD_METRICS.has(metric)) return undefined;
  return `ML Detect does not support ${metric}: it takes ${[...ML_DEVICE_METRICS].join(", ")}, the cloud-side ${[...ML_CLOUD_METRICS].join(", ")}, and custom metrics of type number (not source IP, destination IPs or port lists)`;
}
