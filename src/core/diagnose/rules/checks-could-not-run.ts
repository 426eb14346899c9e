/**
 * CHECKS_COULD_NOT_RUN: no rule found a fault, but the user's own path was never exercised: its probes could not run
 * (exec or ephemeral containers forbidden, the image not pulled) or were not planned. Inconclusive, never healthy:
 * the cited probes that could not run are what to fix first.
 */
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';
import { foundProblem, primaryRung } from './conclusion.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'CHECKS_COULD_NOT_RUN',
  layer: 'conclusion',
  find: (ctx, prior) => {
    const { id, result } = primaryRung(ctx);
    if (foundProblem(prior) || result?.status === 'passed') return [];
    const why = result?.status === 'skipped' ? 'were not run' : result?.summary.startsWith('could not run: ') ? result.summary : 'could not run';
    return [
      {
        cause: 'CHECKS_COULD_NOT_RUN',
        status: 'inconclusive',
        summary: `could not diagnose: the ${id} probes ${why}`,
        ...(ctx.notRun.length > 0 ? {} : { facts: [`${id}: ${result?.summary ?? 'no probes'}`] }),
        citations: cite('not-run', ctx.notRun),
        hints: [
          'kubectl auth can-i patch pods --subresource=ephemeralcontainers',
          'kubectl auth can-i create pods --subresource=exec',
          'check that the --image can be pulled on the nodes',
        ],
      },
    ];
  },
};
