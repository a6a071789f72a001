// npm run publish-component -- --bucket BUCKET [--region REGION] [--dry-run]
// Uploads the built artifacts to s3://BUCKET/<component>/<version>/ and creates the component
// version from the recipe rewritten to those URIs. Region and credentials come from the standard
// AWS chain (AWS_REGION, AWS_PROFILE, ...). S3 artifacts are immutable once the component version
// exists (Greengrass records their digests), so a changed build needs a new version.

import {
  CreateComponentVersionCommand,
  GreengrassV2Client,
  ListComponentVersionsCommand,
  type ListComponentVersionsCommandOutput,
  ListComponentsCommand,
  type ListComponentsCommandOutput,
} from "@aws-sdk/client-greengrassv2";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ScriptUsageError, runScript, scriptOptions } from "./cli.js";
import { ARTIFACT_FILES, COMPONENT_NAME, packageVersion, versionedRecipe } from "./recipe.js";

const root = resolve(__dirname, "..");

export interface PublishOptions {
  bucket: string;
  version: string;
  dryRun: boolean;
  s3: S3Client;
  greengrass: GreengrassV2Client;
  print: (line: string) => void;
}

/**
 * Whether this account already has the component version. Its artifacts' digests were recorded
 * when it was created, so uploading over them would break every later deployment of it.
 */
export async function versionExists(greengrass: GreengrassV2Client, version: string): Promise<boolean> {
  let nextToken: string | undefined;
  let arn: string | undefined;
  do {
    const page: ListComponentsCommandOutput = await greengrass.send(new ListComponentsCommand({ scope: "PRIVATE", nextToken }));
    arn = page.components?.find((c) => c.componentName === COMPONENT_NAME)?.arn;
    nextToken = page.nextToken;
  } while (arn === undefined && nextToken);
  if (arn === undefined) return false;
  nextToken = undefined;
  do {
    const page: ListComponentVersionsCommandOutput = await greengrass.send(new ListComponentVersionsCommand({ arn, nextToken }));
    if (page.componentVersions?.some((v) => v.componentVersion === version)) return true;
    nextToken = page.nextToken;
  } while (nextToken);
  return false;
}

export async function publishComponent(o: PublishOptions): Promise<void> {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.bucket)) throw new Error(`--bucket "${o.bucket}" is not a valid S3 bucket name`);
  if (!o.dryRun && (await versionExists(o.greengrass, o.version))) {
    throw new Error(
      `${COMPONENT_NAME} ${o.version} already exists: Greengrass recorded its artifacts' digests, so they must not be replaced. Set a new version in package.json and recipe.yaml, build, and publish that.`,
    );
  }
  const artifactDir = join(root, "artifacts", COMPONENT_NAME, o.version);
  const uploads = ARTIFACT_FILES.map((file) => ({
    Bucket: o.bucket,
    Key: `${COMPONENT_NAME}/${o.version}/${file}`,
    Body: readFileSync(join(artifactDir, file)),
  }));
  const recipe = versionedRecipe(readFileSync(join(root, "recipe.yaml"), "utf8"), o.version, o.bucket);
  for (const u of uploads) {
    if (o.dryRun) o.print(JSON.stringify({ operation: "s3:PutObject", input: { Bucket: u.Bucket, Key: u.Key, ContentLength: u.Body.length } }));
    else await o.s3.send(new PutObjectCommand(u));
  }
  const create = { inlineRecipe: Buffer.from(recipe, "utf8") };
  if (o.dryRun) {
    o.print(JSON.stringify({ operation: "greengrassv2:CreateComponentVersion", input: { inlineRecipe: recipe } }));
    return;
  }
  const res = await o.greengrass.send(new CreateComponentVersionCommand(create));
  o.print(`created ${res.arn} (${res.status?.componentState ?? "unknown state"}${res.status?.message ? `: ${res.status.message}` : ""})`);
}

const USAGE = "usage: npm run publish-component -- --bucket BUCKET [--region REGION] [--version V] [--dry-run]";

export async function publishMain(argv: string[]): Promise<void> {
  const values = scriptOptions(
    argv,
    { bucket: { type: "string" }, region: { type: "string" }, version: { type: "string" }, "dry-run": { type: "boolean" } },
    USAGE,
  );
  if (!values.bucket) throw new ScriptUsageError(`--bucket is required\n${USAGE}`);
  const version = values.version ?? packageVersion(root);
  const region = values.region;
  await publishComponent({
    bucket: values.bucket,
    version,
    dryRun: values["dry-run"] ?? false,
    s3: new S3Client({ region }),
    greengrass: new GreengrassV2Client({ region }),
    print: (l) => process.stdout.write(`${l}\n`),
  });
}

if (require.main === module) runScript("publish", () => publishMain(process.argv.slice(2)));
