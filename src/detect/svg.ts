// A small self-contained SVG line chart of one metric, with alarm intervals shaded: the
// device-side answer to the console's violation view.

export interface ChartInput {
  title: string;
  points: Array<{ time: number; value: number }>;
  alarms: Array<{ from: number; to: number }>;
  from: number;
  to: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function renderChart(c: ChartInput): string {
  const W = 800, H = 300, L = 70, R = 20, T = 30, B = 40;
  const max = Math.max(1, ...c.points.map((p) => p.value));
  const span = Math.max(1, c.to - c.from);
  const x = (t: number) => L + ((t - c.from) / span) * (W - L - R);
  const y = (v: number) => H - B - (v / max) * (H - T - B);
  const shaded = c.alarms
    .map((a) => ({ from: Math.max(a.from, c.from), to: Math.min(a.to, c.to) }))
    .filter((a) => a.to >= a.from)
    .map((a) => `<rect x="${x(a.from).toFixed(1)}" y="${T}" width="${Math.max(2, x(a.to) - x(a.from)).toFixed(1)}" height="${H - T - B}" fill="#f4c7c3" />`)
    .join("");
  const line = c.points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.time).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  const dots = c.points.map((p) => `<circle cx="${x(p.time).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="2.5" fill="#1a73e8"><title>${new Date(p.time).toISOString()} ${p.value}</title></circle>`).join("");
  const label = (t: number) => new Date(t).toISOString().slice(0, 16).replace("T", " ");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white" />`,
    `<text x="${L}" y="18" font-size="14">${esc(c.title)}</text>`,
    shaded,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#555" /><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#555" />`,
    `<text x="${L - 6}" y="${T + 4}" text-anchor="end">${max}</text><text x="${L - 6}" y="${H - B}" text-anchor="end">0</text>`,
    `<text x="${L}" y="${H - 12}">${label(c.from)}</text><text x="${W - R}" y="${H - 12}" text-anchor="end">${label(c.to)} UTC</text>`,
    c.points.length > 0 ? `<path d="${line}" fill="none" stroke="#1a73e8" stroke-width="1.5" />${dots}` : `<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no datapoints in this window</text>`,
    `</svg>`,
  ].join("\n");
}
