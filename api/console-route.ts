import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express, { Router } from 'express';
import { repoPath } from '../shared/repo-paths';

/** Where `npm start` (console/build.ts) puts the built console, from the repository root. */
export const CONSOLE_ASSETS = ['dist', 'console-assets'] as const;

/**
 * The console's headers: a strict Content-Security-Policy (scripts and styles from this
 * origin only, no inline code, no eval; requests only to this origin), no framing, no
 * sniffing, no referrer. Every response under /console/ carries them.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), clipboard-write=(self)',
};

/** The built console's folder: `dir` when given, else dist/console-assets of the repository; null when not built. */
export function consoleDir(dir?: string | null): string | null {
  if (dir) return existsSync(join(dir, 'index.html')) ? dir : null;
  const index = repoPath(...CONSOLE_ASSETS, 'index.html');
  return index ? dirname(index) : null;
}

/**
 * Serves the admin console at /console/ (same origin as the API: no CORS). index.html
 * is revalidated on every load; the script and style sheet carry their content hash in
 * their names and are cached for good. Without a build, a plain 503 says how to make one.
 */
export function consoleRouter(dir: string | null): Router {
  const r = Router();
  r.use((_req, res, next) => {
    res.set(CONSOLE_HEADERS);
    next();
  });
  if (!dir) {
    r.use((_req, res) => void res.status(503).type('text/plain').send('The console is not built: run `npm start`, or `npm run console:build`.\n'));
    return r;
  }
  const index = readFileSync(join(dir, 'index.html'));
  const sendIndex = (_req: express.Request, res: express.Response): void => {
    res.set('Cache-Control', 'no-cache').type('html').send(index);
  };
  r.get('/', sendIndex);
  r.get('/index.html', sendIndex);
  r.use(
    express.static(dir, {
      index: false,
      dotfiles: 'deny',
      fallthrough: true,
      setHeaders: (res) => void res.set('Cache-Control', 'public, max-age=31536000, immutable'),
    }),
  );
  r.use((_req, res) => void res.status(404).type('text/plain').send('Not found.\n'));
  return r;
}
