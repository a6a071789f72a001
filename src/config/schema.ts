// The component's configuration (recipe DefaultConfiguration, changed by deployment merges):
// one zod schema per key, so a bad value is refused by name while the other keys apply.
// Greengrass may hand numbers back as floats or strings (recipe reference: "we recommend that
// you define numeric configuration values as strings"), so numeric and boolean keys take both.

import { z } from "zod";
import { customMetricsConfig } from "../custom/definitions.js";
import { lazy } from "../util/lazy.js";
import { typeProfileScalars } from "./profile-scalars.js";

/** Each key's default, as plain data (the schemas below take theirs from here), so that the defaults cost nothing to import. */
const DEFAULTS = {
  SampleIntervalSeconds: 300,
  Format: "json" as const,
  ShortNames: false,
  ProcRoot: "/proc",
  ExcludedInterfaces: ["lo"],
  MaxListEntries: 100,
  CustomMetrics: {},
  CustomMetricFileRoots: [],
  PublishMetrics: true,
  DefaultProfile: true,
  SecurityProfiles: [],
  ViolationTopic: "defender/violations",
  ViolationIoTTopic: "",
  StatisticalMinDatapoints: 30,
  MlMinDatapoints: 0,
  HistoryDays: 14,
  HistoryMaxBytes: 5_000_000,
};

/** One schema per key, built on first use (../util/lazy.ts). */
export const configKeys = lazy(() => {
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

  return {
    /** Up to one day: Node's timers overflow above 2^31 ms, and a longer gap is no monitoring. */
    SampleIntervalSeconds: numberIn(0, 86_400, { minExclusive: true }).default(DEFAULTS.SampleIntervalSeconds),
    Format: z
      .string()
      .transform((s) => s.toLowerCase())
      .pipe(z.enum(["json", "cbor"], { error: "must be json or cbor" }))
      .default(DEFAULTS.Format),
    ShortNames: booleanish.default(DEFAULTS.ShortNames),
    ProcRoot: z.string().startsWith("/", "must be an absolute path").default(DEFAULTS.ProcRoot),
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
      .default(DEFAULTS.ExcludedInterfaces),
    MaxListEntries: numberIn(1, 10_000, { whole: true }).default(DEFAULTS.MaxListEntries),
    /** Metric name → definition; see src/custom/definitions.ts. Empty: no custom_metrics. */
    CustomMetrics: customMetricsConfig().default(DEFAULTS.CustomMetrics),
    /** Folders (besides /sys and the proc root) whose files a "file" custom metric may read. */
    CustomMetricFileRoots: z
      .array(
        z
          .string()
          .startsWith("/", "must be absolute paths")
          .refine((p) => p !== "/", "must not be / (every file, secrets included)"),
        { error: "must be a list of absolute folder paths" },
      )
      .default(DEFAULTS.CustomMetricFileRoots),
    /** false: reports are only judged on the device, nothing goes to the Device Defender topics. */
    PublishMetrics: booleanish.default(DEFAULTS.PublishMetrics),
    /** The built-in profile (src/detect/default-profile.ts). */
    DefaultProfile: booleanish.default(DEFAULTS.DefaultProfile),
    /** CreateSecurityProfile documents; each is validated on its own (src/detect/profiles.ts). */
    SecurityProfiles: z
      .array(z.unknown(), { error: "must be a list of security profiles" })
      .transform((docs) => docs.map(typeProfileScalars))
      .default(DEFAULTS.SecurityProfiles),
    /** Local publish/subscribe topic for violation events. */
    ViolationTopic: z.string().min(1, "must not be empty").default(DEFAULTS.ViolationTopic),
    /** IoT Core topic for violation events ("{thing}" is the thing name); empty: not sent. */
    ViolationIoTTopic: z.string().default(DEFAULTS.ViolationIoTTopic),
    /** Earlier datapoints a statistical threshold needs before it is judged. */
    StatisticalMinDatapoints: numberIn(1, 100_000, { whole: true }).default(DEFAULTS.StatisticalMinDatapoints),
    /**
     * Datapoints an ML behavior's model needs before it judges (src/detect/ml/behavior.ts). 0: the
     * service's minimum period, 14 days, at the interval in force (4,032 at 300 s).
     */
    MlMinDatapoints: numberIn(0, 100_000, { whole: true }).default(DEFAULTS.MlMinDatapoints),
    /** How long the local history keeps datapoints. */
    HistoryDays: numberIn(0, 90, { minExclusive: true }).default(DEFAULTS.HistoryDays),
    /**
     * Size cap of the local history on disk. Held by column in memory it takes a fifth of that
     * (src/detect/datapoints.ts), but it is decoded line by line at start: 10 MB keeps that well
     * inside the component's 64 MB heap (the fault suite starts with a 20 MB one).
     */
    HistoryMaxBytes: numberIn(10_000, 10_000_000, { whole: true }).default(DEFAULTS.HistoryMaxBytes),
  };
});

type ConfigSchemas = ReturnType<typeof configKeys>;
export type ConfigKey = keyof ConfigSchemas;
export type ComponentConfig = { [K in ConfigKey]: z.output<ConfigSchemas[K]> };

/** The configuration with every key at its default (what a schema gives for a missing key). */
export const DEFAULT_CONFIG: ComponentConfig = DEFAULTS;
