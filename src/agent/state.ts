// The component's persisted state (state.json in the work folder): what makes the next report's
// deltas, id and timing right across restarts, and the traffic ledger (./ledger.ts).

import { z } from "zod";
import { type CounterMap, counterMapSchema } from "../collect/counters.js";
import { type JsonFile, type WorkDir, readIfExists } from "../store/files.js";
import { describeZodError } from "../util/zod-errors.js";
import { emptyLedger, ledgerSchema } from "./ledger.js";
import { lazy } from "../util/lazy.js";

/** Marks the file as ours: a state path that names someone else's file is never overwritten. */
export const STATE_KIND = "community.greengrass.DeviceDefender/state";

const cpuSchema = lazy(() => z.object({ total: z.number(), idle: z.number(), iowait: z.number() }));

/** The state as this version writes it; built on first use (../util/lazy.ts). */
export const stateSchema = lazy(() =>
  z.object({
    kind: z.literal(STATE_KIND),
    version: z.literal(2),
    /** /proc/sys/kernel/random/boot_id of the counters below: counters restart at boot. */
    bootId: z.string().optional(),
    /** Last report id used (epoch ms, strictly increasing). */
    reportId: z.int().min(0),
    /** Counters at the end of the last report's interval: the next report's deltas start here. */
    reportCounters: counterMapSchema().optional(),
    /** Counters of the last sample: Detect's deltas start here (every sample is judged). */
    sampleCounters: counterMapSchema().optional(),
    /** Epoch ms of the last sample and of the last report handed to the nucleus. */
    lastSampleAt: z.number().optional(),
    lastPublishAt: z.number().optional(),
    ledger: ledgerSchema(),
    /** CPU times of the last sample, for the cpu_usage custom metric (same boot only). */
    cpu: cpuSchema().optional(),
  }),
);
export type State = z.infer<ReturnType<typeof stateSchema>>;

/** What a state file may hold: this version's state, or version 1.0.0's (counters only), carried over rather than set aside. */
export const storedStateSchema = lazy(() => {
  const legacy = z.object({
    version: z.literal(1),
    bootId: z.string().optional(),
    reportId: z.int().min(0),
    counters: counterMapSchema().optional(),
    lastPublishAt: z.int().optional(),
    cpu: cpuSchema().optional(),
  });
  return z.union([stateSchema(), legacy]).transform((s): State =>
    "kind" in s
      ? s
      : {
          kind: STATE_KIND,
          version: 2,
          bootId: s.bootId,
          reportId: s.reportId,
          reportCounters: s.counters,
          sampleCounters: s.counters,
          lastPublishAt: s.lastPublishAt,
          lastSampleAt: s.lastPublishAt,
          ledger: emptyLedger(),
          cpu: s.cpu,
        },
  );
});

export function initialState(): State {
  return { kind: STATE_KIND, version: 2, reportId: 0, ledger: emptyLedger() };
}

export const STATE_FILE = "state.json";

export function stateFile(work: WorkDir, name = STATE_FILE): JsonFile<State> {
  return work.json(name, storedStateSchema());
}

/**
 * The baseline for deltas from saved counters. Same boot: the saved counters. After a reboot the
 * kernel's counters restarted from zero, so the deltas are the counters since boot (an empty
 * baseline). No saved counters: no baseline, so the caller sends no network_stats.
 */
export function baselineFor(saved: CounterMap | undefined, savedBootId: string | undefined, bootId: string | undefined): CounterMap | undefined {
  if (saved === undefined) return undefined;
  if (savedBootId !== undefined && bootId !== undefined && savedBootId !== bootId) return {};
  return saved;
}

/** What a state file named on the command line holds (nothing is moved or changed). */
export function readStateFile(path: string): { state?: State; problem?: string } {
  let bytes: Buffer | undefined;
  try {
    bytes = readIfExists(path);
  } catch (err) {
    return { problem: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  if (bytes === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    return { problem: `${path} is not a state file of this component (not JSON)` };
  }
  const parsed = storedStateSchema().safeParse(json);
  if (!parsed.success) return { problem: `${path} is not a state file of this component (${describeZodError(parsed.error, json).slice(0, 160)})` };
  return { state: parsed.data };
}
