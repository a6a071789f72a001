// `baseline` at fleet scale: N datapoints from 10,000 things (exported messages, one per line),
// with the default profile's statistical behaviors, in a child process running the bundle.

import { spawnSync } from "node:child_process";
import { createWriteStream, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE } from "../bundle.js";
import { tempDir } from "../helpers.js";

export async function benchBaseline(lines: string[], datapoints = 10_000_000): Promise<void> {
  const { DEFAULT_PROFILE } = await import("../../src/detect/default-profile.js");
  const dir = tempDir("defender-bench-baseline-");
  const file = join(dir, "exported.ndjson");
  const out = createWriteStream(file);
  const things = 10_000;
  const t0 = 1_790_000_000_000;
  for (let i = 0; i < datapoints; i++) {
    const thing = i % things;
    const k = Math.floor(i / things);
    const bytes = 1000 + ((i * 7919) % 50_000);
    const row = `{"version":"1.0","metrics":[{"name":"aws:all-bytes-out","thing":"thing-${thing}","value":{"count":${bytes}},"version":1,"timestamp":${t0 + k * 300_000}}]}\n`;
    if (!out.write(row)) await new Promise<void>((res) => out.once("drain", () => res()));
  }
  await new Promise<void>((res) => out.end(res));
  writeFileSync(join(dir, "profile.json"), JSON.stringify(DEFAULT_PROFILE));
  writeFileSync(join(dir, "rss.js"), 'process.on("exit", () => require("fs").writeSync(3, String(process.resourceUsage().maxRSS)));');
  const start = process.hrtime.bigint();
  const r = spawnSync(
    process.execPath,
    ["--require", join(dir, "rss.js"), BUNDLE, "baseline", "--profile", join(dir, "profile.json"), "--exported", file, "--out", join(dir, "resolved.json")],
    { stdio: ["ignore", "pipe", "pipe", "pipe"] },
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`baseline failed: ${r.stderr.toString()}`);
  const rssMb = Number(r.output[3]?.toString()) / 1024;
  lines.push(
    `baseline: ${datapoints.toLocaleString("en")} datapoints from ${things.toLocaleString("en")} things, the default profile's statistical behaviors: ${seconds.toFixed(1)} s, peak RSS ${rssMb.toFixed(0)} MB (target < 60 s and < 300 MB)`,
  );
}
