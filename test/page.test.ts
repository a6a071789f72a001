// The HTML pages of `explore --html` and `violations --html`, rendered in a real browser (Debian's
// chromium, headless, driven by playwright-core) with every request refused: what a person sees
// is asserted on the page itself (points drawn, the baseline's height in pixels, the shaded
// alarm, the tables, the links) with no console error and no request leaving the page.
// The fixture is a real Detect run: a day of ordinary bytes out, then an exfiltration burst.
// Screenshots go to test/output/ for a reviewer to look at.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { DEFAULT_CONFIG } from "../src/config/schema.js";
import type { Datapoint } from "../src/detect/datapoint.js";
import { Detector } from "../src/detect/detector.js";
import { percentile } from "../src/detect/measure.js";
import { WorkDir } from "../src/store/files.js";
import { BUNDLE } from "./bundle.js";
import { recordingLogger, tempDir } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUTPUT = join(__dirname, "output");
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const STEP = 300_000;
const N = 288;
const BURST = [250, 251, 252, 253];
const bytesOut = (i: number) => (BURST.includes(i) ? 600_000 : 30_000 + ((i * 37) % 11) * 1000);
const peers = (i: number) => (BURST.includes(i) ? ["10.0.0.5", "203.0.113.66"] : ["10.0.0.5", i % 2 === 0 ? "198.51.100.7" : "10.0.0.9"]);

const profile = {
  securityProfileName: "Edge",
  behaviors: [
    {
      name: "BytesOutBaseline",
      metric: "aws:all-bytes-out",
      criteria: {
        comparisonOperator: "less-than-equals",
        statisticalThreshold: { statistic: "p99" },
        consecutiveDatapointsToAlarm: 2,
        consecutiveDatapointsToClear: 2,
      },
    },
  ],
  additionalMetricsToRetainV2: [{ metric: "aws:destination-ip-addresses" }],
};

/** A work folder as the component leaves it after the day: history, alarm state, events. */
function fixture(): string {
  const dir = tempDir("defender-page-");
  const config = { ...DEFAULT_CONFIG, DefaultProfile: false, SecurityProfiles: [profile], StatisticalMinDatapoints: 30 };
  const d = new Detector({ work: new WorkDir(dir, recordingLogger()), thingName: "gw-1", log: recordingLogger(), config: () => config });
  d.configure(config);
  for (let i = 0; i < N; i++) {
    const dp: Datapoint = {
      time: T0 + i * STEP,
      interval: STEP / 1000,
      values: { "aws:all-bytes-out": { count: bytesOut(i) }, "aws:destination-ip-addresses": { cidrs: peers(i) } },
    };
    d.observe(dp);
  }
  return dir;
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (Debian package chromium; .ci/run installs it)`;

describe("the HTML page, in headless Chromium", { skip }, () => {
  let browser: Browser | undefined;
  let work: string;
  before(async () => {
    work = fixture();
    mkdirSync(OUTPUT, { recursive: true });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });
  after(async () => {
    await browser?.close();
  });

  /** Opens a page file with the network refused; the requests it tried and its console errors. */
  async function open(file: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
    const context = await browser!.newContext({ offline: true, viewport: { width: 1100, height: 900 } });
    // tsx names the functions these tests hand to the page with a helper the page lacks.
    await context.addInitScript("globalThis.__name = (f) => f;");
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    const self = pathToFileURL(file).href;
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url === self) return route.continue();
      requests.push(url);
      return route.abort();
    });
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(self);
    await page.waitForFunction(() => (window as unknown as { defenderCharts?: unknown[] }).defenderCharts !== undefined);
    return { page, requests, errors };
  }

  it("explore --html: the series, the device baseline at its height, the shaded alarm, the events", async () => {
    const file = join(tempDir(), "bytes-out.html");
    cli([
      "explore",
      "--metric",
      "aws:all-bytes-out",
      "--window",
      "1d",
      "--around",
      new Date(T0 + (N / 2) * STEP).toISOString(),
      "--work-dir",
      work,
      "--html",
      file,
    ]);
    const size = statSync(file).size;
    assert.ok(size < 100 * 1024, `${size} bytes: a day at 300 s stays under 100 KB (and far under the 300 KB bound)`);
    const { page, requests, errors } = await open(file);
    const seen = await page.evaluate(() => {
      const u = (window as unknown as { defenderCharts: Array<{ data: Array<Array<number | null>>; series: Array<{ label: string }> }> }).defenderCharts[0]!;
      return { points: u.data[1]!.filter((v) => v !== null).length, labels: u.series.map((s) => s.label), baseline: u.data[2]! };
    });
    // A day's window centred on its middle: from the first datapoint to the last (the window's end bound is inclusive).
    assert.equal(seen.points, N);
    assert.match(seen.labels[1]!, /aws:all-bytes-out per second/);
    assert.match(seen.labels[2]!, /BytesOutBaseline: p99/);

    // The baseline just before the burst, computed here from the rates the device judged.
    const rates = Array.from({ length: BURST[0]! }, (_, i) => bytesOut(i) / 300).sort((a, b) => a - b);
    const expected = percentile(rates, "p99");
    assert.ok(Math.abs(seen.baseline[BURST[0]!]! - expected) < 1e-9, `${seen.baseline[BURST[0]!]} against ${expected}`);
    // Drawn at that height: red pixels on the row valToPos gives, between two datapoints.
    const red = await page.evaluate(
      ([v, t]) => {
        const u = (
          window as unknown as {
            defenderCharts: Array<{ ctx: CanvasRenderingContext2D; valToPos: (v: number, s: string, c: boolean) => number }>;
          }
        ).defenderCharts[0]!;
        const y = Math.round(u.valToPos(v, "y", true));
        const x0 = Math.round(u.valToPos(t, "x", true));
        let hits = 0;
        for (let dx = 0; dx < 40; dx++) {
          for (const dy of [-1, 0, 1]) {
            const [r, g, b] = u.ctx.getImageData(x0 + dx, y + dy, 1, 1).data;
            if (r! > 180 && g! < 120 && b! < 120) hits++;
          }
        }
        return hits;
      },
      [expected, (T0 + 200 * STEP) / 1000] as const,
    );
    assert.ok(red > 5, `the baseline is drawn at ${expected} per second (${red} red pixels there)`);

    // The alarm shaded from in-alarm (the burst's second datapoint) to alarm-cleared.
    const shade = await page.evaluate(
      ([a, b, c]) => {
        const u = (
          window as unknown as {
            defenderCharts: Array<{ ctx: CanvasRenderingContext2D; bbox: { top: number }; valToPos: (v: number, s: string, c: boolean) => number }>;
          }
        ).defenderCharts[0]!;
        const at = (t: number) => [...u.ctx.getImageData(Math.round(u.valToPos(t, "x", true)), u.bbox.top + 4, 1, 1).data];
        return { inside: at(a), before: at(b), after: at(c) };
      },
      [(T0 + 252.5 * STEP) / 1000, (T0 + 100 * STEP) / 1000, (T0 + 270 * STEP) / 1000] as const,
    );
    assert.deepEqual(shade.inside.slice(0, 3), [0xf4, 0xc7, 0xc3], "shaded during the alarm");
    assert.notDeepEqual(shade.before.slice(0, 3), [0xf4, 0xc7, 0xc3], "not before it");
    assert.notDeepEqual(shade.after.slice(0, 3), [0xf4, 0xc7, 0xc3], "not after it was cleared");

    const rows = await page.$$eval("table:not(.u-legend) tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    assert.deepEqual(
      rows.map((r) => [r[0], r[2], r[3]]),
      [
        [new Date(T0 + 251 * STEP).toISOString(), "BytesOutBaseline", "in-alarm"],
        [new Date(T0 + 255 * STEP).toISOString(), "BytesOutBaseline", "alarm-cleared"],
      ],
    );
    // Hover: the legend gives the datapoint's time and value.
    const box = (await page.locator("#chart-0 .u-over").boundingBox())!;
    await page.mouse.move(box.x + box.width * ((251 * STEP) / (N * STEP)), box.y + box.height / 2);
    const legend = await page.locator("#chart-0 .u-legend").innerText();
    assert.match(legend, /2,000/, `the burst's rate in the legend: ${legend}`);
    await page.screenshot({ path: join(OUTPUT, "explore-bytes-out.png"), fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, []);
  });

  it("explore --html on destination IPs: each address with first and last seen over the whole history", async () => {
    const file = join(tempDir(), "ips.html");
    cli(["explore", "--metric", "aws:destination-ip-addresses", "--window", "2h", "--work-dir", work, "--html", file]);
    const { page, requests, errors } = await open(file);
    const rows = await page.$$eval("table:not(.u-legend) tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    // The last two hours hold 24 datapoints; 10.0.0.5 was there from the first.
    assert.deepEqual(
      rows.find((r) => r[0] === "10.0.0.5"),
      ["10.0.0.5", new Date(T0).toISOString(), new Date(T0 + (N - 1) * STEP).toISOString(), "25"],
    );
    assert.deepEqual(rows.find((r) => r[0] === "198.51.100.7")?.slice(1, 3), [new Date(T0).toISOString(), new Date(T0 + (N - 2) * STEP).toISOString()]);
    assert.equal(rows.length, 3, "203.0.113.66 was seen only in the burst, outside this window");
    await page.screenshot({ path: join(OUTPUT, "explore-destinations.png"), fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, []);
  });

  it("violations --html: the recent events, each linking to its chart in the same file", async () => {
    const file = join(tempDir(), "violations.html");
    const r = cli(["violations", "--work-dir", work, "--html", file]);
    assert.match(r.stdout, /^page written to /m);
    const { page, requests, errors } = await open(file);
    const links = await page.$$eval("section#summary a", (as) => as.map((a) => a.getAttribute("href")));
    assert.deepEqual(links, ["#metric-0", "#metric-0"]);
    await page.click("section#summary a >> nth=0");
    assert.equal(await page.evaluate(() => location.hash), "#metric-0");
    assert.match(await page.locator("section#metric-0 h2").innerText(), /aws:all-bytes-out per second/);
    const points = await page.evaluate(
      () => (window as unknown as { defenderCharts: Array<{ data: Array<Array<number | null>> }> }).defenderCharts[0]!.data[1]!.length,
    );
    assert.ok(points > 0);
    await page.screenshot({ path: join(OUTPUT, "violations.png"), fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, []);
  });

  it("the page is whole: the chart library inlined, nothing to fetch, a policy that forbids it", () => {
    const file = join(tempDir(), "p.html");
    cli(["explore", "--metric", "aws:all-bytes-out", "--window", "1d", "--work-dir", work, "--html", file]);
    const html = readFileSync(file, "utf8");
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i);
  });
});
