/**
 * Proves the rendered NetworkPolicy rules on a real kernel: two dual-stack "node" namespaces (bridge cni0, routed to each
 * other over a veth) with four dual-stack pod namespaces in two Kubernetes namespaces, TCP listeners of both families in
 * the pods, probes with nc. Every probe runs over IPv4 and over IPv6 (the ip6tables twin of the rules).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecRunner, inNetns } from './dataplane/runner.ts';
import { applyPolicyRules, readNetpolState, removePolicyRules } from './netpol/apply.ts';
import { compileNetworkPolicies, type NetpolPod, type NetworkPolicyObject } from './netpol/compile.ts';

const canRunLab = process.platform === 'linux' && process.getuid?.() === 0;
if (!canRunLab) {
  if (process.env.CI === 'true') throw new Error('netpol-kernel.test.ts must run as root on Linux in CI');
  console.warn('\n!!! SKIPPING netpol-kernel.test.ts: it needs root on Linux (network namespaces, iptables) !!!\n');
}

const runner = createExecRunner();

const prefix = `ndnp${randomBytes(3).toString('hex')}-`;
const NS = {
  n1: `${prefix}n1`,
  n2: `${prefix}n2`,
  web: `${prefix}web`,
  aClient: `${prefix}aclient`,
  bClient: `${prefix}bclient`,
  remote: `${prefix}remote`,
} as const;
const NODE_NETNS: Record<string, string> = { 'node-1': NS.n1, 'node-2': NS.n2 };

const IP = { web: '10.244.1.2', aClient: '10.244.1.3', bClient: '10.244.1.4', remote: '10.244.2.2' } as const;
/** The pods' IPv6 addresses (the lab's dual-stack plan: the node's /64, the same host offset). */
const IP6 = { web: 'fd00:10:244:1::2', aClient: 'fd00:10:244:1::3', bClient: 'fd00:10:244:1::4', remote: 'fd00:10:244:2::2' } as const;
const V6_OF: Record<string, string> = Object.fromEntries(Object.entries(IP).map(([k, v]) => [v, IP6[k as keyof typeof IP6]]));

const namespaces = [
  { name: 'alpha', labels: { team: 'alpha' } },
  { name: 'beta', labels: { team: 'beta' } },
];
const pods: NetpolPod[] = [
  {
    namespace: 'alpha', name: 'web', labels: { app: 'web' }, ip: IP.web, ip6: IP6.web, node: 'node-1', hostNetwork: false,
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9100, protocol: 'TCP' }],
  },
  { namespace: 'alpha', name: 'client', labels: { app: 'client' }, ip: IP.aClient, ip6: IP6.aClient, node: 'node-1', hostNetwork: false, ports: [] },
  { namespace: 'beta', name: 'client', labels: { app: 'client' }, ip: IP.bClient, ip6: IP6.bClient, node: 'node-1', hostNetwork: false, ports: [] },
  { namespace: 'beta', name: 'remote', labels: { app: 'client' }, ip: IP.remote, ip6: IP6.remote, node: 'node-2', hostNetwork: false, ports: [] },
];

const listeners: ChildProcess[] = [];

async function sh(...argv: string[]): Promise<string> {
  return (await runner.run(argv)).stdout;
}

async function addPod(node: string, netns: string, hostIf: string, ip: string, gw: string, ip6: string, gw6: string): Promise<void> {
  await sh('ip', '-n', node, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
  await sh('ip', '-n', node, 'link', 'set', hostIf, 'master', 'cni0', 'up');
  await sh('ip', '-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
  await sh('ip', '-n', netns, 'addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad');
  await sh('ip', '-n', netns, 'link', 'set', 'eth0', 'up');
  await sh('ip', '-n', netns, 'link', 'set', 'lo', 'up');
  await sh('ip', '-n', netns, 'route', 'add', 'default', 'via', gw);
  await sh('ip', '-n', netns, '-6', 'route', 'add', 'default', 'via', gw6);
}

async function addNode(netns: string, gwCidr: string, gwCidr6: string): Promise<void> {
  await sh('ip', '-n', netns, 'link', 'set', 'lo', 'up');
  await sh('ip', '-n', netns, 'link', 'add', 'cni0', 'type', 'bridge');
  await sh('ip', '-n', netns, 'addr', 'add', gwCidr, 'dev', 'cni0');
  await sh('ip', '-n', netns, 'addr', 'add', gwCidr6, 'dev', 'cni0', 'nodad');
  await sh('ip', '-n', netns, 'link', 'set', 'cni0', 'up');
  await sh('ip', 'netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1');
  await sh('ip', 'netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1', 'net.bridge.bridge-nf-call-ip6tables=1');
}

/**
 * Waits until no IPv6 address in the test's namespaces is tentative: a node routes IPv6 (and answers neighbour
 * solicitations from its link-local address) only once duplicate address detection on its new links is done.
 */
async function untilNoTentativeAddresses(): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const outs = await Promise.all(Object.values(NS).map((ns) => sh('ip', '-n', ns, '-6', 'addr', 'show', 'tentative')));
    if (outs.every((o) => o.trim() === '')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('IPv6 addresses stayed tentative (duplicate address detection did not finish)');
}

async function listen(netns: string, port: number, family: 'IPv4' | 'IPv6' = 'IPv4'): Promise<void> {
  const address = family === 'IPv6' ? `TCP6-LISTEN:${port},fork,reuseaddr,ipv6only=1` : `TCP4-LISTEN:${port},fork,reuseaddr`;
  const child = spawn('ip', ['netns', 'exec', netns, 'socat', address, 'EXEC:/bin/true'], { stdio: 'ignore' });
  listeners.push(child);
  for (let i = 0; i < 100; i++) {
    const out = await sh('ip', 'netns', 'exec', netns, 'ss', '-Hltn', family === 'IPv6' ? '-6' : '-4', `sport = :${port}`);
    if (out.trim() !== '') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`listener ${netns}:${port} (${family}) did not come up`);
}

/** True when a TCP connection from netns to ip:port succeeds within 1 s. */
async function canConnect(netns: string, ip: string, port: number): Promise<boolean> {
  const res = await runner.run(inNetns(netns, ['nc', '-z', '-w', '1', ip, String(port)]), { allowFailure: true });
  return res.code === 0;
}

type Probe = [from: string, to: string, port: number, expected: boolean];

/**
 * Runs probes in parallel and compares them all at once, so a failure shows every mismatch. A probe to a pod's IPv4
 * address also runs to its IPv6 address with the same expectation (policies hold for both families); probes already
 * written with an IPv6 address run as they are.
 */
async function expectProbes(probes: Probe[]): Promise<void> {
  await expectExactProbes([...probes, ...probes.flatMap(([from, to, port, ok]): Probe[] => (V6_OF[to] === undefined ? [] : [[from, V6_OF[to], port, ok]]))]);
}

/** Runs exactly the given probes (no IPv6 twins added): for the per-family ipBlock cases. */
async function expectExactProbes(probes: Probe[]): Promise<void> {
  const results = await Promise.all(probes.map(([from, to, port]) => canConnect(from, to, port)));
  const label = (p: Probe): string => `${p[0].slice(prefix.length)} -> ${p[1]}:${p[2]}`;
  expect(Object.fromEntries(probes.map((p, i) => [label(p), results[i]]))).toEqual(Object.fromEntries(probes.map((p) => [label(p), p[3]])));
}

async function enforce(policies: NetworkPolicyObject[]): Promise<void> {
  const plan = compileNetworkPolicies({ policies, pods, namespaces });
  for (const [node, netns] of Object.entries(NODE_NETNS)) {
    await applyPolicyRules(runner, netns, plan, node);
    await applyPolicyRules(runner, netns, plan, node, IP6TABLES, 'IPv6');
  }
}

const IP6TABLES = { save: 'ip6tables-save', restore: 'ip6tables-restore' };

function np(namespace: string, name: string, spec: Record<string, unknown>): NetworkPolicyObject {
  return { metadata: { name, namespace }, spec };
}

async function forwardRules(netns: string, iptables = 'iptables'): Promise<string[]> {
  return (await sh('ip', 'netns', 'exec', netns, iptables, '-w', '-S', 'FORWARD')).split('\n').filter((l) => l.startsWith('-A'));
}

const denyAll = np('alpha', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] });

describe.skipIf(!canRunLab)('NetworkPolicy enforcement on a real kernel', () => {
  beforeAll(async () => {
    for (const ns of Object.values(NS)) await sh('ip', 'netns', 'add', ns);
    await addNode(NS.n1, '10.244.1.1/24', 'fd00:10:244:1::1/64');
    await addNode(NS.n2, '10.244.2.1/24', 'fd00:10:244:2::1/64');
    await addPod(NS.n1, NS.web, 'vweb', IP.web, '10.244.1.1', IP6.web, 'fd00:10:244:1::1');
    await addPod(NS.n1, NS.aClient, 'vaclient', IP.aClient, '10.244.1.1', IP6.aClient, 'fd00:10:244:1::1');
    await addPod(NS.n1, NS.bClient, 'vbclient', IP.bClient, '10.244.1.1', IP6.bClient, 'fd00:10:244:1::1');
    await addPod(NS.n2, NS.remote, 'vremote', IP.remote, '10.244.2.1', IP6.remote, 'fd00:10:244:2::1');
    await sh('ip', '-n', NS.n1, 'link', 'add', 'ton2', 'type', 'veth', 'peer', 'name', 'ton1', 'netns', NS.n2);
    await sh('ip', '-n', NS.n1, 'addr', 'add', '172.31.0.11/24', 'dev', 'ton2');
    await sh('ip', '-n', NS.n2, 'addr', 'add', '172.31.0.12/24', 'dev', 'ton1');
    await sh('ip', '-n', NS.n1, 'link', 'set', 'ton2', 'up');
    await sh('ip', '-n', NS.n2, 'link', 'set', 'ton1', 'up');
    await sh('ip', '-n', NS.n1, 'addr', 'add', 'fd00:172:31::11/64', 'dev', 'ton2', 'nodad');
    await sh('ip', '-n', NS.n2, 'addr', 'add', 'fd00:172:31::12/64', 'dev', 'ton1', 'nodad');
    await sh('ip', '-n', NS.n1, 'route', 'add', '10.244.2.0/24', 'via', '172.31.0.12');
    await sh('ip', '-n', NS.n2, 'route', 'add', '10.244.1.0/24', 'via', '172.31.0.11');
    await sh('ip', '-n', NS.n1, '-6', 'route', 'add', 'fd00:10:244:2::/64', 'via', 'fd00:172:31::12');
    await sh('ip', '-n', NS.n2, '-6', 'route', 'add', 'fd00:10:244:1::/64', 'via', 'fd00:172:31::11');
    await untilNoTentativeAddresses();
    // Another lab part's chain: every apply must leave it alone.
    for (const iptables of ['iptables', 'ip6tables']) {
      await sh('ip', 'netns', 'exec', NS.n1, iptables, '-w', '-N', 'KUBE-OTHER');
      await sh('ip', 'netns', 'exec', NS.n1, iptables, '-w', '-A', 'FORWARD', '-j', 'KUBE-OTHER');
    }
    await Promise.all(
      (['IPv4', 'IPv6'] as const).flatMap((family) => [
        ...[8080, 9000, 9001, 9002, 9100].map((p) => listen(NS.web, p, family)),
        listen(NS.aClient, 8080, family),
        listen(NS.bClient, 8080, family),
        listen(NS.remote, 8080, family),
      ]),
    );
  });

  afterAll(async () => {
    for (const child of listeners) if (child.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(
      listeners.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((r) => child.once('exit', r)))),
    );
    for (const ns of Object.values(NS)) await runner.run(['ip', 'netns', 'del', ns], { allowFailure: true });
    const left = (await sh('ip', 'netns', 'list')).split('\n').filter((l) => l.startsWith(prefix));
    expect(left).toEqual([]);
    for (const child of listeners) expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
  });

  it('with no policies everything connects, same-node and cross-node', async () => {
    await enforce([]);
    await expectProbes([
      [NS.aClient, IP.web, 8080, true],
      [NS.bClient, IP.web, 8080, true],
      [NS.remote, IP.web, 8080, true],
      [NS.web, IP.remote, 8080, true],
    ]);
  });

  it('deny-all ingress blocks same-node and cross-node pods but not the node itself', async () => {
    await enforce([denyAll]);
    await expectProbes([
      [NS.aClient, IP.web, 8080, false],
      [NS.bClient, IP.web, 8080, false],
      [NS.remote, IP.web, 8080, false],
      [NS.n1, IP.web, 8080, true],
      // Only ingress is isolated: web still reaches others (replies pass as ESTABLISHED).
      [NS.web, IP.bClient, 8080, true],
      [NS.web, IP.remote, 8080, true],
    ]);
  });

  it('podSelector allow admits a pod of the policy namespace, not a same-labelled pod elsewhere', async () => {
    await enforce([denyAll, np('alpha', 'from-clients', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] })]);
    await expectProbes([
      [NS.aClient, IP.web, 8080, true],
      [NS.bClient, IP.web, 8080, false],
      [NS.remote, IP.web, 8080, false],
    ]);
  });

  it('namespaceSelector admits every pod of the matching namespace on both nodes', async () => {
    await enforce([denyAll, np('alpha', 'from-beta', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'beta' } } }] }] })]);
    await expectProbes([
      [NS.bClient, IP.web, 8080, true],
      [NS.remote, IP.web, 8080, true],
      [NS.aClient, IP.web, 8080, false],
    ]);
  });

  it('a named port opens only the container port with that name', async () => {
    await enforce([denyAll, np('alpha', 'http-only', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 'http' }] }] })]);
    await expectProbes([
      [NS.aClient, IP.web, 8080, true],
      [NS.remote, IP.web, 8080, true],
      [NS.aClient, IP.web, 9100, false],
      [NS.aClient, IP.web, 9000, false],
    ]);
  });

  it('endPort opens an inclusive range and nothing outside it', async () => {
    await enforce([denyAll, np('alpha', 'range', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 9000, endPort: 9001 }] }] })]);
    await expectProbes([
      [NS.aClient, IP.web, 9000, true],
      [NS.aClient, IP.web, 9001, true],
      [NS.aClient, IP.web, 9002, false],
      [NS.aClient, IP.web, 8080, false],
    ]);
  });

  it('egress deny blocks outbound of the selected pods while their ingress stays open', async () => {
    await enforce([np('beta', 'no-egress', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'] })]);
    await expectProbes([
      [NS.bClient, IP.web, 8080, false],
      [NS.bClient, IP.aClient, 8080, false],
      [NS.remote, IP.web, 8080, false],
      [NS.aClient, IP.bClient, 8080, true],
      [NS.web, IP.remote, 8080, true],
      [NS.aClient, IP.web, 8080, true],
    ]);
  });

  it('egress allowed to one namespace still needs the destination ingress', async () => {
    await enforce([
      np('beta', 'egress-to-alpha', { podSelector: { matchLabels: { app: 'client' } }, egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'alpha' } } }] }], policyTypes: ['Egress'] }),
      np('alpha', 'web-from-alpha', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: {} }] }] }),
    ]);
    await expectProbes([
      [NS.bClient, IP.aClient, 8080, true],
      [NS.remote, IP.aClient, 8080, true],
      [NS.bClient, IP.web, 8080, false],
      [NS.aClient, IP.web, 8080, true],
    ]);
  });

  it('an ipBlock admits only addresses of its own family, minus its excepts', async () => {
    await enforce([denyAll, np('alpha', 'from-node-1-v4', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.244.1.0/24', except: ['10.244.1.4/32'] } }] }] })]);
    await expectExactProbes([
      [NS.aClient, IP.web, 8080, true],
      [NS.bClient, IP.web, 8080, false],
      [NS.remote, IP.web, 8080, false],
      [NS.aClient, IP6.web, 8080, false],
      [NS.remote, IP6.web, 8080, false],
    ]);
    await enforce([denyAll, np('alpha', 'from-node-2-v6', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: 'fd00:10:244::/56', except: ['fd00:10:244:1::/64'] } }] }] })]);
    await expectExactProbes([
      [NS.remote, IP6.web, 8080, true],
      [NS.aClient, IP6.web, 8080, false],
      [NS.remote, IP.web, 8080, false],
      [NS.aClient, IP.web, 8080, false],
    ]);
  });

  it('removing the policies and re-applying restores access; the FORWARD jump stays single and foreign rules survive', async () => {
    await enforce([]);
    await enforce([]);
    await expectProbes([
      [NS.aClient, IP.web, 8080, true],
      [NS.bClient, IP.web, 9100, true],
      [NS.remote, IP.web, 8080, true],
      [NS.bClient, IP.aClient, 8080, true],
    ]);
    for (const netns of [NS.n1, NS.n2]) {
      const rules = await forwardRules(netns);
      expect(rules.filter((l) => l === '-A FORWARD -j NETPOL-FORWARD')).toHaveLength(1);
      expect(rules[0]).toBe('-A FORWARD -j NETPOL-FORWARD');
      expect(await readNetpolState(runner, netns)).toEqual({ forwardJumps: 1, chains: ['NETPOL-FORWARD'] });
      const rules6 = await forwardRules(netns, 'ip6tables');
      expect(rules6.filter((l) => l === '-A FORWARD -j NETPOL-FORWARD')).toHaveLength(1);
      expect(rules6[0]).toBe('-A FORWARD -j NETPOL-FORWARD');
      expect(await readNetpolState(runner, netns, IP6TABLES)).toEqual({ forwardJumps: 1, chains: ['NETPOL-FORWARD'] });
    }
    expect(await forwardRules(NS.n1)).toContain('-A FORWARD -j KUBE-OTHER');
    expect(await forwardRules(NS.n1, 'ip6tables')).toContain('-A FORWARD -j KUBE-OTHER');
  });

  it('removePolicyRules leaves no NETPOL state and keeps other chains', async () => {
    await enforce([denyAll]);
    for (const netns of [NS.n1, NS.n2]) {
      await removePolicyRules(runner, netns);
      await removePolicyRules(runner, netns);
      expect(await readNetpolState(runner, netns)).toEqual({ forwardJumps: 0, chains: [] });
      await removePolicyRules(runner, netns, IP6TABLES);
      expect(await readNetpolState(runner, netns, IP6TABLES)).toEqual({ forwardJumps: 0, chains: [] });
    }
    expect(await forwardRules(NS.n1)).toEqual(['-A FORWARD -j KUBE-OTHER']);
    expect(await forwardRules(NS.n1, 'ip6tables')).toEqual(['-A FORWARD -j KUBE-OTHER']);
    await expectProbes([[NS.aClient, IP.web, 8080, true]]);
  });
});
