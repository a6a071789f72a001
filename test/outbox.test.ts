// The violation outbox over a transport that is only a list: durable before delivery, in order
// per target, targets independent, a refusal said once with its fix, a bound with an honest
// count that survives a restart.

import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PublishRefused, type Transport } from "../src/agent/transport.js";
import { DEFAULT_CONFIG } from "../src/config/schema.js";
import type { ViolationEvent } from "../src/detect/alarms.js";
import { LEGACY_OUTBOX_FILE, OUTBOX_FOLDER, OUTBOX_MAX_BYTES, ViolationOutbox } from "../src/outbox/violation-outbox.js";
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
    box.add([event(1), event(2), event(3)], config, true);
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
    first.add([event(1), event(2)], config, true);
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
    box.add([event(1), event(2)], config, true);
    await box.deliver(transport, config);
    box.add([event(3)], config, true);
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
    box.add([event(1)], config, true);
    await box.deliver(transport, config);
    assert.deepEqual(local, []);
    assert.equal(box.pending, 1);
  });

  it("a transport without a local bus (standalone) delivers to IoT Core alone", async () => {
    const box = new ViolationOutbox(new WorkDir(tempDir(), recordingLogger()), recordingLogger(), "gw-1");
    const { transport, iot } = fakeTransport();
    const noBus: Transport = { holder: () => transport.holder(), publishToIoTCore: (topic, payload) => transport.publishToIoTCore(topic, payload) };
    box.add([event(1), event(2)], config, true);
    await box.deliver(noBus, config);
    assert.deepEqual(
      iot.map((x) => x.id),
      ["v1", "v2"],
    );
    assert.equal(box.pending, 0);
  });

  it("at its bound the oldest a target has not taken go, counted per target, a count that never goes back across restarts", async () => {
    const dir = tempDir();
    const log = recordingLogger();
    const box = new ViolationOutbox(new WorkDir(dir, log), log, "gw-1");
    const { transport, local, t } = fakeTransport();
    t.refuseIot = new PublishRefused("offline", "PublishToIoTCore");
    const one = Buffer.byteLength(JSON.stringify(event(100000)));
    const n = Math.ceil(OUTBOX_MAX_BYTES / one / 100) * 200; // whole rounds of 100, twice the bound
    for (let i = 0; i < n; i += 100) {
      box.add(
        Array.from({ length: 100 }, (_, k) => event(100000 + i + k)),
        config,
        true,
      );
      await box.deliver(transport, config);
    }
    assert.equal(local.length, n, "the local topic took every event: its target is independent, nothing dropped for it");
    assert.equal(box.dropped.local, 0);
    const dropped = box.dropped.iot!;
    assert.ok(dropped > 0 && dropped < n, `${dropped} of ${n} lost to IoT Core at the bound`);
    assert.equal(dropped + box.pending, n, "every event is delivered, pending or counted as dropped");
    const full = log.lines.filter((l) => l.startsWith("ERROR violation.outbox_full"));
    assert.equal(full.length, 1, "said once until the target catches up");
    assert.match(full[0]!, /target=iot /);
    const again = new ViolationOutbox(new WorkDir(dir, log), log, "gw-1");
    assert.equal(again.dropped.iot, dropped, "the count survives a restart");
    again.add(
      Array.from({ length: n }, (_, k) => event(900000 + k)),
      config,
      true,
    );
    assert.ok(again.dropped.iot > dropped, "and only grows");
  });

  it("a hung IoT Core publish never starves the local topic (3,000 events, 100 flapping behaviors)", async () => {
    const box = new ViolationOutbox(new WorkDir(tempDir(), recordingLogger()), recordingLogger(), "gw-1");
    const local: string[] = [];
    let release: () => void = () => undefined;
    const hung = new Promise<void>((r) => (release = r));
    const transport: Transport = {
      holder: () => "h1",
      publishToIoTCore: () => hung,
      publishLocal: (_topic, message) => {
        local.push(String(message.violationId));
        return Promise.resolve();
      },
    };
    const iotDone: Array<Promise<void>> = [];
    for (let round = 0; round < 30; round++) {
      box.add(
        Array.from({ length: 100 }, (_, b) => event(round * 100 + b)),
        config,
        true,
      );
      iotDone.push(box.deliver(transport, config));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(local.length, 3000, "every event reached the healthy local topic while IoT Core hung");
    release();
    await Promise.all(iotDone);
  });

  it("writes what changed: events are appended to segments never rewritten, delivery moves a small cursor file", async () => {
    const dir = tempDir();
    const box = new ViolationOutbox(new WorkDir(dir, recordingLogger()), recordingLogger(), "gw-1");
    const { transport, t } = fakeTransport();
    t.refuseIot = new PublishRefused("offline", "PublishToIoTCore");
    const folder = join(dir, OUTBOX_FOLDER);
    const seen = new Map<string, { ino: number; text: string }>();
    for (let i = 0; i < 20; i++) {
      box.add([event(i)], config, true);
      await box.deliver(transport, config);
      for (const f of readdirSync(folder).filter((n) => n.endsWith(".ndjson"))) {
        const text = readFileSync(join(folder, f), "utf8");
        const before = seen.get(f);
        if (before) {
          assert.equal(statSync(join(folder, f)).ino, before.ino, `${f} was rewritten`);
          assert.ok(text.startsWith(before.text), `${f} changed what it held`);
        }
        seen.set(f, { ino: statSync(join(folder, f)).ino, text });
      }
    }
    assert.ok(statSync(join(folder, "cursors.json")).size < 300, "the cursors are a few bytes");
  });

  it("an outbox.json of an earlier version joins the queue as it was, with its dropped count, and goes", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, LEGACY_OUTBOX_FILE),
      JSON.stringify({
        kind: "community.greengrass.DeviceDefender/outbox",
        entries: [
          { key: "a", event: event(1), local: true, iot: false },
          { key: "b", event: event(2), local: false, iot: false },
        ],
        dropped: 7,
      }),
    );
    const log = recordingLogger();
    const box = new ViolationOutbox(new WorkDir(dir, log), log, "gw-1");
    assert.equal(existsSync(join(dir, LEGACY_OUTBOX_FILE)), false);
    assert.deepEqual(box.dropped, { local: 7, iot: 7 });
    const { transport, local, iot } = fakeTransport();
    await box.deliver(transport, config);
    assert.deepEqual(local, ["v2"], "v1 had reached the local topic already");
    assert.deepEqual(
      iot.map((x) => x.id),
      ["v1", "v2"],
    );
  });

  it("a suppressed behavior's events go to the local topic, not to the alert path (ViolationIoTTopic)", async () => {
    const box = new ViolationOutbox(new WorkDir(tempDir(), recordingLogger()), recordingLogger(), "gw-1");
    const { transport, local, iot } = fakeTransport();
    const quiet = { ...event(2), behavior: { ...event(2).behavior, suppressAlerts: true } };
    box.add([event(1), quiet, event(3)], config, true);
    await box.deliver(transport, config);
    assert.deepEqual(local, ["v1", "v2", "v3"]);
    assert.deepEqual(
      iot.map((x) => x.id),
      ["v1", "v3"],
    );
    assert.equal(box.pending, 0);
  });
});
