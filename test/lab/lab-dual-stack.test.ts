/**
 * Dual-stack through the whole lab (`lab up` of test/lab/scenarios/dual-stack*.yaml and real kubectl 1.32): the API
 * objects a dual-stack cluster serves (podIPs, podCIDRs, clusterIPs, EndpointSlices of addressType IPv6), AAAA answers
 * by dig from a pod, IPv6 pod to pod across nodes over flannel-v6.1 and pod to an IPv6 ClusterIP through every service
 * proxy (ip6tables on the nft and legacy backends, `ip6 kube-proxy`); the IPv6-only fault that breaks IPv6 and not
 * IPv4; and IPv6 as the primary family.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, scenarioPath, skipLabSuite, startTestLab, type CommandResult, type TestLab } from './harness.ts';

const skip = skipLabSuite('lab dual-stack');

// Fixed by dual-stack.yaml: the DNS pod is first on node-1, then client, web-2; web-1 is first on node-2.
const CLIENT = { v4: '10.244.1.3', v6: 'fd00:10:244:1::3' };
const WEB1 = { v4: '10.244.2.2', v6: 'fd00:10:244:2::2' };
const WEB2 = { v4: '10.244.1.4', v6: 'fd00:10:244:1::4' };
const WEB = { v4: '10.96.0.2', v6: 'fd00:10:96::2' };
const WEB_V6 = 'fd00:10:96::3';

const curl = (lab: TestLab, from: string, ip: string, port = 80): Promise<CommandResult> =>
  lab.exec(from, ['curl', '-s', '-g', '-m', '3', ip.includes(':') ? `http://[${ip}]:${port}/` : `http://${ip}:${port}/`]);
const dig = (lab: TestLab, from: string, type: 'A' | 'AAAA', name: string): Promise<CommandResult> =>
  lab.exec(from, ['dig', '+time=2', '+tries=2', '+short', type, name]);
const jsonpath = async (lab: TestLab, args: string[], path: string): Promise<string> => {
  const r = await lab.kubectl([...args, '-o', `jsonpath=${path}`]);
  expect(r.stderr).toBe('');
  return r.stdout;
};
/** A command in one of the lab's node namespaces (the test runs as root, as the lab does). */
const onNode = (lab: TestLab, node: number, argv: string[]): Promise<CommandResult> => run('ip', ['netns', 'exec', `nd${lab.rec.labId}-n${node}`, ...argv]);

/** The host namespace's IPv6 state: addresses, routes and forwarding (a dual-stack lab must leave all of it alone). */
async function hostIPv6(): Promise<string> {
  const parts = await Promise.all([run('ip', ['-6', '-o', 'addr', 'show']), run('ip', ['-6', 'route', 'show', 'table', 'all']), run('sysctl', ['-n', 'net.ipv6.conf.all.forwarding'])]);
  return parts.map((p) => p.stdout).join('\n---\n');
}

describe.skipIf(skip)('lab dual-stack [IPv4, IPv6] (dual-stack.yaml)', () => {
  let lab: TestLab;
  let hostBefore = '';
  beforeAll(async () => {
    hostBefore = await hostIPv6();
    lab = await startTestLab('dual-stack');
  });
  afterAll(async () => lab?.down());

  it('adds no IPv6 address or route to the host and changes no host sysctl; every lab IPv6 address is a ULA', async () => {
    expect(await hostIPv6()).toBe(hostBefore);
    expect(hostBefore).not.toMatch(/fd00:(10|172):/);
    for (const node of [1, 2]) {
      const global = (await onNode(lab, node, ['ip', '-6', '-o', 'addr', 'show', 'scope', 'global'])).stdout.trim().split('\n');
      expect(global.length).toBeGreaterThan(0);
      for (const line of global) expect(line).toMatch(/ inet6 fd[0-9a-f]{2}:/);
    }
  });

  it('gives every pod both addresses, IPv4 first, as real kubectl shows them', async () => {
    expect(JSON.parse(await jsonpath(lab, ['get', 'pod', '-n', 'default', 'client'], '{.status.podIPs}'))).toEqual([{ ip: CLIENT.v4 }, { ip: CLIENT.v6 }]);
    expect(await jsonpath(lab, ['get', 'pod', '-n', 'shop', 'web-1'], '{.status.podIP}')).toBe(WEB1.v4);
    expect(JSON.parse(await jsonpath(lab, ['get', 'pod', '-n', 'shop', 'web-1'], '{.status.hostIPs}'))).toEqual([{ ip: '172.31.0.12' }, { ip: 'fd00:172:31::c' }]);
    // kubectl's IP column is the primary address (the first of podIPs), as on a real dual-stack cluster.
    const wide = (await lab.kubectl(['get', 'pods', '-n', 'shop', '-o', 'wide'])).stdout;
    expect(wide).toMatch(new RegExp(`web-1\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${WEB1.v4.replaceAll('.', '\\.')}\\s+node-2`));
  });

  it('gives nodes an IPv6 pod range and InternalIP', async () => {
    const cidrs = await jsonpath(lab, ['get', 'nodes'], '{range .items[*]}{.metadata.name}={.spec.podCIDRs}{"\\n"}{end}');
    expect(cidrs.trim().split('\n')).toEqual(['node-1=["10.244.1.0/24","fd00:10:244:1::/64"]', 'node-2=["10.244.2.0/24","fd00:10:244:2::/64"]']);
    expect(await jsonpath(lab, ['get', 'node', 'node-2'], '{.status.addresses[?(@.type=="InternalIP")].address}')).toBe('172.31.0.12 fd00:172:31::c');
  });

  it('settles Service families as the API server does', async () => {
    const spec = async (name: string) => JSON.parse((await lab.kubectl(['get', 'service', '-n', 'shop', name, '-o', 'json'])).stdout).spec;
    expect(await spec('web')).toMatchObject({ clusterIP: WEB.v4, clusterIPs: [WEB.v4, WEB.v6], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' });
    expect(await spec('web-v6')).toMatchObject({ clusterIP: WEB_V6, clusterIPs: [WEB_V6], ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' });
    expect(await spec('web-headless')).toMatchObject({ clusterIP: 'None', clusterIPs: ['None'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' });
    // The cluster DNS keeps kubeadm's SingleStack Service in the primary family.
    expect(JSON.parse((await lab.kubectl(['get', 'service', '-n', 'kube-system', 'kube-dns', '-o', 'json'])).stdout).spec).toMatchObject({ clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'] });
  });

  it('keeps one set of EndpointSlices per address family, labelled as the EndpointSlice controller does', async () => {
    const slices = JSON.parse((await lab.kubectl(['get', 'endpointslices', '-n', 'shop', '-l', 'kubernetes.io/service-name=web', '-o', 'json'])).stdout).items as {
      metadata: { name: string; generateName: string; labels: Record<string, string> }; addressType: string; endpoints: { addresses: string[] }[];
    }[];
    expect(slices.map((s) => s.addressType).sort()).toEqual(['IPv4', 'IPv6']);
    const v6 = slices.find((s) => s.addressType === 'IPv6')!;
    expect(v6.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(v6.metadata.generateName).toBe('web-');
    expect(v6.metadata.labels).toMatchObject({ 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    expect(v6.endpoints.flatMap((e) => e.addresses).sort()).toEqual([WEB2.v6, WEB1.v6].sort());
    const only6 = await jsonpath(lab, ['get', 'endpointslices', '-n', 'shop', '-l', 'kubernetes.io/service-name=web-v6'], '{.items[*].addressType}');
    expect(only6).toBe('IPv6');
    // The v1 Endpoints controller lists the Service's first family only.
    expect(await jsonpath(lab, ['get', 'endpoints', '-n', 'shop', 'web'], '{.subsets[0].addresses[*].ip}')).toBe(`${WEB2.v4} ${WEB1.v4}`);
  });

  it('answers AAAA for Services (each ClusterIP of its family) and for headless Services the pods\' IPv6 addresses', async () => {
    expect((await dig(lab, 'default/client', 'AAAA', 'web.shop.svc.cluster.local')).stdout.trim()).toBe(WEB.v6);
    expect((await dig(lab, 'default/client', 'A', 'web.shop.svc.cluster.local')).stdout.trim()).toBe(WEB.v4);
    expect((await dig(lab, 'default/client', 'AAAA', 'web-v6.shop.svc.cluster.local')).stdout.trim()).toBe(WEB_V6);
    expect((await dig(lab, 'default/client', 'A', 'web-v6.shop.svc.cluster.local')).stdout.trim()).toBe('');
    expect((await dig(lab, 'default/client', 'AAAA', 'web-headless.shop.svc.cluster.local')).stdout.trim().split('\n').sort()).toEqual([WEB2.v6, WEB1.v6].sort());
  });

  it('carries IPv6 pod to pod across nodes over flannel-v6.1, and on the same node', async () => {
    expect((await curl(lab, 'default/client', WEB1.v6, 8080)).stdout.trim()).toBe('shop/web-1');
    expect((await curl(lab, 'default/client', WEB2.v6, 8080)).stdout.trim()).toBe('shop/web-2');
    const dev = await onNode(lab, 1, ['ip', '-d', 'link', 'show', 'flannel-v6.1']);
    expect(dev.stdout).toMatch(/vxlan id 1 local fd00:172:31::b dev eth0 srcport 0 0 dstport 8472 nolearning/);
    expect(dev.stdout).toMatch(/mtu 1430/);
    const routes = await onNode(lab, 1, ['ip', '-6', 'route', 'show', 'fd00:10:244:2::/64']);
    expect(routes.stdout.trim()).toBe('fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.1 metric 1024 onlink pref medium');
    const fdb = await onNode(lab, 1, ['bridge', 'fdb', 'show', 'dev', 'flannel-v6.1']);
    expect(fdb.stdout).toContain('0e:6e:66:00:00:02 dst fd00:172:31::c self permanent');
    const eth0 = await lab.exec('default/client', ['ip', '-6', 'route', 'show', 'default']);
    expect(eth0.stdout.trim()).toBe('default via fd00:10:244:1::1 dev eth0 metric 1024 pref medium');
  });

  it('translates IPv6 ClusterIPs with kube-proxy\'s ip6tables rules, next to the IPv4 ones', async () => {
    for (let i = 0; i < 4; i++) expect((await curl(lab, 'default/client', WEB.v6)).stdout.trim()).toMatch(/^shop\/web-[12]$/);
    expect((await curl(lab, 'default/client', WEB_V6)).stdout.trim()).toMatch(/^shop\/web-[12]$/);
    expect((await curl(lab, 'default/client', WEB.v4)).stdout.trim()).toMatch(/^shop\/web-[12]$/);
    const rules = (await onNode(lab, 1, ['ip6tables-save', '-t', 'nat'])).stdout;
    expect(rules).toContain(`-A KUBE-SERVICES -d ${WEB.v6}/128 -p tcp -m tcp --dport 80 -m comment --comment "shop/web:http cluster IP" -j KUBE-SVC-`);
    expect(rules).toMatch(/-A KUBE-SEP-[A-Z2-7]{16} -p tcp -m comment --comment "shop\/web:http" -m tcp -j DNAT --to-destination \[fd00:10:244:2::2\]:8080/);
    expect(rules).not.toContain('10.96.0.2');
    expect((await onNode(lab, 1, ['iptables-save', '-t', 'nat'])).stdout).not.toContain('fd00:');
  });
});

describe.skipIf(skip)('lab dual-stack with an IPv6-only fault (dual-stack-ipv6-forward-off.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('dual-stack-ipv6-forward-off');
  });
  afterAll(async () => lab?.down());

  it('turns IPv6 forwarding off on node-2 only', async () => {
    expect((await onNode(lab, 2, ['sysctl', '-n', 'net.ipv6.conf.all.forwarding'])).stdout.trim()).toBe('0');
    expect((await onNode(lab, 2, ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('1');
    expect((await onNode(lab, 1, ['sysctl', '-n', 'net.ipv6.conf.all.forwarding'])).stdout.trim()).toBe('1');
  });

  it('breaks IPv6 into node-2\'s pods (pod and ClusterIP) while IPv4 still works', async () => {
    expect((await curl(lab, 'default/client', WEB1.v4, 8080)).stdout.trim()).toBe('shop/web-1');
    expect((await curl(lab, 'default/client', WEB.v4)).stdout.trim()).toBe('shop/web-1');
    const v6 = await curl(lab, 'default/client', WEB1.v6, 8080);
    expect(v6.stdout).toBe('');
    expect(v6.code).not.toBe(0);
    const svc6 = await curl(lab, 'default/client', WEB.v6);
    expect(svc6.stdout).toBe('');
    expect(svc6.code).not.toBe(0);
  });
});

describe.skipIf(skip)('lab dual-stack, IPv6 primary [IPv6, IPv4] (dual-stack-ipv6-primary.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('dual-stack-ipv6-primary');
  });
  afterAll(async () => lab?.down());

  it('lists IPv6 first in pods, nodes and Services, and resolves through the IPv6 DNS ClusterIP', async () => {
    expect(JSON.parse(await jsonpath(lab, ['get', 'pod', '-n', 'default', 'client'], '{.status.podIPs}'))).toEqual([{ ip: CLIENT.v6 }, { ip: CLIENT.v4 }]);
    expect(await jsonpath(lab, ['get', 'node', 'node-1'], '{.spec.podCIDR}')).toBe('fd00:10:244:1::/64');
    expect(JSON.parse(await jsonpath(lab, ['get', 'service', '-n', 'shop', 'web'], '{.spec.clusterIPs}'))).toEqual(['fd00:10:96::2', '10.96.0.2']);
    expect(await jsonpath(lab, ['get', 'service', '-n', 'kube-system', 'kube-dns'], '{.spec.clusterIP}')).toBe('fd00:10:96::a');
    expect((await lab.exec('default/client', ['cat', '/etc/resolv.conf'])).stdout).toContain('nameserver fd00:10:96::a\n');
    expect((await lab.exec('default/client', ['curl', '-s', '-6', '-m', '3', 'http://web.shop/'])).stdout.trim()).toBe('shop/web-1');
    expect((await lab.exec('default/client', ['curl', '-s', '-4', '-m', '3', 'http://web.shop/'])).stdout.trim()).toBe('shop/web-1');
  });
});

/** dual-stack.yaml with one more `spec.cluster` setting, written to a temporary file. */
function variant(setting: string): { path: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'lab-dual-stack-'));
  const text = readFileSync(scenarioPath('dual-stack'), 'utf8').replace('  cluster:\n    ipFamilies: [IPv4, IPv6]\n', `  cluster:\n    ipFamilies: [IPv4, IPv6]\n    ${setting}\n`);
  if (!text.includes(setting)) throw new Error(`dual-stack.yaml has no spec.cluster block to add ${setting} to`);
  const path = join(dir, 'dual-stack-variant.yaml');
  writeFileSync(path, text);
  return { path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

describe.skipIf(skip).each([
  { setting: 'serviceProxy: nftables', rules: ['nft', 'list', 'table', 'ip6', 'kube-proxy'], expected: /dnat to \[fd00:10:244:[12]::[24]\]:8080/ },
  { setting: 'iptablesBackend: legacy', rules: ['ip6tables-legacy-save', '-t', 'nat'], expected: /-j DNAT --to-destination \[fd00:10:244:[12]::[24]\]:8080/ },
])('lab dual-stack with $setting', ({ setting, rules, expected }) => {
  let lab: TestLab;
  let file: ReturnType<typeof variant>;
  beforeAll(async () => {
    file = variant(setting);
    lab = await startTestLab(file.path);
  });
  afterAll(async () => {
    await lab?.down();
    file?.dispose();
  });

  it('carries IPv6 Service traffic through that proxy\'s IPv6 rules', async () => {
    expect((await curl(lab, 'default/client', WEB.v6)).stdout.trim()).toMatch(/^shop\/web-[12]$/);
    expect((await curl(lab, 'default/client', WEB_V6)).stdout.trim()).toMatch(/^shop\/web-[12]$/);
    expect((await curl(lab, 'default/client', WEB.v4)).stdout.trim()).toMatch(/^shop\/web-[12]$/);
    expect((await onNode(lab, 1, rules)).stdout).toMatch(expected);
  });
});
