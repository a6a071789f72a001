// The agent core on its own, behind the one port: a Transport kept in memory stands for
// Greengrass or MQTT. A configuration starts sampling; the sample is judged (a violation to both
// targets) and reported; an answer settles the report; a lost connection holds reports back.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import type { Transport } from "../src/agent/transport.js";
import { DEFAULT_CONFIG } from "../src/config/schema.js";
import { Edge } from "../src/core/edge.js";
import { WorkDir } from "../src/store/files.js";
import { copyFixture, recordingLogger, tempDir } from "./helpers.js";

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !ok(); i++) await sleep(5);
  assert.ok(ok(), what);
}

describe("Edge: the core behind the transport port", () => {
  it("samples once configured, judges and reports through the port, and settles the report by its answer", async () => {
    const cloud: Array<{ topic: string; payload: string }> = [];
    const local: Array<{ topic: string; message: Record<string, unknown> }> = [];
    let holder: string | undefined = "instance-1";
    const transport: Transport = {
      holder: () => holder,
      publishToIoTCore: (topic, payload) => {
        cloud.push({ topic, payload: typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8") });
        return Promise.resolve();
      },
      publishLocal: (topic, message) => {
        local.push({ topic, message });
        return Promise.resolve();
      },
    };
    const log = recordingLogger();
    // One configured second is an hour: only the first sample happens within the test.
    const edge = new Edge({ work: new WorkDir(tempDir(), log), thingName: "gw-1", log, msPerSecond: 3_600_000, transport, offline: "nobody to take it" });
    edge.connected("instance-1");
    edge.configure({
      ...DEFAULT_CONFIG,
      ProcRoot: copyFixture("tricky"),
      DefaultProfile: false,
      ViolationIoTTopic: "defender/violations/{thing}",
      SecurityProfiles: [
        {
          securityProfileName: "KnownPorts",
          behaviors: [{ name: "OnlyTcp22", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "in-port-set", value: { ports: [22] } } }],
        },
      ],
    });
    await until("a report and the violation on IoT Core", () => cloud.length >= 2);
    const report = cloud.find((c) => c.topic === "$aws/things/gw-1/defender/metrics/json");
    assert.ok(report, JSON.stringify(cloud.map((c) => c.topic)));
    const reportId = (JSON.parse(report.payload) as { header: { report_id: number } }).header.report_id;
    assert.ok(cloud.some((c) => c.topic === "defender/violations/gw-1" && c.payload.includes('"in-alarm"')));
    await until("the violation on the local topic", () => local.length === 1);
    assert.equal(local[0]!.topic, "defender/violations");
    // The answer settles it.
    edge.answer({ reportId, accepted: true });
    assert.equal(edge.summary().accepted, 1);
    assert.equal(edge.summary().violations_pending, 0);
    // Lost: the next sample has nobody to take its report, and says so.
    holder = undefined;
    edge.lost();
    await edge.agent.tick();
    assert.ok(
      log.lines.some((l) => l.startsWith("WARN report.not_delivered reason=nobody to take it")),
      log.lines.join("\n"),
    );
    await edge.stop();
  });
});
