/**
 * The real `Cluster`: resolves SRC and DST through the API by name and label selector only (the one cluster-wide list,
 * of nodes, is cut at a limit, so the cost does not grow with the cluster), gathers Services, EndpointSlices, policies,
 * namespaces, nodes and the cluster DNS, and computes the static findings.
 */
import type { KubeConfig, V1DaemonSetList, V1EndpointSlice, V1EndpointSliceList, V1LabelSelector, V1NetworkPolicy, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
// The client's serializer is not re-exported from its index; it is the one that knows the model's field renames.
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { ipFamilyOf, type IPFamily } from '../core/address.ts';
import { NetdebugError } from '../core/errors.ts';
import type {
  ContainerPort,
  Labels,
  Protocol,
  ResolvedDestination,
  ResolvedEndpoint,
  ResolvedServicePort,
  ResolvedSource,
  WorkloadRef,
} from '../core/model.ts';
import type { NetworkPolicy } from '../core/netpol.ts';
import type { PortRef, TargetRef } from '../core/target.ts';
import { DATAPATH_NAMESPACES, type DatapathApiFacts } from '../core/datapath.ts';
import type { ClusterFacts, DnsFacts, DnsPod, DnsServiceFacts, NodeFacts } from '../core/facts.ts';
import { NODE_LOCAL_DNS, WELL_KNOWN_DNS_SERVICES } from '../core/dns.ts';
import type { Cluster, Resolving } from '../ports.ts';
import { createKubeApi, statusCodeOf } from './api.ts';
import type { KubeApi } from './api.ts';
import type { SharedReads } from './shared-reads.ts';
import { computeStaticFindings } from '../core/static-findings.ts';
import type { BackendPod } from '../core/static-findings.ts';
import { suggestNames } from './suggest.ts';
import { compareText } from '../core/compare.ts';

/** Options of the real Cluster. */
export interface ClusterOptions {
  /** The default namespace (for messages; targets already carry theirs). */
  namespace: string;
  /** The kubeconfig context name, reported in ClusterFacts. */
  context?: string;
  /** Called once per API request, e.g. to share one counter with the prober. */
  countRequest?: () => void;
  requestTimeoutMs?: number;
  /** The run's shared reads (namespaces), which the preflight may have started already; absent: read here. */
  shared?: SharedReads;
}

const MAX_NODES = 16;
/**
 * A cluster with at most this many nodes has them all listed in resolution's first round (see listEveryNode): the debug
 * pods' nodes are then known without a round trip of their own.
 */
const EARLY_NODE_LIST_LIMIT = 16;

/** Creates the Cluster port on a kubeconfig. */
export function createCluster(kc: KubeConfig, opts: ClusterOptions): Cluster & { api: KubeApi; sourcePod: (namespace: string, name: string) => V1Pod | undefined } {
  /** The source pods resolution read, so preparing the source pod need not read it again. */
  const pods = new Map<string, V1Pod>();
  const api = createKubeApi(kc, {
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    ...(opts.countRequest ? { countRequest: opts.countRequest } : {}),
  });
  const context = opts.context ?? kc.getCurrentContext();
  return {
    api,
    apiRequests: () => api.requests(),
    resolve: (source, destination) => {
      let placed: (facts: ClusterFacts) => void = () => undefined;
      const early = new Promise<ClusterFacts>((resolve) => (placed = resolve));
      const facts: Resolving = resolveTargets(api, context, source, destination, pods, opts, placed);
      // Whichever comes first: the facts that place the ladder, or resolution's end (its failure included).
      facts.placement = Promise.race([early, facts]);
      facts.placement.catch(() => undefined);
      return facts;
    },
    sourcePod: (namespace, name) => pods.get(`${namespace}/${name}`),
  };
}

async function resolveTargets(
  api: KubeApi,
  context: string,
  srcRef: TargetRef,
  dstRef: TargetRef,
  pods: Map<string, V1Pod>,
  opts: Pick<ClusterOptions, 'shared'> = {},
  placed: (facts: ClusterFacts) => void = () => undefined,
): Promise<ClusterFacts> {
  // Nodes named as targets are read once, and their facts come from that same read.
  const nodeReads = new Map<string, Promise<V1Node>>();
  // Every node of a small cluster, listed beside the first reads (never rejects: the nodes are read by name instead).
  const everyNode = listEveryNode(api);
  // Every read that does not depend on another starts at once: the source, the destination, DNS, the datapath, and
  // the NetworkPolicies of the namespaces the targets name. A remote control plane then costs a few round trips, not
  // one per read.
  const refNamespaces = [...new Set([srcRef, dstRef].flatMap((r) => ('namespace' in r && r.namespace ? [r.namespace] : [])))];
  const sourceRead = resolveSource(api, srcRef, nodeReads, pods);
  const destinationRead = resolveDestination(api, dstRef, nodeReads);
  const policyReads = new Map(refNamespaces.map((ns) => [ns, listPolicies(api, [ns])]));
  // kube-system's DaemonSets are listed once, for the datapath and NodeLocal DNSCache alike.
  const daemonSets = daemonSetLister(api);
  const dnsRead = readDns(api, daemonSets);
  const datapathRead = readDatapath(api, daemonSets);
  // Settle everything before throwing, so an early failure never leaves reads running, and the source's error (the
  // first thing a person would fix) wins over the destination's.
  const [sourceRes, destinationRes] = await Promise.allSettled([sourceRead, destinationRead]);
  // A Service's backend pods (its selector's) are listed once it is read, and awaited last: nothing that places the
  // ladder needs them.
  const podsRead = Promise.resolve(destinationRes.status === 'fulfilled' ? destinationRes.value.servicePods : []);
  const rest = Promise.allSettled([dnsRead, datapathRead, podsRead, ...policyReads.values()]);
  if (sourceRes.status === 'rejected' || destinationRes.status === 'rejected') {
    await rest;
    throw sourceRes.status === 'rejected' ? sourceRes.reason : (destinationRes as PromiseRejectedResult).reason;
  }
  const source = sourceRes.value;
  const { destination } = destinationRes.value;
  const targets = { source, destination };

  const namespaceNames = new Set<string>();
  if (source.kind === 'pod') namespaceNames.add(source.namespace);
  if (destination.kind === 'pod' || destination.kind === 'service') namespaceNames.add(destination.namespace);
  for (const ns of namespaceNames) if (!policyReads.has(ns)) policyReads.set(ns, listPolicies(api, [ns]));

  let dns: DnsFacts;
  let datapath: DatapathApiFacts;
  let nodes: NodeFacts[];
  let servicePods: BackendPod[];
  let policies: NetworkPolicy[];
  // The nodes the debug pods go to (the source's, the destination's endpoints'), read as soon as both are known (from
  // the first round's list of every node, when the cluster is small): the preflight needs their taints before anything
  // is created.
  const nodeNames = new Set<string>();
  if (source.kind === 'pod') nodeNames.add(source.node);
  else nodeNames.add(source.name);
  for (const n of nodesOfDestination(destination)) nodeNames.add(n);
  const nodesOf = (names: Set<string>): string[] => [...names].filter((n) => n !== '').slice(0, MAX_NODES);
  const placedNodes = readNodesFacts(api, nodesOf(nodeNames), nodeReads, everyNode);
  try {
    datapath = await datapathRead;
    // Where the debug pods go and what they run are known now (the DNS pods matter only to the source pod's DNS rung,
    // whose probes are planned again from all the facts before they run): they can be made while the rest is read.
    placed({ targets, staticFindings: [], dns: { pods: [], readyEndpoints: 0 }, nodes: await placedNodes, context, datapath });
    dns = await dnsRead;
    // The DNS pods' nodes, when they run elsewhere (already listed with every node of a small cluster).
    for (const p of dns.pods) nodeNames.add(p.node);
    nodes = await readNodesFacts(api, nodesOf(nodeNames), nodeReads, everyNode);
    servicePods = await podsRead;
    for (const p of servicePods) {
      namespaceNames.add(p.namespace);
      if (!policyReads.has(p.namespace)) policyReads.set(p.namespace, listPolicies(api, [p.namespace]));
    }
    policies = (await Promise.all([...namespaceNames].map((ns) => policyReads.get(ns) as Promise<NetworkPolicy[]>))).flat();
  } finally {
    await Promise.allSettled([rest, placedNodes, ...policyReads.values()]);
  }

  // Namespace labels matter only to NetworkPolicy namespaceSelectors: read them only when there are policies.
  const namespaces = policies.length > 0 ? await readNamespaceLabels(api, [...namespaceNames], opts.shared) : Object.fromEntries([...namespaceNames].map((ns) => [ns, {} as Labels]));
  const staticFindings = computeStaticFindings({ targets, servicePods, policies, namespaces, nodes, dns });
  return { targets, staticFindings, dns, nodes, context, policy: { policies, namespaces, servicePods }, datapath };
}

/** The nodes a resolved destination runs on: its pod's, its endpoints', or itself. */
function nodesOfDestination(destination: ResolvedDestination): string[] {
  switch (destination.kind) {
    case 'pod':
      return [destination.node];
    case 'node':
      return [destination.name];
    case 'service':
      return destination.endpoints.flatMap((e) => (e.node ? [e.node] : []));
    default:
      return [];
  }
}

/**
 * The facts of these nodes, read with one labelled list (`kubernetes.io/hostname in (...)`, so the answer does not grow
 * with the cluster) where it can; a node the list did not return (its hostname label differs from its name) or a
 * refused list falls back to a read by name.
 */
async function readNodesFacts(api: KubeApi, names: string[], nodeReads: Map<string, Promise<V1Node>>, everyNode?: Promise<Map<string, V1Node> | undefined>): Promise<NodeFacts[]> {
  const listed = await everyNode;
  for (const name of names) {
    const node = listed?.get(name);
    if (node && !nodeReads.has(name)) nodeReads.set(name, Promise.resolve(node));
  }
  const listable = names.filter((n) => !nodeReads.has(n) && /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(n));
  if (listable.length > 1) {
    try {
      const list = await api.call({ verb: 'list', resource: 'nodes' }, () => api.core.listNode({ labelSelector: `kubernetes.io/hostname in (${listable.join(',')})` }));
      for (const node of list.items) {
        const name = node.metadata?.name ?? '';
        if (listable.includes(name) && !nodeReads.has(name)) nodeReads.set(name, Promise.resolve(node));
      }
    } catch (err) {
      if (!(err instanceof NetdebugError)) throw err;
      // A list this user may not make (RBAC grants only get) or this server does not serve: read each node by name.
    }
  }
  const facts = await Promise.all(names.map((n) => readNodeFacts(api, n, nodeReads)));
  return facts.filter((n): n is NodeFacts => n !== undefined);
}

/**
 * Every node, by name, when the cluster has at most EARLY_NODE_LIST_LIMIT (one list cut at that limit, so a bigger
 * cluster costs no more than that many nodes); undefined when it has more (the API said the list continues) or the list
 * failed (a user who may only get nodes): readNodesFacts then lists the nodes it needs by their hostname label (by name
 * when that fails). Never rejects.
 */
async function listEveryNode(api: KubeApi): Promise<Map<string, V1Node> | undefined> {
  try {
    const list = await api.call({ verb: 'list', resource: 'nodes' }, () => api.core.listNode({ limit: EARLY_NODE_LIST_LIMIT }));
    if (list.metadata?._continue) return undefined;
    return new Map(list.items.map((n) => [n.metadata?.name ?? '', n]));
  } catch {
    return undefined;
  }
}

// ---------- source ----------

async function resolveSource(api: KubeApi, ref: TargetRef, nodeReads: Map<string, Promise<V1Node>>, pods: Map<string, V1Pod>): Promise<ResolvedSource> {
  switch (ref.kind) {
    case 'pod': {
      const pod = await readPodOrSuggest(api, ref.namespace, ref.name);
      requireRunning(pod, `${ref.namespace}/${ref.name}`);
      pods.set(`${ref.namespace}/${ref.name}`, pod);
      return sourceOfPod(pod);
    }
    case 'workload': {
      const { pod, via, selector } = await pickWorkloadPod(api, ref.workload, ref.namespace, ref.name);
      if (!pod || !isReady(pod)) {
        throw new NetdebugError('SOURCE_NOT_RUNNING', `${ref.workload} ${ref.namespace}/${ref.name} has no ready pod to test from`, {
          hint: `kubectl get pods -n ${ref.namespace} -l ${selector}`,
        });
      }
      pods.set(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, pod);
      return { ...sourceOfPod(pod), via };
    }
    case 'node': {
      const node = await readNodeOrSuggest(api, ref.name, nodeReads);
      return { kind: 'node', name: ref.name, ip: internalIPOf(node), ...withIps(internalIPsOf(node)) };
    }
    case 'service':
    case 'pod-or-service':
    case 'address':
      throw new NetdebugError('UNSUPPORTED_TARGET', `a ${ref.kind} cannot be a source`, { hint: 'test from a pod, a workload or a node' });
    default: {
      const never: never = ref;
      throw new Error(`unknown target ${JSON.stringify(never)}`);
    }
  }
}

function requireRunning(pod: V1Pod, label: string): void {
  const phase = pod.status?.phase ?? 'Pending';
  if (phase !== 'Running' || pod.metadata?.deletionTimestamp) {
    throw new NetdebugError('SOURCE_NOT_RUNNING', `source pod ${label} is ${pod.metadata?.deletionTimestamp ? 'terminating' : phase}, not Running: nothing to exec into`, {
      hint: `kubectl describe pod ${pod.metadata?.name ?? ''} -n ${pod.metadata?.namespace ?? ''}`,
    });
  }
}

function sourceOfPod(pod: V1Pod): Extract<ResolvedSource, { kind: 'pod' }> {
  return {
    kind: 'pod',
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    node: pod.spec?.nodeName ?? '',
    ip: pod.status?.podIP ?? '',
    labels: pod.metadata?.labels ?? {},
    hostNetwork: pod.spec?.hostNetwork === true,
    ...withIps(podIPsOf(pod)),
  };
}

/**
 * A pod's addresses, `status.podIPs` (the primary first, at most one per family, as the API server validates them);
 * `status.podIP` alone when the list is absent.
 */
export function podIPsOf(pod: V1Pod): string[] {
  const listed = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip) => ip !== '');
  if (listed.length > 0) return listed;
  return pod.status?.podIP ? [pod.status.podIP] : [];
}

/** The `ips` field of a resolved target: set only when there are two addresses (one per family), so a single-stack target reads as before. */
function withIps(ips: string[]): { ips?: string[] } {
  return ips.length > 1 ? { ips } : {};
}

// ---------- destination ----------

interface DestinationResult {
  destination: ResolvedDestination;
  /** A Service's pods, by its selector: still being listed when the destination is known (none for other kinds). */
  servicePods: BackendPod[] | Promise<BackendPod[]>;
}

/** Resolves the destination (a Service's backend pods still being listed: DestinationResult.servicePods). */
async function resolveDestination(api: KubeApi, ref: TargetRef, nodeReads: Map<string, Promise<V1Node>>): Promise<DestinationResult> {
  switch (ref.kind) {
    case 'pod': {
      const pod = await readPodOrSuggest(api, ref.namespace, ref.name);
      return { destination: destinationOfPod(pod, ref.port), servicePods: [] };
    }
    case 'pod-or-service': {
      const pod = await readPodMaybe(api, ref.namespace, ref.name);
      if (pod) return { destination: destinationOfPod(pod, ref.port), servicePods: [] };
      const svc = await readServiceMaybe(api, ref.namespace, ref.name);
      if (svc) return resolveService(api, svc, ref.port);
      const [pods, svcs] = await Promise.all([listNames(api, 'pods', ref.namespace), listNames(api, 'services', ref.namespace)]);
      throw notFound(`pod or service "${ref.name}"`, ref.namespace, ref.name, [...pods, ...svcs]);
    }
    case 'service': {
      // The Service's EndpointSlices are listed beside its read (they are found by its name), one round trip fewer.
      const slices = listServiceSlices(api, ref.namespace, ref.name);
      slices.catch(() => undefined);
      const svc = await readServiceMaybe(api, ref.namespace, ref.name);
      if (!svc) {
        await slices.catch(() => undefined);
        throw notFound(`service "${ref.name}"`, ref.namespace, ref.name, await listNames(api, 'services', ref.namespace));
      }
      return resolveService(api, svc, ref.port, slices);
    }
    case 'workload': {
      const { pod, via } = await pickWorkloadPod(api, ref.workload, ref.namespace, ref.name);
      if (!pod) {
        throw new NetdebugError('TARGET_NOT_FOUND', `${ref.workload} ${ref.namespace}/${ref.name} has no pod`, {
          hint: `kubectl get ${ref.workload.toLowerCase()} ${ref.name} -n ${ref.namespace}`,
        });
      }
      const dest = destinationOfPod(pod, ref.port);
      return { destination: dest.kind === 'pod' ? { ...dest, via } : dest, servicePods: [] };
    }
    case 'node': {
      const node = await readNodeOrSuggest(api, ref.name, nodeReads);
      const port = requireNumericPort(ref.port, `node/${ref.name}`);
      return { destination: { kind: 'node', name: ref.name, ip: internalIPOf(node), port, protocol: 'TCP', ...withIps(internalIPsOf(node)) }, servicePods: [] };
    }
    case 'address': {
      const port = requireNumericPort(ref.port, ref.host);
      return { destination: { kind: 'address', host: ref.host, ips: ref.isIP ? [ref.host] : [], port, protocol: 'TCP' }, servicePods: [] };
    }
    default: {
      const never: never = ref;
      throw new Error(`unknown target ${JSON.stringify(never)}`);
    }
  }
}

function requireNumericPort(port: PortRef | undefined, what: string): number {
  if (port?.kind === 'number') return port.number;
  throw new NetdebugError('PORT_NOT_FOUND', port ? `${what}: a port name ("${port.name}") needs a pod or Service; give a number` : `${what} needs a port`, {
    hint: `add :PORT, e.g. ${what}:443`,
  });
}

function containerPortsOf(pod: V1Pod): ContainerPort[] {
  return (pod.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP') as Protocol })),
  );
}

function destinationOfPod(pod: V1Pod, portRef: PortRef | undefined): ResolvedDestination {
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const ports = containerPortsOf(pod);
  const list = ports.map((p) => `${p.name ? `${p.name}:` : ''}${p.containerPort}/${p.protocol}`).join(', ') || 'none declared';
  let port: number;
  let protocol: Protocol = 'TCP';
  if (portRef?.kind === 'number') {
    port = portRef.number;
    protocol = ports.find((p) => p.containerPort === port)?.protocol ?? 'TCP';
  } else if (portRef?.kind === 'name') {
    const found = ports.find((p) => p.name === portRef.name);
    if (!found) {
      throw new NetdebugError('PORT_NOT_FOUND', `pod ${ns}/${name} has no container port named "${portRef.name}" (ports: ${list})`, {
        hint: `use a port number or one of the names, e.g. ${ns}/pod/${name}:${ports[0]?.name ?? ports[0]?.containerPort ?? 8080}`,
      });
    }
    port = found.containerPort;
    protocol = found.protocol;
  } else if (ports.length === 1 && ports[0]) {
    port = ports[0].containerPort;
    protocol = ports[0].protocol;
  } else {
    throw new NetdebugError(ports.length === 0 ? 'PORT_NOT_FOUND' : 'AMBIGUOUS_PORT', `which port of pod ${ns}/${name}? (ports: ${list})`, {
      hint: `add :PORT, e.g. ${ns}/pod/${name}:${ports[0]?.name ?? ports[0]?.containerPort ?? 8080}`,
    });
  }
  return {
    kind: 'pod',
    namespace: ns,
    name,
    node: pod.spec?.nodeName ?? '',
    ip: pod.status?.podIP ?? '',
    labels: pod.metadata?.labels ?? {},
    ready: isReady(pod),
    hostNetwork: pod.spec?.hostNetwork === true,
    ports,
    port,
    protocol,
    ...withIps(podIPsOf(pod)),
  };
}

/** Picks the Service port the user meant; throws listing the ports when it is missing or ambiguous. */
export function pickServicePort(svc: { namespace: string; name: string; ports: ResolvedServicePort[] }, ref: PortRef | undefined): ResolvedServicePort {
  const list = svc.ports.map((p) => `${p.name ? `${p.name}:` : ''}${p.port}/${p.protocol}`).join(', ') || 'none';
  const example = `${svc.namespace}/svc/${svc.name}:${svc.ports[0]?.name ?? svc.ports[0]?.port ?? 80}`;
  if (!ref) {
    if (svc.ports.length === 1 && svc.ports[0]) return svc.ports[0];
    throw new NetdebugError(svc.ports.length === 0 ? 'PORT_NOT_FOUND' : 'AMBIGUOUS_PORT', `Service ${svc.namespace}/${svc.name} has ${svc.ports.length} ports; say which one (ports: ${list})`, {
      hint: `add :PORT, e.g. ${example}`,
    });
  }
  const found = svc.ports.find((p) => (ref.kind === 'number' ? p.port === ref.number : p.name === ref.name));
  if (!found) {
    throw new NetdebugError('PORT_NOT_FOUND', `Service ${svc.namespace}/${svc.name} has no port ${ref.kind === 'number' ? ref.number : `named "${ref.name}"`} (ports: ${list})`, {
      hint: `use one of its ports, e.g. ${example}`,
    });
  }
  return found;
}

/** The EndpointSlices of a Service (by the label the EndpointSlice controller sets). */
function listServiceSlices(api: KubeApi, namespace: string, name: string): Promise<V1EndpointSliceList> {
  return api.call({ verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io', namespace }, () =>
    api.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${name}` }),
  );
}

/**
 * A found Service as the destination: its port, endpoints (from `listedSlices` when they were listed already) and, still
 * being listed, its pods.
 */
async function resolveService(api: KubeApi, svc: V1Service, portRef: PortRef | undefined, listedSlices?: Promise<V1EndpointSliceList>): Promise<DestinationResult> {
  const namespace = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  if (svc.spec?.type === 'ExternalName') {
    throw new NetdebugError('UNSUPPORTED_TARGET', `Service ${namespace}/${name} is ExternalName (${svc.spec.externalName ?? '?'}): it is only a DNS CNAME, with no ClusterIP, endpoints or kube-proxy rules to check`, {
      hint: `test the name it points to as an address instead, e.g. ${svc.spec.externalName ?? 'HOST'}:PORT`,
    });
  }
  // A headless Service (clusterIP: None) resolves like any other: its name gives the pod addresses, which the ladder
  // tests directly (the planner skips the ClusterIP rung and the kube-proxy checks).
  const ports: ResolvedServicePort[] = (svc.spec?.ports ?? []).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    port: p.port,
    targetPort: (p.targetPort as number | string | undefined) ?? p.port,
    protocol: (p.protocol ?? 'TCP') as Protocol,
  }));
  const port = pickServicePort({ namespace, name, ports }, portRef);
  const selector: Labels = svc.spec?.selector ?? {};
  const selectorText = formatSelector({ matchLabels: selector });
  const slicesRead = (listedSlices ?? listServiceSlices(api, namespace, name)).then((slices) => endpointsFromSlices(slices.items, port));
  // The pods are listed beside the slices; the caller awaits them (the destination is known without them).
  const servicePods: Promise<BackendPod[]> = (
    selectorText === '' ? Promise.resolve([] as V1Pod[]) : api.call({ verb: 'list', resource: 'pods', namespace }, () => api.core.listNamespacedPod({ namespace, labelSelector: selectorText })).then((l) => l.items)
  ).then((pods) =>
    pods
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .map((p) => ({
        namespace: p.metadata?.namespace ?? namespace,
        name: p.metadata?.name ?? '',
        ip: p.status?.podIP ?? '',
        node: p.spec?.nodeName ?? '',
        ready: isReady(p),
        labels: p.metadata?.labels ?? {},
        hostNetwork: p.spec?.hostNetwork === true,
        ports: containerPortsOf(p),
      })),
  );
  let endpoints: ResolvedEndpoint[];
  try {
    endpoints = await slicesRead;
  } catch (err) {
    await servicePods.catch(() => undefined);
    throw err;
  }
  return {
    destination: {
      kind: 'service',
      namespace,
      name,
      clusterIP: svc.spec?.clusterIP ?? 'None',
      dnsName: `${name}.${namespace}.svc.cluster.local`,
      port,
      selector,
      endpoints,
      ...(svc.spec?.internalTrafficPolicy === 'Local' ? { internalTrafficPolicy: 'Local' as const } : {}),
      ...serviceFamilies(svc),
    },
    servicePods,
  };
}

/**
 * A dual-stack Service's `spec.clusterIPs` and `spec.ipFamilies` (the API server fills both, in the same order, the
 * first being `clusterIP`); nothing for a single-stack one, which reads as before.
 */
export function serviceFamilies(svc: V1Service): { clusterIPs?: string[]; ipFamilies?: IPFamily[] } {
  const families = (svc.spec?.ipFamilies ?? []).filter((f): f is IPFamily => f === 'IPv4' || f === 'IPv6');
  const clusterIPs = (svc.spec?.clusterIPs ?? []).filter((ip) => ip !== '' && ip !== 'None');
  return {
    ...(clusterIPs.length > 1 ? { clusterIPs } : {}),
    ...(families.length > 1 ? { ipFamilies: families } : {}),
  };
}

/** Whether a slice lists IP addresses (IPv4/IPv6); FQDN slices name hosts, which no packet path can be checked to. */
function isIpSlice(slice: V1EndpointSlice): boolean {
  return slice.addressType !== 'FQDN';
}

/** Unions the endpoints of all IP slices that carry the Service port (matched by port name and protocol). */
export function endpointsFromSlices(slices: V1EndpointSlice[], port: ResolvedServicePort): ResolvedEndpoint[] {
  const out: ResolvedEndpoint[] = [];
  const seen = new Set<string>();
  for (const slice of slices.filter(isIpSlice)) {
    const sp = (slice.ports ?? []).find((p) => (p.name ?? '') === (port.name ?? '') && (p.protocol ?? 'TCP') === port.protocol);
    if (!sp || sp.port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      const ready = ep.conditions?.ready ?? true;
      const serving = ep.conditions?.serving ?? ready;
      const terminating = ep.conditions?.terminating ?? false;
      for (const ip of ep.addresses ?? []) {
        const key = `${ip}:${sp.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({
          ip,
          port: sp.port,
          ready,
          serving,
          terminating,
          ...(ep.nodeName ? { node: ep.nodeName } : {}),
          ...(ep.targetRef?.kind === 'Pod' && ep.targetRef.name ? { pod: { namespace: ep.targetRef.namespace ?? slice.metadata?.namespace ?? '', name: ep.targetRef.name } } : {}),
        });
      }
    }
  }
  return out;
}

// ---------- workloads ----------

async function readWorkload(api: KubeApi, kind: WorkloadRef['kind'], namespace: string, name: string): Promise<V1LabelSelector | undefined> {
  const info = { verb: 'get', resource: `${kind.toLowerCase()}s`, group: 'apps', namespace, name };
  try {
    switch (kind) {
      case 'Deployment':
        return (await api.call(info, () => api.apps.readNamespacedDeployment({ namespace, name }))).spec?.selector;
      case 'StatefulSet':
        return (await api.call(info, () => api.apps.readNamespacedStatefulSet({ namespace, name }))).spec?.selector;
      case 'DaemonSet':
        return (await api.call(info, () => api.apps.readNamespacedDaemonSet({ namespace, name }))).spec?.selector;
      default: {
        const never: never = kind;
        throw new Error(`unknown workload ${String(never)}`);
      }
    }
  } catch (err) {
    if (err instanceof NetdebugError && err.code === 'TARGET_NOT_FOUND') {
      throw notFound(`${kind} "${name}"`, namespace, name, await listNames(api, info.resource, namespace));
    }
    throw err;
  }
}

/** Picks a running (preferably ready) pod of a workload; `selector` is the workload's selector as text, for hints. */
async function pickWorkloadPod(
  api: KubeApi,
  kind: WorkloadRef['kind'],
  namespace: string,
  name: string,
): Promise<{ pod: V1Pod | undefined; via: WorkloadRef; selector: string }> {
  const text = formatSelector((await readWorkload(api, kind, namespace, name)) ?? {});
  const via: WorkloadRef = { kind, name };
  if (text === '') return { pod: undefined, via, selector: text };
  const pods = (await api.call({ verb: 'list', resource: 'pods', namespace }, () => api.core.listNamespacedPod({ namespace, labelSelector: text }))).items;
  const live = pods.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
  live.sort((a, b) => compareText(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  return { pod: live.find(isReady) ?? live[0] ?? pods[0], via, selector: text };
}

/** Formats a label selector for `labelSelector=` (matchLabels and matchExpressions). */
export function formatSelector(selector: V1LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
      default:
        break;
    }
  }
  return parts.join(',');
}

// ---------- reads ----------

function isReady(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

async function readPodMaybe(api: KubeApi, namespace: string, name: string): Promise<V1Pod | undefined> {
  try {
    return await api.call({ verb: 'get', resource: 'pods', namespace, name }, () => api.core.readNamespacedPod({ namespace, name }));
  } catch (err) {
    if (err instanceof NetdebugError && err.code === 'TARGET_NOT_FOUND') return undefined;
    throw err;
  }
}

async function readServiceMaybe(api: KubeApi, namespace: string, name: string): Promise<V1Service | undefined> {
  try {
    return await api.call({ verb: 'get', resource: 'services', namespace, name }, () => api.core.readNamespacedService({ namespace, name }));
  } catch (err) {
    if (err instanceof NetdebugError && err.code === 'TARGET_NOT_FOUND') return undefined;
    throw err;
  }
}

async function readPodOrSuggest(api: KubeApi, namespace: string, name: string): Promise<V1Pod> {
  const pod = await readPodMaybe(api, namespace, name);
  if (pod) return pod;
  throw notFound(`pod "${name}"`, namespace, name, await listNames(api, 'pods', namespace));
}

function readNode(api: KubeApi, name: string, nodeReads: Map<string, Promise<V1Node>>): Promise<V1Node> {
  let read = nodeReads.get(name);
  if (!read) {
    read = api.call({ verb: 'get', resource: 'nodes', name }, () => api.core.readNode({ name }));
    nodeReads.set(name, read);
  }
  return read;
}

async function readNodeOrSuggest(api: KubeApi, name: string, nodeReads: Map<string, Promise<V1Node>>): Promise<V1Node> {
  try {
    return await readNode(api, name, nodeReads);
  } catch (err) {
    if (err instanceof NetdebugError && err.code === 'TARGET_NOT_FOUND') throw notFound(`node "${name}"`, undefined, name, await listNames(api, 'nodes', undefined));
    throw err;
  }
}

/** Lists up to 500 names of one kind in ONE namespace (or nodes), for suggestions; errors give no suggestions. */
async function listNames(api: KubeApi, resource: string, namespace: string | undefined): Promise<string[]> {
  const limit = 500;
  const ns = namespace ?? '';
  try {
    switch (resource) {
      case 'pods':
        return (await api.call({ verb: 'list', resource, namespace }, () => api.core.listNamespacedPod({ namespace: ns, limit }))).items.map((o) => o.metadata?.name ?? '');
      case 'services':
        return (await api.call({ verb: 'list', resource, namespace }, () => api.core.listNamespacedService({ namespace: ns, limit }))).items.map((o) => o.metadata?.name ?? '');
      case 'nodes':
        return (await api.call({ verb: 'list', resource }, () => api.core.listNode({ limit }))).items.map((o) => o.metadata?.name ?? '');
      case 'deployments':
        return (await api.call({ verb: 'list', resource, group: 'apps', namespace }, () => api.apps.listNamespacedDeployment({ namespace: ns, limit }))).items.map((o) => o.metadata?.name ?? '');
      case 'statefulsets':
        return (await api.call({ verb: 'list', resource, group: 'apps', namespace }, () => api.apps.listNamespacedStatefulSet({ namespace: ns, limit }))).items.map((o) => o.metadata?.name ?? '');
      case 'daemonsets':
        return (await api.call({ verb: 'list', resource, group: 'apps', namespace }, () => api.apps.listNamespacedDaemonSet({ namespace: ns, limit }))).items.map((o) => o.metadata?.name ?? '');
      default:
        return [];
    }
  } catch {
    return [];
  }
}

function notFound(what: string, namespace: string | undefined, name: string, candidates: string[]): NetdebugError {
  const near = suggestNames(name, candidates);
  const where = namespace ? ` in namespace "${namespace}"` : '';
  return new NetdebugError('TARGET_NOT_FOUND', `${what} not found${where}${near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(', ')}?` : ''}`, {
    hint: near.length ? `e.g. ${namespace ? `${namespace}/` : ''}${near[0]}` : `check the name and namespace (-n); kubectl get ${what.split(' ')[0]}${namespace ? ` -n ${namespace}` : ''}`,
  });
}

function internalIPOf(node: V1Node): string {
  const addrs = node.status?.addresses ?? [];
  return addrs.find((a) => a.type === 'InternalIP')?.address ?? addrs[0]?.address ?? '';
}

/** A node's InternalIP addresses, the first of each family (a dual-stack kubelet reports one of each, `--node-ip=v4,v6`). */
export function internalIPsOf(node: V1Node): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const a of node.status?.addresses ?? []) {
    const family = a.type === 'InternalIP' ? ipFamilyOf(a.address) : undefined;
    if (family === undefined || seen.has(family)) continue;
    seen.add(family);
    out.push(a.address);
  }
  return out;
}

async function readNodeFacts(api: KubeApi, name: string, nodeReads: Map<string, Promise<V1Node>>): Promise<NodeFacts | undefined> {
  try {
    const node = await readNode(api, name, nodeReads);
    const ready = (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    const taints = (node.spec?.taints ?? []).map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect }));
    const ips = internalIPsOf(node);
    return { name, ready, internalIP: internalIPOf(node), ...(ips.length > 1 ? { internalIPs: ips } : {}), ...(node.spec?.podCIDR ? { podCIDR: node.spec.podCIDR } : {}), labels: node.metadata?.labels ?? {}, taints };
  } catch (err) {
    if (err instanceof NetdebugError && err.code === 'TARGET_NOT_FOUND') return undefined;
    throw err;
  }
}

async function readNamespaceLabels(api: KubeApi, names: string[], shared?: SharedReads): Promise<Record<string, Labels>> {
  const out: Record<string, Labels> = {};
  await Promise.all(
    names.map(async (name) => {
      try {
        const ns = shared ? await shared.namespace(name) : await api.call({ verb: 'get', resource: 'namespaces', name }, () => api.core.readNamespace({ name }));
        out[name] = ns.metadata?.labels ?? {};
      } catch (err) {
        // Without namespace read access, namespaceSelectors still work on the well-known name label.
        if (err instanceof NetdebugError && (err.code === 'TARGET_NOT_FOUND' || err.code === 'FORBIDDEN')) out[name] = {};
        else throw err;
      }
    }),
  );
  return out;
}

async function listPolicies(api: KubeApi, namespaces: string[]): Promise<NetworkPolicy[]> {
  const lists = await Promise.all(
    namespaces.map((namespace) =>
      api.call({ verb: 'list', resource: 'networkpolicies', group: 'networking.k8s.io', namespace }, () => api.networking.listNamespacedNetworkPolicy({ namespace })),
    ),
  );
  return lists.flatMap((l) => l.items).map(policyFromApi);
}

/**
 * Turns a NetworkPolicy as the client typed it back into the API's JSON shape the evaluator reads: the client's model
 * renames fields (ingress `from` is `_from`), and its own serializer knows every such rename.
 */
export function policyFromApi(p: V1NetworkPolicy): NetworkPolicy {
  return {
    metadata: { name: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? '' },
    spec: ObjectSerializer.serialize(p.spec ?? { podSelector: {} }, 'V1NetworkPolicySpec') as NetworkPolicy['spec'],
  };
}

/** A read that may be refused or find nothing: the value, `undefined` when not found, or why it could not be read. */
async function readTolerant<T>(read: () => Promise<T>): Promise<{ value: T } | { missing: true } | { error: string }> {
  try {
    return { value: await read() };
  } catch (err) {
    if (err instanceof NetdebugError && err.code === 'TARGET_NOT_FOUND') return { missing: true };
    if (err instanceof NetdebugError && err.code === 'FORBIDDEN') return { error: 'forbidden' };
    if (statusCodeOf(err) === 404) return { missing: true };
    throw err;
  }
}

/** Lists the DaemonSets of a namespace once per run, however many readers ask (the datapath and NodeLocal DNSCache). */
type DaemonSetLister = (namespace: string) => Promise<{ value: V1DaemonSetList } | { missing: true } | { error: string }>;

function daemonSetLister(api: KubeApi): DaemonSetLister {
  const lists = new Map<string, ReturnType<DaemonSetLister>>();
  return (namespace) => {
    let list = lists.get(namespace);
    if (!list) {
      list = readTolerant(() => api.call({ verb: 'list', resource: 'daemonsets', group: 'apps', namespace }, () => api.apps.listNamespacedDaemonSet({ namespace })));
      lists.set(namespace, list);
    }
    return list;
  };
}

/** What the API shows of the datapath: the CNI's and kube-proxy's DaemonSets, kube-proxy's mode, Cilium's settings. */
async function readDatapath(api: KubeApi, listDaemonSets: DaemonSetLister): Promise<DatapathApiFacts> {
  const readConfigMap = (name: string) =>
    readTolerant(() => api.call({ verb: 'get', resource: 'configmaps', namespace: 'kube-system', name }, () => api.core.readNamespacedConfigMap({ namespace: 'kube-system', name })));
  // kube-proxy's configuration is read whether or not a DaemonSet runs kube-proxy: beside the lists, not after them.
  const kubeProxyRead = readConfigMap('kube-proxy');
  kubeProxyRead.catch(() => undefined);
  const lists = await Promise.all(DATAPATH_NAMESPACES.map(async (namespace) => ({ namespace, res: await listDaemonSets(namespace) })));
  const daemonSets = lists.flatMap(({ namespace, res }) => ('value' in res ? res.value.items.map((d) => `${namespace}/${d.metadata?.name ?? ''}`) : []));
  const unreadable = lists.flatMap(({ namespace, res }) => ('error' in res ? [`${namespace} (${res.error})`] : []));
  const [kubeProxy, cilium] = await Promise.all([
    kubeProxyRead,
    daemonSets.includes('kube-system/cilium') ? readConfigMap('cilium-config') : Promise.resolve({ missing: true as const }),
  ]);
  const mode = 'value' in kubeProxy ? /^mode:\s*"?([A-Za-z]*)"?\s*$/m.exec(kubeProxy.value.data?.['config.conf'] ?? '')?.[1] ?? '' : undefined;
  const replacement = 'value' in cilium ? cilium.value.data?.['kube-proxy-replacement'] : undefined;
  return {
    daemonSets,
    unreadable,
    ...(mode !== undefined ? { kubeProxy: { mode } } : 'error' in kubeProxy ? { kubeProxy: { error: kubeProxy.error } } : {}),
    ...(replacement !== undefined ? { ciliumKubeProxyReplacement: replacement } : {}),
  };
}

/**
 * The cluster DNS: the well-known DNS Services (never a cluster-wide list: kube-system's Services, then, only when none
 * is there, the other namespaces' well-known names read by name), each found one's pods through its own selector and
 * its EndpointSlices, and NodeLocal DNSCache's DaemonSet (from kube-system's DaemonSets) with its pods. The first
 * well-known Service found is the cluster DNS the API names; the source's resolv.conf later says which one it uses.
 */
async function readDns(api: KubeApi, listDaemonSets: DaemonSetLister): Promise<DnsFacts> {
  const [kubeSystem, nodeLocal] = await Promise.all([
    readTolerant(() => api.call({ verb: 'list', resource: 'services', namespace: 'kube-system' }, () => api.core.listNamespacedService({ namespace: 'kube-system' }))),
    readNodeLocalDns(api, listDaemonSets),
  ]);
  const unreadable: string[] = [];
  if ('error' in kubeSystem) unreadable.push(`the Services of kube-system: ${kubeSystem.error}`);
  if ('error' in nodeLocal) unreadable.push(`DaemonSet ${NODE_LOCAL_DNS.namespace}/${NODE_LOCAL_DNS.daemonSet}: ${nodeLocal.error}`);
  const isWellKnown = (svc: V1Service): boolean => WELL_KNOWN_DNS_SERVICES.some((w) => w.namespace === svc.metadata?.namespace && w.name === svc.metadata?.name);
  const isUpstream = (svc: V1Service): boolean => svc.metadata?.namespace === NODE_LOCAL_DNS.namespace && svc.metadata?.name === NODE_LOCAL_DNS.upstreamService;
  const found = 'value' in kubeSystem ? kubeSystem.value.items.filter((svc) => isWellKnown(svc) || isUpstream(svc)) : [];
  // The well-known Services of other namespaces are read by name, and only when kube-system holds none of them.
  if (!found.some(isWellKnown)) {
    const others = WELL_KNOWN_DNS_SERVICES.filter((w) => w.namespace !== 'kube-system');
    const reads = await Promise.all(
      others.map((ref) => readTolerant(() => api.call({ verb: 'get', resource: 'services', namespace: ref.namespace, name: ref.name }, () => api.core.readNamespacedService(ref)))),
    );
    reads.forEach((res, i) => {
      if ('value' in res) found.push(res.value);
      else if ('error' in res) unreadable.push(`Service ${others[i]?.namespace ?? ''}/${others[i]?.name ?? ''}: ${res.error}`);
    });
  }
  // In well-known order, so the first found is the one the API names.
  const ordered = found.filter((svc) => svc.spec?.type !== 'ExternalName').sort((x, y) => rankOf(x) - rankOf(y));
  const services = await Promise.all(ordered.map((svc) => readDnsService(api, svc)));
  const primary = services.find((s) => WELL_KNOWN_DNS_SERVICES.some((w) => w.namespace === s.namespace && w.name === s.name));
  return {
    ...(primary?.clusterIP ? { serviceIP: primary.clusterIP } : {}),
    pods: primary?.pods ?? [],
    readyEndpoints: primary?.readyEndpoints ?? 0,
    ...(primary?.podPort !== undefined ? { podPort: primary.podPort } : {}),
    ...(primary ? { service: { namespace: primary.namespace, name: primary.name, selector: primary.selector, ...(primary.workload ? { workload: primary.workload } : {}) } } : {}),
    services,
    ...('value' in nodeLocal ? { nodeLocal: { pods: nodeLocal.value } } : {}),
    ...(unreadable.length > 0 ? { unreadable } : {}),
  };
}

/** One DNS Service's ClusterIP, pods (by its selector), ready endpoints and pod port (from its EndpointSlices). */
async function readDnsService(api: KubeApi, svc: V1Service): Promise<DnsServiceFacts> {
  const namespace = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  const selector = formatSelector({ matchLabels: svc.spec?.selector ?? {} });
  const [slices, pods] = await Promise.all([
    api.call({ verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io', namespace }, () =>
      api.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${name}` }),
    ),
    selector === ''
      ? Promise.resolve([] as V1Pod[])
      : api.call({ verb: 'list', resource: 'pods', namespace }, () => api.core.listNamespacedPod({ namespace, labelSelector: selector })).then((l) => l.items),
  ]);
  const readyIPs = new Set<string>();
  for (const s of slices.items.filter(isIpSlice)) for (const e of s.endpoints ?? []) if (e.conditions?.ready ?? true) for (const ip of e.addresses ?? []) readyIPs.add(ip);
  const udp = slices.items.flatMap((s) => s.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'UDP' && p.port !== undefined);
  const podPort = (udp.find((p) => p.name === 'dns') ?? udp[0])?.port;
  const workload = pods.map(workloadOf).find((w) => w !== undefined);
  const clusterIP = svc.spec?.clusterIP;
  return {
    namespace,
    name,
    ...(clusterIP && clusterIP !== 'None' ? { clusterIP } : {}),
    ...(podPort !== undefined && podPort !== 53 ? { podPort } : {}),
    pods: pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').map(dnsPodOf),
    readyEndpoints: readyIPs.size,
    selector: selector === '' ? `kubernetes.io/service-name=${name}` : selector,
    ...(workload ? { workload } : {}),
  };
}

/** Where a Service stands among the well-known DNS names (kube-dns-upstream last). */
function rankOf(svc: V1Service): number {
  const i = WELL_KNOWN_DNS_SERVICES.findIndex((w) => w.namespace === svc.metadata?.namespace && w.name === svc.metadata?.name);
  return i < 0 ? WELL_KNOWN_DNS_SERVICES.length : i;
}

/** NodeLocal DNSCache's pods, through its DaemonSet's own selector (from kube-system's DaemonSets); `missing` when it does not run. */
async function readNodeLocalDns(api: KubeApi, listDaemonSets: DaemonSetLister): Promise<{ value: DnsPod[] } | { missing: true } | { error: string }> {
  const { namespace, daemonSet: name } = NODE_LOCAL_DNS;
  const list = await listDaemonSets(namespace);
  if (!('value' in list)) return list;
  const ds = list.value.items.find((d) => d.metadata?.name === name);
  if (!ds) return { missing: true };
  const selector = formatSelector(ds.spec?.selector ?? {});
  if (selector === '') return { value: [] };
  const pods = await readTolerant(() => api.call({ verb: 'list', resource: 'pods', namespace }, () => api.core.listNamespacedPod({ namespace, labelSelector: selector })));
  return 'value' in pods ? { value: pods.value.items.map(dnsPodOf) } : 'error' in pods ? pods : { value: [] };
}

function dnsPodOf(p: V1Pod): DnsPod {
  return { namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '', ip: p.status?.podIP ?? '', node: p.spec?.nodeName ?? '', ready: isReady(p) };
}

/** The workload that runs a pod, from its controller: a ReplicaSet stands for its Deployment (the name less the pod-template-hash). */
export function workloadOf(pod: V1Pod): WorkloadRef | undefined {
  const owner = (pod.metadata?.ownerReferences ?? []).find((o) => o.controller === true) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return undefined;
  switch (owner.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
      return { kind: owner.kind, name: owner.name };
    case 'ReplicaSet': {
      const hash = pod.metadata?.labels?.['pod-template-hash'];
      const name = hash && owner.name.endsWith(`-${hash}`) ? owner.name.slice(0, -hash.length - 1) : owner.name.replace(/-[a-z0-9]+$/, '');
      return { kind: 'Deployment', name };
    }
    default:
      return undefined;
  }
}
