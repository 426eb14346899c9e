/**
 * Runs one diagnosis: resolve the targets, plan the ladder, prepare the probe locations and run the probes concurrently
 * through the injected Prober, decide the verdict, and emit every step as a RunEvent. Always cleans up the Prober: after
 * the verdict is shown (so a slow delete never holds the answer back) and before the final stats, or on any error.
 */
import { buildReport, EXIT_DEBUG_PODS_LEFT, exitCodeForVerdict, locationKey, type ProbeResult, type ProbeSpec, type Report, type RunEvent, type RungId, type RungResult } from './core/model.ts';
import { formatTarget, type TargetRef } from './core/target.ts';
import { decideVerdict } from './core/diagnose/index.ts';
import { summarizeRungs } from './core/diagnose/rungs.ts';
import { confirmOnNodes, detectFromApi, type Datapath } from './core/datapath.ts';
import type { ClusterFacts } from './core/facts.ts';
import { planLadder, type LadderPlan, type RungPlan } from './core/plan.ts';
import type { CleanupReport, Cluster, LocationStatus, Prober } from './ports.ts';

/** A swappable time source (milliseconds since the epoch). */
export interface Clock {
  now(): number;
}

/** Options of one run, already typed by the CLI layer. */
export interface RunOptions {
  /** Per-probe timeout. */
  timeoutMs: number;
  /** Endpoint sample size (default 3). */
  maxEndpoints?: number;
  /** The namespace node debug pods go to (--node-namespace), for NetworkPolicy predictions; default the source's. */
  debugNamespace?: string;
}

/** Everything a run needs, injected. */
export interface RunInput {
  runId: string;
  source: TargetRef;
  destination: TargetRef;
  cluster: Cluster;
  /** Builds the prober once the facts and the plan are known (the adapter needs the source pod, nodes and probes). */
  makeProber: (facts: ClusterFacts, plan: LadderPlan) => Prober;
  opts: RunOptions;
  /** Receives every event in order; awaited, so a slow reporter slows the run rather than reordering it. */
  emit: (e: RunEvent) => void | Promise<void>;
  clock: Clock;
}

/**
 * Runs the diagnosis and returns the Report; throws (NetdebugError) only when the targets cannot be resolved.
 * Locations are prepared concurrently and each probe starts as soon as its location is ready.
 */
export async function runDiagnosis(input: RunInput): Promise<Report> {
  const { cluster, clock, opts } = input;
  const started = clock.now();
  // Events from concurrent probes are serialised so an async emit never interleaves or reorders them.
  let chain: Promise<void> = Promise.resolve();
  const emit = (e: RunEvent): Promise<void> => {
    chain = chain.then(() => input.emit(e));
    return chain;
  };

  await emit({
    type: 'run-started',
    runId: input.runId,
    startedAt: new Date(started).toISOString(),
    source: formatTarget(input.source),
    destination: formatTarget(input.destination),
  });
  const facts = await cluster.resolve(input.source, input.destination);
  await emit({ type: 'target-resolved', role: 'source', target: facts.targets.source });
  await emit({ type: 'target-resolved', role: 'destination', target: facts.targets.destination });
  await emit({ type: 'static-findings', findings: facts.staticFindings });

  const plan = planLadder(facts, {
    timeoutMs: opts.timeoutMs,
    ...(opts.maxEndpoints !== undefined ? { maxEndpoints: opts.maxEndpoints } : {}),
    ...(opts.debugNamespace !== undefined ? { debugPods: { namespace: opts.debugNamespace } } : {}),
  });
  const prober = input.makeProber(facts, plan);
  const rungResults = new Map<RungId, RungResult>();
  let observations: ProbeResult[] = [];
  let nodeChecks: ProbeResult[] = [];
  let datapath: Datapath | undefined;
  let cleanup: Promise<CleanupReport | void> | undefined;
  const cleanupOnce = (): Promise<CleanupReport | void> => (cleanup ??= prober.cleanup());
  try {
    const ready = new Map<string, Promise<LocationStatus>>();
    for (const where of plan.locations) {
      const key = locationKey(where);
      ready.set(
        key,
        prober.prepare([where]).then(
          (m) => m.get(key) ?? { ready: false, reason: 'the prober did not report on this location' },
          (err: unknown) => ({ ready: false, reason: `could not prepare: ${err instanceof Error ? err.message : String(err)}` }),
        ),
      );
    }

    const runProbe = async (spec: ProbeSpec): Promise<ProbeResult> => {
      const status = (await ready.get(locationKey(spec.where))) ?? { ready: false, reason: 'location was not planned' };
      await emit({ type: 'probe-started', probe: spec });
      let result: ProbeResult;
      if (!status.ready) {
        result = { spec, observation: { kind: 'could-not-run', reason: status.reason }, durationMs: 0 };
      } else {
        const t0 = clock.now();
        try {
          result = await prober.run(spec);
        } catch (err) {
          result = { spec, observation: { kind: 'could-not-run', reason: err instanceof Error ? err.message : String(err) }, durationMs: clock.now() - t0 };
        }
      }
      await emit({ type: 'probe-finished', result });
      return result;
    };

    const runRung = async (rung: RungPlan): Promise<ProbeResult[]> => {
      const t0 = clock.now();
      await emit({ type: 'rung-started', rung: rung.rung });
      const results = await Promise.all(rung.probes.map(runProbe));
      const summary = finishRung(summarizeRungs(results).find((r) => r.id === rung.rung) as RungResult, rung, clock.now() - t0);
      rungResults.set(rung.rung, summary);
      await emit({ type: 'rung-finished', rung: summary });
      return results;
    };

    const checksThenDatapath = Promise.all(plan.nodeChecks.map(runProbe)).then(async (checks) => {
      datapath = detectDatapath(facts, checks);
      await emit({ type: 'datapath-detected', datapath });
      return checks;
    });
    const [ladder, checks] = await Promise.all([Promise.all(plan.rungs.map(runRung)), checksThenDatapath]);
    observations = ladder.flat();
    nodeChecks = checks;

    const decided = decideVerdict({ targets: facts.targets, staticFindings: facts.staticFindings, observations, nodeChecks, nodes: facts.nodes });
    const rungs = decided.rungs.map((r) => rungResults.get(r.id) ?? r);
    await emit({ type: 'verdict-decided', verdict: decided.verdict, findings: decided.findings });
    // The verdict is out; now delete the debug pods, so the stats below count those requests too.
    const cleaned = await cleanupOnce();
    const report = buildReport({
      targets: facts.targets,
      rungs,
      findings: decided.findings,
      verdict: decided.verdict,
      stats: { wallMs: clock.now() - started, apiRequests: cluster.apiRequests(), execs: prober.execs() },
      ...(datapath ? { datapath } : {}),
    });
    const exitCode = cleaned && cleaned.left.length > 0 ? EXIT_DEBUG_PODS_LEFT : exitCodeForVerdict(decided.verdict);
    await emit({ type: 'run-finished', report, exitCode });
    return report;
  } finally {
    await cleanupOnce();
  }
}

/** The datapath from what the API showed, confirmed by the interfaces the nodes' `links` checks listed. */
function detectDatapath(facts: ClusterFacts, checks: readonly ProbeResult[]): Datapath {
  const api = detectFromApi(facts.datapath ?? { daemonSets: [], unreadable: [] });
  const nodes = checks.flatMap((r) =>
    r.spec.check === 'links' && r.observation.kind === 'links' && r.spec.where.kind === 'node-pod' ? [{ node: r.spec.where.node, links: r.observation.links }] : [],
  );
  return confirmOnNodes(api, nodes);
}

/** Puts the planner's skip reason and the measured wall time into a rung's summary. */
function finishRung(result: RungResult, plan: RungPlan, wallMs: number): RungResult {
  if (plan.skipReason !== undefined) return { ...result, status: 'skipped', durationMs: 0, summary: plan.skipReason };
  return { ...result, durationMs: wallMs };
}
