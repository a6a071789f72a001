// The traffic a report carries (pure, on the agent's state and the ledger's carry): the deltas
// since the previous report's counters plus what earlier reports still owe.
//
// - No baseline yet: no network_stats (a since-boot total would be a spike), unless earlier
//   reports' traffic is owed.
// - The first sample is the first report's baseline even when that report cannot go (a broker
//   down at start): the traffic from then on is owed to the first report that does.
// - A reboot restarts the kernel's counters: the traffic between the last report and the last
//   sample before the reboot is still owed (to carry), and both baselines restart at zero.

import type { Traffic } from "../metrics/catalogue.js";
import { addTraffic, isZero } from "./ledger.js";
import { type Sample, trafficSince } from "./sample.js";
import { type State, baselineFor } from "./state.js";

/** network_stats for a report of `sample`, or undefined for none. */
export function reportTraffic(state: State, carry: Traffic, sample: Sample, excluded: readonly string[]): Traffic | undefined {
  const fresh = trafficSince(baselineFor(state.reportCounters, state.bootId, sample.bootId), sample, excluded);
  if (fresh) return addTraffic(fresh, carry);
  return !isZero(carry) && sample.counters ? carry : undefined;
}

/** A report could not go: its sample becomes the baseline if there is none. True when the state changed. */
export function baselineWhenBlocked(state: State, sample: Sample): boolean {
  if (state.reportCounters !== undefined || sample.counters === undefined) return false;
  state.reportCounters = sample.counters;
  return true;
}

/** A reboot since the last sample: returns the traffic still owed (to carry), and rebases the state. */
export function rebaseOnReboot(state: State, sample: Sample, excluded: readonly string[]): Traffic | undefined {
  if (state.bootId === undefined || sample.bootId === undefined || state.bootId === sample.bootId) return undefined;
  let owed: Traffic | undefined;
  if (state.reportCounters && state.sampleCounters) owed = trafficSince(state.reportCounters, { ...sample, counters: state.sampleCounters }, excluded);
  if (state.reportCounters) state.reportCounters = {};
  if (state.sampleCounters) state.sampleCounters = {};
  state.bootId = sample.bootId;
  return owed;
}
