// The component on the real nucleus lite (built from ../shared/greengrass-lite): its recipe run by
// lite's recipe-runner, its IPC served by ggipcd, its reports carried by iotcored over mutual TLS
// to mosquitto standing in for IoT Core, where a service double answers as Device Defender does.
// Skips with one line where lite cannot run (not root, no cgroup v2, packages missing).

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { COMPONENT_NAME, versionedRecipe } from "../scripts/recipe.js";
import { BUNDLE, VERSION } from "./bundle.js";
import { ROOT, copyFixture, maybe } from "./helpers.js";
import { LiteCore, type Proc, liteUnavailable } from "./lite/harness.js";
import { DeviceDefenderService } from "./nucleus/cloud.js";
import { recipeDefaults } from "./nucleus/harness.js";
import { MQTTPROXY, PUBSUB, isGranted } from "../src/greengrass/access-control.js";

const skip = liteUnavailable();
const THING = "lite-test-thing";
const WATCHER = "com.example.ViolationWatcher";
/** One configured second lasts 5 ms: the 300 s interval is 1.5 s. */
const MS_PER_SECOND = "5";

/**
 * Grants and the requests ggipcd is asked to authorize under each (one component per grant):
 * lite's own matching, where it differs from the Java nucleus (ipc_authz.c, mqttproxy.c).
 */
const AUTHZ: Array<{ service: string; policy: Record<string, unknown>; requests: string[] }> = [
  {
    service: MQTTPROXY,
    policy: { operations: ["aws.greengrass#PublishToIoTCore"], resources: ["$aws/things/+/defender/metrics/json"] },
    requests: [`$aws/things/${THING}/defender/metrics/json`, "$aws/things/a/b/defender/metrics/json", "$aws/things//defender/metrics/json"],
  },
  { service: MQTTPROXY, policy: { operations: ["aws.greengrass#PublishToIoTCore"], resources: ["a/b+"] }, requests: ["a/bc", "a/b", "a/b/c"] },
  { service: MQTTPROXY, policy: { operations: ["aws.greengrass#PublishToIoTCore"], resources: ["a/#"] }, requests: ["a", "a/b/c", "ab"] },
  { service: MQTTPROXY, policy: { operations: ["aws.greengrass#PublishToIoTCore"], resources: ["a#"] }, requests: ["abc", "b"] },
  {
    service: MQTTPROXY,
    policy: { operations: ["aws.greengrass#PublishToIoTCore"], resources: ["$aws/things/{iot:thingName}/x"] },
    requests: [`$aws/things/${THING}/x`, "$aws/things/other/x"],
  },
  { service: MQTTPROXY, policy: { operations: ["*"], resources: ["x/*/z"] }, requests: ["x/y/y/z", "x/z"] },
  { service: MQTTPROXY, policy: { operations: ["aws.greengrass#publishtoiotcore"], resources: ["*"] }, requests: ["anything"] },
  { service: MQTTPROXY, policy: { Operations: ["aws.greengrass#PublishToIoTCore"], Resources: ["*"] }, requests: ["anything"] },
  { service: PUBSUB, policy: { operations: ["aws.greengrass#PublishToTopic"], resources: ["a/+"] }, requests: ["a/x", "a/+"] },
  { service: PUBSUB, policy: { operations: ["aws.greengrass#PublishToTopic"], resources: ["a/${*}", "b/*"] }, requests: ["a/*", "a/b", "b/c/d"] },
];
const authzComponent = (i: number) => `com.example.Authz${i}`;
const streamOf = (line: string) => Number(/"stream":(\d+)/.exec(line)?.[1]);

describe("on nucleus lite", { skip: skip && `skipped: ${skip}` }, () => {
  let lite: LiteCore;
  let service: mqtt.MqttClient;
  let component: Proc;
  let watcher: Proc;
  /** Answers as Device Defender does (JSON or CBOR, as the report came); 0: never throttles. */
  const defender = new DeviceDefenderService(0);

  before(async () => {
    const procRoot = copyFixture("tricky");
    lite = await LiteCore.start({
      thingName: THING,
      components: {
        [COMPONENT_NAME]: {
          version: VERSION,
          configuration: {
            ...recipeDefaults(),
            ProcRoot: procRoot,
            DefaultProfile: "false",
            // Only port 22 is expected: the fixture's listeners on 53 and 80 break the rule at once.
            SecurityProfiles: [
              {
                securityProfileName: "KnownPorts",
                behaviors: [
                  { name: "OnlyKnownTcpPorts", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "in-port-set", value: { ports: [22] } } },
                ],
              },
            ],
          },
        },
        ...Object.fromEntries(
          AUTHZ.map((c, i) => [
            authzComponent(i),
            { version: "1.0.0", configuration: { accessControl: { [c.service]: { [`${authzComponent(i)}:1`]: c.policy } } } },
          ]),
        ),
        [WATCHER]: {
          version: "1.0.0",
          configuration: {
            accessControl: {
              "aws.greengrass.ipc.pubsub": { [`${WATCHER}:pubsub:1`]: { operations: ["aws.greengrass#SubscribeToTopic"], resources: ["defender/violations"] } },
            },
          },
        },
      },
    });
    lite.install(COMPONENT_NAME, VERSION, versionedRecipe(readFileSync(join(ROOT, "recipe.yaml"), "utf8"), VERSION), { "defender.js": BUNDLE });
    // The service double: its own certificate, answering each report as Device Defender does.
    const id = lite.pki.issue("service", "device-defender-double");
    service = mqtt.connect({
      host: "127.0.0.1",
      port: 8883,
      protocol: "mqtts",
      ca: readFileSync(lite.pki.ca),
      cert: readFileSync(id.cert),
      key: readFileSync(id.key),
      servername: "localhost",
      reconnectPeriod: 0,
    });
    await new Promise<void>((res, rej) => {
      service.once("connect", () => res());
      service.once("error", rej);
    });
    await service.subscribeAsync("$aws/things/+/defender/metrics/+", { qos: 1 });
    service.on("message", (topic, payload) => {
      const answer = defender.receive(topic, payload);
      if (answer) void service.publishAsync(answer.topic, answer.payload, { qos: 1 });
    });
    watcher = lite.ipc(WATCHER, [{ op: "aws.greengrass#SubscribeToTopic", payload: { topic: "defender/violations" } }]);
    // Local pub/sub keeps nothing for later subscribers: the watcher listens before the component starts.
    await watcher.waitForLine(/SubscribeToTopicResponse/);
  });

  after(async () => {
    if (process.env.LITE_LOGS) {
      for (const [name, p] of [["component", maybe(component)], ["watcher", maybe(watcher)], ...lite.daemons, ["mosquitto", lite.broker]] as const)
        writeFileSync(join(process.env.LITE_LOGS, `${name}.log`), p ? p.lines.join("\n") : "");
    }
    maybe(component)?.child.kill("SIGKILL");
    maybe(watcher)?.child.kill("SIGKILL");
    await maybe(service)?.endAsync(true);
    await maybe(lite)?.stop();
  });

  it("lite's recipe runner takes the recipe: its install step passes", async () => {
    const install = lite.step(COMPONENT_NAME, VERSION, "install");
    const { code } = await install.exited;
    assert.equal(code, 0, install.lines.join("\n"));
  });

  it("the first report reaches IoT Core on the json topic and its accepted answer comes back through lite", async () => {
    component = lite.step(COMPONENT_NAME, VERSION, "run", { DEFENDER_TEST_MS_PER_SECOND: MS_PER_SECOND });
    await component.waitForLine(/INFO component\.starting .*runtime=lite max_report_bytes=7200/);
    // lite has no validation subscription: said once, with its own error and what happens instead.
    const refused = await component.waitForLine(/WARN ipc\.operation_unavailable operation=SubscribeToValidateConfigurationUpdates/);
    assert.match(refused, /reason="ServiceError: the runtime gave no message" fallback="each configuration update is checked as it arrives/);
    await component.waitForLine(/INFO report\.accepted report_id=/);
    const first = defender.reports[0]!;
    assert.deepEqual([first.format, first.thingName, first.outcome, first.problem], ["json", THING, "accepted", undefined]);
    assert.equal(component.lines.filter((l) => l.includes("ipc.operation_unavailable")).length, 1, "said once");
    // lite's own account: iotcored sent the report and received the answer it passed back.
    // (Waited for, not looked up: its output comes down another pipe than the component's.)
    const iotcored = lite.daemons.get("iotcored")!;
    await iotcored.waitForLine(new RegExp(`Publish sent on: \\$aws/things/${THING}/defender/metrics/json$`));
    await iotcored.waitForLine(new RegExp(`Received publish id \\d+ on topic \\$aws/things/${THING}/defender/metrics/json/accepted\\.`));
  });

  it("a violation reaches the local topic through ggpubsubd", async () => {
    const line = await watcher.waitForLine(/"violationEventType\\?":\\?"in-alarm/);
    assert.match(line, /OnlyKnownTcpPorts/);
  });

  it("a configuration update through ggconfigd is applied live: the next report is CBOR", async () => {
    const from = component.lines.length;
    const update = lite.ipc(COMPONENT_NAME, [
      { op: "aws.greengrass#UpdateConfiguration", payload: { keyPath: [], valueToMerge: { Format: "cbor" }, timestamp: Date.now() / 1000 } },
    ]);
    await update.waitForLine(/"stream":1/);
    update.child.kill("SIGKILL");
    await component.waitForLine(/INFO config\.applied .*Format=cbor/, 60_000, from);
    const published = await component.waitForLine(/INFO report\.published .*defender\/metrics\/cbor/, 60_000, from);
    const id = /report_id=(\d+)/.exec(published)![1];
    await component.waitForLine(new RegExp(`INFO report\\.accepted report_id=${id} `), 60_000, from);
    await lite.daemons.get("iotcored")!.waitForLine(new RegExp(`Publish sent on: \\$aws/things/${THING}/defender/metrics/cbor$`));
    const cbor = defender.reports.filter((r) => r.format === "cbor");
    assert.ok(cbor.length > 0 && cbor.every((r) => r.outcome === "accepted"), JSON.stringify(defender.reports.map((r) => [r.format, r.outcome, r.problem])));
  });

  it("asks IoT Core for its four answer topics only, each once, across the format change (a core's connection may hold 50)", () => {
    // mosquitto logs each SUBSCRIBE as "<time>: <client id> <qos> <topic>"; lite's iotcored connects as the thing.
    const subscribed = lite.broker!.lines.flatMap((l) => {
      const m = new RegExp(`^\\d+: ${THING} \\d (\\S+)$`).exec(l);
      return m ? [m[1]!] : [];
    });
    const answers = ["json", "cbor"].flatMap((f) => ["accepted", "rejected"].map((o) => `$aws/things/${THING}/defender/metrics/${f}/${o}`));
    assert.deepEqual(subscribed.sort(), answers.sort());
  });

  it("a bad value is refused with its key and rule, and the last good value stays", async () => {
    const from = component.lines.length;
    const update = lite.ipc(COMPONENT_NAME, [
      { op: "aws.greengrass#UpdateConfiguration", payload: { keyPath: [], valueToMerge: { MaxListEntries: "0" }, timestamp: Date.now() / 1000 } },
    ]);
    await update.waitForLine(/"stream":1/);
    update.child.kill("SIGKILL");
    const line = await component.waitForLine(/ERROR config\.rejected key=MaxListEntries/, 60_000, from);
    assert.match(line, /value=0 rule="must be a whole number at least 1 and at most 10000" kept=100/);
  });

  it("authorizes as the component reads lite's rules: ggipcd's answers match isGranted for lite, case for case", async () => {
    const disagreements: string[] = [];
    for (const [i, c] of AUTHZ.entries()) {
      const op = c.service === MQTTPROXY ? "aws.greengrass#PublishToIoTCore" : "aws.greengrass#PublishToTopic";
      const payload = (topic: string) =>
        c.service === MQTTPROXY ? { topicName: topic, qos: "0", payload: "" } : { topic, publishMessage: { jsonMessage: { message: {} } } };
      const client = lite.ipc(
        authzComponent(i),
        c.requests.map((r) => ({ op, payload: payload(r) })),
      );
      // One answer frame per request stream (the connection's own frames are on stream 0).
      const answered = () => client.lines.filter((l) => streamOf(l) > 0);
      for (let waited = 0; answered().length < c.requests.length; waited += 50) {
        if (waited > 20_000) throw new Error(`ggipcd answered ${answered().length} of ${c.requests.length}:\n${client.lines.join("\n")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const answers = new Map(answered().map((l) => [streamOf(l), !/UnauthorizedError/.test(l)]));
      client.child.kill("SIGKILL");
      for (const [k, request] of c.requests.entries()) {
        const lite = answers.get(k + 1);
        const ours = isGranted({ [c.service]: { p: c.policy } }, c.service, op, request, "lite", THING);
        if (lite !== ours) disagreements.push(`${JSON.stringify(c.policy)} on ${request}: ggipcd ${lite ? "allows" : "refuses"}, isGranted says ${ours}`);
      }
    }
    assert.deepEqual(disagreements, []);
  });

  it("stops cleanly when lite stops its unit", async () => {
    lite.stopUnit(COMPONENT_NAME);
    const { code, signal } = await component.exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, "exit 0 on SIGTERM, as a unit that stopped cleanly");
    assert.ok(
      component.lines.some((l) => /INFO component\.stopped accepted=\d+ rejected=0/.test(l)),
      component.lines.slice(-10).join("\n"),
    );
  });
});
