// The component's persisted state: the counters baseline and report id that make the next
// report's deltas and id right across restarts. Written atomically (temp file, fsync, rename),
// so a power cut leaves either the old or the new file, never half of one.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { z } from "zod";
import { describeZodError } from "../util/zod-errors.js";

const CountersSchema = z.object({ bi: z.number().min(0), bo: z.number().min(0), pi: z.number().min(0), po: z.number().min(0) });

export const StateSchema = z.object({
  version: z.literal(1),
  /** /proc/sys/kernel/random/boot_id when the counters were read: counters restart at boot. */
  bootId: z.string().optional(),
  /** Last report id used (epoch ms). */
  reportId: z.int().min(0),
  /** Baseline for the next report's network_stats, per interface. */
  counters: z.record(z.string(), CountersSchema).optional(),
  /** Epoch ms of the last successful publish, if any. */
  lastPublishAt: z.int().optional(),
  /** CPU times of the last sample, for the cpu_usage custom metric (same boot only). */
  cpu: z.object({ total: z.number(), idle: z.number(), iowait: z.number() }).optional(),
});

export type State = z.infer<typeof StateSchema>;

export type LoadResult = { state: State } | { state: undefined; problem?: string };

export function loadState(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { state: undefined, problem: code === "ENOENT" ? undefined : `cannot read ${path}: ${code}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { state: undefined, problem: `${path} is not valid JSON` };
  }
  const parsed = StateSchema.safeParse(json);
  if (!parsed.success) return { state: undefined, problem: `${path}: ${describeZodError(parsed.error, json)}` };
  return { state: parsed.data };
}

export function saveState(path: string, state: State): void {
  writeFileAtomic(path, JSON.stringify(state));
}

/** Temp file, fsync, rename: a reader sees the old or the new content, never half of one. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * The baseline for the next deltas. Same boot: the saved counters. After a reboot the kernel's
 * counters restarted from zero, so the deltas are the counters since boot (an empty baseline).
 * No saved counters: no baseline, so network_stats is omitted.
 */
export function baselineFor(state: State | undefined, bootId: string | undefined) {
  if (state?.counters === undefined) return undefined;
  if (state.bootId !== undefined && bootId !== undefined && state.bootId !== bootId) return {};
  return state.counters;
}
