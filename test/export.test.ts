// Metrics export: what goes out (only the marked metrics, in the service's export schema, split to
// fit a message), its durable outbox, the grant a profile's topic needs, and end to end through
// the nucleus double: the datapoints of a sample reach the export topic with the sample's traffic.

import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { PublishRefused, type Transport } from "../src/agent/transport.js";
import { DEFAULT_CONFIG } from "../src/config/schema.js";
import type { Datapoint } from "../src/detect/datapoint.js";
import { exportMessages, exportPlan } from "../src/detect/export.js";
import { SecurityProfileSchema } from "../src/detect/profile-schema.js";
import { configurationProblems } from "../src/greengrass/config-source.js";
import { EXPORT_OUTBOX_MAX_BYTES, ExportOutbox } from "../src/outbox/export-outbox.js";
import { WorkDir } from "../src/store/files.js";
import { copyFixture, recordingLogger, tempDir } from "./helpers.js";
import { THING, recipeDefaults, setDev, setup } from "./nucleus/harness.js";

const ROLE = "arn:aws:iam::123456789012:role/defender-export";

/**
 * The export message as the developer guide documents it ("Metrics export schema"), written from
 * that page and not from our output: a version, and metrics with a name, a thing, one value field,
 * a version, a timestamp and an optional dimension.
 */
const Documented = z.strictObject({
  version: z.literal("1.0"),
  metrics: z.array(
    z.strictObject({
      name: z.string(),
      thing: z.string(),
      value: z
        .strictObject({
          cidrs: z.array(z.string()),
          count: z.number(),
          number: z.number(),
          numbers: z.array(z.number()),
          ports: z.array(z.number()),
          strings: z.array(z.string()),
        })
        .partial(),
      version: z.number(),
      timestamp: z.number(),
      dimension: z.strictObject({ name: z.string(), operator: z.string() }).optional(),
    }),
  ),
});
const profile = SecurityProfileSchema.parse({
  securityProfileName: "Exported",
  metricsExportConfig: { mqttTopic: "defender/export", roleArn: ROLE },
  behaviors: [
    { name: "Out", metric: "aws:all-bytes-out", criteria: { comparisonOperator: "less-than-equals", value: { count: 1e9 } }, exportMetric: true },
    { name: "Ports", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "not-in-port-set", value: { ports: [23] } } },
    { name: "Msgs", metric: "aws:num-messages-sent", criteria: { comparisonOperator: "less-than-equals", value: { count: 10 } }, exportMetric: true },
  ],
  additionalMetricsToRetainV2: [{ metric: "aws:destination-ip-addresses", exportMetric: true }, { metric: "aws:all-packets-in" }],
});
const dp: Datapoint = {
  time: 1_790_000_000_000,
  interval: 300,
  values: {
    "aws:all-bytes-out": { count: 1234 },
    "aws:all-packets-in": { count: 5 },
    "aws:listening-tcp-ports": { ports: [22, 443] },
    "aws:destination-ip-addresses": { cidrs: ["203.0.113.7", "198.51.100.2"] },
  },
};

describe("export messages", () => {
  it("carry exactly the marked device-side metrics, in the service's schema, at the sample's time", () => {
    const plan = exportPlan([profile]);
    assert.deepEqual(
      [...plan].map(([t, m]) => [t, [...m].sort()]),
      [["defender/export", ["aws:all-bytes-out", "aws:destination-ip-addresses"]]],
      "not the unmarked ones, not the cloud-side one",
    );
    const { batches, cuts } = exportMessages(plan, dp, "gw-1");
    assert.deepEqual(cuts, []);
    assert.equal(batches.length, 1);
    const message = Documented.parse(batches[0]!.message);
    assert.deepEqual(message, {
      version: "1.0",
      metrics: [
        { name: "aws:all-bytes-out", thing: "gw-1", value: { count: 1234 }, version: 1, timestamp: dp.time },
        { name: "aws:destination-ip-addresses", thing: "gw-1", value: { cidrs: ["203.0.113.7", "198.51.100.2"] }, version: 1, timestamp: dp.time },
      ],
    });
  });

  it("are split to stay within a message, and a list too long for one alone is cut with its total said", () => {
    const many: Datapoint = {
      ...dp,
      values: { ...dp.values, "aws:destination-ip-addresses": { cidrs: Array.from({ length: 500 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) } },
    };
    const { batches, cuts } = exportMessages(exportPlan([profile]), many, "gw-1", 2000);
    assert.ok(batches.length >= 2);
    for (const b of batches) assert.ok(Buffer.byteLength(JSON.stringify(b.message)) <= 2000);
    assert.equal(cuts.length, 1);
    assert.equal(cuts[0]!.total, 500);
    const sent = batches.flatMap((b) => b.message.metrics).find((m) => m.name === "aws:destination-ip-addresses")!;
    assert.equal(sent.value.cidrs!.length, cuts[0]!.kept);
  });
});

function listTransport() {
  const sent: Array<{ topic: string; body: string }> = [];
  const t = { refuse: undefined as PublishRefused | undefined, holder: "h" as string | undefined };
  const transport: Transport = {
    holder: () => t.holder,
    publishToIoTCore(topic, payload) {
      if (t.refuse) return Promise.reject(t.refuse);
      sent.push({ topic, body: String(payload) });
      return Promise.resolve();
    },
  };
  return { transport, sent, t };
}

describe("the export outbox", () => {
  const batch = (i: number) => ({
    topic: "defender/export",
    message: { version: "1.0" as const, metrics: [{ name: "aws:all-bytes-out", thing: "gw-1", value: { count: i }, version: 1 as const, timestamp: i }] },
  });

  it("keeps messages across a restart and a refusal, and delivers them in order", async () => {
    const dir = tempDir();
    const log = recordingLogger();
    const first = new ExportOutbox(new WorkDir(dir, log), log);
    first.add([batch(1), batch(2)]);
    const { transport, sent, t } = listTransport();
    t.refuse = new PublishRefused("UnauthorizedError", "PublishToIoTCore", "grant it");
    const again = new ExportOutbox(new WorkDir(dir, log), log);
    await again.deliver(transport);
    again.add([batch(3)]);
    await again.deliver(transport);
    assert.equal(log.lines.filter((l) => l.startsWith("ERROR export.not_published")).length, 1, "said once");
    t.refuse = undefined;
    await again.deliver(transport);
    assert.deepEqual(
      sent.map((s) => (JSON.parse(s.body) as { metrics: Array<{ value: { count: unknown } }> }).metrics[0]!.value.count),
      [1, 2, 3],
    );
    assert.equal(again.size, 0);
  });

  it("is bounded by size: the oldest go first, said once, the total kept", () => {
    const log = recordingLogger();
    const dir = tempDir();
    const box = new ExportOutbox(new WorkDir(dir, log), log);
    const one = Buffer.byteLength(JSON.stringify(batch(100000).message));
    const n = Math.ceil(EXPORT_OUTBOX_MAX_BYTES / one) + 10;
    box.add(Array.from({ length: n }, (_, i) => batch(100000 + i)));
    const dropped = box.dropped;
    assert.ok(dropped >= 10);
    assert.equal(dropped + box.size, n, "each message is waiting or counted as dropped");
    box.add(Array.from({ length: n }, (_, i) => batch(300000 + i)));
    assert.ok(box.dropped > dropped, "new messages past the bound push the oldest out");
    assert.equal(log.lines.filter((l) => l.startsWith("ERROR export.outbox_full")).length, 1, "said once until it drains");
    assert.equal(new ExportOutbox(new WorkDir(dir, log), log).dropped, box.dropped, "the total survives a restart");
  });
});

describe("the grant a profile's export topic needs", () => {
  it("defender/export is granted by the recipe; another topic is refused, naming the grant", () => {
    const defaults = recipeDefaults();
    const ok = configurationProblems({ ...defaults, SecurityProfiles: [profile] }, DEFAULT_CONFIG, "gw-1");
    assert.deepEqual(ok, []);
    const elsewhere = { ...profile, metricsExportConfig: { mqttTopic: "exports/all", roleArn: ROLE } };
    const problems = configurationProblems({ ...defaults, SecurityProfiles: [elsewhere] }, DEFAULT_CONFIG, "gw-1");
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^SecurityProfiles: profile Exported metricsExportConfig\.mqttTopic: .*PublishToIoTCore.*exports\/all/);
  });
});

describe("metrics export end to end", () => {
  it("each sample's marked metrics reach the export topic through the nucleus, with the sample's traffic", async () => {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 2000, 20]);
    const s = await setup({ ProcRoot: root, PublishMetrics: "false", SampleIntervalSeconds: "10", DefaultProfile: "false", SecurityProfiles: [profile] });
    try {
      const p = s.start();
      await p.waitForLine(/INFO agent\.started/);
      const exported = () =>
        s.nucleus.cloudMessages.filter((m) => m.topicName === "defender/export").map((m) => Documented.parse(JSON.parse(m.payload.toString("utf8"))));
      await s.nucleus.waitFor(() => exported().length >= 1, 30_000, "a first export");
      setDev(root, [1500, 15, 2700, 27]);
      await s.nucleus.waitFor(
        () => exported().some((m) => m.metrics.some((x) => x.name === "aws:all-bytes-out" && x.value.count === 700)),
        30_000,
        "the second sample's 700 bytes out",
      );
      for (const m of exported()) for (const x of m.metrics) assert.equal(x.thing, THING);
    } finally {
      await s.close();
    }
  });

  it("exports made while the nucleus cannot be reached wait, and arrive in order once it can", async () => {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 2000, 20]);
    const s = await setup({ ProcRoot: root, PublishMetrics: "false", SampleIntervalSeconds: "10", DefaultProfile: "false", SecurityProfiles: [profile] });
    try {
      const p = s.start();
      const exported = () =>
        s.nucleus.cloudMessages.filter((m) => m.topicName === "defender/export").map((m) => Documented.parse(JSON.parse(m.payload.toString("utf8"))));
      await s.nucleus.waitFor(() => exported().length >= 1, 30_000, "a first export");
      s.nucleus.refuseConnections = true;
      s.nucleus.dropConnections();
      await p.waitForLine(/WARN ipc\.disconnected/);
      const before = exported().length;
      // Two samples while disconnected, 500 then 300 more bytes out, each waited for in the outbox file.
      // What the export queue holds on disk: one line per message in its segments.
      const pending = (): number[] => {
        const folder = join(s.workDir, "exports");
        if (!existsSync(folder)) return [];
        return readdirSync(folder)
          .filter((f) => f.endsWith(".ndjson"))
          .flatMap((f) => readFileSync(join(folder, f), "utf8").split("\n").filter(Boolean))
          .flatMap((l) => {
            const e = JSON.parse(l) as { d: { message: { metrics: Array<{ name: string; value: { count?: number } }> } } };
            return e.d.message.metrics.filter((x) => x.name === "aws:all-bytes-out").map((x) => x.value.count!);
          });
      };
      setDev(root, [1000, 10, 2500, 25]);
      await s.nucleus.waitFor(() => pending().includes(500), 30_000, "the first sample of the outage, kept");
      setDev(root, [1000, 10, 2800, 28]);
      await s.nucleus.waitFor(() => pending().includes(300), 30_000, "the second, kept");
      assert.equal(exported().length, before, "nothing could go");
      s.nucleus.refuseConnections = false;
      await s.nucleus.waitFor(
        () => exported().some((m) => m.metrics.some((x) => x.name === "aws:all-bytes-out" && x.value.count === 300)),
        30_000,
        "the export of the second sample of the outage",
      );
      const out = exported()
        .slice(before)
        .flatMap((m) => m.metrics.filter((x) => x.name === "aws:all-bytes-out"));
      const times = out.map((x) => x.timestamp);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        "in the order of the samples",
      );
      assert.ok(
        out.some((x) => x.value.count === 500),
        "the first sample of the outage too",
      );
    } finally {
      await s.close();
    }
  });

  it("an export that hangs never holds back the reports (each sample is judged before it is reported)", async () => {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 2000, 20]);
    const s = await setup(
      { ProcRoot: root, SampleIntervalSeconds: "300", DefaultProfile: "false", SecurityProfiles: [profile] },
      { msPerSecond: 2, reportIntervalMs: 0 },
    );
    try {
      s.start();
      const exports = () => s.nucleus.publishes.filter((m) => m.topicName === "defender/export").length;
      const reports = () => s.nucleus.publishes.filter((m) => m.topicName.includes("/defender/metrics/")).length;
      await s.nucleus.waitFor(() => exports() >= 1 && reports() >= 1, 30_000, "a first export and report");
      // IoT Core takes the next export and never answers.
      s.nucleus.holdPublishesTo = (topic) => topic === "defender/export";
      const held = exports();
      await s.nucleus.waitFor(() => exports() > held, 30_000, "an export sent and left unanswered");
      const before = reports();
      for (let k = 1; k <= 3; k++) {
        setDev(root, [1000 + k * 100, 10 + k, 2000 + k * 100, 20 + k]);
        await s.nucleus.waitFor(() => reports() >= before + k, 30_000, `report ${k} while the export hangs`);
      }
      assert.equal(exports(), held + 1, "the queue waits for the hung export, in order, sending nothing past it");
      s.nucleus.releaseHeld();
      await s.nucleus.waitFor(() => exports() >= held + 4, 30_000, "the exports of the samples taken meanwhile, once it answers");
    } finally {
      await s.close();
    }
  });

  it("a suppressed behavior's alarm reaches the local topic and not the alert path on IoT Core", async () => {
    const root = copyFixture("tricky");
    const quiet = {
      securityProfileName: "Quiet",
      behaviors: [
        {
          name: "OnlyKnownTcpPorts",
          metric: "aws:listening-tcp-ports",
          criteria: { comparisonOperator: "in-port-set", value: { ports: [22] } },
          suppressAlerts: true,
        },
      ],
    };
    const loud = {
      securityProfileName: "Loud",
      behaviors: [{ name: "OnlyKnownTcpPorts", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "in-port-set", value: { ports: [22] } } }],
    };
    const s = await setup({
      ProcRoot: root,
      PublishMetrics: "false",
      SampleIntervalSeconds: "10",
      DefaultProfile: "false",
      ViolationIoTTopic: "defender/violations/{thing}",
      SecurityProfiles: [quiet, loud],
    });
    try {
      s.start();
      const local = (name: string) => s.nucleus.localPublishes.filter((x) => (x.message as { securityProfileName?: string }).securityProfileName === name);
      const cloud = (name: string) =>
        s.nucleus.cloudMessages.filter(
          (m) =>
            m.topicName === `defender/violations/${THING}` &&
            (JSON.parse(m.payload.toString("utf8")) as { securityProfileName: unknown }).securityProfileName === name,
        );
      await s.nucleus.waitFor(() => local("Quiet").length > 0 && local("Loud").length > 0 && cloud("Loud").length > 0, 30_000, "both alarms delivered");
      assert.equal(cloud("Quiet").length, 0, "the suppressed one is not on the alert path");
    } finally {
      await s.close();
    }
  });
});
