// Applying a configuration document and the environment the component runs in; kept apart
// from the IPC code so that commands that do not talk to Greengrass do not load it.

import { type ComponentConfig, applyConfiguration, intervalFloor } from "./schema.js";
import type { Logger } from "../util/log.js";

export const REQUIRED_ENV = ["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT", "SVCUID", "AWS_IOT_THING_NAME"] as const;

export function isUnderGreengrass(env: NodeJS.ProcessEnv): boolean {
  return REQUIRED_ENV.every((k) => (env[k] ?? "") !== "");
}

/** Test hook for the bench and end-to-end tests: real ms per configured second (default 1000). */
export function msPerSecondFrom(env: NodeJS.ProcessEnv): number {
  const v = Number(env.DEFENDER_TEST_MS_PER_SECOND);
  return Number.isFinite(v) && v > 0 ? v : 1000;
}

/** Applies a configuration document, logging each refused key and the interval floor. */
export function logConfiguration(doc: unknown, lastGood: ComponentConfig, log: Logger, floorFor: (c: ComponentConfig) => number = intervalFloor): ComponentConfig {
  const { config, problems } = applyConfiguration(doc, lastGood);
  // A value is shown as given, cut short: a log line stays a line whatever was deployed.
  const shown = (v: unknown) => {
    const text = typeof v === "string" ? v : (JSON.stringify(v) ?? "undefined");
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
  const changed = (Object.keys(config) as Array<keyof ComponentConfig>).filter(
    (k) => JSON.stringify(config[k]) !== JSON.stringify(lastGood[k]),
  );
  if (changed.length > 0) log.info("config.applied", Object.fromEntries(changed.map((k) => [k, shown(config[k])])));
  return config;
}

