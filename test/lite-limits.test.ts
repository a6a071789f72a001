// nucleus lite's fixed buffers, checked against the bytes our IPC transport really writes.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serializePublishToIoTCoreRequestToEventstreamMessage } from "aws-iot-device-sdk-v2/dist/greengrasscoreipc/model_utils";
import { Header, encodeFrame } from "../src/greengrass/eventstream/connection.js";
import { LITE_MAX_REPORT_BYTES, maxReportBytes, runtimeOf } from "../src/greengrass/runtime.js";
import { reportTopic } from "../src/greengrass/topics.js";

/** ggipcd/src/ipc_server.h: the largest frame lite reads; a larger one costs the connection. */
const GGL_IPC_MAX_MSG_LEN = 10_000;

function publishFrame(thing: string, bytes: number): Uint8Array {
  const message = serializePublishToIoTCoreRequestToEventstreamMessage({ topicName: reportTopic(thing, "json"), qos: "1" as never, payload: Buffer.alloc(bytes, 0x7b) });
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
});
