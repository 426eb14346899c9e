/**
 * NODE_ROUTE_MISSING (seed 000, routes: "the node has no route to the other nodes' pod subnets"; seed 004): the node's
 * routing table has nothing more specific than its default route for the peer pod's address (or an unreachable route),
 * so it sends that pod traffic nowhere. Proven by `ip route list match` on the node; only the default route matching is
 * a fault only when traffic failed, since some clouds route pod ranges outside the node; on a cloud-routed network
 * (the VPC routes them) it is never one, as the node needs no route of its own to other nodes' pods.
 */
import { isIPv6 } from '../../address.ts';
import { networkTraits } from '../../datapath.ts';
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'NODE_ROUTE_MISSING',
  layer: 'facts',
  find: (ctx) =>
    ctx.nodeChecks.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'route' || obs.present || (obs.error === undefined && (!ctx.symptomatic || !networkTraits(ctx.network).podRoutesOnNodes))) return [];
      const node = ctx.nodeOf(r);
      const addr = r.spec.action.tool === 'route-match' ? r.spec.action.address : '?';
      const toward = r.spec.check === 'route-to-source' ? 'back to the source pod' : 'to the destination pod';
      const v = isIPv6(addr) ? '-6' : '-4';
      const owner = ctx.podCIDROwner(addr);
      const cidr = owner ? `${owner.podCIDR ?? ''}, node ${owner.name}'s pod CIDR` : `the pod CIDR of ${addr}`;
      return [
        {
          cause: 'NODE_ROUTE_MISSING',
          status: 'broken',
          node,
          summary: `node ${node} has no route ${toward} (${addr}): ${obs.error ?? 'only its default route matches'}, so it sends that pod traffic nowhere`,
          citations: cite('cause', [r]),
          hints: [
            `on node ${node}: ip ${v} route list match ${addr}; ip ${v} route show`,
            `restart the CNI agent on ${node} (e.g. delete its flannel or calico-node pod) so it restores its route to ${cidr}`,
          ],
          root: true,
        },
      ];
    }),
};
