/**
 * Cilium's IPv6 side built directly on the real kernel (no API server): two dual-stack nodes with kube-proxy (iptables)
 * and with Cilium's kube-proxy replacement, cilium_host's IPv6 router address, the routes Cilium writes (mtu 1450
 * towards other nodes), IPv6 carried in cilium_vxlan, IPv6 pod→pod across nodes and pod→IPv6 ClusterIP, and every
 * IPv6 fault twin Cilium has breaking IPv6 only (and the same fault without `family` IPv4 only).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeNet, PodNet, ScenarioFault, ServiceProxy } from './model.ts';
import { planNodeNet } from './dataplane/addressing.ts';
import { planNodeNetV6, podIPv6For } from './dataplane/addressing-v6.ts';
import { Dataplane } from './dataplane/dataplane.ts';
import { ciliumVethName, SOCKET_LB_TABLE } from './dataplane/cilium.ts';
import { skipLabSuite } from './harness.ts';
import { runner, POD_RESOLV_CONF as RESOLV, canConnect, sh } from './kernel-kit.ts';

const skip = skipLabSuite('dataplane-dual-stack-cilium.test.ts');


const MODES = [
  { proxy: 'iptables', tag: 'ci' },
  { proxy: 'cilium', tag: 'ck' },
] as const satisfies readonly { proxy: ServiceProxy; tag: string }[];

describe.skipIf(skip).each(MODES)('dual-stack cilium (serviceProxy $proxy) on the real kernel', ({ proxy, tag }) => {
  const labId = `${tag}${process.pid.toString(36)}`;
  const prefix = `nd${labId}-`;
  let stateDir = '';
  let dp: Dataplane;
  let n1: NodeNet;
  let n2: NodeNet;
  let a1: PodNet;
  let b1: PodNet;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `ndlab-${tag}-`));
    dp = new Dataplane({ labId, runner, stateDir, network: 'cilium', serviceProxy: proxy, ipFamilies: ['IPv4', 'IPv6'] });
    n1 = { ...planNodeNet(labId, { name: 'node-1', index: 1, podCIDR: '10.244.1.0/24' }), v6: planNodeNetV6(1) };
    n2 = { ...planNodeNet(labId, { name: 'node-2', index: 2, podCIDR: '10.244.2.0/24' }), v6: planNodeNetV6(2) };
    await dp.createUnderlay();
    await Promise.all([dp.addNode(n1), dp.addNode(n2)]);
    await dp.connectNodes([n1, n2]);
    const pod = (key: string, node: NodeNet, ip: string) => dp.addPod({ key, node: node.name, ip, ip6: podIPv6For(ip, node.podCIDR, node.v6!.podCIDR), hostNetwork: false }, { resolvConf: RESOLV });
    [a1, b1] = await Promise.all([pod('default/a1', n1, '10.244.1.10'), pod('default/b1', n2, '10.244.2.10')]);
    await Promise.all([a1, b1].map((p) => dp.startResponder(p, 8080)));
    await dp.applyServiceRulesEverywhere([
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

  it('carries IPv6 pod→pod across nodes and pod→IPv6 ClusterIP, with IPv4 alongside', async () => {
    expect(b1.ip6).toBe('fd00:10:244:2::a');
    for (const ip of [b1.ip, b1.ip6!]) expect(await canConnect(a1.netns, ip, 8080)).toBe(true);
    for (const ip of ['10.96.0.21', 'fd00:10:96::15']) expect(await canConnect(a1.netns, ip, 80)).toBe(true);
    for (const ns of [n1.netns, a1.netns]) {
      for (const line of (await sh(ns, ['ip', '-6', '-o', 'addr', 'show', 'scope', 'global'])).trim().split('\n')) expect(line).toMatch(/inet6 fd00:/);
    }
  });

  it('gives cilium_host its IPv6 router address and writes the IPv6 node routes as Cilium does (mtu 1450 towards other nodes)', async () => {
    expect(await sh(n2.netns, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'cilium_host', 'scope', 'global'])).toContain('inet6 fd00:10:244:2::1/128');
    const routes = await sh(n2.netns, ['ip', '-6', 'route']);
    expect(routes).toMatch(/^fd00:10:244:1::\/64 dev cilium_host proto kernel src fd00:10:244:2::1 metric 1024 mtu 1450 /m);
    expect(routes).toMatch(/^fd00:10:244:2::\/64 dev cilium_host proto kernel src fd00:10:244:2::1 metric 1024 pref medium/m);
    // No IPv6 VXLAN device: IPv6 pods travel in cilium_vxlan, between the nodes' IPv4 addresses.
    expect(await sh(n2.netns, ['ip', '-o', 'link', 'show', 'type', 'vxlan'])).toMatch(/^\d+: cilium_vxlan: /);
    expect((await sh(n2.netns, ['ip', '-o', 'link', 'show', 'type', 'vxlan'])).trim().split('\n')).toHaveLength(1);
  });

  it('lays out the pod side as cilium-cni does for IPv6: /128, <router> dev eth0, default via <router> mtu 1450', async () => {
    expect(await sh(b1.netns, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'])).toContain(`inet6 ${b1.ip6}/128`);
    const routes = await sh(b1.netns, ['ip', '-6', 'route']);
    expect(routes).toMatch(/^fd00:10:244:2::1 dev eth0 metric 1024 /m);
    expect(routes).toMatch(/^default via fd00:10:244:2::1 dev eth0 metric 1024 mtu 1450 /m);
    // The pod learned the router on its veth (bpf_lxc answers that solicitation; the lab's proxy NDP entry stands in).
    expect(await sh(n2.netns, ['ip', '-6', 'neigh', 'show', 'proxy', 'dev', ciliumVethName('default/b1')])).toMatch(/^fd00:10:244:2::1 proxy/m);
  });

  if (proxy === 'cilium') {
    it('answers IPv6 ClusterIPs with the socket-LB stand-in\'s ip6 table and writes no ip6tables Service rules', async () => {
      const nft = await sh(a1.netns, ['nft', 'list', 'table', 'ip6', SOCKET_LB_TABLE]);
      expect(nft).toContain('ip6 daddr fd00:10:96::15 tcp dport 80 jump svc_0');
      expect(nft).toContain(`dnat to [${b1.ip6}]:8080`);
      expect(await sh(n1.netns, ['ip6tables-save', '-t', 'nat'])).not.toContain('KUBE-SVC');
    });
  } else {
    it('translates IPv6 ClusterIPs with kube-proxy\'s ip6tables rules', async () => {
      expect(await sh(n1.netns, ['ip6tables-save', '-t', 'nat'])).toMatch(/-A KUBE-SERVICES -d fd00:10:96::15\/128 -p tcp .* -j KUBE-SVC-/);
    });
  }

  const family = (v6: boolean): { family?: 'IPv6' } => (v6 ? { family: 'IPv6' } : {});
  const twins: { what: string; fault: (v6: boolean) => ScenarioFault }[] = [
    { what: 'ip-forward-off', fault: (v6) => ({ type: 'ip-forward-off', node: 'node-2', ...family(v6) }) },
    { what: 'forward-policy-drop', fault: (v6) => ({ type: 'forward-policy-drop', node: 'node-2', ...family(v6) }) },
    { what: 'pod-route-missing (the node route and the tunnel route)', fault: (v6) => ({ type: 'pod-route-missing', node: 'node-1', toNode: 'node-2', ...family(v6) }) },
    { what: 'neighbor-stale (the pod on its lxc veth)', fault: (v6) => ({ type: 'neighbor-stale', node: 'node-2', pod: 'default/b1', ...family(v6) }) },
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
      expect(await canConnect(a1.netns, working, 8080)).toBe(true);
    }
  });

  it('removes a pod\'s IPv6 rule with the pod', async () => {
    const veth = ciliumVethName('default/gone');
    const p = await dp.addPod({ key: 'default/gone', node: 'node-1', ip: '10.244.1.30', ip6: 'fd00:10:244:1::1e', hostNetwork: false }, { resolvConf: RESOLV });
    expect(await sh(n1.netns, ['ip', '-6', 'rule', 'show'])).toContain(`iif ${veth} lookup 2100`);
    await dp.removePod(p);
    expect(await sh(n1.netns, ['ip', '-6', 'rule', 'show'])).not.toContain(veth);
  });
});
