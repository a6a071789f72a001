// The proc root as a parameter (like Prometheus' procfs.NewFS(root)): a container that mounts
// the host's /proc at /host/proc reads the host's view by passing that path.
//
// The network files are read from the proc root's init process, <root>/1/net/: /proc/net is a
// link to /proc/self/net, the *reader's* network namespace, so a component in a container with
// its own namespace would otherwise see its own empty namespace rather than the device's. When
// pid 1 cannot be read (hidepid, a fixture), <root>/net/ is used. Interface tables (route,
// fib_trie, if_inet6, dev) come from the same place as the sockets.

import { closeSync, openSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { type ByteOrder, HOST_BYTE_ORDER } from "./address.js";
import { parseFibTrieLocal } from "./fib-trie.js";
import { parseIfInet6 } from "./if-inet6.js";
import { parseNetDev } from "./net-dev.js";
import { parseNetRoute } from "./net-route.js";
import { forEachLine } from "./lines.js";
import { type SocketRecord, SocketRow, parseNetSockets } from "./net-sockets.js";
import type { ParseResult } from "./parse-result.js";

export const DEFAULT_PROC_ROOT = "/proc";

export type SocketFile = "tcp" | "tcp6" | "udp" | "udp6";

/** A file that could not be read for a reason other than not existing. */
export interface ReadProblem {
  file: string;
  code: string;
}

export class ProcFS {
  readonly problems: ReadProblem[] = [];
  /** Network files that do not exist (a kernel without IPv6 lacks the *6 files). */
  readonly missing: string[] = [];
  private netDirCache: string | undefined;

  constructor(
    readonly root: string = DEFAULT_PROC_ROOT,
    readonly byteOrder: ByteOrder = HOST_BYTE_ORDER,
  ) {}

  path(rel: string): string {
    return join(this.root, rel);
  }

  /** Where the network files are read: the init process's namespace, or <root>/net. */
  get netDir(): string {
    if (this.netDirCache === undefined) {
      const init = join(this.root, "1", "net");
      let usable = false;
      try {
        closeSync(openSync(join(init, "dev"), "r"));
        usable = true;
      } catch {
        // pid 1 hidden (hidepid) or absent (a fixture): the proc root's own net/
      }
      this.netDirCache = usable ? init : join(this.root, "net");
    }
    return this.netDirCache;
  }

  /** File text, or "" when it is missing or unreadable (the latter noted in `problems`). */
  read(rel: string, encoding: "latin1" | "utf8" = "latin1"): string {
    return this.readPath(this.path(rel), encoding);
  }

  /** A network file (see netDir). */
  readNet(name: string, encoding: "latin1" | "utf8" = "latin1"): string {
    return this.readPath(join(this.netDir, name), encoding);
  }

  private readPath(path: string, encoding: "latin1" | "utf8"): string {
    try {
      return readWhole(path, encoding);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "EIO";
      if (code === "ENOENT" || code === "ENOTDIR") this.missing.push(path);
      else this.problems.push({ file: path, code });
      return "";
    }
  }

  /** Every row of a socket file at once (tests and small files; collection streams with scanSockets). */
  sockets(file: SocketFile, states?: ReadonlySet<number>): ParseResult<SocketRecord> {
    const family = file.endsWith("6") ? 6 : 4;
    return parseNetSockets(this.readNet(file), { family, byteOrder: this.byteOrder, states });
  }

  /**
   * Visits each row of a socket file in `states` (all when undefined), streaming: memory does not
   * grow with the file. The row is valid during the call only. Returns the malformed lines left out.
   */
  scanSockets(file: SocketFile, states: ReadonlySet<number> | undefined, visit: (row: SocketRow) => void): number {
    const path = join(this.netDir, file);
    const row = new SocketRow(file.endsWith("6") ? 6 : 4, this.byteOrder);
    let skipped = 0;
    let header = true;
    try {
      const overlong = forEachLine(path, (buf, start, end) => {
        if (header) {
          header = false;
          return;
        }
        const outcome = row.read(buf, start, end, states);
        if (outcome === "row") visit(row);
        else if (outcome === "skipped") skipped++;
      });
      skipped += overlong;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "EIO";
      if (code === "ENOENT" || code === "ENOTDIR") this.missing.push(path);
      else this.problems.push({ file: path, code });
    }
    return skipped;
  }

  /** Interface names are UTF-8 (dev_valid_name allows any byte but "/", ":" and whitespace). */
  netDev() {
    return parseNetDev(this.readNet("dev", "utf8"));
  }

  routes() {
    return parseNetRoute(this.readNet("route", "utf8"), this.byteOrder);
  }

  localIPv4() {
    return parseFibTrieLocal(this.readNet("fib_trie"));
  }

  ipv6Addresses() {
    return parseIfInet6(this.readNet("if_inet6", "utf8"));
  }

  /** Process ids: the numeric folders of the proc root. */
  pids(): number[] {
    try {
      return readdirSync(this.root)
        .filter((n) => /^\d+$/.test(n))
        .map(Number);
    } catch {
      return [];
    }
  }

  /** Targets of a process's fd links; throws (e.g. EACCES) when they may not be read. */
  fdTargets(pid: number): string[] {
    const dir = this.path(`${pid}/fd`);
    const out: string[] = [];
    for (const fd of readdirSync(dir)) {
      try {
        out.push(readlinkSync(`${dir}/${fd}`));
      } catch {
        // the fd closed between listing and reading: nothing to report
      }
    }
    return out;
  }

  bootId(): string | undefined {
    const id = this.read("sys/kernel/random/boot_id").trim();
    return id === "" ? undefined : id;
  }
}

/**
 * The files read whole (net/dev, route, fib_trie, if_inet6, a process's comm...) are small; a
 * device's sockets, which are not, are streamed (scanSockets). Beyond this size a file read whole
 * is an error, not a heap exhausted: fib_trie with thousands of routes is about 100 bytes each.
 */
export const MAX_WHOLE_FILE_BYTES = 16 * 1024 * 1024;

// procfs files report size 0, so readFileSync reads them in fresh 64 KiB chunks and joins them:
// garbage on every sample. One buffer, grown as needed up to the cap and reused, keeps memory flat.
const WHOLE_BUFFER_BYTES = 256 * 1024;
let buffer = Buffer.allocUnsafe(WHOLE_BUFFER_BYTES);

function readWhole(path: string, encoding: "latin1" | "utf8"): string {
  const fd = openSync(path, "r");
  try {
    let n = 0;
    for (;;) {
      if (n === buffer.length) {
        if (buffer.length >= MAX_WHOLE_FILE_BYTES) throw Object.assign(new Error(`${path} is larger than ${MAX_WHOLE_FILE_BYTES} bytes`), { code: "EFBIG" });
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, n);
        buffer = bigger;
      }
      const got = readSync(fd, buffer, n, buffer.length - n, null);
      if (got === 0) break;
      n += got;
    }
    const text = buffer.toString(encoding, 0, n);
    // A large file does not keep a large buffer for the life of the process.
    if (buffer.length > WHOLE_BUFFER_BYTES) buffer = Buffer.allocUnsafe(WHOLE_BUFFER_BYTES);
    return text;
  } finally {
    closeSync(fd);
  }
}
