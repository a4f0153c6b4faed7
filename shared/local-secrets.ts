import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './logger';

/**
 * Returns `configured` when set. Otherwise reads (or creates) a random secret in
 * `<dataDir>/<fileName>` so that a development stack works without setup, and
 * warns: production deployments must configure the variable.
 */
export function secretOrLocal(
  configured: string | undefined,
  opts: { variable: string; dataDir: string; fileName: string; bytes?: number; log?: Logger },
): string {
  if (configured) return configured;
  const file = join(opts.dataDir, opts.fileName);
  let value: string;
  if (existsSync(file)) {
    value = readFileSync(file, 'utf8').trim();
  } else {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    value = randomBytes(opts.bytes ?? 32).toString('base64url');
    try {
      writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
    } catch {
      // Another process of the stack created it first: use theirs.
      value = readFileSync(file, 'utf8').trim();
    }
  }
  opts.log?.warn({ variable: opts.variable, file }, 'secret not configured: using a generated local one (set the variable in production)');
  return value;
}
