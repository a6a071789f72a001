// One sample of the kernel's view of the network: the standard collectors' values, before they
// become a report and a datapoint.

import type { CollectContext } from "./context.js";
import { CollectError, PENDING } from "./collector.js";
import { STANDARD, type StandardName, type Yield } from "./collectors/index.js";

export type Snapshot = {
  /** A collector's value; absent when it had none (its reason is in `failures`). */
  [K in StandardName]?: Yield<(typeof STANDARD)[K]>;
} & {
  /** Malformed lines left out, per file (e.g. {"net/tcp": 2}). */
  skippedLines: Record<string, number>;
  /** Standard collectors that had no value, and why. */
  failures: Partial<Record<StandardName, string>>;
};

/** Runs the standard collectors; the context keeps the parsed files for later readers. */
export function takeSnapshot(ctx: CollectContext): Snapshot {
  const snapshot: Snapshot = { skippedLines: ctx.skippedLines, failures: {} };
  for (const [name, c] of Object.entries(STANDARD) as Array<[StandardName, (typeof STANDARD)[StandardName]]>) {
    try {
      const v = c.collect(ctx, {});
      if (v !== PENDING) (snapshot as Record<string, unknown>)[name] = v;
    } catch (err) {
      if (!(err instanceof CollectError)) throw err;
      snapshot.failures[name] = err.message;
    }
  }
  return snapshot;
}
