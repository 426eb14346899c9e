/**
 * The cloud-routed network's IPv6 side built directly on the real kernel (no API server): two dual-stack nodes per
 * service proxy (iptables, nftables), the routes GKE VPC-native's dataplane lays out for IPv6 (a /128 per pod to its veth,
 * the pods' dummy next hop fe80::1, nothing towards other nodes' pods but the default route; the "VPC" underlay routes
 * each node's IPv6 pod range to the node), IPv6 pod→pod across nodes and pod→IPv6 ClusterIP, and every IPv6 fault twin
 * cloud-routed has breaking IPv6 only (and the same fault without `family` IPv4 only).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeNet, PodNet, ScenarioFault, ServiceProxy } from './model.ts';
import { planNodeNet } from './dataplane/addressing.ts';
import { planNodeNetV6, podIPv6For } from './dataplane/addressing-v6.ts';
import { eniVethMAC } from './dataplane/cloud-routed.ts';
import { Dataplane } from './dataplane/dataplane.ts';
import { hashedVethName } from './dataplane/pod-network.ts';
import { inNetns } from './dataplane/runner.ts';
import { skipLabSuite } from './harness.ts';
import { runner, POD_RESOLV_CONF as RESOLV, canConnect, sh } from './kernel-kit.ts';

const skip = skipLabSuite('dataplane-dual-stack-cloud-routed.test.ts');


const PROXIES = [
  { proxy: 'iptables', tag: 'gi' },
  { proxy: 'nftables', tag: 'gn' },
] as const satisfies readonly { proxy: ServiceProxy; tag: string }[];

describe.skipIf(skip).each(PROXIES)('dual-stack cloud-routed ($proxy proxy) on the real kernel', ({ proxy, tag }) => {
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
    dp = new Dataplane({ labId, runner, stateDir, network: 'cloud-routed', serviceProxy: proxy, ipFamilies: ['IPv4', 'IPv6'] });
    n1 = { ...planNodeNet(labId, { name: 'node-1', index: 1, podCIDR: '10.244.1.0/24' }), v6: planNodeNetV6(1) };
    n2 = { ...planNodeNet(labId, { name: 'node-2', index: 2, podCIDR: '10.244.2.0/24' }), v6: planNodeNetV6(2) };
    await dp.createUnderlay();
    await Promise.all([dp.addNode(n1), dp.addNode(n2)]);
    await dp.connectNodes([n1, n2]);
    const pod = (key: string, node: NodeNet, ip: string) => dp.addPod({ key, node: node.name, ip, ip6: podIPv6For(ip, node.podCIDR, node.v6!.podCIDR), hostNetwork: false }, { resolvConf: RESOLV });
    [a1, b1] = await Promise.all([pod('default/a1', n1, '10.244.1.5'), pod('default/b1', n2, '10.244.2.7')]);
    await Promise.all([a1, b1].map((p) => dp.startResponder(p, 8080)));
    // The first IPv6 flow across the underlay waits for neighbor discovery on every hop (seen taking 1-2 s on a loaded
    // machine): wait for one echo (ping gives up after 10 s) so later 1 s connect checks measure routing, not NDP.
    await runner.run(inNetns(a1.netns, ['ping', '-c', '1', '-W', '10', b1.ip6!]));
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
    expect(b1.ip6).toBe('fd00:10:244:2::7');
    for (const ip of [b1.ip, b1.ip6!]) expect(await canConnect(a1.netns, ip, 8080)).toBe(true);
    for (const ip of ['10.96.0.21', 'fd00:10:96::15']) expect(await canConnect(a1.netns, ip, 80)).toBe(true);
    // The IPv6 proxier's rules are kube-proxy's ip6tables / `table ip6 kube-proxy` twins.
    if (proxy === 'iptables') expect(await sh(n1.netns, ['ip6tables-save', '-t', 'nat'])).toMatch(/-A KUBE-SERVICES -d fd00:10:96::15\/128 -p tcp .*-j KUBE-SVC-/);
    else expect(await sh(n1.netns, ['nft', 'list', 'table', 'ip6', 'kube-proxy'])).toContain('fd00:10:96::15');
    // IPv6 lives only inside the lab's namespaces: every global IPv6 address is a ULA.
    for (const ns of [n1.netns, a1.netns]) {
      for (const line of (await sh(ns, ['ip', '-6', '-o', 'addr', 'show', 'scope', 'global'])).trim().split('\n')) expect(line).toMatch(/inet6 fd00:/);
    }
  });

  it('lays out the pod side with the IPv6 dummy next hop: /128 on eth0, fe80::1 dev eth0, default via fe80::1, a permanent neighbor with the host veth MAC', async () => {
    const veth = hashedVethName('eni', 'default/b1');
    expect(await sh(b1.netns, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'])).toContain(`inet6 ${b1.ip6}/128`);
    const routes = await sh(b1.netns, ['ip', '-6', 'route']);
    expect(routes).toMatch(/^fe80::1 dev eth0 /m);
    expect(routes).toMatch(/^default via fe80::1 dev eth0 /m);
    expect(await sh(b1.netns, ['ip', '-6', 'neigh', 'show', 'dev', 'eth0'])).toMatch(new RegExp(`^fe80::1 lladdr ${eniVethMAC(b1.ip)} PERMANENT`, 'm'));
    expect(await sh(n2.netns, ['ip', '-6', 'route', 'show', `${b1.ip6}/128`])).toMatch(new RegExp(`^${b1.ip6} dev ${veth} `, 'm'));
    expect(await sh(n2.netns, ['ip', '-6', 'rule'])).toContain(`512:\tfrom all to ${b1.ip6} lookup main`);
    for (const [key, want] of [['accept_ra', '0'], ['accept_redirects', '1']]) {
      expect((await sh(n2.netns, ['sysctl', '-n', `net.ipv6.conf.${veth}.${key}`])).trim()).toBe(want);
    }
  });

  it("holds no IPv6 route to other nodes' pods but the default one; the underlay routes each node's IPv6 pod range", async () => {
    const routes = await sh(n2.netns, ['ip', '-6', 'route']);
    expect(routes).not.toMatch(/^fd00:10:244:1::/m);
    expect(routes).toMatch(/^default via fd00:172:31::1 dev eth0 /m);
    expect((await sh(n2.netns, ['ip', '-6', 'route', 'get', a1.ip6!])).trim()).toMatch(new RegExp(`^${a1.ip6} from :: via fd00:172:31::1 dev eth0 `));
    const under = await sh(`nd${labId}-u`, ['ip', '-6', 'route']);
    expect(under).toMatch(new RegExp(`^fd00:10:244:1::/64 via ${n1.v6!.underlayIP} dev br0 `, 'm'));
    expect(under).toMatch(new RegExp(`^fd00:10:244:2::/64 via ${n2.v6!.underlayIP} dev br0 `, 'm'));
  });

  const family = (v6: boolean): { family?: 'IPv6' } => (v6 ? { family: 'IPv6' } : {});
  const twins: { what: string; fault: (v6: boolean) => ScenarioFault }[] = [
    { what: 'ip-forward-off', fault: (v6) => ({ type: 'ip-forward-off', node: 'node-2', ...family(v6) }) },
    { what: 'forward-policy-drop', fault: (v6) => ({ type: 'forward-policy-drop', node: 'node-2', ...family(v6) }) },
    { what: 'neighbor-stale (the pod on its eni veth)', fault: (v6) => ({ type: 'neighbor-stale', node: 'node-2', pod: 'default/b1', ...family(v6) }) },
    { what: "underlay-blocked (the VPC's route to node-2's pods)", fault: (v6) => ({ type: 'underlay-blocked', node: 'node-2', ...family(v6) }) },
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
});
