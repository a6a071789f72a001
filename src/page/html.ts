// One self-contained HTML page: charts (uPlot, inlined), tables and links, nothing fetched. Its
// Content-Security-Policy forbids every request, so a page opened from a device cannot call out.
// Pure: sections in, text out (the figures come from ../detect/chart.ts, as the SVG's do).

import type { ChartData } from "../detect/chart.js";
import { uplotScript, uplotStyles } from "./assets.js";
import { PAGE_SCRIPT } from "./script.js";

export interface Table {
  caption: string;
  head: string[];
  /** Cells as text; a cell given as {text, href} is a link within the page. */
  rows: Array<Array<string | { text: string; href: string }>>;
  /** What an empty table says. */
  empty: string;
}

export interface Section {
  id: string;
  heading: string;
  notes?: string[];
  chart?: ChartData;
  tables?: Table[];
}

export interface Page {
  title: string;
  subtitle: string;
  sections: Section[];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** JSON inside a script element: "<" escaped so no "</script>" or "<!--" can end it early. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");

function tableHtml(t: Table): string {
  const cell = (c: string | { text: string; href: string }) => (typeof c === "string" ? esc(c) : `<a href="${esc(c.href)}">${esc(c.text)}</a>`);
  const body =
    t.rows.length === 0
      ? `<tr><td colspan="${t.head.length}" class="empty">${esc(t.empty)}</td></tr>`
      : t.rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><caption>${esc(t.caption)}</caption><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLES = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #202124; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 32px 0 8px; }
.subtitle, .note { color: #5f6368; } .note { margin: 4px 0; }
table { border-collapse: collapse; margin: 12px 0; min-width: 600px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid #dadce0; padding: 4px 10px; text-align: left; white-space: nowrap; }
td.empty { color: #5f6368; font-style: italic; }
.chart { margin: 8px 0; }
`;

export function renderPage(page: Page): string {
  const charts: Array<{ id: string; chart: ChartData }> = [];
  const sections = page.sections.map((s) => {
    const parts = [`<section id="${esc(s.id)}"><h2>${esc(s.heading)}</h2>`];
    for (const n of s.notes ?? []) parts.push(`<p class="note">${esc(n)}</p>`);
    if (s.chart) {
      const id = `chart-${charts.length}`;
      charts.push({ id, chart: s.chart });
      parts.push(`<div class="chart" id="${id}"></div>`);
      if (s.chart.times.length === 0) parts.push(`<p class="note">no datapoints in this window</p>`);
    }
    for (const t of s.tables ?? []) parts.push(tableHtml(t));
    parts.push("</section>");
    return parts.join("\n");
  });
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    // Nothing may be fetched: the page is whole as written.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${esc(page.title)}</title>`,
    `<style>${uplotStyles()}${STYLES}</style>`,
    "</head><body>",
    `<h1>${esc(page.title)}</h1><p class="subtitle">${esc(page.subtitle)}</p>`,
    ...sections,
    `<script>${uplotScript()}</script>`,
    `<script type="application/json" id="charts">${scriptJson(charts)}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    "</body></html>",
    "",
  ].join("\n");
}
