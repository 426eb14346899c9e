/**
 * `spec.cluster` settings of the cluster's shape, each through `lab up` and real kubectl: the DNS layouts of RKE2 and
 * OpenShift (names, labels, port 5353, a custom domain), a Windows node served through the API only, and the API
 * latency of a remote control plane (`lab up --api-latency`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downLabs } from './cli.ts';
import { run, scenarioPath, skipLabSuite, startTestLab, type TestLab } from './harness.ts';

const skip = skipLabSuite('lab cluster DNS layouts, Windows nodes and API latency');

const json = <T = any>(text: string): T => JSON.parse(text) as T;

/** The resolv.conf kubelet writes for a ClusterFirst pod of `ns`. */
const resolvConf = (ns: string, domain: string, nameserver: string): string =>
  `search ${ns}.svc.${domain} svc.${domain} ${domain}\nnameserver ${nameserver}\noptions ndots:5\n`;

describe.skipIf(skip)('RKE2 DNS layout (scenarios/dns-rke2.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('dns-rke2');
  }, 90_000);
  afterAll(async () => lab?.down(), 60_000);

  it('serves the DNS Service, its EndpointSlice, its Deployment and pod under the chart’s names and labels, and no kube-dns', async () => {
    const svc = json((await lab.kubectl(['get', 'svc', '-n', 'kube-system', 'rke2-coredns-rke2-coredns', '-o', 'json'])).stdout);
    const labels = { 'app.kubernetes.io/instance': 'rke2-coredns', 'app.kubernetes.io/name': 'rke2-coredns', 'k8s-app': 'kube-dns' };
    expect(svc.spec).toMatchObject({ clusterIP: '10.96.0.10', selector: labels });
    expect(svc.spec.ports).toEqual([
      { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP' },
    ]);
    const missing = await lab.kubectl(['get', 'svc', '-n', 'kube-system', 'kube-dns']);
    expect(missing.stderr).toBe('Error from server (NotFound): services "kube-dns" not found\n');
    const pods = json((await lab.kubectl(['get', 'pods', '-n', 'kube-system', '-o', 'json'])).stdout).items;
    expect(pods.map((p: any) => [p.metadata.name, p.metadata.labels, p.metadata.ownerReferences[0].kind, p.metadata.ownerReferences[0].name])).toEqual([
      ['rke2-coredns-rke2-coredns-6f6b679f8f-k8x2q', labels, 'Deployment', 'rke2-coredns-rke2-coredns'],
    ]);
    const deploy = json((await lab.kubectl(['get', 'deploy', '-n', 'kube-system', 'rke2-coredns-rke2-coredns', '-o', 'json'])).stdout);
    expect(deploy.spec.selector.matchLabels).toEqual(labels);
    const slices = json((await lab.kubectl(['get', 'endpointslices', '-n', 'kube-system', '-l', 'kubernetes.io/service-name=rke2-coredns-rke2-coredns', '-o', 'json'])).stdout).items;
    expect(slices.flatMap((s: any) => s.endpoints.map((e: any) => [e.addresses[0], e.conditions.ready, e.targetRef.name]))).toEqual([
      [pods[0].status.podIP, true, 'rke2-coredns-rke2-coredns-6f6b679f8f-k8x2q'],
    ]);
  });

  it('resolves Services through the search path from a pod whose resolv.conf points at the DNS ClusterIP', async () => {
    expect((await lab.exec('default/client', ['cat', '/etc/resolv.conf'])).stdout).toBe(resolvConf('default', 'cluster.local', '10.96.0.10'));
    const web = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    const r = await lab.exec('default/client', ['dig', '+short', '+search', '+time=2', '+tries=2', 'web.shop']);
    expect(r.stdout).toBe(`${web}\n`);
  });
});

describe.skipIf(skip)('OpenShift DNS layout (scenarios/dns-openshift.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('dns-openshift');
  }, 90_000);
  afterAll(async () => lab?.down(), 60_000);

  it('runs the dns-default DaemonSet, one pod per node on 5353, behind openshift-dns/dns-default (53 → 5353)', async () => {
    const svc = json((await lab.kubectl(['get', 'svc', '-n', 'openshift-dns', 'dns-default', '-o', 'json'])).stdout);
    expect(svc.spec.selector).toEqual({ 'dns.operator.openshift.io/daemonset-dns': 'default' });
    expect(svc.spec.ports.map((p: any) => [p.port, p.targetPort, p.protocol])).toEqual([[53, 5353, 'UDP'], [53, 5353, 'TCP']]);
    const ds = json((await lab.kubectl(['get', 'ds', '-n', 'openshift-dns', 'dns-default', '-o', 'json'])).stdout);
    expect(ds.status).toMatchObject({ desiredNumberScheduled: 2, numberReady: 2 });
    const pods = json((await lab.kubectl(['get', 'pods', '-n', 'openshift-dns', '-o', 'json'])).stdout).items;
    expect(pods.map((p: any) => p.spec.nodeName).sort()).toEqual(['node-1', 'node-2']);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^dns-default-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      expect(p.metadata.ownerReferences[0]).toMatchObject({ kind: 'DaemonSet', name: 'dns-default' });
      expect(p.spec.containers[0].ports.map((x: any) => x.containerPort)).toEqual([5353, 5353]);
    }
    const slices = json((await lab.kubectl(['get', 'endpointslices', '-n', 'openshift-dns', '-o', 'json'])).stdout).items;
    expect(slices.flatMap((s: any) => s.ports.map((p: any) => p.port))).toEqual([5353, 5353]);
    expect(slices.flatMap((s: any) => s.endpoints.map((e: any) => e.addresses[0])).sort()).toEqual(pods.map((p: any) => p.status.podIP).sort());
    const kubeSystem = await lab.kubectl(['get', 'svc,pods', '-n', 'kube-system']);
    expect(kubeSystem.stderr).toBe('No resources found in kube-system namespace.\n');
  });

  it('answers on 5353 in every DNS pod (not 53), and through the ClusterIP on 53', async () => {
    const pods = json((await lab.kubectl(['get', 'pods', '-n', 'openshift-dns', '-o', 'json'])).stdout).items;
    const web = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    for (const p of pods) {
      const ok = await lab.exec('default/client', ['dig', '+short', '+time=2', '+tries=1', '-p', '5353', `@${p.status.podIP}`, 'web.shop.svc.cluster.local']);
      expect(ok.stdout).toBe(`${web}\n`);
      const refused = await lab.exec('default/client', ['dig', '+time=1', '+tries=1', `@${p.status.podIP}`, 'web.shop.svc.cluster.local']);
      expect(refused.stdout).toContain(`communications error to ${p.status.podIP}#53: connection refused`);
    }
    expect((await lab.exec('default/client', ['dig', '+short', '+search', '+time=2', '+tries=2', 'web.shop'])).stdout).toBe(`${web}\n`);
  });
});

describe.skipIf(skip)('a custom cluster domain', () => {
  let lab: TestLab;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-domain-'));
    const file = join(dir, 'dns-domain.yaml');
    writeFileSync(file, [
      'apiVersion: lab.netdebug.dev/v1',
      'kind: Scenario',
      'metadata: {name: dns-domain}',
      'spec:',
      '  cluster: {dns: {domain: corp.example}}',
      '  nodes: [{name: node-1}]',
      '  pods: [{name: client, node: node-1}, {name: web-1, node: node-1, labels: {app: web}, ports: [{containerPort: 8080}]}]',
      '  services: [{name: web, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}]',
      '',
    ].join('\n'));
    lab = await startTestLab(file);
  }, 90_000);
  afterAll(async () => {
    await lab?.down();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('puts the domain in every search path and in the records; cluster.local is not served', async () => {
    expect((await lab.exec('default/client', ['cat', '/etc/resolv.conf'])).stdout).toBe(resolvConf('default', 'corp.example', '10.96.0.10'));
    const web = (await lab.kubectl(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    expect((await lab.exec('default/client', ['dig', '+short', '+time=2', '+tries=2', 'web.default.svc.corp.example'])).stdout).toBe(`${web}\n`);
    expect((await lab.exec('default/client', ['dig', '+short', '+search', '+time=2', '+tries=2', 'web'])).stdout).toBe(`${web}\n`);
    expect((await lab.exec('default/client', ['dig', '+time=2', '+tries=2', 'web.default.svc.cluster.local'])).stdout).toContain('status: NXDOMAIN');
  });
});

describe.skipIf(skip)('a Windows node (scenarios/windows-node.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('windows-node');
  }, 90_000);
  afterAll(async () => lab?.down(), 60_000);

  it('is labelled and tainted as cloud providers set Windows nodes up', async () => {
    const node = json((await lab.kubectl(['get', 'node', 'win-1', '-o', 'json'])).stdout);
    expect(node.metadata.labels).toMatchObject({ 'kubernetes.io/os': 'windows', 'node.kubernetes.io/windows-build': '10.0.20348' });
    expect(node.spec.taints).toEqual([{ key: 'os', value: 'windows', effect: 'NoSchedule' }]);
    expect(node.status.nodeInfo).toMatchObject({ operatingSystem: 'windows', osImage: 'Windows Server 2022 Datacenter' });
    const linux = json((await lab.kubectl(['get', 'node', 'node-1', '-o', 'json'])).stdout);
    expect(linux.metadata.labels['kubernetes.io/os']).toBe('linux');
    expect(linux.spec.taints).toBeUndefined();
    const wide = await lab.kubectl(['get', 'nodes', '-o', 'wide']);
    expect(wide.stdout).toMatch(/^win-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0\s+172\.31\.0\.13\s+<none>\s+Windows Server 2022 Datacenter\s+10\.0\.20348\.2849\s+containerd:\/\/1\.7\.20$/m);
  });

  it('has no data plane: no namespace, its pods are API-only (scenario pods and pods created through the API)', async () => {
    const netns = await run('ip', ['netns', 'list']);
    const ours = netns.stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n?.startsWith(lab.rec.netnsPrefix)).sort();
    expect(ours.filter((n) => /-n\d+$/.test(n!))).toEqual([`${lab.rec.netnsPrefix}n1`, `${lab.rec.netnsPrefix}n2`]);
    const iis = json((await lab.kubectl(['get', 'pod', '-n', 'shop', 'iis-1', '-o', 'json'])).stdout);
    expect(iis.status).toMatchObject({ phase: 'Running', podIP: '10.244.3.2', hostIP: '172.31.0.13' });
    expect(iis.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'windows' });
    const slices = json((await lab.kubectl(['get', 'endpointslices', '-n', 'shop', '-l', 'kubernetes.io/service-name=iis', '-o', 'json'])).stdout).items;
    expect(slices[0].endpoints.map((e: any) => [e.addresses[0], e.nodeName])).toEqual([['10.244.3.2', 'win-1']]);
    // (kubectl then retries over SPDY, so the message it prints is the lab's SPDY refusal)
    expect((await lab.exec('shop/iis-1', ['hostname'])).code).not.toBe(0);

    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'win-app', namespace: 'default' },
      spec: { nodeName: 'win-1', containers: [{ name: 'app', image: 'mcr.microsoft.com/windows/servercore/iis' }] },
    };
    expect((await lab.kubectl(['create', '--validate=false', '-f', '-'], { input: JSON.stringify(manifest) })).stdout).toBe('pod/win-app created\n');
    let status: any;
    for (let i = 0; i < 200 && status?.phase !== 'Running'; i++) {
      status = json((await lab.kubectl(['get', 'pod', 'win-app', '-o', 'json'])).stdout).status;
      if (status?.phase !== 'Running') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toMatchObject({ phase: 'Running', podIP: '10.244.3.3', hostIP: '172.31.0.13' });
    const after = await run('ip', ['netns', 'list']);
    expect(after.stdout.split('\n').filter((l) => l.startsWith(lab.rec.netnsPrefix)).length).toBe(ours.length);
  });
});

describe.skipIf(skip)('lab up --api-latency', () => {
  const CLI = new URL('./cli.ts', import.meta.url).pathname;
  const LATENCY = 50;
  let labId: string | undefined;
  let dir: string;
  let kubeconfig: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-latency-'));
    kubeconfig = join(dir, 'kubeconfig');
    const up = await run(process.execPath, [CLI, 'up', scenarioPath('healthy-2-nodes'), '--kubeconfig', kubeconfig, '--api-latency', String(LATENCY)], { timeoutMs: 90_000 });
    labId = /^lab ([0-9a-f]{4}) /m.exec(up.stderr)?.[1];
    expect(up.code, up.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    if (labId) await downLabs([labId]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** Runs kubectl at -v=6 and returns each API round trip it logged with its milliseconds. */
  const timed = async (args: string[]): Promise<{ url: string; status: string; ms: number }[]> => {
    const r = await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, `cache-${Math.random()}`), '-v=6', ...args], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    return [...r.stderr.matchAll(/round_trippers\.go:\d+\] [A-Z]+ (\S+) (\d{3} [^\n]*?) in (\d+) milliseconds$/gm)].map((m) => ({ url: m[1]!, status: m[2]!, ms: Number(m[3]) }));
  };

  it('makes every API request, discovery included, take at least the latency', async () => {
    const calls = await timed(['get', 'pods', '-A']);
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.some((c) => c.url.endsWith('/api/v1/pods?limit=500'))).toBe(true);
    for (const c of calls) expect(c.ms, c.url).toBeGreaterThanOrEqual(LATENCY);
  });

  it('delays the start of every exec stream by the latency', async () => {
    const calls = await timed(['exec', '-n', 'default', 'client', '--', 'true']);
    const exec = calls.filter((c) => c.url.includes('/exec?'));
    expect(exec.map((c) => c.status)).toEqual(['101 Switching Protocols']);
    // the upgrade answers only after the latency, on top of the pod GET before it
    for (const c of calls) expect(c.ms, c.url).toBeGreaterThanOrEqual(LATENCY);
    expect(readFileSync(kubeconfig, 'utf8')).toContain('server: https://127.0.0.1:');
  });
});

describe.skipIf(skip)('NodeLocal DNSCache (scenarios/node-local-dns.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('node-local-dns');
  }, 90_000);
  afterAll(async () => lab?.down(), 60_000);

  it('runs the node-local-dns DaemonSet (hostNetwork, one Ready pod per node) and the kube-dns-upstream Service', async () => {
    const pods = json((await lab.kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=node-local-dns', '-o', 'json'])).stdout).items;
    expect(pods.map((p: any) => [p.spec.nodeName, p.spec.hostNetwork, p.status.podIP, p.status.conditions.find((c: any) => c.type === 'Ready').status]).sort()).toEqual([
      ['node-1', true, '172.31.0.11', 'True'],
      ['node-2', true, '172.31.0.12', 'True'],
    ]);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^node-local-dns-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      expect(p.metadata.ownerReferences[0]).toMatchObject({ kind: 'DaemonSet', name: 'node-local-dns' });
      expect(p.spec.containers[0]).toMatchObject({ name: 'node-cache', image: 'registry.k8s.io/dns/k8s-dns-node-cache:1.26.4', securityContext: { capabilities: { add: ['NET_ADMIN'] } } });
      expect(p.spec.dnsPolicy).toBe('Default');
    }
    const upstream = json((await lab.kubectl(['get', 'svc', '-n', 'kube-system', 'kube-dns-upstream', '-o', 'json'])).stdout);
    expect(upstream.spec.selector).toEqual({ 'k8s-app': 'kube-dns' });
    expect(upstream.metadata.labels['kubernetes.io/name']).toBe('KubeDNSUpstream');
    const coredns = (await lab.kubectl(['get', 'pod', '-n', 'kube-system', 'coredns-6f6b679f8f-k8x2q', '-o', 'jsonpath={.status.podIP}'])).stdout;
    const slices = json((await lab.kubectl(['get', 'endpointslices', '-n', 'kube-system', '-l', 'kubernetes.io/service-name=kube-dns-upstream', '-o', 'json'])).stdout).items;
    expect(slices.flatMap((s: any) => s.endpoints.map((e: any) => e.addresses[0]))).toEqual([coredns]);
  });

  it('points every pod at 169.254.20.10, where each node’s cache answers from CoreDNS through kube-dns-upstream', async () => {
    const web = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    for (const pod of ['default/client', 'shop/web-1']) {
      const conf = await lab.exec(pod, ['cat', '/etc/resolv.conf']);
      expect(conf.stdout, conf.stderr).toBe(resolvConf(pod.split('/')[0]!, 'cluster.local', '169.254.20.10'));
      // The cache answers once its upstream's Service rules are in place (the lab's controllers follow `lab up`):
      // ask until it does, each try bounded by dig's own timeout.
      let answer = '';
      for (let i = 0; i < 10 && answer !== `${web}\n`; i += 1) answer = (await lab.exec(pod, ['dig', '+short', '+search', '+time=2', '+tries=2', 'web.shop'])).stdout;
      expect(answer).toBe(`${web}\n`);
    }
    const cache = json((await lab.kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=node-local-dns', '--field-selector', 'spec.nodeName=node-2', '-o', 'json'])).stdout).items[0];
    const link = await lab.exec(`kube-system/${cache.metadata.name}`, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'nodelocaldns']);
    expect(link.stdout).toMatch(/^\d+: nodelocaldns\s+inet 169\.254\.20\.10\/32 scope global nodelocaldns/);
    // A dump of the rules fails (non-zero, nothing on stdout) while another writer changes the node's ruleset, as the
    // lab's proxy may on a loaded machine: read again, a bounded number of times, until one dump succeeds.
    const readRaw = () => lab.exec(`kube-system/${cache.metadata.name}`, ['iptables', '-t', 'raw', '-S', 'PREROUTING']);
    let raw = await readRaw();
    for (let i = 0; i < 5 && raw.code !== 0; i += 1) raw = await readRaw();
    expect(raw.stdout, `exit ${raw.code}: ${raw.stderr}`).toContain('-A PREROUTING -d 169.254.20.10/32 -p udp -m udp --dport 53 -j NOTRACK\n');
    expect(raw.stdout).toContain('-A PREROUTING -d 169.254.20.10/32 -p tcp -m tcp --dport 53 -j NOTRACK\n');
  });
});

describe.skipIf(skip)('node-local-dns-down (scenarios/node-local-dns-down.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('node-local-dns-down');
  }, 90_000);
  afterAll(async () => lab?.down(), 60_000);

  it('stops name resolution on node-2 only, while its cache pod stays Ready and CoreDNS answers', async () => {
    const web = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    const broken = await lab.exec('shop/web-1', ['dig', '+time=1', '+tries=1', '+search', 'web.shop']);
    expect(broken.stdout).toContain(';; communications error to 169.254.20.10#53: connection refused');
    expect(broken.stdout).toContain(';; no servers could be reached');
    expect((await lab.exec('default/client', ['dig', '+short', '+search', '+time=2', '+tries=2', 'web.shop'])).stdout).toBe(`${web}\n`);
    expect((await lab.exec('shop/web-1', ['dig', '+short', '+time=2', '+tries=2', '@10.96.0.10', 'web.shop.svc.cluster.local'])).stdout).toBe(`${web}\n`);
    const table = await lab.kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=node-local-dns', '-o', 'wide']);
    expect(table.stdout).toMatch(/^node-local-dns-\S+\s+1\/1\s+Running\s+0\s+\S+\s+172\.31\.0\.12\s+node-2\s/m);
  });
});
