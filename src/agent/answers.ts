// The service's answers to this thing's reports, however they arrive (an IPC stream, an MQTT
// subscription): decoded in the report's format, said once each (a QoS 1 redelivery is the same
// answer), counted, and handed to the ledger by report id. The answer documents are the
// service's (developer guide, "Device Defender detect: device-side metrics", the accepted and
// rejected responses: reportId, status, statusDetails.ErrorCode / ErrorMessage).

import { cbor } from "../report/encode.js";
import { type Logger, textOf } from "../util/log.js";

export interface Answer {
  reportId: number;
  accepted: boolean;
  code?: string;
  message?: string;
}

const SEEN_KEPT = 512;

export class AnswerBook {
  private readonly seen = new Set<string>();
  readonly counts = { accepted: 0, rejected: 0 };

  constructor(
    private readonly log: Logger,
    private readonly onAnswer: (a: Answer) => void,
  ) {}

  /** One answer as received on <report topic>/accepted (accepted) or /rejected. */
  received(format: string, accepted: boolean, payload: Uint8Array | undefined): void {
    let decoded: unknown;
    try {
      if (payload) decoded = format === "cbor" ? cbor().decodeFirstSync(payload) : JSON.parse(Buffer.from(payload).toString("utf8"));
    } catch {
      this.log.warn("report.response_unreadable", { outcome: accepted ? "accepted" : "rejected", bytes: payload?.length ?? 0 });
      return;
    }
    // The document is the service's (or whatever else was published on the topic): nothing in it is taken on trust.
    const doc = record(decoded);
    const reportId = Number(doc.reportId);
    const details = record(doc.statusDetails);
    const code = accepted ? undefined : textOf(details.ErrorCode, "unknown");
    const message = accepted ? undefined : textOf(details.ErrorMessage, "");
    const key = `${reportId}|${accepted}|${code ?? ""}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.seen.size > SEEN_KEPT) this.seen.delete(this.seen.values().next().value!);
    if (accepted) {
      this.counts.accepted++;
      this.log.info("report.accepted", { report_id: textOf(doc.reportId, ""), accepted_total: this.counts.accepted });
    } else {
      this.counts.rejected++;
      this.log.warn("report.rejected", { report_id: textOf(doc.reportId, ""), code, message, rejected_total: this.counts.rejected });
    }
    if (Number.isSafeInteger(reportId) && reportId > 0) this.onAnswer({ reportId, accepted, code, message });
  }
}

/** A decoded value's fields: none when it is not an object (a payload of `null`, a number, a string). */
function record(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
}
