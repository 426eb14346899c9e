/**
 * The bundle loads undici (the Kubernetes client's HTTP library) on its first use, not when the client is imported
 * (krew/build.ts, lazyUndici): its evaluation then overlaps the handshakes of the API connection opened ahead (main.ts).
 * undici sets its global dispatcher (Symbol.for('undici.globalDispatcher.1')) when it is evaluated, which tells whether
 * it was.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const chunks = join(repo, 'dist', 'chunks');

/** Runs a module in a fresh Node and returns what it printed. */
function runModule(code: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' } });
}

describe('undici is loaded on first use', () => {
  let configChunk: string;
  beforeAll(() => {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' });
    // The chunk the entry imports for src/kube/config.ts (the one that loads the Kubernetes client).
    const name = readdirSync(chunks).find((f) => /^config-[A-Z0-9]+\.mjs$/.test(f));
    if (!name) throw new Error(`no config chunk in ${chunks}`);
    configChunk = join(chunks, name);
  }, 120_000);

  it('importing the Kubernetes client does not evaluate undici', () => {
    const out = runModule(`await import(${JSON.stringify(configChunk)}); console.log(globalThis[Symbol.for('undici.globalDispatcher.1')] === undefined ? 'not loaded' : 'loaded');`);
    expect(out.trim()).toBe('not loaded');
  });

  it('the stand-in in the bundle names every export of the real module', () => {
    const names = JSON.parse(runModule(`import { createRequire } from 'node:module'; console.log(JSON.stringify(Object.keys(createRequire(${JSON.stringify(join(repo, 'package.json'))})('undici'))));`)) as string[];
    expect(names).toEqual(expect.arrayContaining(['Agent', 'ProxyAgent', 'fetch', 'buildConnector', 'getGlobalDispatcher', 'errors']));
    const bundle = readdirSync(chunks).map((f) => readFileSync(join(chunks, f), 'utf8')).join('\n');
    // Minified, each is `Object.defineProperty(exports, "Name", { enumerable: true, get: () => load().Name })`.
    expect(names.filter((n) => !bundle.includes(`"${n}",{enumerable:!0,get:()=>`))).toEqual([]);
  });
});
