/**
 * A NetworkPolicy (networking.k8s.io/v1) evaluator: does the policy set allow one connection source → destination:port?
 * Written from the API semantics: per-direction isolation, union of rules, ports AND peers, AND within one peer.
 * Policies see traffic after Service DNAT, so for a Service evaluate each endpoint pod with the resolved target port.
 */
import { cidrContains } from './address.ts';
import type { ContainerPort, Labels, Protocol } from './model.ts';

/** A label selector requirement. */
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** A metav1.LabelSelector; an empty selector selects everything. */
export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: LabelSelectorRequirement[];
}

/** A NetworkPolicyPort: protocol defaults to TCP; port is a number or a named container port; endPort makes a range. */
export interface NetworkPolicyPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}

/** A NetworkPolicyPeer: podSelector and/or namespaceSelector (ANDed), or an ipBlock alone. */
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

/** A NetworkPolicy as the API returns it (only the fields the evaluator reads). */
export interface NetworkPolicy {
  metadata: { name: string; namespace: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
    egress?: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
  };
}

/** A pod taking part in the connection; hostNetwork pods are treated as their node's traffic. */
export interface PolicyPod {
  kind: 'pod';
  namespace: string;
  labels: Labels;
  ip: string;
  node?: string;
  hostNetwork?: boolean;
}

/** A source that is no pod (a node, an outside address): only ipBlock peers can match it. */
export interface PolicyExternal {
  kind: 'external';
  ip: string;
}

/** The destination pod with its container ports (named policy ports resolve against them), or an outside address. */
export type PolicyDestination = (PolicyPod & { ports: ContainerPort[] }) | PolicyExternal;

/** Everything one evaluation needs. */
export interface PolicyQuery {
  /** Policies of (at least) the source's and the destination's namespaces; others are ignored. */
  policies: NetworkPolicy[];
  source: PolicyPod | PolicyExternal;
  destination: PolicyDestination;
  /** The destination port (after Service DNAT, i.e. the target port). */
  port: number;
  protocol?: Protocol;
  /** Namespace name → labels, for namespaceSelectors; `kubernetes.io/metadata.name` is always the name, as the API sets it. */
  namespaces: Record<string, Labels>;
}

/** The decision for one direction. */
export interface DirectionDecision {
  /** Some policy selecting the pod lists this direction. */
  isolated: boolean;
  allowed: boolean;
  /** `namespace/name` of the policies with a rule that allows the connection. */
  allowedBy: string[];
  /** When denied: `namespace/name` of the isolating policies, none of which allows it. */
  deniedBy?: string[];
}

/** The decision for a connection: allowed only if the source's egress and the destination's ingress both allow it. */
export interface PolicyDecision {
  allowed: boolean;
  ingress: DirectionDecision;
  egress: DirectionDecision;
  /** Caveats worth showing the user, e.g. that ipBlock matching of pod IPs depends on the CNI. */
  notes: string[];
}

const OPEN: DirectionDecision = { isolated: false, allowed: true, allowedBy: [] };

/** Returns a policy's effective policyTypes as the API server defaults them (Ingress, plus Egress when egress has a rule). */
export function policyTypesOf(policy: NetworkPolicy): ('Ingress' | 'Egress')[] {
  if (policy.spec.policyTypes && policy.spec.policyTypes.length > 0) return policy.spec.policyTypes;
  // The API server's defaulting: an absent or empty egress list leaves the policy Ingress-only, so `egress: []` without
  // policyTypes does not isolate egress (only an explicit policyTypes: [Egress] with no rules denies all egress).
  return (policy.spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Evaluates whether the policies allow source → destination:port/protocol (v1 semantics). */
export function evaluatePolicies(query: PolicyQuery): PolicyDecision {
  const protocol = query.protocol ?? 'TCP';
  const notes: string[] = [];
  const { source, destination } = query;

  // Traffic from the destination's own node (which includes hostNetwork pods on it) is always allowed by ingress.
  const fromOwnNode =
    source.kind === 'pod' && source.hostNetwork === true && destination.kind === 'pod' && source.node !== undefined && source.node === destination.node;
  // hostNetwork pods are not subject to policies and are not selected as pods by peers: they act as their node's IP.
  const sourcePeer: PolicyPod | PolicyExternal = source.kind === 'pod' && source.hostNetwork ? { kind: 'external', ip: source.ip } : source;
  const destPeer: PolicyPod | PolicyExternal =
    destination.kind === 'pod' && destination.hostNetwork ? { kind: 'external', ip: destination.ip } : destination;

  let ingress = OPEN;
  if (destination.kind === 'pod' && !destination.hostNetwork && !fromOwnNode) {
    const selecting = selectingPolicies(query, destination, 'Ingress');
    ingress = decide(selecting, (policy) =>
      (policy.spec.ingress ?? []).some(
        (rule) =>
          portsMatch(rule.ports, query.port, protocol, destination.ports) &&
          peersMatch(rule.from, sourcePeer, policy.metadata.namespace, query.namespaces, notes),
      ),
    );
  }

  let egress = OPEN;
  if (source.kind === 'pod' && !source.hostNetwork) {
    const selecting = selectingPolicies(query, source, 'Egress');
    const destPorts = destination.kind === 'pod' ? destination.ports : [];
    egress = decide(selecting, (policy) =>
      (policy.spec.egress ?? []).some(
        (rule) =>
          portsMatch(rule.ports, query.port, protocol, destPorts) &&
          peersMatch(rule.to, destPeer, policy.metadata.namespace, query.namespaces, notes),
      ),
    );
  }

  return { allowed: ingress.allowed && egress.allowed, ingress, egress, notes: [...new Set(notes)] };
}

/** Returns true when the labels satisfy the selector (an empty selector matches everything). */
export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const value = labels[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default: {
        const never: never = req.operator;
        throw new Error(`unknown selector operator ${String(never)}`);
      }
    }
  }
  return true;
}

/** Returns true when the address lies in the CIDR; an address of the other family never does (either family). */
export function ipInCidr(ip: string, cidr: string): boolean {
  return cidrContains(cidr, ip);
}

function policyName(policy: NetworkPolicy): string {
  return `${policy.metadata.namespace}/${policy.metadata.name}`;
}

function selectingPolicies(query: PolicyQuery, pod: PolicyPod, direction: 'Ingress' | 'Egress'): NetworkPolicy[] {
  return query.policies.filter(
    (p) => p.metadata.namespace === pod.namespace && policyTypesOf(p).includes(direction) && matchesSelector(p.spec.podSelector, pod.labels),
  );
}

function decide(selecting: NetworkPolicy[], allows: (policy: NetworkPolicy) => boolean): DirectionDecision {
  if (selecting.length === 0) return OPEN;
  const allowedBy = selecting.filter(allows).map(policyName);
  if (allowedBy.length > 0) return { isolated: true, allowed: true, allowedBy };
  return { isolated: true, allowed: false, allowedBy: [], deniedBy: selecting.map(policyName) };
}

function portsMatch(ports: NetworkPolicyPort[] | undefined, port: number, protocol: Protocol, containerPorts: ContainerPort[]): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') {
      return containerPorts.some((c) => c.name === p.port && c.protocol === protocol && c.containerPort === port);
    }
    const end = p.endPort ?? p.port;
    return port >= p.port && port <= end;
  });
}

function peersMatch(
  peers: NetworkPolicyPeer[] | undefined,
  peer: PolicyPod | PolicyExternal,
  policyNamespace: string,
  namespaces: Record<string, Labels>,
  notes: string[],
): boolean {
  if (!peers || peers.length === 0) return true;
  return peers.some((p) => {
    if (p.ipBlock) {
      const inBlock = ipInCidr(peer.ip, p.ipBlock.cidr) && !(p.ipBlock.except ?? []).some((e) => ipInCidr(peer.ip, e));
      if (inBlock && peer.kind === 'pod') {
        notes.push('an ipBlock matched a pod IP; whether ipBlock applies to pod traffic depends on the CNI plugin');
      }
      return inBlock;
    }
    if (peer.kind !== 'pod') return false;
    if (!p.podSelector && !p.namespaceSelector) return false;
    const nsOk = p.namespaceSelector
      ? matchesSelector(p.namespaceSelector, namespaceLabels(peer.namespace, namespaces))
      : peer.namespace === policyNamespace;
    const podOk = p.podSelector ? matchesSelector(p.podSelector, peer.labels) : true;
    return nsOk && podOk;
  });
}

function namespaceLabels(name: string, namespaces: Record<string, Labels>): Labels {
  // The API server sets this label to the namespace's name on every write, so it wins over whatever the data carries.
  return { ...(namespaces[name] ?? {}), 'kubernetes.io/metadata.name': name };
}
