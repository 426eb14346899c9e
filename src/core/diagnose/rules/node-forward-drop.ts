/**
 * NODE_FORWARD_DROP (seed 002: Docker ≥ 1.13 sets the iptables FORWARD policy to DROP; seed 000, forwarding): the
 * node's FORWARD chain drops routed pod traffic. A DROP policy alone is no fault (many hosts accept pod traffic with
 * rules before it: flannel's FLANNEL-FWD, kube-proxy's KUBE-FORWARD, Calico's cali-FORWARD). When the check walked the
 * chain for this flow (both iptables backends), only a walk that ends in DROP names it; a check that read the policy
 * alone, or whose walk passed rules it cannot judge, names a DROP policy. Either way only when a probe got nothing back.
 */
import { isIPv6 } from '../../address.ts';
import type { ProbeObservation } from '../../model.ts';
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

/** The rule. */
export const rule: Rule = {
  cause: 'NODE_FORWARD_DROP',
  layer: 'facts',
  find: (ctx) =>
    ctx.nodeChecks.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'forward-policy' || !drops(obs) || !ctx.dataFailures.some(ctx.failedAs('unreachable'))) return [];
      const node = ctx.nodeOf(r);
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
