/** Rung summaries: each rung of the ladder as passed, failed, skipped or error, from its probes' observations. Pure. */
import { RUNG_IDS, type LatencyStats, type ProbeResult, type RungProbe, type RungResult, type RungSampling, type RungStatus } from '../model.ts';
import { parseDigQueryTime } from '../parse.ts';
import { answeredInIPv6 } from '../families.ts';
import { isDeniedAsPredicted } from './context.ts';
import { classifyObservation, describeObservation, describeProbeLocation, describeProbeTarget } from './describe.ts';

/** The policies named by the probes NetworkPolicy denied as predicted, e.g. `shop/web-allow-shop-only`. */
function deniedPolicies(denied: readonly ProbeResult[]): string {
  return [...new Set(denied.flatMap((r) => r.spec.deniedBy ?? []))].join(', ') || 'a NetworkPolicy';
}

/** A rung's status and summary from its probes; probes denied as predicted are counted apart, never as failures. */
function judgeRung(probes: readonly ProbeResult[], inIPv6: ReadonlySet<string> = new Set()): { status: RungStatus; summary: string } {
  const denied = probes.filter(isDeniedAsPredicted);
  const counted = probes.filter((p) => !denied.includes(p));
  const deniedNote = denied.length === 0 ? '' : `; ${denied.length} denied by NetworkPolicy ${deniedPolicies(denied)}, as predicted`;
  if (probes.length === 0) return { status: 'skipped', summary: 'not applicable' };
  if (counted.length === 0) return { status: 'skipped', summary: `denied by NetworkPolicy ${deniedPolicies(denied)}, as predicted (${denied.length} probe${denied.length === 1 ? '' : 's'})` };
  // An empty A answer of a name that has IPv6 addresses alone (answeredInIPv6) is no failure.
  const outcomeOf = (p: ProbeResult) => (inIPv6.has(p.spec.id) ? 'ok' : classifyObservation(p.observation));
  const outcomes = counted.map(outcomeOf);
  const ran = outcomes.filter((o) => o !== 'not-run').length;
  const failed = outcomes.filter((o) => o === 'fail').length;
  const status: RungStatus = ran === 0 ? 'error' : failed > 0 ? 'failed' : 'passed';
  const first = counted.find((p) => outcomeOf(p) === (status === 'failed' ? 'fail' : status === 'error' ? 'not-run' : 'ok'));
  const summary =
    status === 'error'
      ? `could not run: ${first ? describeObservation(first.observation, first.spec.action).replace(/^could not run: /, '') : 'unknown'}`
      : status === 'failed'
        ? `${failed}/${counted.length} failed: ${first ? `${describeProbeTarget(first.spec.action)} ${describeObservation(first.observation, first.spec.action)}` : ''}`
        : `${ran}/${counted.length} passed`;
  return { status, summary: `${summary}${deniedNote}` };
}

/**
 * How long a probe that succeeded took: the tool's own timing when it printed one (dig's query time), else the wall time
 * of its exec.
 */
export function probeLatency(r: ProbeResult): { ms: number; source: 'tool' | 'exec' } {
  const tool = r.spec.action.tool === 'dns-lookup' && r.raw ? parseDigQueryTime(r.raw) : undefined;
  return tool !== undefined ? { ms: tool, source: 'tool' } : { ms: r.durationMs, source: 'exec' };
}

/** Nearest-rank percentiles of the latencies (undefined for none). */
export function latencyStats(values: ReadonlyArray<{ ms: number; source: 'tool' | 'exec' }>): LatencyStats | undefined {
  if (values.length === 0) return undefined;
  const sorted = values.map((v) => v.ms).sort((a, b) => a - b);
  const rank = (q: number): number => sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1] as number;
  const sources = new Set(values.map((v) => v.source));
  return { min: sorted[0] as number, p50: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1] as number, source: sources.size > 1 ? 'mixed' : (values[0] as { source: 'tool' | 'exec' }).source };
}

/** Success counts and latency of a rung whose probes were repeated; undefined when none was. */
function sampleRung(probes: readonly ProbeResult[]): RungSampling | undefined {
  const samples = Math.max(0, ...probes.map((p) => p.spec.sample?.of ?? 0));
  if (samples < 2) return undefined;
  // The samples are the repeated probes: a read that is no lookup or connection (the resolv.conf read) is not one.
  const counted = probes.filter((p) => p.spec.action.tool !== 'resolv-conf' && !isDeniedAsPredicted(p) && classifyObservation(p.observation) !== 'not-run');
  const ok = counted.filter((p) => classifyObservation(p.observation) === 'ok');
  const latencyMs = latencyStats(ok.map(probeLatency));
  return { samples, ran: counted.length, succeeded: ok.length, ...(latencyMs ? { latencyMs } : {}) };
}

/** The words a sampled rung's summary ends with, e.g. `; 5 samples each: 38/40 succeeded, latency min/p50/p99/max 0/1/3/4 ms`. */
function describeSampling(s: RungSampling): string {
  const l = s.latencyMs;
  const latency = l ? `, latency min/p50/p99/max ${[l.min, l.p50, l.p99, l.max].map(formatMs).join('/')} ms` : '';
  return `; ${s.samples} samples each: ${s.succeeded}/${s.ran} succeeded${latency}`;
}

function formatMs(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms.toFixed(1);
}

/** Summarises the probes of each rung into a RungResult (error = none of its probes could run). */
export function summarizeRungs(observations: ProbeResult[]): RungResult[] {
  const inIPv6 = answeredInIPv6(observations);
  return RUNG_IDS.map((id) => {
    const probes = observations.filter((r) => r.spec.rung === id);
    const judged = judgeRung(probes, inIPv6);
    const sampling = sampleRung(probes);
    return {
      id,
      ...(sampling ? { ...judged, summary: `${judged.summary}${describeSampling(sampling)}` } : judged),
      durationMs: Math.max(0, ...probes.map((p) => p.durationMs)),
      probes: probes.map(toRungProbe),
      ...(sampling ? { sampling } : {}),
    };
  });
}

/** A probe result as the Report shows it (its node check named for node checks, its repeat command when known). */
export function toRungProbe(p: ProbeResult): RungProbe {
  return {
    id: p.spec.id,
    target: describeProbeTarget(p.spec.action),
    where: describeProbeLocation(p.spec.where),
    observation: p.observation,
    durationMs: p.durationMs,
    ...(p.spec.deniedBy ? { deniedBy: p.spec.deniedBy } : {}),
    ...(p.spec.family ? { family: p.spec.family } : {}),
    ...(p.spec.rung === 'node-checks' && p.spec.check ? { check: p.spec.check } : {}),
    ...(p.repeat ? { repeat: p.repeat } : {}),
  };
}
