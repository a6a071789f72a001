// The local history of datapoints: an append-only file of one JSON line per datapoint.
// A line is appended with one write() and ends with "\n", so a crash or power cut mid-write can
// only leave a torn last line: it is dropped when the file is opened again, and the rest is intact.
// Bounded by age (default 14 days) and size (default 5 MB): the oldest datapoints go first.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, truncateSync, writeSync } from "node:fs";
import { writeFileAtomic } from "../store/files.js";
import type { Datapoint } from "./datapoint.js";
import type { MetricValue } from "./profile-schema.js";

export interface HistoryOptions {
  maxAgeMs: number;
  maxBytes: number;
}

/** Compact on disk: {"t":time,"v":{metric:value}} with the value's one field shortened. */
const SHORT: Record<string, string> = { count: "c", number: "n", numbers: "N", strings: "s", ports: "p", cidrs: "i" };
const LONG: Record<string, string> = Object.fromEntries(Object.entries(SHORT).map(([k, v]) => [v, k]));

function encode(dp: Datapoint): string {
  const v: Record<string, Record<string, unknown>> = {};
  for (const [metric, value] of Object.entries(dp.values)) {
    const [k, x] = Object.entries(value)[0] ?? [];
    if (k !== undefined) v[metric] = { [SHORT[k] ?? k]: x };
  }
  return `${JSON.stringify({ t: dp.time, v })}\n`;
}

function decode(line: string): Datapoint | undefined {
  try {
    const o = JSON.parse(line) as { t?: unknown; v?: Record<string, Record<string, unknown>> };
    if (typeof o.t !== "number" || typeof o.v !== "object" || o.v === null) return undefined;
    const values: Record<string, MetricValue> = {};
    for (const [metric, value] of Object.entries(o.v)) {
      const [k, x] = Object.entries(value)[0] ?? [];
      if (k !== undefined) values[metric] = { [LONG[k] ?? k]: x } as MetricValue;
    }
    return { time: o.t, values };
  } catch {
    return undefined;
  }
}

export class History {
  readonly datapoints: Datapoint[] = [];
  private bytes = 0;
  /** Lines that could not be read when the file was opened (a torn last line, say). */
  readonly dropped: number;

  constructor(
    private readonly path: string | undefined,
    private readonly opts: HistoryOptions,
    readOnly = false,
  ) {
    let dropped = 0;
    if (path !== undefined && existsSync(path)) {
      const text = readFileSync(path, "utf8");
      const complete = text.lastIndexOf("\n") + 1;
      if (complete < text.length) {
        if (!readOnly) truncateSync(path, Buffer.byteLength(text.slice(0, complete))); // the torn tail goes
        dropped++;
      }
      for (const line of text.slice(0, complete).split("\n")) {
        if (line === "") continue;
        const dp = decode(line);
        if (dp) this.datapoints.push(dp);
        else dropped++;
      }
      this.bytes = statSync(path).size;
    }
    this.dropped = dropped;
  }

  append(dp: Datapoint): void {
    this.datapoints.push(dp);
    const line = encode(dp);
    this.bytes += Buffer.byteLength(line);
    const cutoff = dp.time - this.opts.maxAgeMs;
    let drop = 0;
    while (drop < this.datapoints.length && this.datapoints[drop]!.time <= cutoff) drop++;
    if (drop > 0 || this.bytes > this.opts.maxBytes) return this.rewrite(drop);
    if (this.path === undefined) return;
    const fd = openSync(this.path, "a", 0o600);
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Drops the oldest datapoints (at least `drop`, more while over the size cap) and rewrites the file atomically. */
  private rewrite(drop: number): void {
    this.datapoints.splice(0, drop);
    let lines = this.datapoints.map(encode);
    let size = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
    while (size > this.opts.maxBytes && lines.length > 1) {
      const cut = Math.max(1, Math.floor(lines.length / 10)); // a tenth at a time, oldest first
      size -= lines.slice(0, cut).reduce((n, l) => n + Buffer.byteLength(l), 0);
      lines = lines.slice(cut);
      this.datapoints.splice(0, cut);
    }
    this.bytes = size;
    if (this.path !== undefined) writeFileAtomic(this.path, lines.join(""));
  }
}
