// One sample's context: the proc root, the settings collectors need, a per-sample cache (the
// listening-port, connection and listening-process collectors all read net/tcp: it is read and
// parsed once), and what collectors keep between samples.

import type { ProcFS, SocketFile } from "../procfs/fs.js";
import { TCP_ESTABLISHED, TCP_LISTEN, type SocketRecord } from "../procfs/net-sockets.js";
import type { CpuTimes } from "../procfs/stat.js";
import { InterfaceResolver } from "./interfaces.js";

const TCP_STATES: ReadonlySet<number> = new Set([TCP_LISTEN, TCP_ESTABLISHED]);

/**
 * The socket inodes each process held at the last full scan (null: its fds could not be read),
 * kept by listening_process_names between samples.
 */
export interface ListenerCache {
  key: string;
  byPid: Map<number, number[] | null>;
}

/** What collectors keep from one sample to the next. */
export interface CollectorMemory {
  /** CPU times of the previous sample (cpu_usage is a delta over the interval). */
  cpu?: CpuTimes;
  listeners: ListenerCache;
}

export function newMemory(): CollectorMemory {
  return { listeners: { key: "", byPid: new Map() } };
}

/** Where the "file" custom metric source may read (collectors/file.ts): besides /sys and the proc root. */
export interface FileSettings {
  extraRoots: readonly string[];
  procRoot: string;
}

export class CollectContext {
  /** Malformed lines left out, per file (e.g. {"net/tcp": 2}). */
  readonly skippedLines: Record<string, number> = {};
  /** Remarks a collector makes about its value (processes it could not see, say). */
  readonly notes: string[] = [];
  private readonly socketCache = new Map<SocketFile, SocketRecord[]>();
  private resolverCache: InterfaceResolver | undefined;
  private devCache: ReturnType<ProcFS["netDev"]> | undefined;

  constructor(
    readonly fs: ProcFS,
    readonly excludedInterfaces: ReadonlySet<string>,
    readonly memory: CollectorMemory,
    readonly fileSettings: FileSettings = { extraRoots: [], procRoot: fs.root },
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

  /** net/dev, parsed once per sample. */
  netDev(): ReturnType<ProcFS["netDev"]> {
    if (this.devCache === undefined) {
      this.devCache = this.fs.netDev();
      this.noteSkipped("net/dev", this.devCache.skipped);
    }
    return this.devCache;
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
    if (count > 0) this.skippedLines[file] = (this.skippedLines[file] ?? 0) + count;
  }
}
