// The proc root as a parameter (like Prometheus' procfs.NewFS(root)): a container that mounts
// the host's /proc at /host/proc reads the host's view by passing that path.

import { readFileSync } from "node:fs";
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
      return readFileSync(this.path(rel), "latin1");
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

  bootId(): string | undefined {
    const id = this.read("sys/kernel/random/boot_id").trim();
    return id === "" ? undefined : id;
  }
}
