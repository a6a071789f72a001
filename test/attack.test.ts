// Under the attack it reports: a connection storm of hundreds of thousands to a million sockets,
// with the recipe's own node flags (its heap cap included). The process completes, the totals are
// exact, the reports valid; in component mode the storm is caught against the baseline learnt
// before it, delivered, and cleared after it. Nothing here asserts on time.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ReportSchema } from "../src/report/schema.js";
import { BUNDLE } from "./bundle.js";
import { writeSocketFiles, writeSyntheticProc } from "./bench/synthetic-proc.js";
import { tempDir } from "./helpers.js";
import { type Setup, THING, recipeRun, report, setDev, setup } from "./nucleus/harness.js";

const LISTENERS = 6;

function stormRoot(n: number): string {
  const root = join(tempDir("defender-storm-"), "proc");
  mkdirSync(root, { recursive: true });
  writeSyntheticProc(root, { tcp: Math.round(n * 0.7), tcp6: n - Math.round(n * 0.7), listeners: LISTENERS });
  return root;
}

describe("collect under a connection storm, with the recipe's flags", () => {
  const { flags, env } = recipeRun();
  for (const n of [10_000, 100_000, 400_000, 1_000_000]) {
    it(`${n.toLocaleString("en")} established connections: completes, the totals exact, the report valid`, () => {
      const root = stormRoot(n);
      const r = spawnSync(process.execPath, [...flags, BUNDLE, "collect", "--proc-root", root], {
        env: { ...process.env, ...env },
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const metrics = ReportSchema.parse(JSON.parse(r.stdout)).metrics;
      const ec = metrics?.tcp_connections?.established_connections;
      assert.equal(ec?.total, n);
      assert.equal(ec.connections?.length, 100, "the report's list is cut, its total is not");
      assert.equal(metrics?.listening_tcp_ports?.total, LISTENERS);
      if (n > 10_000) assert.match(r.stderr, new RegExp(`WARN sample\\.capped what=established_connections kept=10000 total=${n} `));
    });
  }
});

describe("component mode under a connection storm, with the recipe's flags", () => {
  const setups: Setup[] = [];
  after(async () => {
    await Promise.all(setups.map((s) => s.close()));
  });

  for (const storm of [200_000, 1_000_000]) {
    it(`${storm.toLocaleString("en")} connections between two samples after a baseline of about 100: survives, alarms and delivers, reports the true total, clears after`, async () => {
      const root = join(tempDir("defender-storm-"), "proc");
      writeSyntheticProc(root, { tcp: 70, tcp6: 30, listeners: LISTENERS });
      setDev(root, [1000, 10, 1000, 10]);
      const s = await setup(
        {
          ProcRoot: root,
          StatisticalMinDatapoints: "10",
          ViolationIoTTopic: "defender/violations/{thing}",
        },
        // Long enough a second that a storm sample of a million rows fits in its interval.
        { msPerSecond: 10, reportIntervalMs: 0 },
      );
      setups.push(s);
      // The reports (violations go to IoT Core too, on their own topic).
      const reports = () => s.nucleus.publishes.filter((x) => x.topicName.includes("/defender/metrics/"));
      const p = s.start();
      // About 100 connections, a little different each sample: what the device learns is normal.
      for (let i = 0; i < 12; i++) {
        writeSocketFiles(join(root, "net"), { tcp: 66 + (i % 5) * 2, tcp6: 30, listeners: LISTENERS, peerOffset: i });
        await s.nucleus.waitFor(() => reports().length >= i + 1, 60_000, `baseline sample ${i + 1}`);
      }
      const before = reports().length;
      writeSocketFiles(join(root, "net"), { tcp: Math.round(storm * 0.7), tcp6: storm - Math.round(storm * 0.7), listeners: LISTENERS });
      // consecutiveDatapointsToAlarm is 2 for this behavior in the default profile: two storm samples.
      const inAlarm = (m: unknown) =>
        (m as { violationEventType?: string; behavior?: { name?: string } }).violationEventType === "in-alarm" &&
        (m as { behavior: { name: string } }).behavior.name === "EstablishedConnectionsWithinBaseline";
      const local = await s.nucleus.waitFor(() => s.nucleus.localPublishes.find((x) => inAlarm(x.message)), 120_000, "the alarm on the local topic");
      const event = local.message as { metricValue: { count: number } };
      assert.equal(event.metricValue.count, storm + 0, "the event carries the true count");
      await s.nucleus.waitFor(
        () => s.nucleus.cloudMessages.find((x) => x.topicName === `defender/violations/${THING}` && inAlarm(JSON.parse(x.payload.toString("utf8")))),
        120_000,
        "the alarm on IoT Core",
      );
      // Every report carries the true total: the two storm samples that made the alarm were both
      // reported (a report can follow its sample's event, and a sample in flight when the storm was
      // written reports the baseline, hence the wait and the filter on the total).
      const totals = () =>
        reports()
          .slice(before)
          .map((x) => report(x).metrics?.tcp_connections?.established_connections?.total);
      await s.nucleus.waitFor(() => totals().filter((t) => t === storm).length >= 2, 120_000, "two storm reports");
      assert.ok(
        totals().every((t) => t === storm || (t !== undefined && t < 200)),
        `a report with a wrong total: ${totals().join(",")}`,
      );
      // The storm ends: two compliant samples clear it (consecutiveDatapointsToClear 2).
      writeSocketFiles(join(root, "net"), { tcp: 70, tcp6: 30, listeners: LISTENERS });
      await p.waitForLine(/INFO violation\.alarm_cleared profile=EdgeDefault behavior=EstablishedConnectionsWithinBaseline/, 120_000);
      assert.equal(p.count(/FATAL|heap out of memory|ERROR fatal/), 0);
      assert.equal(p.child.exitCode, null, "still running");
      // The evidence survived: the baseline's datapoints are all in the history.
      const explore = spawnSync(
        process.execPath,
        [BUNDLE, "explore", "--metric", "aws:num-established-tcp-connections", "--window", "30d", "--work-dir", s.workDir],
        {
          encoding: "utf8",
        },
      );
      assert.equal(explore.status, 0, explore.stderr);
      const rows = explore.stdout.split("\n").filter((l) => /^\d{4}-\d\d-\d\dT\S+ +\d+/.test(l));
      assert.ok(rows.length >= 16, `the history kept every datapoint: ${rows.length}\n${explore.stdout}`);
    });
  }
});
