/**
 * Runs one diagnosis: resolve the targets, plan the ladder, prepare the probe locations and run the probes concurrently
 * through the injected Prober, decide the verdict, and emit every step as a RunEvent. Always cleans up the Prober: after
 * the verdict is shown (so a slow delete never holds the answer back) and before the final stats, or on any error.
 */
import { buildReport, EXIT_DEBUG_PODS_LEFT, exitCodeForVerdict, locationKey, type ProbeLocation, type ProbeResult, type ProbeSpec, type Report, type RunEvent, type RungId, type RungResult } from './core/model.ts';
import { formatTarget, type TargetRef } from './core/target.ts';
import type { IPFamily } from './core/address.ts';
import { decideVerdictByFamily } from './core/diagnose/families.ts';
import { aaaaFallbackLookups, chooseFamilies, dnsLookupsForFamilies } from './core/families.ts';
import { confirmFromChecks, confirmOnNodes, detectFromApi, type Datapath } from './core/datapath.ts';
import { describeDnsResolution, identifyDns, planDnsLookups, withClusterDomain, type DnsResolution } from './core/dns.ts';
import type { ClusterFacts } from './core/facts.ts';
import { planLadder, repeatSamples, type LadderPlan, type RungPlan } from './core/plan.ts';
import { natWithoutExec } from './core/parse-proxy.ts';
import { repeatCommand, type RepeatSettings } from './core/repeat-command.ts';
import { summarizeRungs, toRungProbe } from './core/diagnose/rungs.ts';
import type { CleanupReport, Cluster, LocationStatus, ProbeBatch, Prober } from './ports.ts';
import type { TraceReport } from './core/trace-analysis.ts';
import { isUncertain, withTrace } from './core/trace-select.ts';
import { runTrace } from './trace-run.ts';

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
  /** How many times the DNS rung's lookups and the TCP rungs' probes run (default 1 each); see PlanOptions.samples. */
  samples?: { dns: number; tcp: number };
  /** The namespace node debug pods go to (--node-namespace), for NetworkPolicy predictions; default the source's. */
  debugNamespace?: string;
  /** `--family`: run the ladder for this address family alone (absent: every family the destination has). */
  family?: IPFamily;
  /** What the commands that repeat each probe by hand need (connection flags, image, --keep); absent: no commands. */
  repeat?: RepeatSettings;
  /** The hop-by-hop trace: `always` (--trace), `auto` (default: when the verdict is uncertain), or `never`. */
  trace?: 'always' | 'auto' | 'never';
  /** Where the trace saves one pcap per hop (--capture-dir). */
  captureDir?: string;
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
  // The debug containers are made as soon as what places them is known (resolving.placement): the targets, their nodes
  // and the datapath. The rest (the DNS pods the source pod's DNS rung asks, a Service's backend pods, policies, namespace
  // labels) is still being read meanwhile, and the ladder is planned again from all of it below.
  const resolving = cluster.resolve(input.source, input.destination);
  resolving.catch(() => undefined);
  const placing = await (resolving.placement ?? resolving);
  // The families the ladder runs for: the destination's (a dual-stack one has two), or --family's alone.
  const families = chooseFamilies(placing.targets, opts.family);
  const planOptions = {
    families,
    timeoutMs: opts.timeoutMs,
    ...(opts.maxEndpoints !== undefined ? { maxEndpoints: opts.maxEndpoints } : {}),
    ...(opts.samples !== undefined ? { samples: opts.samples } : {}),
    ...(opts.debugNamespace !== undefined ? { debugPods: { namespace: opts.debugNamespace } } : {}),
  };
  const placingPlan = planLadder(placing, planOptions);
  const prober = input.makeProber(placing, placingPlan);
  const rungResults = new Map<RungId, RungResult>();
  let observations: ProbeResult[] = [];
  let nodeChecks: ProbeResult[] = [];
  let datapath: Datapath | undefined;
  let cleanup: Promise<CleanupReport | void> | undefined;
  const cleanupOnce = (): Promise<CleanupReport | void> => (cleanup ??= prober.cleanup());
  let dns: DnsResolution | undefined;
  let targets = placing.targets;
  // Settled once the source's resolv.conf was read (or could not be), so the datapath can name the DNS found.
  let dnsSettled: () => void = () => undefined;
  const dnsKnown = new Promise<void>((resolve) => (dnsSettled = resolve));
  try {
    // Each location is prepared with the probes its first batch will run (a prober may start them with it).
    const ready = new Map<string, Promise<LocationStatus>>();
    /** A location's preparation: the one started for it, or one started now (a location only the full plan or the trace has). */
    const readyAt = (where: ProbeLocation, group?: readonly ProbeSpec[]): Promise<LocationStatus> => {
      const key = locationKey(where);
      let p = ready.get(key);
      if (!p) {
        p = prober.prepare([where], group ? new Map([[key, group]]) : undefined).then(
          (m) => m.get(key) ?? { ready: false, reason: 'the prober did not report on this location' },
          (err: unknown) => ({ ready: false, reason: `could not prepare: ${err instanceof Error ? err.message : String(err)}` }),
        );
        ready.set(key, p);
      }
      return p;
    };
    const outcomes = new Map<string, Promise<ProbeResult>>();
    const batches: ProbeBatch[] = [];
    const runAlone = async (spec: ProbeSpec): Promise<ProbeResult> => {
      const t0 = clock.now();
      try {
        return await prober.run(spec);
      } catch (err) {
        return { spec, observation: { kind: 'could-not-run', reason: err instanceof Error ? err.message : String(err) }, durationMs: clock.now() - t0 };
      }
    };
    /** Starts probes once their location is ready, one batch (one exec) per location; their outcomes replace any earlier. */
    const start = (specs: readonly ProbeSpec[]): void => {
      for (const [key, group] of groupByLocation(specs)) {
        const started = (ready.get(key) ?? Promise.resolve<LocationStatus>({ ready: false, reason: 'location was not planned' })).then((status) => {
          if (!status.ready) return group.map((spec) => Promise.resolve<ProbeResult>({ spec, observation: { kind: 'could-not-run', reason: status.reason }, durationMs: 0 }));
          if (!prober.runBatch) return group.map(runAlone);
          const batch = prober.runBatch(group);
          batches.push(batch);
          return batch.results;
        });
        group.forEach((spec, i) => outcomes.set(spec.id, started.then((results) => results[i] as Promise<ProbeResult>)));
      }
    };
    // A location ready before the rest of the facts (the netdebug container an earlier run left in the source pod) starts
    // the probes the placement planned for it at once; what the full plan adds or changes there runs in one more batch.
    let replanned = false;
    const startedEarly = new Map<string, string>();
    const placingBatches = groupByLocation(execSpecs(placingPlan));
    for (const where of placingPlan.locations) {
      const group = placingBatches.get(locationKey(where));
      void readyAt(where, group).then((status) => {
        if (replanned || !status.ready || !group) return;
        for (const spec of group) startedEarly.set(spec.id, spec.command.join('\0'));
        start(group);
      });
    }

    const facts = await resolving;
    await emit({ type: 'target-resolved', role: 'source', target: facts.targets.source });
    await emit({ type: 'target-resolved', role: 'destination', target: facts.targets.destination });
    await emit({ type: 'static-findings', findings: facts.staticFindings });
    // The same locations, and the same probes at the node pods (the prober reads those their containers started with),
    // as placingPlan's; now with the DNS pods' lookups and the probes NetworkPolicy is predicted to deny marked.
    const plan = facts === placing ? placingPlan : planLadder(facts, planOptions);
    replanned = true;
    targets = facts.targets;
    for (const spec of plannedSpecs(plan)) {
      const answered = withoutExec(spec);
      if (answered) outcomes.set(spec.id, Promise.resolve({ spec, observation: answered, durationMs: 0 }));
    }
    const allSpecs = execSpecs(plan);
    const batchesAt = groupByLocation(allSpecs);
    for (const where of plan.locations) readyAt(where, batchesAt.get(locationKey(where)));
    // A probe started early with the same command keeps its outcome, reported with this plan's spec (its NetworkPolicy
    // mark); the rest start now.
    const fresh: ProbeSpec[] = [];
    for (const spec of allSpecs) {
      const early = startedEarly.get(spec.id) === spec.command.join('\0') ? outcomes.get(spec.id) : undefined;
      if (early) outcomes.set(spec.id, early.then((r) => ({ ...r, spec })));
      else fresh.push(spec);
    }
    start(fresh);
    // A probe NetworkPolicy is predicted to deny is not waited on: once every other probe has ended, those still
    // running are cut off (a dropped connection would only run out its timeout, and its failure is expected anyway).
    const denied = allSpecs.filter((s) => s.deniedBy !== undefined).map((s) => s.id);
    if (denied.length > 0) {
      void Promise.all(allSpecs.filter((s) => s.deniedBy === undefined).map((s) => outcomes.get(s.id))).then(() => {
        for (const b of batches) b.cutOff(denied);
      });
    }

    /** The result with the command that repeats its probe by hand, when its location says which container it ran in. */
    const withRepeat = (result: ProbeResult, status: LocationStatus | undefined): ProbeResult => {
      const exec = status?.ready ? prober.execTarget?.(result.spec.where) : undefined;
      if (!exec || !opts.repeat || result.observation.kind === 'not-inspectable') return result;
      return { ...result, repeat: repeatCommand(result.spec.where, exec, result.spec.command, opts.repeat) };
    };

    const runProbe = async (spec: ProbeSpec): Promise<ProbeResult> => {
      const status = await ready.get(locationKey(spec.where));
      await emit({ type: 'probe-started', probe: spec });
      if (!outcomes.has(spec.id)) start([spec]);
      const result = withRepeat(await (outcomes.get(spec.id) as Promise<ProbeResult>), status);
      await emit({ type: 'probe-finished', result });
      return result;
    };

    /**
     * The DNS rung reads the source's resolv.conf first and plans its lookups from it; when it cannot be read, the
     * lookups the API alone suggests run instead.
     */
    const dnsProbes = async (rung: RungPlan): Promise<ProbeResult[]> => {
      const discovery = plan.dnsDiscovery;
      if (rung.rung !== 'dns' || !discovery) return Promise.all(rung.probes.map(runProbe));
      const reading = runProbe(discovery);
      // The lookup through the search path needs nothing from resolv.conf: it starts at once, beside the read.
      const early = new Map(rung.probes.filter((p) => p.action.tool === 'dns-lookup' && p.action.server === undefined).map((p) => [p.id, { spec: p, result: runProbe(p) }]));
      const conf = await reading;
      const obs = conf.observation;
      if (obs.kind === 'resolv-conf') {
        const { kind: _kind, ...read } = obs;
        dns = identifyDns(facts, read);
        targets = withClusterDomain(facts.targets, dns.domain);
      }
      dnsSettled();
      // The lookups resolv.conf calls for, sampled as the planner sampled the rung (--samples).
      const perLookup = rung.probes[0]?.sample?.of ?? 1;
      const replanned = dns ? planDnsLookups(facts, dns, { timeoutMs: opts.timeoutMs, ...(opts.maxEndpoints !== undefined ? { maxEndpoints: opts.maxEndpoints } : {}) }) : undefined;
      const probes = replanned ? repeatSamples({ rung: 'dns', probes: dnsLookupsForFamilies(replanned, families, opts.timeoutMs) }, perLookup).probes : rung.probes;
      // The lookups the API predicted already ran in the source's batch; those resolv.conf changed run in one more.
      const predicted = new Map(rung.probes.map((p) => [p.id, p.command.join('\0')]));
      const same = (p: ProbeSpec): boolean => predicted.get(p.id) === p.command.join('\0');
      start(probes.filter((p) => !same(p)));
      const results = probes.map((p) => {
        const started = early.get(p.id);
        return started && same(p) ? started.result : runProbe(p);
      });
      return [conf, ...(await Promise.all(results))];
    };

    /** A host name tested in no chosen family whose A lookups came back empty is asked AAAA too (aaaaFallbackLookups). */
    const withAaaa = async (results: ProbeResult[]): Promise<ProbeResult[]> => {
      const twins = aaaaFallbackLookups(facts.targets.destination, families, results, opts.timeoutMs);
      if (twins.length === 0) return results;
      start(twins);
      return [...results, ...(await Promise.all(twins.map(runProbe)))];
    };

    const runRung = async (rung: RungPlan): Promise<ProbeResult[]> => {
      const t0 = clock.now();
      await emit({ type: 'rung-started', rung: rung.rung });
      const results = rung.rung === 'dns' ? await withAaaa(await dnsProbes(rung)) : await dnsProbes(rung);
      const summary = finishRung(summarizeRungs(results).find((r) => r.id === rung.rung) as RungResult, rung, clock.now() - t0);
      rungResults.set(rung.rung, summary);
      await emit({ type: 'rung-finished', rung: summary });
      return results;
    };

    if (!plan.dnsDiscovery || plan.rungs.some((r) => r.rung === 'dns' && r.skipReason !== undefined)) dnsSettled();
    const checksThenDatapath = Promise.all(plan.nodeChecks.map(runProbe)).then(async (checks) => {
      await dnsKnown;
      datapath = withDns(detectDatapath(facts, checks), dns, plan.dnsDiscovery !== undefined);
      await emit({ type: 'datapath-detected', datapath });
      return checks;
    });
    const [ladder, checks] = await Promise.all([Promise.all(plan.rungs.map(runRung)), checksThenDatapath]);
    observations = ladder.flat();
    nodeChecks = checks;

    const decided = decideVerdictByFamily(
      { targets, staticFindings: facts.staticFindings, observations, nodeChecks, nodes: facts.nodes, ...(dns ? { dns } : {}), ...(datapath ? { network: datapath.network } : {}) },
      families,
    );
    const rungs = decided.rungs.map((r) => rungResults.get(r.id) ?? r);
    // The hop-by-hop trace: asked for, or because the verdict is not certain; its localization explains such a verdict.
    const traceMode = opts.trace ?? 'auto';
    let trace: TraceReport | undefined;
    if (traceMode === 'always' || (traceMode === 'auto' && isUncertain(decided.verdict))) {
      // A trace that fails for a reason of its own (a bug, an answer it cannot read) never costs the run its verdict.
      trace = await runTrace({
        facts,
        datapath,
        observations,
        nodeChecks,
        verdict: decided.verdict,
        prober,
        ready: (where) => readyAt(where),
        reason: traceMode === 'always' ? 'asked' : 'uncertain-verdict',
        // Only a trace asked for adds a debug container to the destination pod.
        destinationPod: traceMode === 'always',
        ...(opts.captureDir !== undefined ? { captureDir: opts.captureDir } : {}),
        now: () => clock.now(),
        onStart: (probe, hops) => emit({ type: 'trace-started', probe, hops }),
      }).catch(() => undefined);
      if (trace) await emit({ type: 'trace-finished', trace });
    }
    if (trace) {
      const verdict = withTrace(decided.verdict, trace);
      decided.findings = decided.findings.map((f) => (f === decided.verdict ? verdict : f));
      decided.verdict = verdict;
    }
    await emit({ type: 'verdict-decided', verdict: decided.verdict, findings: decided.findings });
    // The verdict is out; now delete the debug pods, so the stats below count those requests too.
    const cleaned = await cleanupOnce();
    const report = buildReport({
      targets,
      rungs,
      findings: decided.findings,
      verdict: decided.verdict,
      stats: { wallMs: clock.now() - started, apiRequests: cluster.apiRequests(), execs: prober.execs() },
      ...(datapath ? { datapath } : {}),
      families,
      nodeChecks: nodeChecks.map(toRungProbe),
      ...(trace ? { trace } : {}),
    });
    const exitCode = cleaned && cleaned.left.length > 0 ? EXIT_DEBUG_PODS_LEFT : exitCodeForVerdict(decided.verdict);
    await emit({ type: 'run-finished', report, exitCode });
    return report;
  } finally {
    dnsSettled();
    await cleanupOnce();
  }
}

/** A check nothing on the node can answer (Cilium's Service map) is answered without an exec: what to run instead. */
function withoutExec(spec: ProbeSpec): ReturnType<typeof natWithoutExec> | undefined {
  return spec.action.tool === 'nat-rules' ? natWithoutExec(spec.action.proxy, spec.where.kind === 'node-pod' ? spec.where.node : undefined) : undefined;
}

/**
 * Every probe of a plan: every rung's, the source's resolv.conf read (it goes in the source pod's batch too, so the DNS
 * rung costs no exec of its own), the node checks.
 */
function plannedSpecs(plan: LadderPlan): ProbeSpec[] {
  return [...plan.rungs.flatMap((r) => r.probes), ...(plan.dnsDiscovery ? [plan.dnsDiscovery] : []), ...plan.nodeChecks];
}

/** The probes of a plan that run by exec. */
function execSpecs(plan: LadderPlan): ProbeSpec[] {
  return plannedSpecs(plan).filter((s) => !withoutExec(s));
}

/** Probes by the key of the location they run at, each group in the order given. */
function groupByLocation(specs: readonly ProbeSpec[]): Map<string, ProbeSpec[]> {
  const groups = new Map<string, ProbeSpec[]>();
  for (const spec of specs) groups.set(locationKey(spec.where), [...(groups.get(locationKey(spec.where)) ?? []), spec]);
  return groups;
}

/** The datapath from what the API showed, confirmed by the interfaces the nodes' `links` checks listed. */
function detectDatapath(facts: ClusterFacts, checks: readonly ProbeResult[]): Datapath {
  const api = detectFromApi(facts.datapath ?? { daemonSets: [], unreadable: [] });
  const nodes = checks.flatMap((r) =>
    r.spec.check === 'links' && r.observation.kind === 'links' && r.spec.where.kind === 'node-pod' ? [{ node: r.spec.where.node, links: r.observation.links }] : [],
  );
  const read = checks.flatMap((r) =>
    (r.observation.kind === 'nat-rules' || r.observation.kind === 'forward-policy') && r.spec.where.kind === 'node-pod' ? [{ node: r.spec.where.node, observation: r.observation }] : [],
  );
  return confirmFromChecks(confirmOnNodes(api, nodes), read);
}

/** The datapath with the DNS the source's resolv.conf led to, or why it is unsure. */
function withDns(d: Datapath, dns: DnsResolution | undefined, looked: boolean): Datapath {
  if (!dns) return looked ? { ...d, unsure: [...d.unsure, "the source's /etc/resolv.conf could not be read: the DNS it uses is unknown"] } : d;
  const name = describeDnsResolution(dns);
  return { ...d, ...(name ? { dns: name } : {}), ...(dns.nameserver ? { evidence: [...d.evidence, `source resolv.conf nameserver ${dns.nameserver}${dns.domain ? `, cluster domain ${dns.domain}` : ''}`] } : {}), unsure: [...d.unsure, ...dns.unsure] };
}

/** Puts the planner's skip reason and the measured wall time into a rung's summary. */
function finishRung(result: RungResult, plan: RungPlan, wallMs: number): RungResult {
  if (plan.skipReason !== undefined) return { ...result, status: 'skipped', durationMs: 0, summary: plan.skipReason };
  return { ...result, durationMs: wallMs };
}
