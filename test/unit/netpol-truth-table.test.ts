/**
 * NetworkPolicy truth tables: every case of the upstream NetworkPolicy e2e suite (kubernetes test/e2e/network/netpol,
 * network_policy.go) that our evaluator's scope covers, named after the upstream case, with policies and a pod model of
 * our own. Upstream probes real pods and compares a reachability matrix; here the same matrix is filled by
 * `evaluatePolicies` for every ordered pair of pods (loopback is ignored, as upstream does). Upstream starts each case
 * with a subset of the pods; this model always has all nine (x, y, z × a, b, c), so every expectation is re-derived for
 * the full grid from the API semantics. After the upstream cases come policy shapes that the e2e suite does not build
 * itself (defaulting of policyTypes, port ranges, selector operators, outside addresses), in the spirit of cyclonus'
 * generated cases, and the places where our evaluator deliberately answers differently from a real data plane.
 */
import { describe, expect, it } from 'vitest';
import {
  evaluatePolicies,
  type LabelSelector,
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type PolicyDecision,
  type PolicyExternal,
  type PolicyPod,
} from '../../src/core/netpol.ts';
import type { ContainerPort, Labels, Protocol } from '../../src/core/model.ts';

// ---------------------------------------------------------------------------------------------------------------------
// The model: three namespaces, three pods each, ports 80/81 served over TCP, UDP and SCTP.

const NAMESPACES = ['x', 'y', 'z'] as const;
const POD_NAMES = ['a', 'b', 'c'] as const;
type Ns = (typeof NAMESPACES)[number];
type PodName = (typeof POD_NAMES)[number];
type PodKey = `${Ns}/${PodName}`;

const NS_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Every pod serves 80 and 81 on each protocol, each under its own name (`srv-<port>-<protocol>`). */
const CONTAINER_PORTS: ContainerPort[] = [80, 81].flatMap((port) =>
  (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => ({ name: `srv-${port}-${protocol.toLowerCase()}`, containerPort: port, protocol })),
);

const ALL_PODS: PodKey[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((pod) => `${ns}/${pod}` as PodKey));

function split(key: PodKey): { ns: Ns; pod: PodName } {
  const [ns, pod] = key.split('/') as [Ns, PodName];
  return { ns, pod };
}

/** Our own addressing: 10.88.<namespace 1..3>.<pod 11..13>; pod a runs on node-1, b on node-2, c on node-3. */
function podIp(key: PodKey): string {
  const { ns, pod } = split(key);
  return `10.88.${NAMESPACES.indexOf(ns) + 1}.${POD_NAMES.indexOf(pod) + 11}`;
}

function podNode(key: PodKey): string {
  return `node-${POD_NAMES.indexOf(split(key).pod) + 1}`;
}

/** What a step changes in the model: extra namespace labels, extra pod labels, or namespaces as the API lists them. */
interface WorldChange {
  namespaceLabels?: Partial<Record<Ns, Labels>>;
  podLabels?: Partial<Record<PodKey, Labels>>;
  /** Replace the namespace → labels table given to the evaluator entirely (e.g. without the name label). */
  namespacesAsListed?: Record<string, Labels>;
}

interface World {
  namespaces: Record<string, Labels>;
  podLabels: Record<PodKey, Labels>;
}

function world(change: WorldChange = {}): World {
  const namespaces: Record<string, Labels> =
    change.namespacesAsListed ?? Object.fromEntries(NAMESPACES.map((ns) => [ns, { [NS_NAME_LABEL]: ns, ...(change.namespaceLabels?.[ns] ?? {}) }]));
  const podLabels = {} as Record<PodKey, Labels>;
  for (const key of ALL_PODS) podLabels[key] = { pod: split(key).pod, ...(change.podLabels?.[key] ?? {}) };
  return { namespaces, podLabels };
}

function policyPod(w: World, key: PodKey): PolicyPod {
  return { kind: 'pod', namespace: split(key).ns, labels: w.podLabels[key], ip: podIp(key), node: podNode(key) };
}

// ---------------------------------------------------------------------------------------------------------------------
// The reachability matrix, in the manner of upstream's Reachability/Peer: rows are sources, columns destinations.

/** A set of pods: a missing field matches every namespace / every pod name. */
interface PeerFilter {
  ns?: Ns;
  pod?: PodName;
}

function inFilter(key: PodKey, filter: PeerFilter): boolean {
  const { ns, pod } = split(key);
  return (filter.ns === undefined || filter.ns === ns) && (filter.pod === undefined || filter.pod === pod);
}

class Reachability {
  private readonly cells = new Map<string, boolean>();

  constructor(connected: boolean) {
    this.expectPeer({}, {}, connected);
  }

  /** One ordered pair. */
  expect(from: PodKey, to: PodKey, connected: boolean): void {
    this.cells.set(`${from}>${to}`, connected);
  }

  /** Every pair whose source matches `from` and whose destination matches `to`. */
  expectPeer(from: PeerFilter, to: PeerFilter, connected: boolean): void {
    for (const src of ALL_PODS) for (const dst of ALL_PODS) if (inFilter(src, from) && inFilter(dst, to)) this.expect(src, dst, connected);
  }

  /** Everything into one pod. */
  expectAllIngress(to: PodKey, connected: boolean): void {
    this.expectPeer({}, split(to), connected);
  }

  /** Everything out of one pod. */
  expectAllEgress(from: PodKey, connected: boolean): void {
    this.expectPeer(split(from), {}, connected);
  }

  get(from: PodKey, to: PodKey): boolean {
    return this.cells.get(`${from}>${to}`) === true;
  }

  /** The matrix as text (`.` connected, `X` blocked, `-` loopback, which is ignored), so a mismatch diffs cell by cell. */
  table(): string {
    const header = ['     ', ...ALL_PODS].join(' ');
    const rows = ALL_PODS.map((src) => [src.padEnd(5), ...ALL_PODS.map((dst) => (src === dst ? ' - ' : this.get(src, dst) ? ' . ' : ' X '))].join(' '));
    return [header, ...rows].join('\n');
  }
}

interface Probe {
  port: 80 | 81;
  protocol: Protocol;
  /** Starting from "everything connected", mark what the policies must change. */
  expect: (r: Reachability) => void;
}

interface Step {
  label: string;
  world?: WorldChange;
  policies: NetworkPolicy[];
  probes: Probe[];
}

interface TruthCase {
  name: string;
  steps: Step[];
}

/** Fills the matrix through the evaluator: every ordered pair of distinct pods, one port and protocol. */
function observe(w: World, policies: NetworkPolicy[], port: number, protocol: Protocol): { matrix: Reachability; decisions: Map<string, PolicyDecision> } {
  const matrix = new Reachability(false);
  const decisions = new Map<string, PolicyDecision>();
  for (const src of ALL_PODS) {
    for (const dst of ALL_PODS) {
      if (src === dst) continue;
      const decision = evaluatePolicies({
        policies,
        source: policyPod(w, src),
        destination: { ...policyPod(w, dst), ports: CONTAINER_PORTS },
        port,
        protocol,
        namespaces: w.namespaces,
      });
      matrix.expect(src, dst, decision.allowed);
      decisions.set(`${src}>${dst}`, decision);
    }
  }
  return { matrix, decisions };
}

function runCase(c: TruthCase): void {
  for (const step of c.steps) {
    for (const probe of step.probes) {
      const expected = new Reachability(true);
      probe.expect(expected);
      const { matrix } = observe(world(step.world), step.policies, probe.port, probe.protocol);
      expect(matrix.table(), `${step.label}: ${probe.protocol}/${probe.port}`).toBe(expected.table());
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Policy building blocks (our own shorthand for the API objects).

function np(ns: Ns, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { metadata: { name, namespace: ns }, spec };
}

const ANY: LabelSelector = {};
const pods = (name: PodName): LabelSelector => ({ matchLabels: { pod: name } });
const podIn = (...names: PodName[]): LabelSelector => ({ matchExpressions: [{ key: 'pod', operator: 'In', values: names }] });
const nsNamed = (ns: Ns): LabelSelector => ({ matchLabels: { [NS_NAME_LABEL]: ns } });
const nsIn = (...names: Ns[]): LabelSelector => ({ matchExpressions: [{ key: NS_NAME_LABEL, operator: 'In', values: names }] });
const nsNotIn = (...names: Ns[]): LabelSelector => ({ matchExpressions: [{ key: NS_NAME_LABEL, operator: 'NotIn', values: names }] });
const from = (...peers: NetworkPolicyPeer[]): NetworkPolicyPeer[] => peers;

/** A deny-all-ingress policy the way the e2e helpers build it: policyTypes [Ingress] and an empty ingress list. */
function denyIngress(ns: Ns, name: string, podSelector: LabelSelector = ANY): NetworkPolicy {
  return np(ns, name, { podSelector, policyTypes: ['Ingress'], ingress: [] });
}

/** A deny-all-egress policy: policyTypes [Egress] and an empty egress list. */
function denyEgress(ns: Ns, name: string, podSelector: LabelSelector = ANY): NetworkPolicy {
  return np(ns, name, { podSelector, policyTypes: ['Egress'], egress: [] });
}

const tcp = (port: 80 | 81, expectFn: (r: Reachability) => void = () => {}): Probe => ({ port, protocol: 'TCP', expect: expectFn });
const udp = (port: 80 | 81, expectFn: (r: Reachability) => void = () => {}): Probe => ({ port, protocol: 'UDP', expect: expectFn });
const sctp = (port: 80 | 81, expectFn: (r: Reachability) => void = () => {}): Probe => ({ port, protocol: 'SCTP', expect: expectFn });

function one(name: string, policies: NetworkPolicy[], probes: Probe[], change?: WorldChange): TruthCase {
  return { name, steps: [{ label: 'policies in place', policies, probes, ...(change ? { world: change } : {}) }] };
}

// ---------------------------------------------------------------------------------------------------------------------
// Upstream: "NetworkPolicy between server and client" (TCP).

const TCP_CASES: TruthCase[] = [
  one("should support a 'default-deny-ingress' policy", [denyIngress('x', 'no-way-in')], [
    tcp(80, (r) => r.expectPeer({}, { ns: 'x' }, false)),
  ]),
  one(
    "should support a 'default-deny-all' policy",
    [np('x', 'sealed', { podSelector: ANY, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] })],
    [
      tcp(80, (r) => {
        r.expectPeer({}, { ns: 'x' }, false);
        r.expectPeer({ ns: 'x' }, {}, false);
      }),
    ],
  ),
  one(
    'should enforce policy to allow traffic from pods within server namespace based on PodSelector',
    [np('x', 'a-takes-b', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ podSelector: pods('b') }) }] })],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', false);
        // A podSelector alone means "in the policy's namespace": y/b and z/b carry pod=b too but stay out.
        r.expect('x/b', 'x/a', true);
      }),
    ],
  ),
  one(
    'should enforce policy to allow ingress traffic for a target',
    [
      denyIngress('x', 'no-way-in'),
      np('x', 'open-a', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ podSelector: ANY, namespaceSelector: ANY }) }] }),
    ],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', true);
        r.expectAllIngress('x/b', false);
        r.expectAllIngress('x/c', false);
      }),
    ],
  ),
  one(
    'should enforce policy to allow ingress traffic from pods in all namespaces',
    [np('x', 'a-from-everywhere', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: { matchLabels: {} } }) }] })],
    [tcp(80)],
  ),
  one(
    'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector',
    [np('x', 'a-from-y', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('y') }) }] })],
    [
      tcp(80, (r) => {
        r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false);
        r.expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false);
      }),
    ],
  ),
  one(
    'should enforce policy based on PodSelector with MatchExpressions',
    [np('x', 'a-takes-b-expr', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ podSelector: podIn('b') }) }] })],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', false);
        r.expect('x/b', 'x/a', true);
      }),
    ],
  ),
  one(
    'should enforce policy based on NamespaceSelector with MatchExpressions',
    [np('x', 'a-from-y-expr', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsIn('y') }) }] })],
    [
      tcp(80, (r) => {
        r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false);
        r.expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false);
      }),
    ],
  ),
  one(
    'should enforce policy based on PodSelector or NamespaceSelector',
    // Two peers in one rule are ORed: any pod outside x, or pod b of x.
    [np('x', 'a-from-outside-or-b', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNotIn('x') }, { podSelector: pods('b') }) }] })],
    [tcp(80, (r) => r.expect('x/c', 'x/a', false))],
  ),
  one(
    'should enforce policy based on PodSelector and NamespaceSelector',
    // Both selectors in one peer are ANDed: pod b, in a namespace other than x.
    [np('x', 'a-from-outside-b', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNotIn('x'), podSelector: pods('b') }) }] })],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', false);
        r.expect('y/b', 'x/a', true);
        r.expect('z/b', 'x/a', true);
      }),
    ],
  ),
  one(
    'should enforce policy based on Multiple PodSelectors and NamespaceSelectors',
    [np('x', 'a-from-outside-b-or-c', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNotIn('x'), podSelector: podIn('b', 'c') }) }] })],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', false);
        for (const src of ['y/b', 'y/c', 'z/b', 'z/c'] as const) r.expect(src, 'x/a', true);
      }),
    ],
  ),
  one(
    'should enforce policy based on any PodSelectors',
    [np('x', 'a-from-b-or-c', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ podSelector: pods('b') }, { podSelector: pods('c') }) }] })],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', false);
        r.expect('x/b', 'x/a', true);
        r.expect('x/c', 'x/a', true);
      }),
    ],
  ),
  one(
    'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    [np('x', 'a-from-y-a', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('y'), podSelector: pods('a') }) }] })],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', false);
        r.expect('y/a', 'x/a', true);
      }),
    ],
  ),
  one(
    'should enforce policy based on Ports',
    [np('x', 'a-81-from-y', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('y') }), ports: [{ port: 81, protocol: 'TCP' }] }] })],
    [
      tcp(81, (r) => {
        r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false);
        r.expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false);
      }),
      // Not probed upstream: the other port of the same pod is closed to everyone.
      tcp(80, (r) => r.expectAllIngress('x/a', false)),
    ],
  ),
  (() => {
    const port81FromY = np('x', 'a-81-from-y', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('y') }), ports: [{ port: 81, protocol: 'TCP' }] }] });
    const port80FromY = np('x', 'a-80-from-y', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('y') }), ports: [{ port: 80, protocol: 'TCP' }] }] });
    const onlyY = (r: Reachability): void => {
      r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false);
      r.expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false);
    };
    return {
      name: 'should enforce multiple, stacked policies with overlapping podSelectors',
      steps: [
        { label: 'port 81 policy only', policies: [port81FromY], probes: [tcp(81, onlyY), tcp(80, (r) => r.expectAllIngress('x/a', false))] },
        { label: 'port 80 policy stacked on it', policies: [port81FromY, port80FromY], probes: [tcp(81, onlyY), tcp(80, onlyY)] },
      ],
    };
  })(),
  one('should support allow-all policy', [np('x', 'open', { podSelector: { matchLabels: {} }, policyTypes: ['Ingress'], ingress: [{}] })], [tcp(80), tcp(81)]),
  one(
    'should allow ingress access on one named port',
    [np('x', 'named-81', { podSelector: ANY, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'srv-81-tcp' }] }] })],
    [
      tcp(81),
      tcp(80, (r) => r.expectPeer({}, { ns: 'x' }, false)),
      // Not probed upstream: the name resolves to the TCP container port, so UDP 81 is not allowed by it.
      udp(81, (r) => r.expectPeer({}, { ns: 'x' }, false)),
    ],
  ),
  one(
    'should allow ingress access from namespace on one named port',
    [np('x', 'a-named-80-from-y', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('y') }), ports: [{ port: 'srv-80-tcp', protocol: 'TCP' }] }] })],
    [
      tcp(80, (r) => {
        r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false);
        r.expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false);
      }),
      tcp(81, (r) => r.expectAllIngress('x/a', false)),
    ],
  ),
  one(
    'should allow egress access on one named port',
    // Named ports in an egress rule resolve against the destination pod's container ports.
    [np('x', 'out-named-80', { podSelector: ANY, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'srv-80-tcp' }] }] })],
    [tcp(80), tcp(81, (r) => r.expectPeer({ ns: 'x' }, {}, false))],
  ),
  {
    name: 'should enforce updated policy',
    steps: [
      { label: 'allow all', policies: [np('x', 'flip', { podSelector: ANY, policyTypes: ['Ingress'], ingress: [{}] })], probes: [tcp(81)] },
      {
        label: 'updated to an empty ingress list',
        policies: [np('x', 'flip', { podSelector: ANY, policyTypes: ['Ingress'], ingress: [] })],
        probes: [tcp(81, (r) => r.expectPeer({}, { ns: 'x' }, false))],
      },
    ],
  },
  (() => {
    const policy = np('x', 'a-from-labelled-ns', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: { matchLabels: { tier: 'trusted' } } }) }] });
    return {
      name: 'should allow ingress access from updated namespace',
      steps: [
        { label: 'no namespace carries the label', policies: [policy], probes: [tcp(80, (r) => r.expectAllIngress('x/a', false))] },
        {
          label: 'y labelled tier=trusted',
          world: { namespaceLabels: { y: { tier: 'trusted' } } },
          policies: [policy],
          probes: [
            tcp(80, (r) => {
              r.expectAllIngress('x/a', false);
              r.expectPeer({ ns: 'y' }, {}, true);
            }),
          ],
        },
      ],
    };
  })(),
  (() => {
    const policy = np('x', 'a-from-relabelled-b', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ podSelector: { matchLabels: { pod: 'b', role: 'client' } } }) }] });
    return {
      name: 'should allow ingress access from updated pod',
      steps: [
        { label: 'b lacks role=client', policies: [policy], probes: [tcp(80, (r) => r.expectAllIngress('x/a', false))] },
        {
          label: 'x/b labelled role=client',
          world: { podLabels: { 'x/b': { role: 'client' } } },
          policies: [policy],
          probes: [
            tcp(80, (r) => {
              r.expectAllIngress('x/a', false);
              r.expect('x/b', 'x/a', true);
            }),
          ],
        },
      ],
    };
  })(),
  one(
    'should deny ingress from pods on other namespaces',
    [np('x', 'same-ns-only', { podSelector: ANY, policyTypes: ['Ingress'], ingress: [{ from: from({ podSelector: { matchLabels: {} } }) }] })],
    [
      tcp(80, (r) => {
        r.expectPeer({ ns: 'y' }, { ns: 'x' }, false);
        r.expectPeer({ ns: 'z' }, { ns: 'x' }, false);
      }),
    ],
  ),
  (() => {
    const policy = denyIngress('x', 'quarantine', { matchLabels: { quarantine: 'yes' } });
    return {
      name: 'should deny ingress access to updated pod',
      steps: [
        { label: 'no pod labelled', policies: [policy], probes: [tcp(80)] },
        { label: 'x/a labelled quarantine=yes', world: { podLabels: { 'x/a': { quarantine: 'yes' } } }, policies: [policy], probes: [tcp(80, (r) => r.expectAllIngress('x/a', false))] },
      ],
    };
  })(),
  one('should deny egress from pods based on PodSelector', [denyEgress('x', 'a-silent', pods('a'))], [tcp(80, (r) => r.expectAllEgress('x/a', false))]),
  one('should deny egress from all pods in a namespace', [denyEgress('x', 'ns-silent')], [tcp(80, (r) => r.expectPeer({ ns: 'x' }, {}, false))]),
  one(
    'should work with Ingress, Egress specified together',
    [
      np('x', 'a-both-ways', {
        podSelector: pods('a'),
        policyTypes: ['Egress', 'Ingress'],
        ingress: [{ from: from({ podSelector: pods('b') }) }],
        egress: [{ ports: [{ port: 80 }] }],
      }),
    ],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', false);
        r.expect('x/b', 'x/a', true);
      }),
      tcp(81, (r) => {
        r.expectAllIngress('x/a', false);
        r.expectAllEgress('x/a', false);
        r.expect('x/b', 'x/a', true);
      }),
    ],
  ),
  one(
    'should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)',
    [
      np('x', 'a-out-to-y-a', { podSelector: pods('a'), policyTypes: ['Egress'], egress: [{ to: from({ namespaceSelector: nsNamed('y'), podSelector: pods('a') }) }] }),
      np('y', 'a-in-from-x-a', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('x'), podSelector: pods('a') }) }] }),
      np('y', 'b-in-from-x-a', { podSelector: pods('b'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('x'), podSelector: pods('a') }) }] }),
    ],
    [
      tcp(80, (r) => {
        r.expectAllEgress('x/a', false);
        r.expectAllIngress('y/a', false);
        r.expectAllIngress('y/b', false);
        // y/b's ingress admits x/a, but x/a's own egress policy does not let it out towards y/b.
        r.expect('x/a', 'y/a', true);
      }),
    ],
  ),
  one(
    'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector',
    [np('x', 'a-out-to-y-a', { podSelector: pods('a'), policyTypes: ['Egress'], egress: [{ to: from({ namespaceSelector: nsNamed('y'), podSelector: pods('a') }) }] })],
    [
      tcp(80, (r) => {
        r.expectAllEgress('x/a', false);
        r.expect('x/a', 'y/a', true);
      }),
    ],
  ),
  one(
    'should enforce ingress policy allowing any port traffic to a server on a specific protocol',
    [np('x', 'a-tcp-any-port', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP' }] }] })],
    [tcp(80), tcp(81), udp(80, (r) => r.expectAllIngress('x/a', false))],
  ),
  {
    name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence',
    steps: [
      {
        label: 'port 80 only',
        policies: [np('x', 'in-80', { podSelector: ANY, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80 }] }] })],
        probes: [tcp(81, (r) => r.expectPeer({}, { ns: 'x' }, false)), tcp(80)],
      },
      {
        label: 'plus allow-all',
        policies: [
          np('x', 'in-80', { podSelector: ANY, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80 }] }] }),
          np('x', 'in-all', { podSelector: ANY, policyTypes: ['Ingress'], ingress: [{}] }),
        ],
        probes: [tcp(81)],
      },
    ],
  },
  {
    name: 'should enforce multiple egress policies with egress allow-all policy taking precedence',
    steps: [
      {
        label: 'port 80 only',
        policies: [np('x', 'out-80', { podSelector: ANY, policyTypes: ['Egress'], egress: [{ ports: [{ port: 80 }] }] })],
        probes: [tcp(81, (r) => r.expectPeer({ ns: 'x' }, {}, false)), tcp(80)],
      },
      {
        label: 'plus allow-all',
        policies: [
          np('x', 'out-80', { podSelector: ANY, policyTypes: ['Egress'], egress: [{ ports: [{ port: 80 }] }] }),
          np('x', 'out-all', { podSelector: ANY, policyTypes: ['Egress'], egress: [{}] }),
        ],
        probes: [tcp(81)],
      },
    ],
  },
  {
    name: 'should stop enforcing policies after they are deleted',
    steps: [
      {
        label: 'deny all in x',
        policies: [np('x', 'sealed', { podSelector: ANY, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] })],
        probes: [
          tcp(80, (r) => {
            r.expectPeer({ ns: 'x' }, {}, false);
            r.expectPeer({}, { ns: 'x' }, false);
          }),
        ],
      },
      { label: 'deleted', policies: [], probes: [tcp(80)] },
    ],
  },
  one(
    'should allow egress access to server in CIDR block',
    // ipBlock naming a pod IP: whether a data plane applies ipBlock to pod traffic depends on the CNI (netpol.ts says so
    // in a note, checked below); the evaluator matches it, which is what upstream's e2e expects.
    [np('x', 'a-out-to-cidr', { podSelector: pods('a'), policyTypes: ['Egress'], egress: [{ to: from({ ipBlock: { cidr: `${podIp('y/b')}/32` } }) }] })],
    [
      tcp(80, (r) => {
        r.expectAllEgress('x/a', false);
        r.expect('x/a', 'y/b', true);
      }),
    ],
  ),
  one(
    'should enforce except clause while egress access to server in CIDR block',
    // A wide block around every pod address (10.88.0.0/16 lies in 0.0.0.0/4) with x/b's address excepted.
    [np('x', 'a-out-wide-but-b', { podSelector: pods('a'), policyTypes: ['Egress'], egress: [{ to: from({ ipBlock: { cidr: '0.0.0.0/4', except: [`${podIp('x/b')}/32`] } }) }] })],
    [tcp(80, (r) => r.expect('x/a', 'x/b', false))],
  ),
  (() => {
    const wideButB = np('x', 'a-out-cidr', { podSelector: pods('a'), policyTypes: ['Egress'], egress: [{ to: from({ ipBlock: { cidr: '0.0.0.0/4', except: [`${podIp('x/b')}/32`] } }) }] });
    const onlyB = (name: string): NetworkPolicy =>
      np('x', name, { podSelector: pods('a'), policyTypes: ['Egress'], egress: [{ to: from({ ipBlock: { cidr: `${podIp('x/b')}/32` } }) }] });
    return {
      name: 'should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed',
      steps: [
        { label: 'wide block with b excepted', policies: [wideButB], probes: [tcp(80, (r) => r.expect('x/a', 'x/b', false))] },
        {
          // Upstream replaces the policy (same name) with one naming only x/b.
          label: 'replaced by a block of x/b alone',
          policies: [onlyB('a-out-cidr')],
          probes: [
            tcp(80, (r) => {
              r.expectAllEgress('x/a', false);
              r.expect('x/a', 'x/b', true);
            }),
          ],
        },
        {
          // Ours: both side by side. Rules are a union, so one policy's except does not veto another's allow.
          label: 'both policies side by side',
          policies: [wideButB, onlyB('a-out-b')],
          probes: [tcp(80)],
        },
      ],
    };
  })(),
  {
    name: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector',
    steps: [
      { label: 'egress allowed for a', policies: [np('x', 'a-out-all', { podSelector: pods('a'), policyTypes: ['Egress'], egress: [{}] })], probes: [tcp(80)] },
      {
        label: 'plus ingress denied for a',
        policies: [np('x', 'a-out-all', { podSelector: pods('a'), policyTypes: ['Egress'], egress: [{}] }), denyIngress('x', 'a-no-way-in', pods('a'))],
        probes: [tcp(80, (r) => r.expectAllIngress('x/a', false))],
      },
    ],
  },
  one(
    "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
    [denyIngress('x', 'no-way-in'), np('x', 'a-sctp-81', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 81, protocol: 'SCTP' }] }] })],
    [
      tcp(81, (r) => r.expectPeer({}, { ns: 'x' }, false)),
      // Not probed upstream: SCTP 81 itself does reach x/a.
      sctp(81, (r) => {
        r.expectAllIngress('x/b', false);
        r.expectAllIngress('x/c', false);
      }),
    ],
  ),
  one(
    "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
    [np('x', 'a-sctp-80', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }] })],
    [tcp(81, (r) => r.expectAllIngress('x/a', false))],
  ),
  one(
    'should not allow access by TCP when a policy specifies only UDP',
    [np('x', 'a-udp-81', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] })],
    [tcp(81, (r) => r.expectAllIngress('x/a', false)), udp(81)],
  ),
  one(
    'should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label',
    // The namespaces as an old API server lists them, without the name label: the evaluator adds it as defaulting does.
    [np('x', 'a-from-y-by-name', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('y') }) }] })],
    [
      tcp(80, (r) => {
        r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false);
        r.expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false);
      }),
    ],
    { namespacesAsListed: { x: {}, y: {}, z: {} } },
  ),
  one(
    'should enforce policy based on NamespaceSelector with MatchExpressions using default ns label',
    [np('x', 'a-out-not-y', { podSelector: pods('a'), policyTypes: ['Egress'], egress: [{ to: from({ namespaceSelector: nsNotIn('y') }) }] })],
    [tcp(80, (r) => r.expectPeer({ ns: 'x', pod: 'a' }, { ns: 'y' }, false))],
  ),
];

// Upstream: "NetworkPolicy between server and client using UDP" and "... using SCTP".
function protocolCases(probe: (port: 80 | 81, f?: (r: Reachability) => void) => Probe, protocol: 'UDP' | 'SCTP'): TruthCase[] {
  return [
    one("should support a 'default-deny-ingress' policy", [denyIngress('x', 'no-way-in')], [probe(80, (r) => r.expectPeer({}, { ns: 'x' }, false))]),
    one(
      'should enforce policy based on Ports',
      [np('x', 'a-81-from-y', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('y') }), ports: [{ port: 81, protocol }] }] })],
      [
        probe(81, (r) => {
          r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false);
          r.expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false);
        }),
        // Not probed upstream: TCP on the same port number is not covered by a rule for this protocol.
        tcp(81, (r) => r.expectAllIngress('x/a', false)),
      ],
    ),
    one(
      'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
      [np('x', 'a-from-y-a', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('y'), podSelector: pods('a') }) }] })],
      [
        probe(80, (r) => {
          r.expectAllIngress('x/a', false);
          r.expect('y/a', 'x/a', true);
        }),
      ],
    ),
  ];
}

// ---------------------------------------------------------------------------------------------------------------------
// Policy shapes the e2e suite does not build itself (its helpers always set policyTypes), cyclonus style.

const SHAPE_CASES: TruthCase[] = [
  one(
    'egress: [] without policyTypes is Ingress-only (the API server defaults policyTypes to [Ingress])',
    // pkg/apis/networking/v1 SetDefaults_NetworkPolicy: an empty policyTypes becomes [Ingress], and Egress is added only
    // when the egress list is non-empty. So this policy isolates ingress (no rules: nothing in) and leaves egress open.
    [np('x', 'empty-egress', { podSelector: ANY, egress: [] })],
    [tcp(80, (r) => r.expectPeer({}, { ns: 'x' }, false))],
  ),
  one(
    'an egress rule without policyTypes adds Egress to the defaulted policyTypes',
    [np('x', 'egress-80', { podSelector: ANY, egress: [{ ports: [{ port: 80 }] }] })],
    [
      tcp(80, (r) => r.expectPeer({}, { ns: 'x' }, false)),
      tcp(81, (r) => {
        r.expectPeer({}, { ns: 'x' }, false);
        r.expectPeer({ ns: 'x' }, {}, false);
      }),
    ],
  ),
  one(
    "ingress: [] with policyTypes [Ingress] denies all ingress (the e2e helpers' deny shape), egress untouched",
    [np('x', 'explicit-empty-ingress', { podSelector: pods('b'), policyTypes: ['Ingress'], ingress: [] })],
    [tcp(80, (r) => r.expectPeer({}, { ns: 'x', pod: 'b' }, false))],
  ),
  one(
    'policyTypes [Egress] only: ingress rules in the same policy are ignored',
    [np('x', 'egress-typed', { podSelector: ANY, policyTypes: ['Egress'], ingress: [{ from: from({ podSelector: { matchLabels: { pod: 'nobody' } } }) }], egress: [{}] })],
    [tcp(80), tcp(81)],
  ),
  one(
    'policyTypes [Ingress] only: an empty egress list in the same policy isolates nothing outbound',
    [np('x', 'ingress-typed', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{}], egress: [] })],
    [tcp(80)],
  ),
  one(
    'a policy selecting no pod isolates nothing',
    [denyIngress('x', 'selects-nobody', { matchLabels: { pod: 'nobody' } }), denyEgress('y', 'selects-nobody', { matchExpressions: [{ key: 'pod', operator: 'DoesNotExist' }] })],
    [tcp(80)],
  ),
  one(
    'policies are namespaced: a deny-all in z does not touch x or y',
    [np('z', 'sealed', { podSelector: ANY, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] })],
    [
      tcp(80, (r) => {
        r.expectPeer({ ns: 'z' }, {}, false);
        r.expectPeer({}, { ns: 'z' }, false);
      }),
    ],
  ),
  one(
    'port range (endPort) on ingress: both ends inclusive, protocol still TCP by default',
    [
      np('x', 'a-81-to-90', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 81, endPort: 90 }] }] }),
      np('x', 'b-70-to-80', { podSelector: pods('b'), policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 70, endPort: 80 }] }] }),
    ],
    [
      tcp(80, (r) => r.expectAllIngress('x/a', false)),
      tcp(81, (r) => r.expectAllIngress('x/b', false)),
      udp(81, (r) => {
        r.expectAllIngress('x/a', false);
        r.expectAllIngress('x/b', false);
      }),
    ],
  ),
  one(
    'port range (endPort) on egress with UDP',
    [np('y', 'udp-range-out', { podSelector: ANY, policyTypes: ['Egress'], egress: [{ ports: [{ port: 75, endPort: 80, protocol: 'UDP' }] }] })],
    [udp(80), udp(81, (r) => r.expectPeer({ ns: 'y' }, {}, false)), tcp(80, (r) => r.expectPeer({ ns: 'y' }, {}, false))],
  ),
  one(
    'matchExpressions Exists and DoesNotExist on namespace and pod labels',
    // x/a admits pods of a namespace that has an env label, except pods that carry a canary label.
    [
      np('x', 'a-from-env-ns-no-canary', {
        podSelector: pods('a'),
        policyTypes: ['Ingress'],
        ingress: [{ from: from({ namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Exists' }] }, podSelector: { matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] } }) }],
      }),
    ],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', false);
        r.expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, true);
        r.expect('z/c', 'x/a', false);
      }),
    ],
    { namespaceLabels: { z: { env: 'prod' } }, podLabels: { 'z/c': { canary: 'true' } } },
  ),
  one(
    'matchLabels and matchExpressions in one selector are ANDed',
    [np('x', 'a-from-y-not-c', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: { matchLabels: { [NS_NAME_LABEL]: 'y' }, matchExpressions: [{ key: NS_NAME_LABEL, operator: 'NotIn', values: ['y'] }] } }) }] })],
    [tcp(80, (r) => r.expectAllIngress('x/a', false))],
  ),
  one(
    'the namespace name label is the namespace name even when the listing carries another value',
    // The API server sets kubernetes.io/metadata.name to the namespace's name on every write (namespace defaulting and
    // the registry's Canonicalize), so a stale value in the data must not let z pass for y.
    [np('x', 'a-from-y-by-name', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: nsNamed('y') }) }] })],
    [
      tcp(80, (r) => {
        r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false);
        r.expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false);
      }),
    ],
    { namespacesAsListed: { x: { [NS_NAME_LABEL]: 'x' }, y: { [NS_NAME_LABEL]: 'y' }, z: { [NS_NAME_LABEL]: 'y' } } },
  ),
  one(
    'a rule with both ports and peers needs both',
    [np('x', 'a-80-from-b', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ podSelector: pods('b') }), ports: [{ port: 80 }] }] })],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', false);
        r.expect('x/b', 'x/a', true);
      }),
      tcp(81, (r) => r.expectAllIngress('x/a', false)),
    ],
  ),
  one(
    'two rules in one policy are ORed (port 80 from b, or anything from y)',
    [np('x', 'a-two-rules', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ podSelector: pods('b') }), ports: [{ port: 80 }] }, { from: from({ namespaceSelector: nsNamed('y') }) }] })],
    [
      tcp(80, (r) => {
        r.expectAllIngress('x/a', false);
        r.expect('x/b', 'x/a', true);
        r.expectPeer({ ns: 'y' }, { ns: 'x', pod: 'a' }, true);
      }),
      tcp(81, (r) => {
        r.expectAllIngress('x/a', false);
        r.expectPeer({ ns: 'y' }, { ns: 'x', pod: 'a' }, true);
      }),
    ],
  ),
  one(
    'egress named port absent on the destination matches nothing',
    [np('x', 'out-named-missing', { podSelector: ANY, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'metrics' }] }] })],
    [tcp(80, (r) => r.expectPeer({ ns: 'x' }, {}, false))],
  ),
];

describe('NetworkPolicy truth tables: upstream e2e cases (TCP)', () => {
  it.each(TCP_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => runCase(c));
});

describe('NetworkPolicy truth tables: upstream e2e cases (UDP)', () => {
  it.each(protocolCases(udp, 'UDP').map((c) => [c.name, c] as const))('%s', (_name, c) => runCase(c));
});

describe('NetworkPolicy truth tables: upstream e2e cases (SCTP)', () => {
  it.each(protocolCases(sctp, 'SCTP').map((c) => [c.name, c] as const))('%s', (_name, c) => runCase(c));
});

describe('NetworkPolicy truth tables: policy shapes', () => {
  it.each(SHAPE_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => runCase(c));

  it('egress: [] without policyTypes: the decision says egress is not isolated', () => {
    const w = world();
    const got = evaluatePolicies({
      policies: [np('x', 'empty-egress', { podSelector: ANY, egress: [] })],
      source: policyPod(w, 'x/a'),
      destination: { ...policyPod(w, 'y/a'), ports: CONTAINER_PORTS },
      port: 80,
      namespaces: w.namespaces,
    });
    expect(got.egress).toEqual({ isolated: false, allowed: true, allowedBy: [] });
    expect(got.allowed).toBe(true);
  });
});

describe('the truth-table helper itself', () => {
  it('a wrong expectation shows as a differing table', () => {
    const { matrix } = observe(world(), [denyIngress('x', 'no-way-in')], 80, 'TCP');
    const wrong = new Reachability(true);
    expect(matrix.table()).not.toBe(wrong.table());
    wrong.expectPeer({}, { ns: 'x' }, false);
    expect(matrix.table()).toBe(wrong.table());
  });

  it('counts: expectPeer over one namespace pair covers 9 cells; loopback is never compared', () => {
    const r = new Reachability(true);
    r.expectPeer({ ns: 'x' }, { ns: 'y' }, false);
    const blocked = ALL_PODS.flatMap((s) => ALL_PODS.map((d) => [s, d] as const)).filter(([s, d]) => !r.get(s, d));
    expect(blocked).toHaveLength(9);
    const self = new Reachability(true);
    self.expect('x/a', 'x/a', false);
    expect(self.table()).toBe(new Reachability(true).table());
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Outside addresses (ipBlock with except), and where our evaluator deliberately answers differently.

describe('NetworkPolicy truth tables: outside peers (ipBlock with except)', () => {
  const w = world();
  const outside = (ip: string): PolicyExternal => ({ kind: 'external', ip });
  const ingressFromBlock = np('x', 'in-from-doc-net', {
    podSelector: ANY,
    policyTypes: ['Ingress'],
    ingress: [{ from: from({ ipBlock: { cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] } }) }],
  });
  const egressToBlock = np('x', 'out-to-doc-net', {
    podSelector: pods('a'),
    policyTypes: ['Egress'],
    egress: [{ to: from({ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.64/26'] } }), ports: [{ port: 443 }] }],
  });

  it.each([
    { name: 'inside the block', ip: '192.0.2.10', allowed: true },
    { name: 'inside the except', ip: '192.0.2.200', allowed: false },
    { name: 'outside the block', ip: '198.51.100.7', allowed: false },
  ])('ingress from an outside address $name', ({ ip, allowed }) => {
    for (const pod of POD_NAMES) {
      const got = evaluatePolicies({ policies: [ingressFromBlock], source: outside(ip), destination: { ...policyPod(w, `x/${pod}`), ports: CONTAINER_PORTS }, port: 80, namespaces: w.namespaces });
      expect(got.allowed).toBe(allowed);
      expect(got.notes).toEqual([]);
    }
  });

  it('an ipBlock-only ingress policy admits no pod (pod addresses lie outside the block)', () => {
    const { matrix } = observe(w, [ingressFromBlock], 80, 'TCP');
    const expected = new Reachability(true);
    expected.expectPeer({}, { ns: 'x' }, false);
    expect(matrix.table()).toBe(expected.table());
  });

  it.each([
    { name: 'to an address in the block on the allowed port', ip: '203.0.113.5', port: 443, allowed: true },
    { name: 'to an address in the block on another port', ip: '203.0.113.5', port: 80, allowed: false },
    { name: 'to an address in the except', ip: '203.0.113.70', port: 443, allowed: false },
    { name: 'to an address outside the block', ip: '198.51.100.7', port: 443, allowed: false },
  ])('egress $name', ({ ip, port, allowed }) => {
    const got = evaluatePolicies({ policies: [egressToBlock], source: policyPod(w, 'x/a'), destination: outside(ip), port, namespaces: w.namespaces });
    expect(got.allowed).toBe(allowed);
    // x/b is not selected by the egress policy: it reaches anything.
    expect(evaluatePolicies({ policies: [egressToBlock], source: policyPod(w, 'x/b'), destination: outside(ip), port, namespaces: w.namespaces }).allowed).toBe(true);
  });

  it('selectors never match an outside address, even empty ones', () => {
    const everyPod = np('x', 'in-from-every-pod', { podSelector: ANY, policyTypes: ['Ingress'], ingress: [{ from: from({ namespaceSelector: ANY, podSelector: ANY }) }] });
    const got = evaluatePolicies({ policies: [everyPod], source: outside('192.0.2.10'), destination: { ...policyPod(w, 'x/a'), ports: CONTAINER_PORTS }, port: 80, namespaces: w.namespaces });
    expect(got.allowed).toBe(false);
    const { matrix } = observe(w, [everyPod], 80, 'TCP');
    expect(matrix.table()).toBe(new Reachability(true).table());
  });

  it('an empty rule (no peers, no ports) admits outside addresses too', () => {
    const open = np('x', 'open', { podSelector: ANY, policyTypes: ['Ingress'], ingress: [{}] });
    expect(evaluatePolicies({ policies: [open], source: outside('198.51.100.7'), destination: { ...policyPod(w, 'x/a'), ports: CONTAINER_PORTS }, port: 81, namespaces: w.namespaces }).allowed).toBe(true);
  });

  it('a named port in egress cannot match an outside address (there is no pod to resolve it on)', () => {
    const named = np('x', 'out-named', { podSelector: ANY, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'srv-80-tcp' }] }] });
    expect(evaluatePolicies({ policies: [named], source: policyPod(w, 'x/a'), destination: outside('203.0.113.5'), port: 80, namespaces: w.namespaces }).allowed).toBe(false);
  });
});

describe('NetworkPolicy truth tables: where our evaluator deliberately differs from a data plane', () => {
  const w = world();

  it('ipBlock matching a pod IP is allowed, with a note that it depends on the CNI', () => {
    // Upstream's "should allow egress access to server in CIDR block" expects the pod IP to match; some CNIs only apply
    // ipBlock to traffic from outside the cluster, so the evaluator says so instead of guessing.
    const policy = np('x', 'a-out-to-cidr', { podSelector: pods('a'), policyTypes: ['Egress'], egress: [{ to: from({ ipBlock: { cidr: `${podIp('y/b')}/32` } }) }] });
    const { decisions } = observe(w, [policy], 80, 'TCP');
    const toB = decisions.get('x/a>y/b');
    expect(toB?.allowed).toBe(true);
    expect(toB?.notes).toEqual(['an ipBlock matched a pod IP; whether ipBlock applies to pod traffic depends on the CNI plugin']);
    expect(decisions.get('x/a>y/c')?.notes).toEqual([]);
  });

  it("traffic from the destination's own node (node-origin, hostNetwork there) is always allowed by ingress", () => {
    // Upstream's e2e probes only pod-to-pod; the API documents that a node's traffic to its pods is allowed whatever the
    // policies, so a default-deny-ingress does not block it.
    const nodeAgent: PolicyPod = { kind: 'pod', namespace: 'y', labels: { pod: 'agent' }, ip: '172.18.0.2', node: podNode('x/a'), hostNetwork: true };
    const got = evaluatePolicies({ policies: [denyIngress('x', 'no-way-in')], source: nodeAgent, destination: { ...policyPod(w, 'x/a'), ports: CONTAINER_PORTS }, port: 80, namespaces: w.namespaces });
    expect(got.allowed).toBe(true);
    expect(got.ingress.isolated).toBe(false);
  });

  it('a hostNetwork source on another node is its node address: selectors miss it, an ipBlock of the node network matches', () => {
    const remoteAgent: PolicyPod = { kind: 'pod', namespace: 'x', labels: { pod: 'b' }, ip: '172.18.0.3', node: 'node-9', hostNetwork: true };
    const dest = { ...policyPod(w, 'x/a'), ports: CONTAINER_PORTS };
    const bySelector = np('x', 'a-from-b', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ podSelector: pods('b') }) }] });
    const byBlock = np('x', 'a-from-nodes', { podSelector: pods('a'), policyTypes: ['Ingress'], ingress: [{ from: from({ ipBlock: { cidr: '172.18.0.0/16' } }) }] });
    expect(evaluatePolicies({ policies: [bySelector], source: remoteAgent, destination: dest, port: 80, namespaces: w.namespaces }).allowed).toBe(false);
    expect(evaluatePolicies({ policies: [byBlock], source: remoteAgent, destination: dest, port: 80, namespaces: w.namespaces }).allowed).toBe(true);
  });

  it('a hostNetwork pod is subject to no policy of its own namespace (neither egress nor ingress)', () => {
    const hostPod: PolicyPod = { kind: 'pod', namespace: 'x', labels: { pod: 'a' }, ip: '172.18.0.4', node: 'node-5', hostNetwork: true };
    const sealed = np('x', 'sealed', { podSelector: ANY, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] });
    const out = evaluatePolicies({ policies: [sealed], source: hostPod, destination: { ...policyPod(w, 'y/a'), ports: CONTAINER_PORTS }, port: 80, namespaces: w.namespaces });
    expect(out.egress.isolated).toBe(false);
    expect(out.allowed).toBe(true);
    const into = evaluatePolicies({ policies: [sealed], source: policyPod(w, 'y/a'), destination: { ...hostPod, ports: CONTAINER_PORTS }, port: 80, namespaces: w.namespaces });
    expect(into.ingress.isolated).toBe(false);
    expect(into.allowed).toBe(true);
  });
});
