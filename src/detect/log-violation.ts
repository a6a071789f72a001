// One log line per violation event (component mode and `run`).

import type { Logger } from "../util/log.js";
import type { ViolationEvent } from "./alarms.js";

export function logViolation(log: Logger, e: ViolationEvent): void {
  const fields = {
    profile: e.securityProfileName,
    behavior: e.behavior.name,
    metric: e.behavior.metric,
    value: JSON.stringify(e.metricValue),
    value_cut: e.metricValueCut ? `${e.metricValueCut.kept} of ${e.metricValueCut.total}` : undefined,
    violation_id: e.violationId,
    time: new Date(e.violationEventTime).toISOString(),
    // Not sent to ViolationIoTTopic (the alert path): see src/outbox/violation-outbox.ts.
    suppressed: e.behavior.suppressAlerts === true ? true : undefined,
  };
  if (e.violationEventType === "in-alarm") log.warn("violation.in_alarm", fields);
  else log.info(e.violationEventType === "alarm-cleared" ? "violation.alarm_cleared" : "violation.alarm_invalidated", fields);
}
