// Reads the configured custom metrics for one report. A failing source is logged once per
// change of state and left out; the rest of the report still goes out. Values that break the
// service's rules are dropped here with a log line, because the service silently discards
// invalid custom data (AWS IoT Device SDK C++ v2 sample README, "Device Defender Data Requirements").

import { isIP } from "node:net";
import type { ProcFS, SocketFile } from "../procfs/fs.js";
import type { SocketRecord } from "../procfs/net-sockets.js";
import type { CpuTimes } from "../procfs/system.js";
import type { CustomMetricValue, CustomMetrics } from "../report/schema.js";
import type { Logger } from "../util/log.js";
import type { CustomMetricDefinition, CustomMetricsConfig } from "./definitions.js";
import { BUILTINS, type ListenerCache, type Outcome, type RawValue, fromFile } from "./sources.js";

/** string-list entries keep letters, digits and : _ - / . only. */
const STRING_ENTRY = /^[A-Za-z0-9:_\-/.]+$/;

/** "Supports precision up to 15 digits." */
const fifteenDigits = (n: number) => Number(n.toPrecision(15));

export class CustomMetricsCollector {
  private definitions: CustomMetricsConfig = {};
  /** What was last said per metric, so each condition is logged once per change. */
  private readonly lastState = new Map<string, string>();
  private readonly lastNote = new Map<string, string>();
  private readonly lastInvalid = new Map<string, string>();
  /** CPU times of the previous sample (cpu_usage is a delta over the interval). */
  previousCpu: CpuTimes | undefined;
  private readonly listeners: ListenerCache = { key: "", byPid: new Map() };

  constructor(private readonly log: Logger) {}

  configure(definitions: CustomMetricsConfig): void {
    this.definitions = definitions;
    for (const m of [this.lastState, this.lastNote, this.lastInvalid]) for (const k of [...m.keys()]) if (!(k in definitions)) m.delete(k);
  }

  collect(
    fs: ProcFS,
    excludedInterfaces: ReadonlySet<string>,
    sockets: (file: SocketFile) => SocketRecord[] = (file) => fs.sockets(file).records,
  ): CustomMetrics {
    const cpu: { previous?: CpuTimes; current?: CpuTimes } = { previous: this.previousCpu };
    const ctx = { fs, excludedInterfaces, cpu, listeners: this.listeners, sockets };
    const out: CustomMetrics = {};
    for (const [name, def] of Object.entries(this.definitions)) {
      let outcome: Outcome;
      try {
        outcome = def.source === "file" ? fromFile(def) : BUILTINS[def.source as keyof typeof BUILTINS](ctx, def);
      } catch (err) {
        outcome = { error: (err as Error).message };
      }
      const before = this.lastState.get(name);
      if ("error" in outcome) {
        if (before !== outcome.error) this.log.warn("custom_metric.failed", { metric: name, source: def.source, reason: outcome.error });
        this.lastState.set(name, outcome.error);
        continue;
      }
      if (before !== undefined && before !== "ok") this.log.info("custom_metric.recovered", { metric: name, source: def.source });
      this.lastState.set(name, "ok");
      if ("pending" in outcome) continue;
      if (once(this.lastNote, name, outcome.note ?? "") && outcome.note) {
        this.log.info("custom_metric.note", { metric: name, source: def.source, note: outcome.note });
      }
      const value = this.toReportValue(name, def, outcome.value);
      if (value !== undefined) out[name] = [value];
    }
    if (cpu.current) this.previousCpu = cpu.current;
    return out;
  }

  private toReportValue(name: string, def: CustomMetricDefinition, raw: RawValue): CustomMetricValue | undefined {
    const drop = (reason: string) => {
      if (once(this.lastInvalid, name, reason)) this.log.warn("custom_metric.invalid_value", { metric: name, reason });
    };
    switch (def.type) {
      case "number": {
        if (typeof raw !== "number" || !Number.isFinite(raw)) return void drop("not a finite number");
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
        const bad = list.filter((s) => isIP(s) === 0);
        if (bad.length > 0) drop(`not IP addresses: ${bad.slice(0, 5).join(" ")}`);
        return { ip_list: list.filter((s) => isIP(s) !== 0) };
      }
    }
  }
}

/** Records `value` for `key`; true when it differs from the one recorded before. */
function once(map: Map<string, string>, key: string, value: string): boolean {
  if (map.get(key) === value) return false;
  map.set(key, value);
  return true;
}
