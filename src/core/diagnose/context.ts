/**
 * The diagnosis context: one read-only view of a run, built once from the resolved targets, the API's static findings,
 * the ladder's probe results and the node checks. Rules read only this (and, for later layers, the findings of earlier
 * ones); nothing here does I/O or reads a clock.
 */
import { cidrContains } from '../address.ts';
import type { PodNetwork } from '../datapath.ts';
import { dnsServerOf, type DnsResolution, type DnsServer } from '../dns.ts';
import { answeredInIPv6 } from '../families.ts';
import { sampleGroupId, type Cause, type Finding, type ProbeResult, type ResolvedTargets, type RungId } from '../model.ts';
import { parseDigQueryTime } from '../parse.ts';
import { classifyFailure, classifyObservation, isLossy, type Failure } from './describe.ts';

/** A lookup answered this late is the conntrack race's signature (seed 002): the resolver's 5 s retry timer. */
export const SLOW_LOOKUP_MS = 5000;

/** What the diagnosis reads. */
export interface VerdictInput {
  targets: ResolvedTargets;
  /** Findings from the API alone (no endpoints, policy deny, node NotReady, ...), computed by core/static-findings.ts. */
  staticFindings: Finding[];
  /** Results of the ladder probes (spec.rung is a RungId). */
  observations: ProbeResult[];
  /** Results of the node checks (spec.rung is `node-checks`, spec.where a node pod). */
  nodeChecks: ProbeResult[];
  /** The nodes the API described, for their pod CIDRs in hints. */
  nodes?: Array<{ name: string; podCIDR?: string }>;
  /** The DNS the source's resolv.conf led to (absent: not read; kube-system/kube-dns is assumed, as before). */
  dns?: DnsResolution;
  /** The pod network the datapath detection named (absent or `unknown`: judged as before, as on flannel). */
  network?: PodNetwork;
}

/** The DNS rung sorted by how each lookup went. */
export interface DnsView {
  /** Lookups through the source pod's resolv.conf (search path). */
  search: ProbeResult[];
  /** Lookups sent straight to a DNS server (a DNS pod). */
  direct: ProbeResult[];
  /** Every failed lookup. */
  fails: ProbeResult[];
  /** Port unreachable: nothing listens on the DNS port (the DNS pod itself answered, so not the network). */
  closed: ProbeResult[];
  /** No answer at all, from lookups none of whose samples got one (a server that never answers). */
  timeouts: ProbeResult[];
  /** Lookups that ran (could-not-run ones and predicted denials are not counted). */
  ran: ProbeResult[];
  /** Lookups a DNS server answered (an address, NXDOMAIN or an error). */
  answered: ProbeResult[];
  /** Answers that took SLOW_LOOKUP_MS or more by dig's own query time. */
  slow: ProbeResult[];
  /**
   * The samples lost now and then: timeouts of a lookup whose other samples were answered (`--samples`), and slow
   * answers. A timeout of a lookup that is not repeated is never intermittent, so an unsampled run reads as it did.
   */
  intermittent: ProbeResult[];
  /** NXDOMAIN answers. */
  nx: ProbeResult[];
  /** SERVFAIL or REFUSED answers. */
  errors: ProbeResult[];
  /** NXDOMAIN from a DNS pod asked directly: the record itself is missing. */
  directNx: ProbeResult[];
  /**
   * NodeLocal DNSCache on the source's node, when resolv.conf points at it: the lookups through it (the search path and
   * the cache asked directly), the DNS pods asked directly (its upstream), and whether the cache failed while the
   * upstream answered. Then the cache's lookups are left out of every list above: they are its fault, not the DNS's.
   */
  cache?: { lookups: ProbeResult[]; upstream: ProbeResult[]; down: boolean };
  /** The source's /etc/resolv.conf as read at the start of the rung (nameserver, search path, ndots), when it was. */
  resolvConf?: ProbeResult;
}

/** The read-only context every rule reads. */
export interface DiagnosisContext {
  readonly targets: ResolvedTargets;
  /** The node the source runs on (or is). */
  readonly sourceNode: string;
  readonly nodes: ReadonlyArray<{ name: string; podCIDR?: string }>;
  readonly staticFindings: readonly Finding[];
  /** Ladder probes and node checks together. */
  readonly all: readonly ProbeResult[];
  readonly nodeChecks: readonly ProbeResult[];
  /** The probes of one rung, in run order. */
  rung(id: RungId): ProbeResult[];
  /** The node a probe ran on (the source's node for probes from the source pod). */
  nodeOf(r: ProbeResult): string;
  /** The node whose pod CIDR contains the address, if the API told us. */
  podCIDROwner(address: string): { name: string; podCIDR?: string } | undefined;
  /** Whether the API reported a static finding of this cause (any status). */
  hasStatic(cause: Cause): boolean;
  /** The probes among these that ran and saw the network fail (a failure NetworkPolicy was predicted to cause is none). */
  failing(rs: readonly ProbeResult[]): ProbeResult[];
  /** The plugin's own probes that failed as NetworkPolicy was predicted to make them (expected, never symptoms). */
  readonly deniedAsPredicted: readonly ProbeResult[];
  /** The probes among these that passed. */
  passing(rs: readonly ProbeResult[]): ProbeResult[];
  /** Whether a probe failed in this way. */
  failedAs(f: Failure): (r: ProbeResult) => boolean;
  /** Failed probes outside the DNS rung. */
  readonly dataFailures: readonly ProbeResult[];
  /** Whether any probe got nothing back (the path is down somewhere). */
  readonly symptomatic: boolean;
  /** Whether the ClusterIP or the pod IP was reached at least once. */
  readonly connectedAnywhere: boolean;
  /** The MAC each pod IP really answers with, read from a pod on its own bridge (`pod-mac` checks). */
  readonly podMacs: ReadonlyMap<string, ProbeResult>;
  /** Ping bursts that lost a real share, the first per node. */
  readonly lossy: readonly ProbeResult[];
  /** Probes and node checks that could not run. */
  readonly notRun: readonly ProbeResult[];
  readonly dns: DnsView;
  /** The cluster DNS Service and workload, for summaries and hints (kube-system/kube-dns when nothing else is known). */
  readonly dnsServer: DnsServer;
  /** What the source's resolv.conf led to, when it was read. */
  readonly dnsResolution?: DnsResolution;
  /** The pod network (`unknown` when the run did not name it). */
  readonly network: PodNetwork;
}

/** Builds the context once per diagnosis. */
export function buildContext(input: VerdictInput): DiagnosisContext {
  const { targets } = input;
  const sourceNode = targets.source.kind === 'pod' ? targets.source.node : targets.source.name;
  const nodes = input.nodes ?? [];
  const all = [...input.observations, ...input.nodeChecks];
  const rung = (id: RungId): ProbeResult[] => input.observations.filter((r) => r.spec.rung === id);
  // A host name with IPv6 addresses alone answers A with none: that lookup is no failure once its AAAA twin resolved.
  const inIPv6 = answeredInIPv6(input.observations);
  const failing = (rs: readonly ProbeResult[]): ProbeResult[] => rs.filter((r) => classifyObservation(r.observation) === 'fail' && !isDeniedAsPredicted(r) && !inIPv6.has(r.spec.id));
  const passing = (rs: readonly ProbeResult[]): ProbeResult[] => rs.filter((r) => classifyObservation(r.observation) === 'ok' || inIPv6.has(r.spec.id));
  const failedAs = (f: Failure) => (r: ProbeResult): boolean => classifyFailure(r.observation) === f;
  const nodeOf = (r: ProbeResult): string => (r.spec.where.kind === 'node-pod' ? r.spec.where.node : sourceNode);
  const staticCauses = new Set(input.staticFindings.map((f) => f.cause));
  return {
    targets,
    sourceNode,
    nodes,
    staticFindings: input.staticFindings,
    all,
    nodeChecks: input.nodeChecks,
    rung,
    nodeOf,
    podCIDROwner: (address) => nodes.find((n) => n.podCIDR !== undefined && cidrContains(n.podCIDR, address)),
    hasStatic: (cause) => staticCauses.has(cause),
    failing,
    passing,
    failedAs,
    deniedAsPredicted: all.filter(isDeniedAsPredicted),
    dataFailures: failing(input.observations.filter((r) => r.spec.rung !== 'dns')),
    symptomatic: failing(input.observations).some(failedAs('unreachable')),
    connectedAnywhere: passing([...rung('cluster-ip'), ...rung('pod-ip')]).length > 0,
    podMacs: podMacsOf(input.nodeChecks),
    lossy: lossyBursts(input.nodeChecks, nodeOf),
    notRun: all.filter((r) => classifyObservation(r.observation) === 'not-run'),
    dns: dnsView(rung('dns'), failing, failedAs, passing, input.dns?.nodeLocal?.address),
    dnsServer: dnsServerOf(input.dns),
    ...(input.dns ? { dnsResolution: input.dns } : {}),
    network: input.network ?? 'unknown',
  };
}

/** Whether a probe failed as NetworkPolicy was predicted to make it (ProbeSpec.deniedBy). */
export function isDeniedAsPredicted(r: ProbeResult): boolean {
  return r.spec.deniedBy !== undefined && classifyObservation(r.observation) === 'fail';
}

function podMacsOf(nodeChecks: readonly ProbeResult[]): Map<string, ProbeResult> {
  const out = new Map<string, ProbeResult>();
  for (const r of nodeChecks) {
    const obs = r.observation;
    if (r.spec.check === 'pod-mac' && obs.kind === 'neighbor' && obs.mac && obs.state !== 'FAILED' && obs.state !== 'INCOMPLETE') out.set(obs.ip, r);
  }
  return out;
}

function lossyBursts(nodeChecks: readonly ProbeResult[], nodeOf: (r: ProbeResult) => string): ProbeResult[] {
  const seen = new Set<string>();
  return nodeChecks.filter((r) => {
    if (r.observation.kind !== 'loss' || !isLossy(r.observation) || r.spec.action.tool !== 'packet-loss') return false;
    const node = nodeOf(r);
    if (seen.has(node)) return false;
    seen.add(node);
    return true;
  });
}

function dnsView(
  rung: ProbeResult[],
  failing: (rs: readonly ProbeResult[]) => ProbeResult[],
  failedAs: (f: Failure) => (r: ProbeResult) => boolean,
  passing: (rs: readonly ProbeResult[]) => ProbeResult[],
  cacheAddress: string | undefined,
): DnsView {
  const lookups = rung.filter((r) => r.spec.action.tool === 'dns-lookup');
  const resolvConf = rung.find((r) => r.observation.kind === 'resolv-conf');
  const serverOf = (r: ProbeResult): string | undefined => (r.spec.action.tool === 'dns-lookup' ? r.spec.action.server : undefined);
  const cache = cacheAddress === undefined ? undefined : cacheView(lookups, cacheAddress, serverOf, failing, failedAs, passing);
  const dns = cache?.down ? lookups.filter((r) => !cache.lookups.includes(r)) : lookups;
  const search = dns.filter((r) => serverOf(r) === undefined);
  const direct = dns.filter((r) => serverOf(r) !== undefined);
  const fails = failing(dns);
  const nx = fails.filter(failedAs('name-not-found'));
  const ran = dns.filter((r) => classifyObservation(r.observation) !== 'not-run' && !isDeniedAsPredicted(r));
  const answered = ran.filter((r) => ['resolved', 'nxdomain', 'servfail', 'dns-refused'].includes(r.observation.kind));
  const slow = answered.filter((r) => (r.raw ? (parseDigQueryTime(r.raw) ?? 0) : 0) >= SLOW_LOOKUP_MS);
  const answeredGroups = new Set(answered.map((r) => sampleGroupId(r.spec)));
  const unreachable = fails.filter(failedAs('unreachable'));
  const lostNowAndThen = unreachable.filter((r) => r.observation.kind === 'dns-timeout' && r.spec.sample !== undefined && answeredGroups.has(sampleGroupId(r.spec)));
  return {
    search,
    direct,
    fails,
    closed: fails.filter(failedAs('refused')),
    timeouts: unreachable.filter((r) => !lostNowAndThen.includes(r)),
    ran,
    answered,
    slow,
    intermittent: [...lostNowAndThen, ...slow],
    nx,
    errors: fails.filter(failedAs('server-error')),
    directNx: nx.filter((r) => direct.includes(r)),
    ...(cache ? { cache } : {}),
    ...(resolvConf ? { resolvConf } : {}),
  };
}

/**
 * The lookups through NodeLocal DNSCache and its upstream's: the cache is down when a lookup through it got no answer
 * or an error (an NXDOMAIN the upstream shares is no cache fault) while a DNS pod asked directly answered.
 */
function cacheView(
  lookups: ProbeResult[],
  address: string,
  serverOf: (r: ProbeResult) => string | undefined,
  failing: (rs: readonly ProbeResult[]) => ProbeResult[],
  failedAs: (f: Failure) => (r: ProbeResult) => boolean,
  passing: (rs: readonly ProbeResult[]) => ProbeResult[],
): NonNullable<DnsView['cache']> {
  const through = lookups.filter((r) => serverOf(r) === undefined || serverOf(r) === address);
  const upstream = lookups.filter((r) => !through.includes(r));
  const upstreamAnswers = passing(upstream).length > 0;
  const cacheFails = failing(through).filter((r) => !failedAs('name-not-found')(r) || (serverOf(r) === address && upstreamAnswers));
  return { lookups: through, upstream, down: upstreamAnswers && cacheFails.length > 0 };
}
