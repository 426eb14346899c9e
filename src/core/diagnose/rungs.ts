/** Rung summaries: each rung of the ladder as passed, failed, skipped or error, from its probes' observations. Pure. */
import { RUNG_IDS, type ProbeResult, type RungResult, type RungStatus } from '../model.ts';
import { isDeniedAsPredicted } from './context.ts';
import { classifyObservation, describeObservation, describeProbeLocation, describeProbeTarget } from './describe.ts';

/** The policies named by the probes NetworkPolicy denied as predicted, e.g. `shop/web-allow-shop-only`. */
function deniedPolicies(denied: readonly ProbeResult[]): string {
  return [...new Set(denied.flatMap((r) => r.spec.deniedBy ?? []))].join(', ') || 'a NetworkPolicy';
}

/** A rung's status and summary from its probes; probes denied as predicted are counted apart, never as failures. */
function judgeRung(probes: readonly ProbeResult[]): { status: RungStatus; summary: string } {
  const denied = probes.filter(isDeniedAsPredicted);
  const counted = probes.filter((p) => !denied.includes(p));
  const deniedNote = denied.length === 0 ? '' : `; ${denied.length} denied by NetworkPolicy ${deniedPolicies(denied)}, as predicted`;
  if (probes.length === 0) return { status: 'skipped', summary: 'not applicable' };
  if (counted.length === 0) return { status: 'skipped', summary: `denied by NetworkPolicy ${deniedPolicies(denied)}, as predicted (${denied.length} probe${denied.length === 1 ? '' : 's'})` };
  const outcomes = counted.map((p) => classifyObservation(p.observation));
  const ran = outcomes.filter((o) => o !== 'not-run').length;
  const failed = outcomes.filter((o) => o === 'fail').length;
  const status: RungStatus = ran === 0 ? 'error' : failed > 0 ? 'failed' : 'passed';
  const first = counted.find((p) => classifyObservation(p.observation) === (status === 'failed' ? 'fail' : status === 'error' ? 'not-run' : 'ok'));
  const summary =
    status === 'error'
      ? `could not run: ${first ? describeObservation(first.observation, first.spec.action).replace(/^could not run: /, '') : 'unknown'}`
      : status === 'failed'
        ? `${failed}/${counted.length} failed: ${first ? `${describeProbeTarget(first.spec.action)} ${describeObservation(first.observation, first.spec.action)}` : ''}`
        : `${ran}/${counted.length} passed`;
  return { status, summary: `${summary}${deniedNote}` };
}

/** Summarises the probes of each rung into a RungResult (error = none of its probes could run). */
export function summarizeRungs(observations: ProbeResult[]): RungResult[] {
  return RUNG_IDS.map((id) => {
    const probes = observations.filter((r) => r.spec.rung === id);
    return {
      id,
      ...judgeRung(probes),
      durationMs: Math.max(0, ...probes.map((p) => p.durationMs)),
      probes: probes.map((p) => ({
        id: p.spec.id,
        target: describeProbeTarget(p.spec.action),
        where: describeProbeLocation(p.spec.where),
        observation: p.observation,
        durationMs: p.durationMs,
        ...(p.spec.deniedBy ? { deniedBy: p.spec.deniedBy } : {}),
      })),
    };
  });
}
