// Takes one sample: the only part of report building that touches the file system.

import type { ProcFS } from "../procfs/fs.js";
import { COLLECTORS } from "./collectors/index.js";
import { CollectContext } from "./context.js";
import type { Snapshot } from "./snapshot.js";

export function collectSnapshot(fs: ProcFS, now: number = Date.now()): Snapshot {
  const snapshot: Snapshot = { takenAt: now, skippedLines: {} };
  const ctx = new CollectContext(fs, snapshot);
  for (const c of COLLECTORS) c.collect(ctx);
  return snapshot;
}
