/**
 * NODE_BRIDGE_NF_DISABLED (seed 000, "net.bridge.bridge-nf-call-iptables"): with bridge netfilter off, pod traffic that
 * crosses the node's bridge skips iptables, so Service NAT is not undone on replies between pods of one node. Proven by
 * the sysctl reading 0; broken when traffic failed, degraded (a same-node Service backend will fail) when it did not.
 */
import { BRIDGE_NF_IP6TABLES } from '../../plan.ts';
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

const BRIDGE_NF_IPTABLES = 'net.bridge.bridge-nf-call-iptables';

/** The rule. */
export const rule: Rule = {
  cause: 'NODE_BRIDGE_NF_DISABLED',
  layer: 'facts',
  find: (ctx) =>
    ctx.nodeChecks.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'sysctl' || (obs.key !== BRIDGE_NF_IPTABLES && obs.key !== BRIDGE_NF_IP6TABLES) || obs.value !== '0') return [];
      const node = ctx.nodeOf(r);
      const failed = ctx.dataFailures.length > 0;
      // Its IPv6 twin (bridge-nf-call-ip6tables) lets bridged IPv6 traffic skip ip6tables alone.
      const v6 = obs.key === BRIDGE_NF_IP6TABLES;
      return [
        {
          cause: 'NODE_BRIDGE_NF_DISABLED',
          status: failed ? 'broken' : 'degraded',
          node,
          summary: `bridged ${v6 ? 'IPv6 ' : ''}pod traffic bypasses ${v6 ? 'ip6tables' : 'iptables'} on node ${node}, so Service NAT is not applied to it${failed ? '' : ': a pod reaching a Service whose backend is on its own node will fail'}`,
          citations: cite('cause', [r]),
          hints: [`on node ${node}: modprobe br_netfilter && sysctl -w ${obs.key}=1`],
          root: true,
        },
      ];
    }),
};
