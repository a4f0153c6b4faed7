import { ConfigError, parseSection, SectionValues } from '../shared/config/env';
import { commonSection } from '../shared/config/common';
import { apiSection, webhooksSection } from '../shared/config/api';
import { provisioningSection } from '../shared/config/provisioning';

/** Every setting the API process reads: the common, API, webhooks and provisioning sections (the last for the URL it shows). */
export type ApiConfig = SectionValues<typeof commonSection.vars> & SectionValues<typeof apiSection.vars> & SectionValues<typeof webhooksSection.vars> & SectionValues<typeof provisioningSection.vars>;

/** Parses and freezes the API configuration; throws ConfigError naming every bad variable of every section. */
export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const problems: string[] = [];
  const parse = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ConfigError) {
        problems.push(...err.problems);
        return undefined;
      }
      throw err;
    }
  };
  const common = parse(() => parseSection(commonSection, env));
  const api = parse(() => parseSection(apiSection, env));
  const webhooks = parse(() => parseSection(webhooksSection, env));
  const provisioning = parse(() => parseSection(provisioningSection, env));
  if (!common || !api || !webhooks || !provisioning) throw new ConfigError(problems);
  return Object.freeze({ ...common, ...api, ...webhooks, ...provisioning });
}
