/**
 * The lab command's promises: a 3-node `up` in under 5 s, real kubectl 1.32 speaking to the real lab (exec in the
 * pod's own namespace, exit codes, kubectl debug's ephemeral container, a PUT of ephemeralcontainers, v1 Endpoints, each
 * pod's resolv.conf and a headless Service through the cluster DNS), a wrong token refused, and `down` leaving no
 * namespace, process, iptables rule or file behind and the host's own network namespace untouched; an invalid scenario is
 * refused before anything is built; `up --kubeconfig`, `status` and `down` through the command itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * The host's own network namespace as `ip -j` shows it: links, addresses and routes (IPv4 and IPv6, every table).
 * Address and route lifetimes are left out: they count down on a host with DHCP or router advertisements, lab or not.
 */
function hostNetwork(): Record<string, unknown> {
  const ip = (args: string[]): unknown => JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8' }));
  const snapshot = { link: ip(['link']), addr: ip(['addr']), route: ip(['-4', 'route', 'show', 'table', 'all']), route6: ip(['-6', 'route', 'show', 'table', 'all']) };
  return JSON.parse(JSON.stringify(snapshot, (k, v: unknown) => (['valid_life_time', 'preferred_life_time', 'expires'].includes(k) ? undefined : v))) as Record<string, unknown>;
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

  it('never touches the host\'s own network namespace: links, addresses and routes are identical before, during and after', async () => {
    const before = hostNetwork();
    expect((before['link'] as unknown[]).length).toBeGreaterThan(0);
    const rec = await upLab(scenarioPath('healthy-2-nodes'));
    try {
      expect(hostSnapshot(rec.netnsPrefix).netns.length).toBeGreaterThan(4); // the lab really is up, in its own namespaces
      expect(hostNetwork()).toEqual(before);
    } finally {
      await downLabs([rec.labId]);
    }
    expect(hostNetwork()).toEqual(before);
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
    lab = await startTestLab('healthy-3-nodes'); // with the headless Service payments/api-headless
  });

  /** The pods of the lab as the API lists them. */
  async function pods(selector: string[] = ['-A']): Promise<Array<{ metadata: { namespace: string; name: string }; status: { podIP: string } }>> {
    const r = await lab.kubectl(['get', 'pods', ...selector, '-o', 'json']);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout).items;
  }

  it('gives each kubectl call a fresh --cache-dir of its own and removes it afterwards', async () => {
    expect((await lab.kubectl(['delete', '--raw', '/lab/v1/requests'])).code).toBe(0);
    expect((await lab.kubectl(['get', 'pods'])).code).toBe(0);
    expect((await lab.kubectl(['get', 'pods'])).code).toBe(0);
    const counts = JSON.parse((await lab.kubectl(['get', '--raw', '/lab/v1/requests'])).stdout) as Record<string, number>;
    // a shared cache would answer the second call's discovery from disk
    expect(counts).toMatchObject({ 'get /api': 2, 'get /apis': 2, 'list pods': 2 });
    expect(readdirSync(lab.cacheRoot)).toEqual([]);
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

  it('adds an ephemeral container with a PUT of pods/ephemeralcontainers; the kubelet marks it running', async () => {
    const path = '/api/v1/namespaces/shop/pods/web-1/ephemeralcontainers';
    const pod = JSON.parse((await lab.kubectl(['get', '--raw', path])).stdout) as { spec: { ephemeralContainers?: unknown[] } };
    expect(pod.spec.ephemeralContainers ?? []).toEqual([]);
    pod.spec.ephemeralContainers = [{ name: 'put-probe', image: 'netbox', command: ['sleep', '60'] }];
    const put = await lab.kubectl(['replace', '--raw', path, '-f', '-'], { input: JSON.stringify(pod) });
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    expect((JSON.parse(put.stdout) as typeof pod).spec.ephemeralContainers).toEqual([expect.objectContaining({ name: 'put-probe', image: 'netbox' })]);
    let running = '';
    for (let i = 0; i < 50 && running === ''; i++) {
      running = (await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'jsonpath={.status.ephemeralContainerStatuses[?(@.name=="put-probe")].state.running.startedAt}'])).stdout;
      if (running === '') await new Promise((r) => setTimeout(r, 50));
    }
    expect(running).not.toBe('');
    const ip = (await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'jsonpath={.status.podIP}'])).stdout;
    const inside = await lab.exec('shop/web-1', ['ip', '-4', 'addr', 'show', 'eth0'], 'put-probe');
    expect(inside.code).toBe(0);
    expect(inside.stdout).toContain(`inet ${ip}/24`);
  });

  it('serves v1 Endpoints: kubectl get endpoints shows each backend pod IP:port', async () => {
    const r = await lab.kubectl(['get', 'endpoints', '-n', 'shop']);
    expect(r.stderr).toBe('');
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'ENDPOINTS', 'AGE']);
    expect(rows).toHaveLength(1);
    const [name, endpoints] = rows[0]!.split(/\s+/);
    expect(name).toBe('web');
    const web = (await pods(['-n', 'shop', '-l', 'app=web'])).map((p) => `${p.status.podIP}:8080`);
    expect(web).toHaveLength(2);
    expect(endpoints!.split(',').sort()).toEqual(web.sort());
  });

  it('gives every pod the cluster resolv.conf: its namespace first in the search path, kube-dns, ndots:5', async () => {
    const all = await pods();
    expect(all.map((p) => p.metadata.namespace).sort()).toEqual(['default', 'kube-system', 'payments', 'payments', 'shop', 'shop']);
    for (const p of all) {
      const r = await lab.exec(`${p.metadata.namespace}/${p.metadata.name}`, ['cat', '/etc/resolv.conf']);
      expect(r.code).toBe(0);
      expect(r.stdout, `${p.metadata.namespace}/${p.metadata.name}`).toBe(
        `search ${p.metadata.namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n`,
      );
    }
  });

  it('resolves a headless Service to its pod IPs through the cluster DNS, by full name and through the search path', async () => {
    const svc = await lab.kubectl(['get', 'svc', '-n', 'payments', 'api-headless', '-o', 'jsonpath={.spec.clusterIP}']);
    expect(svc.stdout).toBe('None');
    const ips = (await pods(['-n', 'payments', '-l', 'app=api'])).map((p) => p.status.podIP).sort();
    expect(ips).toHaveLength(2);
    for (const [from, name] of [['default/client', 'api-headless.payments.svc.cluster.local'], ['payments/api-0', 'api-headless']] as const) {
      const r = await lab.exec(from, ['dig', '+short', '+search', '+time=1', '+tries=2', name]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n').sort(), `${from} ${name}`).toEqual(ips);
    }
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

describe.skipIf(skip)('the lab command: up --kubeconfig, status, down', () => {
  const CLI = new URL('./cli.ts', import.meta.url).pathname;
  const lab = (args: string[], env: NodeJS.ProcessEnv = process.env) => run(process.execPath, [CLI, ...args], { env, timeoutMs: 60_000 });

  it('says "no lab is running" when its state root holds no lab', async () => {
    const stateRoot = mkdtempSync(join(tmpdir(), 'lab-state-'));
    try {
      const r = await lab(['status'], { ...process.env, NETDEBUG_LAB_STATE_ROOT: stateRoot });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('no lab is running\n');
    } finally {
      rmSync(stateRoot, { recursive: true, force: true });
    }
  });

  it('writes the kubeconfig where --kubeconfig says, lists the lab in status, and down removes both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-cli-'));
    const kubeconfig = join(dir, 'sub', 'kubeconfig');
    let labId: string | undefined;
    try {
      const up = await lab(['up', scenarioPath('healthy-2-nodes'), '--kubeconfig', kubeconfig]);
      expect(up.code).toBe(0);
      expect(up.stdout).toBe(`${kubeconfig}\n`); // alone on stdout, so KUBECONFIG=$(npm run -s lab -- up …) works
      const m = /^lab ([0-9a-f]{4}) \(healthy-2-nodes\) is up: (https:\/\/127\.0\.0\.1:\d+)$/m.exec(up.stderr);
      expect(m, up.stderr).not.toBeNull();
      labId = m![1]!;
      const apiUrl = m![2]!;
      expect(readFileSync(kubeconfig, 'utf8')).toContain(`server: ${apiUrl}`);

      const nodes = await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'get', 'nodes', '-o', 'name']);
      expect(nodes.stderr).toBe('');
      expect(nodes.stdout).toBe('node/node-1\nnode/node-2\n');

      // Other labs (other test files) may be listed too: look at this lab's own row.
      const status = await lab(['status']);
      expect(status.code).toBe(0);
      const [header, ...rows] = status.stdout.trimEnd().split('\n');
      expect(header!.split(/\s+/)).toEqual(['LAB', 'SCENARIO', 'STATE', 'API', 'KUBECONFIG']);
      expect(rows.map((r) => r.split(/\s+/)).filter((r) => r[0] === labId)).toEqual([[labId, 'healthy-2-nodes', 'running', apiUrl, kubeconfig]]);

      const down = await lab(['down', labId]);
      expect(down.code).toBe(0);
      expect(down.stderr).toBe(`torn down: ${labId}\n`);
      expect(existsSync(kubeconfig)).toBe(false);
      expect(existsSync(join(STATE_ROOT, labId))).toBe(false);
      expect((await lab(['status'])).stdout.split('\n').some((r) => r.startsWith(`${labId} `))).toBe(false);
      labId = undefined;
    } finally {
      if (labId) await downLabs([labId]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
