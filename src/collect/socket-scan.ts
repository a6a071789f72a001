// One streaming pass over the socket files per sample, for every collector that reads them:
// listening TCP and UDP ports (unique by port and interface), the established TCP connections,
// and the inodes of listening sockets (listening_process_names).
//
// Memory is bounded whatever the socket count: each list keeps at most LIST_BUDGET entries and
// counts them all. Which entries stay when a list is longer (a connection storm, a port scan
// answered): first those that break a profile's list behavior, then those new since the previous
// report, then the report's own order (`rank`, then `order`). A list behavior is therefore judged
// on every socket the device has: a violating entry is kept whenever one exists, and an allow or
// deny list needs only one to be broken. Within a rank the first ones the kernel lists are kept
// (a storm's rows are then counted, not built). Unique listening ports are counted exactly (a bit
// per port and interface), however many there are.

import type { ProcFS, SocketFile } from "../procfs/fs.js";
import { TCP_ESTABLISHED, TCP_LISTEN } from "../procfs/net-sockets.js";
import { FirstByRank, type Listed } from "./bounded.js";
import type { InterfaceResolver } from "./interfaces.js";
import { type IPv6Words, formatEndpoint } from "../procfs/address.js";
import type { ConnectionEntry, PortEntry } from "./entries.js";
import { KeptConnections } from "./kept-connections.js";

/** The most entries a list keeps in one sample: the report's largest MaxListEntries. */
export const LIST_BUDGET = 10_000;

/** How much an entry matters when a list is cut (lower first); `key` is a port's number or a peer's IP. */
export type Rank = (list: RankedList, key: string) => number;
export type RankedList = "listening_tcp_ports" | "listening_udp_ports" | "connections";

export interface SocketScan {
  tcpListeners: Listed<PortEntry>;
  udpListeners: Listed<PortEntry>;
  established: Listed<ConnectionEntry>;
  /** Inodes of the listening sockets (at most LIST_BUDGET; `listenerInodesCut` when there were more). */
  listenerInodes: ReadonlySet<number>;
  listenerInodesCut: boolean;
  /** Malformed lines left out, per file ("net/tcp"). */
  skipped: Record<string, number>;
}

const TCP_STATES: ReadonlySet<number> = new Set([TCP_LISTEN, TCP_ESTABLISHED]);

/** Unique (port, interface) pairs: a bit per port for each interface seen. */
class PortSet {
  private readonly bits = new Map<string, Uint8Array>();
  /** Adds the pair; false when it was there already. */
  add(port: number, iface: string | undefined): boolean {
    const key = iface ?? "";
    let b = this.bits.get(key);
    if (b === undefined) {
      b = new Uint8Array(8192);
      this.bits.set(key, b);
    }
    const mask = 1 << (port & 7);
    if ((b[port >> 3]! & mask) !== 0) return false;
    b[port >> 3] = b[port >> 3]! | mask;
    return true;
  }
}

/**
 * A list's entries as a sample keeps them: the first LIST_BUDGET by rank, and within a rank in
 * the order the kernel listed them. The rank is taken from the entry's key before the entry is
 * made, so an entry that would not be kept costs its rank only; without a rank, not even that (a
 * storm's rows are then counted, not read).
 */
class RankedEntries<T> {
  private readonly list = new FirstByRank<T>(LIST_BUDGET);
  constructor(
    private readonly rank: Rank | undefined,
    private readonly name: RankedList,
  ) {}
  /**
   * The rank of an entry whose key (a port's number, a peer's IP) is `key` when it is to be kept
   * (then `add` it); undefined when it is not (it is counted).
   */
  admit(key: string): number | undefined {
    const r = this.rank === undefined ? 0 : this.rank(this.name, key);
    if (this.list.admits(r)) return r;
    this.list.pass();
    return undefined;
  }
  add(r: number, item: T): void {
    this.list.add(r, item);
  }
  /**
   * The kept entries by rank, then in the kernel's order: unsorted, since every reader orders
   * what it takes (the report its cut, Detect its sets) and a storm's 10,000 need not be sorted.
   */
  done(): Listed<T> {
    return this.list.done();
  }
}

export function scanSockets(fs: ProcFS, interfaces: () => InterfaceResolver, rank?: Rank): SocketScan {
  const skipped: Record<string, number> = {};
  const tcpListeners = new RankedEntries<PortEntry>(rank, "listening_tcp_ports");
  const udpListeners = new RankedEntries<PortEntry>(rank, "listening_udp_ports");
  const established = new RankedEntries<ConnectionEntry>(rank, "connections");
  // Without a rank, connections are kept as numbers and written out only as a reader asks.
  const unranked = rank === undefined ? new KeptConnections(LIST_BUDGET) : undefined;
  const words: IPv6Words = [0, 0, 0, 0];
  const inodes = new Set<number>();
  let inodesCut = false;
  const seen = { tcp: new PortSet(), udp: new PortSet() };
  const listener = (protocol: "tcp" | "udp", port: number, localAddress: string, inode: number) => {
    if (inode > 0) {
      if (inodes.size < LIST_BUDGET) inodes.add(inode);
      else inodesCut = true;
    }
    if (port === 0) return;
    const iface = interfaces().resolve(localAddress);
    if (!seen[protocol].add(port, iface)) return;
    const list = protocol === "tcp" ? tcpListeners : udpListeners;
    const r = list.admit(String(port));
    if (r !== undefined) list.add(r, iface === undefined ? { port } : { port, interface: iface });
  };
  // Rows of one local address come together: its interface is looked up once per run of them.
  let lastLocal: string | undefined;
  let lastIface: string | undefined;
  const interfaceOf = (local: string): string | undefined => {
    if (local !== lastLocal) {
      lastLocal = local;
      lastIface = interfaces().resolve(local);
    }
    return lastIface;
  };
  const files: SocketFile[] = ["tcp", "tcp6", "udp", "udp6"];
  for (const file of files) {
    const tcp = file.startsWith("tcp");
    const n = fs.scanSockets(file, tcp ? TCP_STATES : undefined, (row) => {
      if (tcp && row.state === TCP_ESTABLISHED) {
        if (unranked !== undefined) {
          if (unranked.full) unranked.pass();
          else unranked.add(row.remoteNumbers(words), words, row.remotePort, row.localPort, interfaceOf(row.localAddress()));
          return;
        }
        const ip = row.remoteAddress();
        const r = established.admit(ip);
        if (r !== undefined) {
          const iface = interfaceOf(row.localAddress());
          const remote_addr = formatEndpoint(ip, row.remotePort);
          established.add(
            r,
            iface === undefined ? { remote_addr, local_port: row.localPort } : { remote_addr, local_port: row.localPort, local_interface: iface },
          );
        }
      } else if (tcp ? row.state === TCP_LISTEN : row.remotePort === 0 && row.remoteIsZero) {
        // UDP has no LISTEN state: a UDP socket listens when it has no peer (connected ones, DNS or NTP clients, do not).
        listener(tcp ? "tcp" : "udp", row.localPort, row.localAddress(), row.inode());
      }
    });
    if (n > 0) skipped[`net/${file}`] = n;
  }
  return {
    tcpListeners: tcpListeners.done(),
    udpListeners: udpListeners.done(),
    established: unranked ?? established.done(),
    listenerInodes: inodes,
    listenerInodesCut: inodesCut,
    skipped,
  };
}
