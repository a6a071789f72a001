// Parsers for the system-wide proc files behind the built-in custom metrics. Each returns
// undefined when the text is not in the kernel's format, so a caller can report "parse error".

/** The aggregate "cpu" line of /proc/stat (fs/proc/stat.c): user nice system idle iowait irq softirq steal ... */
export interface CpuTimes {
  /** Sum of the first eight fields (guest time is already inside user and nice). */
  total: number;
  idle: number;
  iowait: number;
}

export function parseStatCpu(text: string): CpuTimes | undefined {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) return undefined;
  const f = line.trim().split(/\s+/).slice(1);
  if (f.length < 8 || !f.slice(0, 8).every((x) => /^\d+$/.test(x))) return undefined;
  const n = f.slice(0, 8).map(Number);
  return { total: n.reduce((a, b) => a + b, 0), idle: n[3]!, iowait: n[4]! };
}

/** Percent of the interval the CPUs were busy: (Δtotal − Δidle − Δiowait) / Δtotal × 100. */
export function cpuBusyPercent(prev: CpuTimes, cur: CpuTimes): number | undefined {
  const total = cur.total - prev.total;
  if (total <= 0) return undefined; // no time passed, or the counters restarted
  const busy = total - (cur.idle - prev.idle) - (cur.iowait - prev.iowait);
  return Math.min(100, Math.max(0, (busy / total) * 100));
}

/** /proc/meminfo: "Key:   value kB" lines, values in bytes. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (line.trimEnd().endsWith("kB") ? 1024 : 1));
  }
  return out;
}

/** /proc/loadavg: "1.77 1.49 0.87 1/77 17283"; the 1-minute load average. */
export function parseLoadavg1m(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s+\d+(?:\.\d+)?\s+\d+(?:\.\d+)?\s/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** /proc/uptime: "2495.71 4163.77"; seconds since boot. */
export function parseUptime(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** /proc/sys/fs/file-nr: "allocated unused max"; open file handles = allocated − unused. */
export function parseFileNr(text: string): number | undefined {
  const m = /^(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(text.trim());
  return m ? Number(m[1]) - Number(m[2]) : undefined;
}

/** "socket:[12345]" (the target of a /proc/<pid>/fd link) → 12345. */
export function socketInode(linkTarget: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(linkTarget);
  return m ? Number(m[1]) : undefined;
}
