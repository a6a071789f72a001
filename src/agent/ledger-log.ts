// What the ledger's notes (./ledger.ts) say in the log: one line for each note a person needs to
// hear about (traffic carried, a report presumed lost or unconfirmed, traffic counted twice),
// none for the ordinary outcome.

import type { Logger } from "../util/log.js";
import type { LedgerNote, LedgerState } from "./ledger.js";

export function logLedgerNotes(log: Logger, notes: readonly LedgerNote[], totals: LedgerState["totals"]): void {
  for (const n of notes) {
    const traffic = "traffic" in n && n.traffic ? JSON.stringify(n.traffic) : "carried" in n && n.carried ? JSON.stringify(n.carried) : undefined;
    switch (n.kind) {
      case "accepted":
      case "duplicate_answer":
        break;
      case "rejected":
        if (n.carried) log.info("report.traffic_carried", { report_id: n.reportId, reason: "rejected", traffic });
        break;
      case "late_rejection":
        log.warn("report.traffic_carried", { report_id: n.reportId, reason: "rejected after it was presumed accepted", traffic });
        break;
      case "presumed_lost":
        log.warn("report.presumed_lost", { report_id: n.reportId, reason: n.reason, traffic, presumed_lost_total: totals.presumedLost });
        break;
      case "unconfirmed":
        log.warn("report.unconfirmed", { report_id: n.reportId, reason: n.reason, traffic, counted_as: "accepted", unconfirmed_total: totals.unconfirmed });
        break;
      case "double_counted":
        log.error("report.double_counted", {
          report_id: n.reportId,
          reason: "accepted after its traffic was sent again",
          traffic,
          double_counted_total: totals.doubleCounted,
        });
        break;
      case "unknown_report":
        log.debug("report.answer_unknown", { report_id: n.reportId });
        break;
    }
  }
}
