/**
 * When a trace runs and what it follows, and what it changes in the verdict: the probe to repeat (a failed TCP probe
 * from the source pod, the direct pod-IP one first), its flow and hops from the facts, whether a verdict is uncertain
 * enough to trace on its own, and an uncertain verdict made explainable by where the trace lost the packet. A certain
 * finding is never overridden. Pure.
 */
import { ipFamilyOf, type IPFamily } from './address.ts';
import type { PodNetwork } from './datapath.ts';
import type { ClusterFacts } from './facts.ts';
import type { Finding, ProbeResult, ProbeSpec } from './model.ts';
import type { TraceReport } from './trace-analysis.ts';
import { planEchoTrace, planTrace, type CaptureLocation, type TracePlan } from './trace-plan.ts';
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
  if (source.kind !== 'pod' || source.hostNetwork) return undefined;
  const a = spec.action;
  // The flow's family is the address the probe asked for: an IPv6 probe is traced from the pod's IPv6 address.
  const asked = a.tool === 'tcp-connect' ? a.host : a.tool === 'dns-lookup' ? a.server : undefined;
  const family: IPFamily | undefined = asked === undefined ? undefined : ipFamilyOf(asked);
  const sourceIP = family === undefined ? undefined : (source.ips ?? [source.ip]).find((ip) => ipFamilyOf(ip) === family);
  if (family === undefined || sourceIP === undefined) return undefined;
  const same = (ip: string): boolean => ipFamilyOf(ip) === family;
  const nodeIPs = Object.fromEntries(facts.nodes.map((n) => [n.name, n.internalIP]));
  const nodeIPv6s = Object.fromEntries(facts.nodes.flatMap((n) => {
    const v6 = [n.internalIP, ...(n.internalIPs ?? [])].find((ip) => ipFamilyOf(ip) === 'IPv6');
    return v6 ? [[n.name, v6]] : [];
  }));
  // The filters match one family's headers (inside VXLAN by byte offsets): every address of the flow is of the probe's.
  const plan = (
    flow: { protocol: 'TCP' | 'UDP'; host: string; port: number; translated: { ip: string; port: number }[] },
    end: { ip: string; node: string; name: string; pod?: { namespace: string; name: string } } | undefined,
  ): TracePlan | undefined =>
    end && [flow.host, end.ip, ...flow.translated.map((t) => t.ip)].every(same)
      ? planTrace({
          network,
          probe: spec.id,
          flow: { protocol: flow.protocol, source: sourceIP, destination: { ip: flow.host, port: flow.port }, translated: flow.translated },
          source: { ip: sourceIP, node: source.node },
          destination: { ip: end.ip, node: end.node, name: end.name },
          ...(opts.destinationPod && end.pod ? { destinationPod: end.pod } : {}),
          nodeIPs,
          ...(family === 'IPv6' ? { nodeIPv6s } : {}),
        })
      : undefined;
  if (a.tool === 'dns-lookup') {
    if (a.server === undefined) return undefined;
    const port = a.port ?? 53;
    const pods = [...facts.dns.pods, ...(facts.dns.nodeLocal?.pods ?? [])].filter((p) => p.node !== '');
    const direct = pods.find((p) => p.ip === a.server);
    // A Service address (the cluster DNS) is translated to its pods; the first one on another node shows the most hops.
    const candidates = direct ? [direct] : facts.dns.pods.filter((p) => p.ready && same(p.ip));
    const pod = candidates.find((p) => p.node !== source.node) ?? candidates[0];
    const translated = direct ? [] : candidates.map((p) => ({ ip: p.ip, port: facts.dns.podPort ?? 53 }));
    return plan({ protocol: 'UDP', host: a.server, port, translated }, pod ? { ip: pod.ip, node: pod.node, name: `${pod.namespace}/${pod.name}`, pod: { namespace: pod.namespace, name: pod.name } } : undefined);
  }
  if (a.tool !== 'tcp-connect') return undefined;
  const { host, port } = a;
  const podIP = (d: { ip: string; ips?: string[] }): string => (d.ips ?? [d.ip]).find(same) ?? d.ip;
  let translated: { ip: string; port: number }[] = [];
  let end: { ip: string; node: string; name: string; pod?: { namespace: string; name: string } } | undefined;
  if (destination.kind === 'pod' && !destination.hostNetwork) end = { ip: podIP(destination), node: destination.node, name: `${destination.namespace}/${destination.name}`, pod: { namespace: destination.namespace, name: destination.name } };
  else if (destination.kind === 'pod') end = { ip: podIP(destination), node: destination.node, name: `${destination.namespace}/${destination.name}` };
  else if (destination.kind === 'service') {
    const eps = destination.endpoints.filter((e) => e.node !== undefined && same(e.ip));
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

/**
 * The path-MTU node check whose full-size ping a trace repeats: when the verdict is PATH_MTU_MISMATCH, the check it cites
 * as its cause (a failed IPv4 full-size don't-fragment ping from a node whose small ping passed).
 */
export function pickMtuCheck(verdict: Finding | undefined, nodeChecks: readonly ProbeResult[]): ProbeResult | undefined {
  if (verdict?.cause !== 'PATH_MTU_MISMATCH') return undefined;
  const causes = new Set((verdict.citations ?? []).filter((c) => c.role === 'cause').map((c) => c.probe));
  return nodeChecks.find((r) => {
    const a = r.spec.action;
    const o = r.observation;
    return causes.has(r.spec.id) && a.tool === 'path-mtu' && isIPv4(a.address) && r.spec.where.kind === 'node-pod' && o.kind === 'mtu' && !o.passed;
  });
}

/**
 * The trace plan of a path-MTU check's full-size ping: ICMP echo of the check's size (payload plus the 28 bytes of IPv4
 * and ICMP headers) from the check's node to the pod it pinged, along the hops to that pod; the pod's own eth0 is
 * captured when it is the source pod (its debug container), or the destination pod when `destinationPod` is set.
 */
export function echoTracePlanFor(facts: ClusterFacts, check: ProbeResult, network: PodNetwork, opts: { destinationPod?: boolean } = {}): TracePlan | undefined {
  const a = check.spec.action;
  const o = check.observation;
  const where = check.spec.where;
  if (a.tool !== 'path-mtu' || o.kind !== 'mtu' || where.kind !== 'node-pod' || !isIPv4(a.address)) return undefined;
  const from = where.node;
  const { source, destination } = facts.targets;
  let to: { ip: string; node: string; name: string; id: string; where?: CaptureLocation } | undefined;
  if (source.kind === 'pod' && !source.hostNetwork && source.ip === a.address) {
    to = { ip: source.ip, node: source.node, name: `${source.namespace}/${source.name}`, id: 'source-pod/eth0', where: { kind: 'source-pod' } };
  } else if (destination.kind === 'pod' && !destination.hostNetwork && destination.ip === a.address) {
    const pod = { namespace: destination.namespace, name: destination.name };
    to = { ip: destination.ip, node: destination.node, name: `${pod.namespace}/${pod.name}`, id: 'destination-pod/eth0', ...(opts.destinationPod ? { where: { kind: 'target-pod', ...pod } as const } : {}) };
  } else if (destination.kind === 'service') {
    const e = destination.endpoints.find((x) => x.ip === a.address && x.node !== undefined);
    if (e?.node) to = { ip: e.ip, node: e.node, name: e.pod ? `${e.pod.namespace}/${e.pod.name}` : e.ip, id: 'destination-pod/eth0', ...(opts.destinationPod && e.pod ? { where: { kind: 'target-pod', ...e.pod } as const } : {}) };
  }
  if (!to || to.node === from) return undefined;
  const nodeIPs = Object.fromEntries(facts.nodes.map((n) => [n.name, n.internalIP]));
  return planEchoTrace({
    network,
    probe: check.spec.id,
    flow: { protocol: 'ICMP', source: nodeIPs[from] ?? from, destination: { ip: to.ip, port: 0 }, translated: [], echo: { size: o.size + 28, from } },
    from,
    to,
    nodeIPs,
  });
}
