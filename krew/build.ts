/**
 * Bundles src/main.ts into dist/kubectl-netdebug.mjs: one ESM file for Node 22+, dependencies included, so the
 * published package needs nothing but bin/ and dist/. The same file is the entry of the single executables
 * (krew/package.ts).
 */
import { build } from 'esbuild';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The bundle's path relative to the repository root. */
export const BUNDLE = 'dist/kubectl-netdebug.mjs';

/**
 * Writes dist/kubectl-netdebug.mjs (and its LEGAL.txt) from src/main.ts. Each file is written next to its place and
 * renamed over it, so a build running at the same time (test suites build in parallel) never reads half a bundle.
 */
export async function buildBundle(): Promise<void> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/main.ts'],
    outfile: BUNDLE,
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
    write: false,
  });
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
  }
}

if (import.meta.main) await buildBundle();
