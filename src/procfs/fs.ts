// The proc root as a parameter (like Prometheus' procfs.NewFS(root)): a container that mounts
// the host's /proc at /host/proc reads the host's view by passing that path.

import { closeSync, openSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { type ByteOrder, HOST_BYTE_ORDER } from "./address.js";
import { parseFibTrieLocal } from "./fib-trie.js";
import { parseIfInet6 } from "./if-inet6.js";
import { parseNetDev } from "./net-dev.js";
import { parseNetRoute } from "./net-route.js";
import { type ParseResult, type SocketRecord, parseNetSockets } from "./net-sockets.js";

export const DEFAULT_PROC_ROOT = "/proc";

export type SocketFile = "tcp" | "tcp6" | "udp" | "udp6";

/** A file that could not be read for a reason other than not existing. */
export interface ReadProblem {
  file: string;
  code: string;
}

export class ProcFS {
  readonly problems: ReadProblem[] = [];

  constructor(
    readonly root: string = DEFAULT_PROC_ROOT,
    readonly byteOrder: ByteOrder = HOST_BYTE_ORDER,
  ) {}

  path(rel: string): string {
    return join(this.root, rel);
  }

  /** File text, or "" when it is missing (e.g. no IPv6 in the kernel) or unreadable. */
  read(rel: string): string {
    try {
      return readWhole(this.path(rel));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "EIO";
      if (code !== "ENOENT" && code !== "ENOTDIR") this.problems.push({ file: this.path(rel), code });
      return "";
    }
  }

  sockets(file: SocketFile, states?: ReadonlySet<number>): ParseResult<SocketRecord> {
    const family = file.endsWith("6") ? 6 : 4;
    return parseNetSockets(this.read(`net/${file}`), { family, byteOrder: this.byteOrder, states });
  }

  netDev() {
    return parseNetDev(this.read("net/dev"));
  }

  routes() {
    return parseNetRoute(this.read("net/route"), this.byteOrder);
  }

  localIPv4() {
    return parseFibTrieLocal(this.read("net/fib_trie"));
  }

  ipv6Addresses() {
    return parseIfInet6(this.read("net/if_inet6"));
  }

  /** Process ids: the numeric folders of the proc root. */
  pids(): number[] {
    try {
      return readdirSync(this.root).filter((n) => /^\d+$/.test(n)).map(Number);
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

function readWhole(path: string): string {
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
    return buffer.toString("latin1", 0, n);
  } finally {
    closeSync(fd);
  }
}
