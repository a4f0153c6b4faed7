import type { EnvSection, EnvVar } from './env';
import { commonSection } from './common';
import { apiSection, webhooksSection } from './api';
import { drachtioSection } from './drachtio';
import { edgeSection } from './edge';
import { provisioningSection } from './provisioning';
import { registrarSection } from './registrar';

/** Every configuration section, in the order docs/configuration.md lists them. */
export const ALL_SECTIONS: readonly EnvSection<Record<string, EnvVar<unknown>>>[] = [
  commonSection,
  apiSection,
  webhooksSection,
  provisioningSection,
  registrarSection,
  drachtioSection,
  edgeSection,
];
