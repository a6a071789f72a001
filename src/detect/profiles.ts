// Where profiles come from, in one place: the built-in one (unless DefaultProfile is false), the
// SecurityProfiles configuration key, and files named on the command line. Each document is
// validated and linted (./lint.ts) on its own: a bad one is refused by name and the others run.
// A profile that was valid and is now edited with a mistake keeps running in its last good
// version (its alarms stay), with the error logged.

import type { ComponentConfig } from "../config/schema.js";
import type { Logger } from "../util/log.js";
import { DEFAULT_PROFILE } from "./default-profile.js";
import { type Finding, type LintOptions, lintOptionsOf, lintProfile } from "./lint.js";
import type { SecurityProfile } from "./profile-schema.js";

const nameOf = (doc: unknown) => {
  const n = (doc as { securityProfileName?: unknown } | null | undefined)?.securityProfileName;
  return typeof n === "string" ? n : undefined;
};

export class ProfilesInForce {
  private readonly lastGood = new Map<string, SecurityProfile>();
  private said = new Set<string>();

  /** The profiles a configuration puts in force; logs each refusal once per distinct problem. */
  update(config: ComponentConfig, log: Logger): SecurityProfile[] {
    const out: SecurityProfile[] = config.DefaultProfile ? [DEFAULT_PROFILE] : [];
    const names = new Set(out.map((p) => p.securityProfileName));
    const said = new Set<string>();
    const say = (key: string, f: () => void) => {
      said.add(key);
      if (!this.said.has(key)) f();
    };
    const kept = new Map<string, SecurityProfile>();
    for (const doc of config.SecurityProfiles) {
      const { profile, findings } = lintProfile(doc, lintOptionsOf(config));
      let use = profile;
      if (!use) {
        const name = nameOf(doc);
        const previous = name === undefined ? undefined : this.lastGood.get(name);
        for (const f of findings) {
          say(`${f.where}|${f.message}`, () =>
            log.error("profile.rejected", { where: f.where, reason: f.message, kept: previous ? "its last good version" : "nothing (it never was valid)" }),
          );
        }
        use = previous;
        if (!use) continue;
      }
      if (names.has(use.securityProfileName)) {
        say(`dup|${use.securityProfileName}`, () =>
          log.error("profile.rejected", { where: `profile ${use.securityProfileName}`, reason: "another profile has this name" }),
        );
        continue;
      }
      names.add(use.securityProfileName);
      kept.set(use.securityProfileName, use);
      out.push(use);
    }
    // Remembered are the profiles still configured (a removed profile is gone, not kept).
    this.lastGood.clear();
    for (const [n, p] of kept) this.lastGood.set(n, p);
    this.said = said;
    return out;
  }
}

/** Profiles from documents (a file's content): all valid, or the findings that say why not. */
export function profilesFrom(docs: unknown[], opts: LintOptions): { profiles: SecurityProfile[]; errors: Finding[] } {
  const profiles: SecurityProfile[] = [];
  const errors: Finding[] = [];
  for (const doc of docs) {
    const { profile, findings } = lintProfile(doc, opts);
    if (profile) profiles.push(profile);
    else errors.push(...findings.filter((f) => f.level === "ERROR"));
  }
  return { profiles, errors };
}
