/**
 * Runs the hop-by-hop trace of one failing probe through the Prober: picks the probe (core), plans the hops for the
 * datapath (core), starts one capture exec per location, waits until every capture listens, repeats the probe, stops
 * the captures and hands what they saw to the pure analysis. Saves one pcap per hop when a capture directory is given.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Datapath } from './core/datapath.ts';
import type { ClusterFacts } from './core/facts.ts';
import type { Finding, ProbeLocation, ProbeResult } from './core/model.ts';
import { analyzeTrace, type TraceReport } from './core/trace-analysis.ts';
import { parseTcpdumpText } from './core/trace-parse.ts';
import { buildCaptureCommand, captureBoundSeconds, captureLocationKey, hopFilter, type CaptureLocation, type TraceHop } from './core/trace-plan.ts';
import { echoTracePlanFor, pickMtuCheck, pickTraceProbe, tracePlanFor } from './core/trace-select.ts';
import type { CaptureSession, LocationStatus, Prober } from './ports.ts';

/** What a trace needs from the run. */
export interface TraceRunInput {
  facts: ClusterFacts;
  datapath: Datapath | undefined;
  observations: readonly ProbeResult[];
  /** The node checks and the verdict: a PATH_MTU_MISMATCH verdict has its failed full-size ping traced instead. */
  nodeChecks?: readonly ProbeResult[];
  verdict?: Finding;
  prober: Prober;
  /** Makes a location usable (the run's own prepare, shared with the ladder's). */
  ready: (where: ProbeLocation) => Promise<LocationStatus>;
  reason: TraceReport['reason'];
  /** Where to save one pcap per hop (`--capture-dir`). */
  captureDir?: string;
  /** Capture in the destination pod too (an ephemeral debug container there; only when the trace was asked for). */
  destinationPod?: boolean;
  now: () => number;
  /** Told when the captures are about to start: the probe and the hops. */
  onStart?: (probe: string, hops: string[]) => void | Promise<void>;
}

/** Runs the trace; undefined when there is nothing to trace (no probe from the source pod) or the prober cannot capture. */
export async function runTrace(input: TraceRunInput): Promise<TraceReport | undefined> {
  const { prober } = input;
  if (!prober.capture) return undefined;
  const network = input.datapath?.network ?? 'unknown';
  const opts = { destinationPod: input.destinationPod === true };
  // PATH_MTU_MISMATCH: the handshake's small packets pass every hop; the check's full-size ping is what is lost.
  const mtu = pickMtuCheck(input.verdict, input.nodeChecks ?? []);
  const mtuPlan = mtu ? echoTracePlanFor(input.facts, mtu, network, opts) : undefined;
  const spec = mtu && mtuPlan ? mtu.spec : pickTraceProbe(input.observations);
  if (!spec) return undefined;
  const plan = mtuPlan ?? tracePlanFor(input.facts, spec, network, opts);
  if (!plan) return undefined;
  const t0 = input.now();
  await input.onStart?.(spec.id, plan.hops.map((h) => h.id));
  const byLocation = new Map<string, { where: CaptureLocation; hops: TraceHop[] }>();
  for (const hop of plan.hops) {
    const key = captureLocationKey(hop.where);
    const entry = byLocation.get(key) ?? { where: hop.where, hops: [] };
    entry.hops.push(hop);
    byLocation.set(key, entry);
  }
  const errors = new Map<string, string>();
  const sessions: { hops: TraceHop[]; session: CaptureSession }[] = [];
  await Promise.all(
    [...byLocation.values()].map(async ({ where, hops }) => {
      // One location failing (not ready, or its capture could not start) leaves the others capturing.
      try {
        // A probe location is the run's to prepare; the destination pod's container is added by the capture itself.
        const status: LocationStatus = where.kind === 'target-pod' ? { ready: true } : await input.ready(where);
        if (!status.ready) return void hops.forEach((h) => errors.set(h.id, `location not ready: ${status.reason}`));
        const mark = `nt-${randomBytes(6).toString('hex')}`;
        const boundSeconds = captureBoundSeconds(spec.timeoutMs);
        const command = buildCaptureCommand(hops.map((hop) => ({ hop, filter: hopFilter(plan.flow, hop) })), mark, { pcap: input.captureDir !== undefined, boundSeconds });
        const session = (prober.capture as NonNullable<Prober['capture']>)(where, command, { mark, timeoutMs: boundSeconds * 1000 });
        sessions.push({ hops, session });
        const heard = await session.listening;
        if (!heard.ok) hops.forEach((h) => errors.set(h.id, heard.reason));
      } catch (err) {
        hops.forEach((h) => errors.set(h.id, `the capture could not start: ${err instanceof Error ? err.message : String(err)}`));
      }
    }),
  );
  // Every capture listens: repeat the probe, then stop them all.
  let outcome: ProbeResult;
  try {
    outcome = await prober.run({ ...spec, id: `${spec.id}@trace` });
  } catch (err) {
    outcome = { spec, observation: { kind: 'could-not-run', reason: err instanceof Error ? err.message : String(err) }, durationMs: 0 };
  }
  const stopped = await Promise.all(sessions.map(async (s) => ({ ...s, result: await s.session.stop() })));
  const captures = new Map<string, { device: string; packets: ReturnType<typeof parseTcpdumpText>; lines: string[]; pcap?: string } | { error: string }>();
  for (const [id, error] of errors) captures.set(id, { error });
  if (input.captureDir) await mkdir(input.captureDir, { recursive: true });
  for (const { hops, result } of stopped) {
    for (const [i, hop] of hops.entries()) {
      if (captures.has(hop.id)) continue;
      const rec = result.records.find((r) => r.index === i);
      if (!rec) {
        captures.set(hop.id, { error: result.error ?? 'the capture printed nothing for this hop' });
        continue;
      }
      if (rec.device === '') {
        const why = rec.stderr.trim();
        captures.set(hop.id, { error: `no such interface on ${hop.node} (${describeDevice(hop)})${why ? `: ${why}` : ''}` });
        continue;
      }
      if (!/listening on/.test(rec.stderr)) {
        captures.set(hop.id, { error: `tcpdump did not start: ${rec.stderr.trim().split('\n').at(-1) ?? ''}`.trim() });
        continue;
      }
      let pcap: string | undefined;
      if (input.captureDir && rec.pcap.length > 0) {
        pcap = `${hop.id.replace(/[^A-Za-z0-9.-]+/g, '_')}.pcap`;
        await writeFile(join(input.captureDir, pcap), rec.pcap);
      }
      const lines = rec.text.split('\n').filter((l) => l.trim() !== '');
      captures.set(hop.id, { device: rec.device, packets: parseTcpdumpText(rec.text), lines, ...(pcap ? { pcap } : {}) });
    }
  }
  const o = outcome.observation;
  const said = o.kind === 'mtu' ? `full-size ping ${o.passed ? 'answered' : 'lost'}` : o.kind;
  return analyzeTrace(plan, captures, { reason: input.reason, outcome: said, durationMs: input.now() - t0 });
}

function describeDevice(hop: TraceHop): string {
  switch (hop.device.kind) {
    case 'name':
      return hop.device.name;
    case 'pod-port':
      return `the port of pod ${hop.device.address}`;
    case 'route-to':
      return `the route to ${hop.device.address}`;
    default: {
      const never: never = hop.device;
      throw new Error(`unknown hop device ${JSON.stringify(never)}`);
    }
  }
}
