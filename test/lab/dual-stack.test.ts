/**
 * Dual-stack without a kernel: IPv6 address arithmetic, the API server's Service family defaulting, scenario validation
 * of `ipFamilies`, Service families and fault `family`, the API objects a dual-stack scenario becomes, and the IPv6
 * twins of the rule renderers (ip6tables text, `ip6 kube-proxy`) and of flannel's layout.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { formatIPv6, nodePodCIDR6, parseCIDR6, planNodeNetV6, podIPv6For, tryParseIPv6 } from './dataplane/addressing-v6.ts';
import { planNodeNet } from './dataplane/addressing.ts';
import { renderFlannelRulesV6 } from './dataplane/cluster-rules.ts';
import { createFlannelNetwork } from './dataplane/flannel.ts';
import { ipv6View, renderKubeProxyRules, type ServiceRules } from './dataplane/kube-proxy.ts';
import { getNftEndpointChain, renderNftablesProxy } from './dataplane/kube-proxy-nft.ts';
import { clusterIPsFor, resolveServiceFamilies, serviceIPv6For } from './dual-stack.ts';
import { computeEndpointSlices } from './endpoints.ts';
import { buildKubeProxyObjects } from './kube-proxy-objects.ts';
import { buildClusterObjects } from './objects.ts';
import { parseScenario, ScenarioError, type ScenarioProblem } from './scenario.ts';

/** A 2-node scenario with the given cluster settings, services and faults. */
function scenario(cluster: Record<string, unknown> | undefined, extra: { services?: unknown[]; faults?: unknown[] } = {}): string {
  return stringify({
    apiVersion: 'lab.netdebug.dev/v1',
    kind: 'Scenario',
    metadata: { name: 'ds' },
    spec: {
      ...(cluster === undefined ? {} : { cluster }),
      nodes: [{ name: 'node-1' }, { name: 'node-2' }],
      pods: [
        { name: 'client', namespace: 'default', node: 'node-1' },
        { name: 'web-1', namespace: 'default', node: 'node-2', labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }] },
      ],
      services: extra.services ?? [],
      faults: extra.faults ?? [],
    },
  });
}

function problemsOf(text: string): ScenarioProblem[] {
  try {
    parseScenario(text, 'ds.yaml');
    return [];
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
}

const DUAL = { ipFamilies: ['IPv4', 'IPv6'] };
const web = (more: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'web', namespace: 'default', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }], ...more });

describe('IPv6 addressing', () => {
  it('parses and formats IPv6 as RFC 5952 text', () => {
    for (const text of ['fd00:10:244:1::3', '::1', '::', 'fd00::', '1:2:3:4:5:6:7:8', 'fd00:0:0:1::', '1::2:0:0:3']) expect(formatIPv6(tryParseIPv6(text)!)).toBe(text);
    expect(formatIPv6(tryParseIPv6('FD00:0010:0244:0001:0000:0000:0000:0003')!)).toBe('fd00:10:244:1::3');
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', 'fd00:10:244', 'g::1', '12345::', '']) expect(tryParseIPv6(bad)).toBeUndefined();
    expect(parseCIDR6('fd00:10:244:1::5/64')).toEqual({ network: tryParseIPv6('fd00:10:244:1::'), prefix: 64 });
  });

  it('plans each node a /64 of fd00:10:244::/56, an underlay address and a flannel-v6.1 VTEP; pods share their IPv4 offset', () => {
    expect(nodePodCIDR6(1)).toBe('fd00:10:244:1::/64');
    expect(nodePodCIDR6(17)).toBe('fd00:10:244:11::/64');
    expect(planNodeNetV6(2)).toEqual({ underlayIP: 'fd00:172:31::c', podCIDR: 'fd00:10:244:2::/64', gatewayIP: 'fd00:10:244:2::1', vtepIP: 'fd00:10:244:2::', vtepMAC: '0e:6e:66:00:00:02' });
    expect(podIPv6For('10.244.1.5', '10.244.1.0/24', 'fd00:10:244:1::/64')).toBe('fd00:10:244:1::5');
    expect(podIPv6For('10.244.64.60', '10.244.64.0/26', 'fd00:10:244:3::/64')).toBe('fd00:10:244:3::3c');
    expect(serviceIPv6For('10.96.0.10')).toBe('fd00:10:96::a');
    expect(serviceIPv6For('10.96.1.2')).toBe('fd00:10:96::102');
    expect(clusterIPsFor('10.96.0.2', ['IPv6', 'IPv4'])).toEqual(['fd00:10:96::2', '10.96.0.2']);
    expect(clusterIPsFor('None', ['IPv4', 'IPv6'])).toEqual(['None']);
  });
});

describe('Service families (the API server\'s defaulting)', () => {
  const dual = ['IPv4', 'IPv6'] as const;
  it('defaults as the API server does', () => {
    expect(resolveServiceFamilies({}, dual)).toEqual({ ok: true, policy: 'SingleStack', families: ['IPv4'] });
    expect(resolveServiceFamilies({}, ['IPv6', 'IPv4'])).toEqual({ ok: true, policy: 'SingleStack', families: ['IPv6'] });
    expect(resolveServiceFamilies({ ipFamilyPolicy: 'PreferDualStack' }, dual)).toEqual({ ok: true, policy: 'PreferDualStack', families: ['IPv4', 'IPv6'] });
    expect(resolveServiceFamilies({ ipFamilyPolicy: 'PreferDualStack' }, ['IPv4'])).toEqual({ ok: true, policy: 'PreferDualStack', families: ['IPv4'] });
    expect(resolveServiceFamilies({ ipFamilies: ['IPv6', 'IPv4'] }, dual)).toEqual({ ok: true, policy: 'RequireDualStack', families: ['IPv6', 'IPv4'] });
    expect(resolveServiceFamilies({ ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6'] }, dual)).toEqual({ ok: true, policy: 'RequireDualStack', families: ['IPv6', 'IPv4'] });
    expect(resolveServiceFamilies({ clusterIP: 'None' }, dual)).toEqual({ ok: true, policy: 'RequireDualStack', families: ['IPv4', 'IPv6'] });
    expect(resolveServiceFamilies({ clusterIP: 'None', selector: { app: 'web' } }, dual)).toEqual({ ok: true, policy: 'SingleStack', families: ['IPv4'] });
  });

  it('refuses what the API server refuses', () => {
    expect(resolveServiceFamilies({ ipFamilyPolicy: 'RequireDualStack' }, ['IPv4'])).toMatchObject({ ok: false, field: 'ipFamilyPolicy' });
    expect(resolveServiceFamilies({ ipFamilies: ['IPv6'] }, ['IPv4'])).toMatchObject({ ok: false, field: 'ipFamilies', message: /IPv6 is not configured on this cluster/ });
    expect(resolveServiceFamilies({ ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4', 'IPv6'] }, dual)).toMatchObject({ ok: false, field: 'ipFamilies' });
  });
});

describe('scenario validation of dual-stack', () => {
  it('builds [IPv4, IPv6] and [IPv6, IPv4] on flannel, with every service proxy', () => {
    expect(parseScenario(scenario(DUAL), 'ds.yaml').cluster.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(parseScenario(scenario({ ipFamilies: ['IPv6', 'IPv4'] }), 'ds.yaml').cluster.ipFamilies).toEqual(['IPv6', 'IPv4']);
    expect(problemsOf(scenario({ ...DUAL, serviceProxy: 'nftables', iptablesBackend: 'legacy', forwardPolicy: 'DROP' }))).toEqual([]);
  });

  it('builds dual-stack on calico-vxlan and calico-bgp, with both kube-proxy modes, and IPv6 fault twins there', () => {
    for (const network of ['calico-vxlan', 'calico-bgp']) {
      for (const serviceProxy of ['iptables', 'nftables']) {
        for (const ipFamilies of [['IPv4', 'IPv6'], ['IPv6', 'IPv4']]) expect(problemsOf(scenario({ ipFamilies, network, serviceProxy }))).toEqual([]);
      }
    }
    const twin = (network: string, fault: Record<string, unknown>) => problemsOf(scenario({ ...DUAL, network }, { faults: [{ ...fault, family: 'IPv6' }] }));
    expect(twin('calico-vxlan', { type: 'overlay-blocked', node: 'node-2' })).toEqual([]);
    expect(twin('calico-bgp', { type: 'pod-route-missing', node: 'node-1', toNode: 'node-2' })).toEqual([]);
    expect(twin('calico-bgp', { type: 'overlay-blocked', node: 'node-2' })).not.toEqual([]);
  });

  it('builds dual-stack on cilium with kube-proxy and the kube-proxy replacement; its overlay faults have no IPv6 twin', () => {
    for (const serviceProxy of ['iptables', 'cilium']) expect(problemsOf(scenario({ ...DUAL, network: 'cilium', serviceProxy }))).toEqual([]);
    const twin = (fault: Record<string, unknown>) => problemsOf(scenario({ ...DUAL, network: 'cilium' }, { faults: [{ ...fault, family: 'IPv6' }] }));
    expect(twin({ type: 'pod-route-missing', node: 'node-1', toNode: 'node-2' })).toEqual([]);
    expect(twin({ type: 'overlay-blocked', node: 'node-2' })).toEqual([
      { path: 'spec.faults[0].family', message: "IPv6 has no tunnel of its own on network cilium (cilium_vxlan carries both families between the nodes' IPv4 addresses); without family, overlay-blocked acts on both" },
    ]);
  });

  it('takes mtu-mismatch family IPv6 on the networks with an IPv6 tunnel and refuses it on cilium', () => {
    const twin = (network: string) => problemsOf(scenario({ ...DUAL, network }, { faults: [{ type: 'mtu-mismatch', node: 'node-2', family: 'IPv6' }] }));
    for (const network of ['flannel', 'calico-vxlan']) expect(twin(network)).toEqual([]);
    expect(parseScenario(scenario(DUAL, { faults: [{ type: 'mtu-mismatch', node: 'node-2', family: 'IPv6' }] }), 'ds.yaml').faults).toEqual([
      { type: 'mtu-mismatch', node: 'node-2', family: 'IPv6' },
    ]);
    expect(parseScenario(scenario(DUAL, { faults: [{ type: 'mtu-mismatch', node: 'node-2' }] }), 'ds.yaml').faults).toEqual([{ type: 'mtu-mismatch', node: 'node-2' }]);
    expect(twin('cilium')).toEqual([
      { path: 'spec.faults[0].family', message: "IPv6 has no tunnel of its own on network cilium (cilium_vxlan carries both families between the nodes' IPv4 addresses, with one tunnel overhead); mtu-mismatch is built there without family only" },
    ]);
    expect(twin('calico-bgp')[0]?.message).toMatch(/mtu-mismatch cannot exist on network calico-bgp/);
    expect(problemsOf(scenario({}, { faults: [{ type: 'mtu-mismatch', node: 'node-2', family: 'IPv6' }] }))[0]?.path).toBe('spec.faults[0].family');
  });

  it('builds dual-stack on cloud-routed (GKE VPC-native, AKS); its IPv6 twins include underlay-blocked, as calico-bgp\'s do', () => {
    for (const serviceProxy of ['iptables', 'nftables']) expect(problemsOf(scenario({ ...DUAL, network: 'cloud-routed', serviceProxy }))).toEqual([]);
    const twin = (network: string, fault: Record<string, unknown>) => problemsOf(scenario({ ...DUAL, network }, { faults: [{ ...fault, family: 'IPv6' }] }));
    for (const type of ['ip-forward-off', 'forward-policy-drop', 'underlay-blocked']) expect(twin('cloud-routed', { type, node: 'node-2' })).toEqual([]);
    expect(parseScenario(scenario({ ...DUAL, network: 'cloud-routed' }, { faults: [{ type: 'underlay-blocked', node: 'node-2', family: 'IPv6' }] }), 'cr.yaml').faults).toEqual([
      { type: 'underlay-blocked', node: 'node-2', family: 'IPv6' },
    ]);
    // calico-bgp routes IPv6 pod addresses over the underlay too; the overlays carry them inside their tunnels.
    expect(twin('calico-bgp', { type: 'underlay-blocked', node: 'node-2' })).toEqual([]);
    expect(twin('calico-vxlan', { type: 'underlay-blocked', node: 'node-2' })).toEqual([
      { path: 'spec.faults[0].type', message: 'underlay-blocked cannot exist on network calico-vxlan: pod addresses never cross the underlay: they travel inside the overlay between node IPs (see overlay-blocked)' },
    ]);
  });

  it('refuses dual-stack on the networks it is not built for, and IPv6 single-stack', () => {
    expect(problemsOf(scenario({ ipFamilies: ['IPv6'] }))).toEqual([
      { path: 'spec.cluster.ipFamilies', message: '[IPv6] (IPv6 single-stack) is valid but not built by this lab yet (dual-stack [IPv4, IPv6] and [IPv6, IPv4] are)' },
    ]);
  });

  it('reads a Service\'s ipFamilyPolicy and ipFamilies and refuses what the API server would', () => {
    const s = parseScenario(scenario(DUAL, { services: [web({ ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'] })] }), 'ds.yaml');
    expect(s.services[0]).toMatchObject({ ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'] });
    expect(problemsOf(scenario(undefined, { services: [web({ ipFamilies: ['IPv6'] })] }))).toEqual([
      { path: 'spec.services[0].ipFamilies', message: 'IPv6 is not configured on this cluster (spec.cluster.ipFamilies: [IPv4])' },
    ]);
    expect(problemsOf(scenario(undefined, { services: [web({ ipFamilyPolicy: 'RequireDualStack' })] }))[0]?.path).toBe('spec.services[0].ipFamilyPolicy');
    expect(problemsOf(scenario(DUAL, { services: [web({ ipFamilyPolicy: 'Dual' })] }))[0]?.message).toMatch(/must be one of SingleStack, PreferDualStack, RequireDualStack/);
    expect(problemsOf(scenario(DUAL, { services: [web({ clusterIP: '10.96.0.20', ipFamilies: ['IPv6'] })] }))).toEqual([
      { path: 'spec.services[0].clusterIP', message: '10.96.0.20 is IPv4 but the Service\'s first family is IPv6 (clusterIP must be of ipFamilies[0])' },
    ]);
    expect(problemsOf(scenario(DUAL, { services: [{ name: 'ext', namespace: 'default', type: 'ExternalName', externalName: 'example.com', ipFamilies: ['IPv4'] }] }))[0]?.path).toBe('spec.services[0].ipFamilies');
  });

  it('takes NodeLocal DNSCache with either primary family (fd00::10 with an IPv6 cluster DNS)', () => {
    expect(problemsOf(scenario({ ipFamilies: ['IPv6', 'IPv4'], dns: { nodeLocalCache: true } }))).toEqual([]);
    expect(problemsOf(scenario({ ...DUAL, dns: { nodeLocalCache: true } }))).toEqual([]);
  });

  it('takes NetworkPolicies on a dual-stack cluster (enforced for both families), IPv6 ipBlocks included and checked', () => {
    const doc = parseYaml(scenario(DUAL)) as { spec: Record<string, unknown> };
    const withPolicy = (ipBlock: Record<string, unknown>): string =>
      stringify({ ...doc, spec: { ...doc.spec, networkPolicies: [{ metadata: { name: 'deny', namespace: 'default' }, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock }] }] } }] } });
    expect(problemsOf(withPolicy({ cidr: 'fd00:10:244::/56', except: ['fd00:10:244:1::/64'] }))).toEqual([]);
    expect(problemsOf(withPolicy({ cidr: '10.244.0.0/16' }))).toEqual([]);
    expect(problemsOf(withPolicy({ cidr: 'fd00:10:244::/56', except: ['fd00:10:245::/64'] }))).toEqual([
      { path: 'spec.networkPolicies[0].spec.ingress[0].from[0].ipBlock.except[0]', message: 'fd00:10:245::/64 must lie inside fd00:10:244::/56' },
    ]);
    expect(problemsOf(withPolicy({ cidr: 'fd00::zz/8' }))).toEqual([
      { path: 'spec.networkPolicies[0].spec.ingress[0].from[0].ipBlock.cidr', message: 'must be an IPv6 CIDR such as fd00:10:244::/56, got "fd00::zz/8"' },
    ]);
  });

  it('takes family IPv6 on the faults with an IPv6 twin, keeps IPv4 the default, refuses IPv6 on a single-stack cluster', () => {
    const s = parseScenario(scenario(DUAL, { faults: [{ type: 'ip-forward-off', node: 'node-2', family: 'IPv6' }, { type: 'pod-route-missing', node: 'node-1', toNode: 'node-2', family: 'IPv6' }, { type: 'overlay-blocked', node: 'node-2', family: 'IPv4' }] }), 'ds.yaml');
    expect(s.faults).toEqual([
      { type: 'ip-forward-off', node: 'node-2', family: 'IPv6' },
      { type: 'pod-route-missing', node: 'node-1', toNode: 'node-2', family: 'IPv6' },
      { type: 'overlay-blocked', node: 'node-2' },
    ]);
    expect(problemsOf(scenario(undefined, { faults: [{ type: 'ip-forward-off', node: 'node-2', family: 'IPv6' }] }))).toEqual([
      { path: 'spec.faults[0].family', message: 'IPv6 is not a family of this cluster (spec.cluster.ipFamilies: [IPv4])' },
    ]);
    expect(problemsOf(scenario(DUAL, { faults: [{ type: 'dns-server-down', family: 'IPv6' }] }))).toEqual([
      { path: 'spec.faults[0].family', message: 'unknown field for fault dns-server-down (its parameters: none)' },
    ]);
    expect(problemsOf(scenario(DUAL, { faults: [{ type: 'hairpin-off', pod: 'default/web-1', family: 'IPv6' }] }))[0]?.path).toBe('spec.faults[0].family');
    expect(parseScenario(scenario(DUAL, { faults: [{ type: 'bridge-nf-off', node: 'node-1', family: 'IPv6' }] }), 'ds.yaml').faults).toEqual([{ type: 'bridge-nf-off', node: 'node-1', family: 'IPv6' }]);
    expect(parseScenario(scenario(DUAL, { faults: [{ type: 'kube-proxy-rules-missing', node: 'node-1', family: 'IPv6' }] }), 'ds.yaml').faults).toEqual([{ type: 'kube-proxy-rules-missing', node: 'node-1', family: 'IPv6' }]);
    expect(problemsOf(scenario(DUAL, { faults: [{ type: 'ip-forward-off', node: 'node-2', family: 'IPv5' }] }))[0]?.message).toMatch(/must be one of IPv4, IPv6/);
  });
});

describe('API objects of a dual-stack scenario', () => {
  const NOW = new Date('2026-01-01T00:00:00Z');
  const build = (text: string) => {
    let n = 0;
    return buildClusterObjects(parseScenario(text, 'ds.yaml'), { now: NOW, uid: () => `uid-${++n}` });
  };

  it('writes podIPs, hostIPs, podCIDRs and InternalIPs of both families, the primary first', () => {
    const o = build(scenario(DUAL));
    const client = o.pods.find((p) => p.metadata.name === 'client')!;
    expect(client.status).toMatchObject({ podIP: '10.244.1.3', podIPs: [{ ip: '10.244.1.3' }, { ip: 'fd00:10:244:1::3' }], hostIPs: [{ ip: '172.31.0.11' }, { ip: 'fd00:172:31::b' }] });
    expect(o.nodes[1]!.spec).toMatchObject({ podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24', 'fd00:10:244:2::/64'] });
    expect(o.nodes[1]!.status.addresses).toEqual([{ type: 'InternalIP', address: '172.31.0.12' }, { type: 'InternalIP', address: 'fd00:172:31::c' }, { type: 'Hostname', address: 'node-2' }]);
    const v6first = build(scenario({ ipFamilies: ['IPv6', 'IPv4'] }));
    expect(v6first.pods.find((p) => p.metadata.name === 'client')!.status).toMatchObject({ podIP: 'fd00:10:244:1::3', podIPs: [{ ip: 'fd00:10:244:1::3' }, { ip: '10.244.1.3' }] });
    expect(v6first.nodes[0]!.spec.podCIDR).toBe('fd00:10:244:1::/64');
    expect(v6first.services.find((s) => s.metadata.name === 'kube-dns')!.spec).toMatchObject({ clusterIP: 'fd00:10:96::a', clusterIPs: ['fd00:10:96::a'], ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' });
  });

  it('keeps single-stack objects as they were (one address, SingleStack IPv4)', () => {
    const o = build(scenario(undefined, { services: [web()] }));
    expect(o.pods.find((p) => p.metadata.name === 'client')!.status).toMatchObject({ podIPs: [{ ip: '10.244.1.3' }], hostIPs: [{ ip: '172.31.0.11' }] });
    expect(o.nodes[0]!.spec).toEqual({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] });
    expect(o.services.find((s) => s.metadata.name === 'web')!.spec).toMatchObject({ clusterIPs: ['10.96.0.2'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' });
  });

  it('gives kube-proxy both pod networks and its pods both node addresses', () => {
    const sc = parseScenario(scenario({ ...DUAL, serviceProxy: 'nftables' }), 'ds.yaml');
    const kp = buildKubeProxyObjects(sc.cluster, sc.nodes, { now: NOW, uid: () => 'u' });
    expect(kp.configMaps[0]!.data).toMatchObject({ 'config.conf': expect.stringContaining('clusterCIDR: 10.244.0.0/16,fd00:10:244::/56\n') });
    expect(kp.pods[1]!.status).toMatchObject({ podIPs: [{ ip: '172.31.0.12' }, { ip: 'fd00:172:31::c' }] });
    const single = parseScenario(scenario({ serviceProxy: 'nftables' }), 'ds.yaml');
    const kp1 = buildKubeProxyObjects(single.cluster, single.nodes, { now: NOW, uid: () => 'u' });
    expect(kp1.configMaps[0]!.data).toMatchObject({ 'config.conf': expect.stringContaining('clusterCIDR: 10.244.0.0/16\n') });
    expect(kp1.pods[1]!.status).toMatchObject({ podIPs: [{ ip: '172.31.0.12' }] });
  });

  it('allocates ClusterIPs per family and EndpointSlices per address type', () => {
    const o = build(scenario(DUAL, { services: [web({ ipFamilyPolicy: 'PreferDualStack' })] }));
    const svc = o.services.find((s) => s.metadata.name === 'web')!;
    expect(svc.spec).toMatchObject({ clusterIP: '10.96.0.2', clusterIPs: ['10.96.0.2', 'fd00:10:96::2'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' });
    const slices = computeEndpointSlices(svc, o.pods, o.nodes);
    expect(slices.map((s) => [s.addressType, s.endpoints.flatMap((e) => e.addresses)])).toEqual([['IPv4', ['10.244.2.2']], ['IPv6', ['fd00:10:244:2::2']]]);
    expect(new Set(slices.map((s) => s.metadata.name)).size).toBe(2);
    // A Service with no endpoints keeps one placeholder per address type.
    const empty = computeEndpointSlices({ ...svc, spec: { ...svc.spec, selector: { app: 'none' } } }, o.pods, o.nodes);
    expect(empty.map((s) => [s.addressType, s.endpoints.length])).toEqual([['IPv4', 0], ['IPv6', 0]]);
  });
});

describe('IPv6 rule renderers', () => {
  const services: ServiceRules[] = [
    {
      namespace: 'shop', name: 'web', clusterIP: '10.96.0.2', ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      endpoints: [{ ip: '10.244.2.2', ready: true, ports: { http: 8080 } }],
      v6: { clusterIP: 'fd00:10:96::2', endpoints: [{ ip: 'fd00:10:244:2::2', ready: true, ports: { http: 8080 } }] },
    },
    { namespace: 'shop', name: 'empty', clusterIP: '10.96.0.3', ports: [{ port: 80, protocol: 'TCP' }], endpoints: [], v6: { clusterIP: 'fd00:10:96::3', endpoints: [] } },
  ];

  it('writes kube-proxy\'s iptables rules for IPv6 with /128 hosts, [ip]:port endpoints and icmp6 rejects; IPv4 text is unchanged', () => {
    const v4 = renderKubeProxyRules({ services, clusterCIDR: '10.244.0.0/16' });
    expect(renderKubeProxyRules({ services: services.map(({ v6: _v6, ...s }) => s), clusterCIDR: '10.244.0.0/16' })).toEqual(v4);
    expect(v4.text).not.toContain('fd00');
    const v6 = renderKubeProxyRules({ services: ipv6View(services), clusterCIDR: 'fd00:10:244::/56', family: 'IPv6' });
    expect(v6.text).toContain('-A KUBE-SERVICES -d fd00:10:96::2/128 -p tcp -m tcp --dport 80 -m comment --comment "shop/web:http cluster IP" -j KUBE-SVC-');
    expect(v6.text).toContain('! -s fd00:10:244::/56 -d fd00:10:96::2/128');
    expect(v6.text).toMatch(/-A KUBE-SEP-\w+ -s fd00:10:244:2::2\/128 -m comment --comment "shop\/web:http" -j KUBE-MARK-MASQ/);
    expect(v6.text).toContain('-j DNAT --to-destination [fd00:10:244:2::2]:8080');
    expect(v6.text).toContain('-A KUBE-SERVICES -d fd00:10:96::3/128 -p tcp -m tcp --dport 80 -m comment --comment "shop/empty has no endpoints" -j REJECT --reject-with icmp6-port-unreachable');
    // The same service port hashes to the same KUBE-SVC chain in both families; its endpoints differ.
    expect(v6.chains[0]).toBe(v4.chains[0]);
    expect(v6.chains[1]).not.toBe(v4.chains[1]);
  });

  it('writes `table ip6 kube-proxy` for the nftables mode', () => {
    const text = renderNftablesProxy({ services: ipv6View(services), clusterCIDR: 'fd00:10:244::/56', serviceCIDR: 'fd00:10:96::/112', nodeIP: 'fd00:172:31::b', nodeName: 'node-1', family: 'IPv6' });
    expect(text.split('\n').slice(0, 3)).toEqual(['add table ip6 kube-proxy', 'delete table ip6 kube-proxy', 'add table ip6 kube-proxy { comment "rules for kube-proxy" ; }']);
    expect(text).toContain('add set ip6 kube-proxy cluster-ips { type ipv6_addr ; comment "Active ClusterIPs" ; }');
    expect(text).toContain('add rule ip6 kube-proxy services ip6 daddr . meta l4proto . th dport vmap @service-ips');
    expect(text).toContain('add rule ip6 kube-proxy cluster-ips-check ip6 daddr { fd00:10:96::/112 } drop comment "Drop traffic to unallocated ClusterIPs"');
    expect(text).toContain('meta l4proto tcp dnat to [fd00:10:244:2::2]:8080');
    expect(text).toContain('ip6 daddr fd00:10:96::2 tcp dport 80 ip6 saddr != fd00:10:244::/56 jump mark-for-masquerade');
    expect(text).not.toMatch(/ ip (daddr|saddr) /);
    expect(getNftEndpointChain({ namespace: 'shop', name: 'web' }, 'TCP', 'http', 'fd00:10:244:2::2', 8080)).toMatch(/^endpoint-[A-Z2-7]{8}-shop\/web\/tcp\/http__fd00\.10\.244\.2\.\.2\/8080$/);
  });

  it('writes flannel\'s IPv6 masquerade rules with ff00::/8 as the multicast range', () => {
    expect(renderFlannelRulesV6('fd00:10:244::/56', 'fd00:10:244:1::/64')).toContain('-A FLANNEL-POSTRTG -s fd00:10:244::/56 ! -d ff00::/8 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully');
  });
});

describe('flannel\'s IPv6 side', () => {
  const node = (i: number) => ({ ...planNodeNet('t1', { name: `node-${i}`, index: i, podCIDR: `10.244.${i}.0/24` }), v6: planNodeNetV6(i) });

  it('lays out flannel-v6.1 next to flannel.1 only when dual-stack, and leaves the IPv4 layout alone', () => {
    const single = createFlannelNetwork();
    const dual = createFlannelNetwork(true);
    expect(single.v6).toBeUndefined();
    expect(dual.nodeLines(node(1))).toEqual(single.nodeLines(node(1)));
    expect(dual.v6!.nodeLines(node(1))).toEqual([
      'addr add fd00:10:244:1::1/64 dev cni0 nodad',
      'link add flannel-v6.1 type vxlan id 1 dstport 8472 local fd00:172:31::b dev eth0 nolearning',
      'link set flannel-v6.1 address 0e:6e:66:00:00:01 up',
      'addr add fd00:10:244:1::/128 dev flannel-v6.1 nodad',
    ]);
    expect(dual.v6!.peerLines(node(1), [node(2)])).toEqual({
      ip: ['route replace fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.1 onlink', 'neigh replace fd00:10:244:2:: lladdr 0e:6e:66:00:00:02 dev flannel-v6.1 nud permanent'],
      bridge: ['fdb replace 0e:6e:66:00:00:02 dev flannel-v6.1 dst fd00:172:31::c self permanent'],
    });
    expect(dual.v6!.podLines(node(1), 'fd00:10:244:1::3')).toEqual(['addr add fd00:10:244:1::3/64 dev eth0 nodad', 'route add default via fd00:10:244:1::1 dev eth0']);
    expect(dual.v6!.peerRoute(node(1), node(2)).del).toEqual(['route del fd00:10:244:2::/64 dev flannel-v6.1']);
  });
});
