// Raw per-interface counters; the report turns them into deltas against the previous sample.

import type { Collector } from "./index.js";

export const networkStats: Collector = {
  name: "network_stats",
  collect(ctx) {
    const parsed = ctx.fs.netDev();
    ctx.noteSkipped("net/dev", parsed.skipped);
    ctx.snapshot.interfaceCounters = parsed.records;
  },
};
