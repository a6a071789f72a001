// The fault suite: nothing stops reporting or detection, and nothing makes them silently wrong.
// Hostile and mistaken input (custom metric sources, configuration values), full and read-only
// disks, corrupt files, a SIGKILL loop, clock steps, files vanishing mid-run, a container's own
// network namespace. Tests that need root (tmpfs, read-only mounts, unshare) say so when skipped;
// CI runs as root.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CollectContext, newMemory } from "../src/collect/context.js";
import { readConfined } from "../src/collect/collectors/file.js";
import { applyConfiguration } from "../src/config/apply.js";
import { DEFAULT_CONFIG } from "../src/config/schema.js";
import { CustomMetricsReader } from "../src/custom/custom-metrics.js";
import { customMetricsConfig } from "../src/custom/definitions.js";
import { parseNetDev } from "../src/procfs/net-dev.js";
import { ProcFS } from "../src/procfs/fs.js";
import { BUNDLE } from "./bundle.js";
import { copyFixture, recordingLogger, tempDir } from "./helpers.js";
import { type Setup, type SetupOptions, recipeRun, report, setDev, setup } from "./nucleus/harness.js";

const asRoot = process.getuid?.() === 0;
const rootOnly = asRoot ? {} : { skip: "needs root (CI runs as root): mounts and network namespaces" };
const setups: Setup[] = [];
const mounts: string[] = [];
async function start(config: Record<string, unknown>, opts: SetupOptions = {}) {
  const s = await setup(config, opts);
  setups.push(s);
  return s;
}
after(async () => {
  await Promise.all(setups.map((s) => s.close()));
  for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
});
const accepted = (s: Setup) => s.nucleus.service.reports.filter((r) => r.outcome === "accepted");

describe("custom metric sources cannot stop the loop or leak a secret", () => {
  const reader = (defs: unknown, procRoot: string) => {
    const log = recordingLogger();
    const r = new CustomMetricsReader(log);
    r.configure(customMetricsConfig().parse(defs));
    return { log, collect: () => r.collect(new CollectContext(new ProcFS(procRoot), new Set(), newMemory(), { extraRoots: [], procRoot })) };
  };

  it("a catastrophic regex, a FIFO, a huge or endless file: each an error, at once, the others still read", () => {
    const root = copyFixture("custom");
    writeFileSync(join(root, "files", "aaaa"), `${"a".repeat(40)}b\n`);
    execFileSync("mkfifo", [join(root, "files", "fifo")]);
    writeFileSync(join(root, "files", "big"), "word ".repeat((25 * 1024 * 1024) / 5)); // 25 MB of string list
    writeFileSync(join(root, "files", "huge"), "");
    truncateSync(join(root, "files", "huge"), 2 * 1024 ** 3); // 2 GB, sparse
    symlinkSync("/dev/zero", join(root, "files", "zero"));
    const { log, collect } = reader(
      {
        redos: { type: "string-list", source: "file", path: join(root, "files", "aaaa"), regex: "(a+)+$" },
        fifo: { type: "number", source: "file", path: join(root, "files", "fifo") },
        big: { type: "string-list", source: "file", path: join(root, "files", "big") },
        huge: { type: "number", source: "file", path: join(root, "files", "huge") },
        zero: { type: "number", source: "file", path: join(root, "files", "zero") },
        load: { type: "number", source: "load_average_1m" },
      },
      root,
    );
    const out = collect();
    assert.deepEqual(out.redos, [{ string_list: [] }], "(a+)+$ finds nothing in 40 a's and a b, in linear time");
    assert.deepEqual(out.load, [{ number: 0.42 }]);
    const failed = (m: string) => log.lines.find((l) => l.includes(`custom_metric.failed metric=${m} `)) ?? "";
    assert.match(failed("fifo"), /is not a regular file/);
    assert.match(failed("big"), /is larger than 64 KiB/);
    assert.match(failed("huge"), /is larger than 64 KiB/);
    assert.match(failed("zero"), /refused: \/dev\/zero is outside the allowed roots/);
  });

  it("the component's environment (its IPC token) cannot be read, by path or by a symlink", () => {
    const proc = tempDir();
    const bad = applyConfiguration(
      { CustomMetrics: { token: { type: "string-list", source: "file", path: "/proc/self/environ", regex: "SVCUID=(...)" } } },
      DEFAULT_CONFIG,
    );
    assert.match(bad.problems.map((p) => `${p.key}: ${p.rule}`).join(), /CustomMetrics: token\.path: \/proc\/self\/environ is a per-process file/);
    assert.deepEqual(bad.config.CustomMetrics, {}, "refused, the last good definitions stay");
    symlinkSync(`/proc/${process.pid}/environ`, join(proc, "innocent"));
    assert.throws(() => readConfined(join(proc, "innocent"), { extraRoots: [proc], procRoot: "/proc" }), /refused: \/proc\/\d+\/environ is a per-process file/);
    assert.throws(() => readConfined("/etc/shadow", { extraRoots: [], procRoot: "/proc" }), /outside the allowed roots/);
    assert.match(readConfined("/proc/loadavg", { extraRoots: [], procRoot: "/proc" }), /^\d/);
  });

  it("an interval past Node's timer range is refused by name; run with one exits 2", () => {
    const bad = applyConfiguration({ SampleIntervalSeconds: "2147484" }, DEFAULT_CONFIG);
    assert.deepEqual(
      bad.problems.map((p) => p.key),
      ["SampleIntervalSeconds"],
    );
    assert.equal(bad.config.SampleIntervalSeconds, 300);
    for (const v of ["3000000", "0", "NaN", "Infinity", "1e309"]) {
      const r = spawnSync(process.execPath, [BUNDLE, "run", "--interval", v], { encoding: "utf8" });
      assert.equal(r.status, 2, v);
      assert.match(r.stderr, /--interval .*must be a number (above 0 and at most 86400|or a numeric string) \(the SampleIntervalSeconds setting\)/, v);
    }
    const rel = spawnSync(process.execPath, [BUNDLE, "run", "--proc-root", "rel/path"], { encoding: "utf8" });
    assert.equal(rel.status, 2);
    assert.match(rel.stderr, /--proc-root "rel\/path": must be an absolute path/);
  });
});

describe("what the component reads may be wrong or missing", () => {
  it("one unreadable net/dev keeps the baseline: no since-boot spike, the next report carries the true deltas", async () => {
    const root = copyFixture("tricky");
    setDev(root, [1000, 10, 2000, 20]);
    const s = await start({ ProcRoot: root });
    const p = s.start();
    await s.nucleus.waitFor(() => accepted(s).length >= 1, 30_000, "the first report");
    rmSync(join(root, "net/dev"));
    mkdirSync(join(root, "net/dev")); // reading it now fails (EISDIR)
    await p.waitForLine(/WARN procfs\.unreadable file=.*net\/dev code=EISDIR/);
    const during = s.nucleus.publishes.length;
    await s.nucleus.waitFor(() => s.nucleus.publishes.length > during, 30_000, "a report while net/dev cannot be read");
    assert.equal(report(s.nucleus.publishes.at(-1)!).metrics?.network_stats, undefined, "no traffic figure rather than a false one");
    rmSync(join(root, "net/dev"), { recursive: true });
    setDev(root, [1500, 15, 2600, 26]);
    await s.nucleus.waitFor(
      () => JSON.stringify(s.nucleus.service.acceptedTraffic()) === JSON.stringify({ bytes_in: 500, bytes_out: 600, packets_in: 5, packets_out: 6 }),
      30_000,
      `the true deltas, have ${JSON.stringify(s.nucleus.service.acceptedTraffic())}`,
    );
  });

  it("a mistyped ProcRoot is an error that says so, and nothing is published as if the device were idle", async () => {
    const s = await start({ ProcRoot: "/prco" });
    const p = s.start();
    await p.waitForLine(/ERROR procfs\.no_network key=ProcRoot value=\/prco reason="the proc root \/prco has no readable network files/);
    await new Promise((r) => setTimeout(r, 300 * 5 * 2));
    assert.equal(s.nucleus.publishes.length, 0);
    const r = spawnSync(process.execPath, [BUNDLE, "collect", "--proc-root", "/nonexistent"], { encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    // One ERROR line, with the key, the folder and why (the README's promise).
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("ERROR"));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /^ERROR procfs\.no_network key=ProcRoot value=\/nonexistent reason="the proc root \/nonexistent has no readable network files/);
  });

  it("interface names are UTF-8, and an excluded one is excluded", () => {
    const dev = "Inter-|\n face |\n  eth-é: 100 1 0 0 0 0 0 0 200 2 0 0 0 0 0 0\n  eth0: 7 1 0 0 0 0 0 0 8 1 0 0 0 0 0 0\n";
    const root = copyFixture("tricky");
    writeFileSync(join(root, "net/dev"), dev, "utf8");
    assert.deepEqual(
      new ProcFS(root).netDev().records.map((r) => r.name),
      ["eth-é", "eth0"],
    );
    assert.equal(parseNetDev(dev).records[0]!.name, "eth-é");
    const r = spawnSync(process.execPath, [BUNDLE, "collect", "--proc-root", root, "--exclude-interfaces", "eth-é,lo"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  });

  it("a value out of range costs its line or block, never the whole report", () => {
    const root = copyFixture("tricky");
    writeFileSync(
      join(root, "net/dev"),
      "Inter-|\n face |\n  eth0: 18446744073709551615 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n  eth1: 10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\n",
    );
    const state = join(tempDir(), "state.json");
    const first = spawnSync(process.execPath, [BUNDLE, "collect", "--proc-root", root, "--state", state], { encoding: "utf8" });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /WARN procfs\.malformed_lines file=.*net\/dev skipped=1/);
    const doc = JSON.parse(first.stdout) as { metrics: { listening_tcp_ports: { total: unknown } } };
    assert.equal(doc.metrics.listening_tcp_ports.total, 5, "the rest of the report is there");
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(state, "utf8")) as { reportCounters: object }).reportCounters), ["eth1"]);
  });
});

describe("clock steps", () => {
  const stateWith = (workDir: string, shift: number) => {
    mkdirSync(workDir, { recursive: true });
    const now = Date.now();
    writeFileSync(
      join(workDir, "state.json"),
      JSON.stringify({
        kind: "community.greengrass.DeviceDefender/state",
        version: 2,
        reportId: now + shift,
        lastPublishAt: now + shift,
        lastSampleAt: now + shift,
        ledger: {
          carry: { bytes_in: 0, bytes_out: 0, packets_in: 0, packets_out: 0 },
          outstanding: [],
          settled: [],
          totals: { accepted: 0, rejected: 0, refused: 0, presumedLost: 0, unconfirmed: 0, doubleCounted: 0 },
        },
      }),
    );
  };

  it("back a day: the saved times are in the future; reporting resumes within one interval, not a day", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") });
    stateWith(s.workDir, 86_400_000);
    const p = s.start();
    await p.waitForLine(/WARN clock\.stepped_back key=lastSampleAt/);
    const r = await s.nucleus.waitFor(() => s.nucleus.publishes[0], 30_000, "a publish within an interval");
    assert.ok(report(r).header.report_id > Date.now(), "report ids still increase past the saved one");
  });

  it("forward a day: the last report is long past, so the next goes at once", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") });
    stateWith(s.workDir, -86_400_000);
    const p = s.start();
    await s.nucleus.waitFor(() => s.nucleus.publishes[0], 30_000, "a publish at once");
    assert.equal(p.count(/schedule\.wait/), 0);
  });
});

describe("persisted files: corrupt, full disk, read-only, killed mid-write", () => {
  const files = ["state.json", "detect.json", "outbox.json", "config.json"];
  const corruptions: Array<[string, string | Buffer]> = [
    ["empty", ""],
    ["truncated", '{"kind":"community.greengrass.DeviceDefender/state","vers'],
    ["wrong types", '{"kind":"community.greengrass.DeviceDefender/state","version":2,"reportId":"yesterday","ledger":[]}'],
    ["binary", Buffer.from([0, 255, 1, 254, 2, 253])],
  ];

  it("every persisted file, corrupted each way: set aside with one warning each, and the component carries on", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") });
    mkdirSync(s.workDir, { recursive: true });
    let n = 0;
    for (const [how, content] of corruptions) {
      for (const f of files) writeFileSync(join(s.workDir, f), content);
      mkdirSync(join(s.workDir, "history"), { recursive: true });
      writeFileSync(join(s.workDir, "history", "0000000001.ndjson"), typeof content === "string" ? `${content}\n{"t":1}\n` : content);
      const p = s.start();
      n++;
      await s.nucleus.waitFor(() => accepted(s).length >= n, 30_000, `an accepted report with ${how} files`);
      for (const f of files.filter((x) => how !== "empty" || x !== "config.json")) {
        assert.ok(p.count(new RegExp(`WARN store\\.file_set_aside file=.*/${f.replace(".", "\\.")} `)) <= 1, `${how} ${f}: at most one warning`);
      }
      assert.equal(p.count(/ERROR fatal/), 0);
      p.child.kill("SIGTERM");
      assert.equal((await p.exited).code, 0, `${how}: clean exit`);
      assert.doesNotThrow(() => JSON.parse(readFileSync(join(s.workDir, "state.json"), "utf8")), `${how}: a good state.json again`);
    }
  });

  it("a SIGKILL loop leaves every file valid and no temporary file behind", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky"), PublishMetrics: "false", SampleIntervalSeconds: "10" }, { msPerSecond: 5 });
    for (let i = 0; i < 8; i++) {
      const p = s.start();
      await p.waitForLine(/INFO agent\.started/);
      await new Promise((r) => setTimeout(r, 17 * i));
      p.child.kill("SIGKILL");
      await p.exited;
    }
    const p = s.start();
    await p.waitForLine(/INFO agent\.started/);
    await new Promise((r) => setTimeout(r, 200));
    p.child.kill("SIGTERM");
    assert.equal((await p.exited).code, 0);
    assert.deepEqual(
      readdirSync(s.workDir).filter((f) => f.includes("defender-tmp")),
      [],
    );
    for (const f of ["state.json", "detect.json", "config.json"]) assert.doesNotThrow(() => JSON.parse(readFileSync(join(s.workDir, f), "utf8")), f);
    assert.equal(p.count(/store\.file_set_aside/), 0, "nothing was corrupt");
  });

  it("work files removed while it runs: written again, and reporting and judging go on", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") });
    const p = s.start();
    await s.nucleus.waitFor(() => accepted(s).length >= 2, 30_000, "two accepted reports");
    for (const f of ["state.json", "detect.json"]) rmSync(join(s.workDir, f));
    rmSync(join(s.workDir, "history"), { recursive: true });
    await s.nucleus.waitFor(() => accepted(s).length >= 4, 30_000, "two more accepted reports");
    for (const f of ["state.json", "detect.json"]) assert.doesNotThrow(() => JSON.parse(readFileSync(join(s.workDir, f), "utf8")), `${f} written again`);
    assert.ok(
      readdirSync(join(s.workDir, "history")).some((f) => f.endsWith(".ndjson")),
      "the history goes on in a new segment",
    );
    rmSync(s.workDir, { recursive: true }); // the whole work folder
    await s.nucleus.waitFor(() => accepted(s).length >= 6, 30_000, "two more accepted reports");
    for (const f of ["state.json", "detect.json"]) assert.doesNotThrow(() => JSON.parse(readFileSync(join(s.workDir, f), "utf8")), `${f} in a new work folder`);
    assert.ok(p.count(/WARN store\.folder_recreated/) >= 2, "said");
    const ids = accepted(s).map((r) => Number(r.reportId));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      "report ids still increase",
    );
    assert.equal(p.count(/ERROR/), 0, p.lines.filter((l) => l.startsWith("ERROR")).join("\n"));
  });

  it("a full disk (1 MB tmpfs): the last good files stay whole, no torn history line, one error per file and reason, recovery logged", rootOnly, async () => {
    const s = await start({ ProcRoot: copyFixture("tricky"), PublishMetrics: "false", SampleIntervalSeconds: "10" }, { msPerSecond: 5 });
    mkdirSync(s.workDir, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", s.workDir]);
    mounts.push(s.workDir);
    const p = s.start();
    await p.waitForLine(/INFO agent\.started/);
    await new Promise((r) => setTimeout(r, 200));
    // Fill the disk, leaving less than a state file.
    spawnSync("dd", ["if=/dev/zero", `of=${join(s.workDir, "filler")}`, "bs=1k", "count=2000"]);
    await p.waitForLine(/ERROR store\.write_failed file=.*code=ENOSPC/);
    await new Promise((r) => setTimeout(r, 10 * 5 * 5));
    for (const f of ["state.json", "detect.json"]) assert.doesNotThrow(() => JSON.parse(readFileSync(join(s.workDir, f), "utf8")), `${f} whole`);
    const errorsPerFile = new Map<string, number>();
    for (const l of p.lines.filter((x) => x.includes("store.write_failed"))) {
      const key = /file=(\S+) code=(\S+)/.exec(l)!.slice(1).join(" ");
      errorsPerFile.set(key, (errorsPerFile.get(key) ?? 0) + 1);
    }
    assert.ok(
      [...errorsPerFile.values()].every((n) => n === 1),
      JSON.stringify([...errorsPerFile]),
    );
    rmSync(join(s.workDir, "filler"));
    await p.waitForLine(/INFO store\.write_recovered/);
    p.child.kill("SIGTERM");
    await p.exited;
    // Both of the history's logs: the numbers and, in their own folder, the lists.
    for (const folder of [join(s.workDir, "history"), join(s.workDir, "history", "lists")]) {
      for (const f of readdirSync(folder).filter((n) => n.endsWith(".ndjson"))) {
        for (const line of readFileSync(join(folder, f), "utf8")
          .split("\n")
          .filter((l) => l !== ""))
          assert.doesNotThrow(() => JSON.parse(line), `${f}: ${line.slice(0, 40)}`);
      }
    }
  });

  it("a read-only work folder with a torn history line: the component runs, reports and judges, and says once why it cannot save", rootOnly, async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") });
    const rw = tempDir();
    mkdirSync(join(rw, "history"));
    writeFileSync(join(rw, "history", "0000000001.ndjson"), '{"t":1,"v":{}}\n{"t":2,"v":');
    mkdirSync(s.workDir, { recursive: true });
    execFileSync("mount", ["--bind", rw, s.workDir]);
    mounts.push(s.workDir);
    execFileSync("mount", ["-o", "remount,bind,ro", s.workDir]);
    const p = s.start();
    await s.nucleus.waitFor(() => accepted(s).length >= 2, 30_000, "two accepted reports");
    assert.equal(p.count(/ERROR fatal/), 0);
    assert.ok(p.count(/ERROR store\.write_failed file=.*state\.json code=EROFS/) === 1, p.lines.join("\n"));
  });

  it("a history of 20 MB (the old single file) does not stop the component under the recipe's heap", async () => {
    const s = await start({ ProcRoot: copyFixture("tricky") });
    mkdirSync(s.workDir, { recursive: true });
    const line = `${JSON.stringify({ t: 1, v: { "aws:destination-ip-addresses": { i: Array.from({ length: 40 }, (_, k) => `10.0.${k}.1`) }, "aws:all-bytes-out": { c: 1 } } })}\n`;
    const lines: string[] = [];
    let t = Date.now() - 20 * 86_400_000;
    while (lines.length * line.length < 20_000_000) lines.push(line.replace('"t":1', `"t":${(t += 60_000)}`));
    writeFileSync(join(s.workDir, "history.ndjson"), lines.join(""));
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [...recipeRun().flags, BUNDLE], {
      cwd: s.workDir,
      env: {
        PATH: process.env.PATH,
        AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: s.nucleus.opts.socketPath,
        SVCUID: s.nucleus.opts.svcuid,
        AWS_IOT_THING_NAME: "test-thing",
        DEFENDER_TEST_MS_PER_SECOND: "5",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    await s.nucleus.waitFor(() => accepted(s).length >= 2, 30_000, "reports after loading the history");
    child.kill("SIGTERM");
    const code = await new Promise((r) => child.on("exit", r));
    assert.equal(code, 0, err);
    const onDisk = readdirSync(join(s.workDir, "history")).reduce((n, f) => n + statSync(join(s.workDir, "history", f)).size, 0);
    assert.ok(onDisk <= 5_000_000 + 100_000, `${onDisk} bytes kept`);
  });
});

describe("a container with its own network namespace", () => {
  it("reads the device's network (the init process's namespace), not its own", rootOnly, () => {
    const defs = join(tempDir(), "custom.json");
    writeFileSync(defs, JSON.stringify({ ifaces: { type: "string-list", source: "network_interface_names" } }));
    const own = spawnSync("unshare", ["-n", "cat", "/proc/net/dev"], { encoding: "utf8" });
    assert.equal(own.status, 0, own.stderr);
    assert.deepEqual(
      parseNetDev(own.stdout).records.map((r) => r.name),
      ["lo"],
      "the new namespace has only lo",
    );
    const host = parseNetDev(readFileSync("/proc/1/net/dev", "utf8"))
      .records.map((r) => r.name)
      .filter((n) => n !== "lo")
      .sort();
    const r = spawnSync("unshare", ["-n", process.execPath, BUNDLE, "collect", "--custom-metrics", defs], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { custom_metrics: { ifaces: unknown } }).custom_metrics.ifaces, [{ string_list: host }]);
  });
});
