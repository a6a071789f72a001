// What the component's own `accessControl` (part of its configuration, as GetConfiguration
// returns it) allows, read the way the nucleus reads it: policies under
// accessControl.<ipc service>.<policy id>{operations, resources} (authorization/
// AuthorizationPolicyParser.java); an operation matches itself or "*"; a resource matches as in
// authorization/WildcardTrie.java: "*" is any run of characters, "/" included; for
// aws.greengrass.ipc.mqttproxy (MQTT_STYLE lookup, MqttProxyIPCAgent doAuthorization) a "+"
// filling a whole level matches one level and a trailing "#" the rest; "${*}", "${?}", "${$}"
// are the literal characters. Recipe variables such as {iot:thingName} are only substituted when
// the nucleus runs with interpolateComponentConfiguration, so they are matched literally here.
// nucleus lite substitutes them in every policy resource before matching (ggipcd/src/ipc_authz.c,
// interpolate_policy_resource), and matches "*" as any run of characters and, for mqttproxy,
// MQTT's "+" and "#" as well (ipc_authz.c ggl_ipc_default_policy_matcher, services/mqttproxy/
// mqttproxy.c): the same as the Java nucleus for every resource this component asks for.

export const PUBSUB = "aws.greengrass.ipc.pubsub";
export const MQTTPROXY = "aws.greengrass.ipc.mqttproxy";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Configuration keys are case-insensitive in the nucleus (config/Topics.java). */
function child(o: unknown, key: string): unknown {
  if (!isObj(o)) return undefined;
  const k = Object.keys(o).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : o[k];
}

export interface Grant {
  policyId: string;
  resources: string[];
}

/** The policies of one IPC service that allow `operation`. */
export function grantsFor(accessControl: unknown, service: string, operation: string): Grant[] {
  const policies = child(accessControl, service);
  if (!isObj(policies)) return [];
  const out: Grant[] = [];
  for (const [policyId, policy] of Object.entries(policies)) {
    const ops = child(policy, "operations");
    const resources = child(policy, "resources");
    if (!Array.isArray(ops) || !ops.some((op) => op === operation || op === "*")) continue;
    out.push({ policyId, resources: Array.isArray(resources) ? resources.filter((r): r is string => typeof r === "string") : [] });
  }
  return out;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\]/g;

const NEVER = /$^/;

/**
 * A policy resource as a regular expression over requested resources. A resource the nucleus
 * refuses to load (an escape other than ${*} ${?} ${$}, or a bare "?") matches nothing.
 */
export function resourcePattern(resource: string, mqttStyle: boolean): RegExp {
  let out = "";
  for (let i = 0; i < resource.length; i++) {
    const c = resource[i]!;
    if (c === "$" && resource[i + 1] === "{") {
      if (resource[i + 3] !== "}" || !"*?$".includes(resource[i + 2] ?? "")) return NEVER;
      out += resource[i + 2]!.replace(REGEX_SPECIAL, "\\$&");
      i += 3;
    } else if (c === "?") {
      return NEVER;
    } else if (c === "*") {
      out += ".*";
    } else if (mqttStyle && c === "+" && (i === 0 || resource[i - 1] === "/") && (i === resource.length - 1 || resource[i + 1] === "/")) {
      out += "[^/]*";
    } else if (mqttStyle && c === "#" && i === resource.length - 1 && (i === 0 || resource[i - 1] === "/")) {
      // "a/#" also matches "a" itself.
      if (i === 0) out += ".*";
      else out = `${out.slice(0, -1)}(?:/.*)?`;
    } else {
      out += c.replace(REGEX_SPECIAL, "\\$&");
    }
  }
  return new RegExp(`^${out}$`, "s");
}

/**
 * Whether `accessControl` lets the component perform `operation` on `resource`. With a thing
 * name, {iot:thingName} in a policy resource stands for it first (what nucleus lite does).
 */
export function isGranted(accessControl: unknown, service: string, operation: string, resource: string, thingName?: string): boolean {
  const mqtt = service === MQTTPROXY;
  const interpolate = (r: string) => (thingName === undefined ? r : r.replaceAll("{iot:thingName}", thingName));
  return grantsFor(accessControl, service, operation).some((g) => g.resources.some((r) => resourcePattern(interpolate(r), mqtt).test(resource)));
}

/** A sentence saying which grant would allow an operation, for logs and deployment messages. */
export function missingGrant(service: string, operation: string, resource: string): string {
  return `accessControl.${service} needs a policy with operation ${operation} and a resource matching "${resource}"`;
}
