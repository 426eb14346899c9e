/**
 * Which of the plugin's own probes NetworkPolicy denies, predicted before they run: a same-node probe comes from a
 * debug pod, a node-origin probe from a node's own address, and either may be refused by policies that admit the real
 * source. Such a probe failing says nothing about the network, so it is marked (ProbeSpec.deniedBy) and never read as
 * a symptom. Pure.
 */
import type { BackendPod, ClusterFacts } from './facts.ts';
import { DEBUG_POD_LABELS, type ProbeSpec } from './model.ts';
import { ipFamilyOf } from './address.ts';
import { evaluatePolicies, type NetworkPolicy, type PolicyDestination, type PolicyPod } from './netpol.ts';

/** Where the plugin's debug pods run, for predictions: their namespace (labels are DEBUG_POD_LABELS). */
export interface DebugPods {
  namespace: string;
}

/** The destination pod a probe connects to, by its address (either address of a dual-stack pod). */
function destinationPod(facts: ClusterFacts, ip: string): PolicyDestination | undefined {
  const dest = facts.targets.destination;
  if (dest.kind === 'pod' && (dest.ip === ip || (dest.ips ?? []).includes(ip))) return { kind: 'pod', namespace: dest.namespace, labels: dest.labels, ip, node: dest.node, hostNetwork: dest.hostNetwork, ports: dest.ports };
  // A Service's endpoint of the other family names its pod (targetRef): the pod the Service's pods list has by its IPv4.
  const ref = dest.kind === 'service' ? dest.endpoints.find((e) => e.ip === ip)?.pod : undefined;
  const pod: BackendPod | undefined = facts.policy?.servicePods.find((p) => p.ip === ip || (ref !== undefined && p.namespace === ref.namespace && p.name === ref.name));
  return pod ? { kind: 'pod', namespace: pod.namespace, labels: pod.labels, ip, node: pod.node, hostNetwork: pod.hostNetwork, ports: pod.ports } : undefined;
}

/** The source of one of the plugin's own probes, as policies see it; undefined for probes from the user's source. */
function probeSource(spec: ProbeSpec, facts: ClusterFacts, debug: DebugPods): PolicyPod | undefined {
  if (spec.where.kind !== 'node-pod' || (spec.rung !== 'same-node' && spec.rung !== 'node-origin')) return undefined;
  const node = spec.where.node;
  const nodeIP = facts.nodes.find((n) => n.name === node)?.internalIP ?? '';
  // The node's InternalIP stands for it only in its own family: for a probe of the other family its address is unknown.
  const sameFamily = spec.action.tool === 'tcp-connect' && ipFamilyOf(nodeIP) === ipFamilyOf(spec.action.host);
  return { kind: 'pod', namespace: debug.namespace, labels: { ...DEBUG_POD_LABELS }, ip: spec.where.hostNetwork && sameFamily ? nodeIP : '', node, hostNetwork: spec.where.hostNetwork };
}

/** Whether a policy of the namespace admits ingress from an ipBlock of the family (one an unknown address might be in). */
function hasIpBlockOfFamily(policies: NetworkPolicy[], namespace: string, family: ReturnType<typeof ipFamilyOf>): boolean {
  return policies.some(
    (p) => p.metadata.namespace === namespace && (p.spec.ingress ?? []).some((r) => (r.from ?? []).some((peer) => peer.ipBlock !== undefined && ipFamilyOf(peer.ipBlock.cidr.split('/')[0] ?? '') === family)),
  );
}

/**
 * Marks the probes the policies deny. A debug pod's own address is unknown before it exists (and a node's address of
 * the family other than its InternalIP's), so where a policy of the destination's namespace has ipBlock peers of the
 * probe's family (which such an address might match) nothing is predicted for it; an ipBlock of the other family
 * never matches, as NetworkPolicy semantics say.
 */
export function markPredictedDenials(specs: ProbeSpec[], facts: ClusterFacts, debug: DebugPods): ProbeSpec[] {
  const policy = facts.policy;
  if (!policy || policy.policies.length === 0) return specs;
  return specs.map((spec) => {
    const source = probeSource(spec, facts, debug);
    if (!source || spec.action.tool !== 'tcp-connect') return spec;
    const destination = destinationPod(facts, spec.action.host);
    if (!destination || destination.kind !== 'pod') return spec;
    if (source.ip === '' && hasIpBlockOfFamily(policy.policies, destination.namespace, ipFamilyOf(spec.action.host))) return spec;
    const decision = evaluatePolicies({ policies: policy.policies, source, destination, port: spec.action.port, protocol: 'TCP', namespaces: policy.namespaces });
    if (decision.allowed) return spec;
    const deniedBy = (decision.ingress.allowed ? decision.egress.deniedBy : decision.ingress.deniedBy) ?? [];
    return { ...spec, deniedBy };
  });
}
