/**
 * NODE_IP_FORWARD_DISABLED (seed 000, "Traffic forwarding and bridging": net.ipv4.ip_forward reset to 0): a node with
 * IP forwarding off drops every packet it should route between its pods and the rest of the cluster. Proven by the
 * node's own sysctl reading 0; it stops traffic by itself, so the ladder's timeouts are its symptoms.
 */
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'NODE_IP_FORWARD_DISABLED',
  layer: 'facts',
  find: (ctx) =>
    ctx.nodeChecks.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'sysctl' || obs.key !== 'net.ipv4.ip_forward' || obs.value !== '0') return [];
      const node = ctx.nodeOf(r);
      return [
        {
          cause: 'NODE_IP_FORWARD_DISABLED',
          status: 'broken',
          node,
          summary: `IP forwarding is off on node ${node}: it drops every packet it should route to or from its pods`,
          citations: cite('cause', [r]),
          hints: [
            `on node ${node}: sysctl -w net.ipv4.ip_forward=1`,
            `make it persistent on ${node}: echo net.ipv4.ip_forward=1 > /etc/sysctl.d/90-ip-forward.conf (a file of its own, so nothing else is overwritten)`,
          ],
          root: true,
        },
      ];
    }),
};
