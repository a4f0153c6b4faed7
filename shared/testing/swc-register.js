// Lets a test start a real child process from TypeScript sources: `node -r ./shared/testing/swc-register.js x.ts`
// compiles each required .ts file with swc (already a dev dependency, as jest uses it). Tests only.
const { transformSync } = require('@swc/core');
const { readFileSync } = require('node:fs');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
