// The component's Detect (also `run`'s): judges every sample, keeps the history and the alarm
// state in the work folder, and returns the violation events for the caller to deliver.

import { existsSync } from "node:fs";
import { z } from "zod";
import type { Sample } from "../agent/sample.js";
import { effectiveIntervalSeconds } from "../config/apply.js";
import type { ComponentConfig } from "../config/schema.js";
import type { MetricValue, Traffic } from "../metrics/catalogue.js";
import { type JsonFile, type WorkDir, readIfExists } from "../store/files.js";
import { LogOnce, type Logger, errorMessage } from "../util/log.js";
import { invalidateSilent, stateKey } from "./alarms.js";
import { type MlStates, MlStateSchema, minDatapointsFor } from "./ml/behavior.js";
import { elementBreaks } from "./compliance.js";
import { SampleClock } from "./clock.js";
import { type Datapoint, datapointOfSample, withMetrics } from "./datapoint.js";
import { type AlarmStates, Baselines, type ViolationEvent, evaluate } from "./evaluate.js";
import { HISTORY_FOLDER, History, type HistoryOptions } from "./history.js";
import type { SecurityProfile } from "./profile-schema.js";
import { ProfilesInForce } from "./profiles.js";
import { type ExportBatch, exportMessages, exportPlan } from "./export.js";

/** The single-file history of version 1.0.0, adopted into the history folder. */
export const LEGACY_HISTORY_FILE = "history.ndjson";
export const DETECT_STATE_FILE = "detect.json";

/** The report lists whose entries a list behavior judges (keys as the catalogue gives them). */
const LIST_METRICS: Record<string, string> = {
  listening_tcp_ports: "aws:listening-tcp-ports",
  listening_udp_ports: "aws:listening-udp-ports",
  connections: "aws:destination-ip-addresses",
};
const RECENT_EVENTS = 200;

const MetricValueLike = z.record(z.string(), z.unknown());
const BehaviorLike = z.looseObject({ name: z.string(), metric: z.string().optional() });

export const AlarmStateSchema = z.object({
  inAlarm: z.boolean(),
  violating: z.int().min(0),
  compliant: z.int().min(0),
  behavior: BehaviorLike,
  violationId: z.string().optional(),
  violationStartTime: z.number().optional(),
  lastViolationTime: z.number().optional(),
  lastViolationValue: MetricValueLike.optional(),
  lastDatapointTime: z.number().optional(),
  excluded: z.array(z.number()).max(4096).optional(),
});

export const ViolationEventSchema = z.object({
  violationId: z.string(),
  thingName: z.string(),
  securityProfileName: z.string(),
  behavior: BehaviorLike,
  metricValue: MetricValueLike,
  metricValueCut: z.object({ kept: z.int().min(0), total: z.int().min(0) }).optional(),
  violationEventAdditionalInfo: z.object({ confidenceLevel: z.enum(["LOW", "MEDIUM", "HIGH"]) }).optional(),
  violationEventType: z.enum(["in-alarm", "alarm-cleared", "alarm-invalidated"]),
  violationEventTime: z.number(),
});

export const DetectStateSchema = z.object({
  alarms: z.record(z.string(), AlarmStateSchema),
  recent: z.array(ViolationEventSchema),
  clock: z.object({ time: z.number(), mono: z.number(), bootId: z.string().optional() }).optional(),
});

/** The ML behaviors' models and their training state, per (profile, behavior). */
export const MODELS_FILE = "models.json";
export const ModelsFileSchema = z.object({ kind: z.literal("community.greengrass.DeviceDefender/models"), behaviors: z.record(z.string(), MlStateSchema) });

export interface DetectState {
  alarms: AlarmStates;
  recent: ViolationEvent[];
  clock?: { time: number; mono: number; bootId?: string };
}

/** Metrics the history keeps: those the behaviors use, plus the profiles' metrics to retain. */
export function retainedMetrics(profiles: readonly SecurityProfile[]): Set<string> {
  const out = judgedMetrics(profiles);
  for (const p of profiles) {
    for (const m of p.additionalMetricsToRetain ?? []) out.add(m);
    for (const m of p.additionalMetricsToRetainV2 ?? []) out.add(m.metric);
  }
  return out;
}

/** Metrics the behaviors judge: what the history keeps in memory. */
export function judgedMetrics(profiles: readonly SecurityProfile[]): Set<string> {
  return new Set(profiles.flatMap((p) => (p.behaviors ?? []).flatMap((b) => (b.metric ? [b.metric] : []))));
}

export interface DetectorOptions {
  work: WorkDir;
  thingName: string;
  log: Logger;
  config: () => ComponentConfig;
  msPerSecond?: number;
  /** The largest export message the transport carries (default: the service's 128 KB). */
  exportMaxBytes?: number;
}

/** What judging one sample produced: the alarm transitions, and the metrics to export. */
export interface Judged {
  events: ViolationEvent[];
  exports: ExportBatch[];
}

export class Detector {
  private profiles: SecurityProfile[] = [];
  private retained = new Set<string>();
  private exported = new Map<string, Set<string>>();
  private readonly once: LogOnce;
  private readonly inForce = new ProfilesInForce();
  /** Per report list, the list behaviors that judge its entries (see breaks). */
  private listRules = new Map<string, Array<{ op: string; value: MetricValue }>>();
  /** Opened at the first configuration, which says what it keeps in memory. */
  private history: History | undefined;
  private readonly historyBounds: HistoryOptions;
  private readonly file: JsonFile<DetectState>;
  private readonly baselines = new Baselines();
  private readonly clock: SampleClock;
  readonly state: DetectState;
  /** The ML behaviors' models, in models.json (validated when read back, like every state file). */
  private readonly modelsFile: JsonFile<z.infer<typeof ModelsFileSchema>>;
  readonly models: MlStates;

  constructor(private readonly opts: DetectorOptions) {
    this.once = new LogOnce(opts.log);
    this.file = opts.work.json(DETECT_STATE_FILE, DetectStateSchema);
    this.state = this.file.load() ?? { alarms: {}, recent: [] };
    this.modelsFile = opts.work.json(MODELS_FILE, ModelsFileSchema);
    this.models = this.modelsFile.load()?.behaviors ?? {};
    this.clock = new SampleClock(this.state.clock, opts.msPerSecond);
    const cfg = () => opts.config();
    this.historyBounds = {
      get maxAgeMs() {
        return cfg().HistoryDays * 86_400_000;
      },
      get maxBytes() {
        return cfg().HistoryMaxBytes;
      },
    };
  }

  /** The history; memory holds the metrics the behaviors judge, the disk also those retained. */
  private historyFor(judged: ReadonlySet<string>): History {
    if (this.history !== undefined) {
      this.history.judge(judged);
      return this.history;
    }
    const { work, log } = this.opts;
    this.history = new History(work.path(HISTORY_FOLDER), this.historyBounds, false, log, work.failures, work.path(LEGACY_HISTORY_FILE), judged);
    return this.history;
  }

  /** The profiles in force for a configuration (a bad edit keeps a profile's last good version). */
  configure(config: ComponentConfig): void {
    this.profiles = this.inForce.update(config, this.opts.log);
    this.listRules = new Map();
    for (const [list, metric] of Object.entries(LIST_METRICS)) {
      const rules = this.profiles.flatMap((p) =>
        (p.behaviors ?? []).flatMap((b) => {
          const op = b.criteria?.comparisonOperator;
          return b.metric === metric && op?.endsWith("set") ? [{ op, value: b.criteria!.value ?? {} }] : [];
        }),
      );
      if (rules.length > 0) this.listRules.set(list, rules);
    }
    this.retained = retainedMetrics(this.profiles);
    this.exported = exportPlan(this.profiles);
    this.historyFor(judgedMetrics(this.profiles));
  }

  /**
   * Whether an entry of a report list breaks one of the profiles' list behaviors (a port outside an
   * in-port-set or inside a not-in-port-set, a peer outside an in-cidr-set, ...).
   */
  breaks(list: string, key: string): boolean {
    // Asked for every socket of a sample (a storm is hundreds of thousands): the list behaviors of
    // each list are found once per configuration.
    const rules = this.listRules.get(list);
    if (rules === undefined) return false;
    const element = list === "connections" ? key : Number(key);
    for (const { op, value } of rules) if (elementBreaks(op, value, element)) return true;
    return false;
  }

  /**
   * The one rule for every mode (component, standalone, `run`): each sample first ends the alarms
   * that have had no datapoint for two days, on the sample's own clock; then a sample that saw the
   * network is judged, and one that saw none (`blind`) is not (an empty sample is no datapoint).
   */
  judge(sample: Sample, traffic: Traffic | undefined): Judged {
    const expired = this.expire(this.clock.peek(sample.bootId));
    if (sample.blind) return { events: expired, exports: [] };
    const dp = this.datapointOf(sample, traffic);
    return { events: [...expired, ...this.observe(dp)], exports: this.exportsOf(dp) };
  }

  /** Judges one sample (`traffic`: since the previous sample); returns the alarm transitions. */
  observeSample(sample: Sample, traffic: Traffic | undefined): ViolationEvent[] {
    return this.observe(this.datapointOf(sample, traffic));
  }

  private datapointOf(sample: Sample, traffic: Traffic | undefined): Datapoint {
    const { time, interval } = this.clock.next(sample.bootId);
    this.state.clock = this.clock.last;
    return datapointOfSample(sample, traffic, time, interval);
  }

  /** The export messages of a datapoint (./export.ts); a list too long for one message is cut, said once. */
  private exportsOf(dp: Datapoint): ExportBatch[] {
    if (this.exported.size === 0) return [];
    const { batches, cuts } = exportMessages(this.exported, dp, this.opts.thingName, this.opts.exportMaxBytes);
    for (const c of cuts)
      this.once.say("WARN", `export-cut|${c.metric}`, "export.list_cut", {
        metric: c.metric,
        kept: c.kept,
        total: c.total,
        reason: "one metric's list is larger than an IoT Core message",
      });
    return batches;
  }

  /** Judges one datapoint; returns the alarm transitions it caused. */
  observe(full: Datapoint): ViolationEvent[] {
    const dp = withMetrics(full, this.retained);
    const history = this.history ?? this.historyFor(judgedMetrics(this.profiles));
    const config = this.opts.config();
    const { events, verdicts } = evaluate(this.profiles, history.points, dp, this.state.alarms, {
      thingName: this.opts.thingName,
      minStatisticalDatapoints: config.StatisticalMinDatapoints,
      baselines: this.baselines,
      ml: { states: this.models, minDatapoints: minDatapointsFor(config.MlMinDatapoints, effectiveIntervalSeconds(config)) },
    });
    // What each model expected, kept with the datapoint: `explore` shows the band that judged it.
    for (const v of verdicts) {
      if (v.band === undefined || v.judged === undefined) continue;
      (dp.bands ??= {})[stateKey(v.profile, v.behavior)] = [v.judged, v.band.expected, v.band.low, v.band.high];
    }
    history.append(dp);
    this.record(events);
    this.saveModels();
    return events;
  }

  /** The models of the ML behaviors in force (a removed or changed behavior's model goes). */
  private saveModels(): void {
    const live = new Set(
      this.profiles.flatMap((p) => (p.behaviors ?? []).filter((b) => b.criteria?.mlDetectionConfig).map((b) => stateKey(p.securityProfileName, b.name))),
    );
    for (const key of Object.keys(this.models)) if (!live.has(key)) Reflect.deleteProperty(this.models, key);
    if (live.size === 0 && this.modelsFile.path !== undefined && !existsSync(this.modelsFile.path)) return;
    this.modelsFile.save({ kind: "community.greengrass.DeviceDefender/models", behaviors: this.models });
  }

  /** Alarms without a datapoint for two days are invalidated, even while no sample can be judged. */
  expire(now: number = Date.now()): ViolationEvent[] {
    const events = invalidateSilent(this.state.alarms, Math.max(now, this.state.clock?.time ?? now), this.opts.thingName);
    if (events.length > 0) this.record(events);
    return events;
  }

  private record(events: ViolationEvent[]): void {
    if (events.length > 0) this.state.recent = [...this.state.recent, ...events].slice(-RECENT_EVENTS);
    this.file.save(this.state);
  }
}

/** The alarm state in a work folder, read for the commands (nothing is moved or changed). */
export function readDetectState(path: string): { state: DetectState; problem?: string } {
  const empty: DetectState = { alarms: {}, recent: [] };
  let bytes: Buffer | undefined;
  try {
    bytes = readIfExists(path);
  } catch (err) {
    return { state: empty, problem: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}` };
  }
  if (bytes === undefined) return { state: empty };
  try {
    const parsed = DetectStateSchema.safeParse(JSON.parse(bytes.toString("utf8")));
    if (parsed.success) return { state: parsed.data };
    return { state: empty, problem: `${path} is not a valid alarm state: ${parsed.error.issues[0]?.message ?? "invalid"}` };
  } catch {
    return { state: empty, problem: `${path} is not valid JSON` };
  }
}
