/**
 * The lab's composition root: turns a validated scenario into a running cluster (API objects in the store, the real
 * data plane, the kubelet, the controllers that keep EndpointSlices, kube-proxy rules, NetworkPolicy rules and DNS
 * records in step with the API) and serves it over HTTPS. Used by the lab daemon.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startApiServer, type ApiServerHandle } from './api/server.ts';
import { ObjectStore, type KubeObject } from './api/store.ts';
import { generateTls } from './api/tls.ts';
import { writeKubeconfig } from './api/kubeconfig.ts';
import { getNodeUnderlayIP, planNodeNet } from './dataplane/addressing.ts';
import { Dataplane, type DnsRecord } from './dataplane/dataplane.ts';
import { getOmittedServices, type ServiceRules } from './dataplane/kube-proxy.ts';
import { createExecRunner } from './dataplane/runner.ts';
import { runCiliumDbg, type CiliumFrontend, type CiliumStatus } from './cilium-dbg.ts';
import { computeEndpoints, computeEndpointSlices } from './endpoints.ts';
import { buildKubeProxyObjects } from './kube-proxy-objects.ts';
import { Kubelet } from './kubelet.ts';
import { planNodeNetV6 } from './dataplane/addressing-v6.ts';
import { addressOfFamily, familyOf, isDualStack } from './dual-stack.ts';
import { LAB_ADDRESSES, LAB_ADDRESSES_V6, type CommandRunner, type IPFamily, type NodeNet, type PodNet, type Scenario } from './model.ts';
import { applyPolicyRules } from './netpol/apply.ts';
import { compileNetworkPolicies, type NetpolPod } from './netpol/compile.ts';
import { buildClusterObjects, buildSyntheticObjects, clusterDnsLayout, NODE_LOCAL_DNS, type ClusterDnsLayout, type KubeNode, type KubePod, type KubeService } from './objects.ts';
import type { LabRecord } from './registry.ts';
import { SYNTHETIC_NAMESPACE } from './scenario.ts';

/** A running lab. */
export interface RunningLab {
  apiUrl: string;
  store: ObjectStore;
  api: ApiServerHandle;
  dataplane: Dataplane;
  /** Waits until the controllers have caught up with every change made so far. */
  settle(): Promise<void>;
  /** Stops the API, the controllers and the kubelet and removes the whole data plane. */
  stop(): Promise<void>;
}

type Obj = Record<string, any>;

/**
 * The resolv.conf every pod of a namespace gets, as kubelet (dnsPolicy ClusterFirst) has the runtime write it: the
 * Kubernetes search path under the cluster domain, kubelet's clusterDNS as nameserver and `options ndots:5`.
 */
export function renderResolvConf(namespace: string, cluster: { domain?: string; nameserver?: string } = {}): string {
  const domain = cluster.domain ?? 'cluster.local';
  return [
    `search ${namespace}.svc.${domain} svc.${domain} ${domain}`,
    `nameserver ${cluster.nameserver ?? LAB_ADDRESSES.dnsClusterIP}`,
    'options ndots:5',
    '',
  ].join('\n');
}

/** True for the cluster DNS pods (in the DNS namespace, carrying every DNS label): they run dnsmasq, not the responder. */
function isDnsPod(pod: Obj, dns: ClusterDnsLayout): boolean {
  const labels: Record<string, string> = pod.metadata?.labels ?? {};
  return pod.metadata?.namespace === dns.namespace && Object.entries(dns.labels).every(([k, v]) => labels[k] === v);
}

/** Settings of one lab run that override the scenario's (`lab up --api-latency`). */
export interface StartLabOptions {
  /** Overrides `spec.cluster.apiLatencyMs`. */
  apiLatencyMs?: number;
}

/** True for NodeLocal DNSCache's pods: the cache runs in their node's namespace, not the generic responder. */
function isNodeLocalDnsPod(pod: Obj): boolean {
  return pod.metadata?.namespace === NODE_LOCAL_DNS.namespace && pod.metadata?.labels?.['k8s-app'] === NODE_LOCAL_DNS.labels['k8s-app'];
}

/** Builds and starts the lab a scenario describes; on failure removes whatever was built and rethrows. */
export async function startLab(scenario: Scenario, rec: LabRecord, log: (line: string) => void, options: StartLabOptions = {}): Promise<RunningLab> {
  const runner = createExecRunner();
  const dataplane = new Dataplane({
    labId: rec.labId, runner, stateDir: rec.stateDir, cluster: scenario.cluster, network: scenario.cluster.network, serviceProxy: scenario.cluster.serviceProxy,
    ipFamilies: scenario.cluster.ipFamilies,
  });
  const dual = isDualStack(scenario.cluster);
  let kubelet: Kubelet | undefined;
  let api: ApiServerHandle | undefined;
  let controller: Controller | undefined;
  const stop = async (): Promise<void> => {
    await api?.close().catch(() => {});
    controller?.stop();
    await kubelet?.stop().catch(() => {});
    await dataplane.teardown();
  };
  try {
    mkdirSync(rec.stateDir, { recursive: true });
    const tlsP = generateTls(join(rec.stateDir, 'tls'));
    const store = new ObjectStore();
    const objects = buildClusterObjects(scenario, { now: new Date(), uid: randomUUID });
    for (const o of objects.namespaces) store.create('namespaces', stored(o));
    for (const o of objects.nodes) store.create('nodes', stored(o));
    for (const o of objects.workloads) store.create(resourceOfWorkload(o.kind), stored(o));
    for (const o of objects.services) store.create('services', stored(o));
    for (const o of objects.networkPolicies) store.create('networkpolicies', stored(o));
    for (const o of objects.pods) store.create('pods', stored(o));
    const kubeProxy = buildKubeProxyObjects(scenario.cluster, scenario.nodes, { now: new Date(), uid: randomUUID });
    for (const o of kubeProxy.configMaps) store.create('configmaps', stored(o));
    for (const o of kubeProxy.workloads) store.create('daemonsets', stored(o));
    for (const o of kubeProxy.pods) store.create('pods', stored(o));
    // Cilium's agents read their settings from kube-system/cilium-config, as its Helm chart writes it: whether it
    // replaces kube-proxy is the key a reader checks.
    if (scenario.cluster.network === 'cilium') {
      store.create(
        'configmaps',
        stored({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'cilium-config', namespace: 'kube-system', labels: { 'app.kubernetes.io/part-of': 'cilium' } },
          data: {
            'kube-proxy-replacement': scenario.cluster.serviceProxy === 'cilium' ? 'true' : 'false',
            'routing-mode': 'tunnel',
            'tunnel-protocol': 'vxlan',
            ipam: 'cluster-pool',
            'enable-ipv4': 'true',
            'enable-ipv6': 'false',
          },
        } as never),
      );
    }
    if (scenario.synthetic) loadSynthetic(store, scenario, objects.services);

    const dns = clusterDnsLayout(scenario);
    // Windows nodes are API-only: no namespace, no overlay; their pods keep the status the API gives them.
    const nodes: NodeNet[] = scenario.nodes
      .filter((n) => n.os !== 'windows')
      .map((n) => (dual ? { ...planNodeNet(rec.labId, n), v6: planNodeNetV6(n.index) } : planNodeNet(rec.labId, n)));
    const apiOnlyNodes = scenario.nodes.filter((n) => n.os === 'windows').map((n) => ({ name: n.name, podCIDR: n.podCIDR, hostIP: getNodeUnderlayIP(n.index) }));
    await dataplane.createUnderlay();
    await Promise.all(nodes.map((n) => dataplane.addNode(n)));
    await dataplane.connectNodes(nodes);

    const legacyPath = dataplane.execPathDir();
    // NodeLocal DNSCache listens on fd00::10 when the cluster DNS (kubelet's clusterDNS) is IPv6, else 169.254.20.10.
    const nodeLocalDnsIP = scenario.cluster.ipFamilies[0] === 'IPv6' ? LAB_ADDRESSES_V6.nodeLocalDnsIP : LAB_ADDRESSES.nodeLocalDnsIP;
    kubelet = new Kubelet({
      store,
      nodes,
      ...(legacyPath === undefined ? {} : { execPathFor: (pod: PodNet) => (pod.hostNetwork ? legacyPath : undefined) }),
      runtime: {
        startPodNetwork: (pod, resolvConf) => dataplane.addPod(pod, { resolvConf }),
        stopPodNetwork: (pod) => dataplane.removePod(pod),
        startResponder: async (pod, port, protocol) => void (await dataplane.startResponder(pod, port, protocol)),
        startProcess: async (pod, argv, env) => dataplane.spawnIn(pod.netns, argv, { role: 'container', env }).pid as number,
        stopProcess: (pid) => dataplane.killGroup(pid),
      },
      apiOnlyNodes,
      images: { pullSeconds: scenario.cluster.imagePullSeconds, allowed: scenario.cluster.images },
      // kubelet's clusterDNS is the node-local cache's address when NodeLocal DNSCache runs
      // (on [IPv6, IPv4] clusters the DNS Service, and so clusterDNS, is IPv6)
      resolvConfFor: (namespace) => renderResolvConf(namespace, dns.nodeLocalCache
        ? { domain: dns.domain, nameserver: nodeLocalDnsIP }
        : { domain: dns.domain, ...(scenario.cluster.ipFamilies[0] === 'IPv6' ? { nameserver: LAB_ADDRESSES_V6.dnsClusterIP } : {}) }),
      ...(scenario.cluster.ipFamilies[0] === 'IPv6' ? { ipv6Primary: true } : {}),
      runsResponders: (pod) => !isDnsPod(pod, dns) && !isNodeLocalDnsPod(pod),
      podTmpRoot: join(rec.stateDir, 'pod-tmp'),
      log,
      podTools: (pod, command) =>
        scenario.cluster.network === 'cilium' && pod.metadata?.labels?.['k8s-app'] === 'cilium' && command[0] === 'cilium-dbg'
          ? runCiliumDbg(
              command.slice(1),
              ciliumFrontends(store, scenario.cluster.serviceProxy === 'cilium' ? getOmittedServices(scenario.faults, pod.spec?.nodeName ?? '') : undefined),
              ciliumStatus(store, scenario, nodes, pod.spec?.nodeName ?? ''),
            )
          : undefined,
    });
    await kubelet.start();

    const dnsRecordMissing = new Set(scenario.faults.flatMap((f) => (f.type === 'dns-record-missing' ? [f.service] : [])));
    controller = new Controller({ store, dataplane, runner, nodes, kubelet, log, dnsRecordMissing, domain: dns.domain });
    await controller.reconcile();
    const dnsNets = dns.pods.map((p) => kubelet!.podNet(`${dns.namespace}/${p.name}`));
    if (dnsNets.length === 0 || dnsNets.some((n) => n === undefined)) throw new Error('a cluster DNS pod has no network');
    await controller.startDns(dnsNets as PodNet[], dns.port);
    if (dns.nodeLocalCache) {
      const upstreamIP = (store.get('services', NODE_LOCAL_DNS.namespace, NODE_LOCAL_DNS.upstreamService) as KubeService | undefined)?.spec.clusterIP;
      if (!upstreamIP) throw new Error(`the ${NODE_LOCAL_DNS.upstreamService} Service has no ClusterIP`);
      await Promise.all(nodes.map((n) => dataplane.startNodeLocalDns(n, { localIP: nodeLocalDnsIP, upstreamIP, domain: dns.domain })));
    }
    for (const f of scenario.faults) await dataplane.applyFault(f);
    controller.start();

    const tls = await tlsP;
    const token = randomBytes(24).toString('hex');
    api = await startApiServer({ store, kubelet, token, tls, rbacDeny: scenario.rbac.deny, apiLatencyMs: options.apiLatencyMs ?? scenario.cluster.apiLatencyMs });
    const kc = { server: api.url, caCert: tls.caCert, token, contextName: `lab-${scenario.name}` };
    await writeKubeconfig(join(rec.stateDir, 'kubeconfig'), kc);
    if (rec.kubeconfig !== join(rec.stateDir, 'kubeconfig')) await writeKubeconfig(rec.kubeconfig, kc);
    const ctl = controller;
    return { apiUrl: api.url, store, api, dataplane, settle: () => ctl.settle(), stop };
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
}

/**
 * The Cilium agent's service map as the lab's API state gives it: every ClusterIP Service port (in the order the
 * Services were created) with the ready endpoints of its EndpointSlices for that port, less the Services in omit.
 */
function ciliumFrontends(store: ObjectStore, omit: 'all' | string[] | undefined): CiliumFrontend[] {
  const out: CiliumFrontend[] = [];
  const services = store
    .list('namespaces', undefined)
    .items.filter((n) => n.metadata.name !== SYNTHETIC_NAMESPACE)
    .flatMap((n) => store.list('services', n.metadata.name as string).items as unknown as KubeService[])
    .sort((a, b) => Number(a.metadata.resourceVersion ?? 0) - Number(b.metadata.resourceVersion ?? 0));
  for (const svc of services) {
    const first = svc.spec.clusterIP;
    if (!first || first === 'None' || svc.spec.type === 'ExternalName') continue;
    // With the kube-proxy replacement the agent is the service proxy: kube-proxy-rules-missing takes the Service out of its map.
    if (omit === 'all' || (omit ?? []).includes(`${svc.metadata.namespace}/${svc.metadata.name}`)) continue;
    const all = store.list('endpointslices', svc.metadata.namespace, { labelSelector: `kubernetes.io/service-name=${svc.metadata.name}` }).items as Obj[];
    // A frontend per ClusterIP (both families on a dual-stack Service), each with the backends of its family's slices.
    for (const ip of svc.spec.clusterIPs ?? [first]) {
      const slices = all.filter((sl) => (sl.addressType ?? 'IPv4') === familyOf(ip));
      for (const p of svc.spec.ports ?? []) {
        const protocol = (p.protocol ?? 'TCP') as 'TCP' | 'UDP';
        const backends: CiliumFrontend['backends'] = [];
        for (const sl of slices) {
          const port = (sl.ports ?? []).find((sp: Obj) => (sp.name ?? '') === (p.name ?? '') && (sp.protocol ?? 'TCP') === protocol)?.port;
          if (typeof port !== 'number') continue;
          for (const ep of sl.endpoints ?? []) if (ep.conditions?.ready !== false) backends.push({ address: ep.addresses[0], port });
        }
        out.push({ address: ip, port: p.port, protocol, type: 'ClusterIP', backends });
      }
    }
  }
  return out;
}

/** The agent's status summary on a node, from the API: versions, the node's pod CIDR and pods, the Ready nodes. */
function ciliumStatus(store: ObjectStore, scenario: Scenario, nodes: NodeNet[], nodeName: string): CiliumStatus | undefined {
  const node = nodes.find((n) => n.name === nodeName);
  if (node === undefined) return undefined;
  const apiNodes = store.list('nodes', undefined).items as Obj[];
  const pods = (store.list('pods', undefined).items as Obj[]).filter((p) => p.spec?.nodeName === nodeName && p.spec?.hostNetwork !== true && p.status?.podIP);
  const image = scenario.cluster.network === 'cilium' ? 'v1.16.5' : '';
  return {
    kubernetesVersion: apiNodes.find((n) => n.metadata.name === nodeName)?.status?.nodeInfo?.kubeletVersion ?? 'v1.32.0',
    ciliumVersion: image,
    kubeProxyReplacement: scenario.cluster.serviceProxy === 'cilium',
    device: 'eth0',
    nodeIP: node.underlayIP,
    podCIDR: node.podCIDR,
    allocated: pods.length + 1,
    nodesReachable: apiNodes.filter((n) => (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length,
    nodes: apiNodes.length,
  };
}

/** The objects module and the store type the same JSON objects differently; this is the one place they meet. */
function stored(o: object): KubeObject {
  return o as KubeObject;
}

function resourceOfWorkload(kind: string): string {
  switch (kind) {
    case 'Deployment':
      return 'deployments';
    case 'StatefulSet':
      return 'statefulsets';
    case 'DaemonSet':
      return 'daemonsets';
    default:
      throw new Error(`unexpected workload kind ${kind}`);
  }
}

/** Loads the API-only synthetic objects and their EndpointSlices (computed once: they have no data plane). */
function loadSynthetic(store: ObjectStore, scenario: Scenario, services: KubeService[]): void {
  const syn = buildSyntheticObjects(scenario.synthetic!, {
    now: new Date(),
    uid: randomUUID,
    takenClusterIPs: services.map((s) => s.spec.clusterIP).filter((ip): ip is string => !!ip && ip !== 'None'),
  });
  for (const o of syn.namespaces) store.create('namespaces', stored(o));
  store.bulkLoad('nodes', syn.nodes.map(stored));
  store.bulkLoad('pods', syn.pods.map(stored));
  store.bulkLoad('services', syn.services.map(stored));
  const byApp = new Map<string, KubePod[]>();
  for (const p of syn.pods) {
    const app = p.metadata.labels?.app ?? '';
    const list = byApp.get(app) ?? [];
    list.push(p);
    byApp.set(app, list);
  }
  const slices: KubeObject[] = [];
  for (const s of syn.services) {
    const pods = byApp.get(s.spec.selector?.app ?? '') ?? [];
    slices.push(...computeEndpointSlices(s, pods, syn.nodes).map(stored));
  }
  store.bulkLoad('endpointslices', slices);
}

/** What one reconcile pass reads from the store. */
interface Snapshot {
  namespaces: Obj[];
  pods: Map<string, KubePod[]>;
  services: KubeService[];
}

/** A Service with its EndpointSlices as they stand after the pass. */
interface ServiceView {
  svc: KubeService;
  slices: Obj[];
}

/**
 * The A records the cluster DNS serves: a Service's ClusterIP, or a headless Service's ready pod IPs. Services in
 * `missing` (`ns/name`, the dns-record-missing fault) get none, as when CoreDNS has not synced them.
 */
function dnsRecordsOf(views: ServiceView[], missing: ReadonlySet<string> = new Set(), domain = 'cluster.local'): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (const { svc, slices } of views) {
    if (svc.spec.type === 'ExternalName') continue;
    if (missing.has(`${svc.metadata.namespace}/${svc.metadata.name}`)) continue;
    const name = `${svc.metadata.name}.${svc.metadata.namespace}.svc.${domain}`;
    if (svc.spec.clusterIP && svc.spec.clusterIP !== 'None') {
      // A dual-stack Service answers A and AAAA: every ClusterIP of it.
      out.push({ name, ips: svc.spec.clusterIPs && svc.spec.clusterIPs.length > 0 ? [...svc.spec.clusterIPs] : [svc.spec.clusterIP] });
      continue;
    }
    const ips = new Set<string>();
    for (const sl of slices) for (const ep of sl.endpoints ?? []) if (ep.conditions?.ready !== false) for (const a of ep.addresses) ips.add(a);
    if (ips.size) out.push({ name, ips: [...ips] });
  }
  return out;
}

/**
 * The lab's controllers in one loop: EndpointSlice and Endpoints controllers, kube-proxy on every node, the
 * NetworkPolicy agent and the DNS records. Runs after any change to pods, services, policies or namespaces.
 */
class Controller {
  private readonly unwatch: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly applied = new Map<string, string>();
  private hadPolicies = false;
  /** The records dnsmasq serves; undefined until it runs. */
  private lastDns: string | undefined;

  private readonly store: ObjectStore;
  private readonly dataplane: Dataplane;
  private readonly runner: CommandRunner;
  private readonly nodes: NodeNet[];
  private readonly kubelet: Kubelet;
  private readonly log: (line: string) => void;
  /** Services (`ns/name`) whose DNS record the dns-record-missing fault keeps out. */
  private readonly dnsRecordMissing: ReadonlySet<string>;
  /** The cluster domain the records live under. */
  private readonly domain: string;

  constructor(deps: {
    store: ObjectStore;
    dataplane: Dataplane;
    runner: CommandRunner;
    nodes: NodeNet[];
    kubelet: Kubelet;
    log: (line: string) => void;
    dnsRecordMissing?: ReadonlySet<string>;
    domain?: string;
  }) {
    this.store = deps.store;
    this.dataplane = deps.dataplane;
    this.runner = deps.runner;
    this.nodes = deps.nodes;
    this.kubelet = deps.kubelet;
    this.log = deps.log;
    this.dnsRecordMissing = deps.dnsRecordMissing ?? new Set();
    this.domain = deps.domain ?? 'cluster.local';
  }

  /** Follows the store: every relevant change schedules one reconcile (coalesced). */
  start(): void {
    for (const r of ['pods', 'services', 'networkpolicies', 'namespaces']) {
      this.unwatch.push(
        this.store.watch(r, undefined, undefined, (ev) => {
          if (ev.object.metadata.namespace === SYNTHETIC_NAMESPACE || ev.object.metadata.name === SYNTHETIC_NAMESPACE) return;
          this.schedule();
        }),
      );
    }
  }

  stop(): void {
    for (const u of this.unwatch) u();
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running.then(() => this.reconcile()).catch((e: Error) => this.log(`controller: ${e.stack ?? e.message}`));
    }, 5);
  }

  /** Resolves once the kubelet and every scheduled reconcile have finished. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await this.kubelet.settle();
      while (this.timer) await new Promise((r) => setTimeout(r, 5));
      await this.running;
    }
  }

  /** Everything one pass works from, read from the store once (the synthetic namespace has no data plane). */
  private snapshot(): Snapshot {
    const namespaces = this.store.list('namespaces', undefined).items.filter((n) => n.metadata.name !== SYNTHETIC_NAMESPACE);
    const pods = new Map<string, KubePod[]>();
    const services: KubeService[] = [];
    for (const { metadata } of namespaces) {
      const name = metadata.name as string;
      pods.set(name, this.store.list('pods', name).items as unknown as KubePod[]);
      services.push(...(this.store.list('services', name).items as unknown as KubeService[]));
    }
    return { namespaces, pods, services };
  }

  /** Starts the cluster DNS server in its pods, listening on `port`, with the records of the current Services. */
  async startDns(pods: PodNet[], port: number): Promise<void> {
    const snap = this.snapshot();
    const records = dnsRecordsOf(snap.services.map((svc) => ({ svc, slices: this.storedSlicesOf(svc) })), this.dnsRecordMissing, this.domain);
    await this.dataplane.startDnsServer(pods, records, { port, domain: this.domain });
    this.lastDns = JSON.stringify(records);
  }

  private storedSlicesOf(svc: KubeService): Obj[] {
    return this.store.list('endpointslices', svc.metadata.namespace, { labelSelector: `kubernetes.io/service-name=${svc.metadata.name}` }).items;
  }

  /** Brings every derived object and every node's rules in line with the API. */
  async reconcile(): Promise<void> {
    const snap = this.snapshot();
    const nodesApi = this.store.list('nodes', undefined).items as unknown as KubeNode[];
    const views = snap.services.map((svc) => ({ svc, slices: this.syncSlices(svc, snap.pods.get(svc.metadata.namespace ?? '') ?? [], nodesApi) }));
    await this.syncKubeProxy(views);
    await this.syncPolicies(snap);
    if (this.lastDns !== undefined) {
      const records = dnsRecordsOf(views, this.dnsRecordMissing, this.domain);
      const text = JSON.stringify(records);
      if (text !== this.lastDns) {
        this.lastDns = text;
        await this.dataplane.updateDnsRecords(records);
      }
    }
  }

  /** The EndpointSlice and Endpoints controllers for one Service; returns its slices as they now stand. */
  private syncSlices(svc: KubeService, pods: KubePod[], nodes: KubeNode[]): Obj[] {
    const have = this.storedSlicesOf(svc);
    if (!svc.spec.selector) return have; // selectorless Services keep the slices someone else wrote
    const ns = svc.metadata.namespace;
    const want = computeEndpointSlices(svc, pods, nodes) as unknown as Obj[];
    for (const s of want) {
      const cur = have.find((h) => h.metadata.name === s.metadata.name);
      if (!cur) this.store.create('endpointslices', stored(s));
      else if (JSON.stringify([cur.endpoints, cur.ports]) !== JSON.stringify([s.endpoints, s.ports])) {
        this.store.update('endpointslices', stored({ ...cur, endpoints: s.endpoints, ports: s.ports }));
      }
    }
    for (const h of have) if (!want.some((s) => s.metadata.name === h.metadata.name)) this.store.delete('endpointslices', ns, h.metadata.name);
    const ep = computeEndpoints(svc, pods) as unknown as Obj | undefined;
    if (ep) {
      const cur = this.store.get('endpoints', ns, svc.metadata.name);
      if (!cur) this.store.create('endpoints', stored(ep));
      else if (JSON.stringify(cur.subsets) !== JSON.stringify(ep.subsets)) this.store.update('endpoints', stored({ ...cur, subsets: ep.subsets }));
    }
    return want;
  }

  /** kube-proxy: every node gets DNAT rules for every ClusterIP over its ready endpoints. */
  private async syncKubeProxy(views: ServiceView[]): Promise<void> {
    const rules: ServiceRules[] = [];
    // Each family's proxier reads the EndpointSlices of its own address type.
    const endpointsOf = (slices: Obj[], family: IPFamily): ServiceRules['endpoints'] => {
      const byIP = new Map<string, ServiceRules['endpoints'][number]>();
      for (const sl of slices) {
        if ((sl.addressType ?? 'IPv4') !== family) continue;
        for (const ep of sl.endpoints ?? []) {
          const ip = ep.addresses[0] as string;
          const e: ServiceRules['endpoints'][number] = byIP.get(ip) ?? { ip, ready: ep.conditions?.ready !== false, ports: {}, ...(ep.nodeName ? { nodeName: ep.nodeName as string } : {}) };
          for (const p of sl.ports ?? []) if (typeof p.port === 'number') e.ports[p.name ?? ''] = p.port;
          byIP.set(ip, e);
        }
      }
      return [...byIP.values()];
    };
    for (const { svc, slices } of views) {
      if (!svc.spec.clusterIP || svc.spec.clusterIP === 'None' || svc.spec.type === 'ExternalName') continue;
      const ips = svc.spec.clusterIPs && svc.spec.clusterIPs.length > 0 ? svc.spec.clusterIPs : [svc.spec.clusterIP];
      const ip6 = addressOfFamily(ips, 'IPv6');
      rules.push({
        namespace: svc.metadata.namespace ?? '',
        name: svc.metadata.name,
        // An IPv6-only Service has no IPv4 rules ('' is skipped by the IPv4 renderers).
        clusterIP: addressOfFamily(ips, 'IPv4') ?? '',
        ports: (svc.spec.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' })),
        endpoints: endpointsOf(slices, 'IPv4'),
        ...(svc.spec.internalTrafficPolicy === 'Local' ? { internalTrafficPolicy: 'Local' as const } : {}),
        ...(ip6 === undefined ? {} : { v6: { clusterIP: ip6, endpoints: endpointsOf(slices, 'IPv6') } }),
      });
    }
    // Without kube-proxy (Cilium's replacement) the data plane translates Services its own way: it still gets them.
    const text = JSON.stringify(rules);
    if (this.applied.get('kube-proxy') === text) return;
    this.applied.set('kube-proxy', text);
    await this.dataplane.applyServiceRulesEverywhere(rules);
  }

  /** The NetworkPolicy agent: compiles every policy and applies each node's share. */
  private async syncPolicies(snap: Snapshot): Promise<void> {
    const { namespaces } = snap;
    const policies: Obj[] = [];
    const pods: NetpolPod[] = [];
    for (const ns of namespaces) {
      policies.push(...this.store.list('networkpolicies', ns.metadata.name).items);
      for (const p of snap.pods.get(ns.metadata.name) ?? []) {
        // The NetworkPolicy agent enforces both families: each pod's IPv4 address and, dual-stack, its IPv6 one.
        const podIPs = (p.status?.podIPs ?? []).map((x) => x.ip);
        const ipv4 = addressOfFamily(podIPs, 'IPv4') ?? p.status?.podIP;
        const ipv6 = addressOfFamily(podIPs, 'IPv6');
        if (!p.spec.nodeName || !ipv4) continue;
        pods.push({
          namespace: ns.metadata.name,
          name: p.metadata.name,
          labels: p.metadata.labels ?? {},
          ip: ipv4,
          ...(ipv6 ? { ip6: ipv6 } : {}),
          node: p.spec.nodeName,
          hostNetwork: p.spec.hostNetwork === true,
          ports: p.spec.containers.flatMap((c) => c.ports ?? []) as NetpolPod['ports'],
        });
      }
    }
    if (policies.length === 0 && !this.hadPolicies) return;
    this.hadPolicies = true;
    const plan = compileNetworkPolicies({
      policies: policies as never,
      pods,
      namespaces: namespaces.map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {} })),
    });
    await Promise.all(
      this.nodes.map(async (n) => {
        const key = `netpol/${n.name}`;
        const text = JSON.stringify(plan.pods.filter((p) => p.node === n.name));
        if (this.applied.get(key) === text) return;
        this.applied.set(key, text);
        await applyPolicyRules(this.runner, n.netns, plan, n.name, this.dataplane.iptables);
        // Dual-stack: the ip6tables twin, so a policed pod's IPv6 traffic is filtered like its IPv4 traffic.
        if (n.v6) await applyPolicyRules(this.runner, n.netns, plan, n.name, this.dataplane.ip6tables, 'IPv6');
      }),
    );
  }
}
