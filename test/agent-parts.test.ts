// The parts the agent is made of, each on its own: which list entries are kept first, and the
// traffic a report carries (baseline, carry, a broker down at start, a reboot), and the
// standalone transport's reconnection backoff.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ListRank } from "../src/agent/list-rank.js";
import { ZERO_TRAFFIC } from "../src/agent/ledger.js";
import { baselineWhenBlocked, rebaseOnReboot, reportTraffic } from "../src/agent/report-traffic.js";
import type { Sample } from "../src/agent/sample.js";
import { initialState } from "../src/agent/state.js";
import { countersOf } from "../src/collect/counters.js";
import type { Snapshot } from "../src/collect/snapshot.js";
import { reconnectDelay } from "../src/mqtt/connection.js";

describe("ListRank", () => {
  it("keeps first what breaks a list behavior, then what is new since the previous report, then the rest", () => {
    const lists = new ListRank((list, key) => list === "ports" && key === "23");
    assert.equal(lists.rank("ports", "23"), 0);
    assert.equal(lists.rank("ports", "22"), 2, "before any report nothing is new");
    lists.reported(new Map([["ports", new Set(["22"])]]));
    assert.deepEqual(
      ["22", "80", "23"].map((k) => lists.rank("ports", k)),
      [2, 1, 0],
    );
    assert.equal(lists.rank("connections", "10.0.0.1:443"), 2, "a list the last report did not have: nothing is new");
  });

  it("without list behaviors only newness counts", () => {
    const lists = new ListRank();
    lists.reported(new Map([["ports", new Set(["22"])]]));
    assert.deepEqual(
      ["22", "23"].map((k) => lists.rank("ports", k)),
      [2, 1],
    );
  });
});

describe("the traffic a report carries", () => {
  const sample = (bytes: number, bootId = "boot-1"): Sample => {
    const counters = countersOf([{ name: "eth0", rxBytes: bytes, rxPackets: bytes / 100, txBytes: 2 * bytes, txPackets: bytes / 50 }]);
    const snapshot: Snapshot = { skippedLines: {}, failures: {}, interface_counters: counters };
    return { takenAt: 0, bootId, snapshot, counters, customMetrics: {} };
  };
  const carry = { bytes_in: 5, bytes_out: 6, packets_in: 1, packets_out: 1 };

  it("no baseline: no network_stats, unless earlier reports' traffic is owed", () => {
    const state = initialState();
    assert.equal(reportTraffic(state, ZERO_TRAFFIC, sample(1000), []), undefined);
    assert.deepEqual(reportTraffic(state, carry, sample(1000), []), carry);
  });

  it("with a baseline: the deltas since it, plus the carry", () => {
    const state = { ...initialState(), bootId: "boot-1", reportCounters: sample(1000).counters };
    assert.deepEqual(reportTraffic(state, carry, sample(1500), []), { bytes_in: 505, bytes_out: 1006, packets_in: 6, packets_out: 11 });
  });

  it("a report that cannot go makes its sample the baseline once, so the outage's traffic is owed", () => {
    const state = initialState();
    assert.equal(baselineWhenBlocked(state, sample(1000)), true);
    assert.equal(baselineWhenBlocked(state, sample(1200)), false, "the first stays the baseline");
    assert.deepEqual(reportTraffic(state, ZERO_TRAFFIC, sample(1700), []), { bytes_in: 700, bytes_out: 1400, packets_in: 7, packets_out: 14 });
  });

  it("a reboot: what the last report had not carried is owed, and both baselines restart at zero", () => {
    const state = { ...initialState(), bootId: "boot-1", reportCounters: sample(1000).counters, sampleCounters: sample(1800).counters };
    const owed = rebaseOnReboot(state, sample(300, "boot-2"), []);
    assert.deepEqual(owed, { bytes_in: 800, bytes_out: 1600, packets_in: 8, packets_out: 16 });
    assert.equal(state.bootId, "boot-2");
    assert.deepEqual(reportTraffic(state, ZERO_TRAFFIC, sample(300, "boot-2"), []), { bytes_in: 300, bytes_out: 600, packets_in: 3, packets_out: 6 });
    assert.equal(rebaseOnReboot(state, sample(400, "boot-2"), []), undefined, "the same boot: nothing to rebase");
  });
});

describe("the reconnection backoff", () => {
  const backoff = { initialMs: 1000, maxMs: 120_000, stableMs: 60_000 };
  it("doubles from 1 s to a cap of 2 minutes, each wait between half and all of its step", () => {
    const steps = [1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 120_000, 120_000];
    steps.forEach((step, attempt) => {
      assert.equal(reconnectDelay(backoff, attempt, 0), step / 2, `attempt ${attempt}: the least`);
      assert.equal(reconnectDelay(backoff, attempt, 0.999999), step, `attempt ${attempt}: the most`);
    });
  });

  it("spreads a fleet: waits for one attempt take the whole range, not one value", () => {
    const waits = new Set(Array.from({ length: 100 }, (_, i) => reconnectDelay(backoff, 3, i / 100)));
    assert.equal(waits.size, 100);
    assert.ok(Math.min(...waits) >= 4000 && Math.max(...waits) <= 8000);
  });
});
