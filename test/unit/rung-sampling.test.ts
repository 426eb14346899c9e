/** Sampled rungs: success counts and latency per rung, from the tool's own timing (dig) or the exec's wall time. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { summarizeRungs, latencyStats } from '../../src/core/diagnose/rungs.ts';
import type { ProbeObservation, ProbeResult, ProbeSpec } from '../../src/core/model.ts';
import { planLadder } from '../../src/core/plan.ts';
import { buildFacts } from '../cli/fakes.ts';

/** A dig capture from the dns-lossy lab, its query time (16 msec) replaced by `ms`. */
const answered = readFileSync(new URL('./fixtures/dig/lossy-search-answered.txt', import.meta.url), 'utf8').replace(/^# .*\n/gm, '');
const digRaw = (ms: number) => ({ exitCode: 0, stdout: answered.replace('Query time: 16 msec', `Query time: ${ms} msec`), stderr: '' });

const result = (spec: ProbeSpec, observation: ProbeObservation, durationMs: number, raw?: ProbeResult['raw']): ProbeResult => ({ spec, observation, durationMs, ...(raw ? { raw } : {}) });

describe('summarizeRungs on sampled rungs', () => {
  it("counts the DNS rung's successes and takes latency from dig's query time, not the exec", () => {
    const plan = planLadder(buildFacts(), { timeoutMs: 2000, samples: { dns: 10 } });
    const specs = plan.rungs.find((r) => r.rung === 'dns')?.probes ?? [];
    expect(specs.length).toBe(30); // the search path and two DNS pods, 10 times each
    // The first lookup: 3 of its 10 samples time out; the others answer in 1..7 ms (exec wall time 300 ms each).
    const results = specs.map((s, i) =>
      i >= 7 && i < 10 ? result(s, { kind: 'dns-timeout' }, 2000) : result(s, { kind: 'resolved', ips: ['10.96.0.2'] }, 300, digRaw(i < 10 ? i + 1 : 2)),
    );
    const dns = summarizeRungs(results).find((r) => r.id === 'dns');
    expect(dns?.sampling).toEqual({ samples: 10, ran: 30, succeeded: 27, latencyMs: { min: 1, p50: 2, p99: 7, max: 7, source: 'tool' } });
    expect(dns?.status).toBe('failed');
    expect(dns?.summary).toMatch(/^3\/30 failed: .* timed out; 10 samples each: 27\/30 succeeded, latency min\/p50\/p99\/max 1\/2\/7\/7 ms$/);
  });

  it('takes the wall time of TCP probes, and leaves could-not-run samples out of the counts', () => {
    const plan = planLadder(buildFacts(), { timeoutMs: 2000, samples: { tcp: 4 } });
    const specs = plan.rungs.find((r) => r.rung === 'cluster-ip')?.probes ?? [];
    expect(specs).toHaveLength(4);
    const obs: ProbeObservation[] = [{ kind: 'connected' }, { kind: 'connected' }, { kind: 'timeout' }, { kind: 'could-not-run', reason: 'exec failed' }];
    const rung = summarizeRungs(specs.map((s, i) => result(s, obs[i] as ProbeObservation, [12, 30, 2000, 0][i] as number))).find((r) => r.id === 'cluster-ip');
    expect(rung?.sampling).toEqual({ samples: 4, ran: 3, succeeded: 2, latencyMs: { min: 12, p50: 12, p99: 30, max: 30, source: 'exec' } });
  });

  it('gives no latency when nothing succeeded, and no sampling at all on a rung that was not repeated', () => {
    const plan = planLadder(buildFacts(), { timeoutMs: 2000, samples: { dns: 3 } });
    const results = plan.rungs.flatMap((r) => r.probes).map((s) => result(s, s.rung === 'dns' ? { kind: 'dns-timeout' } : { kind: 'connected' }, 5));
    const rungs = summarizeRungs(results);
    expect(rungs.find((r) => r.id === 'dns')?.sampling).toEqual({ samples: 3, ran: 9, succeeded: 0 });
    const clusterIp = rungs.find((r) => r.id === 'cluster-ip');
    expect(clusterIp).not.toHaveProperty('sampling');
    expect(clusterIp?.summary).toBe('1/1 passed');
  });
});

describe('latencyStats', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => ({ ms: 100 - i, source: 'exec' as const }));
    expect(latencyStats(values)).toEqual({ min: 1, p50: 50, p99: 99, max: 100, source: 'exec' });
    expect(latencyStats([{ ms: 4, source: 'tool' }])).toEqual({ min: 4, p50: 4, p99: 4, max: 4, source: 'tool' });
    expect(latencyStats([{ ms: 4, source: 'tool' }, { ms: 9, source: 'exec' }])).toMatchObject({ p50: 4, p99: 9, source: 'mixed' });
    expect(latencyStats([])).toBeUndefined();
  });
});
