// npm run build: one CommonJS bundle plus the aws-crt addons it loads, laid out as Greengrass
// wants artifacts (artifacts/<component>/<version>/), and the recipe for that version.
// `--gdk` also writes greengrass-build/ for `gdk component build`.

import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { COMPONENT_NAME, NATIVE_ADDONS, versionedRecipe } from "./recipe.js";

const root = resolve(__dirname, "..");
const version: string = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;

export async function buildAll(opts: { gdk?: boolean } = {}): Promise<string> {
  const outDir = join(root, "artifacts", COMPONENT_NAME, version);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, "src/cli/main.ts")],
    outfile: join(outDir, "defender.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs", // an ESM bundle of the IPC SDK fails at run time ("Dynamic require of events")
    minify: true,
    legalComments: "none",
    define: { __COMPONENT_VERSION__: JSON.stringify(version) },
    logLevel: "warning",
    plugins: [
      {
        // zod carries error messages in ~40 languages (a third of the bundle); the component
        // only ever speaks English, so the locale index is cut down to it.
        name: "zod-english-only",
        setup(b) {
          b.onLoad({ filter: /zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
            contents: 'export { default as en } from "./en.js";',
            loader: "js",
          }));
        },
      },
      {
        name: "aws-crt-binding",
        setup(b) {
          b.onLoad({ filter: /aws-crt[\\/]dist[\\/]native[\\/]binding\.js$/ }, () => ({
            contents: readFileSync(join(root, "src/greengrass/crt-binding.js"), "utf8"),
            loader: "js",
          }));
        },
      },
    ],
  });
  for (const addon of NATIVE_ADDONS) {
    copyFileSync(join(root, "node_modules/aws-crt/dist/bin", addon.crtDir, "aws-crt-nodejs.node"), join(outDir, addon.file));
  }
  const recipeDir = join(root, "artifacts", "recipes");
  mkdirSync(recipeDir, { recursive: true });
  const recipe = versionedRecipe(readFileSync(join(root, "recipe.yaml"), "utf8"), version);
  writeFileSync(join(recipeDir, `${COMPONENT_NAME}-${version}.yaml`), recipe);
  if (opts.gdk) {
    // GDK's custom build contract: greengrass-build/recipes and greengrass-build/artifacts/<name>/<version>.
    const gdkArtifacts = join(root, "greengrass-build", "artifacts", COMPONENT_NAME, version);
    mkdirSync(gdkArtifacts, { recursive: true });
    mkdirSync(join(root, "greengrass-build", "recipes"), { recursive: true });
    for (const f of ["defender.js", ...NATIVE_ADDONS.map((a) => a.file)]) copyFileSync(join(outDir, f), join(gdkArtifacts, f));
    writeFileSync(join(root, "greengrass-build", "recipes", "recipe.yaml"), recipe);
  }
  return outDir;
}

if (require.main === module) {
  buildAll({ gdk: process.argv.includes("--gdk") }).then(
    (dir) => process.stderr.write(`built ${dir}\n`),
    (err) => {
      process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
