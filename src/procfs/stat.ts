// Parser for /proc/stat (fs/proc/stat.c show_stat): the aggregate "cpu" line,
// "cpu  user nice system idle iowait irq softirq steal guest guest_nice" in USER_HZ ticks.

/** CPU times of the aggregate line. */
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
