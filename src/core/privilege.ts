/**
 * Least privilege for the debug containers, as a pure function of what the API says: the Pod Security level of each
 * namespace a container goes to, whether its pod demands non-root, the node it runs on and which probes it must run.
 * Each location gets the smallest securityContext that runs its probes at that level; what cannot run there is skipped
 * with the reason and the level named, and a location that cannot exist at all (hostNetwork under baseline, a Windows
 * node) says why.
 */
import type { ProbeAction, ProbeLocation, ProbeSpec } from './model.ts';
import { locationKey } from './model.ts';
import { compareText } from './compare.ts';

/** The Pod Security Standards levels, weakest first. */
export const POD_SECURITY_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
/** One Pod Security level. */
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/** The Linux capabilities a probe may need beyond none at all. */
export type NetCapability = 'NET_RAW' | 'NET_ADMIN';

/** The uid the debug container runs as when it must not be root (the distroless `nonroot` user). */
export const NON_ROOT_UID = 65532;

/** The securityContext of a debug container, in the shape the API takes it (and the order the plugin writes it). */
export interface DebugSecurityContext {
  allowPrivilegeEscalation: false;
  capabilities: { drop: ['ALL']; add?: NetCapability[] };
  runAsNonRoot?: true;
  runAsUser?: number;
  seccompProfile: { type: 'RuntimeDefault' };
}

/** A node as the privilege decision reads it: its labels (OS, managed compute) and name. */
export interface NodeTraits {
  name: string;
  labels: Record<string, string>;
}

/** What the decision needs to know about where each location's container goes. */
export interface PrivilegeInput {
  /** The source pod's namespace, its `enforce` level, and whether the pod demands non-root (spec.securityContext.runAsNonRoot). */
  source?: { namespace: string; level: PodSecurityLevel; podRunAsNonRoot: boolean; node: string; name?: string };
  /** Where node debug pods go, and that namespace's `enforce` level. */
  nodeNamespace: { name: string; level: PodSecurityLevel };
  /** The nodes node pods may go to (absent: nothing known, no refusal). */
  nodes: readonly NodeTraits[];
  /**
   * What a location needs beyond its probes (the `--trace` captures: tcpdump opens a packet socket, CAP_NET_RAW),
   * granted or skipped like a probe's need, by its id.
   */
  extraNeeds?: readonly ExtraNeed[];
}

/** A capability a location needs for something that is no probe (e.g. the trace's tcpdump), with its id and why. */
export interface ExtraNeed {
  id: string;
  where: ProbeLocation;
  caps: NetCapability[];
  why: string;
}

/** What one location gets: a container to create with this securityContext, or why it cannot exist. */
export type LocationPrivilege =
  | { kind: 'allowed'; securityContext: DebugSecurityContext; level: PodSecurityLevel; namespace: string }
  | { kind: 'refused'; reason: string };

/** The decision for a whole plan: per location (by locationKey) and the probes skipped (by probe id), with reasons. */
export interface PrivilegePlan {
  locations: Map<string, LocationPrivilege>;
  skipped: Map<string, string>;
}

/** The capabilities one probe action needs, and why (for the skip reason); empty for DNS, TCP and reads of /proc and /sys. */
export function capabilitiesFor(action: ProbeAction): { caps: NetCapability[]; why?: string } {
  switch (action.tool) {
    case 'tcp-connect':
    case 'dns-lookup':
    case 'sysctl':
    case 'route-match':
    case 'veth-peer':
    case 'bridge-ports':
    case 'links':
    case 'resolv-conf':
      return { caps: [] };
    case 'neighbor':
      return action.refresh ? { caps: ['NET_RAW'], why: 'ping (to refresh the neighbor entry)' } : { caps: [] };
    case 'packet-loss':
      return { caps: ['NET_RAW'], why: 'ping' };
    case 'path-mtu':
      return { caps: ['NET_RAW'], why: 'path-MTU pings' };
    case 'forward-policy':
    case 'nat-rules':
      // iptables reads the tables through netfilter (CAP_NET_ADMIN); the legacy backend opens a raw socket (CAP_NET_RAW).
      return { caps: ['NET_ADMIN', 'NET_RAW'], why: 'iptables (reading the netfilter tables)' };
    default: {
      const never: never = action;
      throw new Error(`unknown probe action ${JSON.stringify(never)}`);
    }
  }
}

/** The `enforce` level a namespace's labels set (absent or unknown: privileged, as the admission plugin reads it). */
export function enforceLevel(labels: Readonly<Record<string, string>> | undefined): PodSecurityLevel {
  const v = labels?.['pod-security.kubernetes.io/enforce'];
  return v === 'baseline' || v === 'restricted' ? v : 'privileged';
}

/** The node label (as `key=value`) of a Windows node, named in every refusal a Windows node causes. */
export const WINDOWS_OS_LABEL = 'kubernetes.io/os=windows';

/** Why a node cannot take a Linux debug pod (Windows, EKS Fargate, GKE Autopilot), from its labels; undefined when it can. */
export function nodeRefusal(node: NodeTraits): string | undefined {
  const l = node.labels;
  if (l['kubernetes.io/os'] === 'windows') {
    return `node ${node.name} runs Windows (${WINDOWS_OS_LABEL}): netdebug's debug pods are Linux containers and cannot run there`;
  }
  if (l['eks.amazonaws.com/compute-type'] === 'fargate') {
    return `node ${node.name} is an EKS Fargate node (eks.amazonaws.com/compute-type=fargate): Fargate runs no hostNetwork or privileged pods and takes no pods bound to a node`;
  }
  if (node.name.startsWith('gk3-') && l['cloud.google.com/gke-nodepool'] !== undefined) {
    return `node ${node.name} is a GKE Autopilot node (gk3- node pool ${l['cloud.google.com/gke-nodepool']}): Autopilot rejects hostNetwork pods and NET_ADMIN`;
  }
  return undefined;
}

/**
 * Why a pod on this node cannot take netdebug's ephemeral container, or undefined when it can: a Windows pod runs
 * Windows containers only, so the Linux debug image (netbox) never starts there and there is no Linux network namespace
 * to probe from. (Fargate and Autopilot pods do take ephemeral containers; only their nodes refuse node pods.)
 */
export function sourcePodRefusal(pod: string, node: NodeTraits): string | undefined {
  if (node.labels['kubernetes.io/os'] !== 'windows') return undefined;
  return `pod ${pod} runs on node ${node.name}, a Windows node (${WINDOWS_OS_LABEL}): netdebug's debug container is a Linux image (netbox) that cannot run in a Windows pod, and the pod has no Linux network namespace to probe from`;
}

/** Whether a level lets a container add these capabilities (baseline and restricted allow neither NET_RAW nor NET_ADMIN). */
function levelAllows(level: PodSecurityLevel, caps: readonly NetCapability[]): boolean {
  return caps.length === 0 || level === 'privileged';
}

/** The least securityContext: never escalation, every capability dropped, only `add` re-granted, non-root when asked. */
export function debugSecurityContext(add: readonly NetCapability[], nonRoot: boolean): DebugSecurityContext {
  const sorted = [...new Set(add)].sort();
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'], ...(sorted.length > 0 ? { add: sorted } : {}) },
    ...(nonRoot ? { runAsNonRoot: true as const, runAsUser: NON_ROOT_UID } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * Decides every location's container and which probes cannot run (pure). A location's capabilities are the union of
 * what its probes need, when its namespace's level allows them and it runs as root; a probe needing more is skipped
 * with the capability, the tool, the level and the namespace named.
 */
export function planPrivileges(probes: readonly ProbeSpec[], input: PrivilegeInput): PrivilegePlan {
  const locations = new Map<string, LocationPrivilege>();
  const skipped = new Map<string, string>();
  const byLocation = new Map<string, { where: ProbeLocation; probes: ProbeSpec[] }>();
  for (const p of probes) {
    const key = locationKey(p.where);
    const entry = byLocation.get(key) ?? { where: p.where, probes: [] };
    entry.probes.push(p);
    byLocation.set(key, entry);
  }
  for (const [key, { where, probes: here }] of byLocation) {
    const decided = decideLocation(where, input);
    if (decided.kind === 'refused') {
      locations.set(key, decided);
      continue;
    }
    const { namespace, level, nonRoot, nonRootWhy } = decided;
    const granted = new Set<NetCapability>();
    const extra = (input.extraNeeds ?? []).filter((n) => locationKey(n.where) === key);
    const needs = [...here.map((p) => ({ id: p.id, need: capabilitiesFor(p.action) })), ...extra.map((n) => ({ id: n.id, need: { caps: n.caps, why: n.why } }))];
    for (const p of needs) {
      const need = p.need;
      if (need.caps.length === 0) continue;
      if (nonRoot) {
        skipped.set(p.id, `needs ${need.caps.join(' and ')} for ${need.why ?? 'this check'}, which a non-root container does not have (${nonRootWhy})`);
      } else if (!levelAllows(level, need.caps)) {
        skipped.set(p.id, `needs ${need.caps.join(' and ')} for ${need.why ?? 'this check'}, which Pod Security "${level}" (enforced in namespace ${namespace}) forbids`);
      } else {
        for (const c of need.caps) granted.add(c);
      }
    }
    locations.set(key, { kind: 'allowed', securityContext: debugSecurityContext([...granted], nonRoot), level, namespace });
  }
  return { locations, skipped };
}

/** Where one location's container goes and whether it must be non-root, or why it cannot exist. */
function decideLocation(
  where: ProbeLocation,
  input: PrivilegeInput,
): { kind: 'refused'; reason: string } | { kind: 'ok'; namespace: string; level: PodSecurityLevel; nonRoot: boolean; nonRootWhy: string } {
  switch (where.kind) {
    case 'source-pod': {
      const s = input.source;
      if (!s) return { kind: 'refused', reason: 'the source is a node, not a pod: there is no source pod to probe from' };
      const node = input.nodes.find((n) => n.name === s.node);
      const refusal = node ? sourcePodRefusal(s.name === undefined ? `a pod in namespace ${s.namespace}` : `${s.namespace}/${s.name}`, node) : undefined;
      if (refusal) return { kind: 'refused', reason: refusal };
      const nonRoot = s.podRunAsNonRoot || s.level === 'restricted';
      const nonRootWhy = s.podRunAsNonRoot ? `the source pod sets runAsNonRoot: true` : `Pod Security "restricted" (enforced in namespace ${s.namespace}) requires runAsNonRoot`;
      return { kind: 'ok', namespace: s.namespace, level: s.level, nonRoot, nonRootWhy };
    }
    case 'node-pod': {
      const node = input.nodes.find((n) => n.name === where.node);
      const refusal = node ? nodeRefusal(node) : undefined;
      if (refusal) return { kind: 'refused', reason: refusal };
      const { name, level } = input.nodeNamespace;
      if (where.hostNetwork && level !== 'privileged') {
        return {
          kind: 'refused',
          reason: `node debug pods use hostNetwork, which Pod Security "${level}" (enforced in namespace ${name}) forbids: use --node-namespace with a namespace that allows privileged pods`,
        };
      }
      return {
        kind: 'ok',
        namespace: name,
        level,
        nonRoot: level === 'restricted',
        nonRootWhy: `Pod Security "restricted" (enforced in namespace ${name}) requires runAsNonRoot`,
      };
    }
    default: {
      const never: never = where;
      throw new Error(`unknown location ${JSON.stringify(never)}`);
    }
  }
}

/** Whether two securityContexts are the same, field by field (the API returns them in its own key order). */
export function sameSecurityContext(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with object keys sorted (arrays keep their order), for comparing API objects. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => compareText(x, y))) : v,
  );
}
