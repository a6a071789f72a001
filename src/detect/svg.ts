// A small self-contained SVG line chart of one metric, with alarm intervals shaded and the
// behaviors' thresholds and model bands drawn: the device-side answer to the console's violation
// view. The figures are ./chart.ts's, the same as the HTML page's.

import type { ChartData } from "./chart.js";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const TICKS = 5;

/** A round number for axis labels: 1234567 → "1.23M". */
function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(2)}k`;
  return `${+v.toFixed(2)}`;
}

export function renderChart(c: ChartData): string {
  const W = 800,
    H = 320,
    L = 70,
    R = 20,
    T = 30,
    B = 50;
  const finite = (xs: ReadonlyArray<number | null>) => xs.filter((v): v is number => v !== null && Number.isFinite(v));
  const max = [c.values, ...c.lines.map((l) => finite(l.values)), ...c.bands.map((b) => finite(b.high))].reduce(
    (m, xs) => xs.reduce((a, v) => Math.max(a, v), m),
    1,
  );
  const span = Math.max(1, c.to - c.from);
  const x = (t: number) => L + ((t - c.from) / span) * (W - L - R);
  const y = (v: number) => H - B - (Math.max(0, v) / max) * (H - T - B);
  const shaded = c.alarms
    .map((a) => ({ from: Math.max(a.from, c.from), to: Math.min(a.to, c.to) }))
    .filter((a) => a.to >= a.from)
    .map((a) => `<rect x="${x(a.from).toFixed(1)}" y="${T}" width="${Math.max(2, x(a.to) - x(a.from)).toFixed(1)}" height="${H - T - B}" fill="#f4c7c3" />`)
    .join("");
  const label = (t: number) => new Date(t).toISOString().slice(5, 16).replace("T", " ");
  const xTicks = Array.from({ length: TICKS + 1 }, (_, i) => c.from + (span * i) / TICKS)
    .map(
      (t) =>
        `<line x1="${x(t).toFixed(1)}" y1="${H - B}" x2="${x(t).toFixed(1)}" y2="${H - B + 4}" stroke="#555" /><text x="${x(t).toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${label(t)}</text>`,
    )
    .join("");
  const yTicks = Array.from({ length: TICKS + 1 }, (_, i) => (max * i) / TICKS)
    .map(
      (v) =>
        `<line x1="${L - 4}" y1="${y(v).toFixed(1)}" x2="${W - R}" y2="${y(v).toFixed(1)}" stroke="#eee" /><text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${short(v)}</text>`,
    )
    .join("");
  // A line or band is drawn through the points where it has a value.
  const pathOf = (vals: ReadonlyArray<number | null>) =>
    vals
      .map((v, i) => (v === null ? "" : `${i === 0 || vals[i - 1] === null ? "M" : "L"}${x(c.times[i]!).toFixed(1)},${y(v).toFixed(1)}`))
      .filter((d) => d !== "")
      .join(" ");
  const lastOf = (vals: ReadonlyArray<number | null>) => finite(vals).at(-1);
  const thresholds = c.lines
    .map((l) => {
      const end = lastOf(l.values);
      return end === undefined
        ? ""
        : `<path d="${pathOf(l.values)}" fill="none" stroke="#d93025" stroke-dasharray="6 4" /><text x="${W - R}" y="${(y(end) - 4).toFixed(1)}" text-anchor="end" fill="#d93025">${esc(`${l.label} = ${short(end)}`)}</text>`;
    })
    .join("");
  const bands = c.bands
    .map((b) => {
      const up = b.high.map((v, i) => (v === null || b.low[i] === null ? null : { t: c.times[i]!, v }));
      const pts = up.filter((p) => p !== null);
      const lows = b.low.map((v, i) => (v === null || b.high[i] === null ? null : { t: c.times[i]!, v })).filter((p) => p !== null);
      if (pts.length === 0) return "";
      const outline = [...pts, ...lows.reverse()].map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
      return `<polygon points="${outline}" fill="#34a853" fill-opacity="0.18" stroke="none"><title>${esc(b.label)}</title></polygon><path d="${pathOf(b.expected)}" fill="none" stroke="#34a853" stroke-dasharray="2 3" />`;
    })
    .join("");
  const path = pathOf(c.values);
  const dots = c.values
    .map(
      (v, i) =>
        `<circle cx="${x(c.times[i]!).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="#1a73e8"><title>${new Date(c.times[i]!).toISOString()} ${v}</title></circle>`,
    )
    .join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white" />`,
    `<text x="${L}" y="18" font-size="14">${esc(`${c.title} (alarms shaded)`)}</text>`,
    yTicks,
    shaded,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#555" /><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#555" />`,
    xTicks,
    `<text x="${W - R}" y="${H - 8}" text-anchor="end">UTC</text>`,
    bands,
    thresholds,
    c.values.length > 0
      ? `<path d="${path}" fill="none" stroke="#1a73e8" stroke-width="1.5" />${dots}`
      : `<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no datapoints in this window</text>`,
    `</svg>`,
  ].join("\n");
}
