// The Device Defender metrics report, long names: the single source of truth. The TypeScript
// types are inferred from it and every report is validated against it before it leaves. The
// "metrics" block comes from the metric catalogue (src/metrics/catalogue.ts).
// Source: AWS IoT developer guide, "Device metrics document specification"
// (https://docs.aws.amazon.com/iot/latest/developerguide/detect-device-side-metrics.html).

import { isIPv4, isIPv6 } from "../util/ip.js";
import { z } from "zod";
import { MetricsSchema } from "../metrics/catalogue.js";

export { MetricsSchema };

/** Custom metric names: 1-128 of [a-zA-Z0-9:_-], not starting with "aws:" (API CreateCustomMetric). */
export const CustomMetricName = z
  .string()
  .regex(/^[a-zA-Z0-9:_-]{1,128}$/, "must be 1-128 characters of a-z A-Z 0-9 : _ -")
  .refine((n) => !n.startsWith("aws:"), "must not start with aws:");

const ip = z.string().refine((s) => isIPv4(s) || isIPv6(s), "must be an IPv4 or IPv6 address");

/** Each value object has exactly one key; these keys have no short forms. */
export const CustomMetricValueSchema = z.union([
  z.strictObject({ number: z.number() }),
  z.strictObject({ number_list: z.array(z.number()) }),
  z.strictObject({ string_list: z.array(z.string()) }),
  z.strictObject({ ip_list: z.array(ip) }),
]);

/** The value is wrapped in a one-element array: {"m":{"number":0}} is rejected as malformed. */
export const CustomMetricsSchema = z.record(CustomMetricName, z.tuple([CustomMetricValueSchema]));

export const ReportSchema = z
  .strictObject({
    header: z.strictObject({ report_id: z.int().positive(), version: z.literal("1.0") }),
    metrics: MetricsSchema.optional(),
    custom_metrics: CustomMetricsSchema.optional(),
  })
  .refine((r) => r.metrics !== undefined || r.custom_metrics !== undefined, {
    error: "a report needs metrics or custom_metrics",
  });

export type Report = z.infer<typeof ReportSchema>;
export type Metrics = z.infer<typeof MetricsSchema>;
export type CustomMetrics = z.infer<typeof CustomMetricsSchema>;
export type CustomMetricValue = z.infer<typeof CustomMetricValueSchema>;
