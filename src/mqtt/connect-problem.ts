// What a failed connection means to the person who set the device up: TLS verification codes
// (Node's, from OpenSSL), TLS alerts the broker sent back, socket errors and MQTT 5 CONNACK
// reason codes, each turned into one reason and the file to look at.

import type { ConnectionSettings } from "./settings.js";

export interface ConnectProblem {
  reason: string;
  file?: string;
  fix?: string;
  [key: string]: string | undefined;
}

/** The broker's certificate does not chain to the configured CA. */
const UNTRUSTED_BROKER = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
]);

/** MQTT 5 CONNACK reason codes (OASIS MQTT 5.0, 3.2.2.2) AWS IoT Core answers with. */
const CONNACK: Record<number, string> = {
  133: "the broker refused the client id",
  134: "the broker refused the credentials",
  135: "not authorized: the certificate's IoT policy does not allow iot:Connect for this client id",
  136: "the broker is unavailable",
  137: "the broker is busy",
  138: "the client is banned",
  151: "the broker's quota was exceeded (connections are throttled)",
};

export function connectProblem(err: Error & { code?: string | number }, s: ConnectionSettings): ConnectProblem {
  const code = err.code;
  const message = err.message;
  if (typeof code === "number") return { reason: CONNACK[code] ?? `refused by the broker (reason code ${code}: ${message})` };
  if (code !== undefined && UNTRUSTED_BROKER.has(code)) {
    return {
      reason: `the broker's certificate is not signed by the root CA (${code})`,
      file: s["root-ca"],
      fix: "use the CA that signed the endpoint's certificate (Amazon Root CA 1 for an ATS endpoint)",
    };
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return { reason: `the broker's certificate is not for ${s.endpoint} (${message})`, file: s["root-ca"] };
  if (code === "CERT_HAS_EXPIRED") return { reason: "the broker's certificate has expired", file: s["root-ca"] };
  if (
    /alert (unknown ca|bad certificate|certificate unknown|certificate required|unsupported certificate|handshake failure)/i.test(message) ||
    /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_REQUIRED)/.test(String(code))
  ) {
    return {
      reason: `the broker refused the device certificate (${message.trim()})`,
      file: s.cert,
      fix: "the certificate must be registered and active in AWS IoT Core, with its CA",
    };
  }
  if (/alert certificate expired/i.test(message) || /CERTIFICATE_EXPIRED/.test(String(code)))
    return { reason: "the broker refused the device certificate: it has expired", file: s.cert };
  if (code === "ECONNREFUSED") return { reason: `nothing accepts connections at ${s.endpoint}:${s.port} (ECONNREFUSED)` };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return { reason: `the endpoint ${s.endpoint} does not resolve (${code})`, fix: "aws iot describe-endpoint --endpoint-type iot:Data-ATS" };
  return { reason: code ? `${message} (${code})` : message };
}
