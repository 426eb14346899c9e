/**
 * HEALTHY: no rule found a fault and the user's own path was exercised and answered (the ClusterIP rung for a Service,
 * the direct rung otherwise). Cites every probe that passed, and the ones that could not run, so the reader sees what
 * the claim rests on and what it does not cover; the summary counts exactly what passed, failed off the user's path,
 * was denied by NetworkPolicy as predicted, or could not run.
 */
import { describeDestination, describeEvidence } from '../describe.ts';
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';
import { foundProblem, primaryRung } from './conclusion.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'HEALTHY',
  layer: 'conclusion',
  find: (ctx, prior) => {
    if (foundProblem(prior) || primaryRung(ctx).result?.status !== 'passed') return [];
    const ladder = ctx.all.filter((r) => r.spec.rung !== 'node-checks');
    const failed = ctx.failing(ladder);
    const denied = ctx.deniedAsPredicted.filter((r) => r.spec.rung !== 'node-checks');
    const count = (n: number, what: string): string => `${n} probe${n === 1 ? '' : 's'} ${what}`;
    const parts = [
      count(ctx.passing(ladder).length, 'passed'),
      ...(failed.length > 0 ? [`${count(failed.length, 'failed')} off the user's path (${failed.map(describeEvidence).join('; ')})`] : []),
      ...(denied.length > 0 ? [`${count(denied.length, 'of its own')} denied by NetworkPolicy, as predicted`] : []),
      ...(ctx.notRun.length > 0 ? [`${ctx.notRun.length} check${ctx.notRun.length === 1 ? '' : 's'} could not run`] : []),
    ];
    return [
      {
        cause: 'HEALTHY',
        status: 'healthy',
        summary: `${describeDestination(ctx.targets)} is reachable from the source: ${parts.join(', ')}`,
        citations: [...cite('reference', ctx.passing(ctx.all.filter((r) => r.spec.rung !== 'node-checks'))), ...cite('not-run', ctx.notRun)],
        hints: [],
      },
    ];
  },
};
