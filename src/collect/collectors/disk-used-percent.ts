// disk_used_percent: for `path`, as df computes it: used / (used + available to unprivileged users).

import { statfsSync } from "node:fs";
import { CollectError, type Collector, collector } from "../collector.js";

export const diskUsedPercent: Collector<number> = collector({
  custom: { type: "number", needs: ["path"] },
  collect(_ctx, params) {
    try {
      const s = statfsSync(params.path!);
      const used = s.blocks - s.bfree;
      const denominator = used + s.bavail;
      return denominator === 0 ? 0 : (used / denominator) * 100;
    } catch (err) {
      throw new CollectError(`cannot statfs ${params.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  },
});
