// nucleus lite's fixed buffers, checked against the bytes our IPC transport really writes.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serializePublishToIoTCoreRequestToEventstreamMessage } from "aws-iot-device-sdk-v2/dist/greengrasscoreipc/model_utils";
import { Header, encodeFrame } from "../src/greengrass/eventstream/connection.js";
import { LITE_MAX_REPORT_BYTES, maxReportBytes, runtimeOf } from "../src/greengrass/runtime.js";
import { reportTopic } from "../src/report/topics.js";
import { configKeys } from "../src/config/schema.js";
import { lintProfile } from "../src/detect/lint.js";

/** ggipcd/src/ipc_server.h: the largest frame lite reads; a larger one costs the connection. */
const GGL_IPC_MAX_MSG_LEN = 10_000;

function publishFrame(thing: string, bytes: number): Uint8Array {
  const message = serializePublishToIoTCoreRequestToEventstreamMessage({
    topicName: reportTopic(thing, "json"),
    qos: "1" as never,
    payload: Buffer.alloc(bytes, 0x7b),
  });
  return encodeFrame(message as never, 2 ** 31 - 1, [Header.newString("operation", "aws.greengrass#PublishToIoTCore")]);
}

describe("nucleus lite limits", () => {
  it("a report of the cap fits lite's IPC frame for the longest thing name; one far above would not", () => {
    const thing = "t".repeat(128); // CreateThing: thingName is 1-128 characters
    assert.ok(publishFrame(thing, LITE_MAX_REPORT_BYTES).length <= GGL_IPC_MAX_MSG_LEN, `${publishFrame(thing, LITE_MAX_REPORT_BYTES).length} bytes`);
    assert.ok(publishFrame(thing, LITE_MAX_REPORT_BYTES + 300).length > GGL_IPC_MAX_MSG_LEN, "the cap is not needlessly low");
  });

  it("knows the runtime from the socket it was given", () => {
    assert.equal(runtimeOf("/var/lib/greengrass/gg-ipc.socket"), "lite");
    assert.equal(runtimeOf("/greengrass/v2/ipc.socket"), "nucleus");
    assert.equal(maxReportBytes("nucleus"), undefined, "the Java nucleus carries the service's 128 KB");
  });

  it("a profile whose scalars lite's YAML decoder made strings reads as the typed one; other strings stay strings", () => {
    // What ggconfigd hands back for a profile written in YAML (every scalar a string).
    const fromLite = {
      securityProfileName: "P",
      behaviors: [
        {
          name: "Ports",
          metric: "aws:listening-tcp-ports",
          criteria: { comparisonOperator: "in-port-set", value: { ports: ["22", "443"] }, consecutiveDatapointsToAlarm: "2" },
          suppressAlerts: "true",
        },
        {
          name: "Out",
          metric: "aws:all-bytes-out",
          criteria: { comparisonOperator: "greater-than", value: { count: "1000" }, durationSeconds: "300" },
          exportMetric: "false",
        },
        { name: "Names", metric: "custom-names", criteria: { comparisonOperator: "in-set", value: { strings: ["123", "true"] } } },
      ],
    };
    const [doc] = configKeys().SecurityProfiles.parse([fromLite]);
    const { profile, findings } = lintProfile(doc, { minStatisticalDatapoints: 30, intervalSeconds: 300 });
    assert.deepEqual(
      findings.filter((f) => f.level === "ERROR"),
      [],
    );
    const [ports, out, names] = profile!.behaviors!;
    assert.deepEqual([ports!.criteria!.value!.ports, ports!.criteria!.consecutiveDatapointsToAlarm, ports!.suppressAlerts], [[22, 443], 2, true]);
    assert.deepEqual([out!.criteria!.value!.count, out!.criteria!.durationSeconds, out!.exportMetric], [1000, 300, false]);
    assert.deepEqual(names!.criteria!.value!.strings, ["123", "true"], "a string list keeps its strings");
    // A string that does not read as a number is still refused by the schema, by its path.
    const [bad] = configKeys().SecurityProfiles.parse([
      {
        securityProfileName: "Q",
        behaviors: [{ name: "B", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "in-port-set", value: { ports: ["22a"] } } }],
      },
    ]);
    assert.match(
      lintProfile(bad, { minStatisticalDatapoints: 30, intervalSeconds: 300 })
        .findings.map((f) => f.message)
        .join("\n"),
      /expected number/,
    );
  });
});
