// The violation outbox over a transport that is only a list: durable before delivery, in order
// per target, targets independent, a refusal said once with its fix, a bound with an honest
// count that survives a restart.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PublishRefused, type Transport } from "../src/agent/transport.js";
import { DEFAULT_CONFIG } from "../src/config/schema.js";
import type { ViolationEvent } from "../src/detect/alarms.js";
import { OUTBOX_MAX, ViolationOutbox } from "../src/outbox/violation-outbox.js";
import { WorkDir } from "../src/store/files.js";
import { recordingLogger, tempDir } from "./helpers.js";

const config = { ...DEFAULT_CONFIG, ViolationIoTTopic: "defender/violations/{thing}" };

function event(i: number, type: ViolationEvent["violationEventType"] = "in-alarm"): ViolationEvent {
  return {
    violationId: `v${i}`,
    thingName: "gw-1",
    securityProfileName: "P",
    behavior: { name: "B", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "in-port-set", value: { ports: [22] } } },
    metricValue: { ports: [22, 23] },
    violationEventType: type,
    violationEventTime: 1_790_000_000_000 + i,
  };
}

function fakeTransport() {
  const local: string[] = [];
  const iot: Array<{ topic: string; id: string }> = [];
  const t = {
    holder: "h1" as string | undefined,
    refuseLocal: undefined as PublishRefused | undefined,
    refuseIot: undefined as PublishRefused | undefined,
  };
  const transport: Transport = {
    holder: () => t.holder,
    // Each body runs in a promise's executor, as an async function's would: whatever it throws rejects.
    publishToIoTCore(topic, payload) {
      return new Promise<void>((resolve) => {
        if (t.refuseIot) throw t.refuseIot;
        iot.push({ topic, id: (JSON.parse(String(payload)) as { violationId: string }).violationId });
        resolve();
      });
    },
    publishLocal(_topic, message) {
      return new Promise<void>((resolve) => {
        if (t.refuseLocal) throw t.refuseLocal;
        local.push(String(message.violationId));
        resolve();
      });
    },
  };
  return { transport, local, iot, t };
}

describe("ViolationOutbox", () => {
  it("delivers every event to both targets, in order, then forgets it", async () => {
    const work = new WorkDir(tempDir(), recordingLogger());
    const box = new ViolationOutbox(work, recordingLogger(), "gw-1");
    const { transport, local, iot } = fakeTransport();
    box.add([event(1), event(2), event(3)], config);
    await box.deliver(transport, config);
    assert.deepEqual(local, ["v1", "v2", "v3"]);
    assert.deepEqual(
      iot,
      [1, 2, 3].map((i) => ({ topic: "defender/violations/gw-1", id: `v${i}` })),
    );
    assert.equal(box.pending, 0);
  });

  it("is durable before any delivery: a restart delivers what the last run could not", async () => {
    const dir = tempDir();
    const first = new ViolationOutbox(new WorkDir(dir, recordingLogger()), recordingLogger(), "gw-1");
    first.add([event(1), event(2)], config);
    const again = new ViolationOutbox(new WorkDir(dir, recordingLogger()), recordingLogger(), "gw-1");
    assert.equal(again.pending, 2);
    const { transport, local } = fakeTransport();
    await again.deliver(transport, config);
    assert.deepEqual(local, ["v1", "v2"]);
  });

  it("targets are independent: IoT Core refusing does not hold back the local topic; the refusal is said once, with its fix", async () => {
    const log = recordingLogger();
    const box = new ViolationOutbox(new WorkDir(tempDir(), log), log, "gw-1");
    const { transport, local, iot, t } = fakeTransport();
    t.refuseIot = new PublishRefused("UnauthorizedError: not allowed", "PublishToIoTCore", "grant PublishToIoTCore on defender/violations/gw-1");
    box.add([event(1), event(2)], config);
    await box.deliver(transport, config);
    box.add([event(3)], config);
    await box.deliver(transport, config);
    assert.deepEqual(local, ["v1", "v2", "v3"]);
    assert.equal(iot.length, 0);
    assert.equal(box.pending, 3, "kept until IoT Core takes them");
    const said = log.lines.filter((l) => l.startsWith("ERROR violation.not_published"));
    assert.equal(said.length, 1, log.lines.join("\n"));
    assert.match(said[0]!, /operation=PublishToIoTCore topic=defender\/violations\/gw-1 .*fix=grant PublishToIoTCore on defender\/violations\/gw-1/);
    t.refuseIot = undefined;
    await box.deliver(transport, config);
    assert.deepEqual(
      iot.map((x) => x.id),
      ["v1", "v2", "v3"],
      "in order once it is back",
    );
    assert.equal(box.pending, 0);
    assert.ok(log.lines.some((l) => l.startsWith("INFO violation.delivery_recovered target=iot")));
  });

  it("with no holder nothing is tried and nothing is lost", async () => {
    const box = new ViolationOutbox(new WorkDir(tempDir(), recordingLogger()), recordingLogger(), "gw-1");
    const { transport, local, t } = fakeTransport();
    t.holder = undefined;
    box.add([event(1)], config);
    await box.deliver(transport, config);
    assert.deepEqual(local, []);
    assert.equal(box.pending, 1);
  });

  it("a transport without a local bus (standalone) delivers to IoT Core alone", async () => {
    const box = new ViolationOutbox(new WorkDir(tempDir(), recordingLogger()), recordingLogger(), "gw-1");
    const { transport, iot } = fakeTransport();
    const noBus: Transport = { holder: () => transport.holder(), publishToIoTCore: (topic, payload) => transport.publishToIoTCore(topic, payload) };
    box.add([event(1), event(2)], config);
    await box.deliver(noBus, config);
    assert.deepEqual(
      iot.map((x) => x.id),
      ["v1", "v2"],
    );
    assert.equal(box.pending, 0);
  });

  it("at its bound the oldest go, said with a count that never goes back, across restarts", () => {
    const dir = tempDir();
    const log = recordingLogger();
    const box = new ViolationOutbox(new WorkDir(dir, log), log, "gw-1");
    box.add(
      Array.from({ length: OUTBOX_MAX + 5 }, (_, i) => event(i)),
      config,
    );
    assert.equal(box.pending, OUTBOX_MAX);
    assert.equal(box.counts.dropped, 5);
    const again = new ViolationOutbox(new WorkDir(dir, log), log, "gw-1");
    again.add([event(OUTBOX_MAX + 10), event(OUTBOX_MAX + 11)], config);
    assert.equal(again.counts.dropped, 7, "5 before the restart and 2 after");
    const totals = log.lines.filter((l) => l.startsWith("ERROR violation.outbox_full")).map((l) => Number(/dropped_total=(\d+)/.exec(l)![1]));
    assert.deepEqual(totals, [5, 7]);
  });

  it("a suppressed behavior's events go to the local topic, not to the alert path (ViolationIoTTopic)", async () => {
    const box = new ViolationOutbox(new WorkDir(tempDir(), recordingLogger()), recordingLogger(), "gw-1");
    const { transport, local, iot } = fakeTransport();
    const quiet = { ...event(2), behavior: { ...event(2).behavior, suppressAlerts: true } };
    box.add([event(1), quiet, event(3)], config);
    await box.deliver(transport, config);
    assert.deepEqual(local, ["v1", "v2", "v3"]);
    assert.deepEqual(
      iot.map((x) => x.id),
      ["v1", "v3"],
    );
    assert.equal(box.pending, 0);
  });
});
