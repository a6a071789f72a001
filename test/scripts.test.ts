// The publish and deploy scripts, with the AWS SDK's HTTP layer intercepted: the real clients
// serialize and sign the requests, a recording request handler answers instead of the network.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { GreengrassV2Client } from "@aws-sdk/client-greengrassv2";
import { S3Client } from "@aws-sdk/client-s3";
import { parse } from "yaml";
import { deploy, deploymentRequest, regionOf } from "../scripts/deploy.js";
import { publishComponent } from "../scripts/publish.js";
import { ARTIFACT_FILES, COMPONENT_NAME } from "../scripts/recipe.js";
import { ARTIFACT_DIR, VERSION } from "./bundle.js";
import { ROOT } from "./helpers.js";
import { spawnSync } from "node:child_process";

interface Sent {
  method: string;
  hostname: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

async function bodyOf(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === "string" || body instanceof Uint8Array) return Buffer.from(body as Uint8Array);
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

function recorder(answer: (req: Sent) => { status?: number; headers?: Record<string, string>; json?: unknown }) {
  const sent: Sent[] = [];
  const handler = {
    async handle(request: { method: string; hostname: string; path: string; headers: Record<string, string>; body?: unknown }) {
      const req = { method: request.method, hostname: request.hostname, path: request.path, headers: request.headers, body: await bodyOf(request.body) };
      sent.push(req);
      const a = answer(req);
      const payload = a.json === undefined ? "" : JSON.stringify(a.json);
      return {
        response: {
          statusCode: a.status ?? 200,
          headers: { "content-type": "application/json", ...a.headers },
          body: Readable.from([Buffer.from(payload)]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  return { sent, handler };
}

function clients(rec: ReturnType<typeof recorder>) {
  const requestHandler = rec.handler as never;
  return { s3: new S3Client({ region, credentials, requestHandler }), greengrass: new GreengrassV2Client({ region, credentials, requestHandler }) };
}

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const region = "eu-west-1";

describe("publish", () => {
  const componentArn = `arn:aws:greengrass:${region}:123456789012:components:${COMPONENT_NAME}`;
  /** The service, with the component at these versions already. */
  const service = (existing: string[]) => (req: Sent) => {
    if (req.method === "GET" && req.path === "/greengrass/v2/components")
      return {
        json: {
          components: [
            { componentName: "other", arn: "arn:other" },
            { componentName: COMPONENT_NAME, arn: componentArn, latestVersion: {} },
          ],
        },
      };
    if (req.method === "GET" && req.path.endsWith("/versions"))
      return {
        json: { componentVersions: existing.map((v) => ({ componentName: COMPONENT_NAME, componentVersion: v, arn: `${componentArn}:versions:${v}` })) },
      };
    if (req.path.includes("createComponentVersion"))
      return {
        json: {
          arn: `${componentArn}:versions:${VERSION}`,
          componentName: COMPONENT_NAME,
          componentVersion: VERSION,
          creationTimestamp: 1700000000,
          status: { componentState: "REQUESTED" },
        },
      };
    return { headers: { etag: '"abc"' } };
  };

  it("never replaces the artifacts of a version that exists: it refuses before uploading anything", async () => {
    const rec = recorder(service(["0.9.0", VERSION]));
    await assert.rejects(
      publishComponent({ bucket: "my-gg-artifacts", version: VERSION, dryRun: false, ...clients(rec), print: () => undefined }),
      new RegExp(`${COMPONENT_NAME.replaceAll(".", "\\.")} ${VERSION.replaceAll(".", "\\.")} already exists: Greengrass recorded its artifacts' digests`),
    );
    assert.deepEqual(
      rec.sent.filter((r) => r.method !== "GET"),
      [],
      "no upload, no create",
    );
    assert.equal(decodeURIComponent(rec.sent.at(-1)!.path), `/greengrass/v2/components/${componentArn}/versions`);
  });

  it("uploads every artifact, then creates the component version from the recipe with s3:// URIs", async () => {
    const rec = recorder(service(["0.9.0"]));
    const printed: string[] = [];
    await publishComponent({
      bucket: "my-gg-artifacts",
      version: VERSION,
      dryRun: false,
      ...clients(rec),
      print: (l) => printed.push(l),
    });
    assert.deepEqual(
      rec.sent.slice(0, 2).map((r) => r.method),
      ["GET", "GET"],
      "the versions are checked first",
    );
    const puts = rec.sent.filter((r) => r.method === "PUT");
    assert.deepEqual(
      puts.map((p) => p.path),
      ARTIFACT_FILES.map((f) => `/${COMPONENT_NAME}/${VERSION}/${f}`),
    );
    for (const [i, f] of ARTIFACT_FILES.entries()) {
      assert.equal(puts[i]!.hostname, `my-gg-artifacts.s3.${region}.amazonaws.com`);
      assert.ok(puts[i]!.body.equals(readFileSync(join(ARTIFACT_DIR, f))), `${f} body`);
      assert.match(puts[i]!.headers.authorization ?? "", /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
    }
    const create = rec.sent.at(-1)!;
    assert.equal(create.method, "POST");
    assert.equal(create.path, "/greengrass/v2/createComponentVersion");
    assert.equal(create.hostname, `greengrass.${region}.amazonaws.com`);
    const request = JSON.parse(create.body.toString("utf8")) as { inlineRecipe: string };
    const recipe = parse(Buffer.from(request.inlineRecipe, "base64").toString("utf8")) as {
      ComponentVersion: unknown;
      Manifests: Array<{ Artifacts: Array<{ URI: string }> }>;
    };
    assert.equal(recipe.ComponentVersion, VERSION);
    const uris = recipe.Manifests.flatMap((m) => m.Artifacts.map((a) => a.URI));
    assert.deepEqual([...new Set(uris)].sort(), ARTIFACT_FILES.map((f) => `s3://my-gg-artifacts/${COMPONENT_NAME}/${VERSION}/${f}`).sort());
    assert.match(printed.join("\n"), /created arn:aws:greengrass:.*\(REQUESTED\)/);
  });

  it("--dry-run prints the requests and sends nothing", async () => {
    const rec = recorder(() => ({ json: {} }));
    const printed: string[] = [];
    await publishComponent({
      bucket: "my-gg-artifacts",
      version: VERSION,
      dryRun: true,
      ...clients(rec),
      print: (l) => printed.push(l),
    });
    assert.equal(rec.sent.length, 0);
    const ops = printed.map((l) => JSON.parse(l) as { operation: unknown; input: { inlineRecipe?: string } });
    assert.deepEqual(
      ops.map((o) => o.operation),
      [...ARTIFACT_FILES.map(() => "s3:PutObject"), "greengrassv2:CreateComponentVersion"],
    );
    assert.match(ops.at(-1)!.input.inlineRecipe!, /URI: s3:\/\/my-gg-artifacts\/community\.greengrass\.DeviceDefender\//);
  });

  it("refuses a bad bucket name before sending anything", async () => {
    const rec = recorder(() => ({ json: {} }));
    await assert.rejects(
      publishComponent({ bucket: "Bad_Bucket", version: VERSION, dryRun: false, ...clients(rec), print: () => undefined }),
      /not a valid S3 bucket name/,
    );
    assert.equal(rec.sent.length, 0);
  });
});

describe("deploy", () => {
  const target = "arn:aws:iot:eu-west-1:123456789012:thinggroup/gateways";

  it("sends the merge serialized as a string, the reset paths and the whole component set", async () => {
    const rec = recorder(() => ({ json: { deploymentId: "d-1", iotJobId: "j-1", iotJobArn: "arn:x" } }));
    const printed: string[] = [];
    await deploy({
      targetArn: target,
      version: VERSION,
      merge: { SampleIntervalSeconds: "600", Format: "cbor" },
      reset: ["/ExcludedInterfaces"],
      otherComponents: { "aws.greengrass.Nucleus": { componentVersion: "2.14.0" } },
      dryRun: false,
      client: new GreengrassV2Client({ region, credentials, requestHandler: rec.handler as never }),
      print: (l) => printed.push(l),
    });
    assert.equal(rec.sent.length, 1);
    const req = rec.sent[0]!;
    assert.equal(req.method, "POST");
    assert.equal(req.path, "/greengrass/v2/deployments");
    const body = JSON.parse(req.body.toString("utf8")) as { targetArn: unknown; components: unknown };
    assert.equal(body.targetArn, target);
    assert.deepEqual(body.components, {
      "aws.greengrass.Nucleus": { componentVersion: "2.14.0" },
      [COMPONENT_NAME]: {
        componentVersion: VERSION,
        configurationUpdate: { merge: '{"SampleIntervalSeconds":"600","Format":"cbor"}', reset: ["/ExcludedInterfaces"] },
      },
    });
    assert.deepEqual(printed, [`deployment d-1 created for ${target}`]);
  });

  it("--dry-run prints the request and sends nothing", async () => {
    const rec = recorder(() => ({ json: {} }));
    const printed: string[] = [];
    await deploy({
      targetArn: target,
      version: VERSION,
      dryRun: true,
      client: new GreengrassV2Client({ region, credentials, requestHandler: rec.handler as never }),
      print: (l) => printed.push(l),
    });
    assert.equal(rec.sent.length, 0);
    assert.deepEqual((JSON.parse(printed[0]!) as { input: { components: unknown } }).input.components, { [COMPONENT_NAME]: { componentVersion: VERSION } });
  });

  it("takes the region from the target ARN, and refuses a --region that contradicts it", () => {
    assert.equal(regionOf(target, undefined), "eu-west-1");
    assert.equal(regionOf(target, "eu-west-1"), "eu-west-1");
    assert.throws(() => regionOf(target, "us-east-1"), /--region us-east-1 does not match the target's region eu-west-1/);
  });

  it("answers a bad option with one line and exit 2, never a stack trace", () => {
    for (const script of ["deploy", "publish"]) {
      const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts", `${script}.ts`), "--bogus"], { encoding: "utf8" });
      assert.equal(r.status, 2, `${script}: ${r.stderr}`);
      assert.match(r.stderr, /Unknown option '--bogus'/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
  });

  it("names a bad target or reset path", () => {
    assert.throws(() => deploymentRequest({ targetArn: "my-thing", version: VERSION }), /--target "my-thing" is not a thing or thing-group ARN/);
    assert.throws(() => deploymentRequest({ targetArn: target, version: VERSION, reset: ["Format"] }), /--reset "Format" is not a JSON pointer/);
  });
});
