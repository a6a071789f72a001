// Facts about the component's recipe shared by the build, the publish script and the tests.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const COMPONENT_NAME = "community.greengrass.DeviceDefender";

/**
 * aws-crt's native addons, for the build with the native IPC transport (the benchmark compares
 * it with ours); aws-crt ships none for 32-bit ARM. The component itself ships no native code.
 */
export const NATIVE_ADDONS = [
  { arch: "amd64", crtDir: "linux-x64-glibc", file: "aws-crt-linux-x64-glibc.node" },
  { arch: "aarch64", crtDir: "linux-arm64-glibc", file: "aws-crt-linux-arm64-glibc.node" },
] as const;

/**
 * recipe.yaml for this version, for local deployments: the component name and version are
 * filled in; the artifact URIs keep only their file names' meaning (greengrass-cli takes the
 * files from --artifactDir), and `publish` rewrites them to the real s3:// locations.
 */
export function versionedRecipe(recipeYaml: string, version: string, bucket = "BUCKET_NAME"): string {
  return recipeYaml
    .replace(/^ComponentVersion:.*$/m, `ComponentVersion: "${version}"`)
    .replaceAll("s3://BUCKET_NAME/COMPONENT_NAME/COMPONENT_VERSION/", `s3://${bucket}/${COMPONENT_NAME}/${version}/`);
}

/** Every artifact file a build ships, for all manifests: one JavaScript bundle. */
export const ARTIFACT_FILES = ["defender.js"];

/**
 * The standalone systemd unit (src/mqtt/defender.service) with the recipe's run step filled in:
 * the same node flags and environment as the component, from one source.
 */
export function systemdUnit(recipeYaml: string, template: string): string {
  const run = (parse(recipeYaml) as { Lifecycle: { all: { run: { Script: string; Setenv: Record<string, string> } } } }).Lifecycle.all.run;
  const flags = run.Script.split(/\s+/).filter((a) => a.startsWith("--"));
  const env = Object.entries(run.Setenv)
    .filter(([k]) => k !== "DEFENDER_WORK_DIR")
    .map(([k, v]) => `${k}=${v}`);
  return template.replace("@NODE_FLAGS@", flags.join(" ")).replace("@ENVIRONMENT@", env.join(" "));
}

/** The version in `<root>/package.json`: the component version a build, a publish and a deployment use. */
export function packageVersion(root: string): string {
  const pkg: unknown = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const version = typeof pkg === "object" && pkg !== null && "version" in pkg ? pkg.version : undefined;
  if (typeof version !== "string") throw new Error(`${join(root, "package.json")} has no version`);
  return version;
}
