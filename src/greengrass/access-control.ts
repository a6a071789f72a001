// What the component's own `accessControl` (part of its configuration, as GetConfiguration
// returns it) allows, read the way each runtime reads it. The two differ, so each has its rules
// here, cited from its source.
//
// Java nucleus: policies under accessControl.<ipc service>.<policy id>{operations, resources}
// with case-insensitive keys (authorization/AuthorizationPolicyParser.java, config/Topics.java);
// an operation matches itself or "*"; a resource matches as in authorization/WildcardTrie.java:
// "*" is any run of characters, "/" included; for aws.greengrass.ipc.mqttproxy (MQTT_STYLE
// lookup, MqttProxyIPCAgent doAuthorization) a "+" filling a whole level matches one level and a
// trailing "#" the rest; "${*}", "${?}", "${$}" are the literal characters. Recipe variables such
// as {iot:thingName} are only substituted when the nucleus runs with
// interpolateComponentConfiguration, so they are matched literally.
//
// nucleus lite (modules/ggipcd/src/ipc_authz.c, services/mqttproxy/mqttproxy.c): keys are read
// case-sensitively (the config store collates BINARY); an operation matches its full name or "*";
// variables ({iot:thingName} and others) are substituted in each resource at every request, and a
// resource whose variable cannot be resolved is skipped; a resource then matches by
// ggl_ipc_default_policy_matcher, a glob where "*" is any run of characters and ${x} is x; for
// mqttproxy it also matches by match_topic_filter, where "+" anywhere takes the characters up to
// the next "/" and "#" anywhere matches whatever follows. The glob rewrites the resource in place
// before match_topic_filter reads it (ggl_ipc_mqtt_policy_matcher), which matters only for a
// resource with "*" or an escape; it is modelled as the C code does it.

import type { Runtime } from "./runtime.js";

export const PUBSUB = "aws.greengrass.ipc.pubsub";
export const MQTTPROXY = "aws.greengrass.ipc.mqttproxy";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A configuration key as the runtime looks it up. */
function child(o: unknown, key: string, runtime: Runtime): unknown {
  if (!isObj(o)) return undefined;
  if (runtime === "lite") return Object.hasOwn(o, key) ? o[key] : undefined;
  const k = Object.keys(o).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : o[k];
}

export interface Grant {
  policyId: string;
  resources: string[];
}

/** The policies of one IPC service that allow `operation`. */
export function grantsFor(accessControl: unknown, service: string, operation: string, runtime: Runtime = "nucleus"): Grant[] {
  const policies = child(accessControl, service, runtime);
  if (!isObj(policies)) return [];
  const out: Grant[] = [];
  for (const [policyId, policy] of Object.entries(policies)) {
    const ops = child(policy, "operations", runtime);
    const resources = child(policy, "resources", runtime);
    if (!Array.isArray(ops) || !ops.some((op) => op === operation || op === "*")) continue;
    out.push({ policyId, resources: Array.isArray(resources) ? resources.filter((r): r is string => typeof r === "string") : [] });
  }
  return out;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\]/g;

const NEVER = /$^/;

/**
 * A policy resource as the Java nucleus reads it, as a regular expression over requested
 * resources. A resource the nucleus refuses to load (an escape other than ${*} ${?} ${$}, or a
 * bare "?") matches nothing.
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

/** The character lite's glob writes for "*" in place (ipc_authz.c: '\0'). */
const STAR = "\0";

/**
 * lite's ggl_ipc_default_policy_matcher: `pattern` is the resource as the glob rewrites it in
 * place ("*" as NUL, "${x}" as x), of which the first `length` characters are the pattern.
 */
function liteGlob(request: string, resource: string): { matches: boolean; rewritten: string } {
  let pattern = "";
  let inEscape = false;
  for (let i = 0; i < resource.length; i++) {
    const c = resource[i]!;
    if (inEscape) {
      if (c === "}") {
        inEscape = false;
        continue;
      }
    } else {
      if (c === "*") {
        pattern += STAR;
        continue;
      }
      if (c === "$" && i < resource.length - 1 && resource[i + 1] === "{") {
        inEscape = true;
        i += 1;
        continue;
      }
    }
    pattern += c;
  }
  // The buffer keeps its length: the bytes after the rewritten pattern are the resource's own.
  const rewritten = pattern + resource.slice(pattern.length);
  const segments = pattern.split(STAR);
  if (segments.length === 1) return { matches: request === pattern, rewritten };
  let remaining = request;
  for (const [k, segment] of segments.slice(0, -1).entries()) {
    const at = k === 0 ? (remaining.startsWith(segment) ? 0 : -1) : remaining.indexOf(segment);
    if (at < 0) return { matches: false, rewritten };
    remaining = remaining.slice(at + segment.length);
  }
  return { matches: remaining.endsWith(segments.at(-1)!), rewritten };
}

/** lite's match_topic_filter (mqttproxy.c), with the arguments as ggl_ipc_mqtt_policy_matcher passes them. */
function liteTopicFilter(request: string, filter: string): boolean {
  let j = 0;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i]!;
    if (c === "+") {
      while (j < request.length && request[j] !== "/") j++;
    } else if (c === "#") {
      return true;
    } else {
      if (j >= request.length || c !== request[j]) return false;
      j++;
    }
  }
  return j === request.length;
}

/**
 * lite's variable substitution in a policy resource (ipc_authz.c interpolate_policy_resource,
 * modules/ggl-config-interpolation): "{" not after "$" starts a variable. {iot:thingName} is the
 * thing's name; any other variable (the root path, the work path, a configuration value) is not
 * known here, so the resource is treated as one lite could not resolve: undefined, skipped.
 */
function liteInterpolate(resource: string, thingName: string): string | undefined {
  let out = "";
  for (let i = 0; i < resource.length; i++) {
    const c = resource[i]!;
    if (c !== "{" || (i > 0 && resource[i - 1] === "$")) {
      out += c;
      continue;
    }
    const end = resource.indexOf("}", i);
    if (end < 0) return undefined;
    if (resource.slice(i + 1, end) !== "iot:thingName") return undefined;
    out += thingName;
    i = end;
  }
  return out;
}

/** Whether one policy resource allows a request, as `runtime` matches it. */
export function resourceAllows(resource: string, request: string, service: string, runtime: Runtime, thingName = ""): boolean {
  const mqtt = service === MQTTPROXY;
  if (runtime === "nucleus") return resourcePattern(resource, mqtt).test(request);
  if (resource === "*") return true;
  const interpolated = liteInterpolate(resource, thingName);
  if (interpolated === undefined) return false;
  const glob = liteGlob(request, interpolated);
  return glob.matches || (mqtt && liteTopicFilter(request, glob.rewritten));
}

/** Whether `accessControl` lets the component perform `operation` on `resource`, as `runtime` decides it. */
export function isGranted(
  accessControl: unknown,
  service: string,
  operation: string,
  resource: string,
  runtime: Runtime = "nucleus",
  thingName?: string,
): boolean {
  return grantsFor(accessControl, service, operation, runtime).some((g) => g.resources.some((r) => resourceAllows(r, resource, service, runtime, thingName)));
}

/** A sentence saying which grant would allow an operation, for logs and deployment messages. */
export function missingGrant(service: string, operation: string, resource: string): string {
  return `accessControl.${service} needs a policy with operation ${operation} and a resource matching "${resource}"`;
}
