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

/** The most elements a violation event carries of a list (the service's events carry the violating ones). */
export const EVENT_LIST_MAX = 100;

/** A list measurement cut short, and how many elements it had. */
export interface EventValue {
  value: MetricValue;
  cut?: { kept: number; total: number };
}

/**
 * What a violation event says of a list: when it breaks the behavior, the elements that break it
 * (those are what the service's event shows); when it complies, the list. Either way at most
 * EVENT_LIST_MAX elements, with the count when there were more.
 */
export function eventValue(op: string, measured: MetricValue, value: MetricValue, violates: boolean): EventValue {
  const [key, list] = (Object.entries(measured).find(([, v]) => Array.isArray(v)) ?? []) as [keyof MetricValue | undefined, Array<string | number> | undefined];
  if (key === undefined || list === undefined) return { value: measured };
  const shown = violates ? list.filter((x) => elementBreaks(op, value, x)) : list;
  if (shown.length <= EVENT_LIST_MAX) return { value: { [key]: shown } };
  return { value: { [key]: shown.slice(0, EVENT_LIST_MAX) }, cut: { kept: EVENT_LIST_MAX, total: shown.length } };
}
