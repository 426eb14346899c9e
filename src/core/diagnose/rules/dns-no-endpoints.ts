/**
 * DNS_NO_ENDPOINTS (seed 002: "if the kube-dns service is absent or the endpoints list is empty"): the cluster DNS Service has no ready endpoint, so kube-proxy
 * rejects lookups to it. The API proves it; every failed lookup of the DNS rung is its symptom.
 */
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';
import { fromStatic, staticOf } from './static.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'DNS_NO_ENDPOINTS',
  layer: 'facts',
  find: (ctx) => staticOf(ctx, 'DNS_NO_ENDPOINTS').map((f) => fromStatic(f, { citations: cite('symptom', ctx.dns.fails) })),
};
