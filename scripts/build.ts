// npm run build: one CommonJS bundle plus the aws-crt addons it loads, laid out as Greengrass
// wants artifacts (artifacts/<component>/<version>/), and the recipe for that version.
// `--gdk` also writes greengrass-build/ for `gdk component build`.

import { createHash } from "node:crypto";
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ARTIFACT_FILES, COMPONENT_NAME, NATIVE_ADDONS, packageVersion, systemdUnit, versionedRecipe } from "./recipe.js";

const root = resolve(__dirname, "..");
const version = packageVersion(root);

/**
 * The IPC transport under the SDK's Greengrass client: "ts" is our event-stream connection in
 * TypeScript (src/greengrass/eventstream), "crt" aws-crt's native addon.
 */
export type Transport = "ts" | "crt";

/** The bundle as src/cli/start.ts takes it: wrapped as Node wraps a CommonJS module, and its id. */
function wrappedBundle(text: string): Record<string, string> {
  return {
    __BUNDLE__: JSON.stringify(`(function (exports, require, module, __filename, __dirname) {${text}\n})`),
    __BUNDLE_ID__: JSON.stringify(createHash("sha256").update(text).digest("hex").slice(0, 16)),
  };
}

/** One bundle (and, for the crt transport, the addons it loads) in `outDir`. */
export async function buildBundle(outDir: string, transport: Transport): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const bundled = await build({
    entryPoints: [join(root, "src/cli/main.ts")],
    outfile: join(outDir, "defender.js"),
    write: false,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs", // an ESM bundle of the IPC SDK fails at run time ("Dynamic require of events")
    minify: true,
    legalComments: "none",
    define: {
      __COMPONENT_VERSION__: JSON.stringify(version),
      __IPC_TRANSPORT__: JSON.stringify(transport),
      // The page's chart library, inlined in each page (src/page/assets.ts).
      __UPLOT_JS__: JSON.stringify(readFileSync(join(root, "node_modules/uplot/dist/uPlot.iife.min.js"), "utf8")),
      __UPLOT_CSS__: JSON.stringify(readFileSync(join(root, "node_modules/uplot/dist/uPlot.min.css"), "utf8")),
    },
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
          // Nor does it read JSON Schema into zod (12 KB): z.fromJSONSchema says so if ever called.
          b.onLoad({ filter: /zod[\\/]v4[\\/]classic[\\/]from-json-schema\.js$/ }, () => ({
            contents: 'export function fromJSONSchema() { throw new Error("fromJSONSchema is not in this bundle (scripts/build.ts)"); }',
            loader: "js",
          }));
        },
      },
      {
        // MQTT.js (standalone mode) carries code for browsers, WebSockets and SOCKS proxies, a
        // third of its size, that MQTT over TLS on Node.js never runs; and copies of Node's own
        // streams (readable-stream 4 is Node's stream module, published for browsers).
        name: "mqtt-node-only",
        setup(b) {
          b.onResolve({ filter: /^(worker-timers|ws|\.\/socks)$/ }, (args) =>
            /[\\/]mqtt[\\/]build[\\/]/.test(args.importer) ? { path: join(root, "src/mqtt/unused-in-node.cjs") } : undefined,
          );
          b.onResolve({ filter: /^readable-stream$/ }, (args) => (/[\\/](mqtt|bl)[\\/]/.test(args.importer) ? { path: "stream", external: true } : undefined));
        },
      },
      transport === "ts"
        ? {
            // The SDK's IPC client asks aws-crt for its event-stream transport: give it ours.
            name: "typescript-eventstream",
            setup(b) {
              b.onResolve({ filter: /^aws-crt$/ }, () => ({ path: join(root, "src/greengrass/eventstream/crt-compat.ts") }));
            },
          }
        : {
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
  await build({
    // The artifact: src/cli/start.ts runs the bundle through V8's code cache (README "Start-up").
    entryPoints: [join(root, "src/cli/start.ts")],
    outfile: join(outDir, "defender.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    legalComments: "none",
    define: wrappedBundle(bundled.outputFiles[0]!.text),
    logLevel: "warning",
  });
  if (transport === "crt") {
    for (const addon of NATIVE_ADDONS) {
      copyFileSync(join(root, "node_modules/aws-crt/dist/bin", addon.crtDir, "aws-crt-nodejs.node"), join(outDir, addon.file));
    }
  }
}

export async function buildAll(opts: { gdk?: boolean } = {}): Promise<string> {
  const outDir = join(root, "artifacts", COMPONENT_NAME, version);
  await buildBundle(outDir, (process.env.DEFENDER_IPC_TRANSPORT as Transport | undefined) ?? "ts");
  const recipeDir = join(root, "artifacts", "recipes");
  mkdirSync(recipeDir, { recursive: true });
  const recipe = versionedRecipe(readFileSync(join(root, "recipe.yaml"), "utf8"), version);
  writeFileSync(join(recipeDir, `${COMPONENT_NAME}-${version}.yaml`), recipe);
  // Standalone devices take the bundle and this unit (README, "Standalone"); Greengrass ignores it.
  writeFileSync(join(outDir, "defender.service"), systemdUnit(recipe, readFileSync(join(root, "src/mqtt/defender.service"), "utf8")));
  if (opts.gdk) {
    // GDK's custom build contract: greengrass-build/recipes and greengrass-build/artifacts/<name>/<version>.
    const gdkArtifacts = join(root, "greengrass-build", "artifacts", COMPONENT_NAME, version);
    mkdirSync(gdkArtifacts, { recursive: true });
    mkdirSync(join(root, "greengrass-build", "recipes"), { recursive: true });
    for (const f of ARTIFACT_FILES) copyFileSync(join(outDir, f), join(gdkArtifacts, f));
    writeFileSync(join(root, "greengrass-build", "recipes", "recipe.yaml"), recipe);
  }
  return outDir;
}

if (require.main === module) {
  buildAll({ gdk: process.argv.includes("--gdk") }).then(
    (dir) => process.stderr.write(`built ${dir}\n`),
    (err: unknown) => {
      process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
