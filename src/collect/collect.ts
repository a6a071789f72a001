// Takes one sample: the only part of report building that touches the file system.

import type { ProcFS } from "../procfs/fs.js";
import { COLLECTORS } from "./collectors/index.js";
import { CollectContext } from "./context.js";
import type { Snapshot } from "./snapshot.js";

export function collectSnapshot(fs: ProcFS, now: number = Date.now()): Snapshot {
  return collectWithContext(fs, now).snapshot;
}

/** Runs the collectors and keeps their context, whose parsed files later readers can reuse. */
export function collectWithContext(fs: ProcFS, now: number = Date.now()): CollectContext {
  const ctx = new CollectContext(fs, { takenAt: now, skippedLines: {} });
  for (const c of COLLECTORS) c.collect(ctx);
  return ctx;
}
