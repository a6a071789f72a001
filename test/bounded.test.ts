// What a sample keeps of a list longer than its budget: the first entries by rank, then by the
// kernel's order, every one counted; and the socket scan that uses it, on a storm's proc root.

import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FirstByRank } from "../src/collect/bounded.js";
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
