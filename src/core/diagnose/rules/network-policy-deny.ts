/**
 * NETWORK_POLICY_DENY (seed 001, "Is there a Network Policy blocking the connection?"; seed 002, network policy exceptions): the policy engine (core/netpol.ts)
 * predicts that the NetworkPolicies selecting the destination (ingress) or the source (egress) deny this connection.
 * The prediction stands unless a probe connected anyway: then the CNI plugin does not enforce NetworkPolicy, which is
 * worth knowing but is no outage (degraded).
 */
import type { Rule } from '../rule.ts';
import { fromStatic, staticOf } from './static.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'NETWORK_POLICY_DENY',
  layer: 'facts',
  find: (ctx) =>
    staticOf(ctx, 'NETWORK_POLICY_DENY').map((f) =>
      ctx.connectedAnywhere
        ? fromStatic(f, { status: 'degraded', summary: `${f.summary}, yet the connection succeeded: the CNI plugin does not seem to enforce NetworkPolicy` })
        : fromStatic(f, { root: f.status === 'broken' }),
    ),
};
