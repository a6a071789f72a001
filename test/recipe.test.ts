import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse } from "yaml";
import { applyConfiguration } from "../src/config/apply.js";
import { DEFAULT_CONFIG, configKeys } from "../src/config/schema.js";
import { ARTIFACT_FILES, COMPONENT_NAME, versionedRecipe } from "../scripts/recipe.js";
import { LITE_VARIABLE, javaNucleusLifecycle, javaNucleusManifest, liteLifecycle, liteManifest, subobjects } from "./recipe-rules.js";
import { ARTIFACT_DIR, BUNDLE, VERSION } from "./bundle.js";
import { ROOT, copyFixture, tempDir } from "./helpers.js";
import { NucleusDouble } from "./nucleus/server.js";
import { recipeDefaults } from "./nucleus/harness.js";

type Recipe = {
  RecipeFormatVersion: string;
  ComponentName: string;
  ComponentVersion: string;
  ComponentConfiguration: {
    DefaultConfiguration: Record<string, unknown> & { accessControl: Record<string, Record<string, { operations: string[]; resources: string[] }>> };
  };
  Lifecycle: { all: Lifecycle };
  Manifests: Array<{ Platform: Record<string, string>; Lifecycle?: unknown; Selections?: string[]; Artifacts: Array<{ URI: string }> }>;
};
type Lifecycle = { install: { Script: string }; run: { Script: string; Setenv: Record<string, string> } };

const source = parse(readFileSync(join(ROOT, "recipe.yaml"), "utf8")) as Recipe;
const built = parse(readFileSync(join(ROOT, "artifacts", "recipes", `${COMPONENT_NAME}-${VERSION}.yaml`), "utf8")) as Recipe;

/** Everything the component may do over IPC, and nothing more (no recipe variable: a default nucleus does not substitute them). */
const EXPECTED_GRANTS = [
  "aws.greengrass.ipc.mqttproxy aws.greengrass#PublishToIoTCore $aws/things/+/defender/metrics/json",
  "aws.greengrass.ipc.mqttproxy aws.greengrass#PublishToIoTCore $aws/things/+/defender/metrics/cbor",
  "aws.greengrass.ipc.mqttproxy aws.greengrass#PublishToIoTCore defender/violations/+",
  "aws.greengrass.ipc.mqttproxy aws.greengrass#PublishToIoTCore defender/export",
  "aws.greengrass.ipc.pubsub aws.greengrass#PublishToTopic defender/violations",
  ...["json", "cbor"].flatMap((f) =>
    ["accepted", "rejected"].map((o) => `aws.greengrass.ipc.mqttproxy aws.greengrass#SubscribeToIoTCore $aws/things/+/defender/metrics/${f}/${o}`),
  ),
].sort();

describe("recipe", () => {
  it("parses, and the build wrote it for this version", () => {
    assert.equal(source.RecipeFormatVersion, "2020-01-25");
    assert.equal(source.ComponentName, COMPONENT_NAME);
    assert.equal(source.ComponentVersion, VERSION, "recipe.yaml and package.json agree");
    assert.equal(built.ComponentVersion, VERSION);
  });

  it("ships the one JavaScript bundle the build wrote, to every Linux device, with one lifecycle", () => {
    for (const m of built.Manifests) {
      assert.deepEqual(
        m.Artifacts.map((a) => a.URI.split("/").pop()!),
        ["defender.js"],
        "no native addon: nothing platform-specific to ship",
      );
      for (const a of m.Artifacts) {
        assert.match(a.URI, new RegExp(`^s3://BUCKET_NAME/${COMPONENT_NAME}/${VERSION}/`));
        assert.ok(existsSync(join(ARTIFACT_DIR, a.URI.split("/").pop()!)), `${a.URI} exists in ${ARTIFACT_DIR}`);
      }
      assert.equal(m.Lifecycle, undefined, "no manifest lifecycle: both runtimes then use the global one");
      assert.deepEqual({ ...m, Platform: undefined }, { ...built.Manifests[0]!, Platform: undefined }, "the manifests differ only in their platform");
    }
    const run = built.Lifecycle.all.run;
    assert.match(run.Script, /^exec node (--[a-z-]+(=\d+)? )*\{artifacts:path\}\/defender\.js$/);
    assert.equal(run.Setenv.DEFENDER_WORK_DIR, "{work:path}");
    assert.deepEqual(
      ARTIFACT_FILES.filter((f) => !existsSync(join(ARTIFACT_DIR, f))),
      [],
    );
  });

  it("the Java nucleus selects the second manifest and nucleus lite the first, and both read the same lifecycle", () => {
    for (const platform of [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm" },
    ]) {
      assert.equal(javaNucleusManifest(built, platform), 1, `Java nucleus on ${platform.architecture}`);
    }
    assert.equal(liteManifest(built), 0);
    assert.deepEqual(javaNucleusLifecycle(built, 1), liteLifecycle(built, 0));
    assert.deepEqual(Object.keys(liteLifecycle(built, 0) as object).sort(), ["install", "run"], "only steps lite runs (no shutdown, recover, bootstrap)");
  });

  it("keeps every key in the case nucleus lite reads, and no brace lite would take for a variable", () => {
    const steps = built.Lifecycle.all;
    for (const [name, step] of Object.entries(steps)) {
      assert.match(name, /^(install|run|startup)$/, "lite matches step names exactly, lowercase");
      for (const key of Object.keys(step)) assert.ok(["Script", "Setenv", "RequiresPrivilege", "Timeout"].includes(key), `${name}.${key}`);
      for (const text of [step.Script, ...Object.values((step as { Setenv?: Record<string, string> }).Setenv ?? {})]) {
        for (const brace of text.match(/\{[^}]*\}?/g) ?? []) assert.match(brace, LITE_VARIABLE, `${name}: ${brace}`);
      }
    }
  });

  it("fits nucleus lite's recipe buffer (8,196 bytes, recipe.c) in the form a deployment writes", () => {
    const published = versionedRecipe(
      readFileSync(join(ROOT, "recipe.yaml"), "utf8"),
      VERSION,
      "a-bucket-name-of-the-longest-length-s3-allows-sixty-three-chars",
    );
    assert.ok(Buffer.byteLength(published) <= 8196, `${Buffer.byteLength(published)} bytes`);
    // lite decodes configuration answers into at most 255 objects (gg_sdk object.h, GG_MAX_OBJECT_SUBOBJECTS).
    assert.ok(subobjects(source.ComponentConfiguration.DefaultConfiguration) <= 255);
  });

  it("asks lite for no more than its MQTT subscriptions allow (at most 50 per core)", () => {
    const subscribe = EXPECTED_GRANTS.filter((g) => g.includes("SubscribeToIoTCore"));
    assert.ok(subscribe.length <= 50);
    assert.ok(
      subscribe.every((g) => !/[+#]$/.test(g.split(" ")[2]!.replace("$aws/things/+/", ""))),
      "each subscription is one topic, not a filter that fans out",
    );
  });

  it("declares the nucleus it needs, and stays under GDK's 16,000-byte recipe limit", () => {
    const deps = (source as unknown as { ComponentDependencies: Record<string, { VersionRequirement: string; DependencyType: string }> }).ComponentDependencies;
    assert.deepEqual(deps["aws.greengrass.Nucleus"], { VersionRequirement: ">=2.0.4 <3.0.0", DependencyType: "SOFT" });
    assert.ok(readFileSync(join(ROOT, "recipe.yaml")).length <= 16_000);
  });

  it("grants nothing beyond the component's own topics", () => {
    const grants: string[] = [];
    for (const [service, policies] of Object.entries(source.ComponentConfiguration.DefaultConfiguration.accessControl)) {
      for (const [policyId, policy] of Object.entries(policies)) {
        assert.ok(policyId.startsWith(`${COMPONENT_NAME}:`), "policy ids are unique to this component");
        for (const op of policy.operations) for (const r of policy.resources) grants.push(`${service} ${op} ${r}`);
      }
    }
    assert.deepEqual(grants.sort(), EXPECTED_GRANTS);
  });

  it("documents every configuration key with a default the component accepts", () => {
    const defaults: Record<string, unknown> = { ...source.ComponentConfiguration.DefaultConfiguration };
    delete defaults.accessControl;
    assert.deepEqual(Object.keys(defaults).sort(), Object.keys(configKeys()).sort());
    const { config, problems } = applyConfiguration(defaults, DEFAULT_CONFIG);
    assert.deepEqual(problems, []);
    assert.deepEqual(config, DEFAULT_CONFIG);
  });

  it("the install step fails clearly without node or with a node older than 20", () => {
    const script = source.Lifecycle.all.install.Script;
    const bin = tempDir();
    const run = (path: string) => spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", env: { PATH: path } });
    const missing = run(join(bin, "empty"));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /needs Node\.js 20 or later .*node was not found/);
    assert.doesNotMatch(missing.stderr, /not found.*not found/s, "one line, not the shell's as well");
    mkdirSync(join(bin, "old"));
    // A node that reports 18.19.0, like an old distribution package would.
    writeFileSync(
      join(bin, "old", "pretend-18.js"),
      'Object.defineProperty(process.versions, "node", { value: "18.19.0" }); Object.defineProperty(process, "version", { value: "v18.19.0" });',
    );
    writeFileSync(join(bin, "old", "node"), `#!/bin/sh\nexec ${process.execPath} -r ${join(bin, "old", "pretend-18.js")} "$@"\n`);
    chmodSync(join(bin, "old", "node"), 0o755);
    const old = run(`${join(bin, "old")}:/usr/bin:/bin`);
    assert.equal(old.status, 1, old.stderr);
    assert.match(old.stderr, /needs Node\.js 20 or later, found v18\.19\.0/);
    const ok = run(`${join(process.execPath, "..")}:/usr/bin:/bin`);
    assert.equal(ok.status, 0, ok.stderr);
  });

  it("gdk-config.json builds with our build command at the same version", () => {
    type Gdk = { component: Record<string, { version: unknown; build: { build_system: unknown; custom_build_command: unknown } }> };
    const gdk = JSON.parse(readFileSync(join(ROOT, "gdk-config.json"), "utf8")) as Gdk;
    const c = gdk.component[COMPONENT_NAME]!;
    assert.equal(c.version, VERSION);
    assert.equal(c.build.build_system, "custom");
    assert.deepEqual(c.build.custom_build_command, ["npm", "run", "build", "--", "--gdk"]);
  });
});

describe("bundle", () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  it("is one CommonJS file under 1 MB that prints its usage", () => {
    assert.ok(readFileSync(BUNDLE).length < 1024 * 1024);
    const r = spawnSync(process.execPath, [BUNDLE, "help"], { encoding: "utf8" });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: node defender\.js <command>/);
  });

  it("loads the aws-crt addon from its own folder, copied anywhere, with no variable set", async () => {
    // A Greengrass artifact folder: the version folder alone, far from node_modules.
    const dir = join(tempDir(), COMPONENT_NAME, VERSION);
    cpSync(ARTIFACT_DIR, dir, { recursive: true });
    const socketPath = join(tempDir(), "ipc.socket");
    const nucleus = new NucleusDouble({
      socketPath,
      svcuid: "t",
      thingName: "bundle-thing",
      componentName: COMPONENT_NAME,
      recipeDefaults: recipeDefaults(),
      configuration: { ProcRoot: copyFixture("tricky") },
      reportIntervalMs: 0,
    });
    await nucleus.start();
    cleanups.push(() => nucleus.stop());
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [join(dir, "defender.js")], {
      cwd: tempDir(),
      env: { PATH: process.env.PATH, AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: socketPath, SVCUID: "t", AWS_IOT_THING_NAME: "bundle-thing" },
      stdio: "ignore",
    });
    cleanups.push(() => {
      child.kill("SIGKILL");
      return Promise.resolve();
    });
    const p = await nucleus.waitFor(() => nucleus.publishes[0], 8000, "publish from the copied bundle");
    assert.equal(p.topicName, "$aws/things/bundle-thing/defender/metrics/json");
  });
});

describe("the standalone systemd unit", () => {
  const unit = readFileSync(join(ARTIFACT_DIR, "defender.service"), "utf8");

  it("starts the bundle with the recipe's node flags and environment", () => {
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(" ");
    const recipeFlags = source.Lifecycle.all.run.Script.split(" ").filter((a) => a.startsWith("--"));
    assert.deepEqual(
      exec.filter((a) => a.startsWith("--") && exec.indexOf(a) < exec.indexOf("/opt/defender/defender.js")),
      recipeFlags,
    );
    assert.deepEqual(exec.slice(exec.indexOf("/opt/defender/defender.js") + 1), [
      "run",
      "--config",
      "/etc/defender/config.json",
      "--work-dir",
      "/var/lib/defender",
    ]);
    const env = /^Environment=(.*)$/m
      .exec(unit)![1]!
      .split(" ")
      .map((kv) => kv.split("="));
    assert.deepEqual(Object.fromEntries(env), Object.fromEntries(Object.entries(source.Lifecycle.all.run.Setenv).filter(([k]) => k !== "DEFENDER_WORK_DIR")));
    assert.doesNotMatch(unit, /@[A-Z_]+@/, "every placeholder filled");
  });

  it("is hardened, and keeps what the agent needs", () => {
    for (const line of [
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "PrivateTmp=yes",
      "StateDirectory=defender",
      "CacheDirectory=defender",
      "Environment=DEFENDER_CACHE_DIR=/var/cache/defender",
      "AmbientCapabilities=CAP_SYS_PTRACE",
      "CapabilityBoundingSet=CAP_SYS_PTRACE",
    ]) {
      assert.ok(unit.split("\n").includes(line), line);
    }
    // The host's network and processes are what it reports on.
    assert.doesNotMatch(unit, /^(PrivateNetwork|ProtectProc)=/m);
  });

  it(
    "systemd reads it without a warning",
    { skip: spawnSync("sh", ["-c", "command -v systemd-analyze"]).status !== 0 && "systemd-analyze is not installed" },
    () => {
      const r = spawnSync("systemd-analyze", ["verify", join(ARTIFACT_DIR, "defender.service")], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      // Where node lives elsewhere on this machine, that one line is about the machine, not the unit.
      const said = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim() !== "" && !(!existsSync("/usr/bin/node") && l.includes("/usr/bin/node")));
      assert.deepEqual(said, [], "no unknown key, no bad value");
    },
  );
});
