import { readFileSync } from "node:fs";
import { join } from "node:path";
import { COMPONENT_NAME } from "../scripts/recipe.js";
import { ROOT } from "./helpers.js";

export const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
export const ARTIFACT_DIR = join(ROOT, "artifacts", COMPONENT_NAME, VERSION);
export const BUNDLE = join(ARTIFACT_DIR, "defender.js");
