// Security profiles that come through the Greengrass configuration may carry their numbers and
// booleans as strings: nucleus lite's YAML decoder keeps every scalar a string, `22` and `true`
// included (aws-greengrass-lite modules/ggl-yaml/src/yaml_decode.c, yaml_scalar_to_obj), so a
// profile in a recipe's DefaultConfiguration or a local deployment's YAML arrives as
// {"ports": ["22"]}; and the recipe reference recommends numeric values as strings. The service's
// API types them, and so does the profile schema (profile-schema.ts), which check-profile also
// applies to files. So here, and only for configuration, a string is given its type where the
// API has a number or a boolean, and only when it reads exactly as one; anything else is left
// for the schema to refuse with its usual message.

const NUMBER_KEYS = new Set(["count", "number", "durationSeconds", "consecutiveDatapointsToAlarm", "consecutiveDatapointsToClear"]);
const NUMBER_LIST_KEYS = new Set(["ports", "numbers"]);
const BOOLEAN_KEYS = new Set(["suppressAlerts", "exportMetric"]);
const NUMBER_TEXT = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

const asNumber = (v: unknown) => (typeof v === "string" && NUMBER_TEXT.test(v.trim()) ? Number(v) : v);
const asBoolean = (v: unknown) => (v === "true" ? true : v === "false" ? false : v);

/** The document with its API numbers and booleans typed (a new value; the input is not changed). */
export function typeProfileScalars(doc: unknown): unknown {
  if (Array.isArray(doc)) return doc.map(typeProfileScalars);
  if (doc === null || typeof doc !== "object") return doc;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (NUMBER_KEYS.has(key)) out[key] = asNumber(value);
    else if (NUMBER_LIST_KEYS.has(key) && Array.isArray(value)) out[key] = value.map(asNumber);
    else if (BOOLEAN_KEYS.has(key)) out[key] = asBoolean(value);
    else out[key] = typeProfileScalars(value);
  }
  return out;
}
