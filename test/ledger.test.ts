// The traffic ledger (src/agent/ledger.ts): every interval's traffic is settled exactly once, or
// its loss is counted; checked case by case and by a property over random answer orders.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Ledger, type Traffic, addTraffic } from "../src/agent/ledger.js";

const t = (n: number): Traffic => ({ bytes_in: n, bytes_out: 2 * n, packets_in: 3 * n, packets_out: 4 * n });
const ZERO = t(0);

describe("traffic ledger", () => {
  it("accepted settles; rejected and refused traffic is carried into the next report", () => {
    const l = new Ledger();
    l.sent({ reportId: 1, traffic: t(10), sentAt: 0, nucleus: "n1" });
    assert.deepEqual(l.answer(1, true), [{ kind: "accepted", reportId: 1 }]);
    l.sent({ reportId: 2, traffic: t(20), sentAt: 1, nucleus: "n1" });
    l.answer(2, false);
    assert.deepEqual(l.carry, t(20));
    l.sent({ reportId: 3, traffic: addTraffic(t(5), l.carry), sentAt: 2, nucleus: "n1" });
    assert.deepEqual(l.carry, ZERO, "the carry is spent by the report that takes it");
    l.refused(3);
    assert.deepEqual(l.carry, t(25));
    assert.equal(l.state.totals.accepted, 1);
    assert.equal(l.state.totals.rejected, 1);
    assert.equal(l.state.totals.refused, 1);
  });

  it("a restarted nucleus lost what it held: presumed lost, carried", () => {
    const l = new Ledger();
    l.sent({ reportId: 1, traffic: t(10), sentAt: 0, nucleus: "n1" });
    assert.deepEqual(l.nucleusIs("n1"), [], "same nucleus: still waiting");
    const notes = l.nucleusIs("n2");
    assert.equal(notes[0]?.kind, "presumed_lost");
    assert.deepEqual(l.carry, t(10));
    assert.deepEqual(l.answer(1, true), [{ kind: "double_counted", reportId: 1, traffic: t(10) }], "a late acceptance is counted as counted twice");
    assert.equal(l.state.totals.doubleCounted, 1);
  });

  it("an answer missed during a gap is inferred from a later answer, and reconciled if it comes late", () => {
    const l = new Ledger();
    l.sent({ reportId: 1, traffic: t(10), sentAt: 0, nucleus: "n1" });
    l.markGaps();
    assert.equal(l.awaiting(1, 1000), undefined, "a gapped report holds nothing back");
    l.sent({ reportId: 2, traffic: t(20), sentAt: 1, nucleus: "n1" });
    assert.ok(l.awaiting(2, 1000), "a fresh report is awaited");
    const notes = l.answer(2, true);
    assert.deepEqual(
      notes.map((n) => n.kind),
      ["unconfirmed", "accepted"],
    );
    assert.equal(l.state.totals.unconfirmed, 1);
    assert.deepEqual(l.answer(1, false), [{ kind: "late_rejection", reportId: 1, carried: t(10) }]);
    assert.deepEqual(l.carry, t(10), "a late rejection puts the traffic back");
    assert.equal(l.state.totals.unconfirmed, 0);
    assert.deepEqual(l.answer(2, true), [{ kind: "duplicate_answer", reportId: 2 }], "an answer twice counts once");
  });

  it("property: with answers in any order, each report's traffic is settled once or carried, never lost silently", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ n: fc.integer({ min: 0, max: 1000 }), outcome: fc.constantFrom("accept", "reject", "refuse"), gapAfter: fc.boolean() }), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (reports, seed) => {
          const l = new Ledger();
          let total = ZERO;
          const pending: Array<{ id: number; outcome: string }> = [];
          reports.forEach((r, i) => {
            const fresh = t(r.n);
            total = addTraffic(total, fresh);
            l.sent({ reportId: i + 1, traffic: addTraffic(fresh, l.carry), sentAt: i, nucleus: "n" });
            if (r.outcome === "refuse") l.refused(i + 1);
            else pending.push({ id: i + 1, outcome: r.outcome });
            if (r.gapAfter) l.markGaps();
          });
          // Answers arrive in a shuffled order.
          let s = seed;
          for (let i = pending.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) % 2 ** 31;
            const j = s % (i + 1);
            [pending[i], pending[j]] = [pending[j]!, pending[i]!];
          }
          let settled = ZERO;
          const acceptedIds = new Set<number>();
          for (const p of pending) {
            for (const note of l.answer(p.id, p.outcome === "accept")) {
              if (note.kind === "accepted") acceptedIds.add(note.reportId);
            }
          }
          for (const s2 of l.state.settled) if (s2.outcome === "accepted" || s2.outcome === "unconfirmed") settled = addTraffic(settled, s2.traffic);
          // What was settled (accepted or counted as unconfirmed) plus what is owed equals all traffic.
          const owed = addTraffic(
            l.carry,
            l.state.outstanding.reduce((a, o) => addTraffic(a, o.traffic), ZERO),
          );
          assert.deepEqual(addTraffic(settled, owed), total);
          assert.equal(l.state.totals.doubleCounted, 0);
        },
      ),
    );
  });
});
