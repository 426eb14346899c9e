/**
 * runDiagnosis with a prober that batches: every probe of a location goes to ONE runBatch as soon as the location is
 * ready, each probe still has its own probe-started / probe-finished events, and a probe NetworkPolicy is predicted to
 * deny is not waited on: it is cut off once every other probe has ended.
 */
import { describe, expect, it } from 'vitest';
import { locationKey, type ProbeResult, type ProbeSpec, type RunEvent } from '../../src/core/model.ts';
import type { NetworkPolicy } from '../../src/core/netpol.ts';
import type { TargetRef } from '../../src/core/target.ts';
import type { ClusterFacts } from '../../src/core/facts.ts';
import type { Cluster, ProbeBatch, Prober } from '../../src/ports.ts';
import { runDiagnosis } from '../../src/run.ts';
import { buildFacts, clientPod, createFakeCluster, createFakeProber, healthyAnswer, realClock, webPod, webService } from './fakes.ts';

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

describe('runDiagnosis with a resolution that places the ladder first', () => {
  /**
   * A Cluster whose placement is known before the rest, which waits for `finish`: as the real one's, no DNS pods or
   * Services, no policy facts and no static findings yet.
   */
  function stagedCluster(full: ClusterFacts) {
    let finish: (outcome: ClusterFacts | Error) => void = () => undefined;
    const rest = new Promise<ClusterFacts>((resolve, reject) => (finish = (o) => (o instanceof Error ? reject(o) : resolve(o))));
    const { policy: _policy, ...placed } = full;
    const cluster: Cluster = {
      resolve: () => Object.assign(rest.then((f) => f), { placement: Promise.resolve({ ...placed, dns: { pods: [], readyEndpoints: 0 }, staticFindings: [] }) }),
      apiRequests: () => 1,
    };
    return { cluster, finish };
  }

  it('prepares every location and starts its probes before the rest of resolution answers; the DNS pods add one batch at the source, the full facts mark and cut off the denied probe', async () => {
    const { prober, cutOffs, planned, batches } = batchingProber();
    // The Service web, whose pods shop/web-1 and web-2 onlyFront selects (their labels come with the rest of the facts).
    const backend = (name: string, ip: string, node: string) => ({ namespace: 'shop', name, ip, node, ready: true, labels: { app: 'web' }, hostNetwork: false, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' as const }] });
    const servicePods = [backend('web-1', '10.244.2.7', 'node-2'), backend('web-2', '10.244.1.9', 'node-1')];
    const facts = buildFacts(clientPod, webService, { policy: { policies: [onlyFront], namespaces: { front: { team: 'front' }, shop: {} }, servicePods } });
    const { cluster, finish } = stagedCluster(facts);
    const events: RunEvent[] = [];
    const placedWith: boolean[] = [];
    const run = runDiagnosis({
      runId: 'run-s',
      source: src,
      destination: { kind: 'service', namespace: 'shop', name: 'web', port: { kind: 'name', name: 'http' } },
      cluster,
      makeProber: (f) => {
        placedWith.push(f.policy === undefined);
        return prober;
      },
      opts: { timeoutMs: 2000 },
      emit: (e) => void events.push(e),
      clock: realClock,
    });
    // Wait for the event this needs: the prober made from the placement (its locations are prepared in the same turn).
    const until = Date.now() + 10_000;
    while (placedWith.length === 0 && Date.now() < until) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(placedWith).toEqual([true]);
    const before = new Map([...planned].map(([k, ids]) => [k, [...ids].sort()]));
    expect(before.size).toBeGreaterThan(1);
    expect(events.map((e) => e.type)).toEqual(['run-started']);
    // This fake's locations are ready at once, so each started its batch already: one per location, its planned probes.
    const early = batches.map((b) => [...b].sort());
    expect(early.sort()).toEqual([...before.values()].sort());
    finish(facts);
    const report = await run;
    // Every location the run probed from was prepared before the rest of resolution answered, with the probes it ran
    // there; the source pod ran the DNS pods' lookups (known only now) in one more batch, and nothing else ran twice.
    const byLocation = new Map<string, string[]>();
    for (const e of events) if (e.type === 'probe-started') byLocation.set(locationKey(e.probe.where), [...(byLocation.get(locationKey(e.probe.where)) ?? []), e.probe.id]);
    expect([...before.keys()].sort()).toEqual([...byLocation.keys()].sort());
    for (const [key, ids] of before) if (key !== 'source-pod') expect(ids, key).toEqual([...(byLocation.get(key) ?? [])].sort());
    const later = batches.slice(early.length);
    expect(later).toEqual([(byLocation.get('source-pod') ?? []).filter((id) => !before.get('source-pod')?.includes(id))]);
    expect(later[0]?.length).toBeGreaterThan(0);
    expect(later[0]?.every((id) => /^dns:10\.244\.\d\.3:/.test(id) || id === 'dns:resolv-conf')).toBe(true);
    expect(events.map((e) => e.type).slice(0, 4)).toEqual(['run-started', 'target-resolved', 'target-resolved', 'static-findings']);
    // Planned again from the full facts: the probe NetworkPolicy denies is marked, cut off, and reads as predicted.
    const denied = events.flatMap((e) => (e.type === 'probe-started' && e.probe.deniedBy ? [e.probe.id] : []));
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((id) => id.startsWith('node-origin:'))).toBe(true);
    expect(cutOffs.every((ids) => ids.join() === denied.join())).toBe(true);
    expect(cutOffs.length).toBeGreaterThan(0);
    // The denied probes' results carry the full plan's spec, mark included, though they ran in the early batches.
    const finished = events.flatMap((e) => (e.type === 'probe-finished' && denied.includes(e.result.spec.id) ? [e.result.spec.deniedBy] : []));
    expect(finished.length).toBe(denied.length);
    expect(finished.every((d) => d !== undefined)).toBe(true);
    expect(report.verdict.cause).toBe('HEALTHY');
  });

  it('a resolution that fails after the placement throws its error, and the debug containers made meanwhile are cleaned up', async () => {
    const { prober, base, planned } = batchingProber();
    const facts = buildFacts(clientPod, webPod);
    const { cluster, finish } = stagedCluster(facts);
    const run = runDiagnosis({ runId: 'run-f', source: src, destination: dst, cluster, makeProber: () => prober, opts: { timeoutMs: 2000 }, emit: () => undefined, clock: realClock });
    const until = Date.now() + 10_000;
    while (planned.size === 0 && Date.now() < until) await new Promise((r) => setImmediate(r));
    expect(planned.size).toBeGreaterThan(0);
    finish(new Error('backend pods could not be listed'));
    await expect(run).rejects.toThrow('backend pods could not be listed');
    expect(base.cleanups).toBe(1);
  });
});
