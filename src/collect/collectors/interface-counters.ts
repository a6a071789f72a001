// Raw per-interface counters from net/dev; the report and Detect turn them into deltas. A Linux
// net/dev always lists at least lo, so none at all means it could not be read: no value then
// (never an empty map, which would read as "no traffic" and reset the baseline).

import { type CounterMap, countersOf } from "../counters.js";
import { CollectError, type Collector, collector } from "../collector.js";

export const interfaceCounters: Collector<CounterMap> = collector({
  collect(ctx) {
    const rows = ctx.netDev().records;
    if (rows.length === 0) throw new CollectError(`no interfaces in ${ctx.fs.netDir}/dev`);
    return countersOf(rows);
  },
});
