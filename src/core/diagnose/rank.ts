/**
 * The one ordering of findings. The verdict is the first finding; it never depends on the order rules ran in.
 *
 * 1. Status: broken, then degraded, then inconclusive, then healthy (among healthy ones HEALTHY itself first, so a
 *    note never stands as the verdict).
 * 2. Cause, by CAUSE_RANK: more specific and more upstream first.
 *
 * | rank | causes | why here |
 * |---|---|---|
 * | 1-4 | SERVICE_NO_ENDPOINTS, SERVICE_NO_READY_ENDPOINTS, SERVICE_TARGET_PORT_MISMATCH, DESTINATION_NOT_READY | the API objects themselves say traffic cannot arrive: nothing below them can be the answer |
 * | 5 | SERVICE_NO_LOCAL_ENDPOINTS | the API says the Service (internalTrafficPolicy Local) has ready endpoints, none on the source's node: narrower than a Service with none at all, and it explains the ClusterIP's failures before any node setting |
 * | 6 | NODE_NOT_READY | a whole node down explains everything on it |
 * | 7-12 | NODE_IP_FORWARD_DISABLED, NODE_FORWARD_DROP, NODE_BRIDGE_NF_DISABLED, NODE_ROUTE_MISSING, NODE_NEIGHBOR_STALE, NODE_HAIRPIN_DISABLED | a node setting read on the node: a definite misconfiguration, upstream of every timeout |
 * | 13 | NETWORK_POLICY_DENY | a prediction from the API, proven only by the timeouts it explains |
 * | 14 | SERVICE_PROXY_RULES_MISSING | the ClusterIP fails while the pods answer: a narrower fault than the node's own settings |
 * | 15 | DESTINATION_NOT_LISTENING | the packet arrived and was refused: the application |
 * | 16-17 | OVERLAY_BLOCKED, UNDERLAY_BLOCKED | the path between nodes (the tunnel, or the network between the nodes where there is none), named when the nodes' own checks are clean; one network has one or the other, never both |
 * | 18-19 | OVERLAY_PACKET_LOSS, PATH_MTU_MISMATCH | the path between nodes, degraded rather than blocked |
 * | 20 | NODE_LOCAL_DNS_DOWN | name resolution, the narrowest DNS fault: one node's cache fails while the cluster DNS behind it answers, so no DNS fault below can be the answer |
 * | 21-24 | DNS_NO_ENDPOINTS, DNS_SERVER_UNRESPONSIVE, DNS_SERVER_FAILURE, DNS_NAME_NOT_FOUND | name resolution: downstream of a network that fails for everything |
 * | 25 | DNS_INTERMITTENT_TIMEOUT | lookups lost now and then while the server answers the rest: the narrowest DNS fault, named after every DNS fault that fails lookups outright |
 * | 26 | CONNECTION_FAILED | a failure nothing explains |
 * | 27 | CHECKS_COULD_NOT_RUN | could not look |
 * | 28 | HEALTHY | nothing found |
 *
 * 3. Ties (two findings of one cause, e.g. on two nodes): the one whose evidence the ladder met first (the position of
 *    its first cited probe in the run's plan), then by node, object and summary, so equal inputs give equal output
 *    whatever order the rules ran in.
 */
import type { Cause, FindingStatus } from '../model.ts';
import { compareText } from '../compare.ts';

/** Causes in root-cause order (see the table above). */
export const CAUSE_RANK: readonly Cause[] = [
  'SERVICE_NO_ENDPOINTS',
  'SERVICE_NO_READY_ENDPOINTS',
  'SERVICE_TARGET_PORT_MISMATCH',
  'DESTINATION_NOT_READY',
  'SERVICE_NO_LOCAL_ENDPOINTS',
  'NODE_NOT_READY',
  'NODE_IP_FORWARD_DISABLED',
  'NODE_FORWARD_DROP',
  'NODE_BRIDGE_NF_DISABLED',
  'NODE_ROUTE_MISSING',
  'NODE_NEIGHBOR_STALE',
  'NODE_HAIRPIN_DISABLED',
  'NETWORK_POLICY_DENY',
  'SERVICE_PROXY_RULES_MISSING',
  'DESTINATION_NOT_LISTENING',
  'OVERLAY_BLOCKED',
  'UNDERLAY_BLOCKED',
  'OVERLAY_PACKET_LOSS',
  'PATH_MTU_MISMATCH',
  'NODE_LOCAL_DNS_DOWN',
  'DNS_NO_ENDPOINTS',
  'DNS_SERVER_UNRESPONSIVE',
  'DNS_SERVER_FAILURE',
  'DNS_NAME_NOT_FOUND',
  'DNS_INTERMITTENT_TIMEOUT',
  'CONNECTION_FAILED',
  'CHECKS_COULD_NOT_RUN',
  'HEALTHY',
];

const STATUS_RANK: Record<FindingStatus, number> = { broken: 0, degraded: 1, inconclusive: 2, healthy: 3 };

/** What ranking reads of a finding. */
export interface Rankable {
  status: FindingStatus;
  cause: Cause;
  node?: string;
  object?: string;
  summary: string;
  citations?: ReadonlyArray<{ probe: string; role: string }>;
}

/** Where each probe stands in the run's plan (its index), for breaking ties; unknown probes come last. */
export type ProbeOrder = (probeId: string) => number;

/** The position of a finding's first cited cause in the plan (Infinity when it cites none). */
function firstCause(f: Rankable, order: ProbeOrder): number {
  return Math.min(Infinity, ...(f.citations ?? []).filter((c) => c.role === 'cause').map((c) => order(c.probe)));
}

/** Compares two findings by the ordering above (negative: `a` ranks first). */
export function compareFindings(a: Rankable, b: Rankable, order: ProbeOrder = () => Infinity): number {
  return (
    STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
    Number(b.cause === 'HEALTHY') - Number(a.cause === 'HEALTHY') ||
    CAUSE_RANK.indexOf(a.cause) - CAUSE_RANK.indexOf(b.cause) ||
    Math.sign(firstCause(a, order) - firstCause(b, order)) ||
    compareText(a.node ?? '', b.node ?? '') ||
    compareText(a.object ?? '', b.object ?? '') ||
    compareText(a.summary, b.summary)
  );
}

/** Sorts findings by the ordering above (a new array; the first is the verdict). */
export function rankFindings<F extends Rankable>(findings: readonly F[], order?: ProbeOrder): F[] {
  return [...findings].sort((a, b) => compareFindings(a, b, order));
}

/** Says why `other` ranks below `verdict`, in a few words. */
export function whyBelow(verdict: Rankable, other: Rankable): string {
  if (STATUS_RANK[other.status] > STATUS_RANK[verdict.status]) return `${other.status}, while ${verdict.cause} is ${verdict.status}`;
  if (other.cause === verdict.cause) return `the same cause on another ${other.node !== verdict.node ? 'node' : 'object'}`;
  return `${verdict.cause} is more specific or further upstream`;
}
