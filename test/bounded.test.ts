// What a sample keeps of a list longer than its budget: the first entries by rank, then by the
// kernel's order, every one counted; and the socket scan that uses it, on a storm's proc root.

import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FirstByRank } from "../src/collect/bounded.js";
import { type ConnectionEntry, compareConnections } from "../src/collect/entries.js";
import { KeptConnections } from "../src/collect/kept-connections.js";
import { type IPv6Words, formatEndpoint, formatIPv4, formatIPv6 } from "../src/procfs/address.js";
import { cheapestFirst } from "../src/report/truncate.js";
import { InterfaceResolver } from "../src/collect/interfaces.js";
import { LIST_BUDGET, scanSockets } from "../src/collect/socket-scan.js";
import { ProcFS } from "../src/procfs/fs.js";
import { writeSyntheticProc } from "./bench/synthetic-proc.js";
import { tempDir } from "./helpers.js";

describe("FirstByRank", () => {
  it("keeps what a stable sort by rank then cut to the cap keeps, and counts every item", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 200 }), fc.integer({ min: 0, max: 30 }), (ranks, cap) => {
        const list = new FirstByRank<number>(cap);
        ranks.forEach((r, i) => (list.admits(r) ? list.add(r, i) : list.pass()));
        const expected = ranks
          .map((r, i) => ({ r, i }))
          .sort((a, b) => a.r - b.r || a.i - b.i)
          .slice(0, cap)
          .map((x) => x.i);
        const { items, total } = list.done();
        assert.deepEqual(items, expected);
        assert.equal(total, ranks.length);
      }),
    );
  });

  it("refuses, once full, an item that ranks with the last kept or after it", () => {
    const list = new FirstByRank<string>(2);
    list.add(1, "a");
    list.add(2, "b");
    assert.equal(list.admits(2), false);
    assert.equal(list.admits(1), true, "a rank-1 item goes before the rank-2 one");
    list.add(1, "c");
    assert.equal(list.admits(1), false);
    assert.equal(list.admits(0), true);
    assert.deepEqual(list.done(), { items: ["a", "c"], total: 3 });
  });
});

describe("KeptConnections", () => {
  /** Octets whose texts have one, two and three digits, and the neighbours where the order turns. */
  const octet = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 2, 9, 10, 11, 19, 20, 25, 99, 100, 199, 200, 249, 250, 255));
  const port = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 1, 9, 10, 80, 443, 8000, 8443, 65535));
  const v4 = ([a, b, c, d]: [number, number, number, number]) => ({
    kind: 4 as const,
    words: [(((a * 256 + b) * 256 + c) * 256 + d) >>> 0, 0, 0, 0] as IPv6Words,
  });
  // Peers that often share their first three octets, so that the last one's order (and the port's) decides.
  const near = fc.constantFrom(1, 2, 10, 100);
  const peer = fc.oneof(
    fc.tuple(near, near, near, octet).map(v4),
    // The same few peers, so that the port's text decides ("9" after "10").
    fc.constantFrom<[number, number, number, number]>([10, 0, 0, 1], [10, 0, 0, 10]).map(v4),
    fc.tuple(octet, octet, octet, octet).map(v4),
    fc
      .tuple(fc.constantFrom(0x20010db8, 0xfe800000, 0), fc.constantFrom(0, 1, 0xffff0000), fc.nat(), fc.nat())
      .map(([w0, w1, w2, w3]) => ({ kind: 6 as const, words: [w0 >>> 0, w1 >>> 0, w2 >>> 0, w3 >>> 0] as IPv6Words })),
  );
  const connection = fc.record({ peer, remotePort: port, localPort: port, iface: fc.constantFrom(undefined, "eth0", "lo", "wlan0") });

  it("keeps what the entries would say, and cuts as the report cuts the entries: exactly, from the numbers", () => {
    fc.assert(
      fc.property(fc.array(connection, { maxLength: 150 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 160 }), (conns, cap, budget) => {
        const kept = new KeptConnections(budget);
        const expected: ConnectionEntry[] = [];
        for (const c of conns) {
          if (kept.full) {
            kept.pass();
            continue;
          }
          kept.add(c.peer.kind, [...c.peer.words], c.remotePort, c.localPort, c.iface);
          const ip = c.peer.kind === 4 ? formatIPv4(c.peer.words[0]) : formatIPv6(c.peer.words);
          const remote_addr = formatEndpoint(ip, c.remotePort);
          expected.push(c.iface === undefined ? { remote_addr, local_port: c.localPort } : { remote_addr, local_port: c.localPort, local_interface: c.iface });
        }
        assert.equal(kept.total, conns.length);
        assert.equal(kept.kept, expected.length);
        assert.deepEqual(kept.first(cap), cheapestFirst(expected, cap, undefined, compareConnections));
        assert.deepEqual(kept.items, expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the socket scan under a storm", () => {
  const root = join(tempDir(), "proc");
  const rows = LIST_BUDGET + 2_500;
  writeSyntheticProc(root, { tcp: rows, tcp6: 0, listeners: 4 });
  const fs = new ProcFS(root, "LE");
  /** The generator's peer of established row i: 10.0.0.1 + 7 i. */
  const peerOfRow = (i: number) => {
    const n = 0x0a000001 + i * 7;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
  };
  const interfaces = () => new InterfaceResolver(fs.routes().records, fs.localIPv4().records, fs.ipv6Addresses().records);

  it("without a rank keeps the first connections the kernel lists, and counts them all", () => {
    const { established } = scanSockets(fs, interfaces);
    assert.equal(established.total, rows);
    assert.equal(established.items.length, LIST_BUDGET);
    const peers = new Set(established.items.map((c) => c.remote_addr.split(":")[0]));
    assert.ok(peers.has("10.0.0.1") && peers.has("10.0.0.8"));
    assert.ok(peers.has(peerOfRow(LIST_BUDGET - 1)), "the last row within the budget is kept");
    assert.ok(!peers.has(peerOfRow(LIST_BUDGET)), "the first row past the budget is not");
  });

  it("with a rank keeps a peer that breaks a list behavior, though the kernel lists it past the budget", () => {
    const late = peerOfRow(12_000);
    const { established } = scanSockets(fs, interfaces, (list, key) => (list === "connections" && key === late ? 0 : 2));
    assert.equal(established.total, rows);
    assert.equal(established.items.length, LIST_BUDGET);
    assert.ok(established.items.some((c) => c.remote_addr.startsWith(`${late}:`)));
  });
});
