// End to end: the built bundle as a child process, the real aws-iot-device-sdk-v2 IPC client,
// and the nucleus test double (which also plays the Device Defender service). The double starts
// from the recipe's own DefaultConfiguration and behaves as a nucleus nobody configured
// (interpolateComponentConfiguration off). No test asserts on elapsed time: timeouts only bound
// a hung test.

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { decodeFirstSync } from "cbor";
import { ReportSchema } from "../src/report/schema.js";
import { copyFixture } from "./helpers.js";
import { type Setup, type SetupOptions, THING, report, setDev, setup } from "./nucleus/harness.js";

const JSON_TOPIC = `$aws/things/${THING}/defender/metrics/json`;
const CBOR_TOPIC = `$aws/things/${THING}/defender/metrics/cbor`;

const setups: Setup[] = [];
async function start(config: Record<string, unknown>, opts: SetupOptions = {}) {
  const s = await setup(config, opts);
  setups.push(s);
  return s;
}
after(async () => {
  await Promise.all(setups.map((s) => s.close()));
});

describe("component mode against the nucleus test double", { concurrency: 3 }, () => {
  it("works on a default nucleus with the recipe's own grants: first report at once, QoS 1, valid JSON, answer logged", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") });
    const p = s.start();
    const first = await s.nucleus.waitFor(() => s.nucleus.publishes[0], 30_000, "first publish");
    assert.equal(first.topicName, JSON_TOPIC);
    assert.equal(first.qos, "1");
    const r = report(first);
    assert.equal(r.metrics?.network_stats, undefined, "no earlier state: no network_stats");
    assert.equal(r.metrics?.listening_tcp_ports?.total, 5);
    await p.waitForLine(new RegExp(`INFO report\\.accepted report_id=${r.header.report_id} accepted_total=1`));
    assert.deepEqual(s.nucleus.authorizationFailures, [], "nothing refused on a nucleus without interpolation");
    assert.ok(s.nucleus.operations.includes("SubscribeToIoTCore"));
    assert.ok(s.nucleus.operations.includes("SubscribeToValidateConfigurationUpdates"));
  });

  it("publishes CBOR with short names on /cbor when configured, and reads the CBOR answers", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky"), Format: "cbor", ShortNames: "true" });
    const p = s.start();
    const first = await s.nucleus.waitFor(() => s.nucleus.publishes[0], 30_000, "first publish");
    assert.equal(first.topicName, CBOR_TOPIC);
    const raw = decodeFirstSync(first.payload) as Record<string, unknown>;
    assert.ok("hed" in raw && "met" in raw, "short names");
    await p.waitForLine(new RegExp(`INFO report\\.accepted report_id=${report(first).header.report_id}`));
  });

  it("logs a rejection with the service's error code and message", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") });
    const p = s.start();
    await p.waitForLine(/INFO report\.accepted/);
    s.nucleus.deliverFromCloud(
      `${JSON_TOPIC}/rejected`,
      Buffer.from(
        JSON.stringify({
          thingName: THING,
          reportId: 42,
          status: "REJECTED",
          statusDetails: { ErrorCode: "InvalidPayload", ErrorMessage: "Malformed metrics report" },
        }),
      ),
    );
    await p.waitForLine(/WARN report\.rejected report_id=42 code=InvalidPayload message="Malformed metrics report" rejected_total=1/);
  });

  it("applies a deployment live; a deployment with a bad value fails with the key, value and rule, and changes nothing", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") });
    const p = s.start();
    await s.nucleus.waitFor(() => s.nucleus.publishes[0], 30_000, "first publish");
    const good = await s.nucleus.deploy({ merge: { Format: "cbor", MaxListEntries: "2" } });
    assert.equal(good.status, "SUCCEEDED");
    await p.waitForLine(/INFO config\.applied Format=cbor MaxListEntries=2/);
    const next = await s.nucleus.waitFor(() => s.nucleus.publishes.find((x) => x.topicName === CBOR_TOPIC), 30_000, "cbor publish");
    assert.equal(report(next).metrics?.listening_tcp_ports?.ports?.length, 2);
    const bad = await s.nucleus.deploy({ merge: { Format: "xml", SampleIntervalSeconds: "60" } });
    assert.equal(bad.status, "FAILED_NO_STATE_CHANGE");
    assert.match(
      bad.message!,
      /Components reported that their to-be-deployed configuration is invalid \{ name = community\.greengrass\.DeviceDefender, message = Format=xml: must be json or cbor \}/,
    );
    assert.equal((s.nucleus.config.get(["Format"]) as Record<string, unknown>).Format, "cbor", "the nucleus kept the configuration");
    await p.waitForLine(/ERROR config\.deployment_rejected .*Format=xml: must be json or cbor/);
    const count = s.nucleus.publishes.length;
    const later = await s.nucleus.waitFor(() => s.nucleus.publishes[count], 30_000, "publish after the failed deployment");
    assert.equal(later.topicName, CBOR_TOPIC, "the configuration in force did not change");
  });

  it("a runtime without configuration validation: said once, and each update is checked as it arrives while reports go on", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") }, { unknownOperations: ["SubscribeToValidateConfigurationUpdates"] });
    const p = s.start();
    const refused = await p.waitForLine(/WARN ipc\.operation_unavailable operation=SubscribeToValidateConfigurationUpdates/);
    assert.match(refused, /reason="ServiceError: Operation SubscribeToValidateConfigurationUpdates is not supported by Greengrass"/);
    await p.waitForLine(/INFO report\.accepted/);
    // Without validation the deployment applies; the component refuses the bad key itself and keeps the last good value.
    const deployed = await s.nucleus.deploy({ merge: { Format: "xml", MaxListEntries: "2" } });
    assert.equal(deployed.status, "SUCCEEDED", "nothing could fail it");
    await p.waitForLine(/ERROR config\.rejected key=Format value=xml rule="must be json or cbor" kept=json/);
    const count = s.nucleus.publishes.length;
    const later = await s.nucleus.waitFor(() => s.nucleus.publishes[count], 30_000, "publish after the update");
    assert.equal(later.topicName, JSON_TOPIC);
    assert.equal(report(later).metrics?.listening_tcp_ports?.ports?.length, 2, "the good key of the same update applies");
    assert.equal(p.lines.filter((l) => l.includes("ipc.operation_unavailable")).length, 1, "said once");
  });

  it("a configuration applied without validation (the first one) is checked key by key: bad keys keep their default", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky"), Format: "xml", SampleIntervalSeconds: "60" });
    const p = s.start();
    await p.waitForLine(/ERROR config\.rejected key=Format value=xml rule="must be json or cbor" kept=json/);
    await p.waitForLine(/WARN config\.interval_raised key=SampleIntervalSeconds value=60 used=300/);
    const first = await s.nucleus.waitFor(() => s.nucleus.publishes[0], 30_000, "first publish");
    assert.equal(first.topicName, JSON_TOPIC);
  });

  it("adds the configured custom metrics to the report, and refuses a deployment with a bad definition by name", async () => {
    const s = await start({
      ProcRoot: copyFixture("custom"),
      CustomMetrics: { procs: { type: "number", source: "process_count" }, ifaces: { type: "string-list", source: "network_interface_names" } },
    });
    const p = s.start();
    const first = await s.nucleus.waitFor(() => s.nucleus.publishes[0], 30_000, "first publish");
    assert.deepEqual(report(first).custom_metrics, { procs: [{ number: 7 }], ifaces: [{ string_list: ["eth0", "wlan0"] }] });
    await p.waitForLine(/INFO report\.accepted/);
    const bad = await s.nucleus.deploy({ merge: { CustomMetrics: { temp: { type: "number", source: "file", path: "relative" } } } });
    assert.equal(bad.status, "FAILED_NO_STATE_CHANGE");
    assert.match(bad.message!, /CustomMetrics=.*temp\.path: must be an absolute path/);
    const second = await s.nucleus.waitFor(() => s.nucleus.publishes[1], 30_000, "second publish");
    assert.deepEqual(Object.keys(report(second).custom_metrics ?? {}).sort(), ["ifaces", "procs"], "the last good definitions stay");
  });

  it("Detect at the edge: a new listening port raises a violation on the local topic and IoT Core, which clears when it goes, across a restart", async () => {
    const root = copyFixture("tricky");
    const tcp = readFileSync(join(root, "net/tcp"), "utf8");
    const s = await start({
      ProcRoot: root,
      PublishMetrics: "false",
      SampleIntervalSeconds: "10",
      DefaultProfile: "false",
      ViolationIoTTopic: "defender/violations/{thing}",
      SecurityProfiles: [
        {
          securityProfileName: "KnownPorts",
          behaviors: [
            {
              name: "OnlyKnownTcpPorts",
              metric: "aws:listening-tcp-ports",
              criteria: { comparisonOperator: "in-port-set", value: { ports: [22, 53, 80, 443, 631] } },
            },
          ],
        },
        {
          securityProfileName: "Broken",
          behaviors: [{ name: "B1", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "less-than", value: { count: 1 } } }],
        },
      ],
    });
    const a = s.start();
    await a.waitForLine(/ERROR profile\.rejected where="profile Broken behavior B1" reason="criteria\.comparisonOperator: less-than does not apply/);
    const backdoor = "   9: 00000000:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7777 1 0000000000000000 100 0 0 10 0\n";
    writeFileSync(join(root, "net/tcp"), tcp + backdoor);
    const raised = await s.nucleus.waitFor(
      () => s.nucleus.localPublishes.find((p) => (p.message as { violationEventType?: string }).violationEventType === "in-alarm"),
      30_000,
      "in-alarm on the local topic",
    );
    assert.equal(raised.topic, "defender/violations");
    const event = raised.message as Record<string, unknown>;
    assert.equal(event.thingName, THING);
    assert.equal(event.securityProfileName, "KnownPorts");
    assert.deepEqual(event.metricValue, { ports: [4444] }, "the port that breaks the allow list, as the service's event carries it");
    await a.waitForLine(/WARN violation\.in_alarm profile=KnownPorts behavior=OnlyKnownTcpPorts/);
    assert.equal(s.nucleus.publishes.filter((p) => p.topicName.includes("/defender/metrics/")).length, 0, "PublishMetrics false: nothing to the service");
    const toCloud = await s.nucleus.waitFor(
      () => s.nucleus.cloudMessages.find((p) => p.topicName === `defender/violations/${THING}`),
      30_000,
      "violation on IoT Core",
    );
    assert.equal((JSON.parse(toCloud.payload.toString("utf8")) as { violationId: unknown }).violationId, event.violationId);
    a.child.kill("SIGTERM");
    assert.equal((await a.exited).code, 0);
    // The alarm state survives the restart: removing the port clears the same violation.
    writeFileSync(join(root, "net/tcp"), tcp);
    s.start();
    const cleared = await s.nucleus.waitFor(
      () => s.nucleus.localPublishes.find((p) => (p.message as { violationEventType?: string }).violationEventType === "alarm-cleared"),
      30_000,
      "alarm-cleared",
    );
    assert.equal((cleared.message as { violationId: string }).violationId, event.violationId);
  });

  it("loses no traffic when the IPC connection drops: the next accepted report carries the missed interval", async () => {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 2000, 20]);
    const s = await start({ ProcRoot: root });
    const p = s.start();
    await p.waitForLine(/INFO report\.accepted/);
    // The nucleus goes away: the connection drops and reconnections are refused for a while.
    s.nucleus.refuseConnections = true;
    s.nucleus.dropConnections();
    await p.waitForLine(/WARN ipc\.disconnected/);
    setDev(root, [1500, 15, 2600, 26]);
    await p.waitForLine(/WARN report\.not_delivered reason="not connected to the Greengrass nucleus"/);
    setDev(root, [4000, 40, 9000, 90]);
    s.nucleus.refuseConnections = false;
    await s.nucleus.waitFor(
      () => s.nucleus.service.reports.filter((r) => r.outcome === "accepted").length >= 2,
      30_000,
      "an accepted report after the reconnection",
    );
    assert.deepEqual(s.nucleus.service.acceptedTraffic(), { bytes_in: 3000, bytes_out: 7000, packets_in: 30, packets_out: 70 });
    assert.ok(s.nucleus.connects >= 2, "a fresh client connected again");
  });

  it("keeps the traffic of a report the nucleus refused (spool full) for the next one", async () => {
    const root = copyFixture("tricky");
    setDev(root, [100, 1, 100, 1]);
    const s = await start({ ProcRoot: root });
    const p = s.start();
    await p.waitForLine(/INFO report\.accepted/);
    // Offline with a spool too small for a report: the nucleus refuses the publish.
    s.nucleus.setOnline(false);
    s.nucleus.mqtt.maxSpoolBytes = 10;
    setDev(root, [300, 3, 500, 5]);
    await p.waitForLine(/WARN report\.not_delivered .*Message is larger than the size of message spool/);
    s.nucleus.mqtt.maxSpoolBytes = 2_621_440;
    s.nucleus.setOnline(true);
    setDev(root, [700, 7, 900, 9]);
    await s.nucleus.waitFor(() => s.nucleus.service.reports.filter((r) => r.outcome === "accepted").length >= 2, 30_000, "the next accepted report");
    assert.deepEqual(s.nucleus.service.acceptedTraffic(), { bytes_in: 600, bytes_out: 800, packets_in: 6, packets_out: 8 });
  });

  it("after a restart, waits an interval after the last sample and reports the true deltas", async () => {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 2000, 20]);
    const s = await start({ ProcRoot: root });
    const a = s.start();
    const first = await s.nucleus.waitFor(() => s.nucleus.publishes[0], 30_000, "first publish");
    await a.waitForLine(/INFO report\.accepted/);
    a.child.kill("SIGTERM");
    assert.equal((await a.exited).code, 0);
    const state = JSON.parse(readFileSync(join(s.workDir, "state.json"), "utf8")) as { reportId: unknown };
    assert.equal(state.reportId, report(first).header.report_id);
    setDev(root, [1300, 13, 2500, 25]);
    const b = s.start();
    await b.waitForLine(/INFO schedule\.wait reason="recent sample before restart"/);
    const second = await s.nucleus.waitFor(() => s.nucleus.publishes[1], 30_000, "publish after restart");
    const r = report(second);
    assert.deepEqual(r.metrics?.network_stats, { bytes_in: 300, bytes_out: 500, packets_in: 3, packets_out: 5 });
    assert.ok(r.header.report_id > report(first).header.report_id);
    assert.ok(
      s.nucleus.service.reports.every((x) => x.outcome === "accepted"),
      "the restart caused no throttled report",
    );
  });

  it("after a reboot (new boot id), the first report carries the counters since boot", async () => {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 2000, 20]);
    const s = await start({ ProcRoot: root });
    const a = s.start();
    await a.waitForLine(/INFO report\.accepted/);
    a.child.kill("SIGTERM");
    await a.exited;
    writeFileSync(join(root, "sys/kernel/random/boot_id"), "11111111-2222-4333-8444-555555555555\n");
    setDev(root, [70, 1, 80, 2]);
    s.start();
    const second = await s.nucleus.waitFor(() => s.nucleus.publishes[1], 30_000, "publish after reboot");
    assert.deepEqual(report(second).metrics?.network_stats, { bytes_in: 70, bytes_out: 80, packets_in: 1, packets_out: 2 });
  });

  it("on SIGTERM closes its connection, saves its state and exits 0", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") });
    const p = s.start();
    await p.waitForLine(/INFO report\.accepted/);
    p.child.kill("SIGTERM");
    const exit = await p.exited;
    assert.equal(exit.code, 0);
    assert.ok(existsSync(join(s.workDir, "state.json")));
    assert.ok(p.lines.some((l) => /INFO component\.stopping signal=SIGTERM published=1/.test(l)));
    assert.ok(p.lines.some((l) => /INFO component\.stopped accepted=1 rejected=0/.test(l)));
    await s.nucleus.waitFor(() => s.nucleus.connections.size === 0, 10_000, "connection closed");
  });
});

describe("outside Greengrass", () => {
  it("refuses to start in component mode without the IPC variables, and points to run", async () => {
    const { spawnSync } = await import("node:child_process");
    const { BUNDLE } = await import("./bundle.js");
    const r = spawnSync(process.execPath, [BUNDLE], { encoding: "utf8", env: { PATH: process.env.PATH } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not started by Greengrass .*use "run"/);
  });

  it("run writes a report per interval to stdout", async () => {
    const { spawn } = await import("node:child_process");
    const { BUNDLE } = await import("./bundle.js");
    const root = copyFixture("tricky");
    const child = spawn(process.execPath, [BUNDLE, "run", "--proc-root", root, "--interval", "10"], {
      env: { PATH: process.env.PATH, DEFENDER_TEST_MS_PER_SECOND: "20" },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const until = Date.now() + 30_000;
    while (out.split("\n").filter((l) => l.startsWith("{")).length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    const [a, b] = out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => ReportSchema.parse(JSON.parse(l)));
    assert.ok(a && b, out);
    assert.equal(a.metrics?.network_stats, undefined);
    assert.deepEqual(b.metrics?.network_stats, { bytes_in: 0, bytes_out: 0, packets_in: 0, packets_out: 0 });
  });
});
