/**
 * CHECKS_COULD_NOT_RUN: no rule found a fault, but the user's own path was never exercised: its probes could not run
 * (exec or ephemeral containers forbidden, the image not pulled) or were not planned. Inconclusive, never healthy:
 * the cited probes that could not run are what to fix first.
 */
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';
import { foundProblem, primaryRung } from './conclusion.ts';
import { WINDOWS_OS_LABEL } from '../../privilege.ts';
import type { DiagnosisContext } from '../context.ts';

/** What to do instead when the source pod is on a Windows node (netdebug's Linux container cannot run in it). */
function windowsSourceHints(ctx: DiagnosisContext): string[] | undefined {
  const s = ctx.targets.source;
  const refused = ctx.notRun.some((r) => r.spec.where.kind === 'source-pod' && r.observation.kind === 'could-not-run' && r.observation.reason.includes(WINDOWS_OS_LABEL));
  if (!refused || s.kind !== 'pod') return undefined;
  return [
    `from the Windows pod itself: kubectl exec -n ${s.namespace} ${s.name} -- powershell -Command "Test-NetConnection <address> -Port <port>"`,
    `or run netdebug from a pod on a Linux node to the same destination (its node checks cover the Linux side)`,
  ];
}

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
        hints: windowsSourceHints(ctx) ?? [
          'kubectl auth can-i patch pods --subresource=ephemeralcontainers',
          'kubectl auth can-i create pods --subresource=exec',
          'check that the --image can be pulled on the nodes',
        ],
      },
    ];
  },
};
