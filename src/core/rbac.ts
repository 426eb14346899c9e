/**
 * The RBAC rights kubectl-netdebug uses, as data: which rights one run needs after it has read its targets (what it
 * creates, execs into, watches and deletes, and where), and the minimal Role and ClusterRole manifests a cluster admin
 * can apply. Pure: the preflight in src/kube/rbac-preflight.ts asks the API about these rights.
 */

/** One right: a verb on a resource (with its API group and subresource) in a namespace, or cluster-wide. */
export interface Right {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** Absent: cluster-wide. */
  namespace?: string;
}

/** What a missing right stops: the ephemeral container, the node debug pods, or the probes. */
export type RightUse = 'source-pod' | 'node-pods' | 'exec';

/** A right a run needs, what needs it, and why (said when it is missing). */
export interface NeededRight extends Right {
  use: RightUse;
  why: string;
}

/** `create pods/exec in namespace shop`, `list nodes (cluster-wide)`: how a right is named to the user. */
export function formatRight(r: Right): string {
  const res = `${r.resource}${r.subresource ? `/${r.subresource}` : ''}${r.group ? `.${r.group}` : ''}`;
  return `${r.verb} ${res} ${r.namespace !== undefined ? `in namespace ${r.namespace}` : '(cluster-wide)'}`;
}

/**
 * The rights a run cannot do without once its targets are read (reads are needed, and checked, by resolving them): in
 * the source pod's namespace to add the ephemeral container and exec into it; in the node namespace to create, exec
 * into and delete node debug pods. (Watching pods and their events and listing expired ones come with these in every
 * role an admin writes, and a refusal of them is reported where it happens.)
 */
export function runRights(opts: { sourceNamespace?: string; nodeNamespace?: string }): NeededRight[] {
  const rights: NeededRight[] = [];
  // The manifest grants `get` too (a WebSocket exec is authorized as `get` by older API servers): `create` is the one
  // every server checks, so it stands for both here, which keeps the preflight to one review per right that matters.
  const exec = (namespace: string, who: string): NeededRight[] => [
    { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace, use: 'exec', why: `run probes in ${who}` },
  ];
  if (opts.sourceNamespace !== undefined) {
    const ns = opts.sourceNamespace;
    rights.push(
      { verb: 'patch', group: '', resource: 'pods', subresource: 'ephemeralcontainers', namespace: ns, use: 'source-pod', why: 'add the debug container to the source pod' },
      ...exec(ns, 'the source pod'),
    );
  }
  if (opts.nodeNamespace !== undefined) {
    const ns = opts.nodeNamespace;
    rights.push(
      { verb: 'create', group: '', resource: 'pods', namespace: ns, use: 'node-pods', why: 'create node debug pods' },
      { verb: 'delete', group: '', resource: 'pods', namespace: ns, use: 'node-pods', why: 'delete node debug pods after the run' },
      ...exec(ns, 'node debug pods'),
    );
  }
  // One review per right: the source's and the node namespace may be the same.
  const seen = new Set<string>();
  return rights.filter((r) => {
    const key = formatRight(r);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One rule of a Role or ClusterRole. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The reads of a run, in any namespace the targets are in (a ClusterRole bound with a ClusterRoleBinding). */
export const READ_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list'] },
  { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] },
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list'] },
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['get', 'list'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
];

/** The debug container in a source pod, in the namespaces the user debugs from (a ClusterRole bound per namespace). */
export const SOURCE_POD_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['patch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['watch'] },
  { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
  { apiGroups: [''], resources: ['events'], verbs: ['watch'] },
];

/** Node debug pods, in the node namespace only (a Role there). */
export const NODE_POD_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['pods'], verbs: ['create', 'watch', 'delete', 'list'] },
  { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
  { apiGroups: [''], resources: ['events'], verbs: ['watch'] },
];

/** The kube-proxy and Cilium settings the datapath detection reads (a Role in kube-system, by name). */
export const DATAPATH_RULES: readonly PolicyRule[] = [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['kube-proxy', 'cilium-config'] }];

/** Every (verb, group, resource, subresource) the manifests grant, one Right each (no namespace), for tests and audits. */
export function manifestRights(): Right[] {
  const all = [...READ_RULES, ...SOURCE_POD_RULES, ...NODE_POD_RULES, ...DATAPATH_RULES];
  const seen = new Set<string>();
  const out: Right[] = [];
  for (const rule of all) {
    for (const group of rule.apiGroups) {
      for (const full of rule.resources) {
        const [resource = '', subresource] = full.split('/');
        for (const verb of rule.verbs) {
          const key = `${verb} ${group} ${full}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ verb, group, resource, ...(subresource ? { subresource } : {}) });
        }
      }
    }
  }
  return out;
}

/** The YAML of some rules, indented under `rules:`. */
function rulesYaml(rules: readonly PolicyRule[]): string {
  const list = (xs: readonly string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  return rules
    .map(
      (r) =>
        `  - apiGroups: ${list(r.apiGroups)}\n    resources: ${list(r.resources)}\n    verbs: ${list(r.verbs)}${r.resourceNames ? `\n    resourceNames: ${list(r.resourceNames)}` : ''}`,
    )
    .join('\n');
}

/**
 * The manifests `kubectl netdebug rbac` prints: a ClusterRole of reads, a ClusterRole for the debug container (bind it
 * with a RoleBinding in each namespace users debug from), a Role for node debug pods in the node namespace, a Role for
 * the datapath settings in kube-system, and the bindings for `subject` (a User by default).
 */
export function rbacManifests(opts: { nodeNamespace: string; subject?: { kind: 'User' | 'Group' | 'ServiceAccount'; name: string; namespace?: string } }): string {
  const subject = opts.subject ?? { kind: 'User' as const, name: 'REPLACE-WITH-USER' };
  const subjectYaml = `subjects:\n  - kind: ${subject.kind}\n    name: ${subject.name}${subject.kind === 'ServiceAccount' ? `\n    namespace: ${subject.namespace ?? 'default'}` : '\n    apiGroup: rbac.authorization.k8s.io'}`;
  const role = (kind: 'Role' | 'ClusterRole', name: string, namespace: string | undefined, rules: readonly PolicyRule[], comment: string): string =>
    `# ${comment}\napiVersion: rbac.authorization.k8s.io/v1\nkind: ${kind}\nmetadata:\n  name: ${name}${namespace ? `\n  namespace: ${namespace}` : ''}\nrules:\n${rulesYaml(rules)}`;
  const binding = (kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, namespace: string | undefined, roleKind: 'Role' | 'ClusterRole', roleName: string, comment: string): string =>
    `# ${comment}\napiVersion: rbac.authorization.k8s.io/v1\nkind: ${kind}\nmetadata:\n  name: ${name}${namespace ? `\n  namespace: ${namespace}` : ''}\n${subjectYaml}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ${roleKind}\n  name: ${roleName}`;
  return [
    role('ClusterRole', 'kubectl-netdebug-read', undefined, READ_RULES, 'Reads: targets, endpoints, nodes, policies, workloads (all namespaces), and the preflight access reviews.'),
    binding('ClusterRoleBinding', 'kubectl-netdebug-read', undefined, 'ClusterRole', 'kubectl-netdebug-read', 'Reads everywhere.'),
    role('ClusterRole', 'kubectl-netdebug-source', undefined, SOURCE_POD_RULES, 'The debug container in a source pod. Bind it per namespace users debug from (RoleBinding below; copy it for each).'),
    binding('RoleBinding', 'kubectl-netdebug-source', 'default', 'ClusterRole', 'kubectl-netdebug-source', 'Debugging from pods of namespace default: one RoleBinding like this per namespace.'),
    role('Role', 'kubectl-netdebug-node-pods', opts.nodeNamespace, NODE_POD_RULES, `Node debug pods (hostNetwork, short-lived), only in the node namespace ${opts.nodeNamespace} (--node-namespace).`),
    binding('RoleBinding', 'kubectl-netdebug-node-pods', opts.nodeNamespace, 'Role', 'kubectl-netdebug-node-pods', 'Node debug pods.'),
    role('Role', 'kubectl-netdebug-datapath', 'kube-system', DATAPATH_RULES, "The kube-proxy and Cilium settings the datapath detection reads (optional: without it the datapath is 'unknown')."),
    binding('RoleBinding', 'kubectl-netdebug-datapath', 'kube-system', 'Role', 'kubectl-netdebug-datapath', 'Datapath settings.'),
  ]
    .map((doc) => `---\n${doc}\n`)
    .join('');
}
