/**
 * HEALTHY: no rule found a fault and the user's own path was exercised and answered (the ClusterIP rung for a Service,
 * the direct rung otherwise). Cites every probe that passed, and the ones that could not run, so the reader sees what
 * the claim rests on and what it does not cover.
 */
import { describeDestination } from '../describe.ts';
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';
import { foundProblem, primaryRung } from './conclusion.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'HEALTHY',
  layer: 'conclusion',
  find: (ctx, prior) => {
    if (foundProblem(prior) || primaryRung(ctx).result?.status !== 'passed') return [];
    return [
      {
        cause: 'HEALTHY',
        status: 'healthy',
        summary: `${describeDestination(ctx.targets)} is reachable from the source; every check that ran passed`,
        citations: [...cite('reference', ctx.passing(ctx.all.filter((r) => r.spec.rung !== 'node-checks'))), ...cite('not-run', ctx.notRun)],
        hints: [],
      },
    ];
  },
};
