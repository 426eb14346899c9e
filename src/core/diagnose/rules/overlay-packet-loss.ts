/**
 * OVERLAY_PACKET_LOSS (seed 003, packet loss simulated on the overlay; seed 000, packet loss): a bounded burst of pings
 * from a node across the overlay gets some answers but loses a real share (a flaky link, an overloaded tunnel, a rate
 * limit). Connections mostly succeed after retransmits, slowly, so it is degraded, and it explains the handshakes that
 * timed out.
 */
import { isIPv6 } from '../../address.ts';
import { lossPercent } from '../describe.ts';
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'OVERLAY_PACKET_LOSS',
  layer: 'facts',
  find: (ctx) =>
    ctx.lossy.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'loss' || r.spec.action.tool !== 'packet-loss') return [];
      const node = ctx.nodeOf(r);
      const addr = r.spec.action.address;
      const owner = ctx.podCIDROwner(addr);
      const between = `node ${node} and ${owner ? `node ${owner.name}` : addr}`;
      // IPv6 pod traffic crosses flannel's IPv6 tunnel (flannel-v6.1, VXLAN between the nodes' IPv6 addresses).
      const v6 = isIPv6(addr);
      const [tunnel, tables] = v6 ? ['flannel-v6.1', 'ip6tables'] : ['flannel.1', 'iptables'];
      return [
        {
          cause: 'OVERLAY_PACKET_LOSS',
          status: 'degraded',
          node,
          summary: `the overlay between ${between} loses ${lossPercent(obs)}% of packets: connections succeed only after retransmits, slowly and sometimes not at all`,
          citations: cite('cause', [r]),
          hints: [
            `on both nodes: ip -s link show ${tunnel}; ip -s link show eth0 (errors and drops on the overlay and the underlay)`,
            `on both nodes: ${tables} -S INPUT; tc qdisc show (a rule or a queue that drops the overlay's packets, e.g. VXLAN on UDP 8472)`,
            `measure again: ping -c 100 -i 0.01 ${addr} from node ${node}`,
          ],
          root: true,
        },
      ];
    }),
};

