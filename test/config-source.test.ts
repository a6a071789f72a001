// The configuration source's rules that need no nucleus: one read in flight (a request during a
// read causes exactly one more), and the checks a proposed configuration must pass.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_CONFIG, configKeys } from "../src/config/schema.js";
import { ConfigSource, configurationProblems } from "../src/greengrass/config-source.js";
import type { IpcClient } from "../src/greengrass/ipc-wait.js";
import { WorkDir } from "../src/store/files.js";
import { recordingLogger, tempDir } from "./helpers.js";
import { recipeDefaults } from "./nucleus/harness.js";

describe("configuration defaults", () => {
  it("are what each key's schema gives for a missing key (the two are declared apart, so that importing them builds nothing)", () => {
    const fromSchemas = Object.fromEntries(Object.entries(configKeys()).map(([k, schema]) => [k, (schema as { parse(v: unknown): unknown }).parse(undefined)]));
    assert.deepEqual(fromSchemas, DEFAULT_CONFIG);
  });
});

describe("configuration source", () => {
  it("reads once at a time: requests during a read make one more read, not one each", async () => {
    const answers: Array<(v: unknown) => void> = [];
    const client = { getConfiguration: () => new Promise((res) => answers.push((value) => res({ value }))) } as unknown as IpcClient;
    const applied: unknown[] = [];
    const source = new ConfigSource({
      log: recordingLogger(),
      work: new WorkDir(tempDir(), recordingLogger()),
      thingName: "t",
      current: () => DEFAULT_CONFIG,
      apply: (d) => applied.push(d),
    });
    const first = source.read(client);
    void source.read(client);
    void source.read(client);
    assert.equal(answers.length, 1, "one read in flight");
    answers[0]!({ n: 1 });
    await new Promise((r) => setImmediate(r));
    assert.equal(answers.length, 2, "exactly one more read for the requests made meanwhile");
    answers[1]!({ n: 2 });
    await first;
    assert.deepEqual(applied, [{ n: 1 }, { n: 2 }]);
  });

  it("a proposed configuration names each bad key, value and rule, and each topic its grants do not cover", () => {
    const defaults = recipeDefaults();
    assert.deepEqual(configurationProblems(defaults, DEFAULT_CONFIG, "gw-1"), [], "the recipe's defaults pass");
    assert.deepEqual(configurationProblems({ ...defaults, Format: "xml", MaxListEntries: "0" }, DEFAULT_CONFIG, "gw-1"), [
      "Format=xml: must be json or cbor",
      "MaxListEntries=0: must be a whole number at least 1 and at most 10000",
    ]);
    const problems = configurationProblems({ ...defaults, ViolationIoTTopic: "alerts/{thing}" }, DEFAULT_CONFIG, "gw-1");
    assert.deepEqual(problems, [
      'ViolationIoTTopic: accessControl.aws.greengrass.ipc.mqttproxy needs a policy with operation aws.greengrass#PublishToIoTCore and a resource matching "alerts/gw-1"',
    ]);
    const noGrants = configurationProblems({ ...defaults, accessControl: undefined }, DEFAULT_CONFIG, "gw-1");
    assert.equal(noGrants.length, 4, "the report topic, its two answer topics and the violation topic are each named");
    const badProfile = configurationProblems(
      {
        ...defaults,
        SecurityProfiles: [
          {
            securityProfileName: "P",
            behaviors: [{ name: "B", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "less-than", value: { count: 1 } } }],
          },
        ],
      },
      DEFAULT_CONFIG,
      "gw-1",
    );
    assert.match(badProfile[0]!, /^SecurityProfiles: profile P behavior B: criteria\.comparisonOperator: less-than does not apply/);
  });

  it("grants are read as the runtime reads them: {iot:thingName} and exact key case on lite, neither on the Java nucleus", () => {
    const defaults = recipeDefaults();
    const withGrant = (policy: Record<string, unknown>) => ({
      ...defaults,
      ViolationIoTTopic: "alerts/{thing}",
      accessControl: {
        ...(defaults.accessControl as Record<string, unknown>),
        "aws.greengrass.ipc.mqttproxy": {
          ...(defaults.accessControl as Record<string, Record<string, unknown>>)["aws.greengrass.ipc.mqttproxy"],
          "extra:1": policy,
        },
      },
    });
    const interpolated = withGrant({ operations: ["aws.greengrass#PublishToIoTCore"], resources: ["alerts/{iot:thingName}"] });
    assert.deepEqual(configurationProblems(interpolated, DEFAULT_CONFIG, "gw-1", "lite"), [], "lite substitutes the thing name");
    assert.equal(configurationProblems(interpolated, DEFAULT_CONFIG, "gw-1", "nucleus").length, 1, "a default Java nucleus does not");
    const capitalised = withGrant({ Operations: ["aws.greengrass#PublishToIoTCore"], Resources: ["alerts/+"] });
    assert.deepEqual(configurationProblems(capitalised, DEFAULT_CONFIG, "gw-1", "nucleus"), [], "the Java nucleus reads keys in any case");
    assert.equal(configurationProblems(capitalised, DEFAULT_CONFIG, "gw-1", "lite").length, 1, "lite reads them as written");
    const midLevelPlus = withGrant({ operations: ["aws.greengrass#PublishToIoTCore"], resources: ["alerts/g+"] });
    assert.deepEqual(configurationProblems(midLevelPlus, DEFAULT_CONFIG, "gw-1", "lite"), [], "lite's + matches within a level");
    assert.equal(configurationProblems(midLevelPlus, DEFAULT_CONFIG, "gw-1", "nucleus").length, 1, "the Java nucleus's + fills a whole level only");
  });
});
