// The sources of custom metric values. Each reads from the configured proc root (so a mounted
// host /proc works) or, for `file`, from the given path, and returns a value or says why not.

import { readFileSync, statfsSync } from "node:fs";
import type { ProcFS, SocketFile } from "../procfs/fs.js";
import { type SocketRecord, isListening } from "../procfs/net-sockets.js";
import {
  type CpuTimes,
  cpuBusyPercent,
  parseFileNr,
  parseLoadavg1m,
  parseMeminfo,
  parseStatCpu,
  parseUptime,
  socketInode,
} from "../procfs/system.js";
import type { BuiltinSource, CustomMetricDefinition } from "./definitions.js";

export type RawValue = number | number[] | string[];

export type Outcome =
  | { value: RawValue; note?: string }
  /** Nothing to send yet (the first sample of a delta-based source); not a failure. */
  | { pending: true }
  | { error: string };

export interface SourceContext {
  fs: ProcFS;
  excludedInterfaces: ReadonlySet<string>;
  /** CPU times of the previous sample, and where to leave this one's. */
  cpu: { previous?: CpuTimes; current?: CpuTimes };
  /** Kept between samples by the collector (see listening_process_names). */
  listeners: ListenerCache;
  /** Rows of a socket file (TCP files may hold only their LISTEN and ESTABLISHED rows). */
  sockets: (file: SocketFile) => SocketRecord[];
}

/**
 * The socket inodes each process held at the last full scan (null: its fds could not be read).
 * Reading every fd link costs one readlink per fd (about 130 ms for 2,000 processes here), so a
 * full scan happens only when the set of listening sockets changes; otherwise only processes
 * that appeared since are read. A new port therefore always gets a fresh answer.
 */
export interface ListenerCache {
  key: string;
  byPid: Map<number, number[] | null>;
}

const parseError = (file: string) => ({ error: `cannot parse ${file}` });
const fileText = (fs: ProcFS, rel: string): string | { error: string } => {
  const text = fs.read(rel);
  return text === "" ? { error: `cannot read ${fs.path(rel)}` } : text;
};

type Builtin = (ctx: SourceContext, def: CustomMetricDefinition) => Outcome;

const number = (file: string, parse: (t: string) => number | undefined): Builtin => (ctx) => {
  const text = fileText(ctx.fs, file);
  if (typeof text !== "string") return text;
  const v = parse(text);
  return v === undefined ? parseError(ctx.fs.path(file)) : { value: v };
};

const meminfo = (pick: (m: Map<string, number>) => number | undefined): Builtin => (ctx) => {
  const text = fileText(ctx.fs, "meminfo");
  if (typeof text !== "string") return text;
  const v = pick(parseMeminfo(text));
  return v === undefined ? parseError(ctx.fs.path("meminfo")) : { value: v };
};

export const BUILTINS: Record<BuiltinSource, Builtin> = {
  cpu_usage(ctx) {
    const text = fileText(ctx.fs, "stat");
    if (typeof text !== "string") return text;
    const cur = parseStatCpu(text);
    if (cur === undefined) return parseError(ctx.fs.path("stat"));
    ctx.cpu.current = cur;
    const prev = ctx.cpu.previous;
    const busy = prev === undefined ? undefined : cpuBusyPercent(prev, cur);
    return busy === undefined ? { pending: true } : { value: busy };
  },
  memory_used_percent: meminfo((m) => {
    const total = m.get("MemTotal");
    const avail = m.get("MemAvailable");
    return total === undefined || avail === undefined || total === 0 ? undefined : ((total - avail) / total) * 100;
  }),
  memory_available_bytes: meminfo((m) => m.get("MemAvailable")),
  load_average_1m: number("loadavg", parseLoadavg1m),
  uptime_seconds: number("uptime", parseUptime),
  open_file_descriptors: number("sys/fs/file-nr", parseFileNr),
  process_count(ctx) {
    return { value: ctx.fs.pids().length };
  },
  disk_used_percent(_ctx, def) {
    try {
      // df's definition: used / (used + available to unprivileged users).
      const s = statfsSync(def.path!);
      const used = s.blocks - s.bfree;
      const denominator = used + s.bavail;
      return { value: denominator === 0 ? 0 : (used / denominator) * 100 };
    } catch (err) {
      return { error: `cannot statfs ${def.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
  },
  network_interface_names(ctx) {
    const { records } = ctx.fs.netDev();
    if (records.length === 0) return { error: `no interfaces in ${ctx.fs.path("net/dev")}` };
    return { value: records.map((r) => r.name).filter((n) => !ctx.excludedInterfaces.has(n)).sort() };
  },
  listening_process_names(ctx) {
    // Inodes of listening sockets, then the processes holding an fd on one of them.
    const inodes = new Set<number>();
    for (const file of ["tcp", "tcp6", "udp", "udp6"] as const) {
      const protocol = file.startsWith("tcp") ? "tcp" : "udp";
      for (const r of ctx.sockets(file)) if (isListening(r, protocol)) inodes.add(r.inode);
    }
    inodes.delete(0);
    const key = [...inodes].sort((a, b) => a - b).join(",");
    const cache = ctx.listeners;
    const rescan = cache.key !== key;
    const byPid = new Map<number, number[] | null>();
    const names = new Set<string>();
    let unreadable = 0;
    for (const pid of ctx.fs.pids()) {
      let sockets = rescan ? undefined : cache.byPid.get(pid);
      if (sockets === undefined) {
        try {
          sockets = ctx.fs.fdTargets(pid).map(socketInode).filter((i): i is number => i !== undefined);
        } catch {
          sockets = null; // not ours to read (or gone): skipped and counted
        }
      }
      byPid.set(pid, sockets);
      if (sockets === null) unreadable++;
      else if (sockets.some((i) => inodes.has(i))) {
        const comm = ctx.fs.read(`${pid}/comm`).trim();
        if (comm !== "") names.add(comm);
      }
    }
    cache.key = key;
    cache.byPid = byPid;
    return { value: [...names].sort(), note: unreadable > 0 ? `${unreadable} processes' fds could not be read` : undefined };
  },
};

/** A value from a file: a number, or a list, optionally picked out by a regex and scaled. */
export function fromFile(def: CustomMetricDefinition): Outcome {
  let text: string;
  try {
    text = readFileSync(def.path!, "utf8");
  } catch (err) {
    return { error: `cannot read ${def.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  const re = def.regex === undefined ? undefined : new RegExp(def.regex, "g");
  let items: string[];
  if (re) items = [...text.matchAll(re)].map((m) => m[1] ?? m[0]);
  else items = def.type === "number" ? [text.trim()] : text.split(/[\s,]+/).filter((s) => s !== "");
  if (def.type === "number" || def.type === "number-list") {
    const nums = items.map((s) => (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s.trim()) ? Number(s) * (def.scale ?? 1) : NaN));
    if (nums.length === 0 || nums.some((n) => !Number.isFinite(n))) return { error: `${def.path} does not hold ${def.type === "number" ? "a number" : "numbers"}${re ? ` matching ${def.regex}` : ""}` };
    return { value: def.type === "number" ? nums[0]! : nums };
  }
  return { value: items.map((s) => s.trim()) };
}
