import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CollectContext, type CollectorMemory, newMemory } from "../src/collect/context.js";
import { cpuBusyPercent } from "../src/collect/collectors/cpu-usage.js";
import { CustomMetricsReader } from "../src/custom/custom-metrics.js";
import { customMetricsConfig } from "../src/custom/definitions.js";
import { socketInode } from "../src/procfs/fd-link.js";
import { parseFileNr } from "../src/procfs/file-nr.js";
import { ProcFS } from "../src/procfs/fs.js";
import { parseLoadavg1m } from "../src/procfs/loadavg.js";
import { parseMeminfo } from "../src/procfs/meminfo.js";
import { parseStatCpu } from "../src/procfs/stat.js";
import { parseUptime } from "../src/procfs/uptime.js";
import { ReportSchema } from "../src/report/schema.js";
import { BUNDLE } from "./bundle.js";
import { copyFixture, procFixture, recordingLogger, tempDir } from "./helpers.js";

const root = procFixture("custom");
const file = (name: string) => join(root, "files", name);

/** A reader of `defs` over a proc root, keeping collector memory between its samples. */
function collector(defs: unknown) {
  const log = recordingLogger();
  const reader = new CustomMetricsReader(log);
  reader.configure(customMetricsConfig().parse(defs));
  const memory: CollectorMemory = newMemory();
  const c = { collect: (fs: ProcFS, excluded: Set<string>) => reader.collect(new CollectContext(fs, excluded, memory, { extraRoots: [], procRoot: fs.root })) };
  return { c, log };
}

const real = (rel: string) => readFileSync(join(procFixture("real-x86_64"), rel), "utf8");

describe("system proc files, one parser each, on real kernel output", () => {
  it("stat, meminfo, loadavg, uptime and file-nr as this machine's kernel wrote them", () => {
    const cpu = parseStatCpu(real("stat"))!;
    assert.ok(cpu.total > 0 && cpu.idle > 0 && cpu.idle <= cpu.total, JSON.stringify(cpu));
    const mem = parseMeminfo(real("meminfo"));
    assert.ok(mem.get("MemTotal")! > 0 && mem.get("MemAvailable")! <= mem.get("MemTotal")!);
    assert.equal(mem.get("MemTotal")! % 1024, 0, "kB values are converted to bytes");
    assert.ok(mem.has("HugePages_Total"), "values without a unit are read too");
    assert.equal(parseLoadavg1m(real("loadavg")), Number(real("loadavg").split(" ")[0]));
    assert.equal(parseUptime(real("uptime")), Number(real("uptime").split(" ")[0]));
    const [allocated, unused] = real("sys/fs/file-nr").trim().split(/\s+/).map(Number);
    assert.equal(parseFileNr(real("sys/fs/file-nr")), allocated! - unused!);
  });

  it("parses the aggregate cpu line and computes busy percent from deltas", () => {
    const a = parseStatCpu("cpu  1000 50 300 8000 200 10 40 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n")!;
    assert.deepEqual(a, { total: 9600, idle: 8000, iowait: 200 });
    const b = parseStatCpu("cpu  1300 50 400 8500 300 10 40 0 0 0\n")!;
    // Δtotal 1000, Δidle 500, Δiowait 100 → 40 % busy
    assert.equal(cpuBusyPercent(a, b), 40);
    assert.equal(cpuBusyPercent(a, a), undefined, "no time passed");
    assert.equal(parseStatCpu("cpu 1 2 3\n"), undefined);
  });
  it("parses meminfo, loadavg, uptime, file-nr and socket links", () => {
    const m = parseMeminfo("MemTotal:        1000000 kB\nMemAvailable:     250000 kB\nHugePages_Total:       0\n");
    assert.equal(m.get("MemTotal"), 1_024_000_000);
    assert.equal(m.get("HugePages_Total"), 0);
    assert.equal(parseLoadavg1m("0.42 0.30 0.25 2/180 4242\n"), 0.42);
    assert.equal(parseUptime("12345.67 23456.78\n"), 12345.67);
    assert.equal(parseFileNr("2048\t512\t9223372036854775807\n"), 1536);
    assert.equal(socketInode("socket:[5001]"), 5001);
    assert.equal(socketInode("pipe:[5001]"), undefined);
    assert.equal(parseLoadavg1m("garbage"), undefined);
  });
});

describe("built-in sources on a fixture proc root", () => {
  it("give the expected value for every built-in", () => {
    const { c, log } = collector({
      mem: { type: "number", source: "memory_used_percent" },
      avail: { type: "number", source: "memory_available_bytes" },
      load: { type: "number", source: "load_average_1m" },
      procs: { type: "number", source: "process_count" },
      up: { type: "number", source: "uptime_seconds" },
      fds: { type: "number", source: "open_file_descriptors" },
      ifaces: { type: "string-list", source: "network_interface_names" },
      listeners: { type: "string-list", source: "listening_process_names" },
    });
    const out = c.collect(new ProcFS(root), new Set(["lo"]));
    assert.deepEqual(out, {
      mem: [{ number: 75 }],
      avail: [{ number: 256_000_000 }],
      load: [{ number: 0.42 }],
      procs: [{ number: 7 }],
      up: [{ number: 12345.67 }],
      fds: [{ number: 1536 }],
      ifaces: [{ string_list: ["eth0", "wlan0"] }],
      listeners: [{ string_list: ["chronyd", "nginx", "sshd"] }],
    });
    assert.ok(log.lines.some((l) => /INFO custom_metric\.note metric=listeners .*1 processes' fds could not be read/.test(l)));
    ReportSchema.parse({ header: { report_id: 1, version: "1.0" }, custom_metrics: out });
  });

  it("listening_process_names answers who opened a new port, and sees processes that appeared", () => {
    const copy = copyFixture("custom");
    const { c } = collector({ listeners: { type: "string-list", source: "listening_process_names" } });
    const fs = new ProcFS(copy);
    assert.deepEqual(c.collect(fs, new Set()).listeners, [{ string_list: ["chronyd", "nginx", "sshd"] }]);
    const addProcess = (pid: number, comm: string, inode: number) => {
      mkdirSync(join(copy, String(pid), "fd"), { recursive: true });
      writeFileSync(join(copy, String(pid), "comm"), `${comm}\n`);
      symlinkSync(`socket:[${inode}]`, join(copy, String(pid), "fd", "3"));
    };
    // A new process sharing an existing listening socket (same set of listening sockets).
    addProcess(700, "nginx-worker", 5002);
    assert.deepEqual(c.collect(fs, new Set()).listeners, [{ string_list: ["chronyd", "nginx", "nginx-worker", "sshd"] }]);
    // A backdoor opens a new port.
    addProcess(600, "backdoor", 5007);
    writeFileSync(
      join(copy, "net/tcp"),
      `${readFileSync(join(copy, "net/tcp"), "utf8")}   3: 00000000:7A69 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5007 1 0000000000000000 100 0 0 10 0\n`,
    );
    assert.deepEqual(c.collect(fs, new Set()).listeners, [{ string_list: ["backdoor", "chronyd", "nginx", "nginx-worker", "sshd"] }]);
  });

  it("cpu_usage leaves out the first sample, then reports the interval's busy percent", () => {
    const copy = copyFixture("custom");
    const { c } = collector({ cpu: { type: "number", source: "cpu_usage" } });
    const fs = new ProcFS(copy);
    assert.deepEqual(c.collect(fs, new Set()), {});
    writeFileSync(join(copy, "stat"), "cpu  1300 50 400 8500 300 10 40 0 0 0\n");
    assert.deepEqual(c.collect(fs, new Set()), { cpu: [{ number: 40 }] });
  });

  it("disk_used_percent agrees with df", () => {
    const { c } = collector({ disk: { type: "number", source: "disk_used_percent", path: "/" } });
    const v = (c.collect(new ProcFS(root), new Set()).disk![0] as { number: number }).number;
    const df = execFileSync("df", ["-P", "/"], { encoding: "utf8" }).trim().split("\n")[1]!.split(/\s+/);
    assert.equal(Math.ceil(v), Number(df[4]!.replace("%", "")), `${v} vs df ${df[4]}`);
  });
});

describe("file sources", () => {
  it("read a scaled number, a regex capture, lists, and drop what the service would discard", () => {
    const { c, log } = collector({
      soc_temp: { type: "number", source: "file", path: file("thermal_temp"), scale: 0.001 },
      sensor: { type: "number", source: "file", path: file("sensor"), regex: "temp: ([0-9.]+)" },
      nums: { type: "number-list", source: "file", path: file("numbers") },
      words: { type: "string-list", source: "file", path: file("words") },
      ips: { type: "ip-address-list", source: "file", path: file("ips") },
    });
    const out = c.collect(new ProcFS(root), new Set());
    assert.deepEqual(out, {
      soc_temp: [{ number: 45.678 }],
      sensor: [{ number: 41.5 }],
      nums: [{ number_list: [1, 2.5, 300] }],
      words: [{ string_list: ["alpha", "beta/gamma"] }],
      ips: [{ ip_list: ["10.0.0.1", "2001:db8::1"] }],
    });
    assert.ok(log.lines.some((l) => /WARN custom_metric\.invalid_value metric=words .*bad\*name/.test(l)));
    assert.ok(log.lines.some((l) => /WARN custom_metric\.invalid_value metric=ips .*not-an-ip/.test(l)));
  });

  it("a failing source is logged once per change and left out; the others still report", () => {
    const copy = copyFixture("custom");
    const { c, log } = collector({
      gone: { type: "number", source: "file", path: join(copy, "files", "missing") },
      broken: { type: "number", source: "file", path: join(copy, "files", "broken") },
      load: { type: "number", source: "load_average_1m" },
    });
    const fs = new ProcFS(copy);
    for (let i = 0; i < 3; i++) assert.deepEqual(c.collect(fs, new Set()), { load: [{ number: 0.42 }] });
    assert.equal(log.lines.filter((l) => l.includes("custom_metric.failed metric=gone")).length, 1);
    assert.equal(log.lines.filter((l) => l.includes("custom_metric.failed metric=broken")).length, 1);
    assert.match(
      log.lines.find((l) => l.includes("metric=gone"))!,
      /cannot read .*missing: ENOENT/,
    );
    writeFileSync(join(copy, "files", "missing"), "7\n");
    assert.deepEqual(c.collect(fs, new Set()), { gone: [{ number: 7 }], load: [{ number: 0.42 }] });
    assert.ok(log.lines.some((l) => /INFO custom_metric\.recovered metric=gone/.test(l)));
  });
});

describe("the CustomMetrics key", () => {
  it("follows the service's naming rules and refuses sources it cannot honour", () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ "aws:cpu": { type: "number", source: "cpu_usage" } }, /must not start with aws:/],
      [{ "my metric": { type: "number", source: "cpu_usage" } }, /1-128 characters/],
      [{ [`m${"x".repeat(128)}`]: { type: "number", source: "cpu_usage" } }, /1-128 characters/],
      [{ cmd: { type: "number", source: "command", command: "cat /etc/shadow" } }, /command/],
      [{ cpu: { type: "string-list", source: "cpu_usage" } }, /cpu_usage produces a number, not a string-list/],
      [{ disk: { type: "number", source: "disk_used_percent" } }, /disk_used_percent needs a path/],
      [{ f: { type: "number", source: "file", path: "relative/file" } }, /absolute path/],
      [{ f: { type: "number", source: "file", path: "/x", regex: "(" } }, /not a valid RE2 regular expression/],
      [{ f: { type: "number", source: "file", path: "/x", regex: "(a)\\1" } }, /not a valid RE2 regular expression/],
      [{ f: { type: "string-list", source: "file", path: "/x", scale: 2 } }, /only numbers from a file can be scaled/],
    ];
    for (const [doc, why] of bad) {
      const r = customMetricsConfig().safeParse(doc);
      assert.equal(r.success, false, JSON.stringify(doc));
      assert.match(r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "), why);
    }
    assert.equal(customMetricsConfig().safeParse({ "cpu:total_-1": { type: "number", source: "cpu_usage" } }).success, true);
  });
});

describe("collect --custom-metrics", () => {
  it("shows the values before deploying; cpu_usage appears from the second run with --state", () => {
    const copy = copyFixture("custom");
    const defs = join(tempDir(), "custom.json");
    writeFileSync(
      defs,
      JSON.stringify({
        cpu: { type: "number", source: "cpu_usage" },
        root_disk: { type: "number", source: "disk_used_percent", path: "/" },
        procs: { type: "number", source: "process_count" },
      }),
    );
    const state = join(tempDir(), "state.json");
    const run = () => {
      const r = spawnSync(process.execPath, [BUNDLE, "collect", "--proc-root", copy, "--custom-metrics", defs, "--state", state], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      return ReportSchema.parse(JSON.parse(r.stdout));
    };
    const first = run();
    assert.deepEqual(Object.keys(first.custom_metrics!).sort(), ["procs", "root_disk"]);
    writeFileSync(join(copy, "stat"), "cpu  1300 50 400 8500 300 10 40 0 0 0\n");
    assert.deepEqual(run().custom_metrics!.cpu, [{ number: 40 }]);
  });

  it("names the bad metric and field of a definitions file, with exit code 2", () => {
    const defs = join(tempDir(), "custom.json");
    writeFileSync(defs, JSON.stringify({ soc_temp: { type: "number", source: "file", path: "temp" } }));
    const r = spawnSync(process.execPath, [BUNDLE, "collect", "--custom-metrics", defs], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /soc_temp\.path: must be an absolute path/);
  });
});
