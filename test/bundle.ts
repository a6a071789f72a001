import { join } from "node:path";
import { COMPONENT_NAME, packageVersion } from "../scripts/recipe.js";
import { ROOT } from "./helpers.js";

export const VERSION = packageVersion(ROOT);
export const ARTIFACT_DIR = join(ROOT, "artifacts", COMPONENT_NAME, VERSION);
/** The bundle under test; DEFENDER_BUNDLE points the suite at another build (the soak compares transports). */
export const BUNDLE = process.env.DEFENDER_BUNDLE ?? join(ARTIFACT_DIR, "defender.js");
