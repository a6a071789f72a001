// The `collect` command of the built bundle, exactly as a user runs it on a device.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decodeFirstSync } from "cbor";
import { toLongNames } from "../src/report/names.js";
import { ReportSchema } from "../src/report/schema.js";
import { BUNDLE } from "./bundle.js";
import { FIXTURES, copyFixture, procFixture, tempDir } from "./helpers.js";

function collect(args: string[]) {
  assert.ok(existsSync(BUNDLE), `${BUNDLE} is missing: run npm run build`);
  const r = spawnSync(process.execPath, [BUNDLE, "collect", ...args], { encoding: "buffer" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

/** A printed report, as far as these tests read it. */
interface ReportDoc {
  header: { report_id: number };
  metrics: Record<string, unknown>;
}

function setDev(root: string, rows: Record<string, [number, number, number, number]>) {
  const header = readFileSync(join(root, "net/dev"), "latin1").split("\n").slice(0, 2).join("\n");
  const body = Object.entries(rows)
    .map(([n, [rb, rp, tb, tp]]) => `${n.padStart(6)}: ${rb} ${rp} 0 0 0 0 0 0 ${tb} ${tp} 0 0 0 0 0 0`)
    .join("\n");
  writeFileSync(join(root, "net/dev"), `${header}\n${body}\n`);
}

describe("collect", () => {
  it("prints the expected JSON report for a proc root and logs the skipped lines", () => {
    const r = collect(["--proc-root", procFixture("tricky")]);
    assert.equal(r.code, 0, r.stderr);
    const report = ReportSchema.parse(JSON.parse(r.stdout.toString("utf8")));
    const expected = JSON.parse(readFileSync(join(FIXTURES, "proc", "tricky.expected.json"), "utf8")) as ReportDoc;
    assert.deepEqual(report.metrics, expected.metrics);
    assert.match(r.stderr, /WARN procfs\.malformed_lines file=\S+net\/tcp skipped=4/);
    assert.ok(Math.abs(report.header.report_id - Date.now()) < 60_000, "report id is epoch ms");
  });

  it("writes raw CBOR with short names that decodes to the same content", () => {
    const cbor = collect(["--proc-root", procFixture("tricky"), "--format", "cbor", "--short-names"]);
    const json = collect(["--proc-root", procFixture("tricky"), "--short-names"]);
    assert.equal(cbor.code, 0, cbor.stderr);
    const a = decodeFirstSync(cbor.stdout) as Record<string, unknown>;
    const b = JSON.parse(json.stdout.toString("utf8")) as { hed: Record<string, unknown> };
    assert.ok("hed" in a && "met" in a);
    delete (a.hed as Record<string, unknown>).rid;
    delete b.hed.rid;
    assert.deepEqual(a, b);
    ReportSchema.parse({ ...(toLongNames(a) as object), header: { report_id: 1, version: "1.0" } });
  });

  it("with --state, the second report carries the deltas; after a reboot, the counters since boot", () => {
    const root = copyFixture("tricky");
    const state = join(tempDir(), "state.json");
    setDev(root, { lo: [100, 1, 100, 1], eth0: [1000, 10, 2000, 20], "br-1a2b": [5000, 50, 6000, 60] });
    const first = collect(["--proc-root", root, "--state", state]);
    assert.equal(first.code, 0, first.stderr);
    const r1 = JSON.parse(first.stdout.toString("utf8")) as ReportDoc;
    assert.equal(r1.metrics.network_stats, undefined);
    // eth0 grows, br-1a2b was re-created (counters reset), wwan0 appears, lo is excluded.
    setDev(root, { lo: [900, 9, 900, 9], eth0: [1500, 15, 2600, 27], "br-1a2b": [40, 1, 30, 1], wwan0: [7, 1, 8, 2] });
    const second = collect(["--proc-root", root, "--state", state]);
    const r2 = JSON.parse(second.stdout.toString("utf8")) as ReportDoc;
    assert.deepEqual(r2.metrics.network_stats, { bytes_in: 500 + 40 + 7, bytes_out: 600 + 30 + 8, packets_in: 5 + 1 + 1, packets_out: 7 + 1 + 2 });
    assert.ok(r2.header.report_id > r1.header.report_id);
    writeFileSync(join(root, "sys/kernel/random/boot_id"), "00000000-0000-4000-8000-00000000beef\n");
    setDev(root, { eth0: [300, 3, 400, 4] });
    const third = JSON.parse(collect(["--proc-root", root, "--state", state]).stdout.toString("utf8")) as ReportDoc;
    assert.deepEqual(third.metrics.network_stats, { bytes_in: 300, bytes_out: 400, packets_in: 3, packets_out: 4 });
  });

  it("never overwrites a --state file that is not its own (a profile named by mistake, a corrupt file)", () => {
    for (const text of ["{not json", JSON.stringify({ securityProfileName: "Mine", behaviors: [] })]) {
      const state = join(tempDir(), "my-profile.json");
      writeFileSync(state, text);
      const r = collect(["--proc-root", procFixture("tricky"), "--state", state]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--state .*my-profile\.json is not a state file of this component .*refusing to overwrite it/);
      assert.equal(readFileSync(state, "utf8"), text, "left as it was");
    }
  });

  it("caps lists with --max-list-entries and logs the truncation", () => {
    const r = collect(["--proc-root", procFixture("tricky"), "--max-list-entries", "2"]);
    const report = JSON.parse(r.stdout.toString("utf8")) as ReportDoc;
    assert.deepEqual(report.metrics.listening_tcp_ports, {
      ports: [
        { port: 22, interface: "eth0" },
        { port: 53, interface: "lo" },
      ],
      total: 5,
    });
    assert.match(r.stderr, /INFO report\.truncated list=listening_tcp_ports kept=2 total=5/);
  });

  it("answers bad arguments with the usage and exit code 2", () => {
    for (const args of [["--format", "xml"], ["--bogus"], ["--max-list-entries", "0"], ["extra"]]) {
      const r = collect(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, /Usage: node defender\.js/);
      assert.equal(r.stdout.length, 0);
    }
  });
});

describe("collect's answer is its stdout: a stdout that cannot take it fails, in one line", () => {
  const errorsOf = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("ERROR"));

  it("stdout closed at start (>&-): exit 1, nothing pretended", () => {
    const r = spawnSync("bash", ["-c", `"${process.execPath}" "${BUNDLE}" collect --proc-root "${procFixture("tricky")}" >&-`], { encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.deepEqual(errorsOf(r.stderr), ["ERROR stdout is closed: the command has nowhere to write its answer"]);
  });

  it("stdout sent to /dev/null on purpose is fine", () => {
    const r = spawnSync("bash", ["-c", `"${process.execPath}" "${BUNDLE}" collect --proc-root "${procFixture("tricky")}" >/dev/null`], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  });

  it("a reader that went away (EPIPE): exit 1, one line", () => {
    // A FIFO whose only reader is closed before collect starts: its write gets EPIPE, every time.
    const fifo = join(tempDir(), "out");
    const script = `mkfifo "${fifo}"; exec 4<>"${fifo}"; exec 5>"${fifo}"; exec 4<&-; "${process.execPath}" "${BUNDLE}" collect --proc-root "${procFixture("tricky")}" >&5 5>&-`;
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.deepEqual(errorsOf(r.stderr), ['ERROR stdout.write_failed reason="EPIPE: the reader of stdout went away before the answer was written"']);
  });
});
