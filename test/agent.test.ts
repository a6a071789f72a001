// The agent's parts, each on its own: the schedule (never early, long waits chained), the report
// gate, the first sample's wait, the ledger's log lines, and the agent itself over a channel
// that is only a list (no transport): reports built from a real proc root, answers settled,
// traffic carried across a sample with nobody to take it.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Agent, type ReportChannel } from "../src/agent/agent.js";
import { logLedgerNotes } from "../src/agent/ledger-log.js";
import { emptyLedger } from "../src/agent/ledger.js";
import { reportBlocked } from "../src/agent/report-gate.js";
import { type Clock, Schedule, firstSampleWait } from "../src/agent/schedule.js";
import { DEFAULT_CONFIG } from "../src/config/schema.js";
import type { ProducedReport } from "../src/report/build.js";
import { WorkDir } from "../src/store/files.js";
import { copyFixture, recordingLogger, tempDir } from "./helpers.js";
import { setDev } from "./nucleus/harness.js";

/** A clock whose time and timers move only when the test says. */
function fakeClock() {
  let now = 1000;
  const timers: Array<{ fn: () => void; at: number; ms: number; live: boolean }> = [];
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { fn, at: now + ms, ms, live: true };
      timers.push(t);
      return t;
    },
    clearTimeout: (h) => {
      (h as { live: boolean }).live = false;
    },
  };
  /** Moves time to `to` and fires what is due, in order. */
  const advance = (to: number) => {
    now = to;
    for (const t of timers) {
      if (t.live && t.at <= to) {
        t.live = false;
        t.fn();
      }
    }
  };
  return { clock, timers, advance, set: (t: number) => void (now = t) };
}

describe("Schedule", () => {
  it("fires at its time, once", () => {
    const c = fakeClock();
    let fired = 0;
    const s = new Schedule(() => fired++, c.clock);
    s.at(1500);
    assert.equal(c.timers[0]!.ms, 500);
    c.advance(1499);
    assert.equal(fired, 0);
    c.advance(1500);
    assert.equal(fired, 1);
    assert.equal(s.armed, false);
  });

  it("a timer that fires early is re-armed for the rest: never a sample before its time", () => {
    const c = fakeClock();
    let fired = 0;
    const s = new Schedule(() => fired++, c.clock);
    s.at(2000);
    c.set(1999.4); // the loop's clock said 2000
    c.timers[0]!.live = false;
    c.timers[0]!.fn();
    assert.equal(fired, 0);
    assert.ok(s.armed);
    c.advance(2000);
    assert.equal(fired, 1);
  });

  it("chains a wait longer than Node's timers can hold (2^31 - 1 ms)", () => {
    const c = fakeClock();
    let fired = 0;
    const s = new Schedule(() => fired++, c.clock);
    s.at(1000 + 3e9);
    assert.equal(c.timers[0]!.ms, 2 ** 31 - 1);
    c.advance(1000 + 2 ** 31 - 1);
    assert.equal(fired, 0, "the first link of the chain is not the time yet");
    assert.equal(c.timers[1]!.ms, 3e9 - (2 ** 31 - 1));
    c.advance(1000 + 3e9);
    assert.equal(fired, 1);
  });

  it("re-arming replaces the tick; after stop nothing fires", () => {
    const c = fakeClock();
    let fired = 0;
    const s = new Schedule(() => fired++, c.clock);
    s.at(1500);
    s.at(1200);
    c.advance(1600);
    assert.equal(fired, 1, "one tick, not two");
    s.at(1700);
    s.stop();
    s.at(1800);
    c.advance(5000);
    assert.equal(fired, 1);
  });
});

describe("firstSampleWait", () => {
  it("waits out the rest of an interval after a restart, never more than one, nothing the first time", () => {
    assert.equal(firstSampleWait(undefined, 10_000, 300_000), 0);
    assert.equal(firstSampleWait(10_000 - 100_000, 10_000, 300_000), 200_000);
    assert.equal(firstSampleWait(10_000 - 900_000, 10_000, 300_000), 0);
    assert.equal(firstSampleWait(10_000 + 5_000_000, 10_000, 300_000), 300_000, "a clock stepped back waits one interval, not the step");
  });
});

describe("reportBlocked", () => {
  const open = { holder: "nucleus-1", offline: "not connected", sinceLastMs: Infinity, floorMs: 300_000, now: 1_000_000, notBefore: 0, awaited: undefined };

  it("lets a report go when nothing holds it back", () => {
    assert.equal(reportBlocked(open), undefined);
  });

  it("names the first reason that holds it back", () => {
    assert.equal(reportBlocked({ ...open, holder: undefined, sinceLastMs: 0 }), "not connected");
    assert.equal(reportBlocked({ ...open, sinceLastMs: 290_000 }), "less than the minimum interval since the last report");
    assert.equal(reportBlocked({ ...open, sinceLastMs: 295_000 }), undefined, "within 2% of the floor is on time (timers count whole ms)");
    assert.equal(reportBlocked({ ...open, notBefore: 1_000_001 }), "the service needs a full interval after its last answer");
    assert.equal(reportBlocked({ ...open, awaited: { reportId: 42 } }), "waiting for the service's answer to report 42");
  });
});

describe("logLedgerNotes", () => {
  it("says what a person needs to hear, and nothing for the ordinary outcome", () => {
    const log = recordingLogger();
    const totals = { ...emptyLedger().totals, presumedLost: 3 };
    const traffic = { bytes_in: 1, bytes_out: 2, packets_in: 3, packets_out: 4 };
    logLedgerNotes(
      log,
      [
        { kind: "accepted", reportId: 1 },
        { kind: "rejected", reportId: 2 },
        { kind: "rejected", reportId: 3, carried: traffic },
        { kind: "presumed_lost", reportId: 4, carried: traffic, reason: "the nucleus restarted" },
      ],
      totals,
    );
    assert.deepEqual(log.lines, [
      `INFO report.traffic_carried report_id=3 reason=rejected traffic=${JSON.stringify(traffic)}`,
      `WARN report.presumed_lost report_id=4 reason=the nucleus restarted traffic=${JSON.stringify(traffic)} presumed_lost_total=3`,
    ]);
  });
});

describe("Agent over a channel that is a list", () => {
  function setUp() {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 2000, 20]);
    const log = recordingLogger();
    const work = new WorkDir(tempDir(), log);
    const published: ProducedReport[] = [];
    let holder: string | undefined = "holder-1";
    const channel: ReportChannel = {
      holder: () => holder,
      offline: "nobody takes reports in this test",
      publish(report) {
        published.push(report);
        return Promise.resolve();
      },
    };
    // A configured second lasts 1 µs: the 10 s floor is 10 µs of the test clock.
    // Its schedule never fires by itself: the test takes each sample (tick), a minute apart.
    const time = fakeClock();
    const agent = new Agent({ channel, log, work, minIntervalSeconds: () => 10, msPerSecond: 0.001, clock: time.clock });
    let t = 1000;
    const tick = () => {
      time.set((t += 60_000));
      return agent.tick();
    };
    agent.start({ ...DEFAULT_CONFIG, ProcRoot: root, SampleIntervalSeconds: 86_400, DefaultProfile: false });
    return { root, log, work, published, agent, tick, setHolder: (h: string | undefined) => void (holder = h) };
  }

  it("hands a report over each tick, records it ahead, and settles it by its answer", async () => {
    const { published, agent, work, tick } = setUp();
    await tick();
    assert.equal(published.length, 1);
    const first = published[0]!.report;
    assert.equal(first.metrics?.network_stats, undefined, "no baseline yet: no network_stats");
    const saved = JSON.parse(readFileSync(join(work.dir!, "state.json"), "utf8")) as { ledger: { outstanding: Array<{ reportId: unknown }> } };
    assert.equal(saved.ledger.outstanding[0]!.reportId, first.header.report_id, "written ahead of the publish");
    agent.answer(first.header.report_id, true);
    assert.equal(agent.totals.accepted, 1);
    assert.deepEqual(agent.currentState.ledger.outstanding, []);
    await agent.stop();
  });

  it("a sample with nobody to take the report carries its traffic to the next report", async () => {
    const { root, log, published, agent, tick, setHolder } = setUp();
    await tick();
    agent.answer(published[0]!.report.header.report_id, true);
    setDev(root, [1500, 15, 2600, 26]);
    setHolder(undefined);
    await tick();
    assert.equal(published.length, 1, "nothing handed over");
    assert.ok(log.lines.includes("WARN report.not_delivered reason=nobody takes reports in this test carried_to_next=yes"), log.lines.join("\n"));
    setDev(root, [1700, 17, 2900, 29]);
    setHolder("holder-1");
    await tick();
    assert.equal(published.length, 2);
    assert.deepEqual(published[1]!.report.metrics?.network_stats, { bytes_in: 700, bytes_out: 900, packets_in: 7, packets_out: 9 });
    await agent.stop();
  });
});
