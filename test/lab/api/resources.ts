/**
 * The resource types the lab API serves: plural, kind, group/version, scope and the discovery facts kubectl needs.
 */

/** Static description of one served resource type. */
export interface ResourceInfo {
  plural: string;
  singular: string;
  kind: string;
  group: string;
  version: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  /** Subresources with the verbs they allow (discovery lists them as `plural/sub`). */
  subresources: { name: string; kind: string; verbs: string[] }[];
  /** Whether the type has a status subresource (main-resource writes keep the stored status). */
  hasStatus: boolean;
}

const crudVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function describeResource(
  plural: string,
  kind: string,
  group: string,
  version: string,
  namespaced: boolean,
  shortNames: string[],
  extra: Partial<Pick<ResourceInfo, 'subresources' | 'verbs' | 'hasStatus'>> = {},
): ResourceInfo {
  return {
    plural,
    singular: kind.toLowerCase(),
    kind,
    group,
    version,
    namespaced,
    shortNames,
    verbs: extra.verbs ?? crudVerbs,
    subresources: extra.subresources ?? [],
    hasStatus: extra.hasStatus ?? false,
  };
}

const statusSub = (kind: string) => ({ name: 'status', kind, verbs: ['get', 'patch', 'update'] });

/** Every resource type the lab serves, in discovery order. */
export const RESOURCES: readonly ResourceInfo[] = [
  describeResource('namespaces', 'Namespace', '', 'v1', false, ['ns'], { subresources: [statusSub('Namespace')], hasStatus: true }),
  describeResource('nodes', 'Node', '', 'v1', false, ['no'], { subresources: [statusSub('Node')], hasStatus: true }),
  describeResource('pods', 'Pod', '', 'v1', true, ['po'], {
    hasStatus: true,
    subresources: [
      statusSub('Pod'),
      { name: 'ephemeralcontainers', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
    ],
  }),
  describeResource('services', 'Service', '', 'v1', true, ['svc'], { subresources: [statusSub('Service')], hasStatus: true }),
  describeResource('endpoints', 'Endpoints', '', 'v1', true, ['ep']),
  describeResource('configmaps', 'ConfigMap', '', 'v1', true, ['cm']),
  describeResource('events', 'Event', '', 'v1', true, ['ev']),
  describeResource('endpointslices', 'EndpointSlice', 'discovery.k8s.io', 'v1', true, []),
  describeResource('networkpolicies', 'NetworkPolicy', 'networking.k8s.io', 'v1', true, ['netpol']),
  describeResource('deployments', 'Deployment', 'apps', 'v1', true, ['deploy'], { subresources: [statusSub('Deployment')], hasStatus: true }),
  describeResource('statefulsets', 'StatefulSet', 'apps', 'v1', true, ['sts'], { subresources: [statusSub('StatefulSet')], hasStatus: true }),
  describeResource('daemonsets', 'DaemonSet', 'apps', 'v1', true, ['ds'], { subresources: [statusSub('DaemonSet')], hasStatus: true }),
  describeResource('replicasets', 'ReplicaSet', 'apps', 'v1', true, ['rs'], { subresources: [statusSub('ReplicaSet')], hasStatus: true }),
  describeResource('selfsubjectaccessreviews', 'SelfSubjectAccessReview', 'authorization.k8s.io', 'v1', false, [], { verbs: ['create'] }),
  describeResource('selfsubjectrulesreviews', 'SelfSubjectRulesReview', 'authorization.k8s.io', 'v1', false, [], { verbs: ['create'] }),
];

/** The API groups served besides the core group, with their single version. */
export const API_GROUPS: readonly { name: string; version: string }[] = [
  { name: 'apps', version: 'v1' },
  { name: 'discovery.k8s.io', version: 'v1' },
  { name: 'networking.k8s.io', version: 'v1' },
  { name: 'authorization.k8s.io', version: 'v1' },
];

const byPlural = new Map(RESOURCES.map((r) => [r.plural, r]));

/** Looks a resource up by plural name, or undefined when the lab does not serve it. */
export function findResource(plural: string): ResourceInfo | undefined {
  return byPlural.get(plural);
}

/** Looks a resource up within a group/version, as routed from a URL. */
export function findResourceIn(group: string, version: string, plural: string): ResourceInfo | undefined {
  const info = byPlural.get(plural);
  return info && info.group === group && info.version === version ? info : undefined;
}

/** The apiVersion string objects of this resource carry (`v1`, `apps/v1`). */
export function formatApiVersion(info: ResourceInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** The name RBAC messages use for a resource: `pods`, `deployments.apps`. */
export function formatGroupResource(resource: string, group: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}
