// Report → bytes, in the format and key style the device publishes.

import { toShortNames } from "./names.js";
import type { Report } from "./schema.js";

export type ReportFormat = "json" | "cbor";

/** AWS IoT Core rejects publishes larger than 128 KB (developer guide, device-advisor-tests-mqtt). */
export const MAX_REPORT_BYTES = 128 * 1024;

/** The cbor library, loaded on first use: a JSON-only device never pays for it. */
export function cbor(): typeof import("cbor") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when used: the component's memory counts
  return require("cbor") as typeof import("cbor");
}

export function encodeReport(report: Report, format: ReportFormat, shortNames: boolean): Buffer {
  const doc = shortNames ? toShortNames(report) : report;
  return format === "json" ? Buffer.from(JSON.stringify(doc), "utf8") : cbor().encode(doc);
}
