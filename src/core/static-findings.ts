/**
 * Findings from what the API alone says (no probe yet): Service without (ready) endpoints, a targetPort no pod has,
 * a destination that is not Ready, a NetworkPolicy that denies the connection, a node NotReady, kube-dns without ready
 * endpoints. Pure: facts in, findings out.
 */
import type { BackendPod, DnsFacts, NodeFacts } from './facts.ts';
import { CAUSE_COMPONENTS, formatObjectRef } from './model.ts';
import type { Cause, ContainerPort, Finding, FindingStatus, Labels, Protocol, ResolvedTargets } from './model.ts';
import { evaluatePolicies } from './netpol.ts';
import type { NetworkPolicy, PolicyDestination, PolicyExternal, PolicyPod } from './netpol.ts';

export type { BackendPod } from './facts.ts';

/** Everything the static findings are computed from. */
export interface StaticFacts {
  targets: ResolvedTargets;
  /** Pods the destination Service's selector matches (empty when the destination is no Service). */
  servicePods: BackendPod[];
  /** NetworkPolicies of the namespaces involved. */
  policies: NetworkPolicy[];
  /** Labels of the namespaces involved. */
  namespaces: Record<string, Labels>;
  nodes: NodeFacts[];
  dns: DnsFacts;
}

function finding(cause: Cause, status: FindingStatus, summary: string, extra: Partial<Finding> = {}): Finding {
  return { status, cause, component: CAUSE_COMPONENTS[cause], summary, evidence: [], hints: [], ...extra };
}

/** Computes the static findings, most fundamental first. */
export function computeStaticFindings(facts: StaticFacts): Finding[] {
  const out: Finding[] = [];
  const { source, destination } = facts.targets;

  if (destination.kind === 'service') {
    const svc = formatObjectRef({ kind: 'Service', namespace: destination.namespace, name: destination.name });
    const selector = Object.entries(destination.selector).map(([k, v]) => `${k}=${v}`).join(',');
    const tp = destination.port.targetPort;
    const ready = destination.endpoints.filter((e) => e.ready);
    if (selector !== '' && facts.servicePods.length === 0) {
      out.push(
        finding('SERVICE_NO_ENDPOINTS', 'broken', `Service ${destination.namespace}/${destination.name} selects no pods: its selector ${selector} matches nothing in namespace ${destination.namespace}`, {
          object: svc,
          evidence: [`selector ${selector} matched 0 pods`, `EndpointSlices hold ${destination.endpoints.length} endpoints`],
          hints: [`kubectl get pods -n ${destination.namespace} --show-labels`, `kubectl get svc ${destination.name} -n ${destination.namespace} -o jsonpath='{.spec.selector}'`],
        }),
      );
    } else if (facts.servicePods.length > 0 && targetPortMissing(tp, destination.port.protocol, facts.servicePods)) {
      const have = [...new Set(facts.servicePods.flatMap((p) => p.ports.map((c) => (c.name ? `${c.name}:${c.containerPort}` : String(c.containerPort)))))];
      out.push(
        finding('SERVICE_TARGET_PORT_MISMATCH', 'broken', `Service ${destination.namespace}/${destination.name} sends port ${destination.port.port} to targetPort ${tp}, which no selected pod declares`, {
          object: svc,
          evidence: [`targetPort ${tp} (${destination.port.protocol})`, `container ports of the selected pods: ${have.join(', ') || 'none declared'}`],
          hints: [`set the Service's targetPort to a port the pods listen on, e.g. kubectl edit svc ${destination.name} -n ${destination.namespace}`],
        }),
      );
    } else if (facts.servicePods.length > 0 && ready.length === 0) {
      const notReady = facts.servicePods.filter((p) => !p.ready).map((p) => `${p.namespace}/${p.name}`);
      out.push(
        finding('SERVICE_NO_READY_ENDPOINTS', 'broken', `Service ${destination.namespace}/${destination.name} has no ready endpoint: ${facts.servicePods.length} pod(s) match, none is Ready`, {
          object: svc,
          evidence: [`${destination.endpoints.length} endpoint(s), 0 ready`, ...(notReady.length ? [`not Ready: ${notReady.slice(0, 5).join(', ')}`] : [])],
          hints: [`kubectl describe pod -n ${destination.namespace} -l ${selector}`, 'check the readiness probes and the pod events'],
        }),
      );
    }
  }

  if (destination.kind === 'pod' && !destination.ready) {
    out.push(
      finding('DESTINATION_NOT_READY', 'degraded', `destination pod ${destination.namespace}/${destination.name} is not Ready`, {
        object: formatObjectRef({ kind: 'Pod', namespace: destination.namespace, name: destination.name }),
        evidence: ['the Ready condition is not True'],
        hints: [`kubectl describe pod ${destination.name} -n ${destination.namespace}`],
      }),
    );
  }

  const deny = policyFinding(facts);
  if (deny) out.push(deny);

  for (const node of facts.nodes) {
    if (node.ready) continue;
    out.push(
      finding('NODE_NOT_READY', 'broken', `node ${node.name} is NotReady`, {
        node: node.name,
        object: `Node/${node.name}`,
        evidence: ['the node\'s Ready condition is not True'],
        hints: [`kubectl describe node ${node.name}`, 'check the kubelet and the container runtime on that node'],
      }),
    );
  }

  if (facts.dns.readyEndpoints === 0 && source.kind === 'pod') {
    const needsDns = destination.kind === 'service' || (destination.kind === 'address' && destination.ips.length === 0);
    const svc = facts.dns.service ?? { namespace: 'kube-system', name: 'kube-dns', selector: 'k8s-app=kube-dns' };
    const ref = `${svc.namespace}/${svc.name}`;
    out.push(
      finding('DNS_NO_ENDPOINTS', needsDns ? 'broken' : 'degraded', `the cluster DNS (${ref}) has no ready endpoint: name lookups in pods fail`, {
        object: `Service/${ref}`,
        evidence: [
          facts.dns.serviceIP ? `${svc.name} ClusterIP ${facts.dns.serviceIP}` : `Service ${ref} not found`,
          `DNS pods: ${facts.dns.pods.map((p) => `${p.name} ${p.ready ? 'Ready' : 'not Ready'}`).join(', ') || 'none'}`,
        ],
        hints: [`kubectl get pods -n ${svc.namespace} -l ${svc.selector}`, `kubectl describe pods -n ${svc.namespace} -l ${svc.selector}`],
      }),
    );
  }
  return out;
}

/** True when the selected pods declare ports, none of which is the targetPort (by name, or by number and protocol). */
export function targetPortMissing(targetPort: number | string, protocol: Protocol, pods: BackendPod[]): boolean {
  if (typeof targetPort === 'string') {
    return !pods.some((p) => p.ports.some((c) => c.name === targetPort && c.protocol === protocol));
  }
  const declared = pods.some((p) => p.ports.length > 0);
  // Ports need not be declared to be served: with none declared we cannot tell.
  if (!declared) return false;
  return !pods.some((p) => p.ports.some((c) => c.containerPort === targetPort && c.protocol === protocol));
}

function policyFinding(facts: StaticFacts): Finding | undefined {
  const { source, destination } = facts.targets;
  const policySource: PolicyPod | PolicyExternal =
    source.kind === 'pod'
      ? { kind: 'pod', namespace: source.namespace, labels: source.labels, ip: source.ip, node: source.node, hostNetwork: source.hostNetwork }
      : { kind: 'external', ip: source.ip };
  const cases: { dest: PolicyDestination; port: number; protocol: Protocol; label: string }[] = [];
  switch (destination.kind) {
    case 'pod':
      cases.push({
        dest: { kind: 'pod', namespace: destination.namespace, labels: destination.labels, ip: destination.ip, node: destination.node, hostNetwork: destination.hostNetwork, ports: destination.ports },
        port: destination.port,
        protocol: destination.protocol,
        label: `${destination.namespace}/${destination.name}`,
      });
      break;
    case 'service': {
      const byName = new Map(facts.servicePods.map((p) => [`${p.namespace}/${p.name}`, p]));
      for (const ep of destination.endpoints.filter((e) => e.ready)) {
        const pod = ep.pod ? byName.get(`${ep.pod.namespace}/${ep.pod.name}`) : undefined;
        if (!pod) continue;
        cases.push({
          dest: { kind: 'pod', namespace: pod.namespace, labels: pod.labels, ip: pod.ip, node: pod.node, hostNetwork: pod.hostNetwork, ports: pod.ports },
          port: ep.port,
          protocol: destination.port.protocol,
          label: `${pod.namespace}/${pod.name}`,
        });
      }
      break;
    }
    case 'node':
      cases.push({ dest: { kind: 'external', ip: destination.ip }, port: destination.port, protocol: destination.protocol, label: `node ${destination.name}` });
      break;
    case 'address':
      for (const ip of destination.ips) cases.push({ dest: { kind: 'external', ip }, port: destination.port, protocol: destination.protocol, label: ip });
      break;
    default: {
      const never: never = destination;
      throw new Error(`unknown destination ${JSON.stringify(never)}`);
    }
  }
  if (cases.length === 0 || facts.policies.length === 0) return undefined;
  const denied: { label: string; policies: string[]; direction: string }[] = [];
  const notes = new Set<string>();
  for (const c of cases) {
    const decision = evaluatePolicies({ policies: facts.policies, source: policySource, destination: c.dest, port: c.port, protocol: c.protocol, namespaces: facts.namespaces });
    decision.notes.forEach((n) => notes.add(n));
    if (decision.allowed) continue;
    const direction = !decision.ingress.allowed ? 'ingress' : 'egress';
    const policies = (!decision.ingress.allowed ? decision.ingress.deniedBy : decision.egress.deniedBy) ?? [];
    denied.push({ label: `${c.label}:${c.port}`, policies, direction });
  }
  const first = denied[0];
  if (!first) return undefined;
  const [ns, name] = (first.policies[0] ?? '/').split('/') as [string, string];
  const all = denied.length === cases.length;
  const src = source.kind === 'pod' ? `${source.namespace}/${source.name}` : `node ${source.name}`;
  return finding('NETWORK_POLICY_DENY', all ? 'broken' : 'degraded', `NetworkPolicy ${ns}/${name} denies ${first.direction} from ${src} to ${all ? first.label : `${denied.length} of ${cases.length} endpoints`}`, {
    ...(ns && name ? { object: formatObjectRef({ kind: 'NetworkPolicy', namespace: ns, name }) } : {}),
    evidence: [
      ...denied.slice(0, 5).map((d) => `${d.direction} to ${d.label} denied; isolating policies: ${d.policies.join(', ') || 'none'}`),
      ...notes,
    ],
    hints: [
      `kubectl describe networkpolicy ${name} -n ${ns}`,
      `add a rule admitting ${src} (its pod labels and namespace labels) on the port`,
    ],
  });
}
