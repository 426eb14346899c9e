/**
 * Calico's IPv6 side built directly on the real kernel (no API server): two dual-stack nodes per mode (VXLAN with the
 * iptables proxy, BGP with the nftables proxy), the devices, routes and neighbors felix, BIRD and the Calico CNI plugin
 * write for IPv6, IPv6 pod→pod across nodes and pod→IPv6 ClusterIP, and every IPv6 fault twin the mode has breaking
 * IPv6 only (and the same fault without `family` IPv4 only).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeNet, PodNet, ScenarioFault, ServiceProxy } from './model.ts';
import { planNodeNet } from './dataplane/addressing.ts';
import { planNodeNetV6, podIPv6For } from './dataplane/addressing-v6.ts';
import { Dataplane } from './dataplane/dataplane.ts';
import { hashedVethName } from './dataplane/pod-network.ts';
import { skipLabSuite } from './harness.ts';
import { runner, POD_RESOLV_CONF as RESOLV, canConnect, sh } from './kernel-kit.ts';

const skip = skipLabSuite('dataplane-dual-stack-calico.test.ts');


const MODES = [
  { network: 'calico-vxlan', proxy: 'iptables', tag: 'cv' },
  { network: 'calico-bgp', proxy: 'nftables', tag: 'cb' },
] as const satisfies readonly { network: 'calico-vxlan' | 'calico-bgp'; proxy: ServiceProxy; tag: string }[];

describe.each(MODES)('dual-stack $network ($proxy proxy) on the real kernel', ({ network, proxy, tag }) => {
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
    dp = new Dataplane({ labId, runner, stateDir, network, serviceProxy: proxy, ipFamilies: ['IPv4', 'IPv6'] });
    // The IPv4 blocks the scenario validator gives node-1 and node-2 (README "calico-vxlan").
    n1 = { ...planNodeNet(labId, { name: 'node-1', index: 1, podCIDR: '192.168.14.64/26' }), v6: planNodeNetV6(1) };
    n2 = { ...planNodeNet(labId, { name: 'node-2', index: 2, podCIDR: '192.168.149.128/26' }), v6: planNodeNetV6(2) };
    await dp.createUnderlay();
    await Promise.all([dp.addNode(n1), dp.addNode(n2)]);
    await dp.connectNodes([n1, n2]);
    const pod = (key: string, node: NodeNet, ip: string) => dp.addPod({ key, node: node.name, ip, ip6: podIPv6For(ip, node.podCIDR, node.v6!.podCIDR), hostNetwork: false }, { resolvConf: RESOLV });
    [a1, b1] = await Promise.all([pod('default/a1', n1, '192.168.14.74'), pod('default/b1', n2, '192.168.149.138')]);
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
    // IPv6 lives only inside the lab's namespaces: every global IPv6 address is a ULA.
    for (const ns of [n1.netns, a1.netns]) {
      for (const line of (await sh(ns, ['ip', '-6', '-o', 'addr', 'show', 'scope', 'global'])).trim().split('\n')) expect(line).toMatch(/inet6 fd00:/);
    }
  });

  it('lays out the pod side as the Calico CNI plugin does for IPv6: /128 on eth0, default via the veth link-local fe80::ecee:eeff:feee:eeee', async () => {
    expect(await sh(b1.netns, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'])).toContain(`inet6 ${b1.ip6}/128`);
    expect(await sh(b1.netns, ['ip', '-6', 'route', 'show', 'default'])).toMatch(/^default via fe80::ecee:eeff:feee:eeee dev eth0/m);
    const veth = hashedVethName('cali', 'default/b1');
    // The kernel derives the gateway from the host veth's MAC ee:ee:ee:ee:ee:ee (EUI-64).
    expect(await sh(n2.netns, ['ip', '-6', '-o', 'addr', 'show', 'dev', veth])).toContain('inet6 fe80::ecee:eeff:feee:eeee/64 scope link');
    expect(await sh(n2.netns, ['ip', '-6', 'route', 'show', `${b1.ip6}/128`])).toMatch(new RegExp(`^${b1.ip6} dev ${veth} `, 'm'));
    for (const [key, want] of [['proxy_ndp', '1'], ['forwarding', '1'], ['accept_ra', '0']]) {
      expect((await sh(n2.netns, ['sysctl', '-n', `net.ipv6.conf.${veth}.${key}`])).trim()).toBe(want);
    }
    // felix's IPv6 route table writes no static neighbor entries (the kernel learns them).
    expect(await sh(n2.netns, ['ip', '-6', 'neigh', 'show', 'dev', veth, 'nud', 'permanent'])).toBe('');
    // felix's pod MTU is the smallest of the enabled encapsulations: IPv6 VXLAN's 1430 next to vxlan.calico's 1450.
    const mtu = (await sh(b1.netns, ['cat', '/sys/class/net/eth0/mtu'])).trim();
    expect(mtu).toBe(network === 'calico-vxlan' ? '1430' : '1500');
  });

  if (network === 'calico-vxlan') {
    it('builds vxlan-v6.calico (VNI 4096, UDP 4789, over the node IPv6, MTU 1430), the /122 blocks via the peer tunnel address onlink, permanent neighbors and FDB', async () => {
      const link = await sh(n2.netns, ['ip', '-d', 'link', 'show', 'dev', 'vxlan-v6.calico']);
      expect(link).toMatch(/mtu 1430 /);
      expect(link).toContain('link/ether 66:36:00:00:00:02');
      expect(link).toMatch(new RegExp(`vxlan id 4096 local ${n2.v6!.underlayIP} dev eth0 .*dstport 4789 nolearning`));
      expect(await sh(n2.netns, ['cat', '/sys/class/net/vxlan.calico/mtu'])).toBe('1450\n');
      expect(await sh(n2.netns, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'vxlan-v6.calico', 'scope', 'global'])).toContain('inet6 fd00:10:244:2::/128');
      const routes = await sh(n2.netns, ['ip', '-6', 'route']);
      // The kernel prints an IPv6 blackhole route with `dev lo`.
      expect(routes).toMatch(/^blackhole fd00:10:244:2::\/122 dev lo proto 80 /m);
      expect(routes).toMatch(/^fd00:10:244:1::\/122 via fd00:10:244:1:: dev vxlan-v6\.calico .*onlink/m);
      expect(await sh(n2.netns, ['ip', '-6', 'neigh', 'show', 'dev', 'vxlan-v6.calico'])).toMatch(/^fd00:10:244:1:: lladdr 66:36:00:00:00:01 PERMANENT/m);
      expect(await sh(n2.netns, ['bridge', 'fdb', 'show', 'dev', 'vxlan-v6.calico'])).toContain(`66:36:00:00:00:01 dst ${n1.v6!.underlayIP} self permanent`);
    });
  } else {
    it('routes the /122 blocks as BIRD does over IPv6 (via the peer IPv6 address, proto bird) with the own block blackholed', async () => {
      const routes = await sh(n2.netns, ['ip', '-6', 'route']);
      expect(routes).toMatch(/^blackhole fd00:10:244:2::\/122 dev lo proto bird /m);
      expect(routes).toMatch(new RegExp(`^fd00:10:244:1::/122 via ${n1.v6!.underlayIP} dev eth0 proto bird`, 'm'));
      expect(await sh(n2.netns, ['ip', 'link', 'show'])).not.toContain('vxlan');
    });
  }

  const family = (v6: boolean): { family?: 'IPv6' } => (v6 ? { family: 'IPv6' } : {});
  const twins: { what: string; fault: (v6: boolean) => ScenarioFault }[] = [
    { what: 'ip-forward-off', fault: (v6) => ({ type: 'ip-forward-off', node: 'node-2', ...family(v6) }) },
    { what: 'forward-policy-drop', fault: (v6) => ({ type: 'forward-policy-drop', node: 'node-2', ...family(v6) }) },
    { what: 'pod-route-missing (the peer block route)', fault: (v6) => ({ type: 'pod-route-missing', node: 'node-1', toNode: 'node-2', ...family(v6) }) },
    { what: 'neighbor-stale (the pod on its cali veth)', fault: (v6) => ({ type: 'neighbor-stale', node: 'node-2', pod: 'default/b1', ...family(v6) }) },
    ...(network === 'calico-vxlan' ? [{ what: 'overlay-blocked (vxlan-v6.calico\'s UDP 4789 over IPv6)', fault: (v6: boolean): ScenarioFault => ({ type: 'overlay-blocked', node: 'node-2', ...family(v6) }) }] : []),
    ...(network === 'calico-bgp' ? [{ what: 'underlay-blocked (pod addresses to node-2 dropped on the underlay bridge)', fault: (v6: boolean): ScenarioFault => ({ type: 'underlay-blocked', node: 'node-2', ...family(v6) }) }] : []),
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

  if (network === 'calico-vxlan') {
    it('overlay-lossy family IPv6 drops a share of vxlan-v6.calico\'s UDP 4789 with ip6tables only', async () => {
      const f: ScenarioFault = { type: 'overlay-lossy', node: 'node-2', percent: 50, family: 'IPv6' };
      await dp.applyFault(f);
      try {
        expect(await sh(n2.netns, ['ip6tables-save', '-t', 'filter'])).toMatch(/-A INPUT -p udp -m udp --dport 4789 -m statistic --mode random --probability 0.50000000000 -m comment --comment netdebug-lab-fault -j DROP/);
        expect(await sh(n2.netns, [dp.iptables.save, '-t', 'filter'])).not.toContain('netdebug-lab-fault');
      } finally {
        await dp.revertFault(f);
      }
      expect(await sh(n2.netns, ['ip6tables-save', '-t', 'filter'])).not.toContain('netdebug-lab-fault');
    });

    it('mtu-mismatch repair puts vxlan.calico back to 1450 and the pods to 1430 (their MTUs differ on a dual-stack node)', async () => {
      const f: ScenarioFault = { type: 'mtu-mismatch', node: 'node-2' };
      await dp.applyFault(f);
      await dp.revertFault(f);
      expect((await sh(n2.netns, ['cat', '/sys/class/net/vxlan.calico/mtu'])).trim()).toBe('1450');
      expect((await sh(b1.netns, ['cat', '/sys/class/net/eth0/mtu'])).trim()).toBe('1430');
      expect(await canConnect(a1.netns, b1.ip6!, 8080)).toBe(true);
    });
  }

  it('forward-policy-drop family IPv6 leaves felix\'s IPv4 FORWARD accepts in place and adds none to ip6tables', async () => {
    const f: ScenarioFault = { type: 'forward-policy-drop', node: 'node-2', family: 'IPv6' };
    await dp.applyFault(f);
    await dp.revertFault(f);
    expect(await sh(n2.netns, [dp.iptables.save, '-t', 'filter'])).toContain('cali:S93hcgKJrXEqnTfs');
    expect(await sh(n2.netns, ['ip6tables-save', '-t', 'filter'])).not.toContain('cali:');
  });
});
