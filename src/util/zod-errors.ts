// zod issues → one line a person can act on: which key, what value, which rule.

import type { z } from "zod";

export function describeZodError(error: z.ZodError, root?: unknown): string {
  return error.issues.map((i) => describeIssue(i, root)).join("; ");
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
  const path = issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".");
  const value = root === undefined ? undefined : valueAt(root, issue.path);
  // JSON.stringify returns undefined for a function or a symbol, whatever its declared type says.
  const shown = value === undefined ? "" : ` (got ${(JSON.stringify(value) as string | undefined)?.slice(0, 120)})`;
  return `${path}: ${issue.message}${shown}`;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}
