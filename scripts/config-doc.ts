// `npm run config-doc`: regenerates docs/configuration.md from the config sections.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigDoc } from '../shared/config/doc';
import { ALL_SECTIONS } from '../shared/config/sections';

const target = join(__dirname, '..', '..', 'docs', 'configuration.md');
writeFileSync(target, renderConfigDoc(ALL_SECTIONS));
console.log(`wrote ${target}`);
