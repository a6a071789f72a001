// Long ↔ short key names (the spec's short-name table, derived from the metric catalogue; the
// embedded SDK's DEFENDER_REPORT_*_KEY agree). Custom metric names and their value keys
// (number, number_list, ...) are never shortened.

import { SHORT_NAMES } from "../metrics/catalogue.js";

export { SHORT_NAMES };

export const LONG_NAMES: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(SHORT_NAMES).map(([long, short]) => [short, long]));

const CUSTOM_KEYS = new Set(["custom_metrics", "cmet"]);

function rename(value: unknown, names: Readonly<Record<string, string>>): unknown {
  if (Array.isArray(value)) return value.map((v) => rename(v, names));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // Custom metrics pass through untouched: a metric may well be called "t" or "total".
    out[names[k] ?? k] = CUSTOM_KEYS.has(k) ? v : rename(v, names);
  }
  return out;
}

/** Long-name document → short-name document. */
export function toShortNames(doc: unknown): unknown {
  return rename(doc, SHORT_NAMES);
}

/** Short-name (or already long-name) document → long-name document. */
export function toLongNames(doc: unknown): unknown {
  return rename(doc, LONG_NAMES);
}
