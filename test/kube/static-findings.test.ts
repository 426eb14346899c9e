import { describe, expect, it } from 'vitest';
import type { ResolvedDestination, ResolvedSource, ResolvedEndpoint } from '../../src/core/model.ts';
import type { NetworkPolicy } from '../../src/core/netpol.ts';
import { computeStaticFindings, targetPortMissing, type BackendPod, type StaticFacts } from '../../src/core/static-findings.ts';

const client: ResolvedSource = { kind: 'pod', namespace: 'default', name: 'client', node: 'node-1', ip: '10.244.1.3', labels: { app: 'client' }, hostNetwork: false };
const web1: BackendPod = { namespace: 'shop', name: 'web-1', ip: '10.244.2.2', node: 'node-2', ready: true, labels: { app: 'web' }, hostNetwork: false, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] };
const ep1: ResolvedEndpoint = { ip: '10.244.2.2', port: 8080, ready: true, serving: true, terminating: false, node: 'node-2', pod: { namespace: 'shop', name: 'web-1' } };

function service(over: Partial<Extract<ResolvedDestination, { kind: 'service' }>> = {}): ResolvedDestination {
  return {
    kind: 'service', namespace: 'shop', name: 'web', clusterIP: '10.96.0.2', dnsName: 'web.shop.svc.cluster.local',
    port: { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }, selector: { app: 'web' }, endpoints: [ep1], ...over,
  };
}

const okDns = { serviceIP: '10.96.0.10', pods: [{ namespace: 'kube-system', name: 'coredns', ip: '10.244.1.2', node: 'node-1', ready: true }], readyEndpoints: 1 };
const nodes = [{ name: 'node-1', ready: true, internalIP: '172.31.0.11' }, { name: 'node-2', ready: true, internalIP: '172.31.0.12' }];

function facts(over: Partial<StaticFacts> = {}): StaticFacts {
  return { targets: { source: client, destination: service() }, servicePods: [web1], policies: [], namespaces: { default: {}, shop: { team: 'shop' } }, nodes, dns: okDns, ...over };
}

const allowShopOnly: NetworkPolicy = {
  metadata: { name: 'web-allow-shop-only', namespace: 'shop' },
  spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
};

const CASES: { name: string; facts: StaticFacts; causes: string[]; object?: string; node?: string }[] = [
  { name: 'healthy service: nothing', facts: facts(), causes: [] },
  { name: 'selector matches no pods', facts: facts({ servicePods: [], targets: { source: client, destination: service({ endpoints: [] }) } }), causes: ['SERVICE_NO_ENDPOINTS'], object: 'Service/shop/web' },
  {
    name: 'pods match, none ready',
    facts: facts({ servicePods: [{ ...web1, ready: false }], targets: { source: client, destination: service({ endpoints: [{ ...ep1, ready: false }] }) } }),
    causes: ['SERVICE_NO_READY_ENDPOINTS'], object: 'Service/shop/web',
  },
  {
    name: 'numeric targetPort no pod declares',
    facts: facts({ targets: { source: client, destination: service({ port: { name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' }, endpoints: [{ ...ep1, port: 9090 }] }) } }),
    causes: ['SERVICE_TARGET_PORT_MISMATCH'], object: 'Service/shop/web',
  },
  {
    name: 'named targetPort missing on pods (slices carry no such port, so no endpoints): mismatch, not no-ready',
    facts: facts({ targets: { source: client, destination: service({ port: { name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }, endpoints: [] }) } }),
    causes: ['SERVICE_TARGET_PORT_MISMATCH'],
  },
  {
    name: 'policy denies ingress to the only endpoint',
    facts: facts({ policies: [allowShopOnly] }),
    causes: ['NETWORK_POLICY_DENY'], object: 'NetworkPolicy/shop/web-allow-shop-only',
  },
  {
    name: 'policy allows a source in the same namespace',
    facts: facts({ policies: [allowShopOnly], targets: { source: { ...client, namespace: 'shop', name: 'tester' }, destination: service() } }),
    causes: [],
  },
  {
    name: 'destination pod not ready',
    facts: facts({ servicePods: [], targets: { source: client, destination: { kind: 'pod', namespace: 'shop', name: 'web-1', node: 'node-2', ip: '10.244.2.2', labels: {}, ready: false, hostNetwork: false, ports: [], port: 8080, protocol: 'TCP' } } }),
    causes: ['DESTINATION_NOT_READY'], object: 'Pod/shop/web-1',
  },
  { name: 'node NotReady', facts: facts({ nodes: [nodes[0]!, { ...nodes[1]!, ready: false }] }), causes: ['NODE_NOT_READY'], node: 'node-2' },
  { name: 'kube-dns without ready endpoints', facts: facts({ dns: { ...okDns, readyEndpoints: 0 } }), causes: ['DNS_NO_ENDPOINTS'], object: 'Service/kube-system/kube-dns' },
  {
    name: "OpenShift's DNS Service without ready endpoints is named as itself",
    facts: facts({ dns: { ...okDns, readyEndpoints: 0, service: { namespace: 'openshift-dns', name: 'dns-default', selector: 'dns.operator.openshift.io/daemonset-dns=default', workload: { kind: 'DaemonSet', name: 'dns-default' } } } }),
    causes: ['DNS_NO_ENDPOINTS'],
    object: 'Service/openshift-dns/dns-default',
  },
  {
    name: 'node source to policy-isolated pod: denied by ingress (node is external)',
    facts: facts({ policies: [allowShopOnly], targets: { source: { kind: 'node', name: 'node-1', ip: '172.31.0.11' }, destination: service() } }),
    causes: ['NETWORK_POLICY_DENY'],
  },
];

describe('computeStaticFindings', () => {
  it("DNS_NO_ENDPOINTS says which DNS Service and selects its pods by the Service's own selector", () => {
    const dns = { ...okDns, readyEndpoints: 0, service: { namespace: 'kube-system', name: 'rke2-coredns-rke2-coredns', selector: 'app.kubernetes.io/instance=rke2-coredns,app.kubernetes.io/name=rke2-coredns,k8s-app=kube-dns' } };
    const [f] = computeStaticFindings(facts({ dns }));
    expect(f?.summary).toBe('the cluster DNS (kube-system/rke2-coredns-rke2-coredns) has no ready endpoint: name lookups in pods fail');
    expect(f?.hints).toEqual([
      'kubectl get pods -n kube-system -l app.kubernetes.io/instance=rke2-coredns,app.kubernetes.io/name=rke2-coredns,k8s-app=kube-dns',
      'kubectl describe pods -n kube-system -l app.kubernetes.io/instance=rke2-coredns,app.kubernetes.io/name=rke2-coredns,k8s-app=kube-dns',
    ]);
  });

  it.each(CASES)('$name', ({ facts: f, causes, object, node }) => {
    const findings = computeStaticFindings(f);
    expect(findings.map((x) => x.cause)).toEqual(causes);
    if (object) expect(findings[0]?.object).toBe(object);
    if (node) expect(findings[0]?.node).toBe(node);
    for (const x of findings) {
      expect(x.summary).not.toBe('');
      expect(x.hints.length).toBeGreaterThan(0);
    }
  });

  it('components follow CAUSE_COMPONENTS', () => {
    const [deny] = computeStaticFindings(facts({ policies: [allowShopOnly] }));
    expect(deny?.component).toBe('network-policy');
    expect(deny?.status).toBe('broken');
  });

  it('some endpoints denied: degraded', () => {
    const other: BackendPod = { ...web1, name: 'api-1', ip: '10.244.1.9', labels: { app: 'api' } };
    const dest = service({ endpoints: [ep1, { ...ep1, ip: other.ip, pod: { namespace: 'shop', name: 'api-1' } }] });
    const [deny] = computeStaticFindings(facts({ policies: [allowShopOnly], servicePods: [web1, other], targets: { source: client, destination: dest } }));
    expect(deny?.status).toBe('degraded');
  });
});

describe('targetPortMissing', () => {
  it.each([
    { name: 'named port present', tp: 'http', pods: [web1], missing: false },
    { name: 'named port absent', tp: 'metrics', pods: [web1], missing: true },
    { name: 'named port with another protocol', tp: 'http', pods: [{ ...web1, ports: [{ name: 'http', containerPort: 8080, protocol: 'UDP' as const }] }], missing: true },
    { name: 'number present', tp: 8080, pods: [web1], missing: false },
    { name: 'number absent', tp: 9090, pods: [web1], missing: true },
    { name: 'no ports declared: cannot tell', tp: 9090, pods: [{ ...web1, ports: [] }], missing: false },
  ])('$name', ({ tp, pods, missing }) => {
    expect(targetPortMissing(tp, 'TCP', pods)).toBe(missing);
  });
});
