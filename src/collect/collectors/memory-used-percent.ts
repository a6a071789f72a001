// memory_used_percent: (MemTotal − MemAvailable) / MemTotal × 100, from meminfo.

import { parseMeminfo } from "../../procfs/meminfo.js";
import { type Collector, collector } from "../collector.js";
import { readParsed } from "./read.js";

export const memoryUsedPercent: Collector<number> = collector({
  custom: { type: "number" },
  collect: (ctx) =>
    readParsed(ctx, "meminfo", (text) => {
      const m = parseMeminfo(text);
      const total = m.get("MemTotal");
      const avail = m.get("MemAvailable");
      return total === undefined || avail === undefined || total === 0 ? undefined : ((total - avail) / total) * 100;
    }),
});
