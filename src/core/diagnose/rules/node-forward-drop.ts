/**
 * NODE_FORWARD_DROP (seed 002: Docker ≥ 1.13 sets the iptables FORWARD policy to DROP; seed 000, forwarding): the
 * node's FORWARD chain drops routed pod traffic. A DROP policy alone is no fault (many hosts accept pod traffic with
 * rules before it), so it is named only when a probe got nothing back.
 */
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** The FORWARD fix for one node: accept its own pods' traffic, naming its pod CIDR only when the API gave it. */
function forwardAcceptHint(node: string, podCIDR: string | undefined): string {
  const cidr = podCIDR ?? '<pod CIDR>';
  return `on node ${node}: iptables -P FORWARD ACCEPT, or accept its pods' traffic: iptables -I FORWARD -s ${cidr} -j ACCEPT; iptables -I FORWARD -d ${cidr} -j ACCEPT`;
}

/** The rule. */
export const rule: Rule = {
  cause: 'NODE_FORWARD_DROP',
  layer: 'facts',
  find: (ctx) =>
    ctx.nodeChecks.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'forward-policy' || obs.policy !== 'DROP' || !ctx.dataFailures.some(ctx.failedAs('unreachable'))) return [];
      const node = ctx.nodeOf(r);
      return [
        {
          cause: 'NODE_FORWARD_DROP',
          status: 'broken',
          node,
          summary: `the FORWARD chain on node ${node} drops pod traffic (policy DROP)`,
          citations: cite('cause', [r]),
          hints: [`on node ${node}: iptables -S FORWARD`, forwardAcceptHint(node, ctx.nodes.find((n) => n.name === node)?.podCIDR)],
          root: true,
        },
      ];
    }),
};
