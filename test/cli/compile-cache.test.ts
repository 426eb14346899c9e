/**
 * bin/kubectl-netdebug turns on Node's on-disk compile cache (Node >= 22.1) before loading dist/: the first start
 * stores V8's compiled bundle under $TMPDIR/node-compile-cache and the next one uses it instead of compiling.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };

const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('the npm launcher and the compile cache', () => {
  let tmp: string;
  beforeAll(() => {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' });
    tmp = mkdtempSync(join(tmpdir(), 'netdebug-compile-cache-'));
  }, 120_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('stores the bundle compiled on the first start and uses it on the next', () => {
    const bin = join(repo, 'bin', 'kubectl-netdebug');
    const start = (extra: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [bin, '--version'], { env: { PATH: process.env.PATH, TMPDIR: tmp, ...extra }, encoding: 'utf8' });
    const first = start();
    expect(first.stdout).toBe(`${pkg.version}\n`);
    const cacheDir = join(tmp, 'node-compile-cache');
    expect(existsSync(cacheDir) && readdirSync(cacheDir).length > 0, 'a compile cache in $TMPDIR').toBe(true);
    const second = start({ NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
    expect(second.stdout).toBe(`${pkg.version}\n`);
    expect(second.stderr).toMatch(/code cache for ESM file:\/\/\S*\/dist\/kubectl-netdebug\.mjs was accepted/);
  });
});
