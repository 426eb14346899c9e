/**
 * NODE_IP_FORWARD_DISABLED (seed 000, "Traffic forwarding and bridging": net.ipv4.ip_forward reset to 0): a node with
 * IP forwarding off drops every packet it should route between its pods and the rest of the cluster. Proven by the
 * node's own sysctl reading 0; it stops traffic by itself, so the ladder's timeouts are its symptoms.
 */
import { IPV6_FORWARDING } from '../../plan.ts';
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'NODE_IP_FORWARD_DISABLED',
  layer: 'facts',
  find: (ctx) =>
    ctx.nodeChecks.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'sysctl' || (obs.key !== 'net.ipv4.ip_forward' && obs.key !== IPV6_FORWARDING) || obs.value !== '0') return [];
      const node = ctx.nodeOf(r);
      // Its IPv6 twin (net.ipv6.conf.all.forwarding) stops the node's IPv6 pod traffic alone.
      if (obs.key === IPV6_FORWARDING) {
        return [
          {
            cause: 'NODE_IP_FORWARD_DISABLED',
            status: 'broken',
            node,
            summary: `IPv6 forwarding is off on node ${node} (${IPV6_FORWARDING} = 0): it drops every IPv6 packet it should route to or from its pods`,
            citations: cite('cause', [r]),
            hints: [
              `on node ${node}: sysctl -w ${IPV6_FORWARDING}=1`,
              `make it persistent on ${node}: echo ${IPV6_FORWARDING}=1 > /etc/sysctl.d/90-ipv6-forward.conf (a file of its own, so nothing else is overwritten)`,
            ],
            root: true,
          },
        ];
      }
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
