/**
 * Pure functions from a validated Scenario to the Kubernetes API objects the lab serves at start: namespaces, nodes,
 * pods (with their addresses), services (with their ClusterIPs), network policies and workloads, plus the cluster DNS.
 * resourceVersion is left to the store.
 */
import { formatIPv4, getNodeUnderlayIP, parseCIDR, parseIPv4 } from './dataplane/addressing.ts';
import { systemNamespacesOf, systemPodsOf, systemWorkloadsOf } from './system-pods.ts';
import { clusterIPsFor, isDualStack, resolveServiceFamilies } from './dual-stack.ts';
import { nodePodCIDR6, nodeUnderlayIP6, podIPv6For } from './dataplane/addressing-v6.ts';
import { DEFAULT_CLUSTER, LAB_ADDRESSES, type IPFamily, type IPFamilyPolicy, type NodeOS, type Scenario, type ScenarioClusterDNS, type ScenarioPod } from './model.ts';
import { clusterDnsPods, DNS_POD_NAME, nodeLocalDnsPods, SYNTHETIC_NAMESPACE } from './scenario.ts';

/** Metadata every object carries (resourceVersion is set by the store). */
export interface KubeMeta {
  name: string;
  namespace?: string;
  uid: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp: string;
  resourceVersion?: string;
  generation?: number;
  deletionTimestamp?: string;
  ownerReferences?: KubeOwnerReference[];
}

/** metav1.OwnerReference. */
export interface KubeOwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any API object. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMeta;
  [key: string]: unknown;
}

/** core/v1 ContainerPort. */
export interface KubeContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

/** core/v1 Pod, the fields the lab reads and writes (other fields pass through). */
export interface KubePod extends KubeObject {
  apiVersion: 'v1';
  kind: 'Pod';
  spec: {
    nodeName?: string;
    hostNetwork?: boolean;
    hostname?: string;
    subdomain?: string;
    containers: { name: string; image?: string; ports?: KubeContainerPort[]; [key: string]: unknown }[];
    [key: string]: unknown;
  };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    hostIP?: string;
    conditions?: { type: string; status: string; [key: string]: unknown }[];
    [key: string]: unknown;
  };
}

/** core/v1 ServicePort. */
export interface KubeServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

/** core/v1 Service, the fields the lab reads and writes. */
export interface KubeService extends KubeObject {
  apiVersion: 'v1';
  kind: 'Service';
  spec: {
    type?: string;
    selector?: Record<string, string>;
    ports?: KubeServicePort[];
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
    publishNotReadyAddresses?: boolean;
    [key: string]: unknown;
  };
}

/** core/v1 Node, the fields the lab writes. */
export interface KubeNode extends KubeObject {
  apiVersion: 'v1';
  kind: 'Node';
  spec: { podCIDR: string; podCIDRs: string[]; taints?: { key: string; value?: string; effect: string }[] };
  status: Record<string, unknown> & {
    addresses: { type: string; address: string }[];
    conditions: { type: string; status: string; reason: string; message: string; lastHeartbeatTime: string; lastTransitionTime: string }[];
  };
}

/** Everything a scenario becomes in the API. */
export interface ClusterObjects {
  namespaces: KubeObject[];
  nodes: KubeNode[];
  pods: KubePod[];
  services: KubeService[];
  networkPolicies: KubeObject[];
  /** apps/v1 Deployments, StatefulSets and DaemonSets owning pods. */
  workloads: KubeObject[];
}

/** Inputs that make building deterministic in tests: the creation time and a UID generator. */
export interface BuildOptions {
  now: Date;
  uid: () => string;
}

/** Name, labels and workload of the cluster DNS the lab adds in the default layout (no `spec.cluster.dns`). */
export const CLUSTER_DNS = {
  namespace: 'kube-system',
  podName: DNS_POD_NAME,
  serviceName: 'kube-dns',
  workloadName: 'coredns',
  labels: { 'k8s-app': 'kube-dns' },
  clusterIP: LAB_ADDRESSES.dnsClusterIP,
} as const;

/** The cluster DNS of one scenario as the lab builds it: `spec.cluster.dns`, its ClusterIP and its pods' names and nodes. */
export interface ClusterDnsLayout extends ScenarioClusterDNS {
  clusterIP: string;
  pods: { name: string; node: string }[];
}

/** The cluster DNS layout of a scenario (the default one is CLUSTER_DNS: kube-system/kube-dns, Deployment coredns). */
export function clusterDnsLayout(scenario: Pick<Scenario, 'cluster' | 'nodes'>): ClusterDnsLayout {
  return { ...scenario.cluster.dns, clusterIP: LAB_ADDRESSES.dnsClusterIP, pods: clusterDnsPods(scenario.cluster.dns, scenario.nodes) };
}

/** NodeLocal DNSCache as upstream's nodelocaldns.yaml installs it (cluster/addons/dns/nodelocaldns). */
export const NODE_LOCAL_DNS = {
  namespace: 'kube-system',
  workloadName: 'node-local-dns',
  labels: { 'k8s-app': 'node-local-dns' },
  upstreamService: 'kube-dns-upstream',
  metricsService: 'node-local-dns',
  container: 'node-cache',
  image: 'registry.k8s.io/dns/k8s-dns-node-cache:1.26.4',
} as const;

/** The taint cloud providers put on Windows nodes (AKS and EKS document `os=windows:NoSchedule`). */
export const WINDOWS_NODE_TAINT = { key: 'os', value: 'windows', effect: 'NoSchedule' } as const;

/** Image the lab reports for scenario pods (its responder). */
export const RESPONDER_IMAGE = 'lab/responder';

const KUBELET_VERSION = 'v1.32.0';

let lastTime: { ms: number; text: string } = { ms: Number.NaN, text: '' };

/** Formats a time as the API does (RFC 3339, seconds); memoised because synthetic builds format it 100,000s of times. */
function timestamp(now: Date): string {
  const ms = now.getTime();
  if (lastTime.ms !== ms) lastTime = { ms, text: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  return lastTime.text;
}

/** Returns the pod IP of every scenario pod, keyed `ns/name`, plus the DNS pods (each first on its node). */
export function assignPodIPs(scenario: Scenario): Map<string, string> {
  const out = new Map<string, string>();
  const next = new Map<string, number>();
  const dns = clusterDnsLayout(scenario);
  const take = (nodeName: string): string => {
    const node = scenario.nodes.find((n) => n.name === nodeName);
    if (!node) throw new Error(`pod placed on unknown node ${nodeName}`);
    const { network: base, size } = parseCIDR(node.podCIDR);
    const offset = next.get(nodeName) ?? 2;
    if (offset >= size - 1) throw new Error(`pod CIDR ${node.podCIDR} of ${nodeName} is full`);
    next.set(nodeName, offset + 1);
    return formatIPv4(base + offset);
  };
  for (const d of dns.pods) out.set(`${dns.namespace}/${d.name}`, take(d.node));
  for (const pod of scenario.pods) {
    const key = `${pod.namespace}/${pod.name}`;
    if (pod.hostNetwork) {
      const node = scenario.nodes.find((n) => n.name === pod.node);
      if (!node) throw new Error(`pod ${key} placed on unknown node ${pod.node}`);
      out.set(key, getNodeUnderlayIP(node.index));
    } else {
      out.set(key, take(pod.node));
    }
  }
  // The pod network's own system pods come after the scenario's, so the scenario's addresses are the same on every network.
  for (const sys of systemPodsOf(scenario.cluster.network, scenario.nodes.map((n) => n.name))) {
    const node = scenario.nodes.find((n) => n.name === sys.node)!;
    out.set(`${sys.workload.namespace}/${sys.name}`, sys.workload.hostNetwork ? getNodeUnderlayIP(node.index) : take(sys.node));
  }
  return out;
}

/** Allocates ClusterIPs from the service CIDR in order, skipping the network, .1, the DNS address and taken ones. */
export function createClusterIPAllocator(taken: Iterable<string> = [], fromTop = false): () => string {
  const { network: base, size } = parseCIDR(LAB_ADDRESSES.serviceCIDR);
  const used = new Set<number>([base, base + 1, base + size - 1, parseIPv4(LAB_ADDRESSES.dnsClusterIP)]);
  for (const ip of taken) used.add(parseIPv4(ip));
  let cursor = fromTop ? size - 2 : 2;
  return () => {
    while (cursor > 0 && cursor < size - 1 && used.has(base + cursor)) cursor += fromTop ? -1 : 1;
    if (cursor <= 0 || cursor >= size - 1) throw new Error(`service CIDR ${LAB_ADDRESSES.serviceCIDR} is exhausted`);
    const ip = base + cursor;
    used.add(ip);
    return formatIPv4(ip);
  };
}

/** Returns the ClusterIP of every ClusterIP scenario service keyed `ns/name` ('None' for headless), plus the DNS Service. */
export function assignClusterIPs(scenario: Scenario): Map<string, string> {
  const explicit = scenario.services.flatMap((s) => (s.clusterIP && s.clusterIP !== 'None' ? [s.clusterIP] : []));
  const allocate = createClusterIPAllocator(explicit);
  const dns = scenario.cluster?.dns ?? DEFAULT_CLUSTER.dns;
  const out = new Map<string, string>([[`${dns.namespace}/${dns.service}`, LAB_ADDRESSES.dnsClusterIP]]);
  for (const svc of scenario.services) {
    if (svc.type !== 'ClusterIP') continue;
    out.set(`${svc.namespace}/${svc.name}`, svc.clusterIP ?? allocate());
  }
  if (dns.nodeLocalCache) out.set(`${NODE_LOCAL_DNS.namespace}/${NODE_LOCAL_DNS.upstreamService}`, allocate());
  return out;
}

function meta(name: string, namespace: string | undefined, labels: Record<string, string>, opts: BuildOptions): KubeMeta {
  const m: KubeMeta = { name, uid: opts.uid(), creationTimestamp: timestamp(opts.now) };
  if (namespace !== undefined) m.namespace = namespace;
  if (Object.keys(labels).length > 0) m.labels = { ...labels };
  return m;
}

function namespaceObject(name: string, labels: Record<string, string>, opts: BuildOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    // The API server adds this label to every namespace; namespaceSelectors rely on it.
    metadata: meta(name, undefined, { ...labels, 'kubernetes.io/metadata.name': name }, opts),
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/** What a Windows Server 2022 node reports (its build label and nodeInfo), as on AKS and EKS Windows node pools. */
const WINDOWS_NODE = { build: '10.0.20348', kernelVersion: '10.0.20348.2849', osImage: 'Windows Server 2022 Datacenter', runtime: 'containerd://1.7.20' } as const;

function nodeObject(
  node: { name: string; podCIDR: string; ready: boolean; labels: Record<string, string>; address: string; os?: NodeOS; v6?: NodeV6 },
  opts: BuildOptions,
): KubeNode {
  const time = timestamp(opts.now);
  const windows = node.os === 'windows';
  const labels = {
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/os': windows ? 'windows' : 'linux',
    ...(windows ? { 'node.kubernetes.io/windows-build': WINDOWS_NODE.build } : {}),
    ...node.labels,
    'kubernetes.io/hostname': node.name,
  };
  const pressure = (type: string, reason: string, message: string) => ({
    type, status: 'False', reason, message, lastHeartbeatTime: time, lastTransitionTime: time,
  });
  const spec: KubeNode['spec'] = { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] };
  // Dual-stack: kube-controller-manager gives one range per family, the cluster's primary family first.
  if (node.v6) spec.podCIDRs = node.v6.primary ? [node.v6.podCIDR, node.podCIDR] : [node.podCIDR, node.v6.podCIDR];
  spec.podCIDR = spec.podCIDRs[0]!;
  const internal = [{ type: 'InternalIP', address: node.address }];
  if (node.v6) internal.splice(node.v6.primary ? 0 : 1, 0, { type: 'InternalIP', address: node.v6.address });
  if (!node.ready) {
    spec.taints = [
      { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' },
    ];
  }
  if (windows) spec.taints = [...(spec.taints ?? []), { ...WINDOWS_NODE_TAINT }];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: meta(node.name, undefined, labels, opts),
    spec,
    status: {
      addresses: [...internal, { type: 'Hostname', address: node.name }],
      conditions: [
        pressure('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        pressure('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        pressure('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        node.ready
          ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: time, lastTransitionTime: time }
          : {
            type: 'Ready',
            status: 'False',
            reason: 'KubeletNotReady',
            message: 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
            lastHeartbeatTime: time,
            lastTransitionTime: time,
          },
      ],
      capacity: { cpu: '2', memory: '4039684Ki', pods: '110' },
      allocatable: { cpu: '2', memory: '3937284Ki', pods: '110' },
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: windows ? 'windows' : 'linux',
        osImage: windows ? WINDOWS_NODE.osImage : 'netdebug lab',
        kernelVersion: windows ? WINDOWS_NODE.kernelVersion : 'lab',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        containerRuntimeVersion: windows ? WINDOWS_NODE.runtime : 'lab://1.0',
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    },
  };
}

/** A node's IPv6 side in the API on a dual-stack cluster: its pod range and InternalIP, and whether IPv6 is the primary family. */
interface NodeV6 {
  podCIDR: string;
  address: string;
  primary: boolean;
}

/** What podObject needs to build one Running pod. */
export interface PodInput {
  name: string;
  namespace: string;
  node: string;
  labels: Record<string, string>;
  ports: KubeContainerPort[];
  ready: boolean;
  hostNetwork: boolean;
  podIP: string;
  hostIP: string;
  container: string;
  image: string;
  ownerReferences?: KubeOwnerReference[];
  securityContext?: Record<string, unknown>;
  /** The container's securityContext (set for pods of namespaces that enforce Pod Security restricted). */
  containerSecurityContext?: Record<string, unknown>;
  /** Set for pods on Windows nodes: the nodeSelector and toleration such pods carry. */
  windows?: boolean;
  /** Overrides the dnsPolicy the lab derives from hostNetwork. */
  dnsPolicy?: string;
  /** Dual-stack: the pod's and host's IPv6 addresses, and whether IPv6 is the primary family (listed first). */
  v6?: { podIP: string; hostIP: string; primary: boolean };
}

/** A dual-stack pod's hostIP(s) and podIP(s): both families, the primary first. */
function dualStackAddresses(p: PodInput, v6: NonNullable<PodInput['v6']>): { hostIP: string; hostIPs: { ip: string }[]; podIP: string; podIPs: { ip: string }[] } {
  const host = v6.primary ? [v6.hostIP, p.hostIP] : [p.hostIP, v6.hostIP];
  const pod = v6.primary ? [v6.podIP, p.podIP] : [p.podIP, v6.podIP];
  return { hostIP: host[0]!, hostIPs: host.map((ip) => ({ ip })), podIP: pod[0]!, podIPs: pod.map((ip) => ({ ip })) };
}

/** Builds a core/v1 Pod as the kubelet reports it once running. */
export function podObject(p: PodInput, opts: BuildOptions): KubePod {
  const time = timestamp(opts.now);
  const dual = p.v6 === undefined ? undefined : dualStackAddresses(p, p.v6);
  const status = p.ready ? 'True' : 'False';
  const notReady = p.ready ? {} : { reason: 'ContainersNotReady', message: `containers with unready status: [${p.container}]` };
  const metadata = meta(p.name, p.namespace, p.labels, opts);
  if (p.ownerReferences) metadata.ownerReferences = p.ownerReferences;
  const container: KubePod['spec']['containers'][number] = { name: p.container, image: p.image, imagePullPolicy: 'IfNotPresent' };
  if (p.containerSecurityContext) container.securityContext = structuredClone(p.containerSecurityContext);
  if (p.ports.length > 0) container.ports = p.ports.map((port) => ({ ...port }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: {
      nodeName: p.node,
      hostNetwork: p.hostNetwork,
      containers: [container],
      restartPolicy: 'Always',
      dnsPolicy: p.dnsPolicy ?? (p.hostNetwork ? 'ClusterFirstWithHostNet' : 'ClusterFirst'),
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      ...(p.securityContext ? { securityContext: structuredClone(p.securityContext) } : {}),
      ...(p.windows
        ? { nodeSelector: { 'kubernetes.io/os': 'windows' }, tolerations: [{ key: WINDOWS_NODE_TAINT.key, operator: 'Equal', value: WINDOWS_NODE_TAINT.value, effect: WINDOWS_NODE_TAINT.effect }] }
        : {}),
    },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: time },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: time },
        { type: 'Ready', status, lastProbeTime: null, lastTransitionTime: time, ...notReady },
        { type: 'ContainersReady', status, lastProbeTime: null, lastTransitionTime: time, ...notReady },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: time },
      ],
      hostIP: dual?.hostIP ?? p.hostIP,
      hostIPs: dual?.hostIPs ?? [{ ip: p.hostIP }],
      podIP: dual?.podIP ?? p.podIP,
      podIPs: dual?.podIPs ?? [{ ip: p.podIP }],
      startTime: time,
      qosClass: 'BestEffort',
      containerStatuses: [
        {
          name: p.container,
          ready: p.ready,
          started: true,
          restartCount: 0,
          image: p.image,
          imageID: `${p.image}@sha256:${'0'.repeat(64)}`,
          containerID: `lab://${p.namespace}.${p.name}.${p.container}`,
          state: { running: { startedAt: time } },
          lastState: {},
        },
      ],
    },
  };
}

function serviceObject(
  s: {
    name: string; namespace: string; type: string; selector?: Record<string, string>; ports: KubeServicePort[]; clusterIP?: string; externalName?: string;
    labels?: Record<string, string>; internalTrafficPolicy?: string;
    /** The settled families and policy (resolveServiceFamilies); absent: [IPv4], SingleStack. */
    families?: { policy: IPFamilyPolicy; families: IPFamily[] };
  },
  opts: BuildOptions,
): KubeService {
  const spec: KubeService['spec'] = { type: s.type, sessionAffinity: 'None' };
  if (s.ports.length > 0) spec.ports = s.ports.map((p) => ({ ...p }));
  if (s.selector) spec.selector = { ...s.selector };
  if (s.type === 'ExternalName') {
    if (s.externalName !== undefined) spec.externalName = s.externalName;
  } else {
    const families = s.families ?? { policy: 'SingleStack', families: ['IPv4'] };
    const clusterIPs = clusterIPsFor(s.clusterIP ?? 'None', families.families);
    spec.clusterIP = clusterIPs[0];
    spec.clusterIPs = clusterIPs;
    spec.ipFamilies = [...families.families];
    spec.ipFamilyPolicy = families.policy;
    spec.internalTrafficPolicy = s.internalTrafficPolicy ?? 'Cluster';
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(s.name, s.namespace, s.labels ?? {}, opts),
    spec,
    status: { loadBalancer: {} },
  };
}

function containerPortsOf(pod: ScenarioPod): KubeContainerPort[] {
  return pod.ports.map((p) => (p.name === undefined ? { containerPort: p.containerPort, protocol: p.protocol } : { name: p.name, containerPort: p.containerPort, protocol: p.protocol }));
}

/** Builds the Deployment, StatefulSet or DaemonSet that owns the given pods, with matching status counts. */
export function workloadObject(
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet',
  name: string,
  namespace: string,
  pods: { labels: Record<string, string>; ready: boolean; ports: KubeContainerPort[]; container: string; image: string }[],
  opts: BuildOptions,
): KubeObject {
  const first = pods[0];
  const selector = Object.fromEntries(Object.entries(first?.labels ?? {}).filter(([k, v]) => pods.every((p) => p.labels[k] === v)));
  const total = pods.length;
  const ready = pods.filter((p) => p.ready).length;
  const container: Record<string, unknown> = { name: first?.container ?? 'app', image: first?.image ?? RESPONDER_IMAGE };
  if (first && first.ports.length > 0) container.ports = first.ports;
  const template = { metadata: { labels: { ...(first?.labels ?? {}) } }, spec: { containers: [container] } };
  const metadata = meta(name, namespace, {}, opts);
  metadata.generation = 1;
  const base = { apiVersion: 'apps/v1', kind, metadata };
  switch (kind) {
    case 'Deployment':
      return {
        ...base,
        spec: { replicas: total, selector: { matchLabels: selector }, template, strategy: { type: 'RollingUpdate' } },
        status: { observedGeneration: 1, replicas: total, updatedReplicas: total, readyReplicas: ready, availableReplicas: ready, unavailableReplicas: total - ready },
      };
    case 'StatefulSet':
      return {
        ...base,
        spec: { replicas: total, selector: { matchLabels: selector }, template, serviceName: name },
        status: { observedGeneration: 1, replicas: total, currentReplicas: total, updatedReplicas: total, readyReplicas: ready, availableReplicas: ready },
      };
    case 'DaemonSet':
      return {
        ...base,
        spec: { selector: { matchLabels: selector }, template },
        status: {
          observedGeneration: 1,
          currentNumberScheduled: total,
          desiredNumberScheduled: total,
          updatedNumberScheduled: total,
          numberMisscheduled: 0,
          numberReady: ready,
          numberAvailable: ready,
          numberUnavailable: total - ready,
        },
      };
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown workload kind ${String(unreachable)}`);
    }
  }
}

/** Builds the API objects a scenario starts with, including the cluster DNS pod, Deployment and Service. */
export function buildClusterObjects(scenario: Scenario, opts: BuildOptions): ClusterObjects {
  const podIPs = assignPodIPs(scenario);
  const clusterIPs = assignClusterIPs(scenario);
  const namespaces = scenario.namespaces.map((ns) => namespaceObject(ns.name, ns.labels, opts));
  for (const name of systemNamespacesOf(scenario.cluster.network)) {
    if (!scenario.namespaces.some((ns) => ns.name === name)) namespaces.push(namespaceObject(name, { name }, opts));
  }
  const dual = isDualStack(scenario.cluster);
  const v6First = scenario.cluster.ipFamilies[0] === 'IPv6';
  const nodes = scenario.nodes.map((n) => nodeObject({
    ...n,
    address: getNodeUnderlayIP(n.index),
    ...(dual ? { v6: { podCIDR: nodePodCIDR6(n.index), address: nodeUnderlayIP6(n.index), primary: v6First } } : {}),
  }, opts));
  /** A pod's IPv6 side on a dual-stack cluster: the same host offset in the node's IPv6 range, or the node's IPv6 address. */
  const v6For = (nodeName: string, podIP: string, hostNetwork: boolean): { v6?: PodInput['v6'] } => {
    const node = scenario.nodes.find((n) => n.name === nodeName);
    if (!dual || !node || podIP === '') return {};
    const hostIP = nodeUnderlayIP6(node.index);
    return { v6: { podIP: hostNetwork ? hostIP : podIPv6For(podIP, node.podCIDR, nodePodCIDR6(node.index)), hostIP, primary: v6First } };
  };
  const dns = clusterDnsLayout(scenario);
  const windowsNodes = new Set(scenario.nodes.filter((n) => n.os === 'windows').map((n) => n.name));
  const restrictedNamespaces = new Set(scenario.namespaces.filter((n) => n.labels['pod-security.kubernetes.io/enforce'] === 'restricted').map((n) => n.name));
  const hostIPOf = (nodeName: string): string => {
    const node = scenario.nodes.find((n) => n.name === nodeName);
    if (!node) throw new Error(`unknown node ${nodeName}`);
    return getNodeUnderlayIP(node.index);
  };

  // Workloads first, so pods can reference their UIDs.
  const workloads: KubeObject[] = [];
  const ownerRefs = new Map<string, KubeOwnerReference[]>();
  const dnsReady = !scenario.faults.some((f) => f.type === 'dns-no-endpoints');
  const dnsPorts: KubeContainerPort[] = [
    { name: 'dns', containerPort: dns.port, protocol: 'UDP' },
    { name: 'dns-tcp', containerPort: dns.port, protocol: 'TCP' },
  ];
  const dnsPod = { labels: { ...dns.labels }, ready: dnsReady, ports: dnsPorts, container: 'coredns', image: 'lab/dns' };
  const addWorkload = (kind: 'Deployment' | 'StatefulSet' | 'DaemonSet', name: string, namespace: string, pods: Parameters<typeof workloadObject>[3]): KubeOwnerReference[] => {
    const w = workloadObject(kind, name, namespace, pods, opts);
    workloads.push(w);
    return [{ apiVersion: 'apps/v1', kind, name, uid: w.metadata.uid, controller: true, blockOwnerDeletion: true }];
  };
  const dnsOwner = dns.pods.length > 0 ? addWorkload(dns.workload.kind, dns.workload.name, dns.namespace, dns.pods.map(() => dnsPod)) : undefined;
  const nodeLocalPods = dns.nodeLocalCache ? nodeLocalDnsPods(scenario.nodes) : [];
  const nodeLocalPorts: KubeContainerPort[] = [
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
    { name: 'metrics', containerPort: 9253, protocol: 'TCP' },
  ];
  const nodeLocalPod = { labels: { ...NODE_LOCAL_DNS.labels }, ready: true, ports: nodeLocalPorts, container: NODE_LOCAL_DNS.container, image: NODE_LOCAL_DNS.image };
  const nodeLocalOwner = nodeLocalPods.length > 0 ? addWorkload('DaemonSet', NODE_LOCAL_DNS.workloadName, NODE_LOCAL_DNS.namespace, nodeLocalPods.map(() => nodeLocalPod)) : undefined;
  const groups = new Map<string, ScenarioPod[]>();
  for (const pod of scenario.pods) {
    if (!pod.owner) continue;
    const key = `${pod.namespace}/${pod.owner.kind}/${pod.owner.name}`;
    groups.set(key, [...(groups.get(key) ?? []), pod]);
  }
  for (const [key, group] of groups) {
    const first = group[0];
    if (!first?.owner) continue;
    ownerRefs.set(key, addWorkload(first.owner.kind, first.owner.name, first.namespace, group.map((p) => ({ labels: p.labels, ready: p.ready, ports: containerPortsOf(p), container: 'app', image: RESPONDER_IMAGE }))));
  }

  const pods: KubePod[] = [];
  for (const d of dns.pods) {
    const input: PodInput = {
      name: d.name,
      namespace: dns.namespace,
      node: d.node,
      ...dnsPod,
      hostNetwork: false,
      podIP: podIPs.get(`${dns.namespace}/${d.name}`) ?? '',
      hostIP: hostIPOf(d.node),
      ...v6For(d.node, podIPs.get(`${dns.namespace}/${d.name}`) ?? '', false),
    };
    if (dnsOwner) input.ownerReferences = dnsOwner;
    pods.push(podObject(input, opts));
  }
  for (const p of nodeLocalPods) {
    const input: PodInput = {
      name: p.name,
      namespace: NODE_LOCAL_DNS.namespace,
      node: p.node,
      ...nodeLocalPod,
      hostNetwork: true,
      podIP: hostIPOf(p.node),
      hostIP: hostIPOf(p.node),
      dnsPolicy: 'Default',
      containerSecurityContext: { capabilities: { add: ['NET_ADMIN'] } },
      ...v6For(p.node, hostIPOf(p.node), true),
    };
    if (nodeLocalOwner) input.ownerReferences = nodeLocalOwner;
    pods.push(podObject(input, opts));
  }
  for (const pod of scenario.pods) {
    const input: PodInput = {
      name: pod.name,
      namespace: pod.namespace,
      node: pod.node,
      labels: pod.labels,
      ports: containerPortsOf(pod),
      ready: pod.ready,
      hostNetwork: pod.hostNetwork,
      podIP: podIPs.get(`${pod.namespace}/${pod.name}`) ?? '',
      hostIP: hostIPOf(pod.node),
      container: 'app',
      image: RESPONDER_IMAGE,
      ...v6For(pod.node, podIPs.get(`${pod.namespace}/${pod.name}`) ?? '', pod.hostNetwork),
    };
    const refs = pod.owner ? ownerRefs.get(`${pod.namespace}/${pod.owner.kind}/${pod.owner.name}`) : undefined;
    if (refs) input.ownerReferences = refs;
    if (pod.securityContext) input.securityContext = { ...pod.securityContext };
    // A pod running in a namespace that enforces restricted was admitted there: its container drops every capability
    // and forbids privilege escalation, as restricted requires of each container.
    if (restrictedNamespaces.has(pod.namespace)) input.containerSecurityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
    if (windowsNodes.has(pod.node)) input.windows = true;
    pods.push(podObject(input, opts));
  }
  const systemPods = systemPodsOf(scenario.cluster.network, scenario.nodes.map((n) => n.name));
  for (const w of systemWorkloadsOf(scenario.cluster.network)) {
    const mine = systemPods.filter((p) => p.workload.namespace === w.namespace && p.workload.name === w.name);
    const refs = addWorkload(w.kind, w.name, w.namespace, mine.map(() => ({ labels: w.labels, ready: true, ports: [], container: w.container, image: w.image })));
    for (const p of mine) {
      pods.push(podObject({
        name: p.name,
        namespace: w.namespace,
        node: p.node,
        labels: { ...w.labels },
        ports: [],
        ready: true,
        hostNetwork: w.hostNetwork,
        podIP: podIPs.get(`${w.namespace}/${p.name}`) ?? '',
        hostIP: hostIPOf(p.node),
        container: w.container,
        image: w.image,
        ownerReferences: refs,
        ...v6For(p.node, podIPs.get(`${w.namespace}/${p.name}`) ?? '', w.hostNetwork),
      }, opts));
    }
  }

  const services: KubeService[] = [
    serviceObject({
      name: dns.service,
      namespace: dns.namespace,
      type: 'ClusterIP',
      selector: { ...dns.labels },
      ports: [
        { name: 'dns', port: 53, targetPort: dns.port, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, targetPort: dns.port, protocol: 'TCP' },
      ],
      clusterIP: dns.clusterIP,
      // kubeadm's kube-dns Service sets no policy: SingleStack in the cluster's primary family (fd00:10:96::a first on [IPv6, IPv4]).
      ...(dual ? { families: { policy: 'SingleStack' as const, families: [scenario.cluster.ipFamilies[0]!] } } : {}),
      labels: dns.labels['k8s-app'] === 'kube-dns'
        ? { ...dns.labels, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' }
        : { ...dns.labels },
    }, opts),
  ];
  if (dns.nodeLocalCache) {
    const upstream = clusterIPs.get(`${NODE_LOCAL_DNS.namespace}/${NODE_LOCAL_DNS.upstreamService}`);
    services.push(
      serviceObject({
        name: NODE_LOCAL_DNS.upstreamService,
        namespace: NODE_LOCAL_DNS.namespace,
        type: 'ClusterIP',
        selector: { ...dns.labels },
        ports: [
          { name: 'dns', port: 53, targetPort: dns.port, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, targetPort: dns.port, protocol: 'TCP' },
        ],
        ...(upstream ? { clusterIP: upstream } : {}),
        // Like kube-dns: no policy, so SingleStack in the cluster's primary family (an IPv6 ClusterIP on [IPv6, IPv4]).
        ...(dual ? { families: { policy: 'SingleStack' as const, families: [scenario.cluster.ipFamilies[0]!] } } : {}),
        labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'addonmanager.kubernetes.io/mode': 'Reconcile', 'kubernetes.io/name': 'KubeDNSUpstream' },
      }, opts),
      serviceObject({
        name: NODE_LOCAL_DNS.metricsService,
        namespace: NODE_LOCAL_DNS.namespace,
        type: 'ClusterIP',
        selector: { ...NODE_LOCAL_DNS.labels },
        ports: [{ name: 'metrics', port: 9253, targetPort: 9253, protocol: 'TCP' }],
        clusterIP: 'None',
        labels: { ...NODE_LOCAL_DNS.labels },
      }, opts),
    );
  }
  for (const svc of scenario.services) {
    const input: Parameters<typeof serviceObject>[0] = {
      name: svc.name,
      namespace: svc.namespace,
      type: svc.type,
      ports: svc.ports.map((p) => (p.name === undefined
        ? { port: p.port, targetPort: p.targetPort, protocol: p.protocol }
        : { name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol })),
    };
    if (svc.selector) input.selector = svc.selector;
    const ip = clusterIPs.get(`${svc.namespace}/${svc.name}`);
    if (ip) input.clusterIP = ip;
    if (svc.externalName !== undefined) input.externalName = svc.externalName;
    if (svc.internalTrafficPolicy !== undefined) input.internalTrafficPolicy = svc.internalTrafficPolicy;
    if (svc.type === 'ClusterIP' && (dual || svc.ipFamilyPolicy !== undefined || svc.ipFamilies !== undefined)) {
      const r = resolveServiceFamilies(svc, scenario.cluster.ipFamilies);
      if (!r.ok) throw new Error(`service ${svc.namespace}/${svc.name}: ${r.field}: ${r.message}`);
      input.families = { policy: r.policy, families: r.families };
    }
    services.push(serviceObject(input, opts));
  }

  const networkPolicies: KubeObject[] = scenario.networkPolicies.map((np) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { ...meta(np.metadata.name, np.metadata.namespace, np.metadata.labels ?? {}, opts), generation: 1 },
    spec: structuredClone(np.spec),
  }));

  return { namespaces, nodes, pods, services, networkPolicies, workloads };
}

/** Counts of API-only objects (spec.synthetic). */
export interface SyntheticCounts {
  nodes: number;
  pods: number;
  services: number;
}

/** Options for synthetic objects; takenClusterIPs are avoided (pass the scenario's). */
export interface SyntheticOptions extends BuildOptions {
  takenClusterIPs?: Iterable<string>;
}

/** Returns the pod CIDR of synthetic node i (0-based): 10.<100+i/256>.<i%256>.0/24, outside the lab's real pod network. */
export function syntheticPodCIDR(i: number): string {
  return `10.${100 + Math.floor(i / 256)}.${i % 256}.0/24`;
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
}

/**
 * Builds API-only objects for scale tests: nodes `synth-node-00001`..., pods spread round-robin over them and services
 * `synth-svc-00001`... selecting `app: synth-app-<k>`, all in the `synthetic` namespace. They have no data plane.
 */
export function buildSyntheticObjects(counts: SyntheticCounts, opts: SyntheticOptions): Pick<ClusterObjects, 'namespaces' | 'nodes' | 'pods' | 'services'> {
  const namespaces = counts.nodes + counts.pods + counts.services > 0 ? [namespaceObject(SYNTHETIC_NAMESPACE, {}, opts)] : [];
  const nodes: KubeNode[] = [];
  for (let i = 0; i < counts.nodes; i++) {
    nodes.push(nodeObject({ name: `synth-node-${pad5(i + 1)}`, podCIDR: syntheticPodCIDR(i), ready: true, labels: { 'lab.netdebug.dev/synthetic': 'true' }, address: formatIPv4(parseIPv4('172.30.0.0') + i + 1) }, opts));
  }
  const pods: KubePod[] = [];
  if (counts.pods > 0 && counts.nodes === 0) throw new Error('synthetic pods need synthetic nodes');
  const apps = Math.max(counts.services, 1);
  const perNode = new Array<number>(counts.nodes).fill(2);
  const nodeBases = nodes.map((n) => parseCIDR(n.spec.podCIDR).network);
  for (let j = 0; j < counts.pods; j++) {
    const nodeIndex = j % counts.nodes;
    const node = nodes[nodeIndex];
    if (!node) throw new Error('unreachable: synthetic node missing');
    const offset = perNode[nodeIndex] ?? 2;
    if (offset > 254) throw new Error(`too many synthetic pods for ${counts.nodes} nodes (at most 253 per node)`);
    perNode[nodeIndex] = offset + 1;
    pods.push(podObject({
      name: `synth-pod-${pad5(j + 1)}`,
      namespace: SYNTHETIC_NAMESPACE,
      node: node.metadata.name,
      labels: { app: `synth-app-${pad5((j % apps) + 1)}` },
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      ready: true,
      hostNetwork: false,
      podIP: formatIPv4((nodeBases[nodeIndex] ?? 0) + offset),
      hostIP: node.status.addresses[0]?.address ?? '',
      container: 'app',
      image: RESPONDER_IMAGE,
    }, opts));
  }
  const allocate = createClusterIPAllocator(opts.takenClusterIPs ?? [], true);
  const services: KubeService[] = [];
  for (let k = 0; k < counts.services; k++) {
    services.push(serviceObject({
      name: `synth-svc-${pad5(k + 1)}`,
      namespace: SYNTHETIC_NAMESPACE,
      type: 'ClusterIP',
      selector: { app: `synth-app-${pad5(k + 1)}` },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
      clusterIP: allocate(),
    }, opts));
  }
  return { namespaces, nodes, pods, services };
}
