// Traffic accounting under the nucleus's spooler semantics (pure; persisted in state.json).
//
// A successful PublishToIoTCore only means the report is in the nucleus's spooler (in memory by
// default, lost when the nucleus restarts; MqttClient.publish, spool/Spool.java), and the service
// may still throttle it. So the traffic a report carries is only settled when the service accepts
// it. Each report carries the deltas since the previous report plus `carry`: the deltas of
// earlier reports that were refused, rejected or lost. An answer is matched by report id.
//
//   publish refused (not spooled)            → its traffic goes to carry
//   rejected (Throttled, InvalidPayload, ...) → its traffic goes to carry
//   accepted                                  → settled
//   the nucleus restarted before an answer    → presumed lost (in-memory spool): to carry
//   an answer to a later report arrived, none to this one (its answer came while the component
//     was not listening: a restart or a reconnection)  → "unconfirmed": settled, counted, logged
// A late answer reconciles: unconfirmed then rejected → to carry; carried then accepted → the
// traffic was counted twice, which is counted and logged.

import { z } from "zod";
import { lazy } from "../util/lazy.js";

import type { Traffic } from "../metrics/catalogue.js";

export type { Traffic };

export const ZERO_TRAFFIC: Traffic = { bytes_in: 0, bytes_out: 0, packets_in: 0, packets_out: 0 };

export function addTraffic(a: Traffic, b: Traffic | undefined): Traffic {
  if (b === undefined) return a;
  return {
    bytes_in: a.bytes_in + b.bytes_in,
    bytes_out: a.bytes_out + b.bytes_out,
    packets_in: a.packets_in + b.packets_in,
    packets_out: a.packets_out + b.packets_out,
  };
}

export const isZero = (t: Traffic) => t.bytes_in === 0 && t.bytes_out === 0 && t.packets_in === 0 && t.packets_out === 0;

/** The ledger as state.json keeps it; built on first use (../util/lazy.ts). */
export const ledgerSchema = lazy(() => {
  const traffic = z.object({
    bytes_in: z.number().min(0),
    bytes_out: z.number().min(0),
    packets_in: z.number().min(0),
    packets_out: z.number().min(0),
  }) satisfies z.ZodType<Traffic>;
  const outstanding = z.object({
    reportId: z.number(),
    /** The network_stats it carries; undefined for a report without network_stats. */
    traffic: traffic.optional(),
    /** Epoch ms when it was handed to the nucleus. */
    sentAt: z.number(),
    /** Identity of the nucleus instance that took it (its spool dies with it). */
    nucleus: z.string(),
    /** Its answer may have come while nobody listened (a restart or a reconnection since). */
    gap: z.boolean(),
  });
  const settled = z.object({
    reportId: z.number(),
    traffic: traffic.optional(),
    outcome: z.enum(["accepted", "carried", "unconfirmed"]),
  });
  return z.object({
    carry: traffic,
    outstanding: z.array(outstanding),
    /** Recently settled reports, so that a late or repeated answer is reconciled, and counted once. */
    settled: z.array(settled),
    totals: z.object({
      accepted: z.number(),
      rejected: z.number(),
      refused: z.number(),
      presumedLost: z.number(),
      unconfirmed: z.number(),
      doubleCounted: z.number(),
    }),
  });
});
export type LedgerState = z.infer<ReturnType<typeof ledgerSchema>>;
export type Outstanding = LedgerState["outstanding"][number];

export function emptyLedger(): LedgerState {
  return {
    carry: { ...ZERO_TRAFFIC },
    outstanding: [],
    settled: [],
    totals: { accepted: 0, rejected: 0, refused: 0, presumedLost: 0, unconfirmed: 0, doubleCounted: 0 },
  };
}

const SETTLED_KEPT = 64;
const OUTSTANDING_KEPT = 256;

/** What an event did, for the caller to log. */
export type LedgerNote =
  | { kind: "accepted"; reportId: number }
  | { kind: "rejected"; reportId: number; carried?: Traffic }
  | { kind: "unconfirmed"; reportId: number; traffic?: Traffic; reason: string }
  | { kind: "presumed_lost"; reportId: number; carried?: Traffic; reason: string }
  | { kind: "double_counted"; reportId: number; traffic?: Traffic }
  | { kind: "late_rejection"; reportId: number; carried?: Traffic }
  | { kind: "duplicate_answer"; reportId: number }
  | { kind: "unknown_report"; reportId: number };

export class Ledger {
  constructor(readonly state: LedgerState = emptyLedger()) {}

  /** Traffic owed by earlier reports, to add to the next one. */
  get carry(): Traffic {
    return this.state.carry;
  }

  get outstanding(): readonly Outstanding[] {
    return this.state.outstanding;
  }

  /** A report was handed to the nucleus: its traffic is outstanding, the carry is spent. */
  sent(entry: Omit<Outstanding, "gap">): LedgerNote[] {
    this.state.carry = { ...ZERO_TRAFFIC };
    this.state.outstanding.push({ ...entry, gap: false });
    const notes: LedgerNote[] = [];
    // A bound on memory when answers never come (responses not subscribed): the oldest go unconfirmed.
    while (this.state.outstanding.length > OUTSTANDING_KEPT) {
      const old = this.state.outstanding.shift()!;
      notes.push(this.settle(old, "unconfirmed", "no answer before too many later reports"));
    }
    return notes;
  }

  /** The nucleus refused the publish (it is not in the spool): its traffic goes to the next report. */
  refused(reportId: number): void {
    const i = this.state.outstanding.findIndex((o) => o.reportId === reportId);
    if (i < 0) return;
    const [o] = this.state.outstanding.splice(i, 1);
    this.state.carry = addTraffic(this.state.carry, o!.traffic);
    this.state.totals.refused++;
  }

  /** An answer of the service on /accepted or /rejected. */
  answer(reportId: number, accepted: boolean): LedgerNote[] {
    const notes: LedgerNote[] = [];
    const i = this.state.outstanding.findIndex((o) => o.reportId === reportId);
    if (i >= 0) {
      const [o] = this.state.outstanding.splice(i, 1);
      // Reports sent before this one whose answers never came: the spool and the service keep
      // the order, so those answers arrived while nobody listened.
      const earlier = this.state.outstanding.filter((x) => x.reportId < reportId && x.gap);
      for (const e of earlier) {
        this.state.outstanding.splice(this.state.outstanding.indexOf(e), 1);
        notes.push(this.settle(e, "unconfirmed", "its answer came while the component was not listening"));
      }
      if (accepted) {
        this.state.totals.accepted++;
        this.remember({ reportId, traffic: o!.traffic, outcome: "accepted" });
        notes.push({ kind: "accepted", reportId });
      } else {
        this.state.totals.rejected++;
        this.state.carry = addTraffic(this.state.carry, o!.traffic);
        this.remember({ reportId, traffic: o!.traffic, outcome: "carried" });
        notes.push({ kind: "rejected", reportId, carried: nonZero(o!.traffic) });
      }
      return notes;
    }
    const s = this.state.settled.find((x) => x.reportId === reportId);
    if (s === undefined) return [{ kind: "unknown_report", reportId }];
    if (s.outcome === "unconfirmed") {
      if (accepted) {
        s.outcome = "accepted";
        this.state.totals.unconfirmed = Math.max(0, this.state.totals.unconfirmed - 1);
        this.state.totals.accepted++;
        return [{ kind: "accepted", reportId }];
      }
      s.outcome = "carried";
      this.state.totals.unconfirmed = Math.max(0, this.state.totals.unconfirmed - 1);
      this.state.totals.rejected++;
      this.state.carry = addTraffic(this.state.carry, s.traffic);
      return [{ kind: "late_rejection", reportId, carried: nonZero(s.traffic) }];
    }
    if (s.outcome === "carried" && accepted) {
      s.outcome = "accepted";
      this.state.totals.doubleCounted++;
      return [{ kind: "double_counted", reportId, traffic: s.traffic }];
    }
    return [{ kind: "duplicate_answer", reportId }];
  }

  /**
   * The nucleus now answering is another instance (it restarted): the reports the old one held
   * and never answered were in its in-memory spool and are gone.
   */
  nucleusIs(identity: string): LedgerNote[] {
    const notes: LedgerNote[] = [];
    for (const o of [...this.state.outstanding]) {
      if (o.nucleus === identity) continue;
      this.state.outstanding.splice(this.state.outstanding.indexOf(o), 1);
      this.state.carry = addTraffic(this.state.carry, o.traffic);
      this.state.totals.presumedLost++;
      this.remember({ reportId: o.reportId, traffic: o.traffic, outcome: "carried" });
      notes.push({
        kind: "presumed_lost",
        reportId: o.reportId,
        carried: nonZero(o.traffic),
        reason: "the nucleus restarted before answering; its spool is lost",
      });
    }
    return notes;
  }

  /** Answers to what is outstanding may have been missed from here on (restart, reconnection). */
  markGaps(): void {
    for (const o of this.state.outstanding) o.gap = true;
  }

  /** A report is out and its answer is awaited (not one whose answer may have been missed). */
  awaiting(now: number, maxWaitMs: number): Outstanding | undefined {
    return this.state.outstanding.find((o) => !o.gap && now - o.sentAt < maxWaitMs && now >= o.sentAt);
  }

  private settle(o: Outstanding, outcome: "unconfirmed", reason: string): LedgerNote {
    this.state.totals.unconfirmed++;
    this.remember({ reportId: o.reportId, traffic: o.traffic, outcome });
    return { kind: "unconfirmed", reportId: o.reportId, traffic: o.traffic, reason };
  }

  private remember(s: LedgerState["settled"][number]): void {
    this.state.settled.push(s);
    if (this.state.settled.length > SETTLED_KEPT) this.state.settled.splice(0, this.state.settled.length - SETTLED_KEPT);
  }
}

function nonZero(t: Traffic | undefined): Traffic | undefined {
  return t === undefined || isZero(t) ? undefined : t;
}
