/**
 * The lab's NetworkPolicy agent, pure part: compiles networking.k8s.io/v1 NetworkPolicies against the pods and namespaces
 * of a cluster into a flat per-pod plan (isolation + allowed peers/ports), evaluates flows against that plan, and renders
 * the plan of one node as iptables-restore text in NETPOL-* chains hooked from FORWARD.
 *
 * Semantics follow Kubernetes NetworkPolicy v1 (see /work/shared/reference/kubernetes-protocol.md). Lab-specific choices
 * where Kubernetes leaves it to the CNI: ipBlock matches any address of its family including pod IPs; hostNetwork pods are
 * neither selected by a policy nor matched as a podSelector/namespaceSelector peer. On a dual-stack cluster every policy
 * is enforced for both families (an ip6tables twin): a pod/namespace selector peer stands for the pods' addresses of both
 * families, an IPv4 ipBlock matches only IPv4 and an IPv6 ipBlock only IPv6.
 */
import { createHash } from 'node:crypto';
import { matchesLabels, type LabelRequirement } from '../api/selectors.ts';
import { cidrContains, formatCIDR, tryParseCIDR, tryParseIPv4, type IPv4CIDR } from '../dataplane/addressing.ts';
import { cidr6Contains, formatCIDR6, tryParseCIDR6, tryParseIPv6, type IPv6CIDR } from '../dataplane/addressing-v6.ts';

/** The address family a rule set is rendered for (IPv4: iptables, IPv6: its ip6tables twin). */
export type NetpolFamily = 'IPv4' | 'IPv6';

/** A transport protocol a NetworkPolicy port may name. */
export type NetpolProtocol = 'TCP' | 'UDP' | 'SCTP';

/** A container port of a pod, as far as policies care (protocol defaults to TCP). */
export interface NetpolContainerPort {
  name?: string;
  containerPort: number;
  protocol?: NetpolProtocol;
}

/** A pod as the policy compiler sees it; a pod without ip (not yet running) is never a peer and gets no rules. */
export interface NetpolPod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip?: string;
  /** The pod's IPv6 address on a dual-stack cluster (absent on an IPv4 cluster). */
  ip6?: string;
  node: string;
  hostNetwork: boolean;
  ports: NetpolContainerPort[];
}

/** A namespace as the policy compiler sees it; `kubernetes.io/metadata.name` is added like the real API server does. */
export interface NetpolNamespace {
  name: string;
  labels: Record<string, string>;
}

/** A networking.k8s.io/v1 NetworkPolicy object (JSON), e.g. a ScenarioNetworkPolicy or an API object. */
export interface NetworkPolicyObject {
  metadata: { name: string; namespace?: string };
  spec?: unknown;
}

/** Everything the compiler needs. */
export interface NetpolInput {
  policies: NetworkPolicyObject[];
  pods: NetpolPod[];
  namespaces: NetpolNamespace[];
}

/** Which peers a rule allows: any address, one pod's IP, or a CIDR minus exceptions. */
export type PolicyPeerMatch =
  | { kind: 'any' }
  | { kind: 'pod'; ip: string; pod: string; ip6?: string }
  | { kind: 'cidr'; cidr: string; except: string[] };

/** Which ports a rule allows: all, all of one protocol, or an inclusive range of one protocol (from === to for one port). */
export type PolicyPortMatch =
  | { kind: 'any' }
  | { kind: 'protocol'; protocol: NetpolProtocol }
  | { kind: 'range'; protocol: NetpolProtocol; from: number; to: number; portName?: string };

/** One allowed (peer, port) pair, with the policy (`ns/name`) it came from. */
export interface PolicyAllowRule {
  policy: string;
  peer: PolicyPeerMatch;
  port: PolicyPortMatch;
}

/** One direction of one pod: open, or isolated with the union of the selecting policies' rules. */
export type DirectionPlan =
  | { isolated: false }
  | { isolated: true; policies: string[]; rules: PolicyAllowRule[] };

/** The plan of one pod. */
export interface PodPolicyPlan {
  /** `${namespace}/${name}` */
  key: string;
  namespace: string;
  name: string;
  ip: string | undefined;
  /** The pod's IPv6 address on a dual-stack cluster (absent otherwise). */
  ip6?: string;
  node: string;
  hostNetwork: boolean;
  ingress: DirectionPlan;
  egress: DirectionPlan;
}

/** The compiled plan: one entry per input pod, in input order. */
export interface PolicyPlan {
  pods: PodPolicyPlan[];
}

/** An invalid NetworkPolicy: names the policy and the field, says what is expected. */
export class NetworkPolicyError extends Error {
  readonly code = 'invalid-network-policy';
  readonly policy: string;
  readonly field: string;
  constructor(policy: string, field: string, expected: string) {
    super(`NetworkPolicy ${policy}: ${field}: ${expected}`);
    this.name = 'NetworkPolicyError';
    this.policy = policy;
    this.field = field;
  }
}

/** A parsed label selector: matchLabels and matchExpressions as requirements that must all hold. */
type Selector = LabelRequirement[];

interface ParsedPeer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except: string[] };
}

interface ParsedPort {
  protocol: NetpolProtocol;
  port?: number | string;
  endPort?: number;
}

interface ParsedRule {
  peers: ParsedPeer[] | 'all';
  ports: ParsedPort[] | 'all';
}

interface ParsedPolicy {
  key: string;
  namespace: string;
  podSelector: Selector;
  /** Present only when the policy isolates ingress. */
  ingress?: ParsedRule[];
  /** Present only when the policy isolates egress. */
  egress?: ParsedRule[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseSelector(key: string, field: string, raw: unknown): Selector {
  if (raw === undefined || raw === null) return [];
  if (!isRecord(raw)) throw new NetworkPolicyError(key, field, 'expected a label selector object');
  const selector: Selector = [];
  if (raw['matchLabels'] !== undefined && raw['matchLabels'] !== null) {
    if (!isRecord(raw['matchLabels'])) throw new NetworkPolicyError(key, `${field}.matchLabels`, 'expected a map of strings');
    for (const [k, v] of Object.entries(raw['matchLabels'])) {
      if (typeof v !== 'string') throw new NetworkPolicyError(key, `${field}.matchLabels.${k}`, 'expected a string value');
      selector.push({ op: 'eq', key: k, value: v });
    }
  }
  const exprs = raw['matchExpressions'];
  if (exprs !== undefined && exprs !== null) {
    if (!Array.isArray(exprs)) throw new NetworkPolicyError(key, `${field}.matchExpressions`, 'expected a list');
    exprs.forEach((e: unknown, i) => {
      const f = `${field}.matchExpressions[${i}]`;
      if (!isRecord(e) || typeof e['key'] !== 'string') throw new NetworkPolicyError(key, f, 'expected {key, operator, values}');
      const op = e['operator'];
      const values = e['values'] ?? [];
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
        throw new NetworkPolicyError(key, `${f}.values`, 'expected a list of strings');
      }
      const k = e['key'];
      if (op === 'In' || op === 'NotIn') {
        if (values.length === 0) throw new NetworkPolicyError(key, `${f}.values`, `must be non-empty for operator ${op}`);
        selector.push({ op: op === 'In' ? 'in' : 'notin', key: k, values: values as string[] });
      } else if (op === 'Exists' || op === 'DoesNotExist') {
        if (values.length !== 0) throw new NetworkPolicyError(key, `${f}.values`, `must be empty for operator ${op}`);
        selector.push({ op: op === 'Exists' ? 'exists' : 'notexists', key: k });
      } else {
        throw new NetworkPolicyError(key, `${f}.operator`, 'expected In, NotIn, Exists or DoesNotExist');
      }
    });
  }
  return selector;
}

function parseProtocol(key: string, field: string, raw: unknown): NetpolProtocol {
  if (raw === undefined || raw === null) return 'TCP';
  if (raw === 'TCP' || raw === 'UDP' || raw === 'SCTP') return raw;
  throw new NetworkPolicyError(key, field, 'expected TCP, UDP or SCTP');
}

function parsePorts(key: string, field: string, raw: unknown): ParsedPort[] | 'all' {
  if (raw === undefined || raw === null) return 'all';
  if (!Array.isArray(raw)) throw new NetworkPolicyError(key, field, 'expected a list of ports');
  if (raw.length === 0) return 'all';
  return raw.map((p: unknown, i): ParsedPort => {
    const f = `${field}[${i}]`;
    if (!isRecord(p)) throw new NetworkPolicyError(key, f, 'expected {protocol, port, endPort}');
    const protocol = parseProtocol(key, `${f}.protocol`, p['protocol']);
    const port = p['port'];
    const endPort = p['endPort'];
    if (port === undefined || port === null) {
      if (endPort !== undefined && endPort !== null) throw new NetworkPolicyError(key, `${f}.endPort`, 'requires a numeric port');
      return { protocol };
    }
    if (typeof port === 'string') {
      if (!/[a-z]/.test(port)) throw new NetworkPolicyError(key, `${f}.port`, 'a named port must contain a letter (IANA_SVC_NAME)');
      if (endPort !== undefined && endPort !== null) throw new NetworkPolicyError(key, `${f}.endPort`, 'may not be set with a named port');
      return { protocol, port };
    }
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new NetworkPolicyError(key, `${f}.port`, 'expected a port number 1-65535 or a port name');
    }
    if (endPort === undefined || endPort === null) return { protocol, port };
    if (typeof endPort !== 'number' || !Number.isInteger(endPort) || endPort < port || endPort > 65535) {
      throw new NetworkPolicyError(key, `${f}.endPort`, `expected a port number between ${port} and 65535`);
    }
    return { protocol, port, endPort };
  });
}

function parsePeers(key: string, field: string, raw: unknown): ParsedPeer[] | 'all' {
  if (raw === undefined || raw === null) return 'all';
  if (!Array.isArray(raw)) throw new NetworkPolicyError(key, field, 'expected a list of peers');
  if (raw.length === 0) return 'all';
  return raw.map((p: unknown, i): ParsedPeer => {
    const f = `${field}[${i}]`;
    if (!isRecord(p)) throw new NetworkPolicyError(key, f, 'expected {podSelector, namespaceSelector} or {ipBlock}');
    const has = (k: string): boolean => p[k] !== undefined && p[k] !== null;
    if (has('ipBlock')) {
      if (has('podSelector') || has('namespaceSelector')) {
        throw new NetworkPolicyError(key, f, 'ipBlock may not be combined with podSelector or namespaceSelector');
      }
      const b = p['ipBlock'];
      if (!isRecord(b) || typeof b['cidr'] !== 'string') throw new NetworkPolicyError(key, `${f}.ipBlock.cidr`, 'expected a CIDR');
      const cidr = b['cidr'];
      const except = b['except'] ?? [];
      if (!Array.isArray(except) || except.some((e) => typeof e !== 'string')) {
        throw new NetworkPolicyError(key, `${f}.ipBlock.except`, 'expected a list of CIDRs');
      }
      const outer = tryParseCIDR(cidr);
      if (outer === undefined && !isIPv6Cidr(cidr)) throw new NetworkPolicyError(key, `${f}.ipBlock.cidr`, `"${cidr}" is not a CIDR`);
      for (const [j, e] of (except as string[]).entries()) {
        const inner = tryParseCIDR(e);
        if (outer === undefined) {
          if (!isIPv6Cidr(e)) throw new NetworkPolicyError(key, `${f}.ipBlock.except[${j}]`, `"${e}" is not a CIDR`);
          const outer6 = tryParseCIDR6(cidr);
          const inner6 = tryParseCIDR6(e);
          if (outer6 !== undefined && (inner6 === undefined || inner6.prefix <= outer6.prefix || !cidr6Contains(outer6, inner6.network))) {
            throw new NetworkPolicyError(key, `${f}.ipBlock.except[${j}]`, `"${e}" must be a CIDR strictly inside ${cidr}`);
          }
          continue;
        }
        if (inner === undefined || inner.prefix <= outer.prefix || !cidrContains(outer, inner.network)) {
          throw new NetworkPolicyError(key, `${f}.ipBlock.except[${j}]`, `"${e}" must be a CIDR strictly inside ${cidr}`);
        }
      }
      return { ipBlock: { cidr, except: except as string[] } };
    }
    if (!has('podSelector') && !has('namespaceSelector')) {
      throw new NetworkPolicyError(key, f, 'a peer needs podSelector, namespaceSelector or ipBlock');
    }
    const peer: ParsedPeer = {};
    if (has('podSelector')) peer.podSelector = parseSelector(key, `${f}.podSelector`, p['podSelector']);
    if (has('namespaceSelector')) peer.namespaceSelector = parseSelector(key, `${f}.namespaceSelector`, p['namespaceSelector']);
    return peer;
  });
}

function parseRules(key: string, field: string, peerField: 'from' | 'to', raw: unknown): ParsedRule[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new NetworkPolicyError(key, field, 'expected a list of rules');
  return raw.map((r: unknown, i) => {
    const f = `${field}[${i}]`;
    if (!isRecord(r)) throw new NetworkPolicyError(key, f, `expected {${peerField}, ports}`);
    return { peers: parsePeers(key, `${f}.${peerField}`, r[peerField]), ports: parsePorts(key, `${f}.ports`, r['ports']) };
  });
}

function parsePolicy(obj: NetworkPolicyObject): ParsedPolicy {
  const namespace = obj.metadata.namespace ?? 'default';
  const key = `${namespace}/${obj.metadata.name}`;
  const spec = obj.spec ?? {};
  if (!isRecord(spec)) throw new NetworkPolicyError(key, 'spec', 'expected an object');
  const podSelector = parseSelector(key, 'spec.podSelector', spec['podSelector']);
  const rawTypes = spec['policyTypes'];
  let types: string[];
  if (rawTypes === undefined || rawTypes === null || (Array.isArray(rawTypes) && rawTypes.length === 0)) {
    // The API server's defaulting: Ingress always, Egress only when the egress list is non-empty.
    const egress = spec['egress'];
    types = Array.isArray(egress) && egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  } else if (Array.isArray(rawTypes) && rawTypes.every((t) => t === 'Ingress' || t === 'Egress')) {
    types = rawTypes as string[];
  } else {
    throw new NetworkPolicyError(key, 'spec.policyTypes', 'expected a list of Ingress and/or Egress');
  }
  const ingress = parseRules(key, 'spec.ingress', 'from', spec['ingress']);
  const egress = parseRules(key, 'spec.egress', 'to', spec['egress']);
  const parsed: ParsedPolicy = { key, namespace, podSelector };
  if (types.includes('Ingress')) parsed.ingress = ingress;
  if (types.includes('Egress')) parsed.egress = egress;
  return parsed;
}

type Cidr = Pick<IPv4CIDR, 'network' | 'prefix'>;

function isIPv6Cidr(s: string): boolean {
  return /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*\/\d{1,3}$/.test(s);
}

function subtractOne(block: Cidr, ex: Cidr): Cidr[] {
  if (ex.prefix <= block.prefix) return cidrContains(ex, block.network) ? [] : [block];
  if (!cidrContains(block, ex.network)) return [block];
  const half = block.prefix + 1;
  const low: Cidr = { network: block.network, prefix: half };
  const high: Cidr = { network: block.network + 2 ** (32 - half), prefix: half };
  return [...subtractOne(low, ex), ...subtractOne(high, ex)];
}

/**
 * Returns `cidr` minus every `except` block as a minimal sorted list of disjoint IPv4 CIDRs (what iptables can match).
 * IPv6 input yields an empty list: it never matches an IPv4 lab address.
 */
export function subtractCidrs(cidr: string, except: string[]): string[] {
  const outer = tryParseCIDR(cidr);
  if (outer === undefined) return [];
  let blocks: Cidr[] = [outer];
  for (const e of except) {
    const ex = tryParseCIDR(e);
    if (ex === undefined) continue;
    blocks = blocks.flatMap((b) => subtractOne(b, ex));
  }
  return blocks.sort((a, b) => a.network - b.network).map(formatCIDR);
}

function subtractOne6(block: IPv6CIDR, ex: IPv6CIDR): IPv6CIDR[] {
  if (ex.prefix <= block.prefix) return cidr6Contains(ex, block.network) ? [] : [block];
  if (!cidr6Contains(block, ex.network)) return [block];
  const half = block.prefix + 1;
  const low: IPv6CIDR = { network: block.network, prefix: half };
  const high: IPv6CIDR = { network: block.network + (1n << BigInt(128 - half)), prefix: half };
  return [...subtractOne6(low, ex), ...subtractOne6(high, ex)];
}

/** The IPv6 twin of subtractCidrs: an IPv6 `cidr` minus its IPv6 `except` blocks (IPv4 input yields an empty list). */
export function subtractCidrs6(cidr: string, except: string[]): string[] {
  const outer = tryParseCIDR6(cidr);
  if (outer === undefined) return [];
  let blocks: IPv6CIDR[] = [outer];
  for (const e of except) {
    const ex = tryParseCIDR6(e);
    if (ex === undefined) continue;
    blocks = blocks.flatMap((b) => subtractOne6(b, ex));
  }
  return blocks.sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : 0)).map(formatCIDR6);
}

/** Whether an address lies in cidr and in none of the except blocks (the ipBlock test); a CIDR matches only its own family. */
export function ipInBlock(ip: string, cidr: string, except: string[]): boolean {
  const addr6 = tryParseIPv6(ip);
  if (addr6 !== undefined) {
    const outer6 = tryParseCIDR6(cidr);
    if (outer6 === undefined || !cidr6Contains(outer6, addr6)) return false;
    return except.every((e) => {
      const ex = tryParseCIDR6(e);
      return ex === undefined || !cidr6Contains(ex, addr6);
    });
  }
  const addr = tryParseIPv4(ip);
  const outer = tryParseCIDR(cidr);
  if (addr === undefined || outer === undefined || !cidrContains(outer, addr)) return false;
  return except.every((e) => {
    const ex = tryParseCIDR(e);
    return ex === undefined || !cidrContains(ex, addr);
  });
}

interface Context {
  /** Pods that can be policy peers: not hostNetwork, with an IP. */
  peerPods: NetpolPod[];
  nsLabels: Map<string, Record<string, string>>;
}

function namespaceLabels(ctx: Context, ns: string): Record<string, string> {
  return ctx.nsLabels.get(ns) ?? { 'kubernetes.io/metadata.name': ns };
}

function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

/** The peer pods one (selector) peer matches, relative to the policy's namespace. */
function selectPeerPods(ctx: Context, policyNs: string, peer: ParsedPeer): NetpolPod[] {
  return ctx.peerPods.filter((pod) => {
    if (peer.namespaceSelector) {
      if (!matchesLabels(peer.namespaceSelector, namespaceLabels(ctx, pod.namespace))) return false;
    } else if (pod.namespace !== policyNs) {
      return false;
    }
    return peer.podSelector ? matchesLabels(peer.podSelector, pod.labels) : true;
  });
}

/** The peer match of one pod: its IPv4 address and, on a dual-stack cluster, its IPv6 address. */
function podPeer(pod: NetpolPod): PolicyPeerMatch {
  return { kind: 'pod', ip: pod.ip as string, pod: podKey(pod), ...(pod.ip6 ? { ip6: pod.ip6 } : {}) };
}

/** A resolved peer: its match and, for named-port resolution in egress, the pods it can stand for. */
interface ResolvedPeer {
  match: PolicyPeerMatch;
  pods: () => NetpolPod[];
}

function resolvePeers(ctx: Context, policyNs: string, peers: ParsedPeer[] | 'all'): ResolvedPeer[] {
  if (peers === 'all') return [{ match: { kind: 'any' }, pods: () => ctx.peerPods }];
  return peers.flatMap((peer): ResolvedPeer[] => {
    if (peer.ipBlock) {
      const { cidr, except } = peer.ipBlock;
      // An ipBlock matches only addresses of its own family (an IPv6 block never matches an IPv4 address, and back).
      const v6 = tryParseCIDR(cidr) === undefined;
      const sameFamily = (e: string): boolean => (v6 ? tryParseCIDR6(e) !== undefined : tryParseCIDR(e) !== undefined);
      return [
        {
          match: { kind: 'cidr', cidr, except: except.filter(sameFamily) },
          pods: () => ctx.peerPods.filter((p) => (v6 ? p.ip6 !== undefined && ipInBlock(p.ip6, cidr, except) : p.ip !== undefined && ipInBlock(p.ip, cidr, except))),
        },
      ];
    }
    return selectPeerPods(ctx, policyNs, peer).map((pod) => ({
      match: podPeer(pod),
      pods: () => [pod],
    }));
  });
}

/** The concrete ports a pod exposes under a name for a protocol (empty when it has none). */
function resolveNamedPort(pod: NetpolPod, name: string, protocol: NetpolProtocol): PolicyPortMatch[] {
  return pod.ports
    .filter((p) => p.name === name && (p.protocol ?? 'TCP') === protocol)
    .map((p) => ({ kind: 'range', protocol, from: p.containerPort, to: p.containerPort, portName: name }));
}

function numericPort(p: ParsedPort): PolicyPortMatch {
  if (p.port === undefined) return { kind: 'protocol', protocol: p.protocol };
  const from = p.port as number;
  return { kind: 'range', protocol: p.protocol, from, to: p.endPort ?? from };
}

function expandIngressRule(ctx: Context, policy: ParsedPolicy, rule: ParsedRule, dst: NetpolPod): PolicyAllowRule[] {
  const ports: PolicyPortMatch[] =
    rule.ports === 'all'
      ? [{ kind: 'any' }]
      : rule.ports.flatMap((p) => (typeof p.port === 'string' ? resolveNamedPort(dst, p.port, p.protocol) : [numericPort(p)]));
  const peers = resolvePeers(ctx, policy.namespace, rule.peers);
  return peers.flatMap((peer) => ports.map((port) => ({ policy: policy.key, peer: peer.match, port })));
}

function expandEgressRule(ctx: Context, policy: ParsedPolicy, rule: ParsedRule): PolicyAllowRule[] {
  const peers = resolvePeers(ctx, policy.namespace, rule.peers);
  if (rule.ports === 'all') return peers.map((peer) => ({ policy: policy.key, peer: peer.match, port: { kind: 'any' } }));
  const out: PolicyAllowRule[] = [];
  for (const port of rule.ports) {
    const name = port.port;
    if (typeof name === 'string') {
      // A named egress port means "that port of a destination pod which has it": one rule per such pod.
      for (const peer of peers) {
        for (const pod of peer.pods()) {
          for (const resolved of resolveNamedPort(pod, name, port.protocol)) {
            out.push({ policy: policy.key, peer: podPeer(pod), port: resolved });
          }
        }
      }
    } else {
      for (const peer of peers) out.push({ policy: policy.key, peer: peer.match, port: numericPort(port) });
    }
  }
  return out;
}

function dedupe(rules: PolicyAllowRule[]): PolicyAllowRule[] {
  const seen = new Set<string>();
  return rules.filter((r) => {
    const k = JSON.stringify(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Compiles NetworkPolicies into a per-pod plan: isolation per direction and the union of allowed (peer, port) rules.
 * Throws NetworkPolicyError for an invalid policy.
 */
export function compileNetworkPolicies(input: NetpolInput): PolicyPlan {
  const policies = input.policies.map(parsePolicy);
  const nsLabels = new Map<string, Record<string, string>>();
  for (const ns of input.namespaces) nsLabels.set(ns.name, { ...ns.labels, 'kubernetes.io/metadata.name': ns.name });
  const ctx: Context = {
    peerPods: input.pods.filter((p) => !p.hostNetwork && p.ip !== undefined && p.ip !== ''),
    nsLabels,
  };
  const pods = input.pods.map((pod): PodPolicyPlan => {
    const base = {
      key: podKey(pod),
      namespace: pod.namespace,
      name: pod.name,
      ip: pod.ip === '' ? undefined : pod.ip,
      ...(pod.ip6 ? { ip6: pod.ip6 } : {}),
      node: pod.node,
      hostNetwork: pod.hostNetwork,
    };
    if (pod.hostNetwork) return { ...base, ingress: { isolated: false }, egress: { isolated: false } };
    const selecting = policies.filter((p) => p.namespace === pod.namespace && matchesLabels(p.podSelector, pod.labels));
    const direction = (pick: (p: ParsedPolicy) => ParsedRule[] | undefined, expand: (p: ParsedPolicy, r: ParsedRule) => PolicyAllowRule[]): DirectionPlan => {
      const isolating = selecting.filter((p) => pick(p) !== undefined);
      if (isolating.length === 0) return { isolated: false };
      const rules = dedupe(isolating.flatMap((p) => (pick(p) ?? []).flatMap((r) => expand(p, r))));
      return { isolated: true, policies: isolating.map((p) => p.key), rules };
    };
    return {
      ...base,
      ingress: direction((p) => p.ingress, (p, r) => expandIngressRule(ctx, p, r, pod)),
      egress: direction((p) => p.egress, (p, r) => expandEgressRule(ctx, p, r)),
    };
  });
  return { pods };
}

function peerMatches(peer: PolicyPeerMatch, ip: string): boolean {
  switch (peer.kind) {
    case 'any':
      return true;
    case 'pod':
      return peer.ip === ip || (peer.ip6 !== undefined && peer.ip6 === ip);
    case 'cidr':
      return ipInBlock(ip, peer.cidr, peer.except);
    default: {
      const never: never = peer;
      throw new Error(`unknown peer ${JSON.stringify(never)}`);
    }
  }
}

function portMatches(port: PolicyPortMatch, protocol: NetpolProtocol, dport: number): boolean {
  switch (port.kind) {
    case 'any':
      return true;
    case 'protocol':
      return port.protocol === protocol;
    case 'range':
      return port.protocol === protocol && dport >= port.from && dport <= port.to;
    default: {
      const never: never = port;
      throw new Error(`unknown port ${JSON.stringify(never)}`);
    }
  }
}

/** How one direction judged a flow. */
export type DirectionVerdict = 'not-isolated' | 'allowed' | 'denied';

/** The verdict on a pod-network flow: the source pod's egress AND the destination pod's ingress must allow it. */
export interface FlowVerdict {
  allowed: boolean;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
}

function judge(dir: DirectionPlan, peerIP: string, protocol: NetpolProtocol, port: number): DirectionVerdict {
  if (!dir.isolated) return 'not-isolated';
  return dir.rules.some((r) => peerMatches(r.peer, peerIP) && portMatches(r.port, protocol, port)) ? 'allowed' : 'denied';
}

/**
 * Evaluates a new flow srcIP → dstIP:port against the plan, the way the rendered rules do for FORWARD-path traffic
 * (addresses that are not a non-hostNetwork pod in the plan are not isolated on their side).
 */
export function evaluateFlow(plan: PolicyPlan, flow: { srcIP: string; dstIP: string; protocol: NetpolProtocol; port: number }): FlowVerdict {
  const find = (ip: string): PodPolicyPlan | undefined => plan.pods.find((p) => !p.hostNetwork && (p.ip === ip || (p.ip6 !== undefined && p.ip6 === ip)));
  const src = find(flow.srcIP);
  const dst = find(flow.dstIP);
  const egress: DirectionVerdict = src ? judge(src.egress, flow.dstIP, flow.protocol, flow.port) : 'not-isolated';
  const ingress: DirectionVerdict = dst ? judge(dst.ingress, flow.srcIP, flow.protocol, flow.port) : 'not-isolated';
  return { allowed: egress !== 'denied' && ingress !== 'denied', egress, ingress };
}

/** The chain FORWARD jumps to; every chain this agent owns starts with NETPOL-. */
export const NETPOL_FORWARD_CHAIN = 'NETPOL-FORWARD';

/** The NETPOL-* state of one node's filter table, read from iptables-save. */
export interface NetpolIptablesState {
  /** How many `-A FORWARD -j NETPOL-FORWARD` rules (the exact form this agent inserts) exist. */
  forwardJumps: number;
  /** Every existing chain whose name starts with NETPOL-. */
  chains: string[];
}

/** The state of a namespace that never had policy rules. */
export const EMPTY_NETPOL_STATE: NetpolIptablesState = { forwardJumps: 0, chains: [] };

/** Reads the NETPOL-* state from `iptables-save -t filter` output. */
export function parseNetpolState(iptablesSave: string): NetpolIptablesState {
  let inFilter = false;
  const chains: string[] = [];
  let forwardJumps = 0;
  for (const line of iptablesSave.split('\n')) {
    if (line.startsWith('*')) inFilter = line === '*filter';
    if (!inFilter) continue;
    const chain = /^:(NETPOL-\S+)/.exec(line);
    if (chain?.[1] !== undefined) chains.push(chain[1]);
    if (line.trimEnd() === `-A FORWARD -j ${NETPOL_FORWARD_CHAIN}`) forwardJumps += 1;
  }
  return { forwardJumps, chains };
}

/** The per-pod chain of one direction: NETPOL-I-/NETPOL-E- plus a stable hash of `ns/name` (fits iptables' 28 chars). */
export function podChainName(direction: 'ingress' | 'egress', podKeyValue: string): string {
  const hash = createHash('sha256').update(podKeyValue).digest('hex').slice(0, 16);
  return `NETPOL-${direction === 'ingress' ? 'I' : 'E'}-${hash}`;
}

function peerSources(peer: PolicyPeerMatch, family: NetpolFamily): (string | undefined)[] {
  switch (peer.kind) {
    case 'any':
      return [undefined];
    case 'pod':
      if (family === 'IPv6') return peer.ip6 === undefined ? [] : [`${peer.ip6}/128`];
      return [`${peer.ip}/32`];
    case 'cidr':
      return family === 'IPv6' ? subtractCidrs6(peer.cidr, peer.except) : subtractCidrs(peer.cidr, peer.except);
    default: {
      const never: never = peer;
      throw new Error(`unknown peer ${JSON.stringify(never)}`);
    }
  }
}

function portArgs(port: PolicyPortMatch): string {
  switch (port.kind) {
    case 'any':
      return '';
    case 'protocol':
      return ` -p ${port.protocol.toLowerCase()}`;
    case 'range': {
      const p = port.protocol.toLowerCase();
      return ` -p ${p} -m ${p} --dport ${port.from === port.to ? port.from : `${port.from}:${port.to}`}`;
    }
    default: {
      const never: never = port;
      throw new Error(`unknown port ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Renders the iptables-restore text (filter table, for `iptables-restore --noflush`) enforcing the plan for the pods of
 * one node. Only NETPOL-* chains are declared (so flushed) and filled; allowed traffic RETURNs so the destination's
 * ingress check and the rest of FORWARD still apply, disallowed traffic is DROPped, established flows skip the checks.
 * `current` is the node's state before the restore: the FORWARD jump is inserted only when missing (duplicates are
 * removed) and NETPOL-* chains no longer needed are deleted, so re-applying is idempotent.
 * With family IPv6 it renders the ip6tables twin (for ip6tables-restore): the pods' IPv6 addresses as /128, IPv6
 * ipBlocks only, and neighbour solicitations/advertisements pass (IPv6's ARP, which bridged pods exchange through FORWARD).
 */
export function renderPolicyRules(plan: PolicyPlan, nodeName: string, current: NetpolIptablesState = EMPTY_NETPOL_STATE, family: NetpolFamily = 'IPv4'): string {
  const chains: string[] = [NETPOL_FORWARD_CHAIN];
  const rules: string[] = [`-A ${NETPOL_FORWARD_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`];
  if (family === 'IPv6') {
    for (const type of ['neighbour-solicitation', 'neighbour-advertisement']) {
      rules.push(`-A ${NETPOL_FORWARD_CHAIN} -p ipv6-icmp -m icmp6 --icmpv6-type ${type} -j RETURN`);
    }
  }
  const selfIP = (p: PodPolicyPlan): string | undefined => (family === 'IPv6' ? (p.ip6 === undefined ? undefined : `${p.ip6}/128`) : p.ip === undefined ? undefined : `${p.ip}/32`);
  const pods = plan.pods.filter((p) => p.node === nodeName && !p.hostNetwork && p.ip !== undefined && selfIP(p) !== undefined);
  const directions = [
    ['egress', '-s'],
    ['ingress', '-d'],
  ] as const;
  for (const [direction, selfFlag] of directions) {
    const peerFlag = direction === 'ingress' ? '-s' : '-d';
    for (const pod of pods) {
      const dir = pod[direction];
      if (!dir.isolated) continue;
      const chain = podChainName(direction, pod.key);
      chains.push(chain);
      rules.push(`-A ${NETPOL_FORWARD_CHAIN} ${selfFlag} ${selfIP(pod) as string} -m comment --comment "${pod.key} ${direction}" -j ${chain}`);
      for (const rule of dir.rules) {
        for (const peer of peerSources(rule.peer, family)) {
          const peerPart = peer === undefined ? '' : ` ${peerFlag} ${peer}`;
          rules.push(`-A ${chain}${peerPart}${portArgs(rule.port)} -m comment --comment "${rule.policy}" -j RETURN`);
        }
      }
      rules.push(`-A ${chain} -m comment --comment "${pod.key} ${direction} not allowed" -j DROP`);
    }
  }
  const stale = current.chains.filter((c) => !chains.includes(c));
  const lines = ['*filter', ...[...chains, ...stale].map((c) => `:${c} - [0:0]`), ...stale.map((c) => `-X ${c}`), ...rules];
  if (current.forwardJumps === 0) lines.push(`-I FORWARD 1 -j ${NETPOL_FORWARD_CHAIN}`);
  for (let i = 1; i < current.forwardJumps; i++) lines.push(`-D FORWARD -j ${NETPOL_FORWARD_CHAIN}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Renders the iptables-restore text (for `--noflush`) removing every FORWARD jump and NETPOL-* chain in `current`. */
export function renderPolicyRemoval(current: NetpolIptablesState): string {
  const lines = ['*filter', ...current.chains.map((c) => `:${c} - [0:0]`)];
  for (let i = 0; i < current.forwardJumps; i++) lines.push(`-D FORWARD -j ${NETPOL_FORWARD_CHAIN}`);
  lines.push(...current.chains.map((c) => `-X ${c}`), 'COMMIT', '');
  return lines.join('\n');
}
