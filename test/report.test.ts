import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decodeFirstSync } from "cbor";
import fc from "fast-check";
import type { Snapshot } from "../src/collect/snapshot.js";
import { type BuildOptions, buildReport, produceReport } from "../src/report/build.js";
import { nextReportId } from "../src/report/report-id.js";
import { type CounterMap, countersOf } from "../src/collect/counters.js";
import { counterDelta, networkStatsDelta } from "../src/report/delta.js";
import { DEFAULT_REPORT_SETTINGS, type Sample, reportOf, trafficSince } from "../src/agent/sample.js";
import { MAX_REPORT_BYTES, encodeReport } from "../src/report/encode.js";
import { SHORT_NAMES, toLongNames, toShortNames } from "../src/report/names.js";
import { ReportSchema } from "../src/report/schema.js";
import { FIXTURES, procFixture, snapshotOf } from "./helpers.js";

const base: BuildOptions = {
  reportId: 1_700_000_000_000,
  maxListEntries: 100,
  networkStats: undefined,
};

function expectAllEncodingsAgree(report: unknown) {
  const parsed = ReportSchema.parse(report);
  for (const short of [false, true]) {
    const json: unknown = JSON.parse(encodeReport(parsed, "json", short).toString("utf8"));
    const cbor: unknown = decodeFirstSync(encodeReport(parsed, "cbor", short));
    assert.deepEqual(cbor, json);
    assert.deepEqual(toLongNames(json), JSON.parse(JSON.stringify(parsed)));
  }
}

describe("fixture proc roots → expected reports", () => {
  for (const name of ["real-x86_64", "tricky", "no-ipv6"]) {
    it(name, () => {
      const expected = JSON.parse(readFileSync(join(FIXTURES, "proc", `${name}.expected.json`), "utf8")) as { metrics: unknown; skippedLines: unknown };
      const snapshot = snapshotOf(procFixture(name));
      const { report } = buildReport(snapshot, base);
      assert.deepEqual(report.metrics, expected.metrics);
      assert.deepEqual(snapshot.skippedLines, expected.skippedLines);
      assert.equal(report.metrics?.network_stats, undefined, "no baseline: network_stats omitted");
      expectAllEncodingsAgree(report);
    });
  }
});

describe("network_stats deltas", () => {
  it("a counter that went down was reset: its delta is the new value", () => {
    assert.equal(counterDelta(1000, 300, 64), 300);
    assert.equal(counterDelta(1000, 300, 32), 300);
  });
  it("on 32-bit kernels a fall of more than half the range is a wrap", () => {
    assert.equal(counterDelta(2 ** 32 - 100, 50, 32), 150);
    assert.equal(counterDelta(2 ** 32 - 100, 50, 64), 50);
    assert.equal(counterDelta(2 ** 31 - 1, 0, 32), 0, "a fall of less than half is a reset");
  });
  it("new interfaces count whole, vanished ones nothing, excluded ones are left out", () => {
    const prev: CounterMap = { lo: { bi: 0, bo: 0, pi: 0, po: 0 }, eth0: { bi: 100, bo: 50, pi: 10, po: 5 }, usb0: { bi: 9e9, bo: 9e9, pi: 9e6, po: 9e6 } };
    const cur: CounterMap = {
      lo: { bi: 5000, bo: 5000, pi: 50, po: 50 },
      eth0: { bi: 150, bo: 70, pi: 12, po: 6 },
      wg0: { bi: 7, bo: 8, pi: 1, po: 2 },
    };
    assert.deepEqual(networkStatsDelta(prev, cur, new Set(["lo"]), 64), { bytes_in: 57, bytes_out: 28, packets_in: 3, packets_out: 3 });
    assert.deepEqual(networkStatsDelta(prev, cur, new Set(["lo", "wg0"]), 64), { bytes_in: 50, bytes_out: 20, packets_in: 2, packets_out: 1 });
  });
  it("is never negative, whatever the counters do", () => {
    const c = fc.record({ bi: fc.nat(), bo: fc.nat(), pi: fc.nat(), po: fc.nat() });
    const map = fc.dictionary(fc.constantFrom("eth0", "eth1", "lo", "wlan0"), c);
    fc.assert(
      fc.property(map, map, fc.constantFrom(32 as const, 64 as const), (prev, cur, bits) => {
        const d = networkStatsDelta(prev, cur, new Set(), bits);
        for (const v of Object.values(d)) assert.ok(v >= 0 && Number.isFinite(v));
      }),
    );
  });
  it("the first sample has no baseline and omits network_stats; the next carries deltas", () => {
    const sample = (eth0: number): Sample => {
      const counters = countersOf([
        { name: "eth0", rxBytes: eth0, rxPackets: 10, txBytes: eth0 * 2, txPackets: 20 },
        { name: "lo", rxBytes: 999, rxPackets: 9, txBytes: 999, txPackets: 9 },
      ]);
      const snapshot: Snapshot = { skippedLines: {}, failures: {}, interface_counters: counters };
      return { takenAt: 0, bootId: "b", snapshot, counters, customMetrics: {} };
    };
    const settings = { ...DEFAULT_REPORT_SETTINGS, excludedInterfaces: ["lo"] };
    const first = sample(1000);
    assert.equal(trafficSince(undefined, first, settings.excludedInterfaces), undefined);
    assert.equal(reportOf(first, settings, 1, undefined).report.metrics?.network_stats, undefined);
    const second = sample(1500);
    const traffic = trafficSince(first.counters, second, settings.excludedInterfaces);
    assert.deepEqual(reportOf(second, settings, 2, traffic).report.metrics?.network_stats, { bytes_in: 500, bytes_out: 1000, packets_in: 0, packets_out: 0 });
  });
});

describe("header", () => {
  it("report ids are epoch ms and strictly increase even when the clock steps back", () => {
    assert.equal(nextReportId(undefined, 1_700_000_000_123), 1_700_000_000_123);
    assert.equal(nextReportId(1_700_000_000_123, 1_600_000_000_000), 1_700_000_000_124);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2e12 }), { minLength: 2 }), (clock) => {
        let last: number | undefined;
        for (const now of clock) {
          const id = nextReportId(last, now);
          if (last !== undefined) assert.ok(id > last);
          last = id;
        }
      }),
    );
  });
});

const listed = <T>(items: T[]) => ({ items, total: items.length });

describe("truncation and size", () => {
  const manyPorts = (n: number) => Array.from({ length: n }, (_, i) => ({ port: 1000 + ((i * 7919) % n), interface: "eth0" }));
  it("keeps the first entries in a fixed order, whatever the input order, and the true total", () => {
    const ports = manyPorts(250);
    const a = buildReport({ skippedLines: {}, failures: {}, listening_tcp_ports: listed(ports) }, base);
    const b = buildReport({ skippedLines: {}, failures: {}, listening_tcp_ports: listed([...ports].reverse()) }, base);
    assert.deepEqual(a.report, b.report);
    const tp = a.report.metrics!.listening_tcp_ports!;
    assert.equal(tp.total, 250);
    assert.equal(tp.ports!.length, 100);
    assert.deepEqual(
      tp.ports!.map((p) => p.port),
      Array.from({ length: 100 }, (_, i) => 1000 + i),
    );
    assert.deepEqual(a.truncations, [{ list: "listening_tcp_ports", kept: 100, total: 250 }]);
  });
  it("shrinks the lists until the encoded report fits in 128 KiB", () => {
    const connections = Array.from({ length: 5000 }, (_, i) => ({
      remote_addr: `[2001:db8:${(i >> 8).toString(16)}::${(i & 255).toString(16)}]:${1024 + i}`,
      local_port: 443,
      local_interface: "eth0.100",
    }));
    const snapshot: Snapshot = { skippedLines: {}, failures: {}, established_connections: listed(connections) };
    const big = produceReport(snapshot, { ...base, maxListEntries: 5000, format: "json", shortNames: false });
    assert.ok(big.payload.length <= MAX_REPORT_BYTES, `${big.payload.length} bytes`);
    const ec = big.report.metrics!.tcp_connections!.established_connections!;
    assert.equal(ec.total, 5000);
    assert.ok(ec.connections!.length < 5000 && ec.connections!.length >= 5000 / 4);
  });
});

describe("names and schema", () => {
  it("maps every long name to its short name and leaves custom metrics alone", () => {
    const long = {
      header: { report_id: 1, version: "1.0" },
      metrics: {
        listening_tcp_ports: { ports: [{ port: 22, interface: "eth0" }], total: 1 },
        listening_udp_ports: { ports: [{ port: 53 }], total: 1 },
        network_stats: { bytes_in: 1, bytes_out: 2, packets_in: 3, packets_out: 4 },
        tcp_connections: { established_connections: { connections: [{ remote_addr: "1.2.3.4:5", local_port: 6, local_interface: "eth0" }], total: 1 } },
      },
      custom_metrics: { total: [{ number: 1 }], ports: [{ string_list: ["a"] }] },
    };
    const short = toShortNames(long);
    assert.deepEqual(short, {
      hed: { rid: 1, v: "1.0" },
      met: {
        tp: { pts: [{ pt: 22, if: "eth0" }], t: 1 },
        up: { pts: [{ pt: 53 }], t: 1 },
        ns: { bi: 1, bo: 2, pi: 3, po: 4 },
        tc: { ec: { cs: [{ rad: "1.2.3.4:5", lp: 6, li: "eth0" }], t: 1 } },
      },
      cmet: { total: [{ number: 1 }], ports: [{ string_list: ["a"] }] },
    });
    assert.deepEqual(toLongNames(short), long);
    assert.equal(Object.keys(SHORT_NAMES).length, 22);
    expectAllEncodingsAgree(long);
  });

  it("rejects what the service would reject", () => {
    const ok = { header: { report_id: 1, version: "1.0" }, metrics: {} };
    const bad: Array<[string, unknown]> = [
      ["custom value without the array", { ...ok, custom_metrics: { m: { number: 0 } } }],
      ["port 0", { ...ok, metrics: { listening_tcp_ports: { ports: [{ port: 0 }], total: 1 } } }],
      ["negative delta", { ...ok, metrics: { network_stats: { bytes_in: -1 } } }],
      ["remote_addr without port", { ...ok, metrics: { tcp_connections: { established_connections: { connections: [{ remote_addr: "10.0.0.1" }] } } } }],
      ["unbracketed IPv6", { ...ok, metrics: { tcp_connections: { established_connections: { connections: [{ remote_addr: "::1:80" }] } } } }],
      ["aws: custom name", { ...ok, custom_metrics: { "aws:x": [{ number: 1 }] } }],
      ["no metrics at all", { header: ok.header }],
      ["version 2.0", { ...ok, header: { report_id: 1, version: "2.0" } }],
    ];
    for (const [why, doc] of bad) assert.equal(ReportSchema.safeParse(doc).success, false, why);
    assert.equal(ReportSchema.safeParse(ok).success, true);
  });
});
