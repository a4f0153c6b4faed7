import type { EnvSection, EnvVar } from './env';

/** Renders the configuration reference (docs/configuration.md) from the config sections themselves. */
export function renderConfigDoc(sections: readonly EnvSection<Record<string, EnvVar<unknown>>>[]): string {
  const lines = [
    '# Configuration reference',
    '',
    'Every setting is an environment variable, parsed and validated once when a process starts.',
    'A bad value stops the process with a message naming the variable (never its value).',
    'This page is generated from `shared/config/*.ts` by `npm run config-doc`; a test fails when it is out of date.',
    '',
  ];
  for (const section of sections) {
    lines.push(`## ${section.title}`, '', '| Variable | Default | Description |', '| --- | --- | --- |');
    for (const [name, spec] of Object.entries(section.vars)) {
      const def = spec.default !== undefined ? `\`${spec.default}\`` : spec.required ? '(required)' : '(unset)';
      const doc = spec.doc.replace(/\|/g, '\\|') + (spec.secret ? ' Secret: never logged.' : '');
      lines.push(`| \`${name}\` | ${def} | ${doc} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
