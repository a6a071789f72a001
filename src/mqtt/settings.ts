// How a device without Greengrass reaches AWS IoT Core: the endpoint and the files of its
// identity, named as AWS IoT Device Client names them (`endpoint`, `cert`, `key`, `root-ca`,
// `thing-name`, `client-id`), from `run`'s options or the same keys in its --config file.
// The files are read and checked here, once, so that every problem names its file.

import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { z } from "zod";

/** CreateThing: a thing name is 1-128 of [a-zA-Z0-9:_-]. */
const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;
const file = (what: string) => z.string({ error: `is required: the ${what} file` }).min(1, `is required: the ${what} file`);

export const ConnectionSchema = z.object({
  endpoint: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9.-]+$/, "must be a host name such as abc123-ats.iot.eu-west-1.amazonaws.com"),
  port: z
    .union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
    .pipe(z.int().min(1, "must be a port from 1 to 65535").max(65535, "must be a port from 1 to 65535"))
    .default(8883),
  cert: file("device certificate (PEM)"),
  key: file("private key (PEM)"),
  "root-ca": file("root CA (PEM)"),
  "thing-name": z.string({ error: "is required" }).regex(THING_NAME, "must be 1-128 letters, digits, ':', '_' or '-' (CreateThing)"),
  "client-id": z.string().min(1).max(128, "must be at most 128 characters (AWS IoT Core quota)").optional(),
});
export type ConnectionSettings = z.infer<typeof ConnectionSchema>;
export const CONNECTION_KEYS = Object.keys(ConnectionSchema.shape) as Array<keyof ConnectionSettings>;

export interface Identity {
  settings: ConnectionSettings;
  clientId: string;
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  /** Problems that do not stop a connection attempt, each naming its file. */
  warnings: Array<{ level: "WARN" | "ERROR"; event: string; fields: Record<string, string> }>;
}

/** Reads and checks the identity's files; an error names the file and what is wrong with it. */
export function loadIdentity(settings: ConnectionSettings, now = Date.now()): { identity?: Identity; error?: string } {
  const read = (key: "cert" | "key" | "root-ca") => {
    try {
      return { data: readFileSync(settings[key]) };
    } catch (err) {
      return { error: `${key} ${settings[key]}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
    }
  };
  const cert = read("cert");
  const key = read("key");
  const ca = read("root-ca");
  const unreadable = [cert, key, ca].find((r) => r.error);
  if (unreadable) return { error: unreadable.error };
  const warnings: Identity["warnings"] = [];
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert.data!);
  } catch (err) {
    return { error: `cert ${settings.cert}: not a PEM certificate (${(err as Error).message})` };
  }
  try {
    new X509Certificate(ca.data!);
  } catch (err) {
    return { error: `root-ca ${settings["root-ca"]}: not a PEM certificate (${(err as Error).message})` };
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key.data!))) return { error: `key ${settings.key}: is not the private key of the certificate ${settings.cert}` };
  } catch (err) {
    return { error: `key ${settings.key}: not a PEM private key (${(err as Error).message})` };
  }
  if (Date.parse(x509.validTo) < now)
    warnings.push({
      level: "ERROR",
      event: "mqtt.certificate_expired",
      fields: { file: settings.cert, valid_to: new Date(x509.validTo).toISOString(), effect: "AWS IoT Core refuses the connection" },
    });
  else if (Date.parse(x509.validFrom) > now)
    warnings.push({
      level: "ERROR",
      event: "mqtt.certificate_not_yet_valid",
      fields: { file: settings.cert, valid_from: new Date(x509.validFrom).toISOString(), effect: "the broker refuses it until then (or this clock is wrong)" },
    });
  try {
    const mode = statSync(settings.key).mode & 0o777;
    if ((mode & 0o077) !== 0)
      warnings.push({
        level: "WARN",
        event: "mqtt.key_readable_by_others",
        fields: { file: settings.key, mode: `0${mode.toString(8)}`, fix: `chmod 600 ${settings.key}` },
      });
  } catch {
    // read above; a race with its removal shows at connect
  }
  return { identity: { settings, clientId: settings["client-id"] ?? settings["thing-name"], cert: cert.data!, key: key.data!, ca: ca.data!, warnings } };
}
