/**
 * The preflight of a run, before anything is created: the Pod Security labels of the namespaces debug containers go to,
 * the source pod's runAsNonRoot, the nodes' labels and taints, and the rights the run needs (one SelfSubjectRulesReview
 * per namespace, or one SelfSubjectAccessReview per right where rules cannot be listed; in parallel). From them, each location's least securityContext (core/privilege.ts), the probes skipped and why, the
 * locations refused and why, and the rights missing; `guardProber` applies all of it around the real Prober.
 */
import type { KubeConfig, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import type { ClusterFacts } from '../core/facts.ts';
import { locationKey, type ProbeLocation, type ProbeResult, type ProbeSpec } from '../core/model.ts';
import { enforceLevel, planPrivileges, type DebugSecurityContext, type ExtraNeed, type NodeTraits, type PodSecurityLevel, type PrivilegePlan } from '../core/privilege.ts';
import { formatRight, runRights, type NeededRight, type Right } from '../core/rbac.ts';
import type { LocationStatus, ProbeBatch, Prober } from '../ports.ts';
import type { CaptureLocation } from '../core/trace-plan.ts';
import { createKubeApi, type KubeApi } from './api.ts';
import type { SharedReads } from './shared-reads.ts';

/** How one location's container is built: its securityContext, and for node pods the tolerations of the node's taints. */
export interface LocationSettings {
  securityContext: DebugSecurityContext;
  tolerations?: V1Toleration[];
  /** For the source pod: the pod as just read (so it is not read twice). */
  pod?: V1Pod;
}

/** Everything the preflight found. */
export interface Preflight {
  privileges: PrivilegePlan;
  /** Rights the API says this user lacks. */
  missing: NeededRight[];
  /** What the preflight could not read (it then assumes the least restrictive answer and lets the API decide). */
  notes: string[];
  /** The node namespace's enforce level (for messages). */
  nodeNamespace: { name: string; level: PodSecurityLevel };
  /** The tolerations for each node's taints. */
  tolerations: Map<string, V1Toleration[]>;
  /** The source pod as the preflight read it (the prober starts from it rather than reading it again). */
  sourcePod?: V1Pod;
}

/** What the preflight says as it goes, for progress output. */
export type PreflightEvent =
  | { type: 'rights-missing'; rights: string[] }
  | { type: 'location-refused'; key: string; reason: string }
  | { type: 'probes-skipped'; probes: { id: string; reason: string }[] }
  | { type: 'preflight-note'; text: string };

/** Options of the preflight. */
export interface PreflightOptions {
  nodeNamespace: string;
  /** The source pod as resolution read it (its securityContext decides runAsNonRoot), when there was one. */
  sourcePod?: V1Pod | Promise<V1Pod | undefined>;
  requestTimeoutMs?: number;
  countRequest?: () => void;
  /** The run's shared reads (namespaces, rules reviews), which may already be under way; absent: read here. */
  shared?: SharedReads;
  /** What locations need beyond their probes (the --trace captures), granted or skipped like a probe's need. */
  extraNeeds?: readonly ExtraNeed[];
}

/** Tolerations that let a pod onto a node with these taints (each taint tolerated exactly, NoExecute included). */
export function tolerationsFor(taints: readonly V1Taint[]): V1Toleration[] {
  return taints.map((t) => ({
    key: t.key,
    ...(t.value !== undefined && t.value !== '' ? { operator: 'Equal', value: t.value } : { operator: 'Exists' }),
    effect: t.effect,
  }));
}

/** Asks the API about each right, in parallel; returns the ones it denies. A review the API cannot answer is not a denial. */
export async function missingRights<R extends Right>(api: KubeApi, rights: readonly R[]): Promise<{ missing: R[]; unknown: string[] }> {
  const answers = await Promise.all(
    rights.map(async (r) => {
      try {
        const review = await api.call({ verb: 'create', resource: 'selfsubjectaccessreviews', group: 'authorization.k8s.io' }, () =>
          api.authorization.createSelfSubjectAccessReview({
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: {
                resourceAttributes: {
                  verb: r.verb,
                  group: r.group,
                  resource: r.resource,
                  ...(r.subresource ? { subresource: r.subresource } : {}),
                  ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
                },
              },
            },
          }),
        );
        return { r, allowed: review.status?.allowed === true };
      } catch (err) {
        return { r, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  return {
    missing: answers.flatMap((a) => ('allowed' in a && !a.allowed ? [a.r] : [])),
    unknown: answers.flatMap((a) => ('error' in a ? [`${formatRight(a.r)}: ${a.error}`] : [])),
  };
}

/** One rule of a SelfSubjectRulesReview's answer. */
interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

/** Whether a rule grants a right, as RBAC matches it: a star for any verb, group or resource, or any subresource of one. */
export function ruleGrants(rule: ResourceRule, r: Right): boolean {
  if (rule.resourceNames && rule.resourceNames.length > 0) return false; // only named objects: not "any pod"
  if (!rule.verbs.includes('*') && !rule.verbs.includes(r.verb)) return false;
  if (!(rule.apiGroups ?? []).some((g) => g === '*' || g === r.group)) return false;
  const full = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  return (rule.resources ?? []).some(
    (res) => res === '*' || res === full || (r.subresource !== undefined && (res === `*/${r.subresource}` || res === `${r.resource}/*`)),
  );
}

/**
 * Which rights the user lacks, with one SelfSubjectRulesReview per namespace; where the API cannot answer one
 * completely (`incomplete`, a webhook authorizer, or no such API), one SelfSubjectAccessReview per right instead.
 */
export async function missingRightsByRules<R extends Right>(api: KubeApi, rights: readonly R[], shared?: SharedReads): Promise<{ missing: R[]; unknown: string[] }> {
  const byNamespace = new Map<string | undefined, R[]>();
  for (const r of rights) byNamespace.set(r.namespace, [...(byNamespace.get(r.namespace) ?? []), r]);
  const results = await Promise.all(
    [...byNamespace].map(async ([namespace, here]) => {
      if (namespace === undefined) return missingRights(api, here);
      try {
        const review = shared
          ? await shared.rulesReview(namespace)
          : await api.call({ verb: 'create', resource: 'selfsubjectrulesreviews', group: 'authorization.k8s.io' }, () =>
              api.authorization.createSelfSubjectRulesReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } } }),
            );
        if (review.status?.incomplete !== false) return missingRights(api, here);
        const rules = review.status.resourceRules ?? [];
        return { missing: here.filter((r) => !rules.some((rule) => ruleGrants(rule, r))), unknown: [] };
      } catch {
        return missingRights(api, here);
      }
    }),
  );
  return { missing: results.flatMap((x) => x.missing), unknown: results.flatMap((x) => x.unknown) };
}

/**
 * Runs the preflight for one plan (only reads and access reviews: nothing is created). The namespaces, the source pod,
 * the nodes and the reviews are all asked for at once.
 */
export async function runPreflight(kc: KubeConfig, facts: ClusterFacts, probes: readonly ProbeSpec[], opts: PreflightOptions): Promise<Preflight> {
  const api = createKubeApi(kc, { ...(opts.countRequest ? { countRequest: opts.countRequest } : {}), ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}) });
  const source = facts.targets.source;
  const notes: string[] = [];
  const usesSource = probes.some((p) => p.where.kind === 'source-pod');
  // The source pod's node too: a Windows one cannot take the Linux debug container (privilege.ts, sourcePodRefusal).
  const nodeNames = [...new Set(probes.flatMap((p) => (p.where.kind === 'node-pod' ? [p.where.node] : [])))];
  const readNodes = [...new Set([...nodeNames, ...(source.kind === 'pod' && usesSource ? [source.node] : [])])];
  const sourceNamespace = source.kind === 'pod' && usesSource ? source.namespace : undefined;
  const nodeNamespace = nodeNames.length > 0 ? opts.nodeNamespace : undefined;

  const readLevel = async (namespace: string): Promise<PodSecurityLevel> => {
    // The resolve read the targets' namespaces already (a readable one always has its kubernetes.io/metadata.name label).
    const known = facts.policy?.namespaces[namespace];
    if (known?.['kubernetes.io/metadata.name'] !== undefined) return enforceLevel(known);
    try {
      const ns = opts.shared ? await opts.shared.namespace(namespace) : await api.call({ verb: 'get', resource: 'namespaces', name: namespace }, () => api.core.readNamespace({ name: namespace }));
      return enforceLevel(ns.metadata?.labels);
    } catch (err) {
      notes.push(`could not read the Pod Security labels of namespace ${namespace} (${err instanceof Error ? err.message : String(err)}): assuming none`);
      return 'privileged';
    }
  };
  let sourcePod: V1Pod | undefined;
  const readPodNonRoot = async (): Promise<boolean> => {
    if (source.kind !== 'pod' || sourceNamespace === undefined) return false;
    // Resolution already read the source pod: its securityContext is in that read (no second request).
    const known = await opts.sourcePod;
    if (known && known.metadata?.namespace === source.namespace && known.metadata?.name === source.name) {
      sourcePod = known;
      return known.spec?.securityContext?.runAsNonRoot === true;
    }
    try {
      const pod = await api.call({ verb: 'get', resource: 'pods', namespace: source.namespace, name: source.name }, () =>
        api.core.readNamespacedPod({ namespace: source.namespace, name: source.name }),
      );
      sourcePod = pod;
      return pod.spec?.securityContext?.runAsNonRoot === true;
    } catch (err) {
      notes.push(`could not read the source pod's securityContext (${err instanceof Error ? err.message : String(err)})`);
      return false;
    }
  };
  const readNode = async (name: string): Promise<{ traits: NodeTraits; taints: V1Taint[] } | undefined> => {
    const known = facts.nodes.find((n) => n.name === name);
    if (known?.labels !== undefined) return { traits: { name, labels: known.labels }, taints: known.taints ?? [] };
    try {
      const node = await api.call({ verb: 'get', resource: 'nodes', name }, () => api.core.readNode({ name }));
      return { traits: { name, labels: node.metadata?.labels ?? {} }, taints: node.spec?.taints ?? [] };
    } catch (err) {
      notes.push(`could not read node ${name} (${err instanceof Error ? err.message : String(err)}): its taints are not tolerated`);
      return undefined;
    }
  };
  const rights = runRights({ ...(sourceNamespace !== undefined ? { sourceNamespace } : {}), ...(nodeNamespace !== undefined ? { nodeNamespace } : {}) });
  const [sourceLevel, nodeLevel, podNonRoot, nodes, reviewed] = await Promise.all([
    sourceNamespace !== undefined ? readLevel(sourceNamespace) : Promise.resolve<PodSecurityLevel>('privileged'),
    nodeNamespace !== undefined && nodeNamespace !== sourceNamespace ? readLevel(nodeNamespace) : Promise.resolve<PodSecurityLevel | undefined>(undefined),
    readPodNonRoot(),
    Promise.all(readNodes.map(readNode)),
    missingRightsByRules(api, rights, opts.shared),
  ]);
  for (const u of reviewed.unknown) notes.push(`could not check the right to ${u}`);
  const nodeNs = { name: opts.nodeNamespace, level: nodeLevel ?? (opts.nodeNamespace === sourceNamespace ? sourceLevel : 'privileged') };
  const known = nodes.flatMap((n) => (n ? [n] : []));
  const privileges = planPrivileges(probes, {
    ...(source.kind === 'pod' ? { source: { namespace: source.namespace, name: source.name, level: sourceLevel, podRunAsNonRoot: podNonRoot, node: source.node } } : {}),
    nodeNamespace: nodeNs,
    nodes: known.map((n) => n.traits),
    ...(opts.extraNeeds ? { extraNeeds: opts.extraNeeds } : {}),
  });
  return {
    privileges,
    missing: reviewed.missing,
    notes,
    nodeNamespace: nodeNs,
    tolerations: new Map(known.map((n) => [n.traits.name, tolerationsFor(n.taints)])),
    ...(sourcePod ? { sourcePod } : {}),
  };
}

/** Which rights a location cannot do without (exec and progress are named, never a reason to stop: the API decides). */
function gatingRights(where: ProbeLocation, missing: readonly NeededRight[]): NeededRight[] {
  const use = where.kind === 'source-pod' ? 'source-pod' : 'node-pods';
  return missing.filter((r) => r.use === use);
}

/** The settings of one location's container from the preflight (undefined when the location is refused). */
export function settingsOf(pf: Preflight, where: ProbeLocation): LocationSettings | undefined {
  const decided = pf.privileges.locations.get(locationKey(where));
  if (!decided || decided.kind !== 'allowed') return undefined;
  const tolerations = where.kind === 'node-pod' ? pf.tolerations.get(where.node) : undefined;
  const pod = where.kind === 'source-pod' ? pf.sourcePod : undefined;
  return { securityContext: decided.securityContext, ...(tolerations ? { tolerations } : {}), ...(pod ? { pod } : {}) };
}

/**
 * Wraps the real Prober with the preflight: nothing is prepared before it has answered; a location it refuses (Windows,
 * Fargate, Autopilot, hostNetwork under baseline, a missing right to create or delete) is reported not ready with the
 * reason, and a probe its location cannot run at that level is could-not-run with the reason, without an exec.
 */
export function guardProber(inner: Prober, preflight: () => Promise<Preflight>, onEvent?: (e: PreflightEvent) => void): Prober {
  let announced: Promise<Preflight> | undefined;
  /** The preflight once it has answered (prepare awaits it, and a batch only starts after its location is prepared). */
  let settled: Preflight | undefined;
  const emit = (e: PreflightEvent): void => {
    try {
      onEvent?.(e);
    } catch {
      /* a reporter bug must not break probing */
    }
  };
  const ready = (): Promise<Preflight> =>
    (announced ??= preflight().then((pf) => {
      for (const text of pf.notes) emit({ type: 'preflight-note', text });
      if (pf.missing.length > 0) emit({ type: 'rights-missing', rights: pf.missing.map((r) => `${formatRight(r)} (to ${r.why})`) });
      for (const [key, l] of pf.privileges.locations) if (l.kind === 'refused') emit({ type: 'location-refused', key, reason: l.reason });
      if (pf.privileges.skipped.size > 0) emit({ type: 'probes-skipped', probes: [...pf.privileges.skipped].map(([id, reason]) => ({ id, reason })) });
      settled = pf;
      return pf;
    }));
  return {
    async prepare(locations, planned) {
      const pf = await ready();
      const out = new Map<string, LocationStatus>();
      const go: ProbeLocation[] = [];
      for (const where of locations) {
        const key = locationKey(where);
        const decided = pf.privileges.locations.get(key);
        const gating = gatingRights(where, pf.missing);
        if (decided?.kind === 'refused') out.set(key, { ready: false, reason: decided.reason });
        else if (gating.length > 0) out.set(key, { ready: false, reason: `RBAC: this user may not ${gating.map(formatRight).join(', ')} (run \`kubectl netdebug rbac\` for what to grant)` });
        else go.push(where);
      }
      // The probes the privileges skip are not started with a location either (runBatch never asks for them).
      const allowed = planned ? new Map([...planned].map(([k, specs]) => [k, specs.filter((s) => !pf.privileges.skipped.has(s.id))])) : undefined;
      if (go.length > 0) for (const [k, v] of await inner.prepare(go, allowed)) out.set(k, v);
      return out;
    },
    async run(spec) {
      const pf = await ready();
      const reason = pf.privileges.skipped.get(spec.id);
      if (reason !== undefined) return { spec, observation: { kind: 'could-not-run', reason: `skipped: ${reason}` }, durationMs: 0 };
      return inner.run(spec);
    },
    ...(inner.runBatch
      ? {
          runBatch(specs: ProbeSpec[]): ProbeBatch {
            // The probes the privileges skip never reach the batch; the others run in it, in order.
            const skipped = (s: ProbeSpec): string | undefined => settled?.privileges.skipped.get(s.id);
            const go = specs.filter((s) => skipped(s) === undefined);
            const batch = go.length > 0 ? inner.runBatch?.(go) : undefined;
            const byId = new Map(go.map((s, i) => [s.id, batch?.results[i]]));
            return {
              results: specs.map((s) => {
                const reason = skipped(s);
                if (reason !== undefined) return Promise.resolve<ProbeResult>({ spec: s, observation: { kind: 'could-not-run', reason: `skipped: ${reason}` }, durationMs: 0 });
                return byId.get(s.id) ?? Promise.resolve<ProbeResult>({ spec: s, observation: { kind: 'could-not-run', reason: 'not run' }, durationMs: 0 });
              }),
              cutOff: (ids) => batch?.cutOff(ids),
            };
          },
        }
      : {}),
    ...(inner.capture ? { capture: (where: CaptureLocation, command: string[], o: { mark: string; timeoutMs: number }) => (inner.capture as NonNullable<Prober['capture']>)(where, command, o) } : {}),
    cleanup: () => inner.cleanup(),
    execs: () => inner.execs(),
    ...(inner.execTarget ? { execTarget: (where: ProbeLocation) => inner.execTarget?.(where) } : {}),
  };
}
