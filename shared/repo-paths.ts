import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A path inside the repository (or the image's /app), found from this file whether it
 * runs from source or compiled into dist/: the nearest folder up that holds
 * package.json and `parts`. Null when there is none.
 */
export function repoPath(...parts: string[]): string | null {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, ...parts);
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** The repository's root folder (the nearest up with package.json). */
export function repoRoot(): string {
  const found = repoPath('package.json');
  if (!found) throw new Error('package.json not found above this module');
  return dirname(found);
}
