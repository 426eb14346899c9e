/**
 * The lab's real-kernel data plane: an underlay bridge, node and pod network namespaces, the pod network (flannel by
 * default; each network is a PodNetwork module), kube-proxy iptables rules, dnsmasq, TCP responders and the fault
 * catalog, all inside namespaces named `nd<labId>-*`. Nothing here touches the host's own network namespace.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LAB_ADDRESSES, LAB_ADDRESSES_V6 } from '../model.ts';
import { DEFAULT_CLUSTER, type ClusterNetwork, type CommandRunner, type IPFamily, type NodeNet, type PodNet, type ScenarioFault, type ServiceProxy } from '../model.ts';
import { parseCIDR6, UNDERLAY_GATEWAY_V6 } from './addressing-v6.ts';
import { renderSocketLB } from './cilium.ts';
import { formatIPv4, getLabPrefix, getPodMAC, getPrefixLength, parseCIDR } from './addressing.ts';
import { createPodNetwork } from './networks.ts';
import type { PodNetwork, WorkloadLink } from './pod-network.ts';
import { ipv6View, mergeOmit } from './kube-proxy.ts';
import type { ServiceRules } from './kube-proxy.ts';
import type { IptablesTools, ProxySettings } from './cluster-rules.ts';
import { NodeProxy } from './node-proxy.ts';
import { inNetns, restoreIptables, runBridgeBatch, runIpBatch, setSysctls, splitFamilyLines } from './runner.ts';
import { NODE_LOCAL_DNS_INTERFACE, isNodeLocalDnsV6, nodeCacheArgv, nodeLocalDnsLinks, nodeLocalDnsRules, type NodeLocalDnsPlan } from './node-local-dns.ts';

/** Constructor options of Dataplane. */
export interface DataplaneOptions {
  /** Lowercase letters/digits; every namespace is named `nd<labId>-...`. */
  labId: string;
  runner: CommandRunner;
  /** Directory for PIDs, logs and generated files (the data plane uses its `dataplane/` subdirectory). */
  stateDir: string;
  /** The cluster's service proxy, iptables backend and FORWARD policy (`spec.cluster`); the lab's first shape when absent. */
  cluster?: ProxySettings;
  /** The pod network to lay out (`spec.cluster.network`); default flannel (or `cluster.network` when given). */
  network?: ClusterNetwork;
  /** Who translates Services (`spec.cluster.serviceProxy`): kube-proxy (default) or Cilium's replacement (network cilium). */
  serviceProxy?: ServiceProxy;
  /** `spec.cluster.ipFamilies`; two families build the network's IPv6 side too (nodes then carry NodeNet.v6). */
  ipFamilies?: IPFamily[];
}

/** A process the data plane started, as recorded in the state file. */
export interface RecordedProcess {
  pid: number;
  /** The command run inside the namespace (without `ip netns exec NS`). */
  argv: string[];
  netns: string;
  role: string;
}

/** A running (or, while a fault stops it, stopped) responder of a pod. */
export interface ResponderHandle {
  pod: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  /** undefined while stopped. */
  pid: number | undefined;
}

/** Where the cluster DNS listens and what it is authoritative for (defaults: port 53, cluster.local). */
export interface DnsServerOptions {
  port?: number;
  domain?: string;
}

/** An A record set dnsmasq serves. */
export interface DnsRecord {
  name: string;
  ips: string[];
}

/** Lookups a fault needs; defaults to the nodes and pods this Dataplane created. */
export interface FaultContext {
  node(name: string): NodeNet | undefined;
  pod(key: string): PodNet | undefined;
}

/** Options of spawnIn. */
export interface SpawnOptions {
  /** Free-form label stored with the PID (e.g. 'responder', 'dnsmasq'). */
  role?: string;
  /** stdout/stderr go here (appended); default a log file in the state directory. */
  logFile?: string;
  /** Keep the child referenced so it holds this process's event loop open (default false). */
  keepRef?: boolean;
  /** The child's environment (default this process's). */
  env?: NodeJS.ProcessEnv;
}

interface PodRecord {
  pod: PodNet;
  /** The pod's veth in the node namespace (undefined for hostNetwork pods). */
  hostVeth: string | undefined;
  /** `ip` lines the network runs on the node when the pod goes. */
  teardownLines?: string[];
}

interface StateFile {
  labId: string;
  processes: RecordedProcess[];
}

/** The address every node namespace uses as its (deliberately absent) default gateway on the underlay. */
export const UNDERLAY_GATEWAY = formatIPv4(parseCIDR(LAB_ADDRESSES.underlayCIDR).network + 1);
/** MTU a node's underlay link gets under the mtu-mismatch fault. */
export const JUMBO_MTU = 9000;

/** The overhead of VXLAN over IPv6 (outer IPv6 40 + UDP 8 + VXLAN 8 + inner Ethernet 14): a 1500 path carries 1430. */
const VXLAN_V6_OVERHEAD = 70;
const FAULT_COMMENT = 'netdebug-lab-fault';
const WRONG_MAC = '02:00:5e:00:de:ad';
/** The share of overlay packets the overlay-lossy fault drops when the scenario does not say. */
const DEFAULT_LOSS_PERCENT = 30;
/** The share of DNS packets the dns-lossy fault drops when the scenario does not say. */
const DEFAULT_DNS_LOSS_PERCENT = 20;
const STATE_FILE = 'state.json';
/**
 * Set in a dual-stack lab's node and pod namespaces before their devices exist: no duplicate address detection, so
 * every IPv6 address (link-locals included) is usable at once, as on a node that has been up for a while. Otherwise
 * the first IPv6 packets of a fresh lab wait about a second for DAD (seen: the first ping across nodes took 1 s).
 */
const SETTLED_IPV6 = { 'net.ipv6.conf.default.accept_dad': 0, 'net.ipv6.conf.all.accept_dad': 0 } as const;

/** Builds and breaks one lab's network; every method is safe to call from tests and from the lab CLI. */
export class Dataplane {
  readonly labId: string;
  /** `nd<labId>-`: every namespace of this lab starts with it. */
  readonly prefix: string;
  /** The underlay namespace holding bridge br0. */
  readonly underlayNetns: string;
  /** The pod network's layout. */
  readonly network: PodNetwork;
  /** Who translates Services: with `cilium` no kube-proxy rule exists anywhere (see renderSocketLB). */
  readonly serviceProxy: ServiceProxy;
  private readonly runner: CommandRunner;
  private readonly dir: string;
  private readonly nodes = new Map<string, NodeNet>();
  private readonly pods = new Map<string, PodRecord>();
  private readonly responders: ResponderHandle[] = [];
  private dns: { servers: { pod: PodNet; pid: number | undefined }[]; records: DnsRecord[]; options: DnsServerOptions } | undefined;
  private readonly serviceState = new Map<string, { services: ServiceRules[]; omit: 'all' | string[] | undefined; chains: string[] }>();
  private readonly faultOmit = new Map<string, 'all' | string[]>();
  /** kube-proxy-rules-missing with `family: IPv6`: what the IPv6 proxier alone leaves out, per node. */
  private readonly faultOmit6 = new Map<string, 'all' | string[]>();
  /** NodeLocal DNSCache per node: its plan and its cache's PID (undefined while stopped). */
  private readonly nodeLocalDns = new Map<string, { plan: NodeLocalDnsPlan; pid: number | undefined }>();
  private podCounter = 0;
  /** `spec.cluster`'s proxy settings. */
  readonly proxy: ProxySettings;
  /** The iptables programs of this cluster's backend: every iptables rule the lab writes goes through them. */
  readonly iptables: IptablesTools;
  /** The ip6tables programs of this cluster's backend (a dual-stack cluster's IPv6 rules go through them). */
  readonly ip6tables: IptablesTools;
  private readonly nodeProxy: NodeProxy;
  private readonly workloadSync = new Map<string, { chain: Promise<void>; queued: Promise<void> | undefined; removed: WorkloadLink[] }>();

  constructor(options: DataplaneOptions) {
    this.labId = options.labId;
    this.prefix = getLabPrefix(options.labId);
    this.underlayNetns = `${this.prefix}u`;
    this.runner = options.runner;
    this.dir = path.join(options.stateDir, 'dataplane');
    const dualStack = (options.ipFamilies ?? []).length === 2;
    this.network = createPodNetwork(options.network ?? options.cluster?.network ?? 'flannel', UNDERLAY_GATEWAY, dualStack);
    this.serviceProxy = options.serviceProxy ?? options.cluster?.serviceProxy ?? 'iptables';
    // The proxy settings, with the network and proxy this data plane really runs (options may give them without `cluster`).
    const d = DEFAULT_CLUSTER;
    const settings: ProxySettings = {
      iptablesBackend: options.cluster?.iptablesBackend ?? d.iptablesBackend,
      forwardPolicy: options.cluster?.forwardPolicy ?? d.forwardPolicy,
      network: this.network.kind,
      serviceProxy: this.serviceProxy,
    };
    this.nodeProxy = new NodeProxy(this.runner, settings, this.network.clusterCIDR, this.network.v6?.clusterCIDR);
    this.proxy = this.nodeProxy.settings;
    this.iptables = this.nodeProxy.iptables;
    this.ip6tables = this.nodeProxy.ip6tables;
  }

  /** Creates the underlay namespace with bridge br0 (MTU 1500, up). */
  async createUnderlay(): Promise<void> {
    await this.addNetns(this.underlayNetns);
    await runIpBatch(this.runner, this.underlayNetns, [
      'link set lo up',
      'link add br0 type bridge',
      `link set br0 mtu ${LAB_ADDRESSES.pathMTU} up`,
    ]);
  }

  /** Creates a node: namespace, underlay veth, the pod network's devices (flannel: cni0, flannel.1), sysctls, the kube-proxy hook rules and the network's own rules. */
  async addNode(node: NodeNet): Promise<void> {
    this.assertOwned(node.netns);
    await this.addNetns(node.netns);
    if (this.network.v6 !== undefined && node.v6 !== undefined) await setSysctls(this.runner, node.netns, SETTLED_IPV6);
    const uport = this.underlayPort(node);
    const cniRules = this.network.nodeIptables(node);
    const v6 = this.network.v6;
    await runIpBatch(this.runner, this.underlayNetns, [
      `link add ${uport} mtu ${LAB_ADDRESSES.pathMTU} type veth peer name eth0 mtu ${LAB_ADDRESSES.pathMTU} netns ${node.netns}`,
      `link set ${uport} master br0 up`,
    ]);
    const underlayPrefix = getPrefixLength(LAB_ADDRESSES.underlayCIDR);
    await Promise.all([
      runIpBatch(this.runner, node.netns, [
        'link set lo up',
        `addr add ${node.underlayIP}/${underlayPrefix} dev eth0`,
        'link set eth0 up',
        ...this.network.nodeLines(node),
        // A real node has a default gateway; here nothing answers on it, so unhandled traffic dies inside the lab.
        `route add default via ${UNDERLAY_GATEWAY} dev eth0`,
        ...this.nodeLinesV6(node),
      ]).then(() => setSysctls(this.runner, node.netns, { ...this.network.nodeSysctls(node), ...(v6 && node.v6 ? v6.nodeSysctls(node) : {}) })),
      setSysctls(this.runner, node.netns, {
        'net.ipv4.ip_forward': 1,
        'net.bridge.bridge-nf-call-iptables': 1,
        'net.ipv4.conf.all.rp_filter': 0,
        'net.ipv4.conf.default.rp_filter': 0,
        // Dual-stack nodes forward IPv6 too and pass bridged IPv6 through ip6tables (kube-proxy's and kubeadm's preflight).
        ...(v6 && node.v6 ? { 'net.ipv6.conf.all.forwarding': 1, 'net.bridge.bridge-nf-call-ip6tables': 1 } : {}),
      }),
      this.nodeProxy.installNodeRules(node).then(() => (cniRules === '' ? undefined : restoreIptables(this.runner, node.netns, cniRules, this.iptables.restore))),
    ]);
    this.nodes.set(node.name, node);
  }

  /**
   * A dual-stack node's IPv6 lines (none otherwise): its IPv6 InternalIP on eth0 (DAD off: the underlay is the lab's
   * own), a default route that, as the IPv4 one, leads nowhere, then the network's IPv6 devices (flannel-v6.1).
   */
  private nodeLinesV6(node: NodeNet): string[] {
    const v6 = this.network.v6;
    if (v6 === undefined || node.v6 === undefined) return [];
    return [
      `addr add ${node.v6.underlayIP}/${parseCIDR6(LAB_ADDRESSES_V6.underlayCIDR).prefix} dev eth0 nodad`,
      `route add default via ${UNDERLAY_GATEWAY_V6} dev eth0`,
      ...v6.nodeLines(node),
    ];
  }

  /**
   * Lets every node reach every other node's pods as the network does it (flannel: routes, permanent neighbors and FDB
   * entries per peer VTEP; Calico: block routes; cloud-routed: the underlay router's routes to each node's pod range).
   */
  async connectNodes(nodes: NodeNet[]): Promise<void> {
    const ports = new Map(nodes.map((n) => [n.name, this.underlayPort(n)]));
    await runIpBatch(this.runner, this.underlayNetns, this.network.underlayLines(nodes, ports));
    await setSysctls(this.runner, this.underlayNetns, this.network.underlaySysctls());
    const under6 = this.network.v6;
    if (under6?.underlayLines !== undefined) await runIpBatch(this.runner, this.underlayNetns, under6.underlayLines(nodes));
    if (under6?.underlaySysctls !== undefined) await setSysctls(this.runner, this.underlayNetns, under6.underlaySysctls());
    await Promise.all(
      nodes.map(async (local) => {
        const others = nodes.filter((n) => n.name !== local.name);
        const peer = this.network.peerLines(local, others);
        await runIpBatch(this.runner, local.netns, peer.ip);
        await runBridgeBatch(this.runner, local.netns, peer.bridge);
        const v6 = this.network.v6;
        if (v6 !== undefined && local.v6 !== undefined) {
          const peer6 = v6.peerLines(local, others.filter((o) => o.v6 !== undefined));
          await runIpBatch(this.runner, local.netns, peer6.ip);
          await runBridgeBatch(this.runner, local.netns, peer6.bridge);
        }
      }),
    );
    // Where a router in the underlay carries IPv6 pod traffic (cloud-routed's VPC router), each node has talked to its
    // IPv6 gateway once, as a cloud node has long before pods run (its metadata, DNS and image pulls go that way). A
    // fresh lab without it lost the first IPv6 packets forwarded between nodes for about a second, which read as a
    // lost full-size ping (PATH_MTU_MISMATCH) on a healthy cluster. Waits for the answer, at most 5 s per node.
    if (under6?.underlayLines !== undefined) {
      await Promise.all(
        nodes
          .filter((n) => n.v6 !== undefined)
          .map((n) => this.runner.run(inNetns(n.netns, ['ping', '-6', '-n', '-c', '1', '-W', '5', UNDERLAY_GATEWAY_V6]), { allowFailure: true })),
      );
    }
  }

  /**
   * Gives a pod its network: a namespace `nd<labId>-p<n>` (unless pod.netns names one of this lab), veth eth0 with
   * pod.ip, its routes as the pod network lays them out (flannel: a default route via the node's cni0), and
   * /etc/netns/<ns>/resolv.conf. hostNetwork pods get the node's namespace and nothing is created. Returns the pod with
   * netns filled in.
   */
  async addPod(pod: Omit<PodNet, 'netns'> & { netns?: string }, opts: { mtu?: number; resolvConf: string }): Promise<PodNet> {
    const node = this.requireNode(pod.node);
    if (pod.hostNetwork) {
      const hostPod: PodNet = { ...pod, netns: node.netns, ip: node.underlayIP };
      this.pods.set(pod.key, { pod: hostPod, hostVeth: undefined });
      return hostPod;
    }
    const n = ++this.podCounter;
    const netns = pod.netns ?? `${this.prefix}p${n}`;
    this.assertOwned(netns);
    const full: PodNet = { ...pod, netns };
    const mtu = opts.mtu ?? this.network.podMTU;
    const plan = this.network.podLink(node, { key: pod.key, ip: pod.ip, netns, n });
    const hostVeth = plan.hostVeth;
    await this.addNetns(netns);
    if (this.network.v6 !== undefined && pod.ip6 !== undefined) await setSysctls(this.runner, netns, SETTLED_IPV6);
    const resolvWritten = this.writeResolvConf(netns, opts.resolvConf);
    const side6 = this.network.v6?.podNodeSide !== undefined && pod.ip6 !== undefined ? this.network.v6.podNodeSide(node, hostVeth, pod.ip6) : undefined;
    await runIpBatch(this.runner, node.netns, [`link add ${hostVeth} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${netns}`, ...plan.nodeLines, ...(side6?.nodeLines ?? [])]);
    await Promise.all([
      setSysctls(this.runner, node.netns, { ...plan.nodeSysctls, ...(side6?.nodeSysctls ?? {}) }),
      runIpBatch(this.runner, netns, ['link set lo up', ...plan.podLines, ...(this.network.v6 && pod.ip6 ? this.network.v6.podLines(node, pod.ip6) : [])]),
    ]);
    await resolvWritten;
    this.pods.set(pod.key, { pod: full, hostVeth, teardownLines: [...plan.teardownLines, ...(side6?.teardownLines ?? [])] });
    await this.syncWorkloadRules(node, []);
    const st = this.serviceState.get(node.name);
    if (this.serviceProxy === 'cilium' && st !== undefined) await this.applySocketLB([netns], st.services, mergeOmit(st.omit, this.faultOmit.get(node.name)));
    return full;
  }

  /** Re-applies the network's per-pod rules of a node (Calico's workload chains); removed pods' chains are deleted. */
  private syncWorkloadRules(node: NodeNet, removed: WorkloadLink[]): Promise<void> {
    // One restore at a time per node, each from the pods as they stand when it starts; callers arriving while one is
    // queued share it, so a burst of pods costs a couple of restores rather than one each.
    const st = this.workloadSync.get(node.name) ?? { chain: Promise.resolve(), queued: undefined, removed: [] };
    this.workloadSync.set(node.name, st);
    st.removed.push(...removed);
    if (st.queued !== undefined) return st.queued;
    const queued = st.chain
      .catch(() => undefined)
      .then(async () => {
        st.queued = undefined;
        const gone = st.removed.splice(0);
        const text = this.network.workloadIptables(node, this.workloadsOf(node.name), gone);
        if (text !== '') await restoreIptables(this.runner, node.netns, text, this.iptables.restore);
      });
    st.queued = queued;
    st.chain = queued;
    return queued;
  }

  private workloadsOf(nodeName: string): WorkloadLink[] {
    return [...this.pods.values()].flatMap((r) =>
      r.pod.node === nodeName && r.hostVeth !== undefined ? [{ hostVeth: r.hostVeth, namespace: r.pod.key.split('/')[0] ?? '' }] : [],
    );
  }

  /** Removes a pod's network: its responders, processes, namespace and /etc/netns directory. */
  async removePod(pod: PodNet | string): Promise<void> {
    const key = typeof pod === 'string' ? pod : pod.key;
    const rec = this.pods.get(key);
    for (const r of this.responders.filter((x) => x.pod === key)) {
      if (r.pid !== undefined) await this.stopProcess(r.pid);
      this.responders.splice(this.responders.indexOf(r), 1);
    }
    this.pods.delete(key);
    const netns = rec?.pod.netns ?? (typeof pod === 'string' ? undefined : pod.netns);
    // hostNetwork pods live in their node's namespace, which must survive them.
    if (netns === undefined || !netns.startsWith(this.prefix) || [...this.nodes.values()].some((n) => n.netns === netns)) return;
    await this.killNetnsPids(netns);
    await this.runner.run(['ip', 'netns', 'del', netns], { allowFailure: true });
    await fs.promises.rm(path.join('/etc/netns', netns), { recursive: true, force: true });
    const node = rec === undefined ? undefined : this.nodes.get(rec.pod.node);
    if (node !== undefined && rec?.hostVeth !== undefined) {
      const lines = rec.teardownLines ?? [];
      const { v4, v6 } = splitFamilyLines(lines);
      if (v4.length > 0) await this.runner.run(['ip', '-n', node.netns, '-force', '-batch', '-'], { input: `${v4.join('\n')}\n`, allowFailure: true });
      if (v6.length > 0) await this.runner.run(['ip', '-6', '-n', node.netns, '-force', '-batch', '-'], { input: `${v6.join('\n')}\n`, allowFailure: true });
      await this.syncWorkloadRules(node, [{ hostVeth: rec.hostVeth, namespace: key.split('/')[0] ?? '' }]);
    }
  }

  /** Returns a pod this data plane added, by `ns/name` key (for fault lookups and the kubelet). */
  getPod(key: string): PodNet | undefined {
    return this.pods.get(key)?.pod;
  }

  /** Returns a node this data plane created, by name. */
  getNode(name: string): NodeNet | undefined {
    return this.nodes.get(name);
  }

  /**
   * Starts argv inside netns (`ip netns exec`), detached, output to a log file, and records its PID in the state file
   * so teardown (even from another process) can end it by PID.
   */
  spawnIn(netns: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    this.assertOwned(netns);
    fs.mkdirSync(path.join(this.dir, 'logs'), { recursive: true });
    const role = opts.role ?? 'process';
    const logFile = opts.logFile ?? path.join(this.dir, 'logs', `${role}-${netns}-${Date.now()}.log`);
    const fd = fs.openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn('ip', ['netns', 'exec', netns, ...argv], { detached: true, stdio: ['ignore', fd, fd], ...(opts.env ? { env: opts.env } : {}) });
    } finally {
      fs.closeSync(fd);
    }
    if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')} in ${netns} (see ${logFile})`);
    if (!opts.keepRef) child.unref();
    child.on('error', () => {});
    this.updateState((s) => s.processes.push({ pid: child.pid as number, argv, netns, role }));
    return child;
  }

  /**
   * Kills a recorded process and its process group at once (SIGKILL: a container deleted with grace 0), and forgets it.
   * spawnIn starts each process as the leader of a group of its own, so the group is what it started: a container's
   * command with the jobs it left in the background (a group's number is not reused while any member lives).
   */
  async killGroup(pid: number): Promise<void> {
    const rec = this.readState().processes.find((p) => p.pid === pid);
    if (rec !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // The whole group is gone already.
      }
    }
    this.updateState((s) => {
      s.processes = s.processes.filter((p) => p.pid !== pid);
    });
  }

  /** Ends a recorded process by PID (SIGTERM, then SIGKILL after 2 s) and forgets it; unknown PIDs are ignored. */
  async stopProcess(pid: number): Promise<void> {
    const rec = this.readState().processes.find((p) => p.pid === pid);
    if (rec !== undefined) await terminateRecorded(rec);
    this.updateState((s) => {
      s.processes = s.processes.filter((p) => p.pid !== pid);
    });
  }

  /** Starts the pod's responder on port (TCP: a tiny HTTP/1.0 server answering with the pod key; UDP: echo) and waits until it listens. */
  async startResponder(pod: PodNet, port: number, protocol: 'TCP' | 'UDP' = 'TCP'): Promise<ResponderHandle> {
    let handle = this.responders.find((r) => r.pod === pod.key && r.port === port && r.protocol === protocol);
    if (handle?.pid !== undefined) return handle;
    if (handle === undefined) {
      handle = { pod: pod.key, port, protocol, pid: undefined };
      this.responders.push(handle);
    }
    const script = this.writeResponderScript();
    // A dual-stack pod's responder listens on both families with one IPv6 socket that also takes IPv4 (ipv6only=0).
    const dual = pod.ip6 !== undefined;
    const argv =
      protocol === 'TCP'
        ? ['socat', dual ? `TCP6-LISTEN:${port},fork,reuseaddr,ipv6only=0` : `TCP4-LISTEN:${port},fork,reuseaddr`, `EXEC:/bin/sh ${script} ${pod.key}`]
        : ['socat', '-T', '1', dual ? `UDP6-RECVFROM:${port},fork,reuseaddr,ipv6only=0` : `UDP4-RECVFROM:${port},fork,reuseaddr`, 'EXEC:cat'];
    const child = this.spawnIn(pod.netns, argv, { role: `responder-${port}` });
    handle.pid = child.pid;
    await waitForListen(child.pid as number, protocol, port, `responder ${pod.key}:${port}/${protocol}`, dual);
    return handle;
  }

  /** Stops the responders of a pod (one port or all); they are remembered so restartResponders can bring them back. */
  async stopResponders(podKey: string, port?: number): Promise<ResponderHandle[]> {
    const hits = this.responders.filter((r) => r.pod === podKey && (port === undefined || r.port === port));
    for (const r of hits) {
      if (r.pid !== undefined) await this.stopProcess(r.pid);
      r.pid = undefined;
    }
    return hits;
  }

  /** Restarts stopped responders of a pod (one port or all). */
  async restartResponders(podKey: string, port?: number): Promise<void> {
    const rec = this.pods.get(podKey);
    if (rec === undefined) throw new Error(`unknown pod ${podKey}`);
    for (const r of this.responders.filter((x) => x.pod === podKey && (port === undefined || x.port === port))) {
      if (r.pid === undefined) await this.startResponder(rec.pod, r.port, r.protocol);
    }
  }

  /** Returns the responders of this lab (copies). */
  listResponders(): ResponderHandle[] {
    return this.responders.map((r) => ({ ...r }));
  }

  /**
   * Runs dnsmasq in each DNS pod's namespace on <podIP>:<port> (UDP and TCP, port 53 unless given), authoritative for the
   * cluster domain (cluster.local unless given) with the given A records (nothing is ever forwarded upstream); waits
   * until every one listens and returns their PIDs in order.
   */
  async startDnsServer(pods: PodNet | PodNet[], records: DnsRecord[], options: DnsServerOptions = {}): Promise<number> {
    if (this.dns?.servers.some((s) => s.pid !== undefined)) await this.stopDnsServer();
    fs.mkdirSync(this.dir, { recursive: true });
    this.writeHostsFile(records);
    const list = Array.isArray(pods) ? pods : [pods];
    const port = options.port ?? 53;
    const domain = options.domain ?? 'cluster.local';
    this.dns = { servers: list.map((pod) => ({ pod, pid: undefined })), records, options };
    const pids = await Promise.all(
      list.map(async (pod, i) => {
        const argv = [
          'dnsmasq',
          '--keep-in-foreground',
          '--conf-file=/dev/null',
          '--user=root',
          `--pid-file=${path.join(this.dir, i === 0 ? 'dnsmasq.pid' : `dnsmasq-${i}.pid`)}`,
          '--no-resolv',
          '--no-hosts',
          `--addn-hosts=${this.hostsFile()}`,
          '--bind-interfaces',
          `--listen-address=${pod.ip}`,
          // Dual-stack: the DNS pod serves on its IPv6 address too (the DNS Service is IPv6 on [IPv6, IPv4] clusters).
          ...(pod.ip6 === undefined ? [] : [`--listen-address=${pod.ip6}`]),
          `--port=${port}`,
          `--local=/${domain}/`,
          // Every other name gets NXDOMAIN, as from an upstream that has no such name (the lab has no upstream; dnsmasq
          // would otherwise answer REFUSED, which no real cluster DNS does for an unknown name).
          '--local=/#/',
          '--domain-needed',
          '--log-facility=-',
        ];
        const child = this.spawnIn(pod.netns, argv, { role: 'dnsmasq' });
        const server = this.dns!.servers[i]!;
        server.pid = child.pid;
        await waitForListen(child.pid as number, 'UDP', port, `dnsmasq in ${pod.netns}`);
        await waitForListen(child.pid as number, 'TCP', port, `dnsmasq in ${pod.netns}`);
        return child.pid as number;
      }),
    );
    return pids[0] as number;
  }

  /** Replaces dnsmasq's records (rewrites its hosts file and sends SIGHUP; dnsmasq reloads within milliseconds). */
  async updateDnsRecords(records: DnsRecord[]): Promise<void> {
    if (this.dns === undefined) throw new Error('updateDnsRecords: the DNS server was never started');
    this.dns.records = records;
    this.writeHostsFile(records);
    for (const server of this.dns.servers) if (server.pid !== undefined) process.kill(server.pid, 'SIGHUP');
  }

  /** Stops every dnsmasq (their records are kept for a restart). */
  async stopDnsServer(): Promise<void> {
    for (const server of this.dns?.servers ?? []) {
      if (server.pid === undefined) continue;
      await this.stopProcess(server.pid);
      server.pid = undefined;
    }
  }

  /**
   * Sets NodeLocal DNSCache up in a node's namespace as node-cache does: the nodelocaldns dummy interface with the local
   * IP, its iptables rules, and the cache listening there; waits until it listens.
   */
  async startNodeLocalDns(node: NodeNet, plan: NodeLocalDnsPlan): Promise<void> {
    this.assertOwned(node.netns);
    try {
      await runIpBatch(this.runner, node.netns, nodeLocalDnsLinks(plan));
    } catch (e) {
      if (!/Unknown device type/.test((e as Error).message)) throw e;
      await runIpBatch(this.runner, node.netns, [`link del ${NODE_LOCAL_DNS_INTERFACE}`]).catch(() => {});
      await runIpBatch(this.runner, node.netns, nodeLocalDnsLinks(plan, 'bridge')); // this kernel has no dummy driver
    }
    const tools = isNodeLocalDnsV6(plan) ? this.ip6tables : this.iptables;
    for (const [table, chain, ...rule] of nodeLocalDnsRules(plan)) {
      await this.runner.run(inNetns(node.netns, [tools.iptables, '-w', '-t', table!, '-I', chain!, ...rule]));
    }
    await this.runNodeCache(node, plan);
  }

  /** Stops a node's NodeLocal DNSCache process, leaving its interface and rules (a crashed node-cache). */
  async stopNodeLocalDns(node: NodeNet): Promise<void> {
    const cur = this.nodeLocalDns.get(node.name);
    if (cur?.pid === undefined) return;
    await this.stopProcess(cur.pid);
    cur.pid = undefined;
  }

  private async runNodeCache(node: NodeNet, plan: NodeLocalDnsPlan): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const child = this.spawnIn(node.netns, nodeCacheArgv(plan, path.join(this.dir, `node-cache-${node.name}.pid`)), { role: 'node-cache' });
    this.nodeLocalDns.set(node.name, { plan, pid: child.pid });
    const v6 = isNodeLocalDnsV6(plan);
    await waitForListen(child.pid as number, 'UDP', 53, `node-cache in ${node.netns}`, v6);
    await waitForListen(child.pid as number, 'TCP', 53, `node-cache in ${node.netns}`, v6);
  }

  /**
   * Applies kube-proxy iptables-mode rules for services on a node, replacing that node's previous KUBE-* content in one
   * iptables-restore; rules of active kube-proxy-rules-missing faults are left out as well as opts.omit.
   */
  async applyServiceRules(node: NodeNet | string, services: ServiceRules[], opts: { omit?: 'all' | string[] } = {}): Promise<void> {
    const n = typeof node === 'string' ? this.requireNode(node) : node;
    const prev = this.serviceState.get(n.name);
    const omit = mergeOmit(opts.omit, this.faultOmit.get(n.name));
    if (this.serviceProxy === 'cilium') {
      // Cilium's kube-proxy replacement: the node's own namespace and every pod namespace on it.
      const pods = [...this.pods.values()].filter((r) => r.pod.node === n.name && r.hostVeth !== undefined).map((r) => r.pod.netns);
      await this.applySocketLB([n.netns, ...pods], services, omit);
      this.serviceState.set(n.name, { services, omit: opts.omit, chains: [] });
      return;
    }
    const omit6 = mergeOmit(opts.omit, mergeOmit(this.faultOmit.get(n.name), this.faultOmit6.get(n.name)));
    const chains = await this.nodeProxy.applyServiceRules(n, services, omit, prev?.chains ?? [], omit6);
    this.serviceState.set(n.name, { services, omit: opts.omit, chains });
  }

  /** Writes the socket-LB stand-in (renderSocketLB) into each of the given namespaces. */
  private async applySocketLB(namespaces: string[], services: ServiceRules[], omit: 'all' | string[] | undefined): Promise<void> {
    // Dual-stack: the IPv6 ClusterIPs get the same stand-in in its own ip6 table.
    const text = renderSocketLB(services, omit) + (this.network.v6 === undefined ? '' : renderSocketLB(ipv6View(services), omit, 'ip6'));
    await Promise.all(namespaces.map((ns) => this.runner.run(inNetns(ns, ['nft', '-f', '-']), { input: text })));
  }

  /** Applies the same services on every node in parallel. */
  async applyServiceRulesEverywhere(services: ServiceRules[]): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => this.applyServiceRules(n, services, { omit: this.serviceState.get(n.name)?.omit })));
  }

  /** Applies a fault from the catalog to the real network (see test/lab/README.md for what each does). */
  async applyFault(fault: ScenarioFault, ctx: FaultContext = this.defaultContext()): Promise<void> {
    await this.switchFault(fault, ctx, true);
  }

  /** Reverts a fault applied with applyFault. */
  async revertFault(fault: ScenarioFault, ctx: FaultContext = this.defaultContext()): Promise<void> {
    await this.switchFault(fault, ctx, false);
  }

  /** Deletes every namespace with this lab's prefix, its /etc/netns dirs, the recorded processes and the state; idempotent. */
  async teardown(): Promise<void> {
    for (const p of this.readState().processes) await terminateRecorded(p);
    const listed = await this.runner.run(['ip', 'netns', 'list'], { allowFailure: true });
    const mine = listed.stdout
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(this.prefix));
    await Promise.all(mine.map((ns) => this.killNetnsPids(ns)));
    if (mine.length > 0) await runIpBatchForce(this.runner, mine.map((ns) => `netns del ${ns}`));
    const etc = fs.existsSync('/etc/netns') ? fs.readdirSync('/etc/netns') : [];
    await Promise.all(
      etc.filter((d) => d.startsWith(this.prefix)).map((d) => fs.promises.rm(path.join('/etc/netns', d), { recursive: true, force: true })),
    );
    await fs.promises.rm(this.dir, { recursive: true, force: true });
    this.nodes.clear();
    this.pods.clear();
    this.responders.length = 0;
    this.dns = undefined;
    this.nodeLocalDns.clear();
    this.serviceState.clear();
    this.faultOmit.clear();
    this.faultOmit6.clear();
  }

  /** Tears down the lab whose state lives in stateDir, from any process (no-op when there is no state). */
  static async teardownByState(stateDir: string, runner: CommandRunner): Promise<void> {
    const file = path.join(stateDir, 'dataplane', STATE_FILE);
    if (!fs.existsSync(file)) return;
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile;
    await new Dataplane({ labId: state.labId, runner, stateDir }).teardown();
  }

  private async switchFault(fault: ScenarioFault, ctx: FaultContext, on: boolean): Promise<void> {
    const node = (name: string): NodeNet => {
      const n = ctx.node(name);
      if (n === undefined) throw new Error(`fault ${fault.type}: unknown node "${name}"`);
      return n;
    };
    const pod = (key: string): PodNet => {
      const p = ctx.pod(key);
      if (p === undefined) throw new Error(`fault ${fault.type}: unknown pod "${key}" (expected namespace/name)`);
      return p;
    };
    // Faults with an IPv6 twin act on the IPv6 side only when the scenario says `family: IPv6`.
    const v6 = 'family' in fault && fault.family === 'IPv6';
    const tools = this.nodeProxy.tools(v6 ? 'IPv6' : 'IPv4');
    switch (fault.type) {
      case 'ip-forward-off':
        if (v6) return setSysctls(this.runner, node(fault.node).netns, { 'net.ipv6.conf.all.forwarding': on ? 0 : 1 });
        return setSysctls(this.runner, node(fault.node).netns, { 'net.ipv4.ip_forward': on ? 0 : 1 });
      case 'bridge-nf-off':
        this.requireBridge(fault.type);
        if (v6) return setSysctls(this.runner, node(fault.node).netns, { 'net.bridge.bridge-nf-call-ip6tables': on ? 0 : 1 });
        return setSysctls(this.runner, node(fault.node).netns, { 'net.bridge.bridge-nf-call-iptables': on ? 0 : 1 });
      case 'forward-policy-drop': {
        // The network agent's own FORWARD accept rules (Calico's) would make DROP harmless: they go too, and come back.
        const n = node(fault.node);
        const ipt = tools.iptables;
        // They are the agent's iptables (IPv4) rules: with family IPv6 there are none to take away (felix's ip6tables
        // chains are not built by the lab).
        const accepts = v6 ? [] : this.network.forwardAcceptRules;
        if (on) for (const r of accepts) await this.runner.run(inNetns(n.netns, [ipt, '-D', 'FORWARD', ...r.rule]), { allowFailure: true });
        await this.nodeProxy.switchForwardPolicyDrop(n, on, v6 ? 'IPv6' : 'IPv4');
        if (!on) {
          for (const r of accepts) await this.runner.run(inNetns(n.netns, [ipt, ...(r.first ? ['-I', 'FORWARD', '1'] : ['-A', 'FORWARD']), ...r.rule]));
        }
        return;
      }
      case 'overlay-blocked': {
        // IPv6: flannel-v6.1 carries its VXLAN over the nodes' IPv6 addresses, so ip6tables drops only that tunnel.
        const port = v6 ? this.requireTunnel6(fault.type).port : this.requireTunnel(fault.type).port;
        const spec = ['INPUT', '-p', 'udp', '-m', 'udp', '--dport', String(port), '-m', 'comment', '--comment', FAULT_COMMENT, '-j', 'DROP'];
        await this.runner.run(inNetns(node(fault.node).netns, [tools.iptables, on ? '-I' : '-D', ...spec]));
        return;
      }
      case 'pod-route-missing': {
        const local = node(fault.node);
        if (v6) {
          const to = node(fault.toNode);
          const net6 = this.network.v6;
          if (net6 === undefined || to.v6 === undefined) throw new Error(`pod-route-missing: ${this.network.kind} has no IPv6 side on this cluster`);
          const r6 = net6.peerRoute(local, to);
          return runIpBatch(this.runner, local.netns, on ? r6.del : r6.add);
        }
        const route = this.network.peerRoute(local, node(fault.toNode));
        if (route === undefined) throw new Error(`pod-route-missing: on ${this.network.kind} nodes hold no routes to other nodes' pods`);
        return runIpBatch(this.runner, local.netns, on ? route.del : route.add);
      }
      case 'kube-proxy-rules-missing': {
        const n = node(fault.node);
        // IPv6: only the IPv6 proxier's rules (ip6tables, `table ip6 kube-proxy`) go; the IPv4 ones stay.
        const omits = v6 ? this.faultOmit6 : this.faultOmit;
        const current = omits.get(n.name);
        const want: 'all' | string[] = fault.service === undefined ? 'all' : [fault.service];
        if (on) omits.set(n.name, mergeOmit(current, want) ?? want);
        else if (want === 'all' || current === 'all') omits.delete(n.name);
        else {
          const left = (current ?? []).filter((s) => !want.includes(s));
          if (left.length === 0) omits.delete(n.name);
          else omits.set(n.name, left);
        }
        const st = this.serviceState.get(n.name);
        await this.applyServiceRules(n, st?.services ?? [], { omit: st?.omit });
        return;
      }
      case 'dns-server-down':
        if (on) return this.stopDnsServer();
        if (this.dns === undefined) throw new Error('dns-server-down: the DNS server was never started');
        await this.startDnsServer(this.dns.servers.map((s) => s.pod), this.dns.records, this.dns.options);
        return;
      case 'dns-no-endpoints':
        // Purely API-side: the DNS pod is reported not Ready, so the caller renders kube-dns without ready endpoints
        // (applyServiceRules then REJECTs its ClusterIP); dnsmasq itself keeps running.
        return;
      case 'app-not-listening': {
        pod(fault.pod);
        if (on) await this.stopResponders(fault.pod, fault.port);
        else await this.restartResponders(fault.pod, fault.port);
        return;
      }
      case 'mtu-mismatch':
        return v6 ? this.switchMtuMismatch6(node(fault.node), on) : this.switchMtuMismatch(node(fault.node), on);
      case 'neighbor-stale': {
        const p = pod(fault.pod);
        if (p.hostNetwork) throw new Error(`neighbor-stale: pod ${fault.pod} uses the host network; pick a pod with its own IP`);
        const n = node(fault.node);
        const rec = this.pods.get(fault.pod);
        const dev = this.network.neighborDevice(rec?.hostVeth ?? '');
        if (v6 && p.ip6 === undefined) throw new Error(`neighbor-stale: pod ${fault.pod} has no IPv6 address`);
        const ip = v6 ? (p.ip6 as string) : p.ip;
        // Where the network keeps its own permanent entry for the pod (Calico), repair puts that entry back.
        const line = on ? `neigh replace ${ip} lladdr ${WRONG_MAC} dev ${dev} nud permanent` : `neigh del ${ip} dev ${dev}`;
        await runIpBatch(this.runner, n.netns, [line]);
        if (!on && rec !== undefined && !v6) {
          const restore = this.network.podLink(n, { key: p.key, ip: p.ip, netns: p.netns, n: 0 }).nodeLines.filter((l) => l.startsWith('neigh '));
          await runIpBatch(this.runner, n.netns, restore);
        }
        return;
      }
      case 'overlay-lossy': {
        // Seed 003's lossy overlay: a share of the VXLAN packets arriving at the node is dropped at random.
        const share = ((fault.percent ?? DEFAULT_LOSS_PERCENT) / 100).toFixed(2);
        const port = v6 ? this.requireTunnel6(fault.type).port : this.requireTunnel(fault.type).port;
        const spec = ['INPUT', '-p', 'udp', '-m', 'udp', '--dport', String(port), '-m', 'statistic', '--mode', 'random', '--probability', share, '-m', 'comment', '--comment', FAULT_COMMENT, '-j', 'DROP'];
        await this.runner.run(inNetns(node(fault.node).netns, [tools.iptables, on ? '-I' : '-D', ...spec]));
        return;
      }
      case 'dns-lossy': {
        // Seed 002's lookups that time out now and then (the conntrack race): a share of the UDP DNS packets that enter
        // the node's network namespace, queries (dport 53) and answers (sport 53) alike, is dropped at random. The raw
        // table's PREROUTING sees them all: routed, bridged (br_netfilter) or arriving over the overlay, before conntrack.
        const share = ((fault.percent ?? DEFAULT_DNS_LOSS_PERCENT) / 100).toFixed(2);
        const rule = (port: '--dport' | '--sport'): string[] =>
          ['PREROUTING', '-p', 'udp', '-m', 'udp', port, '53', '-m', 'statistic', '--mode', 'random', '--probability', share, '-m', 'comment', '--comment', FAULT_COMMENT, '-j', 'DROP'];
        const netns = node(fault.node).netns;
        for (const port of ['--dport', '--sport'] as const) await this.runner.run(inNetns(netns, [this.iptables.iptables, '-t', 'raw', on ? '-I' : '-D', ...rule(port)]));
        // On a dual-stack cluster DNS also travels over IPv6 (the DNS Service is IPv6 on [IPv6, IPv4]): the same share goes.
        if (this.network.v6 !== undefined) {
          for (const port of ['--dport', '--sport'] as const) await this.runner.run(inNetns(netns, [this.nodeProxy.ip6tables.iptables, '-t', 'raw', on ? '-I' : '-D', ...rule(port)]));
        }
        return;
      }
      case 'hairpin-off': {
        // Seed 002's "pod cannot access itself through Service": the kubelet's hairpin-veth mode is off for this pod.
        this.requireBridge(fault.type);
        const rec = this.pods.get(fault.pod);
        if (rec?.hostVeth === undefined) throw new Error(`hairpin-off: pod ${fault.pod} has no bridge port (unknown, or hostNetwork)`);
        await runIpBatch(this.runner, node(rec.pod.node).netns, [`link set dev ${rec.hostVeth} type bridge_slave hairpin ${on ? 'off' : 'on'}`]);
        return;
      }
      case 'node-local-dns-down': {
        // The node's cache process dies (as a crashed node-cache: its interface and iptables rules stay behind), so
        // queries to the local IP on that node get ICMP port unreachable; its pod stays Ready in the API.
        const n = node(fault.node);
        if (on) return this.stopNodeLocalDns(n);
        const cur = this.nodeLocalDns.get(n.name);
        if (!cur) throw new Error(`node-local-dns-down: no NodeLocal DNSCache on ${n.name}`);
        await this.runNodeCache(n, cur.plan);
        return;
      }
      case 'underlay-blocked': {
        const n = node(fault.node);
        // IPv6: the underlay's forwarding of IPv6 pod traffic to the node is dropped, IPv4 still flows.
        const block = v6 ? this.network.v6?.underlayBlock?.(n, this.underlayPort(n)) : this.network.underlayBlock(n, this.underlayPort(n));
        if (block === undefined) throw new Error(`underlay-blocked: on ${this.network.kind} pod addresses never cross the underlay (they travel inside the overlay)`);
        const table = `nd_underlay_${n.index}`;
        const nft = on
          ? `table ${block.family} ${table} {\n chain ${block.hook} {\n  type filter hook ${block.hook} priority 0; policy accept;\n  ${block.rule}\n }\n}\n`
          : `delete table ${block.family} ${table}\n`;
        await this.runner.run(inNetns(this.underlayNetns, ['nft', '-f', '-']), { input: nft, allowFailure: !on });
        return;
      }
      case 'dns-record-missing':
        // Purely controller-side: the caller leaves that Service's record out of the records it hands
        // updateDnsRecords, so dnsmasq answers NXDOMAIN for it; nothing changes in the kernel.
        return;
      default: {
        const never: never = fault;
        throw new Error(`unknown fault ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * mtu-mismatch: the node's underlay link and overlay (the tunnel device, the bridge if any, its pods) move to bigger
   * MTUs than the path carries; an nftables bridge rule in the underlay drops the oversized frames (an MTU alone drops
   * nothing).
   */
  private async switchMtuMismatch(node: NodeNet, on: boolean): Promise<void> {
    const tunnel = this.requireTunnel('mtu-mismatch');
    const underlay = on ? JUMBO_MTU : LAB_ADDRESSES.pathMTU;
    const overlay = on ? LAB_ADDRESSES.pathMTU : this.network.podMTU;
    const uport = this.underlayPort(node);
    const table = `nd_mtu_${node.index}`;
    const pods = [...this.pods.values()].filter((r) => r.pod.node === node.name && r.hostVeth !== undefined);
    await runIpBatch(this.runner, this.underlayNetns, [`link set ${uport} mtu ${underlay}`]);
    await runIpBatch(this.runner, node.netns, [
      `link set eth0 mtu ${underlay}`,
      `link set ${tunnel.device} mtu ${on ? overlay : (this.network.tunnelMTU ?? overlay)}`,
      ...pods.map((r) => `link set ${r.hostVeth} mtu ${overlay}`),
      ...(this.network.bridge === undefined ? [] : [`link set ${this.network.bridge} mtu ${overlay}`]),
    ]);
    await Promise.all(pods.map((r) => runIpBatch(this.runner, r.pod.netns, [`link set eth0 mtu ${overlay}`])));
    const routeMTU = this.network.routeMTU;
    if (routeMTU !== undefined) {
      // The tunnel's overhead lives in route MTUs here: they rise to the path MTU too (and fall back on repair).
      const mtu = on ? LAB_ADDRESSES.pathMTU : LAB_ADDRESSES.overlayMTU;
      const others = [...this.nodes.values()].filter((n) => n.name !== node.name);
      await runIpBatch(this.runner, node.netns, routeMTU.node(node, others, mtu));
      await Promise.all(pods.map((r) => runIpBatch(this.runner, r.pod.netns, routeMTU.pod(node, mtu))));
    }
    const nft = on
      ? `table bridge ${table} {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n  iifname "${uport}" ip length > ${LAB_ADDRESSES.pathMTU} counter drop\n }\n}\n`
      : `delete table bridge ${table}\n`;
    await this.runner.run(inNetns(this.underlayNetns, ['nft', '-f', '-']), { input: nft, allowFailure: !on });
  }

  /**
   * mtu-mismatch with family IPv6: the node's underlay link moves to jumbo frames and its IPv6 tunnel (flannel-v6.1,
   * vxlan-v6.calico) from 1430 to 1500, as if its IPv6 VXLAN overhead were IPv4's 50 bytes; an nftables bridge rule in
   * the underlay drops the IPv6 frames over the path MTU. Pods keep their MTU (set when the CNI plugin created them):
   * flannel's 1450 now fits the IPv6 tunnel but not the path, Calico's 1430 still fits both. IPv4 (flannel.1 /
   * vxlan.calico at 1450) still fits the path.
   */
  private async switchMtuMismatch6(node: NodeNet, on: boolean): Promise<void> {
    const tunnel = this.requireTunnel6('mtu-mismatch');
    const pathMTU = LAB_ADDRESSES.pathMTU;
    const uport = this.underlayPort(node);
    const table = `nd_mtu6_${node.index}`;
    await runIpBatch(this.runner, this.underlayNetns, [`link set ${uport} mtu ${on ? JUMBO_MTU : pathMTU}`]);
    await runIpBatch(this.runner, node.netns, [
      `link set eth0 mtu ${on ? JUMBO_MTU : pathMTU}`,
      `link set ${tunnel.device} mtu ${on ? pathMTU : pathMTU - VXLAN_V6_OVERHEAD}`,
    ]);
    // An IPv6 frame's length is its payload length plus the 40-byte fixed header.
    const nft = on
      ? `table bridge ${table} {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n  iifname "${uport}" ip6 length > ${pathMTU - 40} counter drop\n }\n}\n`
      : `delete table bridge ${table}\n`;
    await this.runner.run(inNetns(this.underlayNetns, ['nft', '-f', '-']), { input: nft, allowFailure: !on });
  }

  /**
   * The directory a hostNetwork pod's exec on this lab's nodes puts first on PATH, standing for the node's iptables
   * alternatives: set for the legacy backend (iptables → iptables-legacy), undefined for nft (the host's own default).
   */
  execPathDir(): string | undefined {
    return this.nodeProxy.execPathDir(path.join(this.dir, 'alternatives'));
  }

  /** The network's tunnel, or an error saying the fault cannot exist on this network. */
  private requireTunnel(fault: string): { device: string; port: number } {
    if (this.network.tunnel === undefined) throw new Error(`${fault}: ${this.network.kind} has no overlay tunnel`);
    return this.network.tunnel;
  }

  /** The network's IPv6 tunnel, or an error saying the fault's IPv6 twin cannot exist here. */
  private requireTunnel6(fault: string): { device: string; port: number } {
    const t = this.network.v6?.tunnel;
    if (t === undefined) throw new Error(`${fault}: ${this.network.kind} has no IPv6 overlay tunnel on this cluster`);
    return t;
  }

  /** Throws when the network has no bridge for a bridge fault to act on. */
  private requireBridge(fault: string): void {
    if (this.network.bridge === undefined) throw new Error(`${fault}: ${this.network.kind} attaches pods by routed veths, not a bridge`);
  }

  private defaultContext(): FaultContext {
    return { node: (n) => this.nodes.get(n), pod: (k) => this.pods.get(k)?.pod };
  }

  private requireNode(name: string): NodeNet {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`unknown node "${name}": call addNode first`);
    return n;
  }

  private underlayPort(node: NodeNet): string {
    return `u-n${node.index}`;
  }

  private assertOwned(netns: string): void {
    if (!netns.startsWith(this.prefix)) throw new Error(`namespace ${netns} does not belong to lab ${this.labId} (prefix ${this.prefix})`);
  }

  private async addNetns(netns: string): Promise<void> {
    this.updateState(() => {});
    await this.runner.run(['ip', 'netns', 'add', netns]);
  }

  private async killNetnsPids(netns: string): Promise<void> {
    const res = await this.runner.run(['ip', 'netns', 'pids', netns], { allowFailure: true });
    for (const pid of res.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }

  private async writeResolvConf(netns: string, content: string): Promise<void> {
    const dir = path.join('/etc/netns', netns);
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.writeFile(path.join(dir, 'resolv.conf'), content.endsWith('\n') ? content : `${content}\n`);
  }

  private writeResponderScript(): string {
    const file = path.join(this.dir, 'responder.sh');
    if (/[\s,:!'"\\]/.test(file)) throw new Error(`state directory path ${file} must not contain spaces or , : ! quotes (socat syntax)`);
    if (!fs.existsSync(file)) {
      fs.mkdirSync(this.dir, { recursive: true });
      fs.writeFileSync(
        file,
        [
          '#!/bin/sh',
          '# Lab responder: read the request head (until an empty line or EOF), answer HTTP/1.0 200 with the pod key.',
          "cr=$(printf '\\r')",
          'while IFS= read -r line; do',
          '  case "$line" in ""|"$cr") break ;; esac',
          'done',
          "printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nConnection: close\\r\\n\\r\\n%s\\n' \"$1\"",
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
    }
    return file;
  }

  private hostsFile(): string {
    return path.join(this.dir, 'dns-hosts');
  }

  private writeHostsFile(records: DnsRecord[]): void {
    const lines = records.flatMap((r) => r.ips.map((ip) => `${ip} ${r.name}`));
    const tmp = `${this.hostsFile()}.tmp`;
    fs.writeFileSync(tmp, `${lines.join('\n')}\n`, { mode: 0o644 });
    fs.renameSync(tmp, this.hostsFile());
  }

  private readState(): StateFile {
    const file = path.join(this.dir, STATE_FILE);
    if (!fs.existsSync(file)) return { labId: this.labId, processes: [] };
    return JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile;
  }

  private updateState(change: (s: StateFile) => void): void {
    const s = this.readState();
    change(s);
    fs.mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, STATE_FILE);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(s, null, 2));
    fs.renameSync(`${file}.tmp`, file);
  }
}

/** Runs `ip -force -batch -` (continues past failing lines, e.g. an already deleted namespace). */
async function runIpBatchForce(runner: CommandRunner, lines: string[]): Promise<void> {
  await runner.run(['ip', '-force', '-batch', '-'], { input: `${lines.join('\n')}\n`, allowFailure: true });
}

/** True when pid is alive and still runs the recorded command (guards against PID reuse). */
function isRecordedAlive(rec: RecordedProcess): boolean {
  let cmdline: string;
  let stat: string;
  try {
    cmdline = fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8');
    stat = fs.readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  if (/\) Z /.test(stat)) return false;
  const argv0 = cmdline.split('\0')[0] ?? '';
  // Before exec the process is still `ip netns exec ...`.
  return argv0 === rec.argv[0] || path.basename(argv0) === path.basename(rec.argv[0] ?? '') || argv0 === 'ip';
}

/** Sends SIGTERM to a recorded process, then SIGKILL if it is still there after 2 s. */
async function terminateRecorded(rec: RecordedProcess): Promise<void> {
  if (!isRecordedAlive(rec)) return;
  try {
    process.kill(rec.pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    if (!isRecordedAlive(rec)) return;
    await sleep(20);
  }
  try {
    process.kill(rec.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Waits until process pid listens on port (read from /proc/<pid>/net, which shows the process's own namespace). */
async function waitForListen(pid: number, protocol: 'TCP' | 'UDP', port: number, what: string, ipv6 = false): Promise<void> {
  const file = `/proc/${pid}/net/${protocol === 'TCP' ? 'tcp' : 'udp'}${ipv6 ? '6' : ''}`;
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const state = protocol === 'TCP' ? '0A' : '07';
  for (let i = 0; i < 250; i++, await sleep(10)) {
    let text: string;
    try {
      // Until `ip netns exec` has exec'd, /proc/<pid>/net may still show the host's namespace.
      if ((fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '') === 'ip') continue;
      text = fs.readFileSync(file, 'utf8');
    } catch {
      throw new Error(`${what} exited before listening on ${protocol} ${port}`);
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(portHex) && cols[3] === state) return;
    }
  }
  throw new Error(`${what} is not listening on ${protocol} ${port} after 2.5 s`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
