// The component's configuration (recipe DefaultConfiguration, changed by deployment merges):
// one zod schema per key, so a bad value is refused by name while the other keys apply.
// Greengrass may hand numbers back as floats or strings (recipe reference: "we recommend that
// you define numeric configuration values as strings"), so numeric and boolean keys take both.

import { z } from "zod";
import { CustomMetricsConfig } from "../custom/definitions.js";
import { typeProfileScalars } from "./profile-scalars.js";

const numeric = z.union(
  [
    z.number(),
    z
      .string()
      .trim()
      .regex(/^\d+(\.\d+)?$/)
      .transform(Number),
  ],
  { error: "must be a number or a numeric string" },
);

/** A number (or numeric string) in [min, max], whole when `whole`; one message naming the range. */
function numberIn(min: number, max: number, opts: { whole?: boolean; minExclusive?: boolean } = {}) {
  const range = `${opts.minExclusive ? `above ${min}` : `at least ${min}`} and at most ${max}`;
  const message = opts.whole ? `must be a whole number ${range}` : `must be a number ${range}`;
  return numeric.pipe(
    z.number().refine((n) => Number.isFinite(n) && (opts.whole ? Number.isInteger(n) : true) && (opts.minExclusive ? n > min : n >= min) && n <= max, {
      error: message,
    }),
  );
}

const booleanish = z.union([z.boolean(), z.enum(["true", "false", "TRUE", "FALSE", "True", "False"]).transform((v) => v.toLowerCase() === "true")], {
  error: "must be true or false",
});

export const CONFIG_KEYS = {
  /** Up to one day: Node's timers overflow above 2^31 ms, and a longer gap is no monitoring. */
  SampleIntervalSeconds: numberIn(0, 86_400, { minExclusive: true }).default(300),
  Format: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(["json", "cbor"], { error: "must be json or cbor" }))
    .default("json"),
  ShortNames: booleanish.default(false),
  ProcRoot: z.string().startsWith("/", "must be an absolute path").default("/proc"),
  ExcludedInterfaces: z
    .union(
      [
        z.array(z.string().min(1)),
        z.string().transform((s) =>
          s
            .split(",")
            .map((x) => x.trim())
            .filter((x) => x !== ""),
        ),
      ],
      { error: "must be a list of interface names or a comma-separated string" },
    )
    .default(["lo"]),
  MaxListEntries: numberIn(1, 10_000, { whole: true }).default(100),
  /** Metric name → definition; see src/custom/definitions.ts. Empty: no custom_metrics. */
  CustomMetrics: CustomMetricsConfig.default({}),
  /** Folders (besides /sys and the proc root) whose files a "file" custom metric may read. */
  CustomMetricFileRoots: z
    .array(
      z
        .string()
        .startsWith("/", "must be absolute paths")
        .refine((p) => p !== "/", "must not be / (every file, secrets included)"),
      { error: "must be a list of absolute folder paths" },
    )
    .default([]),
  /** false: reports are only judged on the device, nothing goes to the Device Defender topics. */
  PublishMetrics: booleanish.default(true),
  /** The built-in profile (src/detect/default-profile.ts). */
  DefaultProfile: booleanish.default(true),
  /** CreateSecurityProfile documents; each is validated on its own (src/detect/profiles.ts). */
  SecurityProfiles: z
    .array(z.unknown(), { error: "must be a list of security profiles" })
    .transform((docs) => docs.map(typeProfileScalars))
    .default([]),
  /** Local publish/subscribe topic for violation events. */
  ViolationTopic: z.string().min(1, "must not be empty").default("defender/violations"),
  /** IoT Core topic for violation events ("{thing}" is the thing name); empty: not sent. */
  ViolationIoTTopic: z.string().default(""),
  /** Earlier datapoints a statistical threshold needs before it is judged. */
  StatisticalMinDatapoints: numberIn(1, 100_000, { whole: true }).default(30),
  /**
   * Datapoints an ML behavior's model needs before it judges (src/detect/ml/behavior.ts). 0: the
   * service's minimum period, 14 days, at the interval in force (4,032 at 300 s).
   */
  MlMinDatapoints: numberIn(0, 100_000, { whole: true }).default(0),
  /** How long the local history keeps datapoints. */
  HistoryDays: numberIn(0, 90, { minExclusive: true }).default(14),
  /**
   * Size cap of the local history on disk. Held by column in memory it takes a fifth of that
   * (src/detect/datapoints.ts), but it is decoded line by line at start: 10 MB keeps that well
   * inside the component's 64 MB heap (the fault suite starts with a 20 MB one).
   */
  HistoryMaxBytes: numberIn(10_000, 10_000_000, { whole: true }).default(5_000_000),
} as const;

export type ConfigKey = keyof typeof CONFIG_KEYS;
export type ComponentConfig = { [K in ConfigKey]: z.output<(typeof CONFIG_KEYS)[K]> };

export const DEFAULT_CONFIG: ComponentConfig = Object.fromEntries(
  Object.entries(CONFIG_KEYS).map(([k, schema]) => [k, schema.parse(undefined)]),
) as ComponentConfig;
