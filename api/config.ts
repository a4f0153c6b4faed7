import { ConfigError, parseSection, SectionValues } from '../shared/config/env';
import { commonSection } from '../shared/config/common';
import { apiSection, webhooksSection } from '../shared/config/api';

/** Every setting the API process reads: the common section plus the API section. */
export type ApiConfig = SectionValues<typeof commonSection.vars> & SectionValues<typeof apiSection.vars> & SectionValues<typeof webhooksSection.vars>;

/** Parses and freezes the API configuration; throws ConfigError naming every bad variable of both sections. */
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
  if (!common || !api || !webhooks) throw new ConfigError(problems);
  return Object.freeze({ ...common, ...api, ...webhooks });
}
