// cpu_usage: percent of the interval the CPUs were busy, from the aggregate line of stat:
// (Δtotal − Δidle − Δiowait) / Δtotal × 100. The first sample has no interval yet.

import { type CpuTimes, parseStatCpu } from "../../procfs/stat.js";
import { PENDING, type Collector, collector } from "../collector.js";
import { readParsed } from "./read.js";

export function cpuBusyPercent(prev: CpuTimes, cur: CpuTimes): number | undefined {
  const total = cur.total - prev.total;
  if (total <= 0) return undefined; // no time passed, or the counters restarted
  const busy = total - (cur.idle - prev.idle) - (cur.iowait - prev.iowait);
  return Math.min(100, Math.max(0, (busy / total) * 100));
}

export const cpuUsage: Collector<number> = collector({
  custom: { type: "number" },
  collect(ctx) {
    const cur = readParsed(ctx, "stat", parseStatCpu);
    const prev = ctx.memory.cpu;
    ctx.memory.cpu = cur;
    const busy = prev === undefined ? undefined : cpuBusyPercent(prev, cur);
    return busy === undefined ? PENDING : busy;
  },
});
