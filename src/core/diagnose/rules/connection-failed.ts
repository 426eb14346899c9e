/**
 * CONNECTION_FAILED (seed 004's starting point, "the pod IP is unreachable" before the hop-by-hop search): the
 * destination did not answer and no check explains why: not the API objects, not the nodes, not the overlay (the pod
 * does not answer on its own node either, or there is no pod IP rung). The probes that could not run are cited, since
 * they are what is left to look at.
 */
import type { DiagnosisContext } from '../context.ts';
import { describeProbeTarget } from '../describe.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite, hasRoot } from '../rule.ts';
import { crossNodeEvidence } from './overlay-blocked.ts';

function find(ctx: DiagnosisContext, prior: readonly RuleFinding[]): RuleFinding[] {
  if (hasRoot(prior)) return [];
  const out: RuleFinding[] = [];
  const { podUnreachable, blocked } = crossNodeEvidence(ctx);
  if (podUnreachable.length > 0 && !blocked) {
    out.push({
      cause: 'CONNECTION_FAILED',
      status: ctx.passing(ctx.rung('pod-ip')).length > 0 ? 'degraded' : 'broken',
      summary: `${podUnreachable.map((r) => describeProbeTarget(r.spec.action)).join(', ')} did not answer and no check found why`,
      citations: [...cite('cause', podUnreachable), ...cite('not-run', ctx.notRun)],
      hints: ['capture on the destination node while re-running: tcpdump -ni any host <pod IP>', 're-run with --keep to inspect the debug pods'],
    });
  }
  const clusterFails = ctx.failing(ctx.rung('cluster-ip'));
  const natMissing = ctx.nodeChecks.some((r) => r.observation.kind === 'nat-rules' && !r.observation.present && ctx.nodeOf(r) === ctx.sourceNode);
  if (clusterFails.length > 0 && ctx.rung('pod-ip').length === 0 && !natMissing) {
    out.push({
      cause: 'CONNECTION_FAILED',
      status: 'broken',
      summary: `the ClusterIP did not answer and no check found why`,
      citations: [...cite('cause', clusterFails), ...cite('not-run', ctx.notRun)],
      hints: ['re-run with --keep to inspect the debug pods'],
    });
  }
  return out;
}

/** The rule. */
export const rule: Rule = { cause: 'CONNECTION_FAILED', layer: 'ladder', find };
