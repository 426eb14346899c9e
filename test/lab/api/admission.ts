/**
 * Admission the lab enforces on pods: Pod Security (baseline / restricted `enforce` labels) with the real message format,
 * and validation of ephemeral container changes.
 */
import type { ScenarioRbacDeny } from '../model.ts';
import { formatGroupResource } from './resources.ts';
import type { KubeObject } from './store.ts';
import { StatusError, invalid } from './status.ts';

/** The Pod Security levels, weakest first. */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/** The capabilities Pod Security baseline lets a container add. */
const BASELINE_CAPABILITIES: readonly string[] = [
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
];

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
}

interface Container {
  name?: string;
  image?: string;
  ports?: unknown[];
  securityContext?: SecurityContext;
  [key: string]: unknown;
}

interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: { name?: string; hostPath?: unknown }[];
  securityContext?: SecurityContext;
}

/** The Pod Security modes a namespace label can set. */
type PodSecurityMode = 'enforce' | 'warn' | 'audit';

/** Reads a mode's level from a namespace's labels (absent or unknown means privileged). */
function readLevel(namespace: KubeObject | undefined, mode: PodSecurityMode): PodSecurityLevel {
  const level = namespace?.metadata.labels?.[`pod-security.kubernetes.io/${mode}`];
  return level === 'baseline' || level === 'restricted' ? level : 'privileged';
}

/** What Pod Security admission adds to an admitted request: Warning headers (`warn`) and audit annotations (`audit`). */
export interface PodSecurityOutcome {
  warnings: string[];
  auditAnnotations: Record<string, string>;
}

function quoteList(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

function containersPhrase(names: readonly string[]): string {
  return `${names.length === 1 ? 'container' : 'containers'} ${quoteList(names)}`;
}

function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

/** Lists the Pod Security violations of a pod spec at a level, each formatted like the real admission plugin. */
export function checkPodSecurity(level: PodSecurityLevel, spec: PodSpec): string[] {
  if (level === 'privileged') return [];
  const containers = allContainers(spec);
  const violations: string[] = [];
  // baseline checks, in the order the admission plugin reports them
  const capDetails = containers.flatMap((c) => {
    const extra = (c.securityContext?.capabilities?.add ?? []).filter((cap) => !BASELINE_CAPABILITIES.includes(cap));
    return extra.length > 0 ? [`container "${c.name ?? ''}" must not include ${quoteList(extra)} in securityContext.capabilities.add`] : [];
  });
  if (capDetails.length > 0) violations.push(`non-default capabilities (${capDetails.join('; ')})`);
  const hostNs = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec[f] === true).map((f) => `${f}=true`);
  if (hostNs.length > 0) violations.push(`host namespaces (${hostNs.join(', ')})`);
  const hostPaths = (spec.volumes ?? []).filter((v) => v.hostPath).map((v) => v.name ?? '');
  if (hostPaths.length > 0) violations.push(`hostPath volumes (${hostPaths.length === 1 ? 'volume' : 'volumes'} ${quoteList(hostPaths)})`);
  const privileged = containers.filter((c) => c.securityContext?.privileged === true).map((c) => c.name ?? '');
  if (privileged.length > 0) violations.push(`privileged (${containersPhrase(privileged)} must not set securityContext.privileged=true)`);
  if (level === 'baseline') return violations;
  const escalation = containers.filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name ?? '');
  if (escalation.length > 0) violations.push(`allowPrivilegeEscalation != false (${containersPhrase(escalation)} must set securityContext.allowPrivilegeEscalation=false)`);
  const noDrop = containers.filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL')).map((c) => c.name ?? '');
  const restrictedAdds = containers.flatMap((c) => {
    const extra = (c.securityContext?.capabilities?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    return extra.length > 0 ? [`container "${c.name ?? ''}" must not include ${quoteList(extra)} in securityContext.capabilities.add`] : [];
  });
  const capParts = [...(noDrop.length > 0 ? [`${containersPhrase(noDrop)} must set securityContext.capabilities.drop=["ALL"]`] : []), ...restrictedAdds];
  if (capParts.length > 0) violations.push(`unrestricted capabilities (${capParts.join('; ')})`);
  const podNonRoot = spec.securityContext?.runAsNonRoot === true;
  const rootish = containers.filter((c) => (c.securityContext?.runAsNonRoot ?? podNonRoot) !== true).map((c) => c.name ?? '');
  if (rootish.length > 0) violations.push(`runAsNonRoot != true (pod or ${containersPhrase(rootish)} must set securityContext.runAsNonRoot=true)`);
  const podSeccomp = spec.securityContext?.seccompProfile?.type;
  const noSeccomp = containers
    .filter((c) => !['RuntimeDefault', 'Localhost'].includes(c.securityContext?.seccompProfile?.type ?? podSeccomp ?? ''))
    .map((c) => c.name ?? '');
  if (noSeccomp.length > 0) violations.push(`seccompProfile (pod or ${containersPhrase(noSeccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`);
  return violations;
}

/**
 * Pod Security admission of a pod create or a `pods/ephemeralcontainers` update, as the real plugin does it: throws 403
 * Forbidden when the pod violates the namespace's `enforce` level; otherwise returns a `would violate` warning for the
 * `warn` level and audit annotations for the `audit` level (each only when the pod violates that level).
 */
export function admitPodSecurity(pod: KubeObject, namespace: KubeObject | undefined): PodSecurityOutcome {
  const spec = (pod['spec'] ?? {}) as PodSpec;
  const enforce = readLevel(namespace, 'enforce');
  const violations = checkPodSecurity(enforce, spec);
  const name = pod.metadata.name ?? '';
  if (violations.length > 0) {
    throw new StatusError(403, 'Forbidden', `pods "${name}" is forbidden: violates PodSecurity "${enforce}:latest": ${violations.join(', ')}`, { name, kind: 'pods' });
  }
  const outcome: PodSecurityOutcome = { warnings: [], auditAnnotations: {} };
  const warn = readLevel(namespace, 'warn');
  const warned = checkPodSecurity(warn, spec);
  if (warned.length > 0) outcome.warnings.push(`would violate PodSecurity "${warn}:latest": ${warned.join(', ')}`);
  const audit = readLevel(namespace, 'audit');
  const audited = checkPodSecurity(audit, spec);
  outcome.auditAnnotations['pod-security.kubernetes.io/enforce-policy'] = `${enforce}:latest`;
  if (audited.length > 0) outcome.auditAnnotations['pod-security.kubernetes.io/audit-violations'] = `would violate PodSecurity "${audit}:latest": ${audited.join(', ')}`;
  return outcome;
}

/**
 * Validates a change to spec.ephemeralContainers: existing ones stay unchanged, new ones need name and image, no ports,
 * and unique names across the pod. Throws 422 Invalid like the real API.
 */
export function validateEphemeralContainers(oldPod: KubeObject, newPod: KubeObject): void {
  const name = oldPod.metadata.name ?? '';
  const oldSpec = (oldPod['spec'] ?? {}) as PodSpec;
  const newSpec = (newPod['spec'] ?? {}) as PodSpec;
  const oldEcs = oldSpec.ephemeralContainers ?? [];
  const newEcs = newSpec.ephemeralContainers ?? [];
  const removed = oldEcs.filter((o) => !newEcs.some((n) => n.name === o.name)).map((o) => o.name ?? '');
  if (removed.length > 0) {
    throw invalid('Pod', name, 'spec.ephemeralContainers', 'Forbidden', `existing ephemeral containers ${quoteList(removed)} may not be removed`);
  }
  const changed = oldEcs.filter((o) => JSON.stringify(newEcs.find((n) => n.name === o.name)) !== JSON.stringify(o)).map((o) => o.name ?? '');
  if (changed.length > 0) {
    throw invalid('Pod', name, 'spec.ephemeralContainers', 'Forbidden', `existing ephemeral containers ${quoteList(changed)} may not be changed`);
  }
  const taken = new Set([...(oldSpec.containers ?? []), ...(oldSpec.initContainers ?? [])].map((c) => c.name));
  newEcs.forEach((ec, i) => {
    const field = `spec.ephemeralContainers[${i}]`;
    if (!ec.name) throw invalid('Pod', name, `${field}.name`, 'Required', 'Required value');
    if (!ec.image) throw invalid('Pod', name, `${field}.image`, 'Required', 'Required value');
    if (ec.ports !== undefined && ec.ports.length > 0) throw invalid('Pod', name, `${field}.ports`, 'Forbidden', 'cannot be set for an Ephemeral Container');
    if (taken.has(ec.name)) throw invalid('Pod', name, `${field}.name`, 'Duplicate', `Duplicate value: "${ec.name}"`);
    taken.add(ec.name);
  });
}

/** The attributes of one request, as RBAC sees them. */
export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** Whether a deny rule matches a request ('*' matches any verb or resource). */
export function matchesDeny(rule: ScenarioRbacDeny, attrs: RequestAttributes): boolean {
  const [ruleResource = '', ruleSub] = rule.resource.includes('/') ? rule.resource.split('/', 2) : [rule.resource, rule.subresource];
  if (rule.verb !== '*' && rule.verb !== attrs.verb) return false;
  if (ruleResource !== '*' && ruleResource !== attrs.resource) return false;
  if ((ruleSub ?? '') !== (attrs.subresource ?? '')) return false;
  return rule.namespace === undefined || rule.namespace === attrs.namespace;
}

/** The user name the lab's token stands for. */
const LAB_USER = 'lab-user';

/** Throws 403 Forbidden with the real RBAC message when a deny rule matches. */
export function authorize(rules: readonly ScenarioRbacDeny[], attrs: RequestAttributes): void {
  if (!rules.some((rule) => matchesDeny(rule, attrs))) return;
  const full = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const gr = formatGroupResource(attrs.resource, attrs.group);
  const subject = attrs.name ? `${gr} "${attrs.name}"` : gr;
  const scope = attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
  throw new StatusError(403, 'Forbidden', `${subject} is forbidden: User "${LAB_USER}" cannot ${attrs.verb} resource "${full}" in API group "${attrs.group}" ${scope}`, {
    name: attrs.name,
    group: attrs.group || undefined,
    kind: attrs.resource,
  });
}
