// One sample's context: the proc root, the settings collectors need, a per-sample cache (the
// listening-port, connection and listening-process collectors all read the socket files: they
// are read once, streaming, see ./socket-scan.ts), and what collectors keep between samples.

import type { ProcFS } from "../procfs/fs.js";
import type { CpuTimes } from "../procfs/stat.js";
import { InterfaceResolver } from "./interfaces.js";
import { type Rank, type SocketScan, scanSockets } from "./socket-scan.js";

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
  private scanCache: SocketScan | undefined;
  private resolverCache: InterfaceResolver | undefined;
  private devCache: ReturnType<ProcFS["netDev"]> | undefined;

  constructor(
    readonly fs: ProcFS,
    readonly excludedInterfaces: ReadonlySet<string>,
    readonly memory: CollectorMemory,
    readonly fileSettings: FileSettings = { extraRoots: [], procRoot: fs.root },
    /** Which list entries a collector keeps first when a list is longer than it keeps (see socket-scan.ts). */
    readonly rank?: Rank,
  ) {}

  /** The socket files, read once per sample in one streaming pass. */
  sockets(): SocketScan {
    if (this.scanCache === undefined) {
      this.scanCache = scanSockets(this.fs, () => this.interfaces, this.rank);
      for (const [file, count] of Object.entries(this.scanCache.skipped)) this.noteSkipped(file, count);
    }
    return this.scanCache;
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
