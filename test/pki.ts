// A throwaway PKI made with openssl for the suites that speak TLS (lite's iotcored, standalone
// MQTT): a CA, the broker's certificate for localhost, and client certificates by common name.

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** A throwaway PKI: a CA, the broker's certificate, and client certificates by common name. */
export class Pki {
  constructor(
    readonly dir: string,
    readonly caName = "defender-test-ca",
  ) {
    this.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", `/CN=${caName}`]);
    this.issue("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  }
  /** Issues NAME.pem / NAME.key for CN=cn. */
  issue(name: string, cn: string, ext = "extendedKeyUsage=clientAuth\n"): { cert: string; key: string } {
    writeFileSync(join(this.dir, `${name}.ext`), ext);
    this.openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`]);
    this.openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    ]);
    return { cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}.key`) };
  }
  get ca(): string {
    return join(this.dir, "ca.pem");
  }
  private openssl(args: string[]): void {
    execFileSync("openssl", args, { cwd: this.dir, stdio: "ignore" });
  }
}
