// A process's resident memory and CPU time, as the kernel counts them.

import { readFileSync } from "node:fs";

export function procStatus(pid: number): { rssKb: number; hwmKb: number; cpuMs: number; sysMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  // utime and stime, fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name).
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]);
  return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM"), cpuMs: (ticks * 1000) / 100, sysMs: (Number(f[12]) * 1000) / 100 };
}
