/**
 * The lab command's promises: a 3-node `up` in under 5 s, real kubectl 1.32 speaking to the real lab (exec in the
 * pod's own namespace, exit codes, kubectl debug's ephemeral container), a wrong token refused, and `down` leaving no
 * namespace, process, iptables rule or file behind; an invalid scenario is refused before anything is built.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downLabs, upLab } from './cli.ts';
import { run, scenarioPath, skipLabSuite, startTestLab, type TestLab } from './harness.ts';
import { STATE_ROOT } from './registry.ts';

const skip = skipLabSuite('lab lifecycle');

/**
 * What the host holds of one lab (namespaces and /etc/netns entries with its prefix), plus the host's own iptables.
 * Only this lab's prefix is looked at: other test files run labs of their own in parallel.
 */
function hostSnapshot(prefix: string): { iptables: string; netns: string[]; etcNetns: string[] } {
  const iptables = execFileSync('iptables-save', { encoding: 'utf8' }).replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, '');
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(prefix)).sort();
  const etcNetns = existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(prefix)).sort() : [];
  return { iptables, netns, etcNetns };
}

/** PIDs of processes whose command line mentions this lab's id (daemon argv, netns names in `ip netns exec`). */
function processesOf(labId: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').some((a) => a === labId || a.startsWith(`nd${labId}-`) || a.includes(`/netdebug-lab/${labId}/`));
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(skip)('lab lifecycle', () => {
  it('brings a 3-node scenario up in under 5 s and down without leaving anything behind', async () => {
    const hostIptables = hostSnapshot('-').iptables;
    const t0 = Date.now();
    const rec = await upLab(scenarioPath('healthy-3-nodes'));
    const upMs = Date.now() - t0;
    expect(upMs).toBeLessThan(5000);
    expect(readFileSync(rec.kubeconfig, 'utf8')).toContain('certificate-authority-data');
    const during = hostSnapshot(rec.netnsPrefix);
    expect(during.netns.length).toBeGreaterThan(4);
    expect(during.etcNetns.length).toBeGreaterThan(0);
    expect(processesOf(rec.labId).length).toBeGreaterThan(0);

    await downLabs([rec.labId]);
    const after = hostSnapshot(rec.netnsPrefix);
    expect(after.netns).toEqual([]);
    expect(after.etcNetns).toEqual([]);
    expect(after.iptables).toEqual(hostIptables);
    expect(processesOf(rec.labId)).toEqual([]);
    expect(existsSync(join(STATE_ROOT, rec.labId))).toBe(false);
    await downLabs([rec.labId]); // idempotent
  });

  it('refuses an invalid scenario with file, field and expectation, and builds nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-invalid-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'apiVersion: lab.netdebug.dev/v1\nkind: Scenario\nmetadata: {name: bad}\nspec:\n  nodes: [{name: node-1}]\n  pods: [{name: a, namespace: default, node: node-9}]\n',
    );
    await expect(upLab(file)).rejects.toThrow(/bad\.yaml.*spec\.pods\[0\]\.node.*node-9/s);
    // Through the command, with a state root of its own: a lab that got as far as an id would have left a record there.
    const stateRoot = mkdtempSync(join(tmpdir(), 'lab-state-'));
    const cli = await run(process.execPath, [new URL('./cli.ts', import.meta.url).pathname, 'up', file], {
      env: { ...process.env, NETDEBUG_LAB_STATE_ROOT: stateRoot },
    });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/bad\.yaml.*spec\.pods\[0\]\.node/s);
    expect(readdirSync(stateRoot)).toEqual([]);
  });
});

describe.skipIf(skip)('real kubectl 1.32 against a lab', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('healthy-2-nodes');
  });
  afterAll(async () => lab?.down());

  it('lists pods of every namespace with their IPs and nodes', async () => {
    const r = await lab.kubectl(['get', 'pods', '-A', '-o', 'wide']);
    expect(r.code).toBe(0);
    const header = r.stdout.split('\n')[0]!;
    expect(header).toMatch(/NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    expect(r.stdout).toMatch(/default\s+client\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.1\.\d+\s+node-1/);
    expect(r.stdout).toMatch(/shop\s+web-1\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.2\.\d+\s+node-2/);
  });

  it('shows services and endpointslices', async () => {
    const r = await lab.kubectl(['get', 'svc,endpointslices', '-n', 'shop']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/service\/web\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP/);
    expect(r.stdout).toMatch(/endpointslice\.discovery\.k8s\.io\/web-\S+\s+IPv4\s+8080\s+10\.244\./);
  });

  it('execs inside the pod\'s own network namespace and returns the exit code', async () => {
    const ip = (await lab.kubectl(['get', 'pod', 'client', '-o', 'jsonpath={.status.podIP}'])).stdout;
    const addr = await lab.exec('default/client', ['ip', '-4', 'addr']);
    expect(addr.code).toBe(0);
    expect(addr.stdout).toContain(`inet ${ip}/24`);
    const exit3 = await lab.exec('default/client', ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(exit3.code).toBe(3);
    expect(exit3.stdout).toBe('out\n');
    expect(exit3.stderr).toContain('err');
  });

  it('adds an ephemeral container with kubectl debug --profile=netadmin and execs into it', async () => {
    const dbg = await lab.kubectl(['debug', 'client', '--image=netbox', '--profile=netadmin', '--container=probe', '--', 'sleep', '60'], { timeoutMs: 20_000 });
    expect(dbg.code).toBe(0);
    const status = await lab.kubectl(['get', 'pod', 'client', '-o', 'jsonpath={.status.ephemeralContainerStatuses[?(@.name=="probe")].state.running.startedAt}']);
    expect(status.stdout).not.toBe('');
    const caps = await lab.kubectl(['get', 'pod', 'client', '-o', 'jsonpath={.spec.ephemeralContainers[0].securityContext.capabilities.add}']);
    expect(caps.stdout).toContain('NET_ADMIN');
    const ip = (await lab.kubectl(['get', 'pod', 'client', '-o', 'jsonpath={.status.podIP}'])).stdout;
    const inside = await lab.exec('default/client', ['ip', '-4', 'addr', 'show', 'eth0'], 'probe');
    expect(inside.code).toBe(0);
    expect(inside.stdout).toContain(`inet ${ip}/24`);
  });

  it('refuses a wrong token', async () => {
    const kc = readFileSync(lab.kubeconfig, 'utf8').replace(/token: \S+/, 'token: wrong-token');
    const dir = mkdtempSync(join(tmpdir(), 'lab-badtoken-'));
    writeFileSync(join(dir, 'config'), kc);
    const r = await run('kubectl', ['--kubeconfig', join(dir, 'config'), '--cache-dir', join(dir, 'cache'), 'get', '--raw', '/api/v1/namespaces']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unauthorized/);
  });
});
