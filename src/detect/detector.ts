// The component's Detect: judges each sample's datapoint, keeps the history and the alarm state
// in the work folder, and returns the violation events for the caller to deliver.

import { z } from "zod";
import { type JsonFile, type WorkDir, readIfExists } from "../store/files.js";
import { type Logger, errorMessage } from "../util/log.js";
import type { Datapoint } from "./datapoint.js";
import { type AlarmStates, Baselines, type ViolationEvent, evaluate } from "./evaluate.js";
import { History, type HistoryOptions } from "./history.js";
import type { SecurityProfile } from "./profile-schema.js";

export const HISTORY_FILE = "history.ndjson";
export const DETECT_STATE_FILE = "detect.json";
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
});

export const ViolationEventSchema = z.object({
  violationId: z.string(),
  thingName: z.string(),
  securityProfileName: z.string(),
  behavior: BehaviorLike,
  metricValue: MetricValueLike,
  violationEventType: z.enum(["in-alarm", "alarm-cleared", "alarm-invalidated"]),
  violationEventTime: z.number(),
});

export const DetectStateSchema = z.object({
  alarms: z.record(z.string(), AlarmStateSchema),
  recent: z.array(ViolationEventSchema),
});

export interface DetectState {
  alarms: AlarmStates;
  recent: ViolationEvent[];
}

export function detectStateFile(work: WorkDir): JsonFile<DetectState> {
  return work.json(DETECT_STATE_FILE, DetectStateSchema) as unknown as JsonFile<DetectState>;
}

/** Metrics the history keeps: those the behaviors use, plus the profiles' metrics to retain. */
export function retainedMetrics(profiles: readonly SecurityProfile[]): Set<string> {
  const out = new Set<string>();
  for (const p of profiles) {
    for (const b of p.behaviors ?? []) if (b.metric) out.add(b.metric);
    for (const m of p.additionalMetricsToRetain ?? []) out.add(m);
    for (const m of p.additionalMetricsToRetainV2 ?? []) out.add(m.metric);
  }
  return out;
}

export class Detector {
  private profiles: SecurityProfile[] = [];
  private retained = new Set<string>();
  private readonly history: History;
  private readonly file: JsonFile<DetectState>;
  private readonly baselines = new Baselines();
  readonly state: DetectState;

  constructor(
    private readonly opts: { work: WorkDir; thingName: string; log: Logger; minStatisticalDatapoints: () => number; history: HistoryOptions },
  ) {
    this.file = detectStateFile(opts.work);
    this.state = this.file.load() ?? { alarms: {}, recent: [] };
    this.history = new History(opts.work.path(HISTORY_FILE), opts.history);
    if (this.history.dropped > 0) opts.log.warn("history.lines_dropped", { count: this.history.dropped, reason: "torn or unreadable lines" });
  }

  configure(profiles: SecurityProfile[]): void {
    this.profiles = profiles;
    this.retained = retainedMetrics(profiles);
  }

  /** Judges one datapoint; returns the alarm transitions it caused. */
  observe(full: Datapoint): ViolationEvent[] {
    const dp: Datapoint = { time: full.time, values: Object.fromEntries(Object.entries(full.values).filter(([m]) => this.retained.has(m))) };
    const { events } = evaluate(this.profiles, this.history.datapoints, dp, this.state.alarms, {
      thingName: this.opts.thingName,
      minStatisticalDatapoints: this.opts.minStatisticalDatapoints(),
      baselines: this.baselines,
    });
    try {
      this.history.append(dp);
    } catch (err) {
      this.opts.log.error("history.write_failed", { reason: errorMessage(err) });
    }
    if (events.length > 0) this.state.recent = [...this.state.recent, ...events].slice(-RECENT_EVENTS);
    this.persist();
    return events;
  }

  persist(): void {
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
    if (parsed.success) return { state: parsed.data as unknown as DetectState };
    return { state: empty, problem: `${path} is not a valid alarm state: ${parsed.error.issues[0]?.message ?? "invalid"}` };
  } catch {
    return { state: empty, problem: `${path} is not valid JSON` };
  }
}
