// Per-collection cache, so collectors that need the same file (the listening-port and the
// connection collectors both read net/tcp) read and parse it only once.

import type { ProcFS, SocketFile } from "../procfs/fs.js";
import { TCP_ESTABLISHED, TCP_LISTEN, type SocketRecord } from "../procfs/net-sockets.js";
import { InterfaceResolver } from "./interfaces.js";
import type { Snapshot } from "./snapshot.js";

const TCP_STATES: ReadonlySet<number> = new Set([TCP_LISTEN, TCP_ESTABLISHED]);

export class CollectContext {
  private readonly socketCache = new Map<SocketFile, SocketRecord[]>();
  private resolverCache: InterfaceResolver | undefined;

  constructor(
    readonly fs: ProcFS,
    readonly snapshot: Snapshot,
  ) {}

  /** Rows of a socket file; TCP files keep only LISTEN and ESTABLISHED rows. */
  sockets(file: SocketFile): SocketRecord[] {
    let rows = this.socketCache.get(file);
    if (rows === undefined) {
      const parsed = this.fs.sockets(file, file.startsWith("tcp") ? TCP_STATES : undefined);
      this.noteSkipped(`net/${file}`, parsed.skipped);
      rows = parsed.records;
      this.socketCache.set(file, rows);
    }
    return rows;
  }

  get interfaces(): InterfaceResolver {
    if (this.resolverCache === undefined) {
      const routes = this.fs.routes();
      const local4 = this.fs.localIPv4();
      const v6 = this.fs.ipv6Addresses();
      this.noteSkipped("net/route", routes.skipped);
      this.noteSkipped("net/fib_trie", local4.skipped);
      this.noteSkipped("net/if_inet6", v6.skipped);
      this.resolverCache = new InterfaceResolver(routes.records, local4.records, v6.records);
    }
    return this.resolverCache;
  }

  noteSkipped(file: string, count: number): void {
    if (count > 0) this.snapshot.skippedLines[file] = (this.snapshot.skippedLines[file] ?? 0) + count;
  }
}
