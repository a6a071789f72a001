// Whether a report may go now, and why not: pure, from what the agent knows at the sample.
// The service throttles reports closer than its floor (developer guide, "Sending metrics from
// devices": at most one report every 5 minutes), so the gate keeps that floor between two
// reports, waits a full floor after a throttled or late answer, and holds the next report
// while the last one's answer is awaited (up to a bound).

export interface GateInput {
  /** Who takes reports now (Transport.holder), undefined when nothing does. */
  holder: string | undefined;
  /** What to say when nothing takes reports. */
  offline: string;
  /** ms since the last report went (Infinity: none yet). */
  sinceLastMs: number;
  /** The service's floor between two reports, in ms. */
  floorMs: number;
  now: number;
  /** Epoch ms before which no report may go (after a throttled or late answer). */
  notBefore: number;
  /** The report whose answer is still awaited, if any. */
  awaited: { reportId: number } | undefined;
}

/** Timers count whole milliseconds of a cached loop clock: a report 2% early is on time. */
const FLOOR_SLACK = 0.98;

export function reportBlocked(g: GateInput): string | undefined {
  if (g.holder === undefined) return g.offline;
  if (g.sinceLastMs < g.floorMs * FLOOR_SLACK) return "less than the minimum interval since the last report";
  if (g.now < g.notBefore) return "the service needs a full interval after its last answer";
  if (g.awaited) return `waiting for the service's answer to report ${g.awaited.reportId}`;
  return undefined;
}
