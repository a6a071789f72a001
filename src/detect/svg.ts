// A small self-contained SVG line chart of one metric, with alarm intervals shaded and the
// behaviors' thresholds drawn: the device-side answer to the console's violation view.

export interface ChartInput {
  title: string;
  points: Array<{ time: number; value: number }>;
  alarms: Array<{ from: number; to: number }>;
  /** Horizontal lines: thresholds or baselines. */
  lines?: Array<{ value: number; label: string }>;
  from: number;
  to: number;
}

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

export function renderChart(c: ChartInput): string {
  const W = 800,
    H = 320,
    L = 70,
    R = 20,
    T = 30,
    B = 50;
  const lines = c.lines ?? [];
  const max = Math.max(1, ...c.points.map((p) => p.value), ...lines.map((l) => l.value));
  const span = Math.max(1, c.to - c.from);
  const x = (t: number) => L + ((t - c.from) / span) * (W - L - R);
  const y = (v: number) => H - B - (v / max) * (H - T - B);
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
  const thresholds = lines
    .map(
      (l) =>
        `<line x1="${L}" y1="${y(l.value).toFixed(1)}" x2="${W - R}" y2="${y(l.value).toFixed(1)}" stroke="#d93025" stroke-dasharray="6 4" /><text x="${W - R}" y="${(y(l.value) - 4).toFixed(1)}" text-anchor="end" fill="#d93025">${esc(l.label)}</text>`,
    )
    .join("");
  const path = c.points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.time).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  const dots = c.points
    .map(
      (p) =>
        `<circle cx="${x(p.time).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="2.5" fill="#1a73e8"><title>${new Date(p.time).toISOString()} ${p.value}</title></circle>`,
    )
    .join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white" />`,
    `<text x="${L}" y="18" font-size="14">${esc(c.title)}</text>`,
    yTicks,
    shaded,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#555" /><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#555" />`,
    xTicks,
    `<text x="${W - R}" y="${H - 8}" text-anchor="end">UTC</text>`,
    thresholds,
    c.points.length > 0
      ? `<path d="${path}" fill="none" stroke="#1a73e8" stroke-width="1.5" />${dots}`
      : `<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no datapoints in this window</text>`,
    `</svg>`,
  ].join("\n");
}
