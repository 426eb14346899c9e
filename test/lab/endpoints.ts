/**
 * The EndpointSlice and Endpoints controllers as pure functions, following kube-controller-manager's rules:
 * which pods are endpoints, their ready/serving/terminating conditions, named targetPorts resolved per pod and
 * endpoints grouped into one slice per distinct resolved port set.
 */
import { createHash } from 'node:crypto';
import { matchesLabels, type LabelRequirement } from './api/selectors.ts';
import type { KubeMeta, KubeNode, KubePod, KubeService } from './objects.ts';

/** The controller name written to `endpointslice.kubernetes.io/managed-by`. */
export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';

/** The most endpoints one slice holds (the controller's default --max-endpoints-per-slice). */
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** discovery.k8s.io/v1 EndpointPort. */
export interface EndpointSlicePort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** discovery.k8s.io/v1 Endpoint. */
export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  nodeName?: string;
  hostname?: string;
  zone?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

/** discovery.k8s.io/v1 EndpointSlice (resourceVersion and uid are the store's). */
export interface EndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: Omit<KubeMeta, 'uid' | 'creationTimestamp'> & { generateName: string; uid?: string; creationTimestamp?: string };
  addressType: 'IPv4' | 'IPv6';
  endpoints: SliceEndpoint[];
  ports: EndpointSlicePort[];
}

/** core/v1 EndpointAddress. */
export interface EndpointAddress {
  ip: string;
  nodeName?: string;
  hostname?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

/** core/v1 Endpoints (resourceVersion and uid are the store's). */
export interface Endpoints {
  apiVersion: 'v1';
  kind: 'Endpoints';
  metadata: Omit<KubeMeta, 'uid' | 'creationTimestamp'> & { uid?: string; creationTimestamp?: string };
  subsets?: {
    addresses?: EndpointAddress[];
    notReadyAddresses?: EndpointAddress[];
    ports?: { name?: string; port: number; protocol: string; appProtocol?: string }[];
  }[];
}

/** Returns whether a pod's Ready condition is True. */
export function isPodReady(pod: KubePod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function isTerminal(pod: KubePod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** A pod's addresses of one family (status.podIPs; IPv4 addresses hold dots, IPv6 ones colons). */
function podIPsOf(pod: KubePod, family: AddressType): string[] {
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  return family === 'IPv4' ? ips.filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip)) : ips.filter((ip) => ip.includes(':'));
}

/** An EndpointSlice address type, one per Service family. */
type AddressType = EndpointSlice['addressType'];

/** The address types the controller keeps slices for: one per entry of the Service's `ipFamilies` (IPv4 when absent). */
function addressTypesOf(service: KubeService): AddressType[] {
  const families = (service.spec.ipFamilies as AddressType[] | undefined) ?? [];
  return families.length > 0 ? families : ['IPv4'];
}

/** Mirrors the controller's ShouldPodBeInEndpoints: not terminal, has an IP, and terminating only when included. */
function shouldBeEndpoint(pod: KubePod, includeTerminating: boolean, family: AddressType = 'IPv4'): boolean {
  if (isTerminal(pod)) return false;
  if (podIPsOf(pod, family).length === 0) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp !== undefined) return false;
  return true;
}

/** Returns the pods a service selects, in its namespace (none for services without a selector). */
function selectedPods(service: KubeService, pods: KubePod[]): KubePod[] {
  // A Service selector with no labels selects nothing (unlike a NetworkPolicy podSelector).
  const reqs = Object.entries(service.spec.selector ?? {}).map(([key, value]): LabelRequirement => ({ op: 'eq', key, value }));
  if (reqs.length === 0) return [];
  return pods.filter((p) => p.metadata.namespace === service.metadata.namespace && matchesLabels(reqs, p.metadata.labels));
}

/** Resolves a service port's targetPort against a pod (podutil.FindPort): a name must match a container port and protocol. */
export function findPort(pod: KubePod, servicePort: { port: number; targetPort?: number | string; protocol?: string }): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = servicePort.protocol ?? 'TCP';
  for (const container of pod.spec.containers) {
    for (const port of container.ports ?? []) {
      if (port.name === target && (port.protocol ?? 'TCP') === protocol) return port.containerPort;
    }
  }
  return undefined;
}

function isHeadless(service: KubeService): boolean {
  return service.spec.clusterIP === 'None';
}

function endpointPorts(service: KubeService, pod: KubePod): EndpointSlicePort[] {
  const out: EndpointSlicePort[] = [];
  for (const sp of service.spec.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointSlicePort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

function hostnameFor(pod: KubePod, service: KubeService): string | undefined {
  const { hostname, subdomain } = pod.spec;
  if (hostname && subdomain === service.metadata.name && pod.metadata.namespace === service.metadata.namespace) return hostname;
  return undefined;
}

function shortHash(text: string): string {
  // The real controller uses generateName (random); a hash keeps the name stable for the same service and port set.
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(text).digest();
  let out = '';
  for (let i = 0; i < 5; i++) out += alphabet[(digest[i] ?? 0) % alphabet.length];
  return out;
}

function targetRef(pod: KubePod): SliceEndpoint['targetRef'] {
  return { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name, uid: pod.metadata.uid };
}

function sliceLabels(service: KubeService): Record<string, string> {
  const reserved = ['kubernetes.io/service-name', 'endpointslice.kubernetes.io/managed-by', 'service.kubernetes.io/headless'];
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(service.metadata.labels ?? {})) if (!reserved.includes(k)) labels[k] = v;
  if (isHeadless(service)) labels['service.kubernetes.io/headless'] = '';
  labels['kubernetes.io/service-name'] = service.metadata.name;
  labels['endpointslice.kubernetes.io/managed-by'] = ENDPOINTSLICE_CONTROLLER;
  return labels;
}

function newSlice(service: KubeService, ports: EndpointSlicePort[], endpoints: SliceEndpoint[], key: string, addressType: AddressType = 'IPv4'): EndpointSlice {
  // The IPv4 slices keep the names they always had; an IPv6 slice's name hashes its address type in as well.
  const hashed = addressType === 'IPv4' ? key : `${addressType}/${key}`;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${service.metadata.name}-${shortHash(`${service.metadata.namespace}/${service.metadata.name}/${hashed}`)}`,
      generateName: `${service.metadata.name}-`,
      namespace: service.metadata.namespace ?? 'default',
      labels: sliceLabels(service),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: service.metadata.name, uid: service.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    addressType,
    endpoints,
    ports,
  };
}

/**
 * Computes the EndpointSlices the controller keeps for a service: none without a selector; otherwise one slice per
 * distinct resolved port set (at most 100 endpoints each), or one empty placeholder slice when no pod qualifies.
 */
export function computeEndpointSlices(service: KubeService, pods: KubePod[], nodes: KubeNode[]): EndpointSlice[] {
  if (!service.spec.selector || service.spec.type === 'ExternalName') return [];
  // The controller reconciles each address type of the Service on its own (reconcileByAddressType).
  return addressTypesOf(service).flatMap((family) => slicesOfFamily(service, pods, nodes, family));
}

/** The slices of one address type: grouped by resolved port set, or one empty placeholder when no pod qualifies. */
function slicesOfFamily(service: KubeService, pods: KubePod[], nodes: KubeNode[], family: AddressType): EndpointSlice[] {
  const groups = new Map<string, { ports: EndpointSlicePort[]; endpoints: SliceEndpoint[] }>();
  const nodeByName = new Map(nodes.map((n) => [n.metadata.name, n]));
  const candidates = selectedPods(service, pods)
    .filter((p) => shouldBeEndpoint(p, true, family))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const pod of candidates) {
    const ports = endpointPorts(service, pod);
    const key = JSON.stringify(ports.map((p) => [p.name, p.port, p.protocol, p.appProtocol ?? null]).sort());
    const group = groups.get(key) ?? { ports, endpoints: [] };
    groups.set(key, group);
    const serving = isPodReady(pod);
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    // For compatibility "ready" is never true for a terminating pod, unless publishNotReadyAddresses is set.
    const ready = service.spec.publishNotReadyAddresses === true || (serving && !terminating);
    const endpoint: SliceEndpoint = { addresses: podIPsOf(pod, family).slice(0, 1), conditions: { ready, serving, terminating }, targetRef: targetRef(pod) };
    if (pod.spec.nodeName) endpoint.nodeName = pod.spec.nodeName;
    const hostname = hostnameFor(pod, service);
    if (hostname) endpoint.hostname = hostname;
    const zone = pod.spec.nodeName ? nodeByName.get(pod.spec.nodeName)?.metadata.labels?.['topology.kubernetes.io/zone'] : undefined;
    if (zone) endpoint.zone = zone;
    group.endpoints.push(endpoint);
  }
  if (groups.size === 0) return [newSlice(service, [], [], 'placeholder', family)];
  const slices: EndpointSlice[] = [];
  for (const [key, group] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    for (let i = 0; i < group.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) {
      slices.push(newSlice(service, group.ports, group.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE), `${key}#${i / MAX_ENDPOINTS_PER_SLICE}`, family));
    }
  }
  return slices;
}

/**
 * Computes the v1 Endpoints object for a service (undefined without a selector): ready pods in `addresses`, others in
 * `notReadyAddresses`, grouped into one subset per resolved port set; terminating pods only with publishNotReadyAddresses.
 */
export function computeEndpoints(service: KubeService, pods: KubePod[]): Endpoints | undefined {
  if (!service.spec.selector || service.spec.type === 'ExternalName') return undefined;
  const tolerateUnready = service.spec.publishNotReadyAddresses === true;
  // The Endpoints controller lists one family: the Service's first (podToEndpointAddressForService).
  const family = addressTypesOf(service)[0] ?? 'IPv4';
  const subsets = new Map<string, { ports: EndpointSlicePort[]; addresses: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of selectedPods(service, pods)) {
    if (!shouldBeEndpoint(pod, tolerateUnready, family)) continue;
    const ports = endpointPorts(service, pod);
    // Addresses come per resolved port; only a headless service without ports lists pods with no port at all.
    if (ports.length === 0 && ((service.spec.ports ?? []).length > 0 || !isHeadless(service))) continue;
    const key = JSON.stringify(ports.map((p) => [p.name, p.port, p.protocol]).sort());
    const subset = subsets.get(key) ?? { ports, addresses: [], notReady: [] };
    subsets.set(key, subset);
    const address: EndpointAddress = { ip: podIPsOf(pod, family)[0] ?? '', targetRef: targetRef(pod) };
    if (pod.spec.nodeName) address.nodeName = pod.spec.nodeName;
    const hostname = hostnameFor(pod, service);
    if (hostname) address.hostname = hostname;
    if (tolerateUnready || isPodReady(pod)) subset.addresses.push(address);
    else subset.notReady.push(address);
  }
  const byIP = (a: EndpointAddress, b: EndpointAddress): number => a.ip.localeCompare(b.ip, 'en', { numeric: true });
  const labels: Record<string, string> = { ...(service.metadata.labels ?? {}) };
  if (isHeadless(service)) labels['service.kubernetes.io/headless'] = '';
  const endpoints: Endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: service.metadata.name, namespace: service.metadata.namespace ?? 'default' },
  };
  if (Object.keys(labels).length > 0) endpoints.metadata.labels = labels;
  const list = [...subsets.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, s]) => {
    const subset: NonNullable<Endpoints['subsets']>[number] = {};
    if (s.addresses.length > 0) subset.addresses = s.addresses.sort(byIP);
    if (s.notReady.length > 0) subset.notReadyAddresses = s.notReady.sort(byIP);
    if (s.ports.length > 0) subset.ports = s.ports.map((p) => (p.name ? { name: p.name, port: p.port, protocol: p.protocol } : { port: p.port, protocol: p.protocol }));
    return subset;
  });
  if (list.length > 0) endpoints.subsets = list;
  return endpoints;
}
