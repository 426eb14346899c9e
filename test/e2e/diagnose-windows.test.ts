/**
 * End to end with a Windows node (windows-node.yaml: win-1 is API-only, as a Windows node pool looks to the API), through
 * the real kubectl and the BUILT executable: netdebug never puts a debug pod or an ephemeral container on it, the text
 * report's "Not checked" section names the node, what did not run there and why, and the verdict rests only on what ran
 * (never a cause on win-1, where nothing was checked).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin, pluginEnv } from './plugin.ts';
import { run, skipLabSuite, startTestLab, type TestLab } from '../lab/harness.ts';

const skip = skipLabSuite('e2e diagnose windows');

interface Report {
  verdict: { status: string; cause: string; node?: string; summary: string; hints: string[] };
  rungs: { id: string; probes: { observation: { kind: string; reason?: string } }[] }[];
}

/** The lines of the text report's "Not checked" section. */
function notChecked(text: string): string[] {
  const start = text.indexOf('\nNot checked\n');
  if (start < 0) return [];
  const rest = text.slice(start + '\nNot checked\n'.length);
  return rest.slice(0, rest.search(/\n\S/) + 1).split('\n').filter((l) => l.trim() !== '');
}

/** Nothing of netdebug's on win-1: no pod bound to it, no ephemeral container in its pod, no debug pod left anywhere. */
async function nothingOnWindows(lab: TestLab): Promise<void> {
  const onWin = await lab.kubectl(['get', 'pods', '-A', '--field-selector', 'spec.nodeName=win-1', '-o', 'jsonpath={range .items[*]}{.metadata.name}{" "}{.spec.ephemeralContainers}{"\\n"}{end}']);
  expect(onWin, onWin.stderr).toMatchObject({ code: 0, stdout: 'iis-1 \n' });
  const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
  expect(left).toMatchObject({ code: 0, stdout: '' });
}

describe.skipIf(skip)('kubectl netdebug with a Windows node in the cluster', () => {
  let lab: TestLab;
  beforeAll(async () => {
    buildPlugin();
    lab = await startTestLab('windows-node');
    return () => lab.down();
  }, 120_000);

  it('a source pod on the Windows node: no ephemeral container is tried, its rungs are named as not run and why, the verdict is inconclusive with what to do instead', async () => {
    const env = pluginEnv(lab.kubeconfig, { NO_COLOR: '1' });
    const json = await run('kubectl', ['netdebug', 'shop/iis-1', 'shop/svc/web', '-o', 'json'], { env, timeoutMs: 60_000 });
    expect(json.code, json.stderr).toBe(3);
    expect(json.stderr).toContain('preflight: not probing from source-pod: pod shop/iis-1 runs on node win-1, a Windows node (kubernetes.io/os=windows)');
    const report = JSON.parse(json.stdout) as Report;
    expect(report.verdict).toMatchObject({ status: 'inconclusive', cause: 'CHECKS_COULD_NOT_RUN' });
    expect(report.verdict.node).toBeUndefined();
    expect(report.verdict.summary).toContain("netdebug's debug container is a Linux image (netbox) that cannot run in a Windows pod, and the pod has no Linux network namespace to probe from");
    expect(report.verdict.hints[0]).toBe('from the Windows pod itself: kubectl exec -n shop iis-1 -- powershell -Command "Test-NetConnection <address> -Port <port>"');
    for (const id of ['dns', 'cluster-ip', 'pod-ip']) {
      const observations = report.rungs.find((r) => r.id === id)?.probes.map((p) => p.observation.kind);
      expect(observations, id).toEqual(observations?.map(() => 'could-not-run'));
    }
    await nothingOnWindows(lab);

    const text = await run('kubectl', ['netdebug', 'shop/iis-1', 'shop/svc/web', '-o', 'text'], { env, timeoutMs: 60_000 });
    expect(text.code, text.stderr).toBe(3);
    const section = notChecked(text.stdout);
    expect(section[0], text.stdout).toMatch(/^ {2}· node win-1: the probes there of rungs dns, cluster-ip, pod-ip\b.*; node checks ip-forward, .* not run: it runs Windows: netdebug's debug image \(netbox\) is a Linux container, and the node has no Linux network namespace/);
    expect(section[1]).toContain('the verdict rests only on what ran elsewhere');
    expect(section.filter((l) => l.includes('node node-'))).toEqual([]);
    await nothingOnWindows(lab);
  }, 120_000);

  it('a destination on the Windows node: no node pod there, the checks on win-1 named as not run, the verdict names only what ran on the Linux nodes', async () => {
    const env = pluginEnv(lab.kubeconfig, { NO_COLOR: '1' });
    const json = await run('kubectl', ['netdebug', 'default/client', 'shop/svc/iis', '-o', 'json'], { env, timeoutMs: 60_000 });
    const report = JSON.parse(json.stdout) as Report;
    expect(report.verdict.node, report.verdict.summary).not.toBe('win-1');
    expect(report.verdict.status).not.toBe('healthy');
    // The source pod's rungs ran (the lab gives win-1 no data plane, so they fail there: they were not skipped).
    for (const id of ['dns', 'cluster-ip', 'pod-ip']) expect(report.rungs.find((r) => r.id === id)?.probes[0]?.observation.kind, id).not.toBe('could-not-run');
    await nothingOnWindows(lab);

    const text = await run('kubectl', ['netdebug', 'default/client', 'shop/svc/iis', '-o', 'text'], { env, timeoutMs: 60_000 });
    const section = notChecked(text.stdout);
    expect(section.length, text.stdout).toBe(2);
    expect(section[0]).toMatch(/^ {2}· node win-1: the probes there of rungs same-node\b.*; node checks .*forward-policy.* not run: it runs Windows/);
    await nothingOnWindows(lab);
  }, 120_000);

  it('a run that never touches the Windows node has no "Not checked" section', async () => {
    const env = pluginEnv(lab.kubeconfig, { NO_COLOR: '1' });
    const text = await run('kubectl', ['netdebug', 'default/client', 'shop/svc/web', '-o', 'text'], { env, timeoutMs: 60_000 });
    expect(text.code, text.stdout).toBe(0);
    expect(text.stdout).not.toContain('Not checked');
  }, 120_000);
});
