// The metric catalogue (src/metrics/catalogue.ts): every standard metric round-trips from a
// snapshot to the report (long and short names, JSON and CBOR) to a datapoint, and the tables
// derived from it agree with the spec.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeFirstSync } from "cbor";
import type { Sample } from "../src/agent/sample.js";
import { datapointOfReport, datapointOfSample } from "../src/detect/datapoint.js";
import { DEVICE_METRICS, FAMILIES, SHORT_NAMES } from "../src/metrics/catalogue.js";
import { produceReport } from "../src/report/build.js";
import { toLongNames } from "../src/report/names.js";
import { ReportSchema } from "../src/report/schema.js";
import { procFixture, snapshotOf } from "./helpers.js";

describe("metric catalogue", () => {
  it("every Detect metric round-trips: snapshot → report (JSON, CBOR; long, short names) → datapoint", () => {
    const snapshot = snapshotOf(procFixture("tricky"));
    const traffic = { bytes_in: 11, bytes_out: 22, packets_in: 3, packets_out: 4 };
    const sample: Sample = { takenAt: 1_790_000_000_000, bootId: "b", snapshot, counters: undefined, customMetrics: { temp: [{ number: 41.5 }] } };
    const fromSample = datapointOfSample(sample, traffic);
    assert.deepEqual(Object.keys(fromSample.values).sort(), [...Object.keys(DEVICE_METRICS), "temp"].sort(), "a value for every device-side metric");
    for (const format of ["json", "cbor"] as const) {
      for (const shortNames of [false, true]) {
        const { payload } = produceReport(snapshot, {
          reportId: 1,
          maxListEntries: 100,
          networkStats: traffic,
          customMetrics: sample.customMetrics,
          format,
          shortNames,
        });
        const doc = (format === "json" ? JSON.parse(payload.toString("utf8")) : decodeFirstSync(payload)) as object;
        if (shortNames) assert.ok("met" in doc && !("metrics" in doc));
        const report = ReportSchema.parse(toLongNames(doc));
        assert.deepEqual(datapointOfReport(report, sample.takenAt), fromSample, `${format}, ${shortNames ? "short" : "long"} names`);
      }
    }
  });

  it("derives the spec's short-name table and the device-side Detect metrics", () => {
    assert.equal(Object.keys(SHORT_NAMES).length, 22);
    assert.equal(new Set(Object.values(SHORT_NAMES)).size, 22, "no two long names share a short one");
    assert.deepEqual(Object.keys(DEVICE_METRICS).sort(), [
      "aws:all-bytes-in",
      "aws:all-bytes-out",
      "aws:all-packets-in",
      "aws:all-packets-out",
      "aws:destination-ip-addresses",
      "aws:listening-tcp-ports",
      "aws:listening-udp-ports",
      "aws:num-established-tcp-connections",
      "aws:num-listening-tcp-ports",
      "aws:num-listening-udp-ports",
    ]);
    for (const [name, m] of Object.entries(DEVICE_METRICS)) assert.equal(m.delta, name.startsWith("aws:all-"), `${name}: only the traffic counters are deltas`);
    assert.deepEqual(Object.keys(FAMILIES), ["listening_tcp_ports", "listening_udp_ports", "network_stats", "tcp_connections"]);
  });
});
