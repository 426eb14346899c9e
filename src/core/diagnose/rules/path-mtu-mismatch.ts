/**
 * PATH_MTU_MISMATCH (seed 004, the VXLAN MTU larger than the path carries; seed 000, MTU): from a node, a small
 * don't-fragment ping passed and one the size of its own route's MTU did not, so small handshakes pass and full-size
 * packets vanish. Broken even when every rung passed. On a lossy overlay one lost full-size ping says nothing of its
 * size, so the rule stays silent there. A ping the node's own route refused (Cilium's `mtu 1450` routes on 1500-byte
 * devices: the tunnel's overhead) never left the node, so it says nothing of the path either; nor does one refused at
 * a path MTU the kernel was told that no pod on the node exceeds (pathCarriesPods: senders are told, nothing vanishes).
 */
import { isIPv6 } from '../../address.ts';
import { routeMtuByDesign } from '../../node-checks.ts';
import { pathCarriesPods } from '../describe.ts';
import { IPV6_ICMP_HEADERS } from '../../parse-ipv6.ts';
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'PATH_MTU_MISMATCH',
  layer: 'facts',
  find: (ctx) => {
    if (ctx.lossy.length > 0) return [];
    const seen = new Set<string>();
    return ctx.nodeChecks.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'mtu' || obs.passed || obs.smallPassed !== true || r.spec.action.tool !== 'path-mtu' || routeMtuByDesign(obs, ctx.network) || pathCarriesPods(obs)) return [];
      const node = ctx.nodeOf(r);
      if (seen.has(node)) return [];
      seen.add(node);
      const addr = r.spec.action.address;
      // An IPv6 ping's payload is 48 bytes short of the MTU (IPv6 and ICMPv6 headers), an IPv4 one's 28.
      const v6 = isIPv6(addr);
      const headers = v6 ? IPV6_ICMP_HEADERS : 28;
      const others = ctx.nodeChecks.filter((o) => o !== r && o.observation.kind === 'mtu' && o.observation.passed && o.observation.mtu !== undefined);
      return [
        {
          cause: 'PATH_MTU_MISMATCH',
          status: 'broken',
          node,
          summary: `small packets from node ${node} to ${addr} pass but full-size ones (${obs.size + headers} bytes, the MTU of ${obs.dev ?? 'its interface'}) are dropped: node ${node}'s overlay MTU exceeds what the path carries`,
          citations: [...cite('cause', [r]), ...cite('reference', others)],
          hints: [
            `on node ${node}: ip -o link show ${obs.dev ?? (v6 ? 'flannel-v6.1' : 'flannel.1')}; ip -o link show cni0 (the overlay and pod MTU must be the path MTU minus the encapsulation, 50 bytes for VXLAN)`,
            `compare with the other nodes' MTU, then fix the CNI's MTU setting (e.g. flannel's net-conf.json or calico's veth_mtu) and restart its agent on ${node}`,
            `find the largest size that passes: ping${v6 ? ' -6' : ''} -M do -s SIZE -c 1 ${addr}`,
          ],
        },
      ];
    });
  },
};
