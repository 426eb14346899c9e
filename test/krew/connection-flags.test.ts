/**
 * kubectl's connection flags end to end, through the real kubectl and this checkout's built bin/, against a lab with
 * NO kubeconfig at all (KUBECONFIG points nowhere, HOME is empty): `-s/--server` + `--token` with
 * `--insecure-skip-tls-verify` or `--certificate-authority` diagnose; a wrong token, a 1 ms `--request-timeout` and an
 * unverifiable certificate each exit 3 with a message saying so; completion works from the same flags.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run, skipLabSuite, startTestLab, type CommandResult, type TestLab } from '../lab/harness.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const skip = skipLabSuite('connection flags');

describe.skipIf(skip)('connection flags against a lab, with no kubeconfig', () => {
  let lab: TestLab;
  let work: string;
  let server: string;
  let token: string;
  let caFile: string;

  beforeAll(async () => {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' });
    work = mkdtempSync(join(tmpdir(), 'netdebug-flags-'));
    lab = await startTestLab('healthy-2-nodes');
    const kc = parse(readFileSync(lab.kubeconfig, 'utf8')) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
    server = String(kc.clusters[0]?.cluster.server);
    token = String(kc.users[0]?.user.token);
    caFile = join(work, 'ca.crt');
    writeFileSync(caFile, Buffer.from(String(kc.clusters[0]?.cluster['certificate-authority-data']), 'base64'));
  }, 180_000);

  afterAll(async () => {
    await lab?.down();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** `kubectl ARGS` with this checkout's bin/ on PATH and no kubeconfig anywhere. */
  const kubectl = (args: string[], timeoutMs = 60_000): Promise<CommandResult> =>
    run('kubectl', args, {
      env: { PATH: `${repo}bin:${process.env.PATH ?? ''}`, HOME: join(work, 'home'), KUBECONFIG: join(work, 'no-such-kubeconfig'), NO_COLOR: '1' },
      timeoutMs,
    });
  const diagnose = (flags: string[]): Promise<CommandResult> => kubectl(['netdebug', 'default/client', 'shop/svc/web', '-o', 'json', ...flags]);

  it('without flags there is nothing to connect to: exit 2 naming the missing kubeconfig', async () => {
    const r = await diagnose([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no kubeconfig found/);
  });

  it('-s, --token and --insecure-skip-tls-verify alone diagnose the lab (healthy)', async () => {
    const r = await diagnose(['-s', server, '--token', token, '--insecure-skip-tls-verify']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { source: { name: string; node: string }; destination: { name: string }; verdict: { status: string } };
    expect(report).toMatchObject({ source: { name: 'client', node: 'node-1' }, destination: { name: 'web' }, verdict: { status: 'healthy' } });
  }, 90_000);

  it('--server=URL with --certificate-authority verifies the server instead of skipping', async () => {
    const r = await diagnose([`--server=${server}`, `--token=${token}`, '--certificate-authority', caFile]);
    expect(r.code, r.stderr).toBe(0);
  }, 90_000);

  it('without a CA or --insecure-skip-tls-verify the lab certificate is refused: exit 3', async () => {
    const r = await diagnose(['-s', server, '--token', token]);
    expect(r.code).toBe(3);
    // The certificate problem itself, not fetch's bare "fetch failed", and what to do about it.
    expect(r.stderr).toMatch(/could not verify the API server at https:\/\/127\.0\.0\.1:\d+ \(.*\): (self-signed certificate|unable to verify)/);
    expect(r.stderr).toContain('--certificate-authority');
  });

  it('a wrong --token exits 3: the API server rejected our credentials', async () => {
    const r = await diagnose(['-s', server, '--token', 'not-the-token', '--insecure-skip-tls-verify']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^error: the API server at ${server.replaceAll('.', '\\.')} rejected our credentials`));
  });

  it('--request-timeout 1ms exits 3 with a timeout error', async () => {
    const r = await diagnose(['-s', server, '--token', token, '--insecure-skip-tls-verify', '--request-timeout', '1ms']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/request timed out after 1 ms/);
  });

  it('--request-timeout 0 means no timeout (as in kubectl)', async () => {
    const r = await diagnose(['-s', server, '--token', token, '--insecure-skip-tls-verify', '--request-timeout', '0']);
    expect(r.code, r.stderr).toBe(0);
  }, 90_000);

  it('--as-group without --as is refused before any request, as kubectl does', async () => {
    const r = await diagnose(['-s', server, '--token', token, '--insecure-skip-tls-verify', '--as-group', 'devs']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--as-group needs --as/);
  });

  it('kubectl __complete netdebug completes from the same flags', async () => {
    const r = await kubectl(['__complete', 'netdebug', '-s', server, '--token', token, '--insecure-skip-tls-verify', 'pod/'], 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('Completion ended'))).toEqual(['pod/client', ':4']);
  });
});
