/**
 * NODE_FORWARD_DROP (seed 002: Docker ≥ 1.13 sets the iptables FORWARD policy to DROP; seed 000, forwarding): the
 * node's FORWARD chain drops routed pod traffic. A DROP policy alone is no fault (many hosts accept pod traffic with
 * rules before it: flannel's FLANNEL-FWD, kube-proxy's KUBE-FORWARD, Calico's cali-FORWARD). When the check walked the
 * chain for this flow (both iptables backends), only a walk that ends in DROP names it; a check that read the policy
 * alone, or whose walk passed rules it cannot judge, names a DROP policy. Either way only when a probe got nothing back.
 */
import type { ProbeObservation } from '../../model.ts';
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** The FORWARD fix for one node: accept its own pods' traffic, naming its pod CIDR only when the API gave it. */
function forwardAcceptHint(node: string, podCIDR: string | undefined): string {
  const cidr = podCIDR ?? '<pod CIDR>';
  return `on node ${node}: iptables -P FORWARD ACCEPT, or accept its pods' traffic: iptables -I FORWARD -s ${cidr} -j ACCEPT; iptables -I FORWARD -d ${cidr} -j ACCEPT`;
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
      const save = obs.backend ? `iptables-${obs.backend}` : 'iptables';
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
          hints: [`on node ${node}: ${save} -S FORWARD`, forwardAcceptHint(node, ctx.nodes.find((n) => n.name === node)?.podCIDR)],
          root: true,
        },
      ];
    }),
};
