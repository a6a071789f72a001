// network_interface_names: the interfaces of net/dev, less the excluded ones.

import { CollectError, type Collector, collector } from "../collector.js";

export const networkInterfaceNames: Collector<string[]> = collector({
  custom: { type: "string-list" },
  collect(ctx) {
    const { records } = ctx.netDev();
    if (records.length === 0) throw new CollectError(`no interfaces in ${ctx.fs.netDir}/dev`);
    return records
      .map((r) => r.name)
      .filter((n) => !ctx.excludedInterfaces.has(n))
      .sort();
  },
});
