/** Rung summaries: each rung of the ladder as passed, failed, skipped or error, from its probes' observations. Pure. */
import { RUNG_IDS, type ProbeResult, type RungResult } from '../model.ts';
import { classifyObservation, describeObservation, describeProbeLocation, describeProbeTarget } from './describe.ts';

/** Summarises the probes of each rung into a RungResult (error = none of its probes could run). */
export function summarizeRungs(observations: ProbeResult[]): RungResult[] {
  return RUNG_IDS.map((id) => {
    const probes = observations.filter((r) => r.spec.rung === id);
    const outcomes = probes.map((p) => classifyObservation(p.observation));
    const ran = outcomes.filter((o) => o !== 'not-run').length;
    const failed = outcomes.filter((o) => o === 'fail').length;
    const status = probes.length === 0 ? 'skipped' : ran === 0 ? 'error' : failed > 0 ? 'failed' : 'passed';
    const first = probes.find((p) => classifyObservation(p.observation) === (status === 'failed' ? 'fail' : status === 'error' ? 'not-run' : 'ok'));
    const summary =
      status === 'skipped'
        ? 'not applicable'
        : status === 'error'
          ? `could not run: ${first ? describeObservation(first.observation, first.spec.action).replace(/^could not run: /, '') : 'unknown'}`
          : status === 'failed'
            ? `${failed}/${probes.length} failed: ${first ? `${describeProbeTarget(first.spec.action)} ${describeObservation(first.observation, first.spec.action)}` : ''}`
            : `${ran}/${probes.length} passed`;
    return {
      id,
      status,
      durationMs: Math.max(0, ...probes.map((p) => p.durationMs)),
      summary,
      probes: probes.map((p) => ({
        id: p.spec.id,
        target: describeProbeTarget(p.spec.action),
        where: describeProbeLocation(p.spec.where),
        observation: p.observation,
        durationMs: p.durationMs,
      })),
    };
  });
}
