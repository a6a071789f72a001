// End to end, under the nucleus's delivery semantics (see test/nucleus/mqtt.ts): the traffic of
// every interval reaches exactly one accepted report, or its loss is counted and logged; violation
// events are never dropped; exactly one answer stream per topic. The assertions are on what the
// service accepted (the double plays it), never on elapsed time.

import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { copyFixture } from "./helpers.js";
import { type Setup, type SetupOptions, THING, report, setDev, setup } from "./nucleus/harness.js";

const setups: Setup[] = [];
async function start(config: Record<string, unknown>, opts: SetupOptions = {}) {
  const s = await setup(config, opts);
  setups.push(s);
  return s;
}
after(async () => {
  await Promise.all(setups.map((s) => s.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const accepted = (s: Setup) => s.nucleus.service.reports.filter((r) => r.outcome === "accepted");
const traffic = (from: number[], to: number[]) => ({
  bytes_in: to[0]! - from[0]!,
  packets_in: to[1]! - from[1]!,
  bytes_out: to[2]! - from[2]!,
  packets_out: to[3]! - from[3]!,
});
const sameTraffic = (a: Record<string, number>, b: Record<string, number>) =>
  ["bytes_in", "bytes_out", "packets_in", "packets_out"].every((k) => a[k] === b[k]);

/** Waits until the service has accepted exactly `expected` in total (it must never exceed it). */
async function settles(s: Setup, expected: Record<string, number>, label: string) {
  await s.nucleus.waitFor(
    () => sameTraffic(s.nucleus.service.acceptedTraffic(), expected),
    60_000,
    `${label}: accepted traffic ${JSON.stringify(expected)}, have ${JSON.stringify(s.nucleus.service.acceptedTraffic())}`,
  );
  // A few more intervals: nothing is counted twice later.
  const n = accepted(s).length;
  await s.nucleus.waitFor(() => accepted(s).length >= n + 2, 60_000, "two more accepted reports");
  assert.deepEqual(s.nucleus.service.acceptedTraffic(), expected, `${label}: still exactly once`);
}

describe("exact traffic accounting under the spooler's semantics", { concurrency: 3 }, () => {
  it("a one-hour outage of the core's MQTT connection: one report waits in the spool, the next covers the outage", async () => {
    const root = copyFixture("tricky");
    const A = [1000, 10, 2000, 20];
    setDev(root, A as never);
    const s = await start({ ProcRoot: root }, { msPerSecond: 2 });
    const p = s.start();
    await p.waitForLine(/INFO report\.accepted/);
    s.nucleus.setOnline(false);
    setDev(root, [1500, 15, 2500, 25]);
    await s.nucleus.waitFor(() => s.nucleus.publishes.length >= 2, 30_000, "a report into the spool");
    await sleep(1800 * s.msPerSecond);
    setDev(root, [5000, 50, 9000, 90]);
    await sleep(1800 * s.msPerSecond);
    const spooledDuringOutage = s.nucleus.publishes.length - 1;
    s.nucleus.setOnline(true);
    const D = [6000, 60, 9900, 99];
    setDev(root, D as never);
    await settles(s, traffic(A, D), "after the outage");
    assert.equal(spooledDuringOutage, 1, "reports wait for the answer to the one in the spool instead of piling up");
    assert.deepEqual(
      s.nucleus.service.reports.filter((r) => r.outcome === "rejected"),
      [],
      "nothing throttled",
    );
  });

  it("a nucleus restart with a report in its spool: the report is presumed lost and its traffic carried", async () => {
    const root = copyFixture("tricky");
    const A = [1000, 10, 2000, 20];
    setDev(root, A as never);
    const s = await start({ ProcRoot: root });
    const p = s.start();
    await p.waitForLine(/INFO report\.accepted/);
    s.nucleus.setOnline(false);
    setDev(root, [1700, 17, 2700, 27]);
    const spooled = await s.nucleus.waitFor(() => s.nucleus.publishes[1], 30_000, "a report into the spool");
    assert.equal(await s.nucleus.restart(), 1, "the restart lost one spooled message");
    s.nucleus.setOnline(true);
    const C = [3000, 30, 4000, 40];
    setDev(root, C as never);
    await p.waitForLine(
      new RegExp(
        `WARN report\\.presumed_lost report_id=${report(spooled).header.report_id} reason="the nucleus restarted before answering; its spool is lost"`,
      ),
    );
    await settles(s, traffic(A, C), "after the nucleus restart");
  });

  it("a restart mid-outage, then a burst flush with throttling: the throttled report's traffic goes to the next one", async () => {
    const root = copyFixture("tricky");
    const A = [1000, 10, 2000, 20];
    setDev(root, A as never);
    const s = await start({ ProcRoot: root });
    const a = s.start();
    await a.waitForLine(/INFO report\.accepted/);
    s.nucleus.setOnline(false);
    setDev(root, [1200, 12, 2200, 22]);
    await s.nucleus.waitFor(() => s.nucleus.publishes[1], 30_000, "report 2 into the spool");
    a.child.kill("SIGTERM");
    assert.equal((await a.exited).code, 0);
    setDev(root, [1900, 19, 2900, 29]);
    const b = s.start();
    // Its answer may have been missed, so the restarted component does not wait for it.
    await s.nucleus.waitFor(() => s.nucleus.publishes[2], 30_000, "report 3 into the spool");
    s.nucleus.setOnline(true);
    const D = [4000, 40, 8000, 80];
    setDev(root, D as never);
    await s.nucleus.waitFor(() => s.nucleus.service.reports.some((r) => r.code === "Throttled"), 30_000, "the flushed burst throttled");
    await b.waitForLine(/INFO report\.traffic_carried report_id=\d+ reason=rejected/);
    await settles(s, traffic(A, D), "after the burst");
  });

  it("SIGTERM during a publish: the report was written ahead, its answer came while the component was down, it is counted once", async () => {
    const root = copyFixture("tricky");
    const A = [1000, 10, 2000, 20];
    setDev(root, A as never);
    const s = await start({ ProcRoot: root });
    const a = s.start();
    await a.waitForLine(/INFO report\.accepted/);
    s.nucleus.setOnline(false);
    s.nucleus.holdPublishResponses = true;
    setDev(root, [1400, 14, 2600, 26]);
    const inFlight = await s.nucleus.waitFor(() => s.nucleus.publishes[1], 30_000, "report 2 handed to the nucleus");
    a.child.kill("SIGTERM");
    assert.equal((await a.exited).code, 0);
    const state = JSON.parse(readFileSync(join(s.workDir, "state.json"), "utf8")) as {
      reportId: unknown;
      ledger: { outstanding: Array<{ reportId: unknown }> };
    };
    const id2 = report(inFlight).header.report_id;
    assert.equal(state.reportId, id2, "written ahead of the publish");
    assert.equal(state.ledger.outstanding[0]!.reportId, id2);
    // The report reaches the service and is accepted while nobody listens.
    s.nucleus.setOnline(true);
    await s.nucleus.waitFor(() => s.nucleus.service.reports.some((r) => r.reportId === id2 && r.outcome === "accepted"), 30_000, "report 2 accepted");
    s.nucleus.releaseHeld();
    const C = [2000, 20, 3000, 30];
    setDev(root, C as never);
    const b = s.start();
    await b.waitForLine(
      new RegExp(
        `WARN report\\.unconfirmed report_id=${id2} reason="its answer came while the component was not listening" .*counted_as=accepted unconfirmed_total=1`,
      ),
    );
    await settles(s, traffic(A, C), "after the restart");
  });
});

describe("violations are never dropped", { concurrency: 2 }, () => {
  const backdoor = "   9: 00000000:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7777 1 0000000000000000 100 0 0 10 0\n";
  const profile = {
    securityProfileName: "KnownPorts",
    behaviors: [
      {
        name: "OnlyKnownTcpPorts",
        metric: "aws:listening-tcp-ports",
        criteria: { comparisonOperator: "in-port-set", value: { ports: [22, 53, 80, 443, 631] } },
      },
    ],
  };
  const isInAlarm = (m: unknown) => (m as { violationEventType?: string }).violationEventType === "in-alarm";

  it("raised while IPC is down and across a restart: kept in the outbox, delivered once to each target", async () => {
    const root = copyFixture("tricky");
    const tcp = readFileSync(join(root, "net/tcp"), "utf8");
    const s = await start({
      ProcRoot: root,
      PublishMetrics: "false",
      SampleIntervalSeconds: "10",
      DefaultProfile: "false",
      ViolationIoTTopic: "defender/violations/{thing}",
      SecurityProfiles: [profile],
    });
    const a = s.start();
    await a.waitForLine(/INFO agent\.started/);
    s.nucleus.refuseConnections = true;
    s.nucleus.dropConnections();
    await a.waitForLine(/WARN ipc\.disconnected/);
    writeFileSync(join(root, "net/tcp"), tcp + backdoor);
    await a.waitForLine(/WARN violation\.in_alarm profile=KnownPorts/);
    const queued = readdirSync(join(s.workDir, "outbox"))
      .filter((f) => f.endsWith(".ndjson"))
      .map((f) => readFileSync(join(s.workDir, "outbox", f), "utf8"))
      .join("");
    assert.match(queued, /"violationEventType":"in-alarm"/, "the event is on disk before it is delivered");
    a.child.kill("SIGTERM");
    await a.exited;
    s.nucleus.refuseConnections = false;
    const b = s.start();
    await b.waitForLine(/INFO violation\.outbox_loaded pending=1/);
    await s.nucleus.waitFor(
      () => s.nucleus.localPublishes.some((x) => isInAlarm(x.message)) && s.nucleus.cloudMessages.some((x) => x.topicName === `defender/violations/${THING}`),
      30_000,
      "delivered to both targets",
    );
    await sleep(50 * s.msPerSecond);
    assert.equal(s.nucleus.localPublishes.filter((x) => isInAlarm(x.message)).length, 1, "once on the local topic");
    assert.equal(s.nucleus.cloudMessages.filter((x) => x.topicName === `defender/violations/${THING}`).length, 1, "once on IoT Core");
  });

  it("a ViolationTopic the grants do not cover: the deployment fails naming the grant; if applied anyway, the refusal is logged, IoT Core still gets the event, and it is delivered once granted", async () => {
    const root = copyFixture("tricky");
    const tcp = readFileSync(join(root, "net/tcp"), "utf8");
    const s = await start({
      ProcRoot: root,
      PublishMetrics: "false",
      SampleIntervalSeconds: "10",
      DefaultProfile: "false",
      ViolationTopic: "alerts/defender",
      ViolationIoTTopic: "defender/violations/{thing}",
      SecurityProfiles: [profile],
    });
    const a = s.start();
    await a.waitForLine(
      /ERROR config\.not_granted problem="ViolationTopic: accessControl\.aws\.greengrass\.ipc\.pubsub needs a policy with operation aws\.greengrass#PublishToTopic and a resource matching \\"alerts\/defender\\""/,
    );
    writeFileSync(join(root, "net/tcp"), tcp + backdoor);
    await a.waitForLine(
      /ERROR violation\.not_published operation=PublishToTopic topic=alerts\/defender .*reason="UnauthorizedError: Principal community\.greengrass\.DeviceDefender is not authorized to perform aws\.greengrass\.ipc\.pubsub:aws\.greengrass#PublishToTopic on resource alerts\/defender" fix=/,
    );
    await s.nucleus.waitFor(() => s.nucleus.cloudMessages.some((x) => x.topicName === `defender/violations/${THING}`), 30_000, "IoT Core not held back");
    const refused = await s.nucleus.deploy({ merge: { ViolationTopic: "other/topic" } });
    assert.equal(refused.status, "FAILED_NO_STATE_CHANGE");
    assert.match(
      refused.message!,
      /ViolationTopic: accessControl\.aws\.greengrass\.ipc\.pubsub needs a policy with operation aws\.greengrass#PublishToTopic and a resource matching "other\/topic"/,
    );
    const grant = {
      "aws.greengrass.ipc.pubsub": {
        "community.greengrass.DeviceDefender:pubsub:2": { operations: ["aws.greengrass#PublishToTopic"], resources: ["alerts/defender"] },
      },
    };
    assert.equal((await s.nucleus.deploy({ merge: { accessControl: grant } })).status, "SUCCEEDED");
    const delivered = await s.nucleus.waitFor(
      () => s.nucleus.localPublishes.find((x) => x.topic === "alerts/defender" && isInAlarm(x.message)),
      30_000,
      "delivered once granted",
    );
    assert.equal((delivered.message as { securityProfileName: string }).securityProfileName, "KnownPorts");
  });
});

describe("Detect does not wait for delivery", () => {
  it("every sample is judged while reports cannot be delivered: a port opened during an outage raises its alarm then", async () => {
    const root = copyFixture("tricky");
    const tcp = readFileSync(join(root, "net/tcp"), "utf8");
    const s = await start({ ProcRoot: root, DefaultProfile: "true" });
    const p = s.start();
    await p.waitForLine(/INFO report\.accepted/);
    s.nucleus.refuseConnections = true;
    s.nucleus.dropConnections();
    await p.waitForLine(/WARN ipc\.disconnected/);
    writeFileSync(
      join(root, "net/tcp"),
      `${tcp}   9: 00000000:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7777 1 0000000000000000 100 0 0 10 0\n`,
    );
    await p.waitForLine(/WARN violation\.in_alarm profile=EdgeDefault behavior=NoTelnetListening/);
    assert.equal(s.nucleus.service.reports.length, 1, "no report went out meanwhile");
  });
});

describe("IPC hygiene", () => {
  it("one stream per answer topic through an outage and a reconnection, each answer counted once, streams replaced on a format change", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") }, { online: false });
    const p = s.start();
    await p.waitForLine(/INFO ipc\.connected/);
    // SubscribeToIoTCore waits while the core is offline; the connection drops meanwhile.
    await s.nucleus.waitFor(() => s.nucleus.operations.filter((o) => o === "SubscribeToIoTCore").length >= 2, 30_000, "subscriptions requested");
    s.nucleus.dropConnections();
    await p.waitForLine(
      /INFO ipc\.connected/,
      30_000,
      p.lines.findIndex((l) => l.includes("ipc.disconnected")),
    );
    await sleep(100 * s.msPerSecond);
    s.nucleus.setOnline(true);
    await p.waitForLine(/INFO report\.accepted/);
    const filters = () => [...s.nucleus.mqtt.subscribers].map((x) => x.filter).sort();
    assert.deepEqual(filters(), [`$aws/things/${THING}/defender/metrics/json/accepted`, `$aws/things/${THING}/defender/metrics/json/rejected`]);
    await s.nucleus.waitFor(() => accepted(s).length >= 3, 30_000, "three accepted reports");
    const ids = accepted(s)
      .slice(0, 3)
      .map((r) => r.reportId);
    for (const id of ids) await p.waitForLine(new RegExp(`INFO report\\.accepted report_id=${String(id)} `));
    // One interval later, a second copy of any of these answers would have been logged too.
    const mark = s.nucleus.publishes.length;
    await s.nucleus.waitFor(() => s.nucleus.publishes.length > mark, 30_000, "the next report");
    for (const id of ids) assert.equal(p.count(new RegExp(`INFO report\\.accepted report_id=${String(id)} `)), 1, `the answer to ${String(id)} is logged once`);
    assert.equal((await s.nucleus.deploy({ merge: { Format: "cbor" } })).status, "SUCCEEDED");
    await s.nucleus.waitFor(
      () => filters().join() === [`$aws/things/${THING}/defender/metrics/cbor/accepted`, `$aws/things/${THING}/defender/metrics/cbor/rejected`].join(),
      30_000,
      "the cbor streams, and only them",
    );
  });
});
