// Whether a measurement complies with a behavior. A behavior describes normal behaviour
// (developer guide detect-behaviors, device-defender-troubleshoot; API BehaviorCriteria): a value
// complies when `measured OPERATOR value` holds. in-* sets are allow lists (every element must be
// in the set; for CIDRs, inside one of them), not-in-* deny lists (none may be), and an empty list
// complies.

import type { MetricValue } from "../metrics/catalogue.js";
import { type Cidr, cidrContains, parseCidr } from "./cidr.js";

export function numberComplies(op: string, measured: number, threshold: number): boolean {
  switch (op) {
    case "less-than":
      return measured < threshold;
    case "less-than-equals":
      return measured <= threshold;
    case "greater-than":
      return measured > threshold;
    default:
      return measured >= threshold;
  }
}

// Behaviors are validated before they run, so every CIDR parses; each list is parsed once.
const parsedCidrs = new WeakMap<readonly string[], Cidr[]>();
function cidrsOf(list: readonly string[]): Cidr[] {
  let c = parsedCidrs.get(list);
  if (c === undefined) {
    c = list.map((text) => parseCidr(text)!);
    parsedCidrs.set(list, c);
  }
  return c;
}

/** Whether one element of a list breaks the behavior (is outside an allow list, inside a deny list). */
export function elementBreaks(op: string, value: MetricValue, element: string | number): boolean {
  const allow = op.startsWith("in-");
  let inSet: boolean;
  if (op.endsWith("cidr-set")) inSet = cidrsOf(value.cidrs ?? []).some((cidr) => cidrContains(cidr, String(element)));
  else if (op.endsWith("port-set")) inSet = (value.ports ?? []).includes(element as number);
  else inSet = (value.strings ?? []).includes(element as string) || (value.numbers ?? []).includes(element as number);
  return allow ? !inSet : inSet;
}

export function listComplies(op: string, measured: MetricValue, value: MetricValue): boolean {
  const items: Array<string | number> = [...(measured.cidrs ?? []), ...(measured.ports ?? []), ...(measured.strings ?? []), ...(measured.numbers ?? [])];
  return !items.some((x) => elementBreaks(op, value, x));
}
