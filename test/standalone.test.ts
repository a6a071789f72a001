// Standalone mode against a real broker: the built bundle's `run` with a connection, talking
// MQTT 5 over mutual TLS to Debian's mosquitto (require_certificate, an ACL mirroring the
// device's IoT policy), where a service double with its own certificate answers each report as
// Device Defender does. Skips with one line where mosquitto or openssl is missing.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { clientOptions } from "../src/mqtt/connection.js";
import { type Identity, loadIdentity } from "../src/mqtt/settings.js";
import { BUNDLE } from "./bundle.js";
import { ROOT, copyFixture, maybe, tempDir } from "./helpers.js";
import { ComponentProcess, recipeRun, setDev } from "./nucleus/harness.js";
import { Pki } from "./pki.js";
import { Broker, brokerSkipReason, deviceAcl, freePort } from "./standalone/broker.js";
import { relay } from "./standalone/proxy.js";
import { type ServiceDouble, serviceDouble } from "./standalone/service.js";

const skip = brokerSkipReason();
const THING = "standalone-thing";
/** One configured second lasts 5 ms: the service's 300 s floor is 1.5 s. */
const MS_PER_SECOND = "5";
const KNOWN_PORTS = [
  {
    securityProfileName: "KnownPorts",
    behaviors: [{ name: "OnlyKnownTcpPorts", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "in-port-set", value: { ports: [22] } } }],
  },
];

describe("standalone over MQTT with mutual TLS", { skip: skip && `skipped: ${skip}` }, () => {
  let dir: string;
  let pki: Pki;
  let otherPki: Pki;
  let broker: Broker;
  let service: mqtt.MqttClient;
  let device: { cert: string; key: string };
  let defender: ServiceDouble["defender"];
  let violations: ServiceDouble["violations"];
  let hold: ServiceDouble["hold"];
  const running: ComponentProcess[] = [];

  before(async () => {
    dir = tempDir("defender-standalone-");
    mkdirSync(join(dir, "pki"));
    mkdirSync(join(dir, "other"));
    pki = new Pki(join(dir, "pki"));
    otherPki = new Pki(join(dir, "other"), "another-ca");
    device = pki.issue("device", THING);
    chmodSync(device.key, 0o600);
    broker = new Broker(dir, pki, await freePort(), THING);
    await broker.start();
    ({ client: service, defender, violations, hold } = await serviceDouble(broker, pki));
  });

  after(async () => {
    for (const p of running) await p.stop();
    await maybe(service)?.endAsync(true);
    await maybe(broker)?.stop();
  });

  /** The bundle with the recipe's node flags, as the systemd unit starts it. */
  function agent(args: string[], config: Record<string, unknown> = {}, connectionFlags = true): ComponentProcess {
    // One agent per client id at a time (a second would take the session over): end the last test's.
    for (const earlier of running.splice(0)) void earlier.stop();
    const work = tempDir("defender-standalone-work-");
    const configFile = join(work, "config.json");
    writeFileSync(configFile, JSON.stringify({ DefaultProfile: false, SecurityProfiles: KNOWN_PORTS, ...config }));
    const { flags, env } = recipeRun();
    const connection = [
      "--endpoint",
      "localhost",
      "--port",
      String(broker.port),
      "--cert",
      device.cert,
      "--key",
      device.key,
      "--root-ca",
      pki.ca,
      "--thing-name",
      THING,
    ];
    const p = new ComponentProcess(
      spawn(
        process.execPath,
        [...flags, BUNDLE, "run", "--config", configFile, "--work-dir", join(work, "state"), ...(connectionFlags ? connection : []), ...args],
        {
          env: { PATH: process.env.PATH, ...env, DEFENDER_TEST_MS_PER_SECOND: MS_PER_SECOND },
          stdio: ["ignore", "pipe", "pipe"],
        },
      ),
    );
    running.push(p);
    return p;
  }

  /** The traffic of the reports the service accepted since `before` (a total it gave earlier). */
  function acceptedSince(before: ReturnType<ServiceDouble["defender"]["acceptedTraffic"]>) {
    const sum = defender.acceptedTraffic();
    return {
      bytes_in: sum.bytes_in - before.bytes_in,
      bytes_out: sum.bytes_out - before.bytes_out,
      packets_in: sum.packets_in - before.packets_in,
      packets_out: sum.packets_out - before.packets_out,
    };
  }

  async function stop(p: ComponentProcess): Promise<void> {
    p.child.kill("SIGTERM");
    const { code } = await p.exited;
    assert.equal(code, 0, p.lines.slice(-10).join("\n"));
    assert.ok(
      p.lines.some((l) => /^INFO standalone\.stopped /.test(l)),
      p.lines.slice(-10).join("\n"),
    );
  }

  it("the first report is accepted, its answers subscribed before it went; a violation reaches IoT Core", async () => {
    const root = copyFixture("tricky");
    const brokerFrom = broker.proc!.lines.length;
    const p = agent(["--proc-root", root], { ViolationIoTTopic: "defender/violations/{thing}" });
    await p.waitForLine(/^INFO report\.accepted report_id=/);
    // At the broker: the answer topics subscribed before the first report, which came at QoS 1.
    const seen = broker.proc!.lines.slice(brokerFrom);
    const subscribed = seen.findIndex((l) => /Received SUBSCRIBE from standalone-thing/.test(l));
    const reported = seen.findIndex((l) =>
      /Received PUBLISH from standalone-thing \(d0, q1, r0, m\d+, '\$aws\/things\/standalone-thing\/defender\/metrics\/json'/.test(l),
    );
    assert.ok(subscribed >= 0 && reported > subscribed, seen.join("\n"));
    const connected = p.lines.findIndex((l) => /^INFO mqtt\.connected endpoint=localhost:\d+ client_id=standalone-thing session_present=false/.test(l));
    const published = p.lines.findIndex((l) => /^INFO report\.published .*topic=\$aws\/things\/standalone-thing\/defender\/metrics\/json/.test(l));
    assert.ok(connected >= 0 && connected < published, p.lines.join("\n"));
    const first = defender.reports.find((r) => r.thingName === THING)!;
    assert.deepEqual([first.format, first.outcome, first.problem], ["json", "accepted", undefined]);
    await p.waitForLine(/^WARN violation\.in_alarm profile=KnownPorts behavior=OnlyKnownTcpPorts/);
    for (let i = 0; i < 400 && violations.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(violations[0]?.topic, `defender/violations/${THING}`);
    assert.equal(violations[0].event.violationEventType, "in-alarm");
    assert.equal(p.count(/mqtt\.key_readable_by_others/), 0, "a 0600 key is not warned about");
    await stop(p);
  });

  it("a broker restart mid-run loses no traffic: what was not accepted is carried to the next accepted report", async () => {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 2000, 20]);
    const p = agent(["--proc-root", root]);
    const before = defender.acceptedTraffic();
    await p.waitForLine(/^INFO report\.accepted /);
    // The baseline is the first report (it has no network_stats); now the broker goes away.
    setDev(root, [1600, 16, 2900, 29]);
    await broker.stop();
    await p.waitForLine(/^WARN mqtt\.disconnected /);
    await p.waitForLine(/^WARN report\.not_delivered reason="not connected to AWS IoT Core"/);
    setDev(root, [5000, 50, 9000, 90]);
    const from = p.lines.length;
    await broker.start();
    await p.waitForLine(/^INFO mqtt\.connected /, 60_000, from);
    await p.waitForLine(/^INFO report\.accepted /, 60_000, from);
    // Everything since the baseline, in accepted reports, once.
    assert.deepEqual(acceptedSince(before), { bytes_in: 4000, bytes_out: 7000, packets_in: 40, packets_out: 70 });
    await stop(p);
  });

  it("a one-hour outage (in scaled time): every sample's traffic reaches the accepted reports, once", async () => {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 2000, 20]);
    const p = agent(["--proc-root", root]);
    await p.waitForLine(/^INFO report\.accepted /);
    const before = defender.acceptedTraffic();
    await broker.stop();
    await p.waitForLine(/^WARN mqtt\.disconnected /);
    // An hour is 3,600 configured seconds, 18 s here: twelve samples, the counters moving in between.
    const hour = 3600 * Number(MS_PER_SECOND);
    for (let k = 1; k <= 4; k++) {
      await new Promise((r) => setTimeout(r, hour / 4));
      setDev(root, [1000 + k * 1000, 10 + k * 10, 2000 + k * 3000, 20 + k * 30]);
    }
    const from = p.lines.length;
    await broker.start();
    await p.waitForLine(/^INFO mqtt\.connected /, 60_000, from);
    for (let i = 0; i < 1200 && acceptedSince(before).bytes_out < 12_000; i++) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(acceptedSince(before), { bytes_in: 4000, bytes_out: 12_000, packets_in: 40, packets_out: 120 });
    await stop(p);
  });

  it("violations raised during an outage wait in the outbox and reach IoT Core in order once the broker is back", async () => {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 1000, 10]);
    const bytesOut = {
      securityProfileName: "Exfil",
      behaviors: [
        {
          name: "BytesOut",
          metric: "aws:all-bytes-out",
          criteria: { comparisonOperator: "less-than-equals", value: { count: 1000 }, consecutiveDatapointsToAlarm: 1, consecutiveDatapointsToClear: 1 },
        },
      ],
    };
    const p = agent(["--proc-root", root], { SecurityProfiles: [bytesOut], ViolationIoTTopic: "defender/violations/{thing}" });
    const before = defender.acceptedTraffic();
    await p.waitForLine(/^INFO report\.accepted /);
    await broker.stop();
    await p.waitForLine(/^WARN mqtt\.disconnected /);
    // Normal is at most 1000 bytes out per sample. Three events while nothing can be delivered:
    // a burst, a quiet sample, another burst.
    let from = p.lines.length;
    setDev(root, [1000, 10, 6000, 20]);
    await p.waitForLine(/^WARN violation\.in_alarm profile=Exfil/, 60_000, from);
    from = p.lines.length;
    await p.waitForLine(/^INFO violation\.alarm_cleared profile=Exfil/, 60_000, from);
    from = p.lines.length;
    setDev(root, [1000, 10, 11000, 30]);
    await p.waitForLine(/^WARN violation\.in_alarm profile=Exfil/, 60_000, from);
    const mine = () => violations.filter((v) => (v.event.behavior as { name: string }).name === "BytesOut");
    assert.equal(mine().length, 0, "nothing was delivered during the outage");
    await broker.start();
    for (let i = 0; i < 1200 && mine().length < 3; i++) await new Promise((r) => setTimeout(r, 25));
    const events = mine().map((v) => [v.event.violationEventType, v.event.violationEventTime] as const);
    assert.deepEqual(
      events.map(([t]) => t),
      ["in-alarm", "alarm-cleared", "in-alarm"],
    );
    assert.ok(
      events.every(([, t], i) => i === 0 || Number(t) > Number(events[i - 1]![1])),
      "in the order they happened",
    );
    // And the traffic of the outage is in the accepted reports, once.
    for (let i = 0; i < 1200 && acceptedSince(before).bytes_out < 10_000; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(acceptedSince(before).bytes_out, 10_000);
    await stop(p);
  });

  it("a broker down at start: sampling and Detect go on, the first report is accepted once it is up, SIGTERM ends it while it is down", async () => {
    await broker.stop();
    try {
      const root = copyFixture("tricky");
      setDev(root, [1000, 10, 2000, 20]);
      const p = agent(["--proc-root", root]);
      await p.waitForLine(/^ERROR mqtt\.connect_failed /);
      await p.waitForLine(/^INFO mqtt\.reconnect_scheduled .*attempt=2/);
      await p.waitForLine(/^WARN violation\.in_alarm profile=KnownPorts/);
      const before = defender.acceptedTraffic();
      setDev(root, [1300, 13, 2700, 27]);
      await p.waitForLine(/^WARN report\.not_delivered reason="not connected to AWS IoT Core"/);
      const from = p.lines.length;
      await broker.start();
      await p.waitForLine(/^INFO mqtt\.connected /, 60_000, from);
      // The traffic of the samples taken while it was down arrives, once, with the first accepted reports.
      for (let i = 0; i < 1200 && acceptedSince(before).bytes_out < 700; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(acceptedSince(before).bytes_out, 700, JSON.stringify(defender.reports.slice(-25).map((r) => [r.outcome, r.networkStats])));
      await stop(p);
      // Down again, and asked to stop: it stops, cleanly, without waiting for a broker.
      const q = agent(["--proc-root", root]);
      await q.waitForLine(/^INFO report\.accepted /);
      await broker.stop();
      await q.waitForLine(/^WARN mqtt\.disconnected /);
      await stop(q);
    } finally {
      if (broker.proc === undefined) await broker.start();
    }
  });

  it("connection keys from the --config file and a client id of one's own: the broker sees that id, with a persistent session", async () => {
    const root = copyFixture("tricky");
    const from = broker.proc!.lines.length;
    const p = agent(
      ["--proc-root", root],
      {
        endpoint: "localhost",
        port: String(broker.port),
        cert: device.cert,
        key: device.key,
        "root-ca": pki.ca,
        "thing-name": THING,
        "client-id": "gw-7-defender",
      },
      false,
    );
    await p.waitForLine(/^INFO report\.accepted /);
    assert.ok(
      p.lines.some((l) => /^INFO mqtt\.connected endpoint=localhost:\d+ client_id=gw-7-defender /.test(l)),
      p.lines.join("\n"),
    );
    // mosquitto: "New client connected from ... as gw-7-defender (p5, c0, k..., u'standalone-thing')": MQTT 5, clean start off.
    const seen = broker.proc!.lines.slice(from).find((l) => / as gw-7-defender \(/.test(l));
    assert.match(seen ?? "", /\(p5, c0, k\d+, u'standalone-thing'\)/, broker.proc!.lines.slice(from).join("\n"));
    await stop(p);
  });

  it("a client with no certificate is refused by the broker: the policy is mutual TLS", async () => {
    const bare = mqtt.connect({
      host: "127.0.0.1",
      port: broker.port,
      protocol: "mqtts",
      ca: readFileSync(pki.ca),
      servername: "localhost",
      reconnectPeriod: 0,
      connectTimeout: 5000,
      protocolVersion: 5,
    });
    const outcome = await new Promise<string>((res) => {
      bare.once("connect", () => res("connected"));
      bare.once("error", (e) => res(`error: ${e.message}`));
      bare.once("close", () => res("closed"));
    });
    bare.end(true);
    assert.notEqual(outcome, "connected");
  });

  it("an answer that comes while the device is away waits in its persistent session: the report is accepted after the reconnection", async () => {
    const link = await relay(broker.port);
    try {
      const root = copyFixture("tricky");
      const p = agent(["--proc-root", root, "--port", String(link.port)]);
      await p.waitForLine(/^INFO report\.accepted /);
      hold.on = true;
      const from = p.lines.length;
      const id = /report_id=(\d+)/.exec(await p.waitForLine(/^INFO report\.published report_id=\d+ /, 60_000, from))![1]!;
      for (let i = 0; i < 1200 && !defender.reports.some((r) => String(r.reportId) === id); i++) await new Promise((r) => setTimeout(r, 25));
      // The service has the report; the device's uplink goes before the answer does.
      link.cut();
      await p.waitForLine(/^WARN mqtt\.disconnected /, 60_000, from);
      await hold.release();
      link.open();
      await p.waitForLine(/^INFO mqtt\.connected .*session_present=true/, 60_000, from);
      await p.waitForLine(new RegExp(`^INFO report\\.accepted report_id=${id} `), 60_000, from);
      assert.equal(p.count(new RegExp(`report\\.(unconfirmed|presumed_lost|traffic_carried) report_id=${id} `)), 0, p.lines.slice(from).join("\n"));
      await stop(p);
    } finally {
      hold.on = false;
      await link.close();
    }
  });

  it("a connection dropped mid-publish (the report sent, its PUBACK never back): resent on the reconnection, accepted once", async () => {
    const link = await relay(broker.port);
    try {
      const root = copyFixture("tricky");
      const p = agent(["--proc-root", root, "--port", String(link.port)]);
      await p.waitForLine(/^INFO report\.accepted /);
      const from = p.lines.length;
      const seenBefore = defender.reports.length;
      // The broker's side goes quiet: the next report reaches the service, but no PUBACK and no answer come back.
      link.stall();
      for (let i = 0; i < 2400 && defender.reports.length === seenBefore; i++) await new Promise((r) => setTimeout(r, 25));
      const id = String(defender.reports[seenBefore]!.reportId);
      assert.equal(
        p.count(/^INFO report\.published /),
        p.lines.slice(0, from).filter((l) => /^INFO report\.published /.test(l)).length,
        "its publish never completed",
      );
      link.cut();
      link.open();
      await p.waitForLine(/^INFO mqtt\.connected .*session_present=true/, 60_000, from);
      await p.waitForLine(new RegExp(`^INFO report\\.accepted report_id=${id} `), 60_000, from);
      assert.equal(p.count(new RegExp(`^INFO report\\.accepted report_id=${id} `)), 1, "said once, though the service may have seen it twice");
      assert.equal(p.count(new RegExp(`report\\.(presumed_lost|traffic_carried|double_counted) report_id=${id} `)), 0, p.lines.slice(from).join("\n"));
      await stop(p);
    } finally {
      await link.close();
    }
  });

  it("a throttled answer follows the ledger: the report's traffic is carried, not lost", async () => {
    defender.minIntervalMs = 1e12;
    try {
      const root = copyFixture("tricky");
      setDev(root, [1000, 10, 2000, 20]);
      const p = agent(["--proc-root", root]);
      const line = await p.waitForLine(/^WARN report\.rejected /);
      assert.match(line, /code=Throttled/);
      setDev(root, [1500, 15, 2500, 25]);
      const carried = await p.waitForLine(/^INFO report\.traffic_carried .*reason=rejected/);
      assert.match(carried, /traffic="\{\\"bytes_in\\":500,\\"bytes_out\\":500,\\"packets_in\\":5,\\"packets_out\\":5\}"/);
      await stop(p);
    } finally {
      defender.minIntervalMs = 0;
    }
  });

  it("a root CA that did not sign the broker's certificate: one error naming the file; Detect goes on", async () => {
    const p = agent(["--proc-root", copyFixture("tricky"), "--root-ca", otherPki.ca]);
    const line = await p.waitForLine(/^ERROR mqtt\.connect_failed /);
    assert.match(line, /reason="the broker's certificate is not signed by the root CA \(\w+\)"/);
    assert.ok(line.includes(`file=${otherPki.ca}`), line);
    await p.waitForLine(/^WARN violation\.in_alarm profile=KnownPorts/);
    // Retried with backoff, said once.
    await p.waitForLine(/^INFO mqtt\.reconnect_scheduled .*attempt=3/);
    assert.equal(p.count(/^ERROR mqtt\.connect_failed/), 1, p.lines.join("\n"));
    await stop(p);
  });

  it("a device certificate the broker does not trust: one error naming the certificate file", async () => {
    const stranger = otherPki.issue("stranger", THING);
    chmodSync(stranger.key, 0o600);
    const p = agent(["--proc-root", copyFixture("tricky"), "--cert", stranger.cert, "--key", stranger.key]);
    const line = await p.waitForLine(/^ERROR mqtt\.connect_failed /);
    assert.match(line, /the broker refused the device certificate/);
    assert.ok(line.includes(`file=${stranger.cert}`), line);
    await stop(p);
  });

  it("a violation topic outside the device's policy is refused by the broker and said once, with the policy it needs", async () => {
    const p = agent(["--proc-root", copyFixture("tricky")], { ViolationIoTTopic: "alerts/{thing}" });
    const line = await p.waitForLine(/^ERROR violation\.not_published operation=PUBLISH topic=alerts\/standalone-thing /);
    assert.match(line, /fix="the device's IoT policy must allow iot:Publish on topic\/alerts\/standalone-thing"/);
    await p.waitForLine(/^INFO report\.accepted /);
    await stop(p);
  });

  it("a private key others can read is warned about, naming the file and the fix", async () => {
    const loose = pki.issue("loose", THING);
    chmodSync(loose.key, 0o644);
    const p = agent(["--proc-root", copyFixture("tricky"), "--cert", loose.cert, "--key", loose.key]);
    const line = await p.waitForLine(/^WARN mqtt\.key_readable_by_others /);
    assert.ok(line.includes(`file=${loose.key} mode=0644 fix="chmod 600 ${loose.key}"`), line);
    await p.waitForLine(/^INFO report\.accepted /);
    await stop(p);
  });

  it("a missing or unreadable identity file is one clear line, before anything starts", async () => {
    const missing = agent(["--cert", ""]);
    assert.equal((await missing.exited).code, 2);
    assert.ok(
      missing.lines.some((l) => l === "--cert: is required: the device certificate (PEM) file"),
      missing.lines.join("\n"),
    );
    const unreadable = agent(["--key", join(dir, "no-such.key")]);
    assert.equal((await unreadable.exited).code, 1);
    assert.ok(unreadable.lines.includes(`ERROR key ${join(dir, "no-such.key")}: cannot read it (ENOENT)`), unreadable.lines.join("\n"));
    const mismatched = agent(["--key", pki.issue("someone-else", "x").key]);
    assert.equal((await mismatched.exited).code, 1);
    assert.ok(
      mismatched.lines.some((l) => /^ERROR key .*: is not the private key of the certificate /.test(l)),
      mismatched.lines.join("\n"),
    );
  });
});

describe("standalone connection options, as AWS IoT Core expects them", () => {
  const identity = (port: number): Identity => ({
    settings: { endpoint: "abc-ats.iot.eu-west-1.amazonaws.com", port, cert: "c", key: "k", "root-ca": "r", "thing-name": "gw-1" },
    clientId: "gw-1",
    cert: Buffer.from(""),
    key: Buffer.from(""),
    ca: Buffer.from(""),
    warnings: [],
  });

  it("a persistent MQTT 5 session over TLS 1.2 or later, keep-alive within the service's 30-1200 s, no ALPN on 8883", () => {
    const o = clientOptions(identity(8883));
    assert.deepEqual(
      [o.protocol, o.protocolVersion, o.clean, o.minVersion, o.rejectUnauthorized, o.ALPNProtocols],
      ["mqtts", 5, false, "TLSv1.2", true, undefined],
    );
    assert.ok(o.properties!.sessionExpiryInterval! > 0);
    assert.ok(o.keepalive! >= 30 && o.keepalive! <= 1200);
  });

  it(
    "on port 443 the TLS handshake offers ALPN x-amzn-mqtt-ca (a real handshake, as root)",
    { skip: process.getuid?.() !== 0 && "needs root to listen on port 443 (CI runs as root)" },
    async () => {
      const dir = tempDir("defender-alpn-");
      const pki = new Pki(dir);
      const device = pki.issue("device", "gw-1");
      const seen = new Promise<{ alpn: string | false | null; protocol: string | null }>((res, rej) => {
        const server = createTlsServer(
          { cert: readFileSync(join(dir, "server.pem")), key: readFileSync(join(dir, "server.key")), ALPNProtocols: ["x-amzn-mqtt-ca"] },
          (socket) => {
            res({ alpn: socket.alpnProtocol, protocol: socket.getProtocol() });
            socket.destroy();
            server.close();
          },
        );
        server.once("error", rej);
        server.listen(443, "127.0.0.1");
      });
      const id = identity(443);
      const client = mqtt.connect({
        ...clientOptions({
          ...id,
          settings: { ...id.settings, endpoint: "localhost" },
          cert: readFileSync(device.cert),
          key: readFileSync(device.key),
          ca: readFileSync(pki.ca),
        }),
        host: "127.0.0.1",
      });
      client.on("error", () => undefined);
      const { alpn, protocol } = await seen;
      client.end(true);
      assert.equal(alpn, "x-amzn-mqtt-ca");
      assert.match(String(protocol), /^TLSv1\.[23]$/);
    },
  );
});

describe("standalone identity and policy", { skip: skip && `skipped: ${skip}` }, () => {
  it("an expired or not yet valid certificate is an error naming the file", () => {
    const dir = tempDir("defender-identity-");
    const pki = new Pki(dir);
    const device = pki.issue("device", "gw-1");
    chmodSync(device.key, 0o600);
    const settings = { endpoint: "localhost", port: 8883, cert: device.cert, key: device.key, "root-ca": pki.ca, "thing-name": "gw-1" };
    assert.deepEqual(loadIdentity(settings).identity!.warnings, []);
    const later = loadIdentity(settings, Date.now() + 3 * 86_400_000).identity!.warnings; // the test certificates last 2 days
    assert.deepEqual(
      later.map((w) => [w.level, w.event, w.fields.file]),
      [["ERROR", "mqtt.certificate_expired", device.cert]],
    );
    const earlier = loadIdentity(settings, Date.now() - 86_400_000).identity!.warnings;
    assert.deepEqual(
      earlier.map((w) => [w.level, w.event]),
      [["ERROR", "mqtt.certificate_not_yet_valid"]],
    );
  });

  it("the README's IoT policy grants exactly what the test broker's ACL allows", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = readme.slice(readme.indexOf("### The IoT policy"));
    const policy = JSON.parse(block.slice(block.indexOf("```json") + 7, block.indexOf("```", block.indexOf("```json") + 7))) as {
      Statement: Array<{ Action: string; Resource: string | string[] }>;
    };
    const granted = new Set<string>();
    for (const st of policy.Statement) {
      for (const arn of [st.Resource].flat()) {
        const [, kind, name] = /^arn:aws:iot:[^:]+:\d+:(client|topic|topicfilter)\/(.*)$/.exec(arn)!;
        if (st.Action === "iot:Connect") assert.equal(`${kind}/${name}`, "client/my-gateway", "connects as its client id only");
        else granted.add(`${st.Action === "iot:Publish" ? "write" : "read"} ${name}`);
      }
    }
    // Subscribe and Receive go together: each answer topic is in both, as the ACL's one "read".
    const subscribe = policy.Statement.find((s) => s.Action === "iot:Subscribe")!.Resource;
    const receive = policy.Statement.find((s) => s.Action === "iot:Receive")!.Resource;
    assert.deepEqual(
      [subscribe].flat().map((a) => a.replace("topicfilter/", "topic/")),
      [receive].flat(),
    );
    const acl = new Set(
      deviceAcl("my-gateway")
        .filter((l) => l.startsWith("topic "))
        .map((l) => l.slice("topic ".length)),
    );
    assert.deepEqual([...granted].sort(), [...acl].sort());
  });
});
