/**
 * `spec.cluster.network` in scenario validation: which networks are built, each network's podCIDR rules and default
 * blocks, and faults refused with the reason they cannot exist on a network.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ALL_FAULT_TYPES, FAULT_TYPES } from './model.ts';
import { calicoDefaultBlock, faultRefusal, parseScenario, ScenarioError, unbuiltClusterSettings } from './scenario.ts';
import type { ScenarioProblem } from './scenario.ts';
import { systemPodsOf } from './system-pods.ts';
import { buildClusterObjects } from './objects.ts';

/** A 2-node scenario on a network with the given nodes, pods and faults. */
function scenario(network: string | undefined, extra: { nodes?: unknown[]; faults?: unknown[] } = {}): string {
  return stringify({
    apiVersion: 'lab.netdebug.dev/v1',
    kind: 'Scenario',
    metadata: { name: 'n' },
    spec: {
      ...(network === undefined ? {} : { cluster: { network } }),
      nodes: extra.nodes ?? [{ name: 'node-1' }, { name: 'node-2' }],
      pods: [{ name: 'web-1', namespace: 'default', node: 'node-2', ports: [{ containerPort: 8080 }] }],
      faults: extra.faults ?? [],
    },
  });
}

function problemsOf(text: string): ScenarioProblem[] {
  try {
    parseScenario(text, 'n.yaml');
    return [];
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
}

describe('spec.cluster.network', () => {
  it('builds every network, and Cilium\'s kube-proxy replacement with network cilium', () => {
    for (const network of ['flannel', 'calico-vxlan', 'calico-bgp', 'cloud-routed', 'cilium']) expect(parseScenario(scenario(network), 'n.yaml').cluster.network).toBe(network);
    const withProxy = (serviceProxy: string, network: string): string => stringify({ apiVersion: 'lab.netdebug.dev/v1', kind: 'Scenario', metadata: { name: 'n' }, spec: { cluster: { network, serviceProxy }, nodes: [{ name: 'node-1' }] } });
    expect(parseScenario(withProxy('cilium', 'cilium'), 'n.yaml').cluster.serviceProxy).toBe('cilium');
    expect(problemsOf(withProxy('cilium', 'calico-vxlan'))[0]?.message).toMatch(/needs network: cilium/);
    expect(unbuiltClusterSettings({ ...parseScenario(scenario('calico-bgp'), 'n.yaml').cluster })).toEqual([]);
  });

  it('gives Calico nodes distinct /26 blocks of 192.168.0.0/16, the same in every lab; other networks keep 10.244.<i>.0/24', () => {
    const calico = parseScenario(scenario('calico-vxlan', { nodes: [{ name: 'node-1' }, { name: 'node-2' }, { name: 'node-3' }] }), 'n.yaml');
    const blocks = calico.nodes.map((n) => n.podCIDR);
    expect(blocks).toEqual(['192.168.14.64/26', '192.168.149.128/26', '192.168.178.64/26']);
    expect(calicoDefaultBlock('node-1', [])).toBe('192.168.14.64/26');
    // A taken block is skipped.
    expect(calicoDefaultBlock('node-1', [0xc0a80e40])).toBe('192.168.14.128/26');
    expect(parseScenario(scenario('cloud-routed'), 'n.yaml').nodes.map((n) => n.podCIDR)).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
  });

  it('checks an explicit podCIDR against the network: a Calico block inside 192.168.0.0/16, else inside 10.244.0.0/16', () => {
    expect(parseScenario(scenario('calico-bgp', { nodes: [{ name: 'node-1', podCIDR: '192.168.7.0/26' }, { name: 'node-2' }] }), 'n.yaml').nodes[0]?.podCIDR).toBe('192.168.7.0/26');
    expect(problemsOf(scenario('calico-bgp', { nodes: [{ name: 'node-1', podCIDR: '10.244.1.0/24' }, { name: 'node-2' }] }))).toEqual([
      { path: 'spec.nodes[0].podCIDR', message: 'must be a Calico IPAM block: an IPv4 network inside the pool 192.168.0.0/16 with a prefix from /20 to /28 (e.g. 192.168.1.0/26), got "10.244.1.0/24"' },
    ]);
    expect(problemsOf(scenario('cloud-routed', { nodes: [{ name: 'node-1', podCIDR: '192.168.7.0/26' }, { name: 'node-2' }] }))[0]?.message).toMatch(/^must be an IPv4 network inside 10\.244\.0\.0\/16/);
  });

  it.each([
    { network: 'calico-vxlan', fault: { type: 'hairpin-off', pod: 'default/web-1' }, why: /pods attach by routed veths, not a bridge/ },
    { network: 'cloud-routed', fault: { type: 'bridge-nf-off', node: 'node-1' }, why: /pods attach by routed veths, not a bridge/ },
    { network: 'calico-bgp', fault: { type: 'overlay-blocked', node: 'node-1' }, why: /unencapsulated, so there is no overlay tunnel/ },
    { network: 'cloud-routed', fault: { type: 'mtu-mismatch', node: 'node-1' }, why: /no overlay tunnel/ },
    { network: 'calico-bgp', fault: { type: 'overlay-lossy', node: 'node-1' }, why: /no overlay tunnel/ },
    { network: 'cloud-routed', fault: { type: 'pod-route-missing', node: 'node-1', toNode: 'node-2' }, why: /nodes hold no routes to other nodes' pods/ },
    { network: 'calico-vxlan', fault: { type: 'underlay-blocked', node: 'node-1' }, why: /never cross the underlay/ },
    { network: undefined, fault: { type: 'underlay-blocked', node: 'node-1' }, why: /never cross the underlay/ },
  ])('refuses $fault.type on $network, saying why', ({ network, fault, why }) => {
    const problems = problemsOf(scenario(network, { faults: [fault] }));
    expect(problems).toEqual([{ path: 'spec.faults[0].type', message: expect.stringMatching(why) as unknown as string }]);
    expect(problems[0]?.message).toMatch(new RegExp(`^${fault.type} cannot exist on network ${network ?? 'flannel'}: `));
  });

  it.each([
    { network: 'calico-bgp', fault: { type: 'underlay-blocked', node: 'node-2' } },
    { network: 'cloud-routed', fault: { type: 'underlay-blocked', node: 'node-2' } },
    { network: 'calico-vxlan', fault: { type: 'overlay-lossy', node: 'node-2', percent: 20 } },
    { network: 'calico-bgp', fault: { type: 'neighbor-stale', node: 'node-2', pod: 'default/web-1' } },
  ])('accepts $fault.type on $network', ({ network, fault }) => {
    expect(parseScenario(scenario(network, { faults: [fault] }), 'n.yaml').faults).toEqual([fault]);
  });

  it("places neighbor-stale on the pod's own node, whose veth holds the entry on routed networks", () => {
    expect(problemsOf(scenario('cloud-routed', { faults: [{ type: 'neighbor-stale', node: 'node-1', pod: 'default/web-1' }] }))).toEqual([
      { path: 'spec.faults[0].node', message: "must be the node default/web-1 runs on (node-2): the stale entry sits on the pod's veth in that node" },
    ]);
  });

  it('lists as known the fault types that can exist on the scenario\'s network', () => {
    const onFlannel = problemsOf(scenario(undefined, { faults: [{ type: 'nope' }] }))[0]?.message;
    expect(onFlannel).toContain(`known: ${FAULT_TYPES.join(', ')})`);
    const onBgp = problemsOf(scenario('calico-bgp', { faults: [{ type: 'nope' }] }))[0]?.message ?? '';
    expect(onBgp).toContain('underlay-blocked');
    expect(onBgp).not.toMatch(/hairpin-off|overlay-blocked/);
  });

  it('has a refusal decision for every fault on every network, refusing only what the network lacks', () => {
    expect(ALL_FAULT_TYPES.filter((t) => faultRefusal(t, 'flannel') !== undefined)).toEqual(['underlay-blocked']);
    expect(ALL_FAULT_TYPES.filter((t) => faultRefusal(t, 'calico-vxlan') !== undefined)).toEqual(['bridge-nf-off', 'hairpin-off', 'underlay-blocked']);
    expect(ALL_FAULT_TYPES.filter((t) => faultRefusal(t, 'calico-bgp') !== undefined)).toEqual(['overlay-blocked', 'bridge-nf-off', 'mtu-mismatch', 'hairpin-off', 'overlay-lossy']);
    expect(ALL_FAULT_TYPES.filter((t) => faultRefusal(t, 'cilium') !== undefined)).toEqual(['bridge-nf-off', 'hairpin-off', 'underlay-blocked']);
    expect(ALL_FAULT_TYPES.filter((t) => faultRefusal(t, 'cloud-routed') !== undefined)).toEqual(['overlay-blocked', 'pod-route-missing', 'bridge-nf-off', 'mtu-mismatch', 'hairpin-off', 'overlay-lossy']);
  });
});

describe('system pods per network', () => {
  it('flannel serves none (as before); Calico the Tigera operator layout; cloud-routed aws-node; Cilium its agent, envoy and operator', () => {
    expect(systemPodsOf('flannel', ['node-1'])).toEqual([]);
    const calico = systemPodsOf('calico-vxlan', ['node-1', 'node-2']).map((p) => `${p.workload.namespace}/${p.workload.kind}/${p.workload.name}@${p.node}`);
    expect(calico).toEqual([
      'tigera-operator/Deployment/tigera-operator@node-1',
      'calico-system/DaemonSet/calico-node@node-1',
      'calico-system/DaemonSet/calico-node@node-2',
      'calico-system/Deployment/calico-typha@node-1',
      'calico-system/Deployment/calico-kube-controllers@node-1',
    ]);
    expect(systemPodsOf('cilium', ['node-1']).map((p) => `${p.workload.namespace}/${p.workload.kind}/${p.workload.name}`)).toEqual(['kube-system/DaemonSet/cilium', 'kube-system/DaemonSet/cilium-envoy', 'kube-system/Deployment/cilium-operator']);
    expect(systemPodsOf('cloud-routed', ['node-1', 'node-2']).map((p) => `${p.workload.namespace}/${p.workload.name}@${p.node}`)).toEqual(['kube-system/aws-node@node-1', 'kube-system/aws-node@node-2']);
  });

  it('adds them after the scenario\'s pods, so scenario pod IPs are the same as without them', () => {
    const s = parseScenario(scenario('calico-vxlan'), 'n.yaml');
    const objects = buildClusterObjects(s, { now: new Date(0), uid: () => 'u' });
    const ips = Object.fromEntries(objects.pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p.status?.podIP]));
    expect(ips['default/web-1']).toBe('192.168.149.130');
    const kc = objects.pods.find((p) => p.metadata.labels?.['k8s-app'] === 'calico-kube-controllers');
    expect(kc?.spec.hostNetwork).toBe(false);
    expect(kc?.status?.podIP).toMatch(/^192\.168\.14\.(6[5-9]|[7-9]\d|1[01]\d|12[0-6])$/);
    expect(objects.namespaces.map((n) => n.metadata.name)).toEqual(expect.arrayContaining(['calico-system', 'tigera-operator']));
  });
});
