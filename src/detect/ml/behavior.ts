// ML behaviors (criteria.mlDetectionConfig) judged on the device: which metrics they may use,
// how each keeps its model (./model.ts), and the model's status as the service's
// GetBehaviorModelTrainingSummaries reported it (PENDING_BUILD with datapointsCollectionPercentage,
// ACTIVE with lastModelRefreshDate, EXPIRED). Pure: the states are owned and saved by the caller.
//
// The service's rules (developer guide dd-detect-ml): device-side metrics aws:all-bytes-in/out,
// aws:all-packets-in/out, aws:num-listening-tcp-ports, aws:num-listening-udp-ports,
// aws:num-established-tcp-connections, and custom metrics of type number; a model is built from
// the trailing 14 days and refreshed daily; a model that gets no datapoints for 30 days expires.

import { z } from "zod";
import { DEVICE_METRICS } from "../../metrics/catalogue.js";
import type { Datapoint } from "../datapoint.js";
import { type Series, measureAt, modeOf, timeIndex } from "../measure.js";
import { type ConfidenceLevel, type Expectation, ModelSchema, score, train } from "./model.js";

const DAY = 86_400_000;
/** ML Detect's training window, and how often a model is refreshed. */
export const TRAINING_WINDOW_MS = 14 * DAY;
export const REFRESH_MS = DAY;
/** No datapoint for this long and a model expires (the service: 30 days). */
export const EXPIRE_MS = 30 * DAY;

export const MlStateSchema = z.object({
  /** The behavior the model was built for (a changed behavior starts over). */
  behavior: z.string(),
  model: ModelSchema.optional(),
  /** Datapoints of the metric in the trailing window at the last one judged (PENDING_BUILD's progress). */
  collected: z.int().min(0),
  /** The datapoints it needs (MlMinDatapoints when it last judged one). */
  needed: z.int().min(1).optional(),
  trainingDataCollectionStartDate: z.number().optional(),
  lastDatapointTime: z.number().optional(),
});
export type MlState = z.infer<typeof MlStateSchema>;
export type MlStates = Record<string, MlState>;

export type ModelStatus =
  | { modelStatus: "PENDING_BUILD"; datapointsCollectionPercentage: number; trainingDataCollectionStartDate?: number }
  | { modelStatus: "ACTIVE"; lastModelRefreshDate: number; trainingDataCollectionStartDate?: number }
  | { modelStatus: "EXPIRED"; lastModelRefreshDate?: number; trainingDataCollectionStartDate?: number };

/** The status of a model at `now`, as GetBehaviorModelTrainingSummaries said it. */
export function modelStatus(s: MlState | undefined, now: number, minDatapoints?: number): ModelStatus {
  if (s === undefined) return { modelStatus: "PENDING_BUILD", datapointsCollectionPercentage: 0 };
  const start = s.trainingDataCollectionStartDate === undefined ? {} : { trainingDataCollectionStartDate: s.trainingDataCollectionStartDate };
  if (s.lastDatapointTime !== undefined && now - s.lastDatapointTime > EXPIRE_MS) {
    return { modelStatus: "EXPIRED", ...(s.model ? { lastModelRefreshDate: s.model.trainedAt } : {}), ...start };
  }
  if (s.model) return { modelStatus: "ACTIVE", lastModelRefreshDate: s.model.trainedAt, ...start };
  const needed = minDatapoints ?? s.needed ?? 1;
  return { modelStatus: "PENDING_BUILD", datapointsCollectionPercentage: Math.min(100, Math.floor((100 * s.collected) / Math.max(1, needed))), ...start };
}

/** MlMinDatapoints 0 means the service's minimum period, 14 days, at the interval in force. */
export function minDatapointsFor(configured: number, intervalSeconds: number): number {
  return configured > 0 ? configured : Math.ceil((14 * 86_400) / intervalSeconds);
}

export interface MlVerdict {
  outcome: "complies" | "violates" | "learning" | "no-datapoint";
  /** The datapoint's own value (the count of traffic over the sample, the count, the number). */
  measured?: { count: number } | { number: number };
  /** What the model expected, in the unit it judges (traffic as a rate per second). */
  band?: Expectation;
  /** The value the model judged, in that unit. */
  judged?: number;
  reason?: string;
}

export interface MlJudgeOptions {
  states: MlStates;
  minDatapoints: number;
}

/**
 * Judges one datapoint of an ML behavior: the model is built once the trailing window holds
 * `minDatapoints` of the metric, refreshed a day after it was built, and moved on by every
 * datapoint it scores. Traffic is judged as a rate, so a model holds across a change of interval.
 */
export function judgeMl(
  key: string,
  behavior: { metric?: string; criteria?: { mlDetectionConfig?: { confidenceLevel: ConfidenceLevel } } },
  earlier: Series,
  withCurrent: Series,
  dp: Datapoint,
  o: MlJudgeOptions,
): MlVerdict {
  const metric = behavior.metric!;
  const confidence = behavior.criteria!.mlDetectionConfig!.confidenceLevel;
  const current = dp.values[metric];
  const raw = current?.count ?? current?.number;
  if (raw === undefined) return { outcome: "no-datapoint" };
  const mode = modeOf(metric, undefined, true);
  const m = measureAt(withCurrent, earlier.length, metric, mode, undefined, false);
  if (m === undefined) return { outcome: "no-datapoint", reason: "no interval to make a rate of yet" };
  const measured = current?.count !== undefined ? { count: raw } : { number: raw };
  const signature = signatureOf(metric, confidence);
  let s = o.states[key];
  if (s === undefined || s.behavior !== signature) s = o.states[key] = { behavior: signature, collected: 0 };
  // Thirty days without a datapoint: the model expired; what comes now is learnt afresh.
  if (s.lastDatapointTime !== undefined && dp.time - s.lastDatapointTime > EXPIRE_MS) {
    s.model = undefined;
    s.trainingDataCollectionStartDate = undefined;
  }
  s.lastDatapointTime = dp.time;
  s.trainingDataCollectionStartDate ??= dp.time;
  // Datapoints in the trailing window, counting this one (14 days at 300 s are this one and the
  // 4,031 before it): counted by time, which costs nothing; read exactly only to train.
  const from = timeIndex(earlier, dp.time - TRAINING_WINDOW_MS, true);
  s.collected = earlier.length - from + 1;
  s.needed = o.minDatapoints;
  const kind = metric in DEVICE_METRICS ? "count" : "number";
  const intervalMs = (dp.interval ?? 300) * 1000;
  if ((s.model === undefined || dp.time - s.model.trainedAt >= REFRESH_MS) && s.collected >= o.minDatapoints) {
    const window = trainingWindow(earlier, from, metric, mode);
    s.collected = window.times.length + 1;
    if (s.collected >= o.minDatapoints) s.model = train(window.times, window.values, { kind, intervalMs, confidence, now: dp.time }, s.model);
  }
  if (s.model === undefined) return { outcome: "learning", measured, reason: `${s.collected} of ${o.minDatapoints} datapoints for the model` };
  const r = score(s.model, dp.time, m.compared);
  return { outcome: r.violates ? "violates" : "complies", measured, band: r.band, judged: m.compared };
}

/** What a model was built for, as models.json keeps it: made once per behavior, not per datapoint. */
const signatures = new Map<string, string>();
function signatureOf(metric: string, confidence: ConfidenceLevel): string {
  const key = `${confidence} ${metric}`;
  let s = signatures.get(key);
  if (s === undefined) signatures.set(key, (s = JSON.stringify({ metric, confidence })));
  return s;
}

/** The metric's values from index `from` on, in the unit the model judges. */
function trainingWindow(earlier: Series, from: number, metric: string, mode: ReturnType<typeof modeOf>): { times: number[]; values: number[] } {
  const times: number[] = [];
  const values: number[] = [];
  for (let i = from; i < earlier.length; i++) {
    const m = measureAt(earlier, i, metric, mode, undefined);
    if (m === undefined || !Number.isFinite(m.compared)) continue;
    times.push(earlier.timeAt(i));
    values.push(m.compared);
  }
  return { times, values };
}
