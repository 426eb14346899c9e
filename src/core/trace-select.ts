/**
 * When a trace runs and what it follows, and what it changes in the verdict: the probe to repeat (a failed TCP probe
 * from the source pod, the direct pod-IP one first), its flow and hops from the facts, whether a verdict is uncertain
 * enough to trace on its own, and an uncertain verdict made explainable by where the trace lost the packet. A certain
 * finding is never overridden. Pure.
 */
import type { PodNetwork } from './datapath.ts';
import type { ClusterFacts } from './facts.ts';
import type { Finding, ProbeResult, ProbeSpec } from './model.ts';
import type { TraceReport } from './trace-analysis.ts';
import { planTrace, type TracePlan } from './trace-plan.ts';
import type { ExtraNeed } from './privilege.ts';

/** What `--trace` needs in the source pod's debug container: tcpdump opens a packet socket (CAP_NET_RAW). */
export const TRACE_CAPTURE_NEED: ExtraNeed = { id: 'trace:capture', where: { kind: 'source-pod' }, caps: ['NET_RAW'], why: 'tcpdump (the --trace capture)' };

/** The causes whose verdict says "something failed and no check found why": the trace runs on its own for them. */
export const UNCERTAIN_CAUSES: readonly Finding['cause'][] = ['CONNECTION_FAILED'];

/** Whether a verdict is not certain (the trace runs without --trace). */
export function isUncertain(verdict: Finding): boolean {
  return UNCERTAIN_CAUSES.includes(verdict.cause);
}

const FAILED = new Set(['timeout', 'no-route', 'refused']);

/**
 * The probe a trace repeats: a TCP connect from the source pod (never a sample beyond the first), failed before
 * passed, the pod-IP rung before the ClusterIP one, then the same-node one.
 */
export function pickTraceProbe(observations: readonly ProbeResult[]): ProbeSpec | undefined {
  const candidates = observations.filter(
    (r) => r.spec.action.tool === 'tcp-connect' && r.spec.where.kind === 'source-pod' && (r.spec.sample?.index ?? 1) === 1 && r.spec.deniedBy === undefined,
  );
  const order = ['pod-ip', 'cluster-ip', 'same-node'];
  const rank = (r: ProbeResult): number => (FAILED.has(r.observation.kind) ? 0 : 10) + Math.max(0, order.indexOf(r.spec.rung));
  return [...candidates].sort((a, b) => rank(a) - rank(b))[0]?.spec;
}

/** The trace plan for a probe: its flow (translated to the Service's endpoints for a ClusterIP) and the hops of the network. */
export function tracePlanFor(facts: ClusterFacts, spec: ProbeSpec, network: PodNetwork): TracePlan | undefined {
  const { source, destination } = facts.targets;
  if (source.kind !== 'pod' || source.hostNetwork || spec.action.tool !== 'tcp-connect') return undefined;
  const { host, port } = spec.action;
  const nodeIPs = Object.fromEntries(facts.nodes.map((n) => [n.name, n.internalIP]));
  let translated: { ip: string; port: number }[] = [];
  let end: { ip: string; node: string; name: string } | undefined;
  if (destination.kind === 'pod') end = { ip: destination.ip, node: destination.node, name: `${destination.namespace}/${destination.name}` };
  else if (destination.kind === 'service') {
    const eps = destination.endpoints.filter((e) => e.node !== undefined);
    const direct = eps.find((e) => e.ip === host);
    if (!direct) translated = eps.map((e) => ({ ip: e.ip, port: e.port }));
    const e = direct ?? eps[0];
    if (e?.node) end = { ip: e.ip, node: e.node, name: e.pod ? `${e.pod.namespace}/${e.pod.name}` : e.ip };
  }
  if (!end) return undefined;
  return planTrace({
    network,
    probe: spec.id,
    flow: { protocol: 'TCP', source: source.ip, destination: { ip: host, port }, translated },
    source: { ip: source.ip, node: source.node },
    destination: end,
    nodeIPs,
  });
}

/**
 * The verdict with the trace's word: an uncertain verdict the trace localizes gets where the packet was lost (summary,
 * node, evidence citing the trace); any other verdict only gains the trace as evidence.
 */
export function withTrace(verdict: Finding, trace: TraceReport): Finding {
  const line = trace.localized ? `trace (${trace.id}): ${trace.localized}` : undefined;
  const citations = [...(verdict.citations ?? []), { probe: trace.id, role: (isUncertain(verdict) ? 'cause' : 'reference') as 'cause' | 'reference' }];
  if (!line) return verdict;
  if (!isUncertain(verdict)) return { ...verdict, evidence: [...verdict.evidence, line], citations };
  return {
    ...verdict,
    summary: `${verdict.summary}; the trace localizes it: ${trace.localized}`,
    ...(trace.node !== undefined ? { node: trace.node } : {}),
    evidence: [...verdict.evidence, line],
    citations,
    hints: [
      ...(trace.node !== undefined ? [`look at what drops the flow on ${trace.node}: iptables -S; iptables -t raw -S; ip route; sysctl net.ipv4.ip_forward`] : ['look at what carries traffic between the nodes: security groups, firewalls, the VPC route tables']),
      ...verdict.hints,
    ],
  };
}
