// Build, validate, encode and fit under the size limit: the whole path from a snapshot to the
// exact bytes that are published (and that `collect` prints).

import type { Snapshot } from "../collect/snapshot.js";
import { type BuildOptions, type BuiltReport, buildReport } from "./build.js";
import { MAX_REPORT_BYTES, type ReportFormat, encodeReport } from "./encode.js";
import { ReportSchema } from "./schema.js";
import { describeZodError } from "../util/zod-errors.js";

export interface ProduceOptions extends BuildOptions {
  format: ReportFormat;
  shortNames: boolean;
  maxBytes?: number;
}

export interface ProducedReport extends BuiltReport {
  payload: Buffer;
}

export class InvalidReportError extends Error {}

export function produceReport(snapshot: Snapshot, opts: ProduceOptions): ProducedReport {
  const maxBytes = opts.maxBytes ?? MAX_REPORT_BYTES;
  let maxListEntries = opts.maxListEntries;
  for (;;) {
    const built = buildReport(snapshot, { ...opts, maxListEntries });
    const checked = ReportSchema.safeParse(built.report);
    if (!checked.success) throw new InvalidReportError(`report failed validation: ${describeZodError(checked.error)}`);
    const payload = encodeReport(built.report, opts.format, opts.shortNames);
    if (payload.length <= maxBytes) return { ...built, payload };
    if (maxListEntries === 0) {
      throw new InvalidReportError(`report is ${payload.length} bytes even with empty lists (limit ${maxBytes})`);
    }
    // Too big: shrink every list and try again (each pass halves the cap).
    maxListEntries = Math.floor(maxListEntries / 2);
  }
}
