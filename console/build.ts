import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { CONSOLE_ASSETS } from '../api/console-route';
import { repoRoot } from '../shared/repo-paths';

/**
 * Builds the console's static assets (console/src → one minified script, the style
 * sheet, index.html) into `outDir`, names the script and style sheet after their
 * content, so the API may let browsers cache them for good while index.html is
 * always revalidated. Run by `npm start`, the Docker build and the console tests.
 */

/** Where the built console lives unless told otherwise: dist/console-assets. */
export function defaultConsoleDir(): string {
  return join(repoRoot(), ...CONSOLE_ASSETS);
}

const hashed = (name: string, ext: string, body: string | Uint8Array): string =>
  `${name}.${createHash('sha256').update(body).digest('hex').slice(0, 12)}.${ext}`;

export async function buildConsole(outDir = defaultConsoleDir()): Promise<{ outDir: string; files: string[] }> {
  const root = repoRoot();
  const result = await build({
    entryPoints: [join(root, 'console', 'src', 'main.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = result.outputFiles[0]!.contents;
  const css = readFileSync(join(root, 'console', 'static', 'styles.css'));
  const jsName = hashed('app', 'js', js);
  const cssName = hashed('styles', 'css', css);
  const html = readFileSync(join(root, 'console', 'static', 'index.html'), 'utf8').replace('__APP_JS__', jsName).replace('__STYLES_CSS__', cssName);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, jsName), js);
  writeFileSync(join(outDir, cssName), css);
  writeFileSync(join(outDir, 'index.html'), html);
  return { outDir, files: ['index.html', jsName, cssName] };
}

if (require.main === module) {
  buildConsole().then(
    (r) => process.stderr.write(`console: built ${r.files.join(', ')} into ${r.outDir}\n`),
    (err: Error) => {
      process.stderr.write(`console: build failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
