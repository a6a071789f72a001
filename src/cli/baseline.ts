// `baseline`: the fleet's statistical thresholds, from the metrics the devices exported. In the
// cloud a statisticalThreshold is a percentile over every device of the profile; a device alone
// can only have its own. This reads exported messages (src/detect/export.ts, one per line, plain
// or gzip, many files and things), puts each statistical behavior's measurements into a DDSketch
// (a mergeable quantile sketch with 1% relative error: memory bounded whatever the fleet), and
// writes the profile with each statistical threshold replaced by the static value it resolved to.
// Measurements are what a static value is judged against on a device (src/detect/measure.ts):
// a datapoint's own value, or with durationSeconds on traffic the sum over the trailing window of
// each thing's datapoints. Shards: --sketch-out writes one shard's sketches, --merge adds shards.

import { closeSync, createReadStream, openSync, readSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";
import { DDSketch } from "@datadog/sketches-js";
import { z } from "zod";
import { ExportMessageSchema } from "../detect/export.js";
import { lintProfile } from "../detect/lint.js";
import { modeOf } from "../detect/measure.js";
import type { Behavior, SecurityProfile } from "../detect/profile-schema.js";
import { CommandError, UsageError } from "./errors.js";
import { parseCommandLine, readJsonFile } from "./options.js";
import { writeAnswer } from "./stdout.js";
import { writeStderr } from "../util/stdio.js";

const RELATIVE_ACCURACY = 0.01;

interface Target {
  behavior: Behavior;
  key: string;
  metric: string;
  /** Window length in ms for a window sum, undefined for a datapoint's own value. */
  windowMs: number | undefined;
  sketch: DDSketch;
  /** The exact extremes (a DDSketch read back from its protobuf form has lost them). */
  min: number;
  max: number;
  /** The things seen, by number (../Things); names from shards merged. */
  things: Set<number>;
  merged: Set<string>;
}

const keyOf = (b: Behavior) => `${b.name}|${b.metric}|${b.criteria?.durationSeconds ?? 0}`;

/** The statistical behaviors of a profile, each with an empty sketch. */
function targetsOf(profile: SecurityProfile): Target[] {
  return (profile.behaviors ?? [])
    .filter((b) => b.criteria?.statisticalThreshold !== undefined && b.metric !== undefined)
    .map((b) => {
      const d = b.criteria!.durationSeconds;
      const windowed = modeOf(b.metric!, d, false) === "window-sum";
      return {
        behavior: b,
        key: keyOf(b),
        metric: b.metric!,
        windowMs: windowed ? d! * 1000 : undefined,
        sketch: new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY }),
        min: Infinity,
        max: -Infinity,
        things: new Set<number>(),
        merged: new Set<string>(),
      };
    });
}

/**
 * Each thing's datapoints of the last window, for the window sums (datapoints in time order per
 * thing). Things are numbered once (ten million lookups by a string built per datapoint were a
 * third of the run).
 */
class Windows {
  private readonly recent: Array<Array<{ time: number; value: number }> | undefined> = [];
  sumAt(thing: number, time: number, value: number, windowMs: number): number {
    let q = this.recent[thing];
    if (q === undefined) this.recent[thing] = q = [];
    q.push({ time, value });
    while (q.length > 0 && q[0]!.time <= time - windowMs) q.shift();
    let sum = 0;
    for (const p of q) sum += p.value;
    return sum;
  }
}

/** Thing names as small numbers, and back. */
class Things {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  idOf(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
    }
    return id;
  }
}

const SketchFileSchema = z.object({
  kind: z.literal("community.greengrass.DeviceDefender/baseline-sketches"),
  relativeAccuracy: z.literal(RELATIVE_ACCURACY),
  behaviors: z.record(z.string(), z.object({ sketch: z.string(), min: z.number(), max: z.number(), things: z.array(z.string()) })),
});

export async function baselineCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(
    argv,
    {
      profile: { type: "string" },
      exported: { type: "string", multiple: true },
      merge: { type: "string", multiple: true },
      out: { type: "string" },
      "sketch-out": { type: "string" },
    },
    false,
  );
  if (!values.profile) throw new UsageError("baseline needs --profile FILE (the JSON of aws iot create-security-profile)");
  if (!values.exported?.length && !values.merge?.length)
    throw new UsageError("baseline needs --exported FILE... (exported metrics, one message per line) or --merge SKETCHES...");
  const doc = readJsonFile(values.profile, "--profile");
  const { profile, findings } = lintProfile(doc, { minStatisticalDatapoints: 1, intervalSeconds: 300 });
  if (!profile)
    throw new CommandError(
      `--profile ${values.profile}: ${findings
        .filter((f) => f.level === "ERROR")
        .map((f) => `${f.where}: ${f.message}`)
        .join("; ")}`,
    );
  const targets = targetsOf(profile);
  if (targets.length === 0) throw new CommandError(`--profile ${values.profile}: no behavior has a statisticalThreshold, so there is nothing to resolve`);
  const byMetric = new Map<string, Target[]>();
  for (const t of targets) byMetric.set(t.metric, [...(byMetric.get(t.metric) ?? []), t]);

  for (const file of values.merge ?? []) mergeShard(file, targets);
  const things = new Things();
  const windows = new Map(targets.map((t) => [t, new Windows()]));
  const seen = new Map<string, Seen>();
  const skipped = { duplicate: 0, late: 0, firstLate: "" };
  for (const file of exportedFiles(values.exported ?? [])) {
    const { lines, bad, firstBad } = await readExported(file, (thing, metric, time, value, line) => {
      const targetsOfMetric = byMetric.get(metric);
      if (targetsOfMetric === undefined) return;
      const id = things.idOf(thing);
      let seenOfMetric = seen.get(metric);
      if (seenOfMetric === undefined) seen.set(metric, (seenOfMetric = new Seen()));
      const order = seenOfMetric.take(id, time);
      if (order === "duplicate") {
        skipped.duplicate++;
        return;
      }
      if (order === "late") {
        skipped.firstLate ||= `${file}:${line}`;
        skipped.late++;
        return;
      }
      for (const t of targetsOfMetric) {
        const measured = t.windowMs === undefined ? value : windows.get(t)!.sumAt(id, time, value, t.windowMs);
        t.sketch.accept(measured);
        t.min = Math.min(t.min, measured);
        t.max = Math.max(t.max, measured);
        t.things.add(id);
      }
    });
    if (bad > 0) writeStderr(`WARN ${file}: ${bad} of ${lines} lines skipped (not an export message), the first at line ${firstBad}\n`);
  }
  // The export is delivered at least once: a message sent again is the same datapoint, counted once.
  if (skipped.duplicate > 0) writeStderr(`INFO ${skipped.duplicate} datapoints seen twice (the export is at least once) counted once\n`);
  if (skipped.late > 0)
    writeStderr(
      `WARN ${skipped.late} datapoints skipped: older than a later one of the same thing and metric, the first at ${skipped.firstLate}; give the files in time order (a folder is read in name order, as Firehose names its objects by time)\n`,
    );

  if (values["sketch-out"]) {
    const behaviors = Object.fromEntries(
      targets.map((t) => [t.key, { sketch: Buffer.from(t.sketch.toProto()).toString("base64"), min: t.min, max: t.max, things: namesOf(t, things) }]),
    );
    writeFileSync(
      values["sketch-out"],
      JSON.stringify({ kind: "community.greengrass.DeviceDefender/baseline-sketches", relativeAccuracy: RELATIVE_ACCURACY, behaviors }),
    );
  }
  const resolved = resolveProfile(profile, targets, things);
  const text = `${JSON.stringify(resolved, null, 2)}\n`;
  if (values.out) writeFileSync(values.out, text);
  else writeAnswer(text);
  return 0;
}

/**
 * The files to read: each argument a file, or a folder read recursively in name order (Firehose
 * names its objects by time, with no extension: gzip is told by its first bytes, not its name).
 */
function exportedFiles(args: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (path: string, top: boolean): void => {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      const why = `${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      if (top) throw new CommandError(`--exported ${why}`);
      writeStderr(`WARN ${why}; skipped\n`);
      return;
    }
    if (!isDir) return void out.push(path);
    for (const name of readdirSync(path).sort()) walk(join(path, name), false);
  };
  for (const a of args) walk(a, true);
  return out;
}

/**
 * Which datapoints of a thing's metric were seen: the latest time and the ones just before it.
 * An export message sent again (at least once) repeats recent times; a time older than the latest
 * and not among them came out of order, which a window sum cannot take.
 */
class Seen {
  private static readonly RECENT = 64;
  private readonly recent: Array<{ times: Float64Array; next: number; latest: number } | undefined> = [];
  take(thing: number, time: number): "new" | "duplicate" | "late" {
    let r = this.recent[thing];
    if (r === undefined) this.recent[thing] = r = { times: new Float64Array(Seen.RECENT).fill(NaN), next: 0, latest: -Infinity };
    if (time <= r.latest) return r.times.includes(time) ? "duplicate" : "late";
    r.latest = time;
    r.times[r.next] = time;
    r.next = (r.next + 1) % Seen.RECENT;
    return "new";
  }
}

/** Reads one file of exported messages (gzip if it starts with gzip's magic bytes). */
async function readExported(
  file: string,
  take: (thing: string, metric: string, time: number, value: number, line: number) => void,
): Promise<{ lines: number; bad: number; firstBad?: number }> {
  const head = Buffer.alloc(2);
  try {
    const fd = openSync(file, "r");
    try {
      readSync(fd, head, 0, 2, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new CommandError(`--exported ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const raw = createReadStream(file);
  const input = head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  let lines = 0;
  let bad = 0;
  let firstBad: number | undefined;
  const takeLine = (line: string) => {
    lines++;
    if (line.trim() === "") return;
    let parsed;
    try {
      parsed = ExportMessageSchema.safeParse(JSON.parse(line));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      bad++;
      firstBad ??= lines;
      return;
    }
    for (const m of parsed.data.metrics) {
      const v = m.value.count ?? m.value.number;
      if (v !== undefined && Number.isFinite(v)) take(m.thing, m.name, m.timestamp, v, lines);
    }
  };
  // Lines split by hand, each chunk's at once: readline's per-line events and promises were a
  // tenth of the run. The decoder keeps a character split between chunks whole.
  const decoder = new StringDecoder("utf8");
  let rest = "";
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      const text = rest + decoder.write(chunk);
      let start = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        takeLine(text.slice(start, nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl));
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    rest += decoder.end();
    if (rest !== "") takeLine(rest.endsWith("\r") ? rest.slice(0, -1) : rest);
  } catch (err) {
    throw new CommandError(`--exported ${file}: cannot be read to the end (${(err as Error).message})`);
  }
  return { lines, bad, firstBad };
}

function mergeShard(file: string, targets: Target[]): void {
  const parsed = SketchFileSchema.safeParse(readJsonFile(file, "--merge"));
  if (!parsed.success) throw new CommandError(`--merge ${file}: not a file of baseline sketches (written by --sketch-out)`);
  for (const t of targets) {
    const shard = parsed.data.behaviors[t.key];
    if (shard === undefined) continue;
    t.sketch.merge(DDSketch.fromProto(Buffer.from(shard.sketch, "base64")));
    t.min = Math.min(t.min, shard.min);
    t.max = Math.max(t.max, shard.max);
    for (const thing of shard.things) t.merged.add(thing);
  }
}

/** The names of the things a target saw, this run's and the shards'. */
function namesOf(t: Target, things: Things): string[] {
  const out = new Set(t.merged);
  for (const id of t.things) out.add(things.names[id]!);
  return [...out];
}

/** The profile with each statistical threshold replaced by the value it resolved to; a summary per behavior on stderr. */
function resolveProfile(profile: SecurityProfile, targets: Target[], things: Things): SecurityProfile {
  const byKey = new Map(targets.map((t) => [t.key, t]));
  const behaviors = (profile.behaviors ?? []).map((b) => {
    const t = byKey.get(keyOf(b));
    const statistic = b.criteria?.statisticalThreshold?.statistic;
    if (t === undefined || statistic === undefined) return b;
    if (t.sketch.count === 0) {
      writeStderr(`WARN ${b.name}: no exported datapoints of ${t.metric}; its statistical threshold is left as it was\n`);
      return b;
    }
    const p = Number(statistic.slice(1));
    // p0 and p100 are the exact extremes; the sketch answers the rest within 1%.
    const at = p >= 100 ? t.max : p <= 0 ? t.min : t.sketch.getValueAtQuantile(p / 100);
    const custom = !t.metric.startsWith("aws:");
    const value = custom ? { number: at } : { count: Math.round(at) };
    writeStderr(
      `${b.name}: ${t.metric}${t.windowMs ? ` (sums over ${t.windowMs / 1000} s)` : ""}: ${namesOf(t, things).length} things, ${t.sketch.count} datapoints, ${statistic} = ${custom ? at : Math.round(at)}\n`,
    );
    const criteria = { ...b.criteria! };
    delete criteria.statisticalThreshold;
    return { ...b, criteria: { ...criteria, value } };
  });
  return { ...profile, behaviors };
}
