/**
 * The seam between the data plane and a pod network: every network (flannel, Calico, cloud-routed) lays out its node,
 * pod and underlay devices behind this one interface, and the data plane builds, breaks and repairs them through it.
 * Implementations only plan commands (pure); the data plane runs them.
 */
import { createHash } from 'node:crypto';
import type { ClusterNetwork, NodeNet } from '../model.ts';

/** What one pod's link needs on its node and in its own namespace (after `ip link add <hostVeth> ... peer eth0`). */
export interface PodLinkPlan {
  /** The pod's veth in the node namespace. */
  hostVeth: string;
  /** `ip -batch` lines in the node namespace. */
  nodeLines: string[];
  /** Per-device sysctls on the node (keys without dots in device names). */
  nodeSysctls: Record<string, number>;
  /** `ip -batch` lines in the pod namespace, after `lo` is up. */
  podLines: string[];
  /** `ip -batch` lines in the node namespace when the pod goes (its veth goes with its namespace). */
  teardownLines: string[];
}

/** A pod as a network plans its link. */
export interface PodLinkInput {
  key: string;
  ip: string;
  netns: string;
  /** The data plane's running pod number (for networks whose veth names are counters). */
  n: number;
}

/** A pod's veth on its node, as the network's per-pod rules need it. */
export interface WorkloadLink {
  hostVeth: string;
  namespace: string;
}

/** An nftables rule in the underlay namespace that drops pod-addressed traffic to one node (underlay-blocked). */
export interface UnderlayBlock {
  family: 'bridge' | 'ip' | 'ip6';
  hook: 'forward';
  rule: string;
}

/** One pod network's layout. */
export interface PodNetwork {
  readonly kind: ClusterNetwork;
  /** The pod network as kube-proxy's --cluster-cidr sees it. */
  readonly clusterCIDR: string;
  /** The network's own tunnel, undefined when pod traffic crosses the underlay unencapsulated. */
  readonly tunnel: { device: string; port: number } | undefined;
  /** The node bridge pods attach to, undefined when pods are routed to their veths. */
  readonly bridge: string | undefined;
  /** MTU of pod interfaces on a healthy node. */
  readonly podMTU: number;
  /** MTU of the tunnel device on a healthy node when it differs from podMTU (Calico VXLAN on a dual-stack cluster). */
  readonly tunnelMTU?: number;
  /** Addresses, routes and sysctls of the underlay namespace, once every node exists. */
  underlayLines(nodes: NodeNet[], underlayPorts: Map<string, string>): string[];
  underlaySysctls(): Record<string, number>;
  /** `ip -batch` lines in a new node namespace after eth0 is up and before the default route. */
  nodeLines(node: NodeNet): string[];
  /** Sysctls of the node's own network devices, set once nodeLines have created them. */
  nodeSysctls(node: NodeNet): Record<string, number>;
  /** iptables-restore --noflush text the network's agent installs on a node ('' for none). */
  nodeIptables(node: NodeNet): string;
  /** iptables-restore --noflush text for the node's current workloads ('' when the network keeps no per-pod rules). */
  workloadIptables(node: NodeNet, workloads: WorkloadLink[], removed: WorkloadLink[]): string;
  /** The `ip` and `bridge` lines that let local reach the pods of the other nodes. */
  peerLines(local: NodeNet, others: NodeNet[]): { ip: string[]; bridge: string[] };
  /** The route(s) local holds to the pods of `to` (pod-route-missing deletes them); undefined when nodes hold none. */
  peerRoute(local: NodeNet, to: NodeNet): { add: string[]; del: string[] } | undefined;
  /** Plans a pod's link. */
  podLink(node: NodeNet, pod: PodLinkInput): PodLinkPlan;
  /** The node-side device holding the neighbor entry for a pod (the bridge, or the pod's own veth). */
  neighborDevice(hostVeth: string): string;
  /**
   * The network agent's own rules in the filter FORWARD chain that accept pod traffic whatever the chain's policy (as
   * `iptables` rule specs, in order); forward-policy-drop takes them away with the policy and puts them back after.
   */
  readonly forwardAcceptRules: { rule: string[]; first: boolean }[];
  /**
   * Networks that carry the tunnel's overhead in route MTUs rather than device MTUs (Cilium): the lines that set them,
   * on a node towards the others and in a pod on that node (mtu-mismatch raises them to the path MTU).
   */
  readonly routeMTU?: { node(local: NodeNet, others: NodeNet[], mtu: number): string[]; pod(node: NodeNet, mtu: number): string[] };
  /** The underlay rule behind underlay-blocked; undefined when pod addresses never cross the underlay. */
  underlayBlock(node: NodeNet, underlayPort: string): UnderlayBlock | undefined;
  /** The network's IPv6 side on a dual-stack cluster; undefined when the lab builds it IPv4-only. */
  readonly v6?: PodNetworkV6;
}

/**
 * A network's IPv6 layout on a dual-stack cluster (nodes carry NodeNet.v6, pods PodNet.ip6). Lines run after the IPv4
 * ones in the same namespaces; the IPv4 layout does not change.
 */
export interface PodNetworkV6 {
  /** The IPv6 pod network (kube-proxy's --cluster-cidr IPv6 half). */
  readonly clusterCIDR: string;
  /** The IPv6 tunnel, undefined when IPv6 pod traffic crosses the underlay unencapsulated. */
  readonly tunnel: { device: string; port: number } | undefined;
  /** `ip -batch` lines in a node namespace once nodeLines have run (needs node.v6). */
  nodeLines(node: NodeNet): string[];
  /** Sysctls of the node's IPv6 devices (slash-separated keys where a device name holds a dot). */
  nodeSysctls(node: NodeNet): Record<string, number>;
  /** The `ip` and `bridge` lines that let local reach the other nodes' IPv6 pods. */
  peerLines(local: NodeNet, others: NodeNet[]): { ip: string[]; bridge: string[] };
  /** The IPv6 route(s) local holds to the pods of `to` (pod-route-missing with family IPv6 deletes them). */
  peerRoute(local: NodeNet, to: NodeNet): { add: string[]; del: string[] };
  /** `ip -batch` lines in the pod namespace that give eth0 its IPv6 address and route (after the IPv4 podLines). */
  podLines(node: NodeNet, ip6: string): string[];
  /**
   * The node side of a pod's IPv6 (after the IPv4 PodLinkPlan's node lines), for networks that route to each pod's veth
   * (Calico's /128 route and sysctls); undefined when the bridge carries it (flannel).
   */
  podNodeSide?(node: NodeNet, hostVeth: string, ip6: string): { nodeLines: string[]; nodeSysctls: Record<string, number>; teardownLines?: string[] };
  /** `ip -batch` lines in the underlay namespace for IPv6 (cloud-routed: the VPC router's IPv6 routes); absent: none. */
  underlayLines?(nodes: NodeNet[]): string[];
  /** Sysctls of the underlay namespace for IPv6 (cloud-routed: IPv6 forwarding on the VPC router); absent: none. */
  underlaySysctls?(): Record<string, number>;
  /** underlay-blocked with family IPv6: the rule that drops IPv6 pod traffic to node; absent where IPv6 pods never cross the underlay. */
  underlayBlock?(node: NodeNet, underlayPort: string): UnderlayBlock;
}

/**
 * A host veth name as Calico's CNI plugin and the AWS VPC CNI derive it: prefix + the first 11 hex digits of
 * sha1("<namespace>.<pod name>") (calico cni-plugin VethNameForWorkload; amazon-vpc-cni-k8s
 * pkg/networkutils/names.go GeneratePodHostVethName).
 */
export function hashedVethName(prefix: string, podKey: string): string {
  const [namespace, name] = podKey.split('/');
  return `${prefix}${createHash('sha1').update(`${namespace}.${name}`).digest('hex').slice(0, 11)}`;
}

/** A deterministic, locally administered unicast MAC from a 2-byte tag and a 32-bit value. */
export function taggedMAC(tag: [number, number], value: number): string {
  const bytes = [tag[0], tag[1], (value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
