// npm run deploy -- --target ARN --merge FILE [--reset /Key,/Other] [--components FILE] [--dry-run]
// Creates a deployment of this component (plus any other components given) to a thing or thing
// group. A new deployment to a target replaces the previous one, so --components must list every
// other component that target should keep. The merge document is sent serialized as a string,
// as the API requires; reset paths are JSON pointers applied before the merge.

import { CreateDeploymentCommand, type CreateDeploymentCommandInput, GreengrassV2Client } from "@aws-sdk/client-greengrassv2";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ScriptUsageError, runScript, scriptOptions } from "./cli.js";
import { COMPONENT_NAME, packageVersion } from "./recipe.js";

const root = resolve(__dirname, "..");

export interface DeployOptions {
  targetArn: string;
  version: string;
  merge?: Record<string, unknown>;
  reset?: string[];
  otherComponents?: Record<string, { componentVersion: string; configurationUpdate?: { merge?: string; reset?: string[] } }>;
  deploymentName?: string;
}

export function deploymentRequest(o: DeployOptions): CreateDeploymentCommandInput {
  if (!/^arn:aws[a-z-]*:iot:[a-z0-9-]+:\d{12}:(thing|thinggroup)\/[a-zA-Z0-9:_-]+$/.test(o.targetArn)) {
    throw new Error(`--target "${o.targetArn}" is not a thing or thing-group ARN (arn:aws:iot:<region>:<account>:thing/<name>)`);
  }
  for (const p of o.reset ?? []) if (p !== "" && !p.startsWith("/")) throw new Error(`--reset "${p}" is not a JSON pointer (it starts with /)`);
  const configurationUpdate =
    o.merge !== undefined || (o.reset?.length ?? 0) > 0
      ? { ...(o.merge !== undefined ? { merge: JSON.stringify(o.merge) } : {}), ...(o.reset?.length ? { reset: o.reset } : {}) }
      : undefined;
  return {
    targetArn: o.targetArn,
    deploymentName: o.deploymentName ?? `${COMPONENT_NAME}-${o.version}`,
    components: {
      ...o.otherComponents,
      [COMPONENT_NAME]: { componentVersion: o.version, ...(configurationUpdate ? { configurationUpdate } : {}) },
    },
  };
}

export async function deploy(o: DeployOptions & { dryRun: boolean; client: GreengrassV2Client; print: (l: string) => void }) {
  const input = deploymentRequest(o);
  if (o.dryRun) {
    o.print(JSON.stringify({ operation: "greengrassv2:CreateDeployment", input }, null, 2));
    return;
  }
  const res = await o.client.send(new CreateDeploymentCommand(input));
  o.print(`deployment ${res.deploymentId} created for ${o.targetArn}`);
}

function readJson(path: string, what: string): Record<string, never> {
  try {
    const v: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("must be a JSON object");
    // Only its being a JSON object is checked here; its contents go to the service as they are.
    return v as Record<string, never>;
  } catch (err) {
    throw new Error(`${what} ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

const USAGE =
  "usage: npm run deploy -- --target ARN [--merge FILE] [--reset /Key,...] [--components FILE] [--version V] [--name NAME] [--region REGION] [--dry-run]";

/** The region a deployment goes to: the target ARN's (a deployment is created in its target's region). */
export function regionOf(targetArn: string, given: string | undefined): string {
  const fromArn = targetArn.split(":")[3];
  if (given !== undefined && fromArn !== undefined && given !== fromArn) {
    throw new Error(`--region ${given} does not match the target's region ${fromArn} (${targetArn})`);
  }
  return given ?? fromArn!;
}

export async function deployMain(argv: string[]): Promise<void> {
  const values = scriptOptions(
    argv,
    {
      target: { type: "string" },
      merge: { type: "string" },
      reset: { type: "string" },
      components: { type: "string" },
      version: { type: "string" },
      name: { type: "string" },
      region: { type: "string" },
      "dry-run": { type: "boolean" },
    },
    USAGE,
  );
  if (!values.target) throw new ScriptUsageError(`--target is required\n${USAGE}`);
  const request = {
    targetArn: values.target,
    version: values.version ?? packageVersion(root),
    merge: values.merge ? readJson(values.merge, "--merge") : undefined,
    reset: values.reset?.split(",").map((s) => s.trim()),
    otherComponents: values.components ? readJson(values.components, "--components") : undefined,
    deploymentName: values.name,
  };
  deploymentRequest(request); // names a bad target or reset path before anything else
  await deploy({
    ...request,
    dryRun: values["dry-run"] ?? false,
    client: new GreengrassV2Client({ region: regionOf(values.target, values.region) }),
    print: (l) => process.stdout.write(`${l}\n`),
  });
}

if (require.main === module) runScript("deploy", () => deployMain(process.argv.slice(2)));
