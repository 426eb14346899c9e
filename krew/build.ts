/**
 * Bundles src/main.ts into dist/kubectl-netdebug.mjs: one ESM file for Node 22+, dependencies included, so the
 * published package needs nothing but bin/ and dist/.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/kubectl-netdebug.mjs',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  legalComments: 'linked',
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require(); ESM has none, so give them one.
  banner: { js: "import { createRequire as __netdebugCreateRequire } from 'node:module'; const require = __netdebugCreateRequire(import.meta.url);" },
  // Ink imports react-devtools-core statically but only uses it in development.
  alias: { 'react-devtools-core': './krew/empty-module.ts' },
});
