/** What the conclusion rules share: whether any fault was found, and the rung the user's path depends on. */
import { hasClusterIP, type RungId } from '../../model.ts';
import type { DiagnosisContext } from '../context.ts';
import type { RuleFinding } from '../rule.ts';
import { summarizeRungs } from '../rungs.ts';

/** Whether an earlier finding names a fault (broken or degraded). */
export function foundProblem(prior: readonly RuleFinding[]): boolean {
  return prior.some((f) => f.status === 'broken' || f.status === 'degraded');
}

/** The rung that exercises the user's own path (the ClusterIP of a Service that has one, else the destination's own addresses). */
export function primaryRung(ctx: DiagnosisContext) {
  const dest = ctx.targets.destination;
  // A headless Service has no ClusterIP: its clients connect to the pod addresses DNS gives them.
  const id: RungId = dest.kind === 'service' && hasClusterIP(dest) ? 'cluster-ip' : 'pod-ip';
  return { id, result: summarizeRungs(ctx.rung(id)).find((r) => r.id === id) };
}
