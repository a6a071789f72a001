// The CustomMetrics configuration key: metric name → where its value comes from. The sources are
// the collectors of src/collect/collectors/index.ts that declare a custom metric type. No source
// runs a command: configuration arrives through cloud deployments, and a command source would
// turn a configuration merge into remote code execution on the device.

import { z } from "zod";
import { METRIC_TYPES } from "../collect/collector.js";
import { SOURCES, type SourceName } from "../collect/collectors/index.js";
import { compileRegex } from "../collect/collectors/file.js";
import { CustomMetricName } from "../report/schema.js";
import { lazy } from "../util/lazy.js";

/** The CustomMetrics key's schema, built on first use (../util/lazy.ts). */
export const customMetricsConfig = lazy(() => {
  const SOURCE_NAMES = Object.keys(SOURCES) as SourceName[];
  const numeric = z.union(
    [
      z.number(),
      z
        .string()
        .trim()
        .regex(/^-?\d+(\.\d+)?(e-?\d+)?$/)
        .transform(Number),
    ],
    {
      error: "must be a number",
    },
  );

  const definition = z
    .strictObject({
      type: z.enum(METRIC_TYPES, { error: `must be one of ${METRIC_TYPES.join(", ")}` }),
      source: z.string(),
      path: z.string().startsWith("/", "must be an absolute path").optional(),
      scale: numeric.pipe(z.number()).optional(),
      regex: z.string().optional(),
    })
    .superRefine((d, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
      if (!(SOURCE_NAMES as string[]).includes(d.source)) {
        issue("source", `must be one of ${SOURCE_NAMES.join(", ")} (commands are not supported)`);
        return;
      }
      const spec = SOURCES[d.source as SourceName].custom!;
      if (spec.type !== "any" && d.type !== spec.type) issue("type", `${d.source} produces a ${spec.type}, not a ${d.type}`);
      for (const need of spec.needs ?? []) if (d[need] === undefined) issue(need, `${d.source} needs a ${need}`);
      const accepts: readonly string[] = spec.accepts ?? [];
      if (d.regex !== undefined && !accepts.includes("regex")) issue("regex", "only file sources take a regex");
      if (d.scale !== undefined && (!accepts.includes("scale") || (d.type !== "number" && d.type !== "number-list")))
        issue("scale", "only numbers from a file can be scaled");
      if (d.regex !== undefined) {
        try {
          compileRegex(d.regex);
        } catch (err) {
          issue("regex", `is not a valid RE2 regular expression: ${(err as Error).message}`);
        }
      }
    });

  return z.record(z.string(), definition).superRefine((metrics, ctx) => {
    // Checked here rather than as the record's key schema, so the message names the metric.
    for (const name of Object.keys(metrics)) {
      const checked = CustomMetricName.safeParse(name);
      if (!checked.success) {
        ctx.addIssue({ code: "custom", path: [name], message: `metric name ${checked.error.issues.map((i) => i.message).join("; ")}` });
      }
    }
  });
});
export type CustomMetricsConfig = z.infer<ReturnType<typeof customMetricsConfig>>;
export type CustomMetricDefinition = CustomMetricsConfig[string];
