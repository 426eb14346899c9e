/**
 * Each pod network the lab builds besides flannel (calico-vxlan, calico-bgp, cloud-routed, cilium), built directly on the real
 * kernel with three nodes: healthy (pod to pod on the same and another node, pod to ClusterIP, pod to DNS, node to pod),
 * laid out as documented in test/lab/README.md (asserted on real `ip` and `iptables-save` output), and every fault that
 * can exist on the network applied, observed, reverted and observed repaired.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNetwork, NodeNet, PodNet, ScenarioFault } from './model.ts';
import { formatIPv4, parseCIDR, planNodeNet } from './dataplane/addressing.ts';
import { Dataplane } from './dataplane/dataplane.ts';
import type { ServiceRules } from './dataplane/kube-proxy.ts';
import { createExecRunner, inNetns } from './dataplane/runner.ts';
import { calicoDefaultBlock, faultRefusal } from './scenario.ts';

const canRunLab = process.platform === 'linux' && process.getuid?.() === 0;
if (!canRunLab) {
  if (process.env.CI === 'true') throw new Error('dataplane-networks.test.ts needs root on Linux in CI');
  console.warn('\n!!! SKIPPING dataplane-networks.test.ts: it needs root on Linux (network namespaces) !!!\n');
}

const runner = createExecRunner();
const RESOLV = 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n';

/** Runs a command in a namespace and returns stdout (throws on failure). */
async function sh(netns: string, argv: string[]): Promise<string> {
  return (await runner.run(inNetns(netns, argv))).stdout;
}

/** True when `nc -z` from netns reaches ip:port within 1 s. */
async function canConnect(netns: string, ip: string, port: number): Promise<boolean> {
  return (await runner.run(inNetns(netns, ['nc', '-z', '-w', '1', ip, String(port)]), { allowFailure: true })).code === 0;
}

/** True when one don't-fragment ping of the given payload from netns is answered within 1 s. */
async function canPing(netns: string, ip: string, size = 56): Promise<boolean> {
  const r = await runner.run(inNetns(netns, ['ping', '-n', '-q', '-c', '1', '-W', '1', '-M', 'do', '-s', String(size), ip]), { allowFailure: true });
  return r.code === 0;
}

/** The MTU a packet from netns to ip meets first: the route's `mtu` (Cilium puts the tunnel's overhead there), else the device's. */
async function effectiveMtu(netns: string, ip: string): Promise<number> {
  const route = (await runner.run(inNetns(netns, ['ip', '-o', 'route', 'get', ip]))).stdout;
  const routeMtu = /\bmtu (\d+)/.exec(route)?.[1];
  const dev = /\bdev (\S+)/.exec(route)?.[1] ?? 'eth0';
  const devMtu = Number((await runner.run(inNetns(netns, ['cat', `/sys/class/net/${dev}/mtu`]))).stdout.trim());
  return routeMtu === undefined ? devMtu : Math.min(devMtu, Number(routeMtu));
}

/** How many of 50 quick pings from netns to ip are answered. */
async function burstAnswered(netns: string, ip: string): Promise<number> {
  const r = await runner.run(inNetns(netns, ['ping', '-q', '-n', '-c', '50', '-i', '0.01', '-W', '1', ip]), { allowFailure: true });
  return Number(/50 packets transmitted, (\d+) received/.exec(r.stdout)?.[1] ?? -1);
}

/** The A records dig returns for name through the namespace's resolv.conf (the kube-dns ClusterIP). */
async function resolve(netns: string, name: string): Promise<string[]> {
  const r = await runner.run(inNetns(netns, ['dig', '+short', '+time=1', '+tries=1', name]), { allowFailure: true });
  return r.code === 0 ? r.stdout.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l)) : [];
}

/** Output lines without trailing blanks (iproute2 ends some lines with a space). */
function lines(out: string): string[] {
  return out.split('\n').map((l) => l.trimEnd()).filter(Boolean);
}

/** The node pod CIDRs of a network: Calico blocks as the scenario validator assigns them, else 10.244.<i>.0/24. */
function podCIDRs(network: ClusterNetwork): string[] {
  const names = ['node-1', 'node-2', 'node-3'];
  if (network !== 'calico-vxlan' && network !== 'calico-bgp') return names.map((_, i) => `10.244.${i + 1}.0/24`);
  const taken: number[] = [];
  return names.map((n) => {
    const block = calicoDefaultBlock(n, taken);
    taken.push(parseCIDR(block).network);
    return block;
  });
}

/** The address at offset off of a CIDR. */
function at(cidr: string, off: number): string {
  return formatIPv4(parseCIDR(cidr).network + off);
}

const NETWORKS = ['calico-vxlan', 'calico-bgp', 'cloud-routed', 'cilium'] as const satisfies readonly ClusterNetwork[];

describe.skipIf(!canRunLab).each(NETWORKS.map((network) => ({ network })))('pod network $network on the real kernel', ({ network }) => {
  const labId = `nw${network.replace(/[^a-z]/g, '').slice(0, 6)}${process.pid.toString(36)}`;
  let stateDir = '';
  let dp: Dataplane;
  const nodes: NodeNet[] = [];
  const pods: Record<string, PodNet> = {};
  let buildMs = 0;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndlab-nw-'));
    dp = new Dataplane({ labId, runner, stateDir, network });
    const started = Date.now();
    const cidrs = podCIDRs(network);
    nodes.push(...cidrs.map((podCIDR, i) => planNodeNet(labId, { name: `node-${i + 1}`, index: i + 1, podCIDR })));
    await dp.createUnderlay();
    await Promise.all(nodes.map((n) => dp.addNode(n)));
    await dp.connectNodes(nodes);
    const specs = [
      { key: 'default/a1', node: 'node-1', ip: at(cidrs[0]!, 2) },
      { key: 'default/a2', node: 'node-1', ip: at(cidrs[0]!, 3) },
      { key: 'shop/b1', node: 'node-2', ip: at(cidrs[1]!, 2) },
      { key: 'kube-system/dns', node: 'node-2', ip: at(cidrs[1]!, 3) },
      { key: 'shop/c1', node: 'node-3', ip: at(cidrs[2]!, 2) },
    ];
    const added = await Promise.all(specs.map((s) => dp.addPod({ ...s, hostNetwork: false }, { resolvConf: RESOLV })));
    for (const p of added) pods[p.key.split('/')[1]!] = p;
    pods.host1 = await dp.addPod({ key: 'default/host1', node: 'node-1', ip: '', hostNetwork: true }, { resolvConf: RESOLV });
    pods.host2 = await dp.addPod({ key: 'default/host2', node: 'node-2', ip: '', hostNetwork: true }, { resolvConf: RESOLV });
    await Promise.all([pods.a1!, pods.a2!, pods.b1!, pods.c1!].map((p) => dp.startResponder(p, 8080)));
    await dp.startDnsServer(pods.dns!, [{ name: 'remote.default.svc.cluster.local', ips: ['10.96.0.21'] }]);
    const ep = (p: PodNet) => ({ ip: p.ip, ready: true, ports: { http: 8080 } });
    const services: ServiceRules[] = [
      { namespace: 'default', name: 'remote', clusterIP: '10.96.0.21', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [ep(pods.b1!)] },
      { namespace: 'default', name: 'self', clusterIP: '10.96.0.22', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [ep(pods.a1!)] },
      {
        namespace: 'kube-system',
        name: 'kube-dns',
        clusterIP: '10.96.0.10',
        ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }],
        endpoints: [{ ip: pods.dns!.ip, ready: true, ports: { dns: 53, 'dns-tcp': 53 } }],
      },
    ];
    await dp.applyServiceRulesEverywhere(services);
    buildMs = Date.now() - started;
  });

  afterAll(async () => {
    await dp?.teardown();
    const left = (await runner.run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`nd${labId}-`));
    fs.rmSync(stateDir, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it('builds 3 nodes, 5 pods, DNS and Services in well under 5 s', () => {
    expect(buildMs).toBeLessThan(5000);
  });

  it.each([
    { name: 'same-node pod to pod', from: () => pods.a1!.netns, to: () => pods.a2!.ip, port: 8080 },
    { name: 'cross-node pod to pod', from: () => pods.a1!.netns, to: () => pods.b1!.ip, port: 8080 },
    { name: 'cross-node pod to pod (third node)', from: () => pods.b1!.netns, to: () => pods.c1!.ip, port: 8080 },
    { name: 'pod to ClusterIP', from: () => pods.a1!.netns, to: () => '10.96.0.21', port: 80 },
    { name: 'pod to its own Service', from: () => pods.a1!.netns, to: () => '10.96.0.22', port: 80 },
    { name: 'node to its local pod', from: () => pods.host1!.netns, to: () => pods.a1!.ip, port: 8080 },
    { name: 'node to a remote pod', from: () => pods.host2!.netns, to: () => pods.a1!.ip, port: 8080 },
    { name: 'node to ClusterIP', from: () => pods.host1!.netns, to: () => '10.96.0.21', port: 80 },
  ])('healthy: $name', async ({ from, to, port }) => {
    expect(await canConnect(from(), to(), port)).toBe(true);
  });

  it('healthy: pod to DNS through the kube-dns ClusterIP', async () => {
    expect(await resolve(pods.c1!.netns, 'remote.default.svc.cluster.local')).toEqual(['10.96.0.21']);
  });

  it('lays out pods as the network does: /32 on eth0, default via the link-local or router gateway, scope link', async () => {
    const p = pods.b1!;
    expect(await sh(p.netns, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toMatch(new RegExp(`inet ${p.ip.replace(/\./g, '\\.')}/32 scope global eth0`));
    const gw = network === 'cilium' ? nodes[1]!.gatewayIP : '169.254.1.1';
    const defaultRoute = network === 'cilium' ? `default via ${gw} dev eth0 mtu 1450` : `default via ${gw} dev eth0`;
    expect(lines(await sh(p.netns, ['ip', 'route']))).toEqual([defaultRoute, `${gw} dev eth0 scope link`]);
    const mtu = Number((await sh(p.netns, ['cat', '/sys/class/net/eth0/mtu'])).trim());
    expect(mtu).toBe(network === 'calico-vxlan' ? 1450 : 1500);
  });

  if (network === 'calico-vxlan' || network === 'calico-bgp') {
    it('Calico: cali<11 hex> veths with ee:ee:ee:ee:ee:ee, proxy ARP, felix /32 routes and permanent neighbors, blackhole for the own block', async () => {
      const n2 = nodes[1]!;
      const routes = (await sh(n2.netns, ['ip', 'route'])).split('\n').map((l) => l.trim());
      const veth = /^\S+ dev (cali[0-9a-f]{11}) scope link$/.exec(routes.find((l) => l.startsWith(`${pods.b1!.ip} `)) ?? '')?.[1];
      expect(veth).toBeDefined();
      expect(routes).toContain(`blackhole ${n2.podCIDR} proto ${network === 'calico-vxlan' ? '80' : 'bird'}`);
      const link = await sh(n2.netns, ['ip', '-d', 'link', 'show', 'dev', veth!]);
      expect(link).toContain('link/ether ee:ee:ee:ee:ee:ee');
      expect((await sh(n2.netns, ['sysctl', '-n', `net.ipv4.conf.${veth}.proxy_arp`])).trim()).toBe('1');
      expect(await sh(n2.netns, ['ip', 'neigh', 'show', 'dev', veth!])).toMatch(new RegExp(`^${pods.b1!.ip.replace(/\./g, '\\.')} lladdr 0a:58:[0-9a-f:]+ PERMANENT`, 'm'));
      // The pod resolves 169.254.1.1 to the host veth's MAC by proxy ARP.
      expect(await canPing(pods.b1!.netns, pods.c1!.ip)).toBe(true);
      expect(await sh(pods.b1!.netns, ['ip', 'neigh', 'show', '169.254.1.1'])).toContain('lladdr ee:ee:ee:ee:ee:ee');
      // felix's hooks and the workload dispatch for the pod.
      const rules = await sh(n2.netns, ['iptables-save', '-t', 'filter']);
      expect(rules).toContain('-A FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD');
      expect(rules).toContain('-A INPUT -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT');
      expect(rules).toContain('-A OUTPUT -m comment --comment "cali:tVnHkvAo15HuiPy0" -j cali-OUTPUT');
      expect(rules).toMatch(new RegExp(`-A cali-from-wl-dispatch -i ${veth} -m comment --comment "cali:[\\w-]{16}" -g cali-fw-${veth}`));
      expect(await sh(n2.netns, ['iptables-save', '-t', 'nat'])).toContain('-A POSTROUTING -m comment --comment "cali:O3lYWMrLQYEMJtB5" -j cali-POSTROUTING');
    });
  }

  if (network === 'calico-vxlan' || network === 'calico-bgp') {
    it("Calico: forward-policy-drop takes felix's FORWARD accept rules away with the policy and puts them back in order", async () => {
      const forward = async (): Promise<string[]> => lines(await sh(nodes[1]!.netns, ['iptables', '-S', 'FORWARD']));
      const felix = ['-A FORWARD -m comment --comment "cali:S93hcgKJrXEqnTfs" -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT', '-A FORWARD -m comment --comment "cali:mp77cMpurHhyjLrM" -j MARK --set-xmark 0x10000/0x10000'];
      expect((await forward()).slice(-2)).toEqual(felix);
      await dp.applyFault({ type: 'forward-policy-drop', node: 'node-2' });
      try {
        const during = await forward();
        expect(during[0]).toBe('-P FORWARD DROP');
        expect(during.some((l) => l.includes('cali:S93hcgKJrXEqnTfs') || l.includes('cali:mp77cMpurHhyjLrM'))).toBe(false);
      } finally {
        await dp.revertFault({ type: 'forward-policy-drop', node: 'node-2' });
      }
      const after = await forward();
      expect(after[0]).toBe('-P FORWARD ACCEPT');
      expect(after.slice(-2)).toEqual(felix);
    });
  }

  if (network === 'calico-vxlan') {
    it('Calico VXLAN: vxlan.calico (VNI 4096, UDP 4789, MTU 1450, tunnel address /32), remote blocks via the VTEP onlink, permanent VTEP neighbors and FDB', async () => {
      const [n1, n2] = [nodes[0]!, nodes[1]!];
      const link = await sh(n2.netns, ['ip', '-d', 'link', 'show', 'dev', 'vxlan.calico']);
      expect(link).toMatch(/mtu 1450 /);
      expect(link).toMatch(new RegExp(`vxlan id 4096 local ${n2.underlayIP} dev eth0 .*dstport 4789 nolearning`));
      expect(await sh(n2.netns, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'vxlan.calico'])).toContain(`inet ${n2.vtepIP}/32`);
      const routes = (await sh(n2.netns, ['ip', 'route'])).split('\n').map((l) => l.trim());
      expect(routes).toContain(`${n1.podCIDR} via ${n1.vtepIP} dev vxlan.calico onlink`);
      expect(await sh(n2.netns, ['ip', 'neigh', 'show', 'dev', 'vxlan.calico'])).toMatch(new RegExp(`^${n1.vtepIP.replace(/\./g, '\\.')} lladdr 66:63:00:00:00:01 PERMANENT`, 'm'));
      expect(await sh(n2.netns, ['bridge', 'fdb', 'show', 'dev', 'vxlan.calico'])).toContain(`66:63:00:00:00:01 dst ${n1.underlayIP} self permanent`);
    });
  }

  if (network === 'calico-bgp') {
    it('Calico BGP: remote blocks via the peer node IP on eth0, proto bird, no tunnel device', async () => {
      const [n1, n2] = [nodes[0]!, nodes[1]!];
      const routes = (await sh(n2.netns, ['ip', 'route'])).split('\n').map((l) => l.trim());
      expect(routes).toContain(`${n1.podCIDR} via ${n1.underlayIP} dev eth0 proto bird`);
      expect(await sh(n2.netns, ['ip', '-o', 'link'])).not.toMatch(/vxlan|flannel|cni0/);
    });
  }

  if (network === 'cloud-routed') {
    it('cloud-routed: eni<11 hex> veths with /32 routes and rule 512, nothing to other nodes but the default route; the underlay router carries every pod range', async () => {
      const n2 = nodes[1]!;
      const routes = (await sh(n2.netns, ['ip', 'route'])).split('\n').map((l) => l.trim()).filter(Boolean);
      const veth = /^\S+ dev (eni[0-9a-f]{11}) scope link$/.exec(routes.find((l) => l.startsWith(`${pods.b1!.ip} `)) ?? '')?.[1];
      expect(veth).toBeDefined();
      expect(routes.filter((r) => r.includes('10.244.1.') || r.includes('10.244.3.'))).toEqual([]);
      expect(routes).toContain('default via 172.31.0.1 dev eth0');
      expect(await sh(n2.netns, ['ip', 'rule'])).toContain(`512:\tfrom all to ${pods.b1!.ip} lookup main`);
      const mac = /link\/ether (\S+)/.exec(await sh(n2.netns, ['ip', 'link', 'show', 'dev', veth!]))?.[1];
      expect(lines(await sh(pods.b1!.netns, ['ip', 'neigh', 'show', '169.254.1.1']))).toEqual([`169.254.1.1 dev eth0 lladdr ${mac} PERMANENT`]);
      const vpc = (await sh(dp.underlayNetns, ['ip', 'route'])).split('\n').map((l) => l.trim());
      for (const n of nodes) expect(vpc).toContain(`${n.podCIDR} via ${n.underlayIP} dev br0`);
      expect(await sh(n2.netns, ['ip', '-o', 'link'])).not.toMatch(/vxlan|flannel|cni0|cali/);
    });
  }

  if (network === 'cilium') {
    it('Cilium: cilium_host/cilium_net (NOARP, the router /32), cilium_vxlan external on 8472, lxc veths, node routes via cilium_host proto kernel src with mtu 1450 towards other nodes, CILIUM_* chains', async () => {
      const [n1, n2] = [nodes[0]!, nodes[1]!];
      const r2 = n2.gatewayIP;
      const routes = lines(await sh(n2.netns, ['ip', 'route']));
      expect(routes).toEqual([
        'default via 172.31.0.1 dev eth0',
        `${n1.podCIDR} via ${r2} dev cilium_host proto kernel src ${r2} mtu 1450`,
        `${n2.podCIDR} via ${r2} dev cilium_host proto kernel src ${r2}`,
        `${r2} dev cilium_host proto kernel scope link`,
        `${nodes[2]!.podCIDR} via ${r2} dev cilium_host proto kernel src ${r2} mtu 1450`,
        `172.31.0.0/24 dev eth0 proto kernel scope link src ${n2.underlayIP}`,
      ]);
      const links = await sh(n2.netns, ['ip', '-d', 'link']);
      expect(links).toMatch(/cilium_net@cilium_host: <BROADCAST,MULTICAST,NOARP,UP,LOWER_UP> mtu 1500/);
      expect(links).toMatch(/cilium_host@cilium_net: <BROADCAST,MULTICAST,NOARP,UP,LOWER_UP> mtu 1500/);
      expect(links).toMatch(/cilium_vxlan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 [\s\S]*vxlan external id 0 srcport 0 0 dstport 8472 nolearning/);
      expect(links).toMatch(/lxc[0-9a-f]{12}@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500/);
      expect(await sh(n2.netns, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'cilium_host'])).toContain(`inet ${r2}/32 scope global cilium_host`);
      const rules = await sh(n2.netns, ['iptables-save', '-t', 'filter']);
      expect(rules).toContain('-A FORWARD -m comment --comment "cilium-feeder: CILIUM_FORWARD" -j CILIUM_FORWARD');
      expect(rules).toContain('-A CILIUM_FORWARD -i lxc+ -m comment --comment "cilium: cluster->any on lxc+ forward accept" -j ACCEPT');
      // A pod's full-size packet towards another node meets the route MTU first.
      expect(await effectiveMtu(pods.b1!.netns, pods.a1!.ip)).toBe(1450);
      expect(await canPing(pods.b1!.netns, pods.a1!.ip, 1422)).toBe(true);
    });
  }

  /** Observations of a fault: what breaks while it is on and works again once reverted, plus what keeps working. */
  const FAULTS: { fault: () => ScenarioFault; broken: () => Promise<boolean>; unaffected?: () => Promise<boolean> }[] = [
    {
      fault: () => ({ type: 'ip-forward-off', node: 'node-2' }),
      broken: async () => !(await canConnect(pods.a1!.netns, pods.b1!.ip, 8080)),
      // Traffic that node-2 does not forward: node-1's pod to node-3's pod.
      unaffected: () => canConnect(pods.a1!.netns, pods.c1!.ip, 8080),
    },
    {
      fault: () => ({ type: 'forward-policy-drop', node: 'node-2' }),
      broken: async () => !(await canConnect(pods.a1!.netns, pods.b1!.ip, 8080)),
      // The node's own traffic is not forwarded.
      unaffected: () => canConnect(pods.host2!.netns, pods.a1!.ip, 8080),
    },
    {
      fault: () => ({ type: 'overlay-blocked', node: 'node-2' }),
      broken: async () => !(await canConnect(pods.a1!.netns, pods.b1!.ip, 8080)),
      unaffected: () => canConnect(pods.a1!.netns, pods.c1!.ip, 8080),
    },
    {
      fault: () => ({ type: 'overlay-lossy', node: 'node-2', percent: 50 }),
      broken: async () => (await burstAnswered(pods.a1!.netns, pods.b1!.ip)) < 50,
    },
    {
      fault: () => ({ type: 'mtu-mismatch', node: 'node-2' }),
      // b1's eth0 is raised to 1500 while the tunnel over a 1500-byte path carries 1450: a ping filling its MTU is lost.
      broken: async () => {
        const mtu = await effectiveMtu(pods.b1!.netns, pods.a1!.ip);
        return (await canPing(pods.b1!.netns, pods.a1!.ip, 56)) && !(await canPing(pods.b1!.netns, pods.a1!.ip, mtu - 28));
      },
    },
    {
      fault: () => ({ type: 'neighbor-stale', node: 'node-2', pod: 'shop/b1' }),
      broken: async () => !(await canConnect(pods.host2!.netns, pods.b1!.ip, 8080)),
      unaffected: () => canConnect(pods.host2!.netns, pods.dns!.ip, 53),
    },
    {
      fault: () => ({ type: 'pod-route-missing', node: 'node-1', toNode: 'node-2' }),
      broken: async () => !(await canConnect(pods.a1!.netns, pods.b1!.ip, 8080)),
      unaffected: () => canConnect(pods.a1!.netns, pods.c1!.ip, 8080),
    },
    {
      fault: () => ({ type: 'underlay-blocked', node: 'node-2' }),
      broken: async () => !(await canConnect(pods.a1!.netns, pods.b1!.ip, 8080)),
      unaffected: async () => (await canConnect(pods.a1!.netns, pods.c1!.ip, 8080)) && (await canConnect(pods.host2!.netns, pods.b1!.ip, 8080)),
    },
  ];

  const applicable = FAULTS.filter((f) => faultRefusal(f.fault().type, network) === undefined);
  it.each(applicable.map((f) => ({ type: f.fault().type, f })))('fault $type: breaks, is observed, reverts, works again', async ({ f }) => {
    // The healthy state this fault takes away (the same observation, negated, must hold before and after).
    expect(await f.broken()).toBe(false);
    await dp.applyFault(f.fault());
    try {
      expect(await f.broken()).toBe(true);
      if (f.unaffected) expect(await f.unaffected()).toBe(true);
    } finally {
      await dp.revertFault(f.fault());
    }
    expect(await f.broken()).toBe(false);
  });

  it.each(FAULTS.filter((f) => faultRefusal(f.fault().type, network) !== undefined).map((f) => ({ type: f.fault().type, f })))(
    'fault $type cannot exist here and the data plane refuses it',
    async ({ f }) => {
      await expect(dp.applyFault(f.fault())).rejects.toThrow(new RegExp(`^${f.fault().type}: `));
    },
  );
});

describe.skipIf(!canRunLab)('Cilium kube-proxy replacement on the real kernel', () => {
  const labId = `nwkpr${process.pid.toString(36)}`;
  let stateDir = '';
  let dp: Dataplane;
  const pods: Record<string, PodNet> = {};
  const nodes: NodeNet[] = [];
  let services: ServiceRules[] = [];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndlab-kpr-'));
    dp = new Dataplane({ labId, runner, stateDir, network: 'cilium', serviceProxy: 'cilium' });
    nodes.push(...[1, 2].map((i) => planNodeNet(labId, { name: `node-${i}`, index: i, podCIDR: `10.244.${i}.0/24` })));
    await dp.createUnderlay();
    await Promise.all(nodes.map((n) => dp.addNode(n)));
    await dp.connectNodes(nodes);
    for (const s of [{ key: 'default/a1', node: 'node-1', ip: '10.244.1.2' }, { key: 'shop/b1', node: 'node-2', ip: '10.244.2.2' }]) {
      const p = await dp.addPod({ ...s, hostNetwork: false }, { resolvConf: RESOLV });
      pods[s.key.split('/')[1]!] = p;
    }
    await dp.startResponder(pods.b1!, 8080);
    services = [{ namespace: 'shop', name: 'web', clusterIP: '10.96.0.21', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [{ ip: pods.b1!.ip, ready: true, ports: { http: 8080 } }] }];
    await dp.applyServiceRulesEverywhere(services);
    // A pod added after the Services gets the translation too.
    pods.a2 = await dp.addPod({ key: 'default/a2', node: 'node-1', ip: '10.244.1.3', hostNetwork: false }, { resolvConf: RESOLV });
  });

  afterAll(async () => {
    await dp?.teardown();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('translates the ClusterIP in each pod and the node, with no KUBE-* rule anywhere', async () => {
    expect(await canConnect(pods.a1!.netns, '10.96.0.21', 80)).toBe(true);
    expect(await canConnect(pods.a2!.netns, '10.96.0.21', 80)).toBe(true);
    expect(await canConnect(nodes[0]!.netns, '10.96.0.21', 80)).toBe(true);
    for (const ns of [nodes[0]!.netns, nodes[1]!.netns, pods.a1!.netns]) expect(await sh(ns, ['iptables-save'])).not.toMatch(/KUBE-/);
    expect(await sh(pods.a1!.netns, ['nft', 'list', 'tables'])).toBe('table ip nd_cilium_socklb\n');
  });

  it('kube-proxy-rules-missing: breaks, is observed, reverts, works again', async () => {
    const fault = { type: 'kube-proxy-rules-missing', node: 'node-1', service: 'shop/web' } as const;
    await dp.applyFault(fault);
    try {
      expect(await canConnect(pods.a1!.netns, '10.96.0.21', 80)).toBe(false);
      expect(await canConnect(pods.a1!.netns, pods.b1!.ip, 8080)).toBe(true);
      expect(await sh(pods.a2!.netns, ['nft', 'list', 'table', 'ip', 'nd_cilium_socklb'])).not.toContain('10.96.0.21');
    } finally {
      await dp.revertFault(fault);
    }
    expect(await canConnect(pods.a1!.netns, '10.96.0.21', 80)).toBe(true);
  });
});
