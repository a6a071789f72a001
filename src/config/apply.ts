// How a configuration document becomes the configuration in force: each key validated on its
// own (an invalid value is refused by name and keeps its last good value), then the checks across
// keys, with a log line for each refusal and for what changed.

import type { z } from "zod";
import { fileAccessProblem } from "../collect/collectors/file.js";
import type { Logger } from "../util/log.js";
import { type ComponentConfig, type ConfigKey, configKeys } from "./schema.js";

export interface ConfigProblem {
  key: string;
  value: unknown;
  rule: string;
}

/**
 * Applies a configuration document over the last good one. Each key is validated on its own:
 * an invalid value is reported and the key keeps its last good value. Keys that are absent
 * return to their defaults (a deployment's reset removes them). Unknown keys (accessControl,
 * keys of newer versions) are ignored.
 */
export function applyConfiguration(doc: unknown, lastGood: ComponentConfig): { config: ComponentConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return { config: lastGood, problems: [{ key: "(root)", value: doc, rule: "configuration must be an object" }] };
  }
  // The nucleus's configuration keys are case-insensitive (config/Topics.java).
  const src = new Map(Object.entries(doc as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
  const config = { ...lastGood } as Record<ConfigKey, unknown>;
  for (const [key, schema] of Object.entries(configKeys()) as Array<[ConfigKey, z.ZodType]>) {
    const value = src.get(key.toLowerCase());
    const parsed = schema.safeParse(value ?? undefined);
    if (parsed.success) config[key] = parsed.data;
    else {
      const rule = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
      problems.push({ key, value, rule });
    }
  }
  // Across keys: a file source must name a file it may read (src/collect/collectors/file.ts).
  const c = config as ComponentConfig;
  const refused = Object.entries(c.CustomMetrics).flatMap(([name, d]) => {
    if (d.source !== "file" || d.path === undefined) return [];
    const problem = fileAccessProblem(d.path, c.CustomMetricFileRoots, c.ProcRoot);
    return problem ? [`${name}.path: ${problem}`] : [];
  });
  if (refused.length > 0) {
    problems.push({ key: "CustomMetrics", value: src.get("custommetrics"), rule: refused.join("; ") });
    config.CustomMetrics = lastGood.CustomMetrics;
  }
  return { config: c, problems };
}

/** The service throttles reports sent more often than every 300 s (developer guide, "Sending metrics"). */
export const SERVICE_MIN_INTERVAL_SECONDS = 300;
/** Reports that stay on the device are not throttled. */
export const LOCAL_MIN_INTERVAL_SECONDS = 10;

/** The lowest interval honoured: the service's throttle applies only when reports go to it. */
export function intervalFloor(config: ComponentConfig): number {
  return config.PublishMetrics ? SERVICE_MIN_INTERVAL_SECONDS : LOCAL_MIN_INTERVAL_SECONDS;
}

/** The interval samples are taken at: the configured one, raised to the floor. */
export function effectiveIntervalSeconds(config: ComponentConfig): number {
  return Math.max(config.SampleIntervalSeconds, intervalFloor(config));
}

/** Applies a configuration document, logging each refused key and the interval floor. */
export function logConfiguration(
  doc: unknown,
  lastGood: ComponentConfig,
  log: Logger,
  floorFor: (c: ComponentConfig) => number = intervalFloor,
): ComponentConfig {
  const { config, problems } = applyConfiguration(doc, lastGood);
  // A value is shown as given, cut short: a log line stays a line whatever was deployed.
  const shown = (v: unknown) => {
    // JSON.stringify returns undefined for undefined (a key given no value), whatever its declared type says.
    const text = typeof v === "string" ? v : ((JSON.stringify(v) as string | undefined) ?? "undefined");
    return text.length > 200 ? `${text.slice(0, 197)}...` : text;
  };
  for (const p of problems) {
    log.error("config.rejected", {
      key: p.key,
      value: shown(p.value),
      rule: p.rule,
      kept: shown((lastGood as Record<string, unknown>)[p.key]),
    });
  }
  const floor = floorFor(config);
  if (config.SampleIntervalSeconds < floor) {
    log.warn("config.interval_raised", {
      key: "SampleIntervalSeconds",
      value: config.SampleIntervalSeconds,
      used: floor,
      reason: config.PublishMetrics ? "the service throttles reports sent more often than every 300 s" : "10 s is the shortest interval",
    });
  }
  const changed = (Object.keys(config) as Array<keyof ComponentConfig>).filter((k) => JSON.stringify(config[k]) !== JSON.stringify(lastGood[k]));
  if (changed.length > 0) log.info("config.applied", Object.fromEntries(changed.map((k) => [k, shown(config[k])])));
  return config;
}
