// The profiles in force: the built-in one (unless DefaultProfile is false) and every valid
// profile of SecurityProfiles. A bad profile is refused by name; the others keep running.

import type { ComponentConfig } from "../config/schema.js";
import type { Logger } from "../util/log.js";
import { DEFAULT_PROFILE } from "./default-profile.js";
import { lintProfile } from "./lint.js";
import type { SecurityProfile } from "./profile-schema.js";

export function effectiveProfiles(config: ComponentConfig, log: Logger): SecurityProfile[] {
  const out: SecurityProfile[] = config.DefaultProfile ? [DEFAULT_PROFILE] : [];
  const names = new Set(out.map((p) => p.securityProfileName));
  for (const doc of config.SecurityProfiles) {
    const { profile, findings } = lintProfile(doc, { minStatisticalDatapoints: config.StatisticalMinDatapoints, intervalSeconds: config.SampleIntervalSeconds });
    if (!profile) {
      for (const f of findings) log.error("profile.rejected", { where: f.where, reason: f.message });
      continue;
    }
    if (names.has(profile.securityProfileName)) {
      log.error("profile.rejected", { where: `profile ${profile.securityProfileName}`, reason: "another profile has this name" });
      continue;
    }
    names.add(profile.securityProfileName);
    out.push(profile);
  }
  return out;
}
