import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CollectContext, newMemory } from "../src/collect/context.js";
import { type Snapshot, takeSnapshot } from "../src/collect/snapshot.js";
import { ProcFS } from "../src/procfs/fs.js";
import type { Logger } from "../src/util/log.js";

export const ROOT = resolve(__dirname, "..");
export const FIXTURES = join(__dirname, "fixtures");
export const procFixture = (name: string) => join(FIXTURES, "proc", name);

export function tempDir(prefix = "defender-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A writable copy of a fixture proc root, for tests that change counters between samples. */
export function copyFixture(name: string): string {
  const dir = join(tempDir(), name);
  cpSync(procFixture(name), dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

export interface RecordingLogger extends Logger {
  lines: string[];
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (event: string, fields: Record<string, unknown> = {}) => {
      lines.push(
        `${level} ${event} ${Object.entries(fields)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(" ")}`.trim(),
      );
    };
  return { lines, debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR") };
}

/** The standard collectors' snapshot of a fixture proc root (little-endian, lo excluded). */
export function snapshotOf(root: string, byteOrder: "LE" | "BE" = "LE"): Snapshot {
  return takeSnapshot(new CollectContext(new ProcFS(root, byteOrder), new Set(["lo"]), newMemory()));
}

/** after() runs even when before() stopped part way: a variable before() sets may still be unset. */
export const maybe = <T>(v: T): T | undefined => v;
