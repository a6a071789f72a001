// uPlot's script and styles, inlined in every page so it opens offline. The bundle carries them as
// strings (scripts/build.ts defines the two constants); run from the sources (tests, tsx) they are
// read from node_modules.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

declare const __UPLOT_JS__: string | undefined;
declare const __UPLOT_CSS__: string | undefined;

const fromPackage = (file: string) => readFileSync(createRequire(__filename).resolve(`uplot/dist/${file}`), "utf8");

export function uplotScript(): string {
  return typeof __UPLOT_JS__ === "string" ? __UPLOT_JS__ : fromPackage("uPlot.iife.min.js");
}

export function uplotStyles(): string {
  return typeof __UPLOT_CSS__ === "string" ? __UPLOT_CSS__ : fromPackage("uPlot.min.css");
}
