// Raw interface counters as /proc/net/dev gives them, kept between samples so that traffic can be
// computed as a difference (../report/delta.ts).

import { z } from "zod";
import type { InterfaceCounters } from "../procfs/net-dev.js";
import { lazy } from "../util/lazy.js";

/** Raw counters per interface, as kept between samples. */
export const counterMapSchema = lazy(() =>
  z.record(z.string(), z.object({ bi: z.number().min(0), bo: z.number().min(0), pi: z.number().min(0), po: z.number().min(0) })),
);
export type CounterMap = z.infer<ReturnType<typeof counterMapSchema>>;
export type Counters = CounterMap[string];

export function countersOf(rows: InterfaceCounters[]): CounterMap {
  const out: CounterMap = {};
  for (const r of rows) out[r.name] = { bi: r.rxBytes, bo: r.txBytes, pi: r.rxPackets, po: r.txPackets };
  return out;
}
