/**
 * The dual-stack data plane built directly (no API server): two flannel nodes with flannel-v6.1, dual-stack pods and
 * Services; every fault with an IPv6 twin applied with `family: IPv6`, observed breaking IPv6 while IPv4 still works,
 * reverted and observed fixed; and the same fault without `family` still breaking IPv4 only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeNet, PodNet, ScenarioFault } from './model.ts';
import { planNodeNet } from './dataplane/addressing.ts';
import { planNodeNetV6, podIPv6For } from './dataplane/addressing-v6.ts';
import { Dataplane } from './dataplane/dataplane.ts';
import { inNetns } from './dataplane/runner.ts';
import { skipLabSuite } from './harness.ts';
import { runner, POD_RESOLV_CONF as RESOLV, canConnect } from './kernel-kit.ts';

const skip = skipLabSuite('dataplane-dual-stack.test.ts');

const labId = `ds${process.pid.toString(36)}`;
const prefix = `nd${labId}-`;

describe.skipIf(skip)('dual-stack Dataplane on the real kernel', () => {
  let stateDir = '';
  let dp: Dataplane;
  let n1: NodeNet;
  let n2: NodeNet;
  let a1: PodNet;
  let a2: PodNet;
  let b1: PodNet;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndlab-ds-'));
    dp = new Dataplane({ labId, runner, stateDir, ipFamilies: ['IPv4', 'IPv6'] });
    n1 = { ...planNodeNet(labId, { name: 'node-1', index: 1, podCIDR: '10.244.1.0/24' }), v6: planNodeNetV6(1) };
    n2 = { ...planNodeNet(labId, { name: 'node-2', index: 2, podCIDR: '10.244.2.0/24' }), v6: planNodeNetV6(2) };
    await dp.createUnderlay();
    await Promise.all([dp.addNode(n1), dp.addNode(n2)]);
    await dp.connectNodes([n1, n2]);
    const pod = (key: string, node: NodeNet, ip: string) => dp.addPod({ key, node: node.name, ip, ip6: podIPv6For(ip, node.podCIDR, node.v6!.podCIDR), hostNetwork: false }, { resolvConf: RESOLV });
    [a1, a2, b1] = await Promise.all([pod('default/a1', n1, '10.244.1.10'), pod('default/a2', n1, '10.244.1.11'), pod('default/b1', n2, '10.244.2.10')]);
    await Promise.all([a1, a2, b1].map((p) => dp.startResponder(p, 8080)));
    await dp.applyServiceRulesEverywhere([
      {
        namespace: 'default', name: 'local', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
        endpoints: [{ ip: a2.ip, ready: true, ports: { http: 8080 } }],
        v6: { clusterIP: 'fd00:10:96::14', endpoints: [{ ip: a2.ip6!, ready: true, ports: { http: 8080 } }] },
      },
      {
        namespace: 'default', name: 'remote', clusterIP: '10.96.0.21', ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
        endpoints: [{ ip: b1.ip, ready: true, ports: { http: 8080 } }],
        v6: { clusterIP: 'fd00:10:96::15', endpoints: [{ ip: b1.ip6!, ready: true, ports: { http: 8080 } }] },
      },
    ]);
  });

  afterAll(async () => {
    await dp?.teardown();
    const left = (await runner.run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(prefix));
    fs.rmSync(stateDir, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it('gives pods both families and carries both across nodes and through the ClusterIPs', async () => {
    expect(b1.ip6).toBe('fd00:10:244:2::a');
    for (const ip of [b1.ip, b1.ip6!]) expect(await canConnect(a1.netns, ip, 8080)).toBe(true);
    for (const ip of ['10.96.0.21', 'fd00:10:96::15']) expect(await canConnect(a1.netns, ip, 80)).toBe(true);
    // IPv6 lives only inside the lab's namespaces: the pod's and the node's addresses are ULA.
    const addrs = await runner.run(inNetns(n1.netns, ['ip', '-6', '-o', 'addr', 'show', 'scope', 'global']));
    for (const line of addrs.stdout.trim().split('\n')) expect(line).toMatch(/inet6 fd00:/);
  });

  const twins: { fault: (v6: boolean) => ScenarioFault; what: string }[] = [
    { what: 'ip-forward-off (net.ipv6.conf.all.forwarding=0)', fault: (v6) => ({ type: 'ip-forward-off', node: 'node-2', ...(v6 ? { family: 'IPv6' as const } : {}) }) },
    { what: 'forward-policy-drop (ip6tables FORWARD DROP)', fault: (v6) => ({ type: 'forward-policy-drop', node: 'node-2', ...(v6 ? { family: 'IPv6' as const } : {}) }) },
    { what: 'overlay-blocked (flannel-v6.1\'s UDP 8472 over IPv6)', fault: (v6) => ({ type: 'overlay-blocked', node: 'node-2', ...(v6 ? { family: 'IPv6' as const } : {}) }) },
    { what: 'pod-route-missing (the IPv6 /64 route)', fault: (v6) => ({ type: 'pod-route-missing', node: 'node-1', toNode: 'node-2', ...(v6 ? { family: 'IPv6' as const } : {}) }) },
    { what: 'neighbor-stale (the pod\'s IPv6 neighbor on cni0)', fault: (v6) => ({ type: 'neighbor-stale', node: 'node-2', pod: 'default/b1', ...(v6 ? { family: 'IPv6' as const } : {}) }) },
  ];

  it.each(twins)('$what: family IPv6 breaks IPv6 only; without family it breaks IPv4 only', async ({ fault }) => {
    for (const v6 of [true, false]) {
      const [broken, working] = v6 ? [b1.ip6!, b1.ip] : [b1.ip, b1.ip6!];
      await dp.applyFault(fault(v6));
      try {
        expect(await canConnect(a1.netns, broken, 8080)).toBe(false);
        expect(await canConnect(a1.netns, working, 8080)).toBe(true);
      } finally {
        await dp.revertFault(fault(v6));
      }
      expect(await canConnect(a1.netns, broken, 8080)).toBe(true);
    }
  });

  it('bridge-nf-off family IPv6 (bridge-nf-call-ip6tables=0) breaks a same-node IPv6 ClusterIP only; without family IPv4 only', async () => {
    for (const v6 of [true, false]) {
      const f: ScenarioFault = { type: 'bridge-nf-off', node: 'node-1', ...(v6 ? { family: 'IPv6' as const } : {}) };
      const [broken, working] = v6 ? ['fd00:10:96::14', '10.96.0.20'] : ['10.96.0.20', 'fd00:10:96::14'];
      expect(await canConnect(a1.netns, broken, 80)).toBe(true);
      await dp.applyFault(f);
      try {
        const key = v6 ? 'net.bridge.bridge-nf-call-ip6tables' : 'net.bridge.bridge-nf-call-iptables';
        expect((await runner.run(inNetns(n1.netns, ['sysctl', '-n', key]))).stdout.trim()).toBe('0');
        expect(await canConnect(a1.netns, broken, 80)).toBe(false);
        expect(await canConnect(a1.netns, working, 80)).toBe(true);
      } finally {
        await dp.revertFault(f);
      }
      expect(await canConnect(a1.netns, broken, 80)).toBe(true);
    }
  });

  it('kube-proxy-rules-missing family IPv6 takes the Service out of the IPv6 proxier only; without family out of both', async () => {
    const f = (v6: boolean): ScenarioFault => ({ type: 'kube-proxy-rules-missing', node: 'node-1', service: 'default/remote', ...(v6 ? { family: 'IPv6' as const } : {}) });
    const ipv6Rules = async (): Promise<boolean> => (await runner.run(inNetns(n1.netns, ['ip6tables-save', '-t', 'nat']))).stdout.includes('-d fd00:10:96::15/128');
    const ipv4Rules = async (): Promise<boolean> => (await runner.run(inNetns(n1.netns, ['iptables-save', '-t', 'nat']))).stdout.includes('-d 10.96.0.21/32');
    await dp.applyFault(f(true));
    try {
      expect(await ipv6Rules()).toBe(false);
      expect(await ipv4Rules()).toBe(true);
      expect(await canConnect(a1.netns, 'fd00:10:96::15', 80)).toBe(false);
      expect(await canConnect(a1.netns, '10.96.0.21', 80)).toBe(true);
      // The other Service keeps its IPv6 rules.
      expect(await canConnect(a1.netns, 'fd00:10:96::14', 80)).toBe(true);
    } finally {
      await dp.revertFault(f(true));
    }
    expect(await ipv6Rules()).toBe(true);
    expect(await canConnect(a1.netns, 'fd00:10:96::15', 80)).toBe(true);
    // Without family, as before: both proxiers leave it out.
    await dp.applyFault(f(false));
    try {
      expect([await ipv4Rules(), await ipv6Rules()]).toEqual([false, false]);
    } finally {
      await dp.revertFault(f(false));
    }
    expect([await ipv4Rules(), await ipv6Rules()]).toEqual([true, true]);
  });

  it('dns-lossy drops DNS of both families on a dual-stack node (iptables and ip6tables raw rules)', async () => {
    const f: ScenarioFault = { type: 'dns-lossy', node: 'node-1', percent: 40 };
    await dp.applyFault(f);
    try {
      for (const save of ['iptables-save', 'ip6tables-save']) {
        const raw = (await runner.run(inNetns(n1.netns, [save, '-t', 'raw']))).stdout;
        expect(raw).toMatch(/-A PREROUTING -p udp -m udp --dport 53 -m statistic --mode random --probability 0.(4|39)\d+ -m comment --comment netdebug-lab-fault -j DROP/);
        expect(raw).toMatch(/-A PREROUTING -p udp -m udp --sport 53 -m statistic/);
      }
    } finally {
      await dp.revertFault(f);
    }
    expect((await runner.run(inNetns(n1.netns, ['ip6tables-save', '-t', 'raw']))).stdout).not.toContain('netdebug-lab-fault');
  });

  it('overlay-lossy family IPv6 writes its statistic rule with ip6tables only', async () => {
    const f: ScenarioFault = { type: 'overlay-lossy', node: 'node-2', percent: 50, family: 'IPv6' };
    await dp.applyFault(f);
    try {
      const v6 = await runner.run(inNetns(n2.netns, ['ip6tables-save', '-t', 'filter']));
      expect(v6.stdout).toMatch(/-A INPUT -p udp -m udp --dport 8472 -m statistic --mode random --probability 0.50000000000 -m comment --comment netdebug-lab-fault -j DROP/);
      expect((await runner.run(inNetns(n2.netns, ['iptables-save', '-t', 'filter']))).stdout).not.toContain('netdebug-lab-fault');
    } finally {
      await dp.revertFault(f);
    }
    expect((await runner.run(inNetns(n2.netns, ['ip6tables-save', '-t', 'filter']))).stdout).not.toContain('netdebug-lab-fault');
  });
});
