// The component's Detect: judges each delivered report, keeps the history and the alarm state
// in the work folder, and returns the violation events for the caller to publish.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Report } from "../report/schema.js";
import { writeFileAtomic } from "../state/store.js";
import { type Logger, errorMessage } from "../util/log.js";
import { type Datapoint, datapointOf } from "./datapoint.js";
import { type AlarmStates, Baselines, type ViolationEvent, evaluate } from "./evaluate.js";
import { History, type HistoryOptions } from "./history.js";
import type { SecurityProfile } from "./profile.js";

export const HISTORY_FILE = "history.ndjson";
export const DETECT_STATE_FILE = "detect.json";
const RECENT_EVENTS = 200;

export interface DetectState {
  alarms: AlarmStates;
  recent: ViolationEvent[];
}

export function loadDetectState(path: string | undefined): DetectState {
  if (path === undefined || !existsSync(path)) return { alarms: {}, recent: [] };
  try {
    const s = JSON.parse(readFileSync(path, "utf8")) as DetectState;
    return { alarms: s.alarms ?? {}, recent: s.recent ?? [] };
  } catch {
    return { alarms: {}, recent: [] };
  }
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
  private readonly statePath: string | undefined;
  private readonly baselines = new Baselines();
  readonly state: DetectState;

  constructor(
    private readonly opts: { workDir?: string; thingName: string; log: Logger; minStatisticalDatapoints: () => number; history: HistoryOptions },
  ) {
    this.statePath = opts.workDir === undefined ? undefined : join(opts.workDir, DETECT_STATE_FILE);
    this.state = loadDetectState(this.statePath);
    this.history = new History(opts.workDir === undefined ? undefined : join(opts.workDir, HISTORY_FILE), opts.history);
    if (this.history.dropped > 0) opts.log.warn("history.lines_dropped", { count: this.history.dropped, reason: "torn or unreadable lines" });
  }

  configure(profiles: SecurityProfile[]): void {
    this.profiles = profiles;
    this.retained = retainedMetrics(profiles);
  }

  /** Judges one report; returns the alarm transitions it caused. */
  observe(report: Report): ViolationEvent[] {
    const full = datapointOf(report);
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
    if (this.statePath === undefined) return;
    try {
      writeFileAtomic(this.statePath, JSON.stringify(this.state));
    } catch (err) {
      this.opts.log.error("detect.state_save_failed", { reason: errorMessage(err) });
    }
  }
}
