// The bundle on the real instruction sets of 32- and 64-bit ARM: Debian's Node.js for armhf and
// arm64 under qemu-user-static (./arch/roots.ts). `collect` writes what it writes on x86_64, byte
// for byte, and the component's core scenarios pass against the nucleus double. Emulation is 10
// to 50 times slower: these tests get more time (a slower configured second), never looser checks.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeFirstSync } from "cbor";
import { type ArchRoot, archRoot, ensureTools } from "./arch/roots.js";
import { BUNDLE } from "./bundle.js";
import { copyFixture, procFixture, tempDir } from "./helpers.js";
import { ComponentProcess, type Setup, THING, report, setDev, setup } from "./nucleus/harness.js";
import { Pki } from "./pki.js";
import { Broker, brokerSkipReason, freePort } from "./standalone/broker.js";
import { serviceDouble } from "./standalone/service.js";

const asRoot = process.getuid?.() === 0;
const EMULATED_MS_PER_SECOND = 40;
const LONG = 240_000;

const setups: Setup[] = [];
after(async () => {
  await Promise.all(setups.map((s) => s.close()));
});

for (const arch of ["armhf", "arm64"] as const) {
  describe(
    `${arch}: Debian's Node.js under qemu`,
    { concurrency: 1, skip: asRoot ? false : "needs root (CI runs as root) to install qemu-user-static and mmdebstrap" },
    () => {
      let target: ArchRoot;
      before(
        () => {
          ensureTools();
          target = archRoot(arch);
        },
        { timeout: 600_000 },
      );

      it("runs Node.js 20 or later on the emulated CPU", () => {
        const r = spawnSync(target.node[0]!, [...target.node.slice(1), "-p", "process.arch + ' ' + process.versions.node"], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        const [cpu, version] = r.stdout.trim().split(" ");
        assert.equal(cpu, target.nodeArch);
        assert.ok(Number(version!.split(".")[0]) >= 20, version);
      });

      it("collect on every fixture proc root writes the bytes it writes on x86_64", { timeout: LONG }, () => {
        const defs = join(tempDir(), "custom.json");
        const custom = procFixture("custom");
        writeFileSync(
          defs,
          JSON.stringify({
            procs: { type: "number", source: "process_count" },
            ifaces: { type: "string-list", source: "network_interface_names" },
            temp: { type: "number", source: "file", path: join(custom, "files", "thermal_temp"), scale: 0.001 },
          }),
        );
        const cases: string[][] = [
          ["--proc-root", procFixture("real-x86_64")],
          ["--proc-root", procFixture("tricky"), "--format", "cbor", "--short-names"],
          ["--proc-root", procFixture("no-ipv6"), "--max-list-entries", "1"],
          ["--proc-root", custom, "--custom-metrics", defs],
        ];
        const run = (node: string[], args: string[]) => spawnSync(node[0]!, [...node.slice(1), BUNDLE, "collect", ...args], { encoding: "buffer" });
        for (const args of cases) {
          const native = run([process.execPath], args);
          const emulated = run(target.node, args);
          assert.equal(emulated.status, 0, emulated.stderr.toString());
          const normal = (b: Buffer) => {
            type Doc = { header?: Record<string, unknown>; hed?: Record<string, unknown> };
            const doc = (args.includes("cbor") ? decodeFirstSync(b) : JSON.parse(b.toString("utf8"))) as Doc;
            (doc.header ?? doc.hed)!.report_id = (doc.header ?? doc.hed)!.rid = 0;
            return doc;
          };
          assert.deepEqual(normal(emulated.stdout), normal(native.stdout), args.join(" "));
          assert.equal(emulated.stdout.length, native.stdout.length, `${args.join(" ")}: same length`);
          assert.equal(emulated.stderr.toString(), native.stderr.toString(), "the same warnings");
        }
      });

      it("component: first report, answers accepted and rejected, a deployment to CBOR, a dropped connection, SIGTERM", { timeout: LONG }, async () => {
        const root = copyFixture("tricky");
        setDev(root, [1000, 10, 2000, 20]);
        const s = await setup({ ProcRoot: root }, { msPerSecond: EMULATED_MS_PER_SECOND, node: target.node });
        setups.push(s);
        const p = s.start();
        const first = await s.nucleus.waitFor(() => s.nucleus.publishes[0], LONG, "first publish");
        assert.equal(first.topicName, `$aws/things/${THING}/defender/metrics/json`);
        await p.waitForLine(new RegExp(`INFO report\\.accepted report_id=${report(first).header.report_id}`), LONG);
        s.nucleus.deliverFromCloud(
          `$aws/things/${THING}/defender/metrics/json/rejected`,
          Buffer.from(
            JSON.stringify({
              thingName: THING,
              reportId: 7,
              status: "REJECTED",
              statusDetails: { ErrorCode: "InvalidPayload", ErrorMessage: "Malformed metrics report" },
            }),
          ),
        );
        await p.waitForLine(/WARN report\.rejected report_id=7 code=InvalidPayload/, LONG);
        assert.equal((await s.nucleus.deploy({ merge: { Format: "cbor" } })).status, "SUCCEEDED");
        const cbor = await s.nucleus.waitFor(() => s.nucleus.publishes.find((x) => x.topicName.endsWith("/cbor")), LONG, "a CBOR report");
        await p.waitForLine(new RegExp(`INFO report\\.accepted report_id=${report(cbor).header.report_id}`), LONG);
        s.nucleus.refuseConnections = true;
        s.nucleus.dropConnections();
        await p.waitForLine(/WARN ipc\.disconnected/, LONG);
        setDev(root, [1700, 17, 2900, 29]);
        s.nucleus.refuseConnections = false;
        await s.nucleus.waitFor(
          () => JSON.stringify(s.nucleus.service.acceptedTraffic()) === JSON.stringify({ bytes_in: 700, bytes_out: 900, packets_in: 7, packets_out: 9 }),
          LONG,
          "the traffic across the drop, once",
        );
        p.child.kill("SIGTERM");
        assert.equal((await p.exited).code, 0);
        assert.ok(p.lines.some((l) => /INFO component\.stopped/.test(l)));
      });

      it("standalone: the first report accepted over mutual TLS by mosquitto, then SIGTERM", { timeout: LONG, skip: brokerSkipReason() }, async () => {
        const dir = tempDir("defender-arch-mqtt-");
        mkdirSync(join(dir, "pki"));
        const pki = new Pki(join(dir, "pki"));
        const device = pki.issue("device", THING);
        chmodSync(device.key, 0o600);
        const broker = new Broker(dir, pki, await freePort(), THING);
        await broker.start();
        const service = await serviceDouble(broker, pki);
        const p = new ComponentProcess(
          spawn(
            target.node[0]!,
            [
              ...target.node.slice(1),
              BUNDLE,
              "run",
              "--proc-root",
              copyFixture("tricky"),
              "--work-dir",
              join(dir, "work"),
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
            ],
            {
              env: { PATH: process.env.PATH, DEFENDER_TEST_MS_PER_SECOND: String(EMULATED_MS_PER_SECOND) },
              stdio: ["ignore", "pipe", "pipe"],
            },
          ),
        );
        try {
          await p.waitForLine(/^INFO report\.accepted report_id=/, LONG);
          const first = service.defender.reports.find((r) => r.thingName === THING)!;
          assert.deepEqual([first.format, first.outcome, first.problem], ["json", "accepted", undefined]);
          p.child.kill("SIGTERM");
          assert.equal((await p.exited).code, 0);
          assert.ok(p.lines.some((l) => /^INFO standalone\.stopped /.test(l)));
        } finally {
          await p.stop();
          await service.client.endAsync(true);
          await broker.stop();
        }
      });
    },
  );
}
