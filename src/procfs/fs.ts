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
import { type SocketRecord, parseNetSockets } from "./net-sockets.js";
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

  sockets(file: SocketFile, states?: ReadonlySet<number>): ParseResult<SocketRecord> {
    const family = file.endsWith("6") ? 6 : 4;
    return parseNetSockets(this.readNet(file), { family, byteOrder: this.byteOrder, states });
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

// procfs files report size 0, so readFileSync reads them in fresh 64 KiB chunks and joins them:
// garbage on every sample. One buffer, grown as needed and reused, keeps the component's memory flat.
let buffer = Buffer.allocUnsafe(256 * 1024);

function readWhole(path: string, encoding: "latin1" | "utf8"): string {
  const fd = openSync(path, "r");
  try {
    let n = 0;
    for (;;) {
      if (n === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, n);
        buffer = bigger;
      }
      const got = readSync(fd, buffer, n, buffer.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return buffer.toString(encoding, 0, n);
  } finally {
    closeSync(fd);
  }
}
