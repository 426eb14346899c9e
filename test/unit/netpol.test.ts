import { describe, expect, it } from 'vitest';
import { evaluatePolicies, ipInCidr, matchesSelector, policyTypesOf, type NetworkPolicy, type PolicyQuery } from '../../src/core/netpol.ts';

function policy(namespace: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { metadata: { name, namespace }, spec };
}

const client = { kind: 'pod' as const, namespace: 'front', labels: { app: 'client' }, ip: '10.244.1.5', node: 'node-1' };
const web = {
  kind: 'pod' as const,
  namespace: 'shop',
  labels: { app: 'web', tier: 'be' },
  ip: '10.244.2.7',
  node: 'node-2',
  ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' as const }],
};
const namespaces = { front: { team: 'front' }, shop: { team: 'shop' }, other: { team: 'other' } };

function query(policies: NetworkPolicy[], extra: Partial<PolicyQuery> = {}): PolicyQuery {
  return { policies, source: client, destination: web, port: 8080, namespaces, ...extra };
}

const denyAllIngress = policy('shop', 'deny-all', { podSelector: {} });
const allowFrontNs = policy('shop', 'allow-front', {
  podSelector: { matchLabels: { app: 'web' } },
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'front' } } }] }],
});

const CASES: { name: string; q: PolicyQuery; allowed: boolean; ingress?: object; egress?: object }[] = [
  { name: 'no policies: open', q: query([]), allowed: true, ingress: { isolated: false, allowed: true, allowedBy: [] } },
  { name: 'empty podSelector deny-all isolates and denies', q: query([denyAllIngress]), allowed: false, ingress: { isolated: true, allowed: false, allowedBy: [], deniedBy: ['shop/deny-all'] } },
  { name: 'union: a second policy allows', q: query([denyAllIngress, allowFrontNs]), allowed: true, ingress: { isolated: true, allowed: true, allowedBy: ['shop/allow-front'] } },
  { name: 'namespaceSelector alone: other namespace denied', q: query([allowFrontNs], { source: { ...client, namespace: 'other' } }), allowed: false, ingress: { isolated: true, allowed: false, allowedBy: [], deniedBy: ['shop/allow-front'] } },
  {
    name: 'namespaceSelector by kubernetes.io/metadata.name (auto label)',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'front' } } }] }] })]),
    allowed: true,
  },
  {
    // The API server sets kubernetes.io/metadata.name to the namespace's name on every write: a stale value in the
    // listing must not let namespace "other" pass for "front".
    name: 'namespaceSelector by kubernetes.io/metadata.name: the name wins over a listed value',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'front' } } }] }] })], {
      source: { ...client, namespace: 'other' },
      namespaces: { ...namespaces, other: { 'kubernetes.io/metadata.name': 'front' } },
    }),
    allowed: false,
  },
  {
    name: 'podSelector alone means the policy namespace: same labels elsewhere denied',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] })]),
    allowed: false,
  },
  {
    name: 'podSelector alone: pod in the policy namespace allowed',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] })], { source: { ...client, namespace: 'shop' } }),
    allowed: true,
  },
  {
    name: 'AND: both selectors in one peer, pod labels do not match',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'front' } }, podSelector: { matchLabels: { app: 'other' } } }] }] })]),
    allowed: false,
  },
  {
    name: 'AND: both selectors in one peer, both match',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'front' } }, podSelector: { matchLabels: { app: 'client' } } }] }] })]),
    allowed: true,
  },
  {
    name: 'OR: two peers, the namespace one matches',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'front' } } }, { podSelector: { matchLabels: { app: 'other' } } }] }] })]),
    allowed: true,
  },
  {
    name: 'named port matches the container port',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] })]),
    allowed: true,
  },
  {
    name: 'named port of another number does not match',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] })], { port: 9090 }),
    allowed: false,
  },
  {
    name: 'named port absent on the pod',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'metrics' }] }] })]),
    allowed: false,
  },
  { name: 'endPort inclusive upper bound', q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 8000, endPort: 8080 }] }] })]), allowed: true },
  { name: 'endPort above range', q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 8000, endPort: 8079 }] }] })]), allowed: false },
  { name: 'protocol defaults to TCP: UDP traffic not allowed', q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 8080 }] }] })], { protocol: 'UDP' }), allowed: false },
  { name: 'explicit UDP port allows UDP', q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 8080, protocol: 'UDP' }] }] })], { protocol: 'UDP' }), allowed: true },
  { name: 'ports AND peers: port ok, peer wrong', q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 8080 }], from: [{ podSelector: {} }] }] })]), allowed: false },
  { name: 'empty rule allows all', q: query([policy('shop', 'p', { podSelector: {}, ingress: [{}] })]), allowed: true },
  {
    name: 'policy not selecting the pod does not isolate',
    q: query([policy('shop', 'p', { podSelector: { matchLabels: { app: 'db' } } })]),
    allowed: true,
    ingress: { isolated: false, allowed: true, allowedBy: [] },
  },
  { name: 'policy in another namespace is ignored', q: query([policy('other', 'deny', { podSelector: {} })]), allowed: true },
  {
    name: 'default policyTypes: egress section makes it Egress too',
    q: query([policy('front', 'egress-dns-only', { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] })]),
    allowed: false,
    egress: { isolated: true, allowed: false, allowedBy: [], deniedBy: ['front/egress-dns-only'] },
    ingress: { isolated: false, allowed: true, allowedBy: [] },
  },
  {
    name: 'egress-only policy does not isolate ingress of its pods',
    q: query([policy('shop', 'egress-deny', { podSelector: {}, policyTypes: ['Egress'] })]),
    allowed: true,
    ingress: { isolated: false, allowed: true, allowedBy: [] },
  },
  {
    name: 'egress allowed to the destination namespace and named port',
    q: query([policy('front', 'out', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'shop' } } }], ports: [{ port: 'http' }] }] })]),
    allowed: true,
    egress: { isolated: true, allowed: true, allowedBy: ['front/out'] },
  },
  {
    name: 'policyTypes Ingress only ignores egress rules',
    q: query([policy('front', 'p', { podSelector: {}, policyTypes: ['Ingress'], egress: [] })]),
    allowed: true,
    egress: { isolated: false, allowed: true, allowedBy: [] },
  },
  {
    name: 'ipBlock with except excludes the pod IP',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.1.0/24'] } }] }] })]),
    allowed: false,
  },
  {
    name: 'ipBlock matches an external source',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '172.31.0.0/24' } }] }] })], { source: { kind: 'external', ip: '172.31.0.11' } }),
    allowed: true,
  },
  {
    name: 'podSelector never matches an external source',
    q: query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] })], { source: { kind: 'external', ip: '172.31.0.11' } }),
    allowed: false,
  },
  {
    name: 'hostNetwork source on the destination node is always allowed',
    q: query([denyAllIngress], { source: { ...client, hostNetwork: true, node: 'node-2', ip: '172.31.0.12' } }),
    allowed: true,
    ingress: { isolated: false, allowed: true, allowedBy: [] },
  },
  {
    name: 'hostNetwork source on another node is node traffic: denied by deny-all',
    q: query([denyAllIngress], { source: { ...client, hostNetwork: true, node: 'node-1', ip: '172.31.0.11' } }),
    allowed: false,
  },
  {
    name: 'hostNetwork source is not matched by a podSelector',
    q: query([allowFrontNs], { source: { ...client, hostNetwork: true, node: 'node-1', ip: '172.31.0.11' } }),
    allowed: false,
  },
  {
    name: 'both directions: egress allows but ingress denies',
    q: query([denyAllIngress, policy('front', 'out', { podSelector: {}, egress: [{}] })]),
    allowed: false,
    egress: { isolated: true, allowed: true, allowedBy: ['front/out'] },
  },
];

describe('evaluatePolicies', () => {
  it.each(CASES)('$name', ({ q, allowed, ingress, egress }) => {
    const got = evaluatePolicies(q);
    expect(got.allowed).toBe(allowed);
    if (ingress) expect(got.ingress).toEqual(ingress);
    if (egress) expect(got.egress).toEqual(egress);
  });

  it('an ipBlock admits only sources of its own family (dual-stack pods are judged per address)', () => {
    const v4Block = policy('shop', 'v4', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16' } }] }] });
    const v6Block = policy('shop', 'v6', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 'fd00:10:244::/56', except: ['fd00:10:244:2::/64'] } }] }] });
    const client6 = { ...client, ip: 'fd00:10:244:1::5' };
    const web6 = { ...web, ip: 'fd00:10:244:2::7' };
    expect(evaluatePolicies(query([v4Block])).allowed).toBe(true);
    expect(evaluatePolicies(query([v4Block], { source: client6, destination: web6 })).allowed).toBe(false);
    expect(evaluatePolicies(query([v6Block], { source: client6, destination: web6 })).allowed).toBe(true);
    expect(evaluatePolicies(query([v6Block])).allowed).toBe(false);
    expect(evaluatePolicies(query([v6Block], { source: { ...client, ip: 'fd00:10:244:2::9' }, destination: web6 })).allowed).toBe(false);
  });

  it('notes that ipBlock on pod IPs is CNI-dependent', () => {
    const got = evaluatePolicies(query([policy('shop', 'p', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16' } }] }] })]));
    expect(got.allowed).toBe(true);
    expect(got.notes).toEqual(['an ipBlock matched a pod IP; whether ipBlock applies to pod traffic depends on the CNI plugin']);
  });
});

describe('matchesSelector', () => {
  const labels = { app: 'web', tier: 'be' };
  it.each([
    { name: 'empty selects all', sel: {}, want: true },
    { name: 'matchLabels hit', sel: { matchLabels: { app: 'web' } }, want: true },
    { name: 'matchLabels miss', sel: { matchLabels: { app: 'db' } }, want: false },
    { name: 'In hit', sel: { matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['fe', 'be'] }] }, want: true },
    { name: 'In on a missing key', sel: { matchExpressions: [{ key: 'zone', operator: 'In' as const, values: ['a'] }] }, want: false },
    { name: 'NotIn on a missing key', sel: { matchExpressions: [{ key: 'zone', operator: 'NotIn' as const, values: ['a'] }] }, want: true },
    { name: 'NotIn hit', sel: { matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['be'] }] }, want: false },
    { name: 'Exists', sel: { matchExpressions: [{ key: 'app', operator: 'Exists' as const }] }, want: true },
    { name: 'DoesNotExist', sel: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' as const }] }, want: false },
    { name: 'labels AND expressions', sel: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['fe'] }] }, want: false },
  ])('$name', ({ sel, want }) => {
    expect(matchesSelector(sel, labels)).toBe(want);
  });
});

describe('ipInCidr and policyTypesOf', () => {
  it.each([
    { name: 'inside', ip: '10.244.1.5', cidr: '10.244.0.0/16', want: true },
    { name: 'outside', ip: '10.245.0.1', cidr: '10.244.0.0/16', want: false },
    { name: '/32', ip: '10.0.0.1', cidr: '10.0.0.1/32', want: true },
    { name: '/0', ip: '1.2.3.4', cidr: '0.0.0.0/0', want: true },
    { name: 'IPv6 cidr', ip: '10.0.0.1', cidr: 'fd00::/8', want: false },
    { name: 'IPv6 inside IPv6', ip: 'fd00:10:244:1::5', cidr: 'fd00:10:244::/56', want: true },
    { name: 'IPv6 outside IPv6', ip: 'fd00:10:245::5', cidr: 'fd00:10:244::/56', want: false },
    { name: 'IPv6 /128', ip: 'fd00:10:244:1::5', cidr: 'fd00:10:244:1::5/128', want: true },
    { name: 'IPv6 address, IPv4 cidr', ip: 'fd00:10:244:1::5', cidr: '0.0.0.0/0', want: false },
    { name: 'IPv6 address, ::/0', ip: 'fd00:10:244:1::5', cidr: '::/0', want: true },
    { name: 'IPv4 address, ::/0', ip: '10.244.1.5', cidr: '::/0', want: false },
  ])('$name', ({ ip, cidr, want }) => {
    expect(ipInCidr(ip, cidr)).toBe(want);
  });
  it('defaults policyTypes', () => {
    expect(policyTypesOf(policy('a', 'b', { podSelector: {} }))).toEqual(['Ingress']);
    // Upstream SetDefaults_NetworkPolicy: when policyTypes is empty it becomes [Ingress], and Egress is added only
    // "if len(obj.Spec.Egress) != 0", so an empty egress list stays Ingress-only.
    expect(policyTypesOf(policy('a', 'b', { podSelector: {}, egress: [] }))).toEqual(['Ingress']);
    expect(policyTypesOf(policy('a', 'b', { podSelector: {}, egress: [{}] }))).toEqual(['Ingress', 'Egress']);
    expect(policyTypesOf(policy('a', 'b', { podSelector: {}, policyTypes: ['Egress'], ingress: [{}] }))).toEqual(['Egress']);
  });
});
