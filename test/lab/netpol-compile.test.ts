import { describe, expect, it } from 'vitest';
import {
  compileNetworkPolicies,
  evaluateFlow,
  NetworkPolicyError,
  parseNetpolState,
  podChainName,
  renderPolicyRemoval,
  renderPolicyRules,
  subtractCidrs,
  subtractCidrs6,
  type NetpolNamespace,
  type NetpolPod,
  type NetpolProtocol,
  type NetworkPolicyObject,
  type PolicyPlan,
} from './netpol/compile.ts';

const namespaces: NetpolNamespace[] = [
  { name: 'alpha', labels: { team: 'a' } },
  { name: 'beta', labels: { team: 'b' } },
  { name: 'gamma', labels: {} },
];

const pods: NetpolPod[] = [
  {
    namespace: 'alpha', name: 'web', labels: { app: 'web', tier: 'front' }, ip: '10.244.1.2', node: 'node-1', hostNetwork: false,
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }],
  },
  { namespace: 'alpha', name: 'client', labels: { app: 'client' }, ip: '10.244.1.3', node: 'node-1', hostNetwork: false, ports: [] },
  { namespace: 'beta', name: 'client', labels: { app: 'client' }, ip: '10.244.1.4', node: 'node-1', hostNetwork: false, ports: [] },
  {
    namespace: 'beta', name: 'db', labels: { app: 'db' }, ip: '10.244.2.2', node: 'node-2', hostNetwork: false,
    ports: [{ name: 'http', containerPort: 8081, protocol: 'TCP' }],
  },
  { namespace: 'gamma', name: 'other', labels: { app: 'client' }, ip: '10.244.2.3', node: 'node-2', hostNetwork: false, ports: [] },
  { namespace: 'alpha', name: 'host', labels: { app: 'web' }, ip: '172.31.0.11', node: 'node-1', hostNetwork: true, ports: [] },
  { namespace: 'alpha', name: 'pending', labels: { app: 'client' }, node: 'node-1', hostNetwork: false, ports: [] },
];

const IP = {
  web: '10.244.1.2',
  aClient: '10.244.1.3',
  bClient: '10.244.1.4',
  db: '10.244.2.2',
  other: '10.244.2.3',
  host: '172.31.0.11',
  external: '192.0.2.10',
} as const;

function np(namespace: string, name: string, spec: Record<string, unknown>): NetworkPolicyObject {
  return { metadata: { name, namespace }, spec };
}

function plan(policies: NetworkPolicyObject[]): PolicyPlan {
  return compileNetworkPolicies({ policies, pods, namespaces });
}

function podPlan(p: PolicyPlan, key: string) {
  const found = p.pods.find((x) => x.key === key);
  if (!found) throw new Error(`no pod ${key}`);
  return found;
}

const denyAllIngressAlpha = np('alpha', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] });
const webOnly = { matchLabels: { app: 'web' } };

interface FlowCase {
  name: string;
  policies: NetworkPolicyObject[];
  src: string;
  dst: string;
  port: number;
  protocol?: NetpolProtocol;
  allowed: boolean;
  egress?: 'not-isolated' | 'allowed' | 'denied';
  ingress?: 'not-isolated' | 'allowed' | 'denied';
}

const flowCases: FlowCase[] = [
  { name: 'no policies: everything open', policies: [], src: IP.bClient, dst: IP.web, port: 8080, allowed: true, egress: 'not-isolated', ingress: 'not-isolated' },
  { name: 'default policyTypes = Ingress: deny-all ingress blocks', policies: [np('alpha', 'p', { podSelector: {} })], src: IP.aClient, dst: IP.web, port: 8080, allowed: false, ingress: 'denied' },
  { name: 'default policyTypes without egress: egress stays open', policies: [np('alpha', 'p', { podSelector: {} })], src: IP.web, dst: IP.db, port: 8081, allowed: true, egress: 'not-isolated' },
  { name: 'default policyTypes with egress rules adds Egress (allowed dst)', policies: [np('alpha', 'p', { podSelector: webOnly, egress: [{ to: [{ ipBlock: { cidr: '10.244.2.0/24' } }] }] })], src: IP.web, dst: IP.db, port: 1, allowed: true, egress: 'allowed' },
  { name: 'default policyTypes with egress rules adds Egress (other dst)', policies: [np('alpha', 'p', { podSelector: webOnly, egress: [{ to: [{ ipBlock: { cidr: '10.244.2.0/24' } }] }] })], src: IP.web, dst: IP.bClient, port: 1, allowed: false, egress: 'denied' },
  { name: 'default policyTypes with egress rules also isolates ingress', policies: [np('alpha', 'p', { podSelector: webOnly, egress: [{}] })], src: IP.bClient, dst: IP.web, port: 8080, allowed: false, ingress: 'denied' },
  { name: 'egress: [] without policyTypes is Ingress-only', policies: [np('alpha', 'p', { podSelector: webOnly, egress: [] })], src: IP.web, dst: IP.db, port: 8081, allowed: true, egress: 'not-isolated' },
  { name: 'egress-only policy leaves ingress open', policies: [np('alpha', 'p', { podSelector: webOnly, policyTypes: ['Egress'] })], src: IP.bClient, dst: IP.web, port: 8080, allowed: true, ingress: 'not-isolated' },
  { name: 'egress-only policy with no rules denies egress', policies: [np('alpha', 'p', { podSelector: webOnly, policyTypes: ['Egress'] })], src: IP.web, dst: IP.bClient, port: 80, allowed: false, egress: 'denied' },
  { name: 'policyTypes [Egress] ignores ingress rules', policies: [np('alpha', 'p', { podSelector: webOnly, policyTypes: ['Egress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'nobody' } } }] }] })], src: IP.bClient, dst: IP.web, port: 8080, allowed: true },
  { name: 'podSelector peer alone = policy namespace (same ns allowed)', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] })], src: IP.aClient, dst: IP.web, port: 8080, allowed: true, ingress: 'allowed' },
  { name: 'podSelector peer alone = policy namespace (other ns denied)', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] })], src: IP.bClient, dst: IP.web, port: 8080, allowed: false },
  { name: 'AND peer: both selectors match', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'client' } } }] }] })], src: IP.bClient, dst: IP.web, port: 8080, allowed: true },
  { name: 'AND peer: namespace matches, pod does not', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'client' } } }] }] })], src: IP.db, dst: IP.web, port: 8080, allowed: false },
  { name: 'AND peer: pod matches, namespace does not', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'client' } } }] }] })], src: IP.aClient, dst: IP.web, port: 8080, allowed: false },
  { name: 'OR peers: namespace item matches', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }, { podSelector: { matchLabels: { app: 'client' } } }] }] })], src: IP.db, dst: IP.web, port: 8080, allowed: true },
  { name: 'OR peers: pod item matches', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }, { podSelector: { matchLabels: { app: 'client' } } }] }] })], src: IP.aClient, dst: IP.web, port: 8080, allowed: true },
  { name: 'OR peers: neither matches', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }, { podSelector: { matchLabels: { app: 'client' } } }] }] })], src: IP.other, dst: IP.web, port: 8080, allowed: false },
  { name: 'namespaceSelector {} = every namespace', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: {} }] }] })], src: IP.other, dst: IP.web, port: 8080, allowed: true },
  { name: 'namespaceSelector {} still only pods, not external IPs', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: {} }] }] })], src: IP.external, dst: IP.web, port: 8080, allowed: false },
  { name: 'namespaceSelector by kubernetes.io/metadata.name', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gamma' } } }] }] })], src: IP.other, dst: IP.web, port: 8080, allowed: true },
  { name: 'ipBlock allows an address in the block', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] } }] }] })], src: IP.bClient, dst: IP.web, port: 8080, allowed: true },
  { name: 'ipBlock except carves out a range', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] } }] }] })], src: IP.db, dst: IP.web, port: 8080, allowed: false },
  { name: 'ipBlock 0.0.0.0/0 admits external addresses', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] })], src: IP.external, dst: IP.web, port: 8080, allowed: true },
  { name: 'ipBlock IPv6 never matches IPv4', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ ipBlock: { cidr: '::/0' } }] }] })], src: IP.external, dst: IP.web, port: 8080, allowed: false },
  { name: 'named port resolves on the destination (match)', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ port: 'http' }] }] })], src: IP.bClient, dst: IP.web, port: 8080, allowed: true },
  { name: 'named port resolves on the destination (other port)', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ port: 'http' }] }] })], src: IP.bClient, dst: IP.web, port: 9090, allowed: false },
  { name: 'named port the pod lacks allows nothing (not all ports)', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ port: 'grpc' }] }] })], src: IP.bClient, dst: IP.web, port: 8080, allowed: false },
  { name: 'named port must match protocol', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ port: 'http', protocol: 'UDP' }] }] })], src: IP.bClient, dst: IP.web, port: 8080, protocol: 'UDP', allowed: false },
  { name: 'named UDP port', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ port: 'dns', protocol: 'UDP' }] }] })], src: IP.bClient, dst: IP.web, port: 53, protocol: 'UDP', allowed: true },
  { name: 'named egress port resolves on the peer pod (db http=8081)', policies: [np('alpha', 'p', { podSelector: webOnly, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })], src: IP.web, dst: IP.db, port: 8081, allowed: true },
  { name: 'named egress port: not the source pod\'s number', policies: [np('alpha', 'p', { podSelector: webOnly, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })], src: IP.web, dst: IP.db, port: 8080, allowed: false },
  { name: 'named egress port: peer without the name', policies: [np('alpha', 'p', { podSelector: webOnly, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })], src: IP.web, dst: IP.bClient, port: 8081, allowed: false },
  { name: 'named egress port with ipBlock peer', policies: [np('alpha', 'p', { podSelector: webOnly, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.244.2.0/24' } }], ports: [{ port: 'http' }] }] })], src: IP.web, dst: IP.db, port: 8081, allowed: true },
  { name: 'endPort: start of range', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ port: 9000, endPort: 9002 }] }] })], src: IP.bClient, dst: IP.web, port: 9000, allowed: true },
  { name: 'endPort: end inclusive', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ port: 9000, endPort: 9002 }] }] })], src: IP.bClient, dst: IP.web, port: 9002, allowed: true },
  { name: 'endPort: past the end', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ port: 9000, endPort: 9002 }] }] })], src: IP.bClient, dst: IP.web, port: 9003, allowed: false },
  { name: 'endPort: before the start', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ port: 9000, endPort: 9002 }] }] })], src: IP.bClient, dst: IP.web, port: 8999, allowed: false },
  { name: 'port protocol defaults to TCP', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ port: 9000 }] }] })], src: IP.bClient, dst: IP.web, port: 9000, protocol: 'UDP', allowed: false },
  { name: 'protocol without port = all ports of it', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ protocol: 'UDP' }] }] })], src: IP.bClient, dst: IP.web, port: 12345, protocol: 'UDP', allowed: true },
  { name: 'protocol without port excludes other protocols', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ ports: [{ protocol: 'UDP' }] }] })], src: IP.bClient, dst: IP.web, port: 12345, allowed: false },
  { name: 'empty rule {} allows everything', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{}] })], src: IP.external, dst: IP.web, port: 1, allowed: true },
  { name: 'empty from/ports lists mean all', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [], ports: [] }] })], src: IP.other, dst: IP.web, port: 7, allowed: true },
  { name: 'allow-from-same-namespace admits same namespace', policies: [np('alpha', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })], src: IP.aClient, dst: IP.web, port: 8080, allowed: true },
  { name: 'allow-from-same-namespace refuses other namespaces', policies: [np('alpha', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })], src: IP.bClient, dst: IP.web, port: 8080, allowed: false },
  { name: 'policy in another namespace does not isolate', policies: [np('beta', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })], src: IP.aClient, dst: IP.web, port: 8080, allowed: true, ingress: 'not-isolated' },
  { name: 'union: deny-all plus allow on 8080', policies: [denyAllIngressAlpha, np('alpha', 'allow', { podSelector: webOnly, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 8080 }] }] })], src: IP.aClient, dst: IP.web, port: 8080, allowed: true },
  { name: 'union: deny-all plus allow on 8080, other port', policies: [denyAllIngressAlpha, np('alpha', 'allow', { podSelector: webOnly, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 8080 }] }] })], src: IP.aClient, dst: IP.web, port: 9090, allowed: false },
  { name: 'union: second allow policy adds a namespace', policies: [denyAllIngressAlpha, np('alpha', 'allow-b', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }] })], src: IP.bClient, dst: IP.web, port: 9090, allowed: true },
  { name: 'source egress denies although destination ingress allows', policies: [np('alpha', 'client-egress', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }] })], src: IP.aClient, dst: IP.web, port: 8080, allowed: false, egress: 'denied', ingress: 'not-isolated' },
  { name: 'source egress allows to the selected namespace', policies: [np('alpha', 'client-egress', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }] })], src: IP.aClient, dst: IP.db, port: 8081, allowed: true, egress: 'allowed' },
  { name: 'isolated egress without DNS allowed breaks DNS', policies: [np('beta', 'egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'db' } } }] }] })], src: IP.bClient, dst: IP.web, port: 53, protocol: 'UDP', allowed: false },
  { name: 'matchExpressions In', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'x'] }] } }] }] })], src: IP.db, dst: IP.web, port: 1, allowed: true },
  { name: 'matchExpressions NotIn excludes', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['client'] }] } }] }] })], src: IP.bClient, dst: IP.web, port: 1, allowed: false },
  { name: 'matchExpressions NotIn matches a missing key', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a', 'b'] }] } }] }] })], src: IP.other, dst: IP.web, port: 1, allowed: true },
  { name: 'matchExpressions Exists', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] } }] }] })], src: IP.other, dst: IP.web, port: 1, allowed: false },
  { name: 'matchExpressions DoesNotExist', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] } }] }] })], src: IP.other, dst: IP.web, port: 1, allowed: true },
  { name: 'matchLabels AND matchExpressions', policies: [np('alpha', 'p', { podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] } })], src: IP.bClient, dst: IP.web, port: 1, allowed: true, ingress: 'not-isolated' },
  { name: 'podSelector peer does not match a hostNetwork pod', policies: [np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] })], src: IP.host, dst: IP.web, port: 8080, allowed: false },
];

describe('compileNetworkPolicies + evaluateFlow (NetworkPolicy v1 semantics)', () => {
  it.each(flowCases)('$name', ({ policies, src, dst, port, protocol, allowed, egress, ingress }) => {
    const verdict = evaluateFlow(plan(policies), { srcIP: src, dstIP: dst, protocol: protocol ?? 'TCP', port });
    expect(verdict.allowed).toBe(allowed);
    if (egress) expect(verdict.egress).toBe(egress);
    if (ingress) expect(verdict.ingress).toBe(ingress);
  });
});

describe('compileNetworkPolicies plan', () => {
  it('podSelector {} selects every pod of its namespace and only those', () => {
    const p = plan([denyAllIngressAlpha]);
    expect(podPlan(p, 'alpha/web').ingress).toEqual({ isolated: true, policies: ['alpha/deny-all'], rules: [] });
    expect(podPlan(p, 'alpha/client').ingress.isolated).toBe(true);
    expect(podPlan(p, 'alpha/pending').ingress.isolated).toBe(true);
    expect(podPlan(p, 'beta/client').ingress.isolated).toBe(false);
    expect(podPlan(p, 'alpha/web').egress.isolated).toBe(false);
  });

  it('never selects hostNetwork pods', () => {
    const p = plan([np('alpha', 'p', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]);
    const host = podPlan(p, 'alpha/host');
    expect(host.ingress.isolated).toBe(false);
    expect(host.egress.isolated).toBe(false);
  });

  it('pods without an IP or on hostNetwork are not peers', () => {
    const p = plan([np('alpha', 'p', { podSelector: webOnly, ingress: [{ from: [{ podSelector: {} }] }] })]);
    const web = podPlan(p, 'alpha/web').ingress;
    if (!web.isolated) throw new Error('expected isolated');
    const peers = web.rules.map((r) => (r.peer.kind === 'pod' ? r.peer.pod : r.peer.kind));
    expect(peers.sort()).toEqual(['alpha/client', 'alpha/web']);
  });

  it('flattens peers x ports with resolved named ports and endPort ranges', () => {
    const p = plan([
      np('alpha', 'p', {
        podSelector: webOnly,
        ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 'http' }, { port: 9000, endPort: 9002, protocol: 'UDP' }] }],
      }),
    ]);
    expect(podPlan(p, 'alpha/web').ingress).toEqual({
      isolated: true,
      policies: ['alpha/p'],
      rules: [
        { policy: 'alpha/p', peer: { kind: 'cidr', cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }, port: { kind: 'range', protocol: 'TCP', from: 8080, to: 8080, portName: 'http' } },
        { policy: 'alpha/p', peer: { kind: 'cidr', cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }, port: { kind: 'range', protocol: 'UDP', from: 9000, to: 9002 } },
      ],
    });
  });

  it('unions rules of several policies and lists every isolating policy', () => {
    const p = plan([
      denyAllIngressAlpha,
      np('alpha', 'allow-a', { podSelector: webOnly, ingress: [{ ports: [{ port: 80 }] }] }),
      np('alpha', 'allow-b', { podSelector: webOnly, ingress: [{ ports: [{ port: 81 }] }] }),
    ]);
    const web = podPlan(p, 'alpha/web').ingress;
    if (!web.isolated) throw new Error('expected isolated');
    expect(web.policies).toEqual(['alpha/deny-all', 'alpha/allow-a', 'alpha/allow-b']);
    expect(web.rules.map((r) => r.port)).toEqual([
      { kind: 'range', protocol: 'TCP', from: 80, to: 80 },
      { kind: 'range', protocol: 'TCP', from: 81, to: 81 },
    ]);
  });

  it('names egress named-port rules after the peer pods that have the port', () => {
    const p = plan([np('alpha', 'p', { podSelector: webOnly, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })]);
    expect(podPlan(p, 'alpha/web').egress).toEqual({
      isolated: true,
      policies: ['alpha/p'],
      rules: [
        { policy: 'alpha/p', peer: { kind: 'pod', ip: IP.web, pod: 'alpha/web' }, port: { kind: 'range', protocol: 'TCP', from: 8080, to: 8080, portName: 'http' } },
        { policy: 'alpha/p', peer: { kind: 'pod', ip: IP.db, pod: 'beta/db' }, port: { kind: 'range', protocol: 'TCP', from: 8081, to: 8081, portName: 'http' } },
      ],
    });
  });

  const invalid: { name: string; spec: Record<string, unknown>; field: string }[] = [
    { name: 'unknown operator', spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'Like', values: ['x'] }] } }, field: 'spec.podSelector.matchExpressions[0].operator' },
    { name: 'In without values', spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }, field: 'spec.podSelector.matchExpressions[0].values' },
    { name: 'ipBlock with podSelector', spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }, field: 'spec.ingress[0].from[0]' },
    { name: 'except outside cidr', spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }] }, field: 'spec.ingress[0].from[0].ipBlock.except[0]' },
    { name: 'bad cidr', spec: { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.300/8' } }] }] }, field: 'spec.egress[0].to[0].ipBlock.cidr' },
    { name: 'endPort below port', spec: { podSelector: {}, ingress: [{ ports: [{ port: 90, endPort: 80 }] }] }, field: 'spec.ingress[0].ports[0].endPort' },
    { name: 'endPort with named port', spec: { podSelector: {}, ingress: [{ ports: [{ port: 'http', endPort: 80 }] }] }, field: 'spec.ingress[0].ports[0].endPort' },
    { name: 'empty peer', spec: { podSelector: {}, ingress: [{ from: [{}] }] }, field: 'spec.ingress[0].from[0]' },
    { name: 'unknown policyType', spec: { podSelector: {}, policyTypes: ['Sideways'] }, field: 'spec.policyTypes' },
    { name: 'unknown protocol', spec: { podSelector: {}, ingress: [{ ports: [{ protocol: 'ICMP' }] }] }, field: 'spec.ingress[0].ports[0].protocol' },
  ];
  it.each(invalid)('rejects an invalid policy: $name', ({ spec, field }) => {
    let err: unknown;
    try {
      plan([np('alpha', 'bad', spec)]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetworkPolicyError);
    expect((err as NetworkPolicyError).field).toBe(field);
    expect((err as NetworkPolicyError).policy).toBe('alpha/bad');
    expect((err as NetworkPolicyError).message).toContain('alpha/bad');
  });
});

describe('subtractCidrs', () => {
  it.each([
    { name: 'no except', cidr: '10.0.0.0/8', except: [], out: ['10.0.0.0/8'] },
    {
      name: 'one /16 out of a /8',
      cidr: '10.0.0.0/8',
      except: ['10.1.0.0/16'],
      out: ['10.0.0.0/16', '10.2.0.0/15', '10.4.0.0/14', '10.8.0.0/13', '10.16.0.0/12', '10.32.0.0/11', '10.64.0.0/10', '10.128.0.0/9'],
    },
    { name: 'two excepts', cidr: '10.244.0.0/22', except: ['10.244.1.0/24', '10.244.2.0/24'], out: ['10.244.0.0/24', '10.244.3.0/24'] },
    { name: 'except covers all', cidr: '10.244.1.0/24', except: ['10.244.0.0/16'], out: [] },
    { name: 'non-canonical cidr is masked', cidr: '10.244.1.7/24', except: [], out: ['10.244.1.0/24'] },
    { name: 'IPv6 yields nothing', cidr: '::/0', except: [], out: [] },
  ])('$name', ({ cidr, except, out }) => {
    expect(subtractCidrs(cidr, except)).toEqual(out);
  });
});

describe('renderPolicyRules', () => {
  const policies = [
    denyAllIngressAlpha,
    np('alpha', 'allow-clients', { podSelector: webOnly, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 'http' }, { port: 9000, endPort: 9002 }] }] }),
    np('alpha', 'from-net', { podSelector: webOnly, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/22', except: ['10.244.1.0/24', '10.244.2.0/24'] } }], ports: [{ protocol: 'UDP' }] }] }),
    np('beta', 'db-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: webOnly }] }] }),
  ];
  const p = plan(policies);
  const webIn = podChainName('ingress', 'alpha/web');
  const clientIn = podChainName('ingress', 'alpha/client');
  const bClientOut = podChainName('egress', 'beta/client');
  const text = renderPolicyRules(p, 'node-1');
  const lines = text.split('\n');

  it('declares only NETPOL-* chains in the filter table and commits', () => {
    expect(lines[0]).toBe('*filter');
    const declared = lines.filter((l) => l.startsWith(':'));
    expect(declared.length).toBeGreaterThan(0);
    for (const d of declared) expect(d).toMatch(/^:NETPOL-[A-Z0-9a-f-]+ - \[0:0\]$/);
    for (const d of declared) expect(d.slice(1).split(' ')[0]!.length).toBeLessThanOrEqual(28);
    expect(lines.filter((l) => l.startsWith('-A ')).every((l) => l.startsWith('-A NETPOL-'))).toBe(true);
    expect(lines.at(-2)).toBe('COMMIT');
  });

  it('hooks FORWARD exactly once when missing, never when present, and removes duplicates', () => {
    expect(lines.filter((l) => l === '-I FORWARD 1 -j NETPOL-FORWARD')).toHaveLength(1);
    const again = renderPolicyRules(p, 'node-1', { forwardJumps: 1, chains: ['NETPOL-FORWARD', webIn] });
    expect(again).not.toContain('FORWARD 1');
    expect(again).not.toContain('-D FORWARD');
    const dup = renderPolicyRules(p, 'node-1', { forwardJumps: 3, chains: [] }).split('\n');
    expect(dup.filter((l) => l === '-D FORWARD -j NETPOL-FORWARD')).toHaveLength(2);
    expect(dup.some((l) => l.startsWith('-I FORWARD'))).toBe(false);
  });

  it('lets established flows through first', () => {
    const first = lines.find((l) => l.startsWith('-A NETPOL-FORWARD'));
    expect(first).toBe('-A NETPOL-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN');
  });

  it('jumps per isolated pod of this node, by destination for ingress and source for egress', () => {
    expect(text).toContain(`-A NETPOL-FORWARD -d 10.244.1.2/32 -m comment --comment "alpha/web ingress" -j ${webIn}`);
    expect(text).toContain(`-A NETPOL-FORWARD -d 10.244.1.3/32 -m comment --comment "alpha/client ingress" -j ${clientIn}`);
    expect(text).toContain(`-A NETPOL-FORWARD -s 10.244.1.4/32 -m comment --comment "beta/client egress" -j ${bClientOut}`);
    // beta/db lives on node-2, the hostNetwork pod is never enforced.
    expect(text).not.toContain('"beta/db egress"');
    expect(text).not.toContain('172.31.0.11');
  });

  it('allows by RETURN (so the other direction is still checked) and ends each pod chain with DROP', () => {
    expect(text).toContain(`-A ${webIn} -s 10.244.1.3/32 -p tcp -m tcp --dport 8080 -m comment --comment "alpha/allow-clients" -j RETURN`);
    expect(text).toContain(`-A ${webIn} -s 10.244.1.3/32 -p tcp -m tcp --dport 9000:9002 -m comment --comment "alpha/allow-clients" -j RETURN`);
    expect(text).toContain(`-A ${webIn} -s 10.244.0.0/24 -p udp -m comment --comment "alpha/from-net" -j RETURN`);
    expect(text).toContain(`-A ${webIn} -s 10.244.3.0/24 -p udp -m comment --comment "alpha/from-net" -j RETURN`);
    expect(text).not.toContain(`-A ${webIn} -s 10.244.1.0/24`);
    expect(text).toContain(`-A ${bClientOut} -d 10.244.1.2/32 -m comment --comment "beta/db-egress" -j RETURN`);
    for (const chain of [webIn, clientIn, bClientOut]) {
      const own = lines.filter((l) => l.startsWith(`-A ${chain} `));
      expect(own.at(-1)).toContain('-j DROP');
      expect(own.filter((l) => l.includes('-j DROP'))).toHaveLength(1);
      expect(own.filter((l) => l.includes('-j ACCEPT'))).toHaveLength(0);
    }
    expect(lines.filter((l) => l.startsWith(`-A ${clientIn} `))).toEqual([`-A ${clientIn} -m comment --comment "alpha/client ingress not allowed" -j DROP`]);
  });

  it('an "all ports from anywhere" rule renders a bare RETURN', () => {
    const open = renderPolicyRules(plan([np('alpha', 'open', { podSelector: webOnly, ingress: [{}] })]), 'node-1');
    expect(open).toContain(`-A ${webIn} -m comment --comment "alpha/open" -j RETURN`);
  });

  it('deletes stale NETPOL chains and keeps wanted ones', () => {
    const stale = 'NETPOL-I-0000000000000000';
    const out = renderPolicyRules(plan([]), 'node-1', { forwardJumps: 1, chains: ['NETPOL-FORWARD', stale] }).split('\n');
    expect(out).toContain(`:${stale} - [0:0]`);
    expect(out).toContain(`-X ${stale}`);
    expect(out).not.toContain('-X NETPOL-FORWARD');
    expect(out.indexOf(`:${stale} - [0:0]`)).toBeLessThan(out.indexOf(`-X ${stale}`));
  });

  it('renders nothing but the established rule for a node without isolated pods', () => {
    expect(renderPolicyRules(p, 'node-2')).toContain('"beta/db egress"');
    const out = renderPolicyRules(plan([denyAllIngressAlpha]), 'node-2', { forwardJumps: 1, chains: ['NETPOL-FORWARD'] });
    expect(out).toBe('*filter\n:NETPOL-FORWARD - [0:0]\n-A NETPOL-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\nCOMMIT\n');
  });
});

describe('parseNetpolState / renderPolicyRemoval', () => {
  const save = [
    '*nat',
    ':NETPOL-NOT-FILTER - [0:0]',
    '-A FORWARD -j NETPOL-FORWARD',
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':NETPOL-FORWARD - [0:0]',
    ':NETPOL-I-abc - [0:0]',
    '-A FORWARD -j NETPOL-FORWARD',
    '-A FORWARD -j KUBE-FORWARD',
    '-A FORWARD -s 10.0.0.0/8 -j NETPOL-FORWARD',
    '-A FORWARD -j NETPOL-FORWARDX',
    'COMMIT',
  ].join('\n');

  it('counts exact FORWARD jumps and NETPOL chains of the filter table only', () => {
    expect(parseNetpolState(save)).toEqual({ forwardJumps: 1, chains: ['NETPOL-FORWARD', 'NETPOL-I-abc'] });
  });

  it('removal deletes the jump before the chains and touches nothing else', () => {
    const out = renderPolicyRemoval({ forwardJumps: 1, chains: ['NETPOL-FORWARD', 'NETPOL-I-abc'] }).split('\n');
    expect(out).toEqual(['*filter', ':NETPOL-FORWARD - [0:0]', ':NETPOL-I-abc - [0:0]', '-D FORWARD -j NETPOL-FORWARD', '-X NETPOL-FORWARD', '-X NETPOL-I-abc', 'COMMIT', '']);
  });
});

describe('dual-stack: the IPv6 twin', () => {
  const V6 = { web: 'fd00:10:244:1::2', aClient: 'fd00:10:244:1::3', bClient: 'fd00:10:244:1::4', db: 'fd00:10:244:2::2', external: 'fd00:db8::10' } as const;
  const ip6Of: Record<string, string> = { 'alpha/web': V6.web, 'alpha/client': V6.aClient, 'beta/client': V6.bClient, 'beta/db': V6.db };
  const dualPods: NetpolPod[] = pods.map((p) => {
    const ip6 = ip6Of[`${p.namespace}/${p.name}`];
    return ip6 === undefined ? p : { ...p, ip6 };
  });
  const dualPlan = (policies: NetworkPolicyObject[]): PolicyPlan => compileNetworkPolicies({ policies, pods: dualPods, namespaces });
  const flow = (p: PolicyPlan, srcIP: string, dstIP: string, port = 8080): boolean => evaluateFlow(p, { srcIP, dstIP, protocol: 'TCP', port }).allowed;
  const fromClients = np('alpha', 'from-clients', { podSelector: webOnly, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] });

  it('a pod selector peer stands for both addresses of the pod', () => {
    const p = dualPlan([fromClients]);
    expect(flow(p, V6.aClient, V6.web)).toBe(true);
    expect(flow(p, IP.aClient, IP.web)).toBe(true);
    expect(flow(p, V6.bClient, V6.web)).toBe(false);
    expect(flow(p, V6.external, V6.web)).toBe(false);
    expect(podPlan(p, 'alpha/web').ip6).toBe(V6.web);
  });

  it('an ipBlock matches only its own family', () => {
    const v4Block = dualPlan([np('alpha', 'v4', { podSelector: webOnly, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16' } }] }] })]);
    expect(flow(v4Block, IP.aClient, IP.web)).toBe(true);
    expect(flow(v4Block, V6.aClient, V6.web)).toBe(false);
    const v6Block = dualPlan([np('alpha', 'v6', { podSelector: webOnly, ingress: [{ from: [{ ipBlock: { cidr: 'fd00:10:244::/56', except: ['fd00:10:244:2::/64'] } }] }] })]);
    expect(flow(v6Block, V6.aClient, V6.web)).toBe(true);
    expect(flow(v6Block, V6.db, V6.web)).toBe(false);
    expect(flow(v6Block, IP.aClient, IP.web)).toBe(false);
  });

  it('renders the ip6tables twin: /128 pods, IPv6 blocks only, neighbour discovery passes', () => {
    const p = dualPlan([
      fromClients,
      np('alpha', 'v4', { podSelector: webOnly, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16' } }] }] }),
      np('alpha', 'v6', { podSelector: webOnly, ingress: [{ from: [{ ipBlock: { cidr: 'fd00:10:244::/62', except: ['fd00:10:244:2::/64'] } }] }] }),
    ]);
    const webIn = podChainName('ingress', 'alpha/web');
    const six = renderPolicyRules(p, 'node-1', undefined, 'IPv6').split('\n');
    expect(six).toContain(`-A NETPOL-FORWARD -d ${V6.web}/128 -m comment --comment "alpha/web ingress" -j ${webIn}`);
    expect(six).toContain(`-A ${webIn} -s ${V6.aClient}/128 -m comment --comment "alpha/from-clients" -j RETURN`);
    expect(six.filter((l) => l.includes('"alpha/v6"'))).toEqual([
      `-A ${webIn} -s fd00:10:244::/63 -m comment --comment "alpha/v6" -j RETURN`,
      `-A ${webIn} -s fd00:10:244:3::/64 -m comment --comment "alpha/v6" -j RETURN`,
    ]);
    expect(six.filter((l) => l.includes('"alpha/v4"'))).toEqual([]);
    expect(six.slice(1, 5)).toEqual([
      ':NETPOL-FORWARD - [0:0]',
      `:${webIn} - [0:0]`,
      '-A NETPOL-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
      '-A NETPOL-FORWARD -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j RETURN',
    ]);
    expect(six.some((l) => /\d+\.\d+\.\d+\.\d+/.test(l))).toBe(false);
    // The IPv4 text of the same plan is what it was: no IPv6 address, no ICMPv6 rule, the IPv4 block rendered.
    const four = renderPolicyRules(p, 'node-1').split('\n');
    expect(four.some((l) => l.includes(':') && l.startsWith('-A'))).toBe(false);
    expect(four.filter((l) => l.includes('"alpha/v4"'))).toEqual([`-A ${webIn} -s 10.244.0.0/16 -m comment --comment "alpha/v4" -j RETURN`]);
  });

  it('the IPv4 plan and text of IPv4-only pods are unchanged (no ip6 fields)', () => {
    const p = plan([fromClients]);
    expect(JSON.stringify(p)).not.toContain('ip6');
    expect(renderPolicyRules(p, 'node-1', undefined, 'IPv6')).not.toContain('alpha/web ingress');
  });

  it('subtractCidrs6 splits an IPv6 block around its excepts and ignores IPv4', () => {
    expect(subtractCidrs6('fd00:10:244::/62', ['fd00:10:244:1::/64'])).toEqual(['fd00:10:244::/64', 'fd00:10:244:2::/63']);
    expect(subtractCidrs6('10.0.0.0/8', [])).toEqual([]);
    expect(subtractCidrs6('::/0', ['::/0'])).toEqual([]);
  });

  it('rejects an IPv6 except outside its IPv6 cidr', () => {
    expect(() => plan([np('alpha', 'bad', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 'fd00:10:244::/56', except: ['fd00:10:245::/64'] } }] }] })])).toThrow(/strictly inside/);
  });
});
