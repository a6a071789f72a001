// check-profile: validation errors (the profile is refused) and lints (it runs, but probably
// does not do what its author meant).

import type { ComponentConfig } from "../config/schema.js";
import { minDatapointsFor } from "./ml/behavior.js";
import { type SecurityProfile, SecurityProfileSchema, skipReason } from "./profile-schema.js";

export interface Finding {
  level: "ERROR" | "WARN" | "NOTE";
  where: string;
  message: string;
}

/** Datapoints a percentile needs before it differs from the extreme value (1 / (1 − p)). */
export function datapointsToResolve(statistic: string): number {
  const p = Number(statistic.slice(1));
  const tail = Math.min(p, 100 - p);
  return tail === 0 ? 1 : Math.ceil(100 / tail);
}

export interface LintOptions {
  minStatisticalDatapoints: number;
  intervalSeconds: number;
  /** Datapoints an ML behavior's model needs (MlMinDatapoints; 0: 14 days at the interval). */
  mlMinDatapoints?: number;
  /** The configured custom metrics' types, where known (an ML behavior takes a number). */
  customMetricTypes?: Readonly<Record<string, string>>;
}

/** What a configuration says that lints depend on. */
export function lintOptionsOf(config: ComponentConfig): LintOptions {
  return {
    minStatisticalDatapoints: config.StatisticalMinDatapoints,
    intervalSeconds: config.SampleIntervalSeconds,
    mlMinDatapoints: config.MlMinDatapoints,
    customMetricTypes: Object.fromEntries(Object.entries(config.CustomMetrics).map(([name, def]) => [name, def.type])),
  };
}

export function lintProfile(doc: unknown, opts: LintOptions): { profile?: SecurityProfile; findings: Finding[] } {
  const name = (doc as { securityProfileName?: unknown } | null | undefined)?.securityProfileName;
  const label = `profile ${typeof name === "string" ? name : "(unnamed)"}`;
  const parsed = SecurityProfileSchema.safeParse(doc);
  if (!parsed.success) {
    const findings = parsed.error.issues.map((i) => {
      const path = i.path;
      const behavior =
        path[0] === "behaviors" && typeof path[1] === "number" ? (doc as { behaviors: Array<{ name?: string }> }).behaviors[path[1]]?.name : undefined;
      const where = behavior !== undefined ? `${label} behavior ${behavior}` : label;
      const field = (behavior !== undefined ? path.slice(2) : path).join(".");
      return { level: "ERROR" as const, where, message: `${field || "(profile)"}: ${i.message}` };
    });
    return { findings };
  }
  const profile = parsed.data;
  const findings: Finding[] = [];
  for (const b of profile.behaviors ?? []) {
    const where = `${label} behavior ${b.name}`;
    const skip = skipReason(b);
    if (skip) {
      findings.push({ level: "NOTE", where, message: `skipped on the device: ${skip}` });
      continue;
    }
    const mlConfig = b.criteria?.mlDetectionConfig;
    if (mlConfig && b.metric !== undefined) {
      const type = b.metric.startsWith("aws:") ? undefined : opts.customMetricTypes?.[b.metric];
      if (type !== undefined && type !== "number") {
        findings.push({
          level: "ERROR",
          where,
          message: `metric: ${b.metric} is a custom metric of type ${type}; ML Detect takes custom metrics of type number`,
        });
      } else if (!b.metric.startsWith("aws:") && opts.customMetricTypes !== undefined && type === undefined) {
        findings.push({ level: "WARN", where, message: `${b.metric} is no configured custom metric (CustomMetrics): the model gets no datapoints` });
      }
      const needed = minDatapointsFor(opts.mlMinDatapoints ?? 0, opts.intervalSeconds);
      findings.push({
        level: "NOTE",
        where,
        message: `a model learnt on the device (${mlConfig.confidenceLevel}: ${mlConfig.confidenceLevel === "HIGH" ? "alarms least" : mlConfig.confidenceLevel === "LOW" ? "alarms most" : "between"}); it is learning until ${needed.toLocaleString("en-US")} datapoints (${((needed * opts.intervalSeconds) / 86_400).toFixed(1)} days at one every ${opts.intervalSeconds} s), then refreshed daily from the trailing 14 days`,
      });
      continue;
    }
    const st = b.criteria?.statisticalThreshold?.statistic;
    const op = b.criteria?.comparisonOperator;
    if (st !== undefined && op !== undefined) {
      const p = Number(st.slice(1));
      if ((op === "greater-than" || op === "greater-than-equals") && p >= 99.9) {
        findings.push({
          level: "WARN",
          where,
          message: `"${op} ${st}" says normal is above the ${st.slice(1)}th percentile, which flags nearly every datapoint; to alarm on unusually high values, normal is less-than-equals ${st}`,
        });
      }
      if ((op === "less-than" || op === "less-than-equals") && p <= 0.1) {
        findings.push({
          level: "WARN",
          where,
          message: `"${op} ${st}" says normal is below the ${st.slice(1)}th percentile, which flags nearly every datapoint; to alarm on unusually low values, normal is greater-than-equals ${st}`,
        });
      }
      const needed = datapointsToResolve(st);
      if (needed > opts.minStatisticalDatapoints) {
        const days = (needed * opts.intervalSeconds) / 86400;
        findings.push({
          level: "WARN",
          where,
          message: `${st} needs about ${needed.toLocaleString("en-US")} datapoints before it differs from the ${p > 50 ? "maximum" : "minimum"} (${days.toFixed(1)} days at one report every ${opts.intervalSeconds} s)`,
        });
      }
      findings.push({
        level: "NOTE",
        where,
        message: `${st} is this device's own baseline (earlier datapoints in the local history), not the fleet-wide percentile of the cloud; it is "learning" until ${opts.minStatisticalDatapoints} datapoints exist`,
      });
    }
  }
  if (profile.additionalMetricsToRetain)
    findings.push({ level: "NOTE", where: label, message: "additionalMetricsToRetain is deprecated; additionalMetricsToRetainV2 is preferred" });
  if (profile.alertTargets)
    findings.push({ level: "NOTE", where: label, message: "alertTargets are ignored on the device; violations go to the local topic and the log" });
  // A lint that is an error (a custom metric of the wrong type) refuses the profile as the schema does.
  return findings.some((f) => f.level === "ERROR") ? { findings } : { profile, findings };
}
