// load_average_1m: the 1-minute load average from loadavg.

import { parseLoadavg1m } from "../../procfs/loadavg.js";
import { type Collector, collector } from "../collector.js";
import { readParsed } from "./read.js";

export const loadAverage1m: Collector<number> = collector({ custom: { type: "number" }, collect: (ctx) => readParsed(ctx, "loadavg", parseLoadavg1m) });
