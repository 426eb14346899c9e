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

/** Whether an address is dotted-quad IPv4. */
function isIPv4(ip: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);
}

/** The causes whose verdict says "something failed and no check found why": the trace runs on its own for them. */
export const UNCERTAIN_CAUSES: readonly Finding['cause'][] = ['CONNECTION_FAILED'];

/** Whether a verdict is not certain (the trace runs without --trace). */
export function isUncertain(verdict: Finding): boolean {
  return UNCERTAIN_CAUSES.includes(verdict.cause);
}

const FAILED = new Set(['timeout', 'no-route', 'refused', 'dns-timeout', 'dns-refused', 'servfail']);

/** Whether a probe can be traced: a TCP connect, or a DNS lookup asked of a server, from the source pod (first sample). */
function traceable(r: ProbeResult): boolean {
  const a = r.spec.action;
  const kindOk = a.tool === 'tcp-connect' || (a.tool === 'dns-lookup' && a.server !== undefined);
  return kindOk && r.spec.where.kind === 'source-pod' && (r.spec.sample?.index ?? 1) === 1 && r.spec.deniedBy === undefined;
}

/**
 * The probe a trace repeats: from the source pod (never a sample beyond the first), failed before passed, a TCP probe
 * (the pod-IP rung, then the ClusterIP one, then the same-node one) before a DNS lookup asked of a server.
 */
export function pickTraceProbe(observations: readonly ProbeResult[]): ProbeSpec | undefined {
  const order = ['pod-ip', 'cluster-ip', 'same-node'];
  const rank = (r: ProbeResult): number =>
    (FAILED.has(r.observation.kind) ? 0 : 20) + (r.spec.action.tool === 'dns-lookup' ? 10 : Math.max(0, order.indexOf(r.spec.rung)));
  return [...observations.filter(traceable)].sort((a, b) => rank(a) - rank(b))[0]?.spec;
}

/** The trace plan for a probe: its flow (translated to the Service's endpoints or the DNS pods) and the hops of the network. */
export function tracePlanFor(facts: ClusterFacts, spec: ProbeSpec, network: PodNetwork, opts: { destinationPod?: boolean } = {}): TracePlan | undefined {
  const { source, destination } = facts.targets;
  if (source.kind !== 'pod' || source.hostNetwork || !isIPv4(source.ip)) return undefined;
  const nodeIPs = Object.fromEntries(facts.nodes.map((n) => [n.name, n.internalIP]));
  // The filters match IPv4 headers (the VXLAN one by byte offsets): an IPv6 flow is not traced.
  const plan = (
    flow: { protocol: 'TCP' | 'UDP'; host: string; port: number; translated: { ip: string; port: number }[] },
    end: { ip: string; node: string; name: string; pod?: { namespace: string; name: string } } | undefined,
  ): TracePlan | undefined =>
    end && [flow.host, end.ip, ...flow.translated.map((t) => t.ip)].every(isIPv4)
      ? planTrace({
          network,
          probe: spec.id,
          flow: { protocol: flow.protocol, source: source.ip, destination: { ip: flow.host, port: flow.port }, translated: flow.translated },
          source: { ip: source.ip, node: source.node },
          destination: { ip: end.ip, node: end.node, name: end.name },
          ...(opts.destinationPod && end.pod ? { destinationPod: end.pod } : {}),
          nodeIPs,
        })
      : undefined;
  const a = spec.action;
  if (a.tool === 'dns-lookup') {
    if (a.server === undefined) return undefined;
    const port = a.port ?? 53;
    const pods = [...facts.dns.pods, ...(facts.dns.nodeLocal?.pods ?? [])].filter((p) => p.node !== '');
    const direct = pods.find((p) => p.ip === a.server);
    // A Service address (the cluster DNS) is translated to its pods; the first one on another node shows the most hops.
    const candidates = direct ? [direct] : facts.dns.pods.filter((p) => p.ready);
    const pod = candidates.find((p) => p.node !== source.node) ?? candidates[0];
    const translated = direct ? [] : candidates.map((p) => ({ ip: p.ip, port: facts.dns.podPort ?? 53 }));
    return plan({ protocol: 'UDP', host: a.server, port, translated }, pod ? { ip: pod.ip, node: pod.node, name: `${pod.namespace}/${pod.name}`, pod: { namespace: pod.namespace, name: pod.name } } : undefined);
  }
  if (a.tool !== 'tcp-connect') return undefined;
  const { host, port } = a;
  let translated: { ip: string; port: number }[] = [];
  let end: { ip: string; node: string; name: string; pod?: { namespace: string; name: string } } | undefined;
  if (destination.kind === 'pod' && !destination.hostNetwork) end = { ip: destination.ip, node: destination.node, name: `${destination.namespace}/${destination.name}`, pod: { namespace: destination.namespace, name: destination.name } };
  else if (destination.kind === 'pod') end = { ip: destination.ip, node: destination.node, name: `${destination.namespace}/${destination.name}` };
  else if (destination.kind === 'service') {
    const eps = destination.endpoints.filter((e) => e.node !== undefined);
    const direct = eps.find((e) => e.ip === host);
    if (!direct) translated = eps.map((e) => ({ ip: e.ip, port: e.port }));
    const e = direct ?? eps[0];
    if (e?.node) end = { ip: e.ip, node: e.node, name: e.pod ? `${e.pod.namespace}/${e.pod.name}` : e.ip, ...(e.pod ? { pod: e.pod } : {}) };
  }
  return plan({ protocol: 'TCP', host, port, translated }, end);
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
