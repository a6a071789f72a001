// uptime_seconds: seconds since boot, from uptime.

import { parseUptime } from "../../procfs/uptime.js";
import { type Collector, collector } from "../collector.js";
import { readParsed } from "./read.js";

export const uptimeSeconds: Collector<number> = collector({ custom: { type: "number" }, collect: (ctx) => readParsed(ctx, "uptime", parseUptime) });
