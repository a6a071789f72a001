// The one persistence module: every file the component keeps in its work folder (state, Detect
// state, the violation outbox, history segments) is written and read through here.
//
// - A write goes to a temporary file, loops until every byte is written (a short write on a full
//   disk is an error, not a silent truncation), fsyncs it, renames it over the old file and fsyncs
//   the folder, so a power cut leaves the old or the new file, never half of one.
// - A failed write (ENOSPC, EROFS, EACCES) removes its temporary file and leaves the last good
//   file in place; the error is logged once per file and reason per hour, not every cycle.
// - A file that does not parse or validate is set aside as `<name>.bad-<epoch ms>` with one
//   warning, so the next run starts clean and the evidence is kept.
// - Temporary files left by a crash are removed when the folder is opened.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { z } from "zod";
import { type Logger, errorMessage } from "../util/log.js";
import { describeZodError } from "../util/zod-errors.js";

/** Temporary files carry this mark, so only ours are ever removed from a shared folder. */
const TEMP_MARK = ".defender-tmp-";
const HOUR_MS = 3_600_000;

/** Writes all of `data` at the file's current position; throws on any error, including ENOSPC. */
export function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    const n = writeSync(fd, data, off, data.length - off);
    if (n <= 0) throw Object.assign(new Error("write made no progress"), { code: "EIO" });
    off += n;
  }
}

/** fsync of a folder, so a rename or a new file in it survives a power cut. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some file systems refuse to open or fsync a folder; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Temp file, every byte, fsync, rename, fsync of the folder. Throws, leaving `path` as it was. */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  const tmp = `${path}${TEMP_MARK}${process.pid}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "w", mode);
    writeAll(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(path));
}

/** Removes temporary files a crashed run left in `dir`. */
export function removeStaleTemps(dir: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.includes(TEMP_MARK)) continue;
    try {
      rmSync(join(dir, name), { force: true });
      removed++;
    } catch {
      // read-only folder: nothing to do, and the write path reports the folder's state
    }
  }
  return removed;
}

const errnoOf = (err: unknown) => (err as NodeJS.ErrnoException | null | undefined)?.code ?? "EIO";

/**
 * Logs a recurring failure once per (file, reason) per hour: a read-only or full disk must be
 * visible in the log without flooding it every cycle.
 */
export class FailureLog {
  private readonly last = new Map<string, number>();
  constructor(
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  error(event: string, file: string, err: unknown, fields: Record<string, string | number> = {}): void {
    const code = errnoOf(err);
    const key = `${event}|${file}|${code}`;
    const at = this.now();
    const before = this.last.get(key);
    if (before !== undefined && at - before < HOUR_MS) return;
    this.last.set(key, at);
    this.log.error(event, { file, code, reason: errorMessage(err), ...fields, repeats: "logged at most hourly" });
  }

  /** Forgets a failure once the file could be written again, and says so. */
  recovered(event: string, file: string): void {
    let had = false;
    for (const key of [...this.last.keys()]) {
      if (key.startsWith(`${event}|${file}|`)) {
        this.last.delete(key);
        had = true;
      }
    }
    if (had) this.log.info(`${event.replace(/_failed$/, "")}_recovered`, { file });
  }
}

/** A work folder: where the component's files live, or nowhere (state kept in memory only). */
export class WorkDir {
  readonly failures: FailureLog;

  constructor(
    readonly dir: string | undefined,
    readonly log: Logger,
  ) {
    this.failures = new FailureLog(log);
    if (dir === undefined) return;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      this.failures.error("store.folder_unusable", dir, err);
    }
    const removed = removeStaleTemps(dir);
    if (removed > 0) log.info("store.temp_files_removed", { folder: dir, count: removed });
  }

  path(name: string): string | undefined {
    return this.dir === undefined ? undefined : join(this.dir, name);
  }

  json<T>(name: string, schema: z.ZodType<T>): JsonFile<T> {
    return new JsonFile<T>(this, name, schema);
  }
}

/** Reads a file; undefined when it does not exist. Other errors are thrown. */
export function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Moves a file that cannot be used out of the way (`<name>.bad-<epoch ms>`), with one warning
 * naming the file and why; the caller starts from nothing.
 */
export function setAside(path: string, reason: string, log: Logger): void {
  const target = `${path}.bad-${Date.now()}`;
  try {
    renameSync(path, target);
    log.warn("store.file_set_aside", { file: path, moved_to: basename(target), reason });
  } catch (err) {
    log.warn("store.file_ignored", { file: path, reason, cannot_move: errnoOf(err) });
  }
}

/**
 * `write` into `dir`; when the folder was removed while the component ran (ENOENT), it is made
 * again, once, with one warning, and `write` retried.
 */
export function inFolderMadeAgain<T>(dir: string, log: Logger | undefined, write: () => T): T {
  try {
    return write();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    log?.warn("store.folder_recreated", { folder: dir, reason: "it was removed while the component ran" });
    return write();
  }
}

/** One JSON document, validated with its zod schema when loaded. */
export class JsonFile<T> {
  readonly path: string | undefined;
  /** What this process last wrote: the same document again is not written (nor synced) twice. */
  private written: string | undefined;

  constructor(
    private readonly work: WorkDir,
    readonly name: string,
    private readonly schema: z.ZodType<T>,
  ) {
    this.path = work.path(name);
  }

  /** The saved document; undefined when there is none or it was unusable (then set aside). */
  load(): T | undefined {
    if (this.path === undefined) return undefined;
    let bytes: Buffer | undefined;
    try {
      bytes = readIfExists(this.path);
    } catch (err) {
      this.work.failures.error("store.read_failed", this.path, err);
      return undefined;
    }
    if (bytes === undefined) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString("utf8"));
    } catch (err) {
      setAside(this.path, `not valid JSON (${bytes.length} bytes): ${errorMessage(err)}`, this.work.log);
      return undefined;
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      setAside(this.path, describeZodError(parsed.error, json).slice(0, 300), this.work.log);
      return undefined;
    }
    return parsed.data;
  }

  /** Removes the file (a format that has moved elsewhere); a failure is logged like a write's. */
  remove(): void {
    if (this.path === undefined) return;
    try {
      rmSync(this.path, { force: true });
      this.written = undefined;
    } catch (err) {
      this.work.failures.error("store.write_failed", this.path, err);
    }
  }

  /** Saves atomically; false (logged at most hourly) when the disk refused, the old file intact. */
  save(value: T): boolean {
    if (this.path === undefined) return true;
    const text = JSON.stringify(value);
    if (text === this.written) return true;
    try {
      const path = this.path;
      inFolderMadeAgain(dirname(path), this.work.log, () => writeFileAtomic(path, text));
    } catch (err) {
      // The old file is intact: `written` still says what is on disk.
      this.work.failures.error("store.write_failed", this.path, err);
      return false;
    }
    this.written = text;
    this.work.failures.recovered("store.write_failed", this.path);
    return true;
  }
}
