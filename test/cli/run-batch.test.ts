/**
 * runDiagnosis with a prober that batches: every probe of a location goes to ONE runBatch as soon as the location is
 * ready, each probe still has its own probe-started / probe-finished events, and a probe NetworkPolicy is predicted to
 * deny is not waited on: it is cut off once every other probe has ended.
 */
import { describe, expect, it } from 'vitest';
import { locationKey, type ProbeResult, type ProbeSpec, type RunEvent } from '../../src/core/model.ts';
import type { NetworkPolicy } from '../../src/core/netpol.ts';
import type { TargetRef } from '../../src/core/target.ts';
import type { ProbeBatch, Prober } from '../../src/ports.ts';
import { runDiagnosis } from '../../src/run.ts';
import { buildFacts, clientPod, createFakeCluster, createFakeProber, healthyAnswer, realClock, webPod } from './fakes.ts';

const src: TargetRef = { kind: 'pod', namespace: 'front', name: 'client' };
const dst: TargetRef = { kind: 'pod', namespace: 'shop', name: 'web', port: { kind: 'number', number: 8080 } };
/** shop's web pods admit only pods of the front namespace: node-1's own address is denied (see policy-prediction). */
const onlyFront: NetworkPolicy = {
  metadata: { name: 'web-from-front', namespace: 'shop' },
  spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'front' } } }] }] },
};

/** A batching prober: each probe answers healthily at once, except those predicted denied, which hang until cut off. */
function batchingProber() {
  const base = createFakeProber();
  const batches: string[][] = [];
  const cutOffs: string[][] = [];
  const planned = new Map<string, string[]>();
  const prober: Prober = {
    prepare: (l, p) => {
      for (const [key, specs] of p ?? []) planned.set(key, specs.map((s) => s.id));
      return base.prepare(l);
    },
    run: (spec) => base.run(spec),
    cleanup: () => base.cleanup(),
    execs: () => batches.length,
    runBatch(specs: ProbeSpec[]): ProbeBatch {
      batches.push(specs.map((s) => s.id));
      const hanging = new Map<string, (r: ProbeResult) => void>();
      const results = specs.map((spec) =>
        spec.deniedBy
          ? new Promise<ProbeResult>((resolve) => hanging.set(spec.id, resolve))
          : Promise.resolve<ProbeResult>({ spec, observation: healthyAnswer(spec), durationMs: 1 }),
      );
      return {
        results,
        cutOff(ids) {
          cutOffs.push([...ids]);
          for (const spec of specs) if (ids.includes(spec.id)) hanging.get(spec.id)?.({ spec, observation: { kind: 'timeout' }, durationMs: 2 });
        },
      };
    },
  };
  return { prober, base, batches, cutOffs, planned };
}

describe('runDiagnosis with a batching prober', () => {
  it('one batch per location, each probe with its own events, and predicted-denied probes cut off, not waited on', async () => {
    const { prober, base, batches, cutOffs, planned } = batchingProber();
    const events: RunEvent[] = [];
    const facts = buildFacts(clientPod, webPod, { policy: { policies: [onlyFront], namespaces: { front: { team: 'front' }, shop: {} }, servicePods: [] } });
    const report = await runDiagnosis({
      runId: 'run-b',
      source: src,
      destination: dst,
      cluster: createFakeCluster(facts),
      makeProber: () => prober,
      opts: { timeoutMs: 2000 },
      emit: (e) => void events.push(e),
      clock: realClock,
    });
    expect(report.verdict.cause).toBe('HEALTHY');
    // Nothing went through the one-probe path, and each location got exactly one batch holding all its probes.
    expect(base.log.filter((l) => l.startsWith('run '))).toEqual([]);
    const started = events.flatMap((e) => (e.type === 'probe-started' ? [e.probe] : []));
    const byLocation = new Map<string, string[]>();
    for (const p of started) byLocation.set(locationKey(p.where), [...(byLocation.get(locationKey(p.where)) ?? []), p.id]);
    expect(batches.map((b) => [...b].sort()).sort()).toEqual([...byLocation.values()].map((ids) => [...ids].sort()).sort());
    expect(report.stats.execs).toBe(byLocation.size);
    // Each location was prepared with the probes its batch then ran (a node pod starts them with its container).
    expect(new Map([...planned].map(([k, ids]) => [k, [...ids].sort()]))).toEqual(new Map([...byLocation].map(([k, ids]) => [k, [...ids].sort()])));
    // Per probe: started, then finished, exactly once each.
    for (const p of started) {
      const s = events.findIndex((e) => e.type === 'probe-started' && e.probe.id === p.id);
      const f = events.findIndex((e) => e.type === 'probe-finished' && e.result.spec.id === p.id);
      expect(f, p.id).toBeGreaterThan(s);
      expect(events.filter((e) => e.type === 'probe-finished' && e.result.spec.id === p.id)).toHaveLength(1);
    }
    // The denied probe hung until cut off, once the others had ended; it reads as denied, as predicted.
    const denied = started.filter((p) => p.deniedBy).map((p) => p.id);
    expect(denied).toEqual(['node-origin:node-1:10.244.2.7:8080']);
    expect(cutOffs.length).toBeGreaterThan(0);
    expect(cutOffs.every((ids) => ids.join() === denied.join())).toBe(true);
    const nodeOrigin = report.rungs.find((r) => r.id === 'node-origin');
    expect(nodeOrigin?.summary).toMatch(/1 denied by NetworkPolicy shop\/web-from-front, as predicted/);
  });
});
