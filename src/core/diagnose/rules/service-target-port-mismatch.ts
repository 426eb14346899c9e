/**
 * SERVICE_TARGET_PORT_MISMATCH (seed 002: "whether the Pod's containerPort corresponds to the Service's"): the Service sends its port to a targetPort that no
 * selected pod declares, so connections through the Service are refused at the pods. Pods may serve ports they do not
 * declare: when a probe connected, the connection is the proof and the missing declaration is only a note (healthy).
 */
import type { Rule } from '../rule.ts';
import { fromStatic, staticOf } from './static.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'SERVICE_TARGET_PORT_MISMATCH',
  layer: 'facts',
  find: (ctx) =>
    staticOf(ctx, 'SERVICE_TARGET_PORT_MISMATCH').map((f) =>
      ctx.connectedAnywhere
        ? fromStatic(f, { status: 'healthy', summary: `${f.summary}, but the pods answer on it: declare it as a containerPort to document it` })
        : fromStatic(f, { root: f.status === 'broken' }),
    ),
};
