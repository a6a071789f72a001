// Facts about the component's recipe shared by the build, the publish script and the tests.

export const COMPONENT_NAME = "community.greengrass.DeviceDefender";

/** aws-crt ships no 32-bit ARM addon, so these are the supported platforms. */
export const NATIVE_ADDONS = [
  { arch: "amd64", crtDir: "linux-x64-glibc", file: "aws-crt-linux-x64-glibc.node" },
  { arch: "aarch64", crtDir: "linux-arm64-glibc", file: "aws-crt-linux-arm64-glibc.node" },
] as const;

/** recipe.yaml with its version set; artifact URIs keep their placeholders until publish. */
export function versionedRecipe(recipeYaml: string, version: string): string {
  return recipeYaml.replace(/^ComponentVersion:.*$/m, `ComponentVersion: "${version}"`).replaceAll("COMPONENT_VERSION", version);
}
