// The nucleus double's own rules, checked against what the nucleus source says (each rule cites
// it in test/nucleus/*.ts), and the component's reading of accessControl checked against the
// double's independent one.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isGranted } from "../src/greengrass/access-control.js";
import { MQTTPROXY, PUBSUB, authorize, resourceMatches } from "./nucleus/authorization.js";
import { ConfigStore } from "./nucleus/config-store.js";
import { recipeDefaults } from "./nucleus/harness.js";
import { CoreMqtt, MqttRequestError, topicProblem } from "./nucleus/mqtt.js";

const PUB = "aws.greengrass#PublishToIoTCore";

describe("nucleus double: authorization", () => {
  const acl = (service: string, resources: string[], operations = [PUB]) => ({ accessControl: { [service]: { "p:1": { operations, resources } } } });

  it("MQTT wildcards for mqttproxy, globs everywhere, literal + and # for pubsub, escapes, invalid ?", () => {
    const cases: Array<[string, string, boolean, boolean]> = [
      ["$aws/things/+/defender/metrics/json", "$aws/things/gw-1/defender/metrics/json", true, true],
      ["$aws/things/+/defender/metrics/json", "$aws/things/a/b/defender/metrics/json", true, false],
      ["$aws/things/+/defender/metrics/json", "$aws/things/gw-1/defender/metrics/cbor", true, false],
      ["a/#", "a", true, true],
      ["a/#", "a/b/c", true, true],
      ["a/#", "ab", true, false],
      ["a/b+", "a/b+", true, true],
      ["a/b+", "a/bc", true, false],
      ["a/+", "a/+", false, true],
      ["a/+", "a/x", false, false],
      ["factory/*/status", "factory/1/2/status", false, true],
      ["*", "anything/at/all", true, true],
      ["a/${*}", "a/*", false, true],
      ["a/${*}", "a/b", false, false],
      ["a/?", "a/?", false, false],
      ["$aws/things/{iot:thingName}/defender/metrics/json", "$aws/things/gw-1/defender/metrics/json", true, false],
    ];
    for (const [pattern, resource, mqtt, expected] of cases) {
      assert.equal(resourceMatches(pattern, resource, mqtt), expected, `${pattern} ${mqtt ? "(mqtt)" : "(standard)"} vs ${resource}`);
      const service = mqtt ? MQTTPROXY : PUBSUB;
      const op = mqtt ? PUB : "aws.greengrass#PublishToTopic";
      assert.equal(isGranted(acl(service, [pattern], [op]).accessControl, service, op, resource), expected, `the component agrees: ${pattern} vs ${resource}`);
    }
  });

  it("refuses an operation the policy does not list, and accepts * for any registered one", () => {
    assert.equal(authorize("c", acl(MQTTPROXY, ["t"]), MQTTPROXY, "aws.greengrass#SubscribeToIoTCore", "t").allowed, false);
    assert.equal(authorize("c", acl(MQTTPROXY, ["t"], ["*"]), MQTTPROXY, "aws.greengrass#SubscribeToIoTCore", "t").allowed, true);
    const d = authorize("c", {}, PUBSUB, "aws.greengrass#PublishToTopic", "x");
    assert.equal(d.detail, "Principal c is not authorized to perform aws.greengrass.ipc.pubsub:aws.greengrass#PublishToTopic on resource x");
  });

  it("the 1.0.0 recipe's {iot:thingName} grants allow nothing on a default nucleus, and work only with interpolateComponentConfiguration", () => {
    const old = { accessControl: { [MQTTPROXY]: { "x:1": { operations: [PUB], resources: ["$aws/things/{iot:thingName}/defender/metrics/*"] } } } };
    const plain = new ConfigStore({ defaults: old, interpolate: false, variables: { "iot:thingName": "gw-1" } });
    assert.equal(authorize("c", plain.snapshot(), MQTTPROXY, PUB, "$aws/things/gw-1/defender/metrics/json").allowed, false);
    const interpolated = new ConfigStore({ defaults: old, interpolate: true, variables: { "iot:thingName": "gw-1" } });
    assert.equal(authorize("c", interpolated.snapshot(), MQTTPROXY, PUB, "$aws/things/gw-1/defender/metrics/json").allowed, true);
  });

  it("the recipe's grants allow its own topics, for any thing name, and nothing else", () => {
    const store = new ConfigStore({ defaults: recipeDefaults(), interpolate: false, variables: {} });
    const can = (service: string, op: string, r: string) => authorize("c", store.snapshot(), service, `aws.greengrass#${op}`, r).allowed;
    for (const f of ["json", "cbor"]) {
      assert.ok(can(MQTTPROXY, "PublishToIoTCore", `$aws/things/gw-1/defender/metrics/${f}`));
      for (const o of ["accepted", "rejected"]) assert.ok(can(MQTTPROXY, "SubscribeToIoTCore", `$aws/things/gw-1/defender/metrics/${f}/${o}`));
    }
    assert.ok(can(MQTTPROXY, "PublishToIoTCore", "defender/violations/gw-1"));
    assert.ok(can(PUBSUB, "PublishToTopic", "defender/violations"));
    assert.ok(!can(MQTTPROXY, "PublishToIoTCore", "$aws/things/gw-1/shadow/update"));
    assert.ok(!can(MQTTPROXY, "PublishToIoTCore", "$aws/things/gw-1/defender/metrics/json/accepted"));
    assert.ok(!can(MQTTPROXY, "SubscribeToIoTCore", "$aws/things/+/defender/metrics/json/accepted/x"));
    assert.ok(!can(PUBSUB, "PublishToTopic", "defender/violations/other"));
  });
});

describe("nucleus double: configuration store", () => {
  const defaults = { Format: "json", Nested: { A: "1", B: "2" }, accessControl: { x: {} } };

  it("keys are case-insensitive and keep their first spelling; _ keys are dropped; a leaf is wrapped", () => {
    const store = new ConfigStore({ defaults, interpolate: false, variables: {} });
    store.replace(store.resolve({ format: "cbor", _comment: "mine", nested: { a: "9" } }, []));
    assert.deepEqual(store.snapshot(), { Format: "cbor", Nested: { A: "9", B: "2" }, accessControl: { x: {} } });
    assert.deepEqual(store.get(["FORMAT"]), { Format: "cbor" });
    assert.equal(store.get(["missing"]), undefined);
  });

  it("reset restores defaults and removes keys without one, with an event per changed leaf and per removed key", () => {
    const store = new ConfigStore({ defaults, interpolate: false, variables: {} });
    store.replace(store.resolve({ Format: "cbor", Extra: { Deep: 1 } }, []));
    const events = store.replace(store.resolve({}, ["/Format", "/Extra"]));
    assert.deepEqual(events.map((e) => e.join("/")).sort(), ["Extra", "Format"]);
    assert.equal((store.get(["Format"]) as Record<string, unknown>).Format, "json");
    assert.equal(store.get(["Extra"]), undefined);
    assert.deepEqual(store.resolve({}, [""]).toPOJO(), defaults, "an empty pointer resets everything");
  });
});

describe("nucleus double: the core's MQTT connection and spooler", () => {
  it("QoS 0 fails offline, QoS 1 waits in the spool and goes in order when online; a restart loses it", () => {
    const sent: string[] = [];
    const mqtt = new CoreMqtt((topic) => sent.push(topic), false);
    assert.throws(() => mqtt.publish("a/b", 0, Buffer.from("x")), new MqttRequestError("Device is offline. Dropping QoS 0 message."));
    mqtt.publish("a/1", 1, Buffer.from("x"));
    mqtt.publish("a/2", 1, Buffer.from("x"));
    assert.deepEqual(sent, []);
    mqtt.setOnline(true);
    assert.deepEqual(sent, ["a/1", "a/2"]);
    mqtt.setOnline(false);
    mqtt.publish("a/3", 1, Buffer.from("x"));
    assert.equal(mqtt.restart(), 1);
    mqtt.setOnline(true);
    assert.deepEqual(sent, ["a/1", "a/2"], "the restart lost the spooled message");
  });

  it("a full spool evicts QoS 0 first, then refuses; payload and topic limits", () => {
    const mqtt = new CoreMqtt(() => undefined, false, 10);
    mqtt.keepQos0WhenOffline = true;
    mqtt.publish("q0", 0, Buffer.alloc(6));
    mqtt.publish("q1", 1, Buffer.alloc(6));
    assert.deepEqual(
      mqtt.spooled.map((s) => s.topic),
      ["q1"],
      "the QoS 0 message made room",
    );
    assert.throws(() => mqtt.publish("q1b", 1, Buffer.alloc(6)), /Message spool is full\. Message could not be added\./);
    assert.throws(() => mqtt.publish("big", 1, Buffer.alloc(11)), /Message is larger than the size of message spool\./);
    const online = new CoreMqtt(() => undefined, true);
    assert.throws(
      () => online.publish("t", 1, Buffer.alloc(128 * 1024 + 1)),
      /The publishing message size 131073 bytes exceeds the configured limit of 131072 bytes/,
    );
    online.publish("t", 1, Buffer.alloc(128 * 1024));
    assert.match(topicProblem("a/+/b", true)!, /should not contain wildcard/);
    assert.equal(topicProblem("a/+/b", false), undefined);
    assert.match(topicProblem("1/2/3/4/5/6/7/8/9", true)!, /no more than 7 forward slashes/);
    assert.equal(topicProblem("$aws/rules/r/1/2/3/4/5/6/7/8", true), undefined, "the Basic Ingest prefix does not count");
    assert.match(topicProblem("x".repeat(257), true)!, /no larger than 256 bytes/);
  });
});
