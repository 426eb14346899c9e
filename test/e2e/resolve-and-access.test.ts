/**
 * End to end through the real kubectl and the BUILT executable: which object a bare destination name means, and how
 * netdebug reports what it could not do (no permission to exec, an API that does not answer): exit 3, never a fault.
 * Also `cleanup -n NS`, which removes only that namespace's leftovers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, skipLabSuite, startTestLab, type CommandResult, type TestLab } from '../lab/harness.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const skip = skipLabSuite('e2e resolve and access');
const own = (name: string): string => fileURLToPath(new URL(`./scenarios/${name}.yaml`, import.meta.url));

function netdebug(kubeconfig: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  const env = { ...process.env, KUBECONFIG: kubeconfig, PATH: `${repo}/bin:${process.env.PATH ?? ''}`, ...extraEnv };
  return run('kubectl', ['netdebug', ...args], { env, timeoutMs: 30_000 });
}

interface Report {
  destination: { kind: string; namespace?: string; name: string };
  verdict: { status: string; cause: string; summary: string; evidence: string[] };
}

describe.skipIf(skip)('resolution and access in the lab', () => {
  const labs: TestLab[] = [];
  let clash: TestLab;
  let noExec: TestLab;

  beforeAll(async () => {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' });
    [clash, noExec] = await Promise.all([startTestLab(own('name-clash')), startTestLab(own('rbac-no-exec'))]);
    labs.push(clash, noExec);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(labs.map((l) => l.down()));
  }, 60_000);

  it('a bare destination name is the pod when a pod and a Service share it; svc/ picks the Service', async () => {
    const pod = await netdebug(clash.kubeconfig, ['default/client', 'web:8080', '-n', 'shop', '-o', 'json']);
    expect(pod.code, pod.stderr).toBe(0);
    expect((JSON.parse(pod.stdout) as Report).destination).toMatchObject({ kind: 'pod', namespace: 'shop', name: 'web' });
    const svc = await netdebug(clash.kubeconfig, ['default/client', 'svc/web', '-n', 'shop', '-o', 'json']);
    expect(svc.code, svc.stderr).toBe(0);
    expect((JSON.parse(svc.stdout) as Report).destination).toMatchObject({ kind: 'service', namespace: 'shop', name: 'web' });
  });

  it('-o tui into a pipe renders as text: no Ink, no escape sequences, the same verdict', async () => {
    // CI unset: in CI netdebug prints text anyway, and this is about stdout not being a terminal.
    const res = await netdebug(clash.kubeconfig, ['default/client', 'shop/svc/web', '-o', 'tui'], { CI: '' });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('Verdict  ✓ HEALTHY');
    expect(res.stdout).toMatch(/^Ladder$/m);
    expect(res.stdout).not.toContain('\u001b');
  });

  it('without permission to exec no probe can run: exit 3, CHECKS_COULD_NOT_RUN naming the refusal, nothing left', async () => {
    const res = await netdebug(noExec.kubeconfig, ['default/client', 'shop/svc/web', '-o', 'json']);
    expect(res.code, res.stderr).toBe(3);
    const report = JSON.parse(res.stdout) as Report;
    expect(report.verdict).toMatchObject({ status: 'inconclusive', cause: 'CHECKS_COULD_NOT_RUN' });
    expect(report.verdict.summary).toBe('could not diagnose: the cluster-ip probes could not run: exec failed: forbidden (403): this user may not exec into pods (create pods/exec)');
    const left = await noExec.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
    expect(left).toMatchObject({ code: 0, stdout: '' });
  });

  it('an API server that does not answer: exit 3 with the server named and a hint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netdebug-unreachable-'));
    try {
      const kubeconfig = join(dir, 'config');
      // Port 1 on loopback: nothing listens, the connection is refused at once.
      writeFileSync(kubeconfig, readFileSync(clash.kubeconfig, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:1'));
      const res = await netdebug(kubeconfig, ['default/client', 'shop/svc/web']);
      expect(res.code).toBe(3);
      expect(res.stdout).toBe('');
      expect(res.stderr).toContain('https://127.0.0.1:1');
      expect(res.stderr).toMatch(/hint: /i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cleanup -n NS deletes what a --keep run left in that namespace only', async () => {
    const kept = await netdebug(clash.kubeconfig, ['default/client', 'shop/svc/web', '--keep', '-o', 'json']);
    expect(kept.code, kept.stderr).toBe(0);
    const listed = async (): Promise<string> =>
      (await clash.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name'])).stdout.trim();
    expect(await listed()).not.toBe('');
    const elsewhere = await netdebug(clash.kubeconfig, ['cleanup', '-n', 'shop']);
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect(await listed()).not.toBe('');
    const here = await netdebug(clash.kubeconfig, ['cleanup', '-n', 'default']);
    expect(here.code, here.stderr).toBe(0);
    expect(here.stdout + here.stderr).toMatch(/default\/netdebug-/);
    expect(await listed()).toBe('');
  });
});
