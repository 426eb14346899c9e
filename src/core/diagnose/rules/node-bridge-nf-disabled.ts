/**
 * NODE_BRIDGE_NF_DISABLED (seed 000, "net.bridge.bridge-nf-call-iptables"): with bridge netfilter off, pod traffic that
 * crosses the node's bridge skips iptables, so Service NAT is not undone on replies between pods of one node. Proven by
 * the sysctl reading 0; broken when traffic failed, degraded (a same-node Service backend will fail) when it did not.
 */
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'NODE_BRIDGE_NF_DISABLED',
  layer: 'facts',
  find: (ctx) =>
    ctx.nodeChecks.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'sysctl' || obs.key !== 'net.bridge.bridge-nf-call-iptables' || obs.value !== '0') return [];
      const node = ctx.nodeOf(r);
      const failed = ctx.dataFailures.length > 0;
      return [
        {
          cause: 'NODE_BRIDGE_NF_DISABLED',
          status: failed ? 'broken' : 'degraded',
          node,
          summary: `bridged pod traffic bypasses iptables on node ${node}, so Service NAT is not applied to it${failed ? '' : ': a pod reaching a Service whose backend is on its own node will fail'}`,
          citations: cite('cause', [r]),
          hints: [`on node ${node}: modprobe br_netfilter && sysctl -w net.bridge.bridge-nf-call-iptables=1`],
          root: true,
        },
      ];
    }),
};
