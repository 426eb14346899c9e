/**
 * NODE_FORWARD_DROP (seed 002: Docker ≥ 1.13 sets the iptables FORWARD policy to DROP; seed 000, forwarding): the
 * node's FORWARD chain drops routed pod traffic. A DROP policy alone is no fault (many hosts accept pod traffic with
 * rules before it: flannel's FLANNEL-FWD, kube-proxy's KUBE-FORWARD, Calico's cali-FORWARD). When the check walked the
 * chain for this flow (both iptables backends), only a walk that ends in DROP names it; a check that read the policy
 * alone, or whose walk passed rules it cannot judge, names a DROP policy, unless a probe of the flow got through that
 * node's chain, or through another node's chain the walk read exactly as this one. Either way only when a probe got
 * nothing back.
 */
import { isIPv6 } from '../../address.ts';
import type { ProbeObservation, ProbeResult } from '../../model.ts';
import type { DiagnosisContext } from '../context.ts';
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** The FORWARD fix for one node: accept its own pods' traffic, naming its pod CIDR only when the API gave it. */
function forwardAcceptHint(node: string, podCIDR: string | undefined, tool = 'iptables'): string {
  const cidr = podCIDR ?? (tool === 'ip6tables' ? '<IPv6 pod CIDR>' : '<pod CIDR>');
  return `on node ${node}: ${tool} -P FORWARD ACCEPT, or accept its pods' traffic: ${tool} -I FORWARD -s ${cidr} -j ACCEPT; ${tool} -I FORWARD -d ${cidr} -j ACCEPT`;
}

/** Whether the check shows the FORWARD chain dropping the flow. */
function drops(obs: Extract<ProbeObservation, { kind: 'forward-policy' }>): boolean {
  return obs.verdict === 'drop' || ((obs.verdict === undefined || obs.verdict === 'unsure') && obs.policy === 'DROP');
}

/**
 * Whether a probe of this flow from the source pod got through node's FORWARD chain: any connection from it crossed its
 * own node's chain, and a connection to a pod crossed that pod's node's. A walk unsure of its DROP ending (rules it
 * cannot judge, as Calico's interface and mark matches) is refuted on such a node: those rules accept the flow.
 */
function flowCrossed(ctx: DiagnosisContext, node: string): boolean {
  if (ctx.targets.source.kind !== 'pod' || ctx.targets.source.hostNetwork) return false;
  return ctx.passing([...ctx.rung('pod-ip'), ...ctx.rung('cluster-ip')]).some((r) => {
    if (r.spec.where.kind !== 'source-pod') return false;
    if (node === ctx.sourceNode) return true;
    if (r.spec.rung !== 'pod-ip' || r.spec.action.tool !== 'tcp-connect') return false;
    return nodeOfPod(ctx, r.spec.action.host) === node;
  });
}

/**
 * Whether another node's FORWARD walk for this flow read exactly as this one (the same policy, deciding rule and rules
 * it could not judge) while a probe of the flow got through that node's chain: the same rules accept the flow here too,
 * so an unsure ending is no fault of this node's chain (the fault is further on: a route, a neighbor entry, the path).
 * A node whose chain lost its accept rules reads differently, and stays NODE_FORWARD_DROP.
 */
function readsLikeACrossedNode(ctx: DiagnosisContext, r: ProbeResult): boolean {
  const obs = r.observation;
  if (obs.kind !== 'forward-policy' || obs.unjudged === undefined) return false;
  const key = JSON.stringify([obs.policy, obs.backend, obs.decidedBy, obs.unjudged]);
  return ctx.nodeChecks.some((o) => {
    const other = o.observation;
    if (o === r || other.kind !== 'forward-policy' || other.verdict !== 'unsure' || ctx.nodeOf(o) === ctx.nodeOf(r)) return false;
    return JSON.stringify([other.policy, other.backend, other.decidedBy, other.unjudged]) === key && flowCrossed(ctx, ctx.nodeOf(o));
  });
}

/** The node a destination pod IP runs on: its endpoint's (or the pod's) node, else the owner of its pod CIDR. */
function nodeOfPod(ctx: DiagnosisContext, ip: string): string | undefined {
  const d = ctx.targets.destination;
  const known = d.kind === 'service' ? d.endpoints.find((e) => e.ip === ip)?.node : d.kind === 'pod' && d.ip === ip ? d.node : undefined;
  return known ?? ctx.podCIDROwner(ip)?.name;
}

/** The rule. */
export const rule: Rule = {
  cause: 'NODE_FORWARD_DROP',
  layer: 'facts',
  find: (ctx) =>
    ctx.nodeChecks.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'forward-policy' || !drops(obs) || !ctx.dataFailures.some(ctx.failedAs('unreachable'))) return [];
      const node = ctx.nodeOf(r);
      if (obs.verdict === 'unsure' && (flowCrossed(ctx, node) || readsLikeACrossedNode(ctx, r))) return [];
      // A walk of IPv6 addresses read ip6tables' chain (IP6TABLES_BOTH_SCRIPT): the fix is made there too.
      const v6 = r.spec.action.tool === 'forward-policy' && r.spec.action.flow !== undefined && isIPv6(r.spec.action.flow.from);
      const tool = v6 ? 'ip6tables' : 'iptables';
      const save = obs.backend ? `${tool}-${obs.backend}` : tool;
      return [
        {
          cause: 'NODE_FORWARD_DROP',
          status: 'broken',
          node,
          summary:
            obs.verdict === 'drop' && obs.decidedBy !== undefined && !obs.decidedBy.startsWith('-P ')
              ? `the FORWARD chain on node ${node} drops pod traffic (${obs.decidedBy})`
              : obs.verdict === 'drop'
                ? `the FORWARD chain on node ${node} drops pod traffic (policy ${obs.policy}, and no rule accepts this flow before it)`
                : `the FORWARD chain on node ${node} drops pod traffic (policy DROP)`,
          citations: cite('cause', [r]),
          hints: [`on node ${node}: ${save} -S FORWARD`, forwardAcceptHint(node, v6 ? undefined : ctx.nodes.find((n) => n.name === node)?.podCIDR, tool)],
          root: true,
        },
      ];
    }),
};
