// memory_available_bytes: MemAvailable from meminfo, in bytes.

import { parseMeminfo } from "../../procfs/meminfo.js";
import { type Collector, collector } from "../collector.js";
import { readParsed } from "./read.js";

export const memoryAvailableBytes: Collector<number> = collector({
  custom: { type: "number" },
  collect: (ctx) => readParsed(ctx, "meminfo", (text) => parseMeminfo(text).get("MemAvailable")),
});
