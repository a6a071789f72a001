// Reads the configured custom metrics for one sample from their sources (the collector table).
// A failing source is logged once per change of state and left out; the rest still goes out.
// Values that break the service's rules are dropped here with a log line, because the service
// silently discards invalid custom data (AWS IoT Device SDK C++ v2 sample README, "Device
// Defender Data Requirements").

import { ipVersion } from "../util/ip.js";
import { CollectError, PENDING } from "../collect/collector.js";
import { SOURCES, type SourceName } from "../collect/collectors/index.js";
import type { CollectContext } from "../collect/context.js";
import type { CustomMetricValue, CustomMetrics } from "../report/schema.js";
import type { Logger } from "../util/log.js";
import type { CustomMetricDefinition, CustomMetricsConfig } from "./definitions.js";

/** string-list entries keep letters, digits and : _ - / . only. */
const STRING_ENTRY = /^[A-Za-z0-9:_\-/.]+$/;

/** "Supports precision up to 15 digits." */
const fifteenDigits = (n: number) => Number(n.toPrecision(15));

/** Remembers the last thing said per key: true when `value` is new for `key`. */
class ChangeLog {
  private readonly said = new Map<string, string>();
  changed(key: string, value: string): boolean {
    if (this.said.get(key) === value) return false;
    this.said.set(key, value);
    return true;
  }
  last(key: string): string | undefined {
    return this.said.get(key);
  }
  keep(keys: (k: string) => boolean): void {
    for (const k of [...this.said.keys()]) if (!keys(k)) this.said.delete(k);
  }
}

export class CustomMetricsReader {
  private definitions: CustomMetricsConfig = {};
  private readonly state = new ChangeLog();
  private readonly notes = new ChangeLog();
  private readonly invalid = new ChangeLog();

  constructor(private readonly log: Logger) {}

  configure(definitions: CustomMetricsConfig): void {
    this.definitions = definitions;
    for (const c of [this.state, this.notes, this.invalid]) c.keep((k) => k in definitions);
  }

  get configured(): boolean {
    return Object.keys(this.definitions).length > 0;
  }

  collect(ctx: CollectContext): CustomMetrics {
    const out: CustomMetrics = {};
    for (const [name, def] of Object.entries(this.definitions)) {
      ctx.notes.length = 0;
      let value: unknown;
      let error: string | undefined;
      try {
        value = SOURCES[def.source as SourceName].collect(ctx, { path: def.path, regex: def.regex, scale: def.scale, type: def.type });
      } catch (err) {
        error = err instanceof CollectError ? err.message : `unexpected: ${(err as Error).message}`;
      }
      const before = this.state.last(name);
      if (error !== undefined) {
        if (this.state.changed(name, error)) this.log.warn("custom_metric.failed", { metric: name, source: def.source, reason: error });
        continue;
      }
      if (before !== undefined && before !== "ok") this.log.info("custom_metric.recovered", { metric: name, source: def.source });
      this.state.changed(name, "ok");
      if (value === PENDING) continue;
      const note = ctx.notes.join("; ");
      if (this.notes.changed(name, note) && note !== "") this.log.info("custom_metric.note", { metric: name, source: def.source, note });
      const v = this.toReportValue(name, def, value as number | number[] | string[]);
      if (v !== undefined) out[name] = [v];
    }
    return out;
  }

  private toReportValue(name: string, def: CustomMetricDefinition, raw: number | number[] | string[]): CustomMetricValue | undefined {
    const drop = (reason: string) => {
      if (this.invalid.changed(name, reason)) this.log.warn("custom_metric.invalid_value", { metric: name, reason });
    };
    switch (def.type) {
      case "number": {
        if (typeof raw !== "number" || !Number.isFinite(raw)) {
          drop("not a finite number");
          return;
        }
        return { number: fifteenDigits(raw) };
      }
      case "number-list": {
        const list = (Array.isArray(raw) ? raw : [raw]) as number[];
        const ok = list.filter((n) => typeof n === "number" && Number.isFinite(n)).map(fifteenDigits);
        if (ok.length < list.length) drop(`${list.length - ok.length} entries are not finite numbers`);
        return { number_list: ok };
      }
      case "string-list": {
        const list = (Array.isArray(raw) ? raw : [raw]).map(String);
        const bad = list.filter((s) => !STRING_ENTRY.test(s));
        if (bad.length > 0) drop(`entries with characters the service does not keep: ${bad.slice(0, 5).join(" ")}`);
        return { string_list: list.filter((s) => STRING_ENTRY.test(s)) };
      }
      case "ip-address-list": {
        const list = (Array.isArray(raw) ? raw : [raw]).map(String);
        const bad = list.filter((s) => ipVersion(s) === 0);
        if (bad.length > 0) drop(`not IP addresses: ${bad.slice(0, 5).join(" ")}`);
        return { ip_list: list.filter((s) => ipVersion(s) !== 0) };
      }
    }
  }
}
