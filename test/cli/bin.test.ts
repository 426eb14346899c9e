import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };

const root = fileURLToPath(new URL('../..', import.meta.url));
// The real kubectl finds the plugin on PATH; the system node (possibly < 22) runs the launcher first.
const env = { ...process.env, PATH: `${root}bin:/usr/local/bin:/usr/bin:/bin`, HOME: '/tmp/netdebug-bin-test-home', KUBECONFIG: '', NO_COLOR: '1' };

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: root, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('bin/kubectl-netdebug through the real kubectl', () => {
  beforeAll(async () => {
    const built = await run('npm', ['run', 'build']);
    expect(built.code, built.stderr).toBe(0);
  }, 120_000);

  it('prints the version from package.json', async () => {
    const r = await run('kubectl', ['netdebug', '--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('prints help that says kubectl netdebug, with examples and the connection flags', async () => {
    const r = await run('kubectl', ['netdebug', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kubectl netdebug SRC DST \[flags\]/);
    expect(r.stdout).toContain('Examples:');
    for (const flag of ['--kubeconfig', '--context', '--cluster', '--user', '--request-timeout', '--output', '--timeout', '--keep', '--image']) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('is listed by kubectl plugin list without warnings', async () => {
    const r = await run('kubectl', ['plugin', 'list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${root}bin/kubectl-netdebug`);
    expect(r.stderr).not.toMatch(/warning/i);
  });

  it('rejects a bad target with exit 2 and a clear message', async () => {
    const r = await run('kubectl', ['netdebug', 'svc/web', 'pod/client']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: invalid source "svc/web": a Service cannot be a source');
    expect(r.stderr).toContain('  hint: ');
    expect(r.stdout).toBe('');
  });

  it('rejects an unknown flag with exit 2', async () => {
    const r = await run('kubectl', ['netdebug', 'a', 'b', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: Unknown argument: bogus');
  });

  it('exits 2 with a hint when there is no kubeconfig', async () => {
    const r = await run('kubectl', ['netdebug', 'client', 'web:80']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: no kubeconfig found');
  });
});
