import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseSection } from '../config/env';
import { commonSection } from '../config/common';
import { renderConfigDoc } from '../config/doc';
import { ALL_SECTIONS } from '../config/sections';

describe('configuration', () => {
  it('applies the documented defaults when nothing is set', () => {
    const cfg = parseSection(commonSection, {});
    expect(cfg.LOG_LEVEL).toBe('info');
    expect(cfg.DATABASE_POOL_SIZE).toBe(10);
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('lower-cases the default SIP domain, as every stored SIP domain is (the registrar looks realms up lower-cased)', () => {
    expect(parseSection(commonSection, { SIP_DEFAULT_DOMAIN: 'Sip.Example.COM' }).SIP_DEFAULT_DOMAIN).toBe('sip.example.com');
  });

  it('stops on a bad value with a message naming the variable but not the value', () => {
    let caught: unknown;
    try {
      parseSection(commonSection, { DATABASE_POOL_SIZE: '-3', REDIS_URL: 'not a url with hunter2' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as Error).message;
    expect(message).toContain('DATABASE_POOL_SIZE');
    expect(message).toContain('REDIS_URL');
    expect(message).not.toContain('hunter2');
  });

  it('every section parses with its defaults alone', () => {
    for (const section of ALL_SECTIONS) expect(() => parseSection(section, {})).not.toThrow();
  });

  it('docs/configuration.md is generated from the current sections (run `npm run config-doc`)', () => {
    const onDisk = readFileSync(join(__dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');
    expect(onDisk).toBe(renderConfigDoc(ALL_SECTIONS));
  });
});
