import { apiSection } from '../shared/config/api';
import { commonSection } from '../shared/config/common';
import { ConfigError, parseSection, SectionValues } from '../shared/config/env';
import { provisioningSection } from '../shared/config/provisioning';

/**
 * What the provisioning server reads: the common and provisioning sections, and of the
 * API section what devices are told (SIP_PUBLIC_*, SIP_TRANSPORT) and the keyring
 * (CREDENTIAL_*), so a provisioned phone gets what the credentials route shows.
 */
export type ProvisioningConfig = SectionValues<typeof commonSection.vars> & SectionValues<typeof apiSection.vars> & SectionValues<typeof provisioningSection.vars>;

export function loadProvisioningConfig(env: NodeJS.ProcessEnv = process.env): ProvisioningConfig {
  const problems: string[] = [];
  const parts = [commonSection, apiSection, provisioningSection].map((section) => {
    try {
      return parseSection(section as typeof commonSection, env);
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else throw err;
      return undefined;
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(Object.assign({}, ...parts)) as ProvisioningConfig;
}
