// Labelled traces for ML behaviors, seeded and generated (nothing recorded): what a device's
// metrics do at one datapoint every 300 s, and the anomalies a model must catch. Used by the ML
// tests and the detection-quality part of the bench.
//
// - traffic: a working-hours rhythm, fewer bytes on weekends, a nightly backup burst, lognormal noise;
// - connections: a count with a daily rhythm and Poisson noise;
// - ports: a flat count that steps by one now and then (a service added or removed), and stays.
// Anomalies: an exfiltration burst, a slow exfiltration ramp over days, a port opened for hours, a
// connection surge (a DDoS participant), and a level shift that must become the new normal.

export const STEP_MS = 300_000;
/** A Monday, 00:00 UTC. */
export const START_MS = Date.UTC(2026, 0, 5);
export const PER_DAY = 288;

export interface Trace {
  name: string;
  t: number[];
  x: number[];
  /** Anomalous stretches [from, to) in indices; empty for a clean trace. */
  labels: Array<[number, number]>;
  anomaly?: AnomalyKind;
}

export type AnomalyKind = "burst" | "ramp" | "port" | "surge" | "shift";

/** Mulberry32: small, seeded, good enough for traces. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(r: () => number): number {
  let u = 0;
  let v = 0;
  while (u === 0) u = r();
  while (v === 0) v = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function poisson(r: () => number, lambda: number): number {
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(r)));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= r();
  } while (p > l);
  return k - 1;
}

function clock(i: number): { time: number; hour: number; weekday: boolean } {
  const time = START_MS + i * STEP_MS;
  const d = new Date(time);
  const dow = (d.getUTCDay() + 6) % 7;
  return { time, hour: d.getUTCHours() + d.getUTCMinutes() / 60, weekday: dow < 5 };
}

/** Bytes out per 300 s. */
export function traffic(seed: number, days: number, base = 2e5): Trace {
  const r = rng(seed);
  const noise = 0.25 + 0.2 * r();
  const backupHour = 1 + Math.floor(r() * 3);
  const weekendFactor = 0.3 + 0.4 * r();
  const t: number[] = [];
  const x: number[] = [];
  for (let i = 0; i < days * PER_DAY; i++) {
    const c = clock(i);
    const work = Math.exp(-((c.hour - 13) ** 2) / 18);
    let mean = base * (0.3 + 2.5 * work * (c.weekday ? 1 : weekendFactor));
    if (c.hour >= backupHour && c.hour < backupHour + 0.5) mean += base * 8;
    t.push(c.time);
    x.push(Math.max(0, Math.round(mean * Math.exp(noise * normal(r)))));
  }
  return { name: "traffic", t, x, labels: [] };
}

/** Established connections. */
export function connections(seed: number, days: number): Trace {
  const r = rng(seed);
  const t: number[] = [];
  const x: number[] = [];
  for (let i = 0; i < days * PER_DAY; i++) {
    const c = clock(i);
    t.push(c.time);
    x.push(poisson(r, 8 + (c.weekday ? 20 : 6) * Math.exp(-((c.hour - 12) ** 2) / 20)));
  }
  return { name: "connections", t, x, labels: [] };
}

/** Listening ports: flat, a step of one about every 20 days. */
export function ports(seed: number, days: number): Trace {
  const r = rng(seed);
  let level = 4 + Math.floor(r() * 6);
  const t: number[] = [];
  const x: number[] = [];
  for (let i = 0; i < days * PER_DAY; i++) {
    if (r() < 1 / (PER_DAY * 20)) level += r() < 0.6 ? 1 : -1;
    t.push(clock(i).time);
    x.push(level);
  }
  return { name: "ports", t, x, labels: [] };
}

/** The trace with one anomaly of `kind` from index `at`. */
export function inject(trace: Trace, kind: AnomalyKind, seed: number, at: number): Trace {
  const r = rng(seed);
  const x = trace.x.slice();
  const labels: Array<[number, number]> = [];
  const span = (len: number) => [at, Math.min(x.length, at + len)] as [number, number];
  if (kind === "burst") {
    // Exfiltration: tens of times the usual bytes for 10 to 25 minutes.
    const [a, b] = span(2 + Math.floor(r() * 4));
    const f = 8 + r() * 20;
    for (let i = a; i < b; i++) x[i] = Math.round(x[i]! * f + 2e6);
    labels.push([a, b]);
  } else if (kind === "ramp") {
    // Slow exfiltration: growing to 2-5 times the usual bytes over 2 to 4 days.
    const [a, b] = span(PER_DAY * (2 + Math.floor(r() * 3)));
    const top = 2 + r() * 3;
    for (let i = a; i < b; i++) x[i] = Math.round(x[i]! * (1 + ((top - 1) * (i - a)) / (b - a)));
    labels.push([a, b]);
  } else if (kind === "port") {
    // A backdoor listening for 2 to 7 hours.
    const [a, b] = span(12 * (2 + Math.floor(r() * 6)));
    for (let i = a; i < b; i++) x[i] = x[i]! + 1;
    labels.push([a, b]);
  } else if (kind === "surge") {
    // A DDoS participant: 40 times the connections for 30 to 90 minutes.
    const [a, b] = span(6 + Math.floor(r() * 12));
    for (let i = a; i < b; i++) x[i] = x[i]! * 40 + 500;
    labels.push([a, b]);
  } else {
    // A firmware update: 3 to 6 times (or a fifth of) the traffic from now on. Anomalous at first,
    // then normal: labelled for its first day.
    const f = r() < 0.5 ? 3 + r() * 3 : 0.2;
    for (let i = at; i < x.length; i++) x[i] = Math.round(x[i]! * f);
    labels.push(span(PER_DAY));
  }
  return { ...trace, name: `${trace.name}+${kind}`, x, labels, anomaly: kind };
}
