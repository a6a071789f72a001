// The CustomMetrics configuration key: metric name → where its value comes from.
// No source runs a command: configuration arrives through cloud deployments, and a command
// source would turn a configuration merge into remote code execution on the device.

import { z } from "zod";
import { CustomMetricName } from "../report/schema.js";

export const METRIC_TYPES = ["number", "number-list", "string-list", "ip-address-list"] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

/** Built-in sources and the metric type each produces. */
export const BUILTIN_TYPES = {
  cpu_usage: "number",
  memory_used_percent: "number",
  memory_available_bytes: "number",
  load_average_1m: "number",
  process_count: "number",
  uptime_seconds: "number",
  open_file_descriptors: "number",
  disk_used_percent: "number",
  network_interface_names: "string-list",
  listening_process_names: "string-list",
} as const satisfies Record<string, MetricType>;
export type BuiltinSource = keyof typeof BUILTIN_TYPES;

const numeric = z.union([z.number(), z.string().trim().regex(/^-?\d+(\.\d+)?(e-?\d+)?$/).transform(Number)], {
  error: "must be a number",
});

export const CustomMetricDefinition = z
  .strictObject({
    type: z.enum(METRIC_TYPES, { error: `must be one of ${METRIC_TYPES.join(", ")}` }),
    source: z.string(),
    path: z.string().startsWith("/", "must be an absolute path").optional(),
    scale: numeric.pipe(z.number().finite()).optional(),
    regex: z.string().optional(),
  })
  .superRefine((d, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    if (d.source === "file") {
      if (d.path === undefined) issue("path", "a file source needs a path");
    } else if (d.source in BUILTIN_TYPES) {
      const produces = BUILTIN_TYPES[d.source as BuiltinSource];
      if (d.type !== produces) issue("type", `${d.source} produces a ${produces}, not a ${d.type}`);
      if (d.source === "disk_used_percent" && d.path === undefined) issue("path", "disk_used_percent needs the path of a mounted file system");
      if (d.regex !== undefined) issue("regex", "only file sources take a regex");
    } else {
      issue("source", `must be "file" or a built-in: ${Object.keys(BUILTIN_TYPES).join(", ")} (commands are not supported)`);
    }
    if (d.scale !== undefined && d.type !== "number" && d.type !== "number-list") issue("scale", "only numbers can be scaled");
    if (d.regex !== undefined) {
      try {
        new RegExp(d.regex);
      } catch (err) {
        issue("regex", `is not a valid regular expression: ${(err as Error).message}`);
      }
    }
  });

export type CustomMetricDefinition = z.infer<typeof CustomMetricDefinition>;

export const CustomMetricsConfig = z.record(z.string(), CustomMetricDefinition).superRefine((metrics, ctx) => {
  // Checked here rather than as the record's key schema, so the message names the metric.
  for (const name of Object.keys(metrics)) {
    const checked = CustomMetricName.safeParse(name);
    if (!checked.success) {
      ctx.addIssue({ code: "custom", path: [name], message: `metric name ${checked.error.issues.map((i) => i.message).join("; ")}` });
    }
  }
});
export type CustomMetricsConfig = z.infer<typeof CustomMetricsConfig>;
