// The alarm state machine, one per (profile, behavior), and the violation events it emits, shaped
// like the service's ViolationEvent (API ListViolationEvents). N violating datapoints in a row
// raise an alarm, M compliant ones clear it (API BehaviorCriteria consecutiveDatapointsToAlarm /
// ToClear, 1-10, default 1). "If the device doesn't publish any metrics for more than two days,
// the violation event is set to alarm-invalidated automatically" (developer guide,
// device-defender-troubleshoot); a behavior that is removed or changed ends the same way.

import { createHash } from "node:crypto";
import type { MetricValue } from "../metrics/catalogue.js";
import type { Behavior, SecurityProfile } from "./profile-schema.js";

export type ViolationEventType = "in-alarm" | "alarm-cleared" | "alarm-invalidated";

export interface ViolationEvent {
  violationId: string;
  thingName: string;
  securityProfileName: string;
  behavior: Behavior;
  metricValue: MetricValue;
  /** Not the service's: a list metricValue cut to EVENT_LIST_MAX elements, and how many there were. */
  metricValueCut?: { kept: number; total: number };
  /** For an ML behavior, as the service's ViolationEvent: the confidence level it alarmed at. */
  violationEventAdditionalInfo?: { confidenceLevel: "LOW" | "MEDIUM" | "HIGH" };
  violationEventType: ViolationEventType;
  /** Epoch ms: the time of the sample that caused the transition. */
  violationEventTime: number;
}

export interface AlarmState {
  inAlarm: boolean;
  violating: number;
  compliant: number;
  behavior: Behavior;
  violationId?: string;
  violationStartTime?: number;
  lastViolationTime?: number;
  lastViolationValue?: MetricValue;
  /** Time of the last datapoint this behavior was judged on. */
  lastDatapointTime?: number;
  /** Times of the datapoints a statistical behavior judged violating: left out of its baseline (evaluate.ts). */
  excluded?: number[];
}

export type AlarmStates = Record<string, AlarmState>;

/** Two days without a datapoint invalidate an alarm. */
export const INVALIDATE_AFTER_MS = 2 * 86_400_000;

export const stateKey = (profile: string, behavior: string) => `${profile}/${behavior}`;

const profileOf = (key: string) => key.slice(0, key.indexOf("/"));

function invalidated(key: string, s: AlarmState, time: number, thingName: string): ViolationEvent {
  return {
    violationId: s.violationId!,
    thingName,
    securityProfileName: profileOf(key),
    behavior: s.behavior,
    metricValue: s.lastViolationValue ?? {},
    ...(s.behavior.criteria?.mlDetectionConfig
      ? { violationEventAdditionalInfo: { confidenceLevel: s.behavior.criteria.mlDetectionConfig.confidenceLevel } }
      : {}),
    violationEventType: "alarm-invalidated",
    violationEventTime: time,
  };
}

/** A behavior's JSON, once per object (the same behaviors are compared at every datapoint). */
const jsonOf = (() => {
  const seen = new WeakMap<object, string>();
  return (b: Behavior): string => {
    let text = seen.get(b);
    if (text === undefined) seen.set(b, (text = JSON.stringify(b)));
    return text;
  };
})();

/** A behavior or profile that was removed or changed while in alarm ends as alarm-invalidated. */
export function invalidateRemoved(profiles: readonly SecurityProfile[], states: AlarmStates, time: number, thingName: string): ViolationEvent[] {
  const live = new Map<string, Behavior>();
  for (const p of profiles) for (const b of p.behaviors ?? []) live.set(stateKey(p.securityProfileName, b.name), b);
  const events: ViolationEvent[] = [];
  for (const [key, s] of Object.entries(states)) {
    const current = live.get(key);
    if (current !== undefined && (current === s.behavior || jsonOf(current) === jsonOf(s.behavior))) continue;
    if (s.inAlarm) events.push(invalidated(key, s, time, thingName));
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- states is the plain JSON object persisted as the Detect state file
    delete states[key]; // a changed behavior starts over
  }
  return events;
}

/**
 * Alarms whose behavior has had no datapoint for two days are invalidated (at the moment the two
 * days passed); the next datapoint starts a new episode, rather than clearing a stale one.
 */
export function invalidateSilent(states: AlarmStates, now: number, thingName: string): ViolationEvent[] {
  const events: ViolationEvent[] = [];
  for (const [key, s] of Object.entries(states)) {
    if (!s.inAlarm || s.lastDatapointTime === undefined || now - s.lastDatapointTime <= INVALIDATE_AFTER_MS) continue;
    events.push(invalidated(key, s, s.lastDatapointTime + INVALIDATE_AFTER_MS, thingName));
    Object.assign(s, { inAlarm: false, violating: 0, compliant: 0, violationId: undefined, violationStartTime: undefined });
  }
  return events;
}

/** One datapoint's verdict for one behavior: the transition it causes, if any. */
export function step(
  profile: string,
  b: Behavior,
  violating: boolean,
  measured: MetricValue,
  time: number,
  states: AlarmStates,
  thingName: string,
  measuredCut?: { kept: number; total: number },
): ViolationEvent | undefined {
  const key = stateKey(profile, b.name);
  const s = (states[key] ??= { inAlarm: false, violating: 0, compliant: 0, behavior: b });
  s.lastDatapointTime = time;
  const toAlarm = b.criteria?.consecutiveDatapointsToAlarm ?? 1;
  const toClear = b.criteria?.consecutiveDatapointsToClear ?? 1;
  const event = (type: ViolationEventType): ViolationEvent => ({
    violationId: s.violationId!,
    thingName,
    securityProfileName: profile,
    behavior: b,
    metricValue: measured,
    ...(measuredCut === undefined ? {} : { metricValueCut: measuredCut }),
    ...(b.criteria?.mlDetectionConfig ? { violationEventAdditionalInfo: { confidenceLevel: b.criteria.mlDetectionConfig.confidenceLevel } } : {}),
    violationEventType: type,
    violationEventTime: time,
  });
  if (violating) {
    s.compliant = 0;
    s.violating++;
    s.lastViolationTime = time;
    s.lastViolationValue = measured;
    if (!s.inAlarm && s.violating >= toAlarm) {
      s.inAlarm = true;
      s.violationStartTime = time;
      // One id per alarm episode (32 hex characters, like the service's).
      s.violationId = createHash("sha256").update(`${thingName}\n${profile}\n${b.name}\n${time}`).digest("hex").slice(0, 32);
      return event("in-alarm");
    }
    return undefined;
  }
  s.violating = 0;
  if (!s.inAlarm) return undefined;
  s.compliant++;
  if (s.compliant < toClear) return undefined;
  const cleared = event("alarm-cleared");
  Object.assign(s, { inAlarm: false, compliant: 0, violationId: undefined, violationStartTime: undefined });
  return cleared;
}
