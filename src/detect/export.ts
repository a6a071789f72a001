// Metrics export, as the service's (developer guide, "Metrics export schema"): for each profile
// with a metricsExportConfig, the datapoints of the metrics it marks (a behavior's exportMetric,
// an additionalMetricsToRetainV2 entry's exportMetric) go to its mqttTopic, one message per
// sample and topic: {"version": "1.0", "metrics": [{name, thing, value, version, timestamp}]}.
// `value` is the datapoint's own (count for traffic over the sample and counts, ports, cidrs for
// destination IPs, number/numbers/strings for custom metrics); `timestamp` the sample's time in
// epoch ms ("for device-side and custom metrics, the time at which the metrics data is
// reported"). Cloud-side metrics are the broker's, which the device never sees: not exported.
// `roleArn` is validated by the profile schema and not used: the device publishes as itself.

import { z } from "zod";
import type { Datapoint } from "./datapoint.js";
import { MetricValueSchema, type SecurityProfile, isCloudMetric } from "./profile-schema.js";

export const ExportMessageSchema = z.object({
  version: z.literal("1.0"),
  metrics: z
    .array(
      z.object({
        name: z.string().min(1),
        thing: z.string().min(1),
        value: MetricValueSchema,
        /** One value per (thing, metric, timestamp) from the device: always the first version. */
        version: z.literal(1),
        timestamp: z.number().int(),
      }),
    )
    .min(1),
});
export type ExportMessage = z.infer<typeof ExportMessageSchema>;

/** The payload limit of an AWS IoT Core message (128 KB). */
export const MAX_EXPORT_BYTES = 128 * 1024;

/** Topic → the metrics exported to it, from the profiles in force. */
export function exportPlan(profiles: readonly SecurityProfile[]): Map<string, Set<string>> {
  const plan = new Map<string, Set<string>>();
  for (const p of profiles) {
    const topic = p.metricsExportConfig?.mqttTopic;
    if (topic === undefined) continue;
    const marked = [
      ...(p.behaviors ?? []).filter((b) => b.exportMetric === true && b.metric !== undefined).map((b) => b.metric!),
      ...(p.additionalMetricsToRetainV2 ?? []).filter((m) => m.exportMetric === true).map((m) => m.metric),
    ].filter((m) => !isCloudMetric(m));
    if (marked.length === 0) continue;
    const set = plan.get(topic) ?? new Set<string>();
    for (const m of marked) set.add(m);
    plan.set(topic, set);
  }
  return plan;
}

export interface ExportBatch {
  topic: string;
  message: ExportMessage;
}

/** A list metric too large for one message on its own: cut to what fits, its total kept here. */
export interface ExportCut {
  metric: string;
  kept: number;
  total: number;
}

const bytesOf = (m: ExportMessage) => Buffer.byteLength(JSON.stringify(m));

/** One sample's export messages: per topic, its metrics in the datapoint, split to stay within `maxBytes`. */
export function exportMessages(
  plan: ReadonlyMap<string, ReadonlySet<string>>,
  dp: Datapoint,
  thing: string,
  maxBytes = MAX_EXPORT_BYTES,
): { batches: ExportBatch[]; cuts: ExportCut[] } {
  const batches: ExportBatch[] = [];
  const cuts: ExportCut[] = [];
  for (const [topic, metrics] of plan) {
    let current: ExportMessage | undefined;
    for (const name of [...metrics].sort()) {
      const value = dp.values[name];
      if (value === undefined) continue;
      let entry = { name, thing, value, version: 1 as const, timestamp: dp.time };
      if (bytesOf({ version: "1.0", metrics: [entry] }) > maxBytes) {
        const fitted = fitList(entry, maxBytes);
        cuts.push({ metric: name, kept: fitted.kept, total: fitted.total });
        entry = fitted.entry;
      }
      if (current !== undefined && bytesOf({ version: "1.0", metrics: [...current.metrics, entry] }) <= maxBytes) {
        current.metrics.push(entry);
        continue;
      }
      current = { version: "1.0", metrics: [entry] };
      batches.push({ topic, message: current });
    }
  }
  return { batches, cuts };
}

type Entry = ExportMessage["metrics"][number];

/** The longest prefix of the entry's list that fits a message of its own (binary search). */
function fitList(entry: Entry, maxBytes: number): { entry: Entry; kept: number; total: number } {
  const key = (["ports", "cidrs", "numbers", "strings"] as const).find((k) => entry.value[k] !== undefined);
  const list = key === undefined ? [] : (entry.value[key] as unknown[]);
  const cut = (n: number): Entry => ({ ...entry, value: { [key!]: list.slice(0, n) } });
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (bytesOf({ version: "1.0", metrics: [cut(mid)] }) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return { entry: cut(lo), kept: lo, total: list.length };
}
