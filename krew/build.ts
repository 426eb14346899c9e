/**
 * Bundles src/main.ts for the two ways the plugin is installed. `npm run build` writes dist/ for the npm package:
 * dist/kubectl-netdebug.mjs plus the chunks it imports when a command needs them (code splitting), so `--version` and
 * `--help` parse only the command line's code. The single executables (krew/package.ts) embed one file instead
 * (a SEA can only import built-in modules), built by buildSeaBundle. Both are minified ESM for Node 22+ with every
 * dependency included.
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The bundle's entry file (what bin/kubectl-netdebug imports), relative to the repository root. */
export const BUNDLE = 'dist/kubectl-netdebug.mjs';
/** The directory of the chunks the entry imports on demand, relative to the repository root. */
const CHUNK_DIR = 'dist/chunks';

/**
 * Every `import stringWidth from 'string-width'` (yargs, cliui and Ink use versions 7 and 8) gets a stand-in that
 * loads the real module on its first call with anything but printable ASCII. At load time string-width builds an
 * Intl.Segmenter and Unicode property regexps, about 100 ms on this machine, which `--version` never needs; for
 * printable ASCII (everything in `--help`) both versions return the string's length, which the stand-in returns itself.
 */
const lazyStringWidth: Plugin = {
  name: 'lazy-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === 'real') return undefined;
      const real = await b.resolve(args.path, { resolveDir: args.resolveDir, importer: args.importer, kind: args.kind, pluginData: 'real' });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: 'lazy-string-width' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      // esbuild turns the require() of a bundled ES module into a call that evaluates it then, not at startup.
      contents:
        'let real;\n' +
        'export default function stringWidth(text, options) {\n' +
        "  if (typeof text === 'string' && /^[\\x20-\\x7e]*$/.test(text)) return text.length;\n" +
        `  real ??= require(${JSON.stringify(`./${basename(args.path)}`)}).default;\n` +
        '  return real(text, options);\n' +
        '}\n',
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * Node's built-in modules are loaded when first used, not at startup. esbuild hoists an ES module's `import ... from
 * 'node:http'` to the top of the bundle, so the Kubernetes client's imports alone loaded http, https, tls, net and
 * undici before `--version` printed anything. Each built-in import instead resolves to a CommonJS stand-in
 * (`module.exports = require('node:http')`), which esbuild evaluates with the module that imports it: on demand when
 * that module is only reached by a dynamic import.
 */
const lazyBuiltins: Plugin = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!isBuiltin(args.path)) return undefined;
      // A dynamic import() is already lazy, and must keep the built-in's named exports: left as it is.
      if (args.namespace === 'lazy-builtin' || args.kind === 'dynamic-import') return { path: args.path, external: true };
      return { path: args.path, namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});\n`, loader: 'js' }));
  },
};

/**
 * undici (the Kubernetes client's HTTP library, and ours) is loaded on first use, not when the client is imported: its
 * evaluation is about 40 ms on this machine, which then runs while the API connection opened ahead (main.ts) is still
 * in its handshakes instead of before it is opened. Every import of 'undici' resolves to a CommonJS stand-in with one
 * getter per export of the real module (its names read here, at build time), each of which loads the real module on
 * first access. esbuild copies an imported CommonJS module's exports as getters too, so nothing is read before use.
 */
const lazyUndici: Plugin = {
  name: 'lazy-undici',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, async (args) => {
      if (args.pluginData === 'real') return undefined;
      const real = await b.resolve(args.path, { resolveDir: args.resolveDir, importer: args.importer, kind: args.kind, pluginData: 'real' });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: 'lazy-undici' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-undici' }, (args) => {
      const names = Object.keys(createRequire(args.path)(args.path) as object);
      if (names.length === 0) return { errors: [{ text: `${args.path} exports nothing` }] };
      const real = JSON.stringify(`./${basename(args.path)}`);
      return {
        contents:
          `let real;\nconst load = () => (real ??= require(${real}));\n` +
          names.map((n) => `Object.defineProperty(exports, ${JSON.stringify(n)}, { enumerable: true, get: () => load()[${JSON.stringify(n)}] });`).join('\n') +
          '\n',
        resolveDir: dirname(args.path),
        loader: 'js',
      };
    });
  },
};

/** The options both bundles share. */
const COMMON: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // Smaller means less for V8 to parse on every start; nothing here depends on function or class names.
  minify: true,
  // Third-party license notices stay inside the file that carries the code.
  legalComments: 'eof',
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require(); ESM has none, so give them one.
  banner: { js: "import { createRequire as __netdebugCreateRequire } from 'node:module'; const require = __netdebugCreateRequire(import.meta.url);" },
  // Ink imports react-devtools-core statically but only uses it in development.
  alias: { 'react-devtools-core': './krew/empty-module.ts' },
  plugins: [lazyStringWidth, lazyBuiltins, lazyUndici],
};

/**
 * Writes dist/kubectl-netdebug.mjs and its chunks (dist/chunks/) from src/main.ts, and removes chunks of earlier
 * builds. Each file is written next to its place and renamed over it, so a build running at the same time (test suites
 * build in parallel) never reads half a file; chunk names carry a content hash, so such a build writes the same names.
 */
export async function buildBundle(): Promise<void> {
  const result = await build({
    ...COMMON,
    write: false,
    entryPoints: [{ in: 'src/main.ts', out: 'kubectl-netdebug' }],
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  });
  const written = new Set<string>();
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
    written.add(relative(root, file.path));
  }
  for (const name of readdirSync(join(root, CHUNK_DIR))) {
    const rel = `${CHUNK_DIR}/${name}`;
    if (name.endsWith('.mjs') && !written.has(rel)) rmSync(join(root, rel), { force: true });
  }
  // The single unminified file and its LEGAL.txt that earlier versions wrote.
  rmSync(join(root, 'dist', 'kubectl-netdebug.mjs.LEGAL.txt'), { force: true });
}

/** The single-file bundle of src/main.ts that the single executables embed (nothing to import at run time). */
export async function buildSeaBundle(): Promise<Buffer> {
  const result = await build({ ...COMMON, write: false, entryPoints: ['src/main.ts'], outfile: 'kubectl-netdebug.mjs' });
  const [file] = result.outputFiles;
  if (!file || result.outputFiles.length !== 1) throw new Error(`esbuild wrote ${result.outputFiles.length} files for the single-file bundle, expected 1`);
  return Buffer.from(file.contents);
}

if (import.meta.main) await buildBundle();
