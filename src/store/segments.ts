// An append-only log of lines kept in segment files (`<folder>/<seq>.ndjson`), for data that
// grows at the end and expires at the start (the Detect history). Appending writes one line
// (every byte, fsync); a line that could not be written whole is cut off again, so a full disk
// leaves no torn line behind. Expiry and the size cap delete whole segments, oldest first: no
// rewrite of what stays. Only the newest segment is ever written, so only it can end in a line
// torn by a power cut, which is dropped when the log is opened.

import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import type { Logger } from "../util/log.js";
import { type FailureLog, fsyncDir, inFolderMadeAgain, writeAll } from "./files.js";

export interface Segment<K> {
  seq: number;
  bytes: number;
  /** Key (a time) of the segment's last entry, for expiry. */
  lastKey: K | undefined;
}

export class SegmentedLog<K> {
  readonly segments: Segment<K>[] = [];
  private readonly dir: string | undefined;

  constructor(
    folder: string | undefined,
    private readonly failures: FailureLog | undefined,
    private readonly log: Logger | undefined,
    private readonly readOnly = false,
  ) {
    this.dir = folder;
    if (folder !== undefined && !readOnly) {
      try {
        mkdirSync(folder, { recursive: true });
      } catch (err) {
        failures?.error("store.folder_unusable", folder, err);
      }
    }
  }

  get totalBytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  /**
   * Reads every segment, oldest first, decoding each line; lines that do not decode (a torn last
   * line, damage) are counted in `dropped`. Optionally adopts an older single file first.
   */
  load<T>(decode: (line: string) => T | undefined, keyOf: (t: T) => K, maxBytes: number, legacyFile?: string): { entries: T[]; dropped: number } {
    const entries: T[] = [];
    let dropped = 0;
    if (this.dir === undefined) return { entries, dropped };
    if (legacyFile !== undefined && !this.readOnly) {
      try {
        statSync(legacyFile);
        renameSync(legacyFile, join(this.dir, `${String(0).padStart(10, "0")}.ndjson`));
      } catch {
        // none, or it cannot be moved: a read-only folder is reported by the next write
      }
    }
    let names: string[];
    try {
      names = readdirSync(this.dir)
        .filter((n) => /^\d{10}\.ndjson$/.test(n))
        .sort();
    } catch {
      return { entries, dropped };
    }
    // Never read more than the cap: the oldest segments beyond it go unread (and, unless read-only,
    // deleted), and a segment bigger than the cap by itself is read from its last maxBytes only.
    const sizes = names.map((n) => {
      try {
        return statSync(join(this.dir!, n)).size;
      } catch {
        return 0;
      }
    });
    let total = sizes.reduce((a, b) => a + b, 0);
    let over = 0;
    while (names.length > 1 && total > maxBytes) {
      total -= sizes.shift()!;
      const gone = names.shift()!;
      over++;
      if (!this.readOnly) rmSync(join(this.dir, gone), { force: true });
    }
    if (over > 0 || (sizes[0] ?? 0) > maxBytes)
      this.log?.warn("history.over_size_cap", { folder: this.dir, max_bytes: maxBytes, effect: "only the newest datapoints up to the cap were read" });
    for (const [i, name] of names.entries()) {
      const path = join(this.dir, name);
      let text: string;
      try {
        text = readTail(path, maxBytes);
      } catch (err) {
        this.failures?.error("store.read_failed", path, err);
        continue;
      }
      const complete = text.lastIndexOf("\n") + 1;
      if (complete < text.length) {
        dropped++;
        if (i === names.length - 1 && !this.readOnly) {
          try {
            const fd = openSync(path, "r+");
            ftruncateSync(fd, Buffer.byteLength(text.slice(0, complete)));
            fsyncSync(fd);
            closeSync(fd);
          } catch (err) {
            this.failures?.error("store.write_failed", path, err);
          }
        }
      }
      const seg: Segment<K> = { seq: Number(name.slice(0, 10)), bytes: Buffer.byteLength(text.slice(0, complete)), lastKey: undefined };
      for (const line of text.slice(0, complete).split("\n")) {
        if (line === "") continue;
        const e = decode(line);
        if (e === undefined) {
          dropped++;
          continue;
        }
        entries.push(e);
        seg.lastKey = keyOf(e);
      }
      this.segments.push(seg);
    }
    return { entries, dropped };
  }

  /**
   * Opens the log without reading what it holds: each segment's size, and the key of its last line
   * (read from the segment's end). For a log whose entries nobody needs in memory; a torn last line
   * of the newest segment is cut off as `load` does.
   */
  open(lastKeyOf: (line: string) => K | undefined, maxBytes: number): void {
    if (this.dir === undefined) return;
    let names: string[];
    try {
      names = readdirSync(this.dir)
        .filter((n) => /^\d{10}\.ndjson$/.test(n))
        .sort();
    } catch {
      return;
    }
    let total = 0;
    const segments: Segment<K>[] = [];
    for (const [i, name] of names.entries()) {
      const path = join(this.dir, name);
      try {
        let text = readTail(path, TAIL_BYTES);
        const complete = text.lastIndexOf("\n") + 1;
        let size = statSync(path).size;
        if (complete < text.length) {
          size -= Buffer.byteLength(text.slice(complete));
          if (i === names.length - 1 && !this.readOnly) {
            const fd = openSync(path, "r+");
            ftruncateSync(fd, size);
            fsyncSync(fd);
            closeSync(fd);
          }
          text = text.slice(0, complete);
        }
        const lines = text.split("\n");
        let lastKey: K | undefined;
        for (let k = lines.length - 1; k >= 0 && lastKey === undefined; k--) if (lines[k] !== "") lastKey = lastKeyOf(lines[k]!);
        segments.push({ seq: Number(name.slice(0, 10)), bytes: size, lastKey });
        total += size;
      } catch (err) {
        this.failures?.error("store.read_failed", path, err);
      }
    }
    // The size cap holds from the start: the oldest segments beyond it go.
    while (segments.length > 1 && total > maxBytes) {
      const gone = segments.shift()!;
      total -= gone.bytes;
      if (!this.readOnly) rmSync(this.pathOf(gone), { force: true });
    }
    this.segments.push(...segments);
  }

  /** Appends one line (with its "\n") to the newest segment, or a new one once that is `segmentBytes` big. */
  append(line: string, key: K, segmentBytes: number): boolean {
    let seg = this.segments.at(-1);
    const bytes = Buffer.from(line, "utf8");
    if (seg === undefined || seg.bytes >= segmentBytes) {
      seg = { seq: (seg?.seq ?? 0) + 1, bytes: 0, lastKey: undefined };
      this.segments.push(seg);
    }
    seg.lastKey = key;
    if (this.dir === undefined || this.readOnly) {
      seg.bytes += bytes.length;
      return true;
    }
    const path = this.pathOf(seg);
    let fd: number | undefined;
    try {
      fd = inFolderMadeAgain(this.dir, this.log, () => openSync(path, "a", 0o600));
      const size = fstatSync(fd).size;
      try {
        writeAll(fd, bytes);
        fsyncSync(fd);
      } catch (err) {
        // Part of the line may be on disk: cut it off, so the next line starts clean.
        try {
          ftruncateSync(fd, size);
        } catch {
          // nothing more can be done; the torn line is dropped when the log is read
        }
        throw err;
      }
      if (size === 0) fsyncDir(this.dir); // a new file: make its name durable too
      seg.bytes = size + bytes.length;
      this.failures?.recovered("store.write_failed", path);
      return true;
    } catch (err) {
      this.failures?.error("store.write_failed", path, err, { kept: "in memory until the disk takes it" });
      return false;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Deletes the oldest segments while `expired` says so or the total is over `maxBytes`; never the newest. */
  trim(expired: (seg: Segment<K>) => boolean, maxBytes: number): Segment<K>[] {
    const gone: Segment<K>[] = [];
    while (this.segments.length > 1 && (expired(this.segments[0]!) || this.totalBytes > maxBytes)) {
      const seg = this.segments.shift()!;
      gone.push(seg);
      if (this.dir !== undefined && !this.readOnly) {
        try {
          rmSync(this.pathOf(seg), { force: true });
        } catch (err) {
          this.failures?.error("store.write_failed", this.pathOf(seg), err);
        }
      }
    }
    if (gone.length > 0) this.log?.debug("store.segments_trimmed", { count: gone.length });
    return gone;
  }

  private pathOf(seg: Segment<K>): string {
    return join(this.dir!, `${String(seg.seq).padStart(10, "0")}.ndjson`);
  }
}

/** How much of a segment's end `open` reads for its last line (a line is far shorter). */
const TAIL_BYTES = 256 * 1024;

/** A file's text, or only its last `maxBytes` from the first whole line on. */
function readTail(path: string, maxBytes: number): string {
  const size = statSync(path).size;
  if (size <= maxBytes) return readFileSync(path, "utf8");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(Math.floor(maxBytes));
    const n = readSync(fd, buf, 0, buf.length, size - buf.length);
    const text = buf.toString("utf8", 0, n);
    return text.slice(text.indexOf("\n") + 1);
  } finally {
    closeSync(fd);
  }
}
