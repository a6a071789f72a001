// The history's datapoints in memory, by column: a time, an interval and one number per numeric
// metric (8 bytes each, NaN for none), lists shared between datapoints while they do not change.
// Fourteen days at 300 s are 4,032 datapoints; as objects they took ~0.5 KB each, here ~0.1 KB.

import { type Datapoint, type MetricValue, numberOf } from "./datapoint.js";
import type { Series } from "./measure.js";

type Column =
  | { kind: "count" | "number"; values: number[] }
  /** Lists (and a numeric metric whose kind changed): the values themselves, equal neighbours shared. */
  | { kind: "value"; values: Array<MetricValue | undefined>; lastText?: string };

export class Datapoints implements Series {
  private readonly times: number[] = [];
  private readonly intervals: number[] = [];
  private readonly columns = new Map<string, Column>();
  /**
   * Datapoints dropped from the front but still in the arrays: dropping one a sample would shift
   * every column each time, so they are shifted out once they are as many as those that stay.
   */
  private offset = 0;

  get length(): number {
    return this.times.length - this.offset;
  }

  timeAt(i: number): number {
    return this.times[this.offset + i]!;
  }

  intervalAt(i: number): number | undefined {
    const interval = this.intervals[this.offset + i]!;
    return Number.isNaN(interval) ? undefined : interval;
  }

  numberAt(i: number, metric: string): number | undefined {
    const col = this.columns.get(metric);
    if (col === undefined) return undefined;
    if (col.kind === "value") return numberOf(col.values[this.offset + i]);
    const n = col.values[this.offset + i]!;
    return Number.isNaN(n) ? undefined : n;
  }

  get(i: number): Datapoint {
    return this.row(this.offset + i);
  }

  /** The datapoint at an index of the arrays (the offset included). */
  private row(i: number): Datapoint {
    const values: Record<string, MetricValue> = {};
    for (const [metric, col] of this.columns) {
      if (col.kind === "value") {
        const v = col.values[i];
        if (v !== undefined) values[metric] = v;
      } else {
        const n = col.values[i]!;
        if (!Number.isNaN(n)) values[metric] = col.kind === "count" ? { count: n } : { number: n };
      }
    }
    const interval = this.intervals[i]!;
    return Number.isNaN(interval) ? { time: this.times[i]!, values } : { time: this.times[i]!, interval, values };
  }

  push(dp: Datapoint): void {
    const row = this.times.length;
    this.times.push(dp.time);
    this.intervals.push(dp.interval ?? NaN);
    for (const [metric, v] of Object.entries(dp.values)) {
      let col = this.columns.get(metric);
      if (col === undefined) {
        col = numericKind(v) !== undefined ? { kind: numericKind(v)!, values: [] } : { kind: "value", values: [] };
        this.columns.set(metric, col);
        pad(col, row);
      }
      if (col.kind !== "value" && numericKind(v) !== col.kind) col = this.asValues(metric, col);
      if (col.kind === "value") {
        // Listening ports and peers rarely change between samples: keep one copy while they do not.
        const text = JSON.stringify(v);
        const previous = col.values[row - 1];
        col.values.push(previous !== undefined && text === col.lastText ? previous : v);
        col.lastText = text;
      } else {
        col.values.push(v.count ?? v.number!);
      }
    }
    for (const col of this.columns.values()) if (col.values.length === row) pad(col, row + 1);
  }

  /** Drops the oldest datapoints up to and including time `until`. */
  dropUntil(until: number): void {
    while (this.offset < this.times.length && this.times[this.offset]! <= until) this.offset++;
    if (this.offset === 0 || this.offset * 2 < this.times.length) return;
    const n = this.offset;
    this.offset = 0;
    this.times.splice(0, n);
    this.intervals.splice(0, n);
    for (const [metric, col] of this.columns) {
      col.values.splice(0, n);
      if (col.values.every((v) => v === undefined || Number.isNaN(v))) this.columns.delete(metric);
    }
  }

  toArray(): Datapoint[] {
    return Array.from({ length: this.length }, (_, i) => this.get(i));
  }

  private asValues(metric: string, col: Column): Column {
    const values = col.values.map((n, i) => (typeof n === "number" && !Number.isNaN(n) ? this.row(i).values[metric] : undefined));
    const out: Column = { kind: "value", values };
    this.columns.set(metric, out);
    return out;
  }
}

function numericKind(v: MetricValue): "count" | "number" | undefined {
  const keys = Object.keys(v);
  if (keys.length !== 1) return undefined;
  if (typeof v.count === "number") return "count";
  if (typeof v.number === "number") return "number";
  return undefined;
}

function pad(col: Column, length: number): void {
  while (col.values.length < length) (col.values as unknown[]).push(col.kind === "value" ? undefined : NaN);
}
