// process_count: the numeric folders of the proc root.

import { type Collector, collector } from "../collector.js";

export const processCount: Collector<number> = collector({ custom: { type: "number" }, collect: (ctx) => ctx.fs.pids().length });
