// How each Greengrass runtime picks a manifest and a lifecycle out of a recipe, written from their
// sources so the recipe tests can hold our recipe to both. Never kinder than the runtime: a rule
// that is not cited here is not assumed.

type Manifest = { Platform?: Record<string, string>; Lifecycle?: unknown; Selections?: string[] };
type Recipe = { Manifests: Manifest[]; Lifecycle?: Record<string, unknown> };

/**
 * The Java nucleus: the first manifest whose every Platform key the device satisfies
 * (component-common PlatformHelper.findBestMatch / isRequirementSatisfied). The device knows only
 * `os`, `architecture` and `architecture.detail` (nucleus config/PlatformResolver
 * initializePlatformInfo; platformOverride aside); a key it lacks never matches, not even "*"
 * (PlatformHelper.testField: a null label fails unless the template is null too).
 */
export function javaNucleusManifest(recipe: Recipe, device: Record<string, string>): number {
  return recipe.Manifests.findIndex((m) =>
    Object.entries(m.Platform ?? {}).every(([key, want]) => {
      const have = device[key];
      if (have === undefined) return false;
      return want === "*" || want.toLowerCase() === have.toLowerCase();
    }),
  );
}

/**
 * nucleus lite (modules/ggl-recipe/src/recipe.c, manifest_selection): a manifest counts only if
 * its Platform has `runtime` "*" or "aws_nucleus_lite"; then `os` linux, "*" or "all"; then
 * `architecture` absent, "*" or the build's (amd64 here). Keys are matched exactly.
 */
export function liteManifest(recipe: Recipe, arch = "amd64"): number {
  return recipe.Manifests.findIndex((m) => {
    const p = m.Platform;
    if (p === undefined) return false; // "Platform not provided" is an error in lite
    if (p.runtime !== "*" && p.runtime !== "aws_nucleus_lite") return false;
    if (p.os !== undefined && !["linux", "*", "all"].includes(p.os)) return false;
    return p.architecture === undefined || p.architecture === "*" || p.architecture === arch;
  });
}

/**
 * Java nucleus (componentmanager/converter/RecipeLoader.convertLifecycleFromFile): a non-empty
 * manifest Lifecycle wins; otherwise the global Lifecycle filtered by the manifest's Selections,
 * "all" always a keyword and the fallback (PlatformResolver.filterPlatform).
 */
export function javaNucleusLifecycle(recipe: Recipe, index: number): unknown {
  const m = recipe.Manifests[index]!;
  if (isNonEmptyMap(m.Lifecycle)) return m.Lifecycle;
  const global = recipe.Lifecycle ?? {};
  const keywords = new Set(["all", ...recipe.Manifests.flatMap((x) => x.Selections ?? [])]);
  if (!Object.keys(global).some((k) => keywords.has(k))) return global;
  const chosen = (m.Selections ?? []).map((s) => global[s]).find((v) => v !== undefined) ?? global.all;
  return chosen ?? {};
}

/**
 * nucleus lite (recipe.c, manifest_selection and lifecycle_selection): a non-empty manifest
 * Lifecycle wins; otherwise its Selections, of which only "all" and "linux" are looked up in the
 * global Lifecycle (the last one found wins), "all" when there are none.
 */
export function liteLifecycle(recipe: Recipe, index: number): unknown {
  const m = recipe.Manifests[index]!;
  if (isNonEmptyMap(m.Lifecycle)) return m.Lifecycle;
  const selections = m.Selections && m.Selections.length > 0 ? m.Selections : ["all"];
  let chosen: unknown;
  for (const s of selections) if ((s === "all" || s === "linux") && recipe.Lifecycle?.[s] !== undefined) chosen = recipe.Lifecycle[s];
  return chosen;
}

/**
 * A brace in a lite Script or Setenv value is a recipe variable or an error: recipe-runner
 * substitutes every "{...}" (runner.c, handle_escape) and fails the step on a namespace or key
 * it does not know (ggl-config-interpolation/src/interpolation.c, ggl_substitute_escape).
 */
export const LITE_VARIABLE = /^\{(kernel:rootPath|iot:thingName|work:path|artifacts:(path|decompressedPath)|configuration:\/[^{}]*)\}$/;

/** Objects as lite counts them when it decodes a message (gg_sdk: a map entry 2, a list item 1). */
export function subobjects(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((n, v) => n + 1 + subobjects(v), 0);
  if (value !== null && typeof value === "object") return Object.values(value).reduce<number>((n, v) => n + 2 + subobjects(v), 0);
  return 0;
}

function isNonEmptyMap(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0;
}
