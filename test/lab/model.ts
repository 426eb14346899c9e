/**
 * The lab's shared contracts: the scenario types (the YAML format, after validation and defaulting), the addressing plan,
 * and the narrow interfaces between the API server, the kubelet and the data plane.
 * Every module of the lab imports its types from here so the parts can be built and tested apart.
 */
import type { Readable, Writable } from 'node:stream';

/** apiVersion every scenario file must carry. */
export const SCENARIO_API_VERSION = 'lab.netdebug.dev/v1';

/** A container port of a scenario pod; the pod really listens on it (TCP). */
export interface ScenarioPort {
  name?: string;
  containerPort: number;
  protocol: 'TCP' | 'UDP';
}

/** A node of the scenario; index is its 1-based position, podCIDR defaults to 10.244.<index>.0/24. */
export interface ScenarioNode {
  name: string;
  index: number;
  podCIDR: string;
  ready: boolean;
  labels: Record<string, string>;
  /** `windows` nodes are API-only: labelled and tainted as cloud providers do, with no data plane (absent: linux). */
  os?: NodeOS;
}

/** Operating systems a scenario node can run (`spec.nodes[].os`). */
export const NODE_OS = ['linux', 'windows'] as const;
/** One of NODE_OS. */
export type NodeOS = (typeof NODE_OS)[number];

/** A pod-level securityContext of a scenario pod (`spec.pods[].securityContext`), as core/v1 PodSecurityContext. */
export interface ScenarioPodSecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  seccompProfile?: { type: 'RuntimeDefault' | 'Unconfined' | 'Localhost'; localhostProfile?: string };
}

/** A namespace of the scenario (default and kube-system are always added). */
export interface ScenarioNamespace {
  name: string;
  labels: Record<string, string>;
}

/** A pod of the scenario, placed on a node by the lab. */
export interface ScenarioPod {
  name: string;
  namespace: string;
  node: string;
  labels: Record<string, string>;
  ports: ScenarioPort[];
  ready: boolean;
  hostNetwork: boolean;
  /** Set when the pod belongs to a workload (e.g. {kind: 'Deployment', name: 'web'}); the lab writes ownerReferences. */
  owner?: { kind: 'Deployment' | 'StatefulSet' | 'DaemonSet'; name: string };
  /** The pod's securityContext, written to the pod and enforced by the lab's kubelet (runAsNonRoot). */
  securityContext?: ScenarioPodSecurityContext;
}

/** A Service port; targetPort is a number or the name of a container port. */
export interface ScenarioServicePort {
  name?: string;
  port: number;
  targetPort: number | string;
  protocol: 'TCP' | 'UDP';
}

/** A Service of the scenario; clusterIP 'None' is headless, undefined means the lab assigns one. */
export interface ScenarioService {
  name: string;
  namespace: string;
  type: 'ClusterIP' | 'ExternalName';
  selector?: Record<string, string>;
  ports: ScenarioServicePort[];
  clusterIP?: string;
  externalName?: string;
  /** `spec.internalTrafficPolicy`; absent means Cluster. Local: a node without a ready endpoint of its own drops the traffic. */
  internalTrafficPolicy?: InternalTrafficPolicy;
  /** `spec.ipFamilyPolicy` as written; absent: the API server's default (SingleStack, or RequireDualStack for two families). */
  ipFamilyPolicy?: IPFamilyPolicy;
  /** `spec.ipFamilies` as written; absent: the cluster's primary family (and, when the policy asks for two, the other one). */
  ipFamilies?: IPFamily[];
}

/** Values of a Service's `ipFamilyPolicy`. */
export const IP_FAMILY_POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const;
/** One of IP_FAMILY_POLICIES. */
export type IPFamilyPolicy = (typeof IP_FAMILY_POLICIES)[number];

/** Values of a Service's `internalTrafficPolicy`. */
export const INTERNAL_TRAFFIC_POLICIES = ['Cluster', 'Local'] as const;
/** One of INTERNAL_TRAFFIC_POLICIES. */
export type InternalTrafficPolicy = (typeof INTERNAL_TRAFFIC_POLICIES)[number];

/** A networking.k8s.io/v1 NetworkPolicy exactly as written in the scenario (metadata + spec). */
export interface ScenarioNetworkPolicy {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** A fault from the catalog (test/lab/README.md); params are checked per type by the validator. */
export type ScenarioFault =
  | { type: 'ip-forward-off'; node: string; family?: IPFamily }
  | { type: 'forward-policy-drop'; node: string; family?: IPFamily }
  | { type: 'overlay-blocked'; node: string; family?: IPFamily }
  | { type: 'pod-route-missing'; node: string; toNode: string; family?: IPFamily }
  | { type: 'kube-proxy-rules-missing'; node: string; service?: string; family?: IPFamily }
  | { type: 'bridge-nf-off'; node: string; family?: IPFamily }
  | { type: 'dns-server-down' }
  | { type: 'dns-no-endpoints' }
  | { type: 'app-not-listening'; pod: string; port?: number }
  | { type: 'mtu-mismatch'; node: string; family?: IPFamily }
  | { type: 'neighbor-stale'; node: string; pod: string; family?: IPFamily }
  | { type: 'dns-record-missing'; service: string }
  | { type: 'hairpin-off'; pod: string }
  | { type: 'overlay-lossy'; node: string; percent?: number; family?: IPFamily }
  | { type: 'dns-lossy'; node: string; percent?: number }
  | { type: 'node-local-dns-down'; node: string }
  | { type: 'underlay-blocked'; node: string; family?: IPFamily };

/** The fault types of the default (flannel) cluster, in catalog order; ALL_FAULT_TYPES adds those of other networks. */
export const FAULT_TYPES = [
  'ip-forward-off',
  'forward-policy-drop',
  'overlay-blocked',
  'pod-route-missing',
  'kube-proxy-rules-missing',
  'bridge-nf-off',
  'dns-server-down',
  'dns-no-endpoints',
  'app-not-listening',
  'mtu-mismatch',
  'neighbor-stale',
  'dns-record-missing',
  'hairpin-off',
  'overlay-lossy',
  'node-local-dns-down',
  'dns-lossy',
] as const satisfies readonly ScenarioFault['type'][];

/**
 * Fault types with an IPv6 twin: on a dual-stack cluster they take `family: IPv6` (absent: IPv4, as before), which
 * breaks the IPv6 side only (net.ipv6.conf.all.forwarding, ip6tables, flannel-v6.1, the IPv6 route or neighbor, the
 * underlay's IPv6 route to a node's IPv6 pods, the IPv6 tunnel's MTU).
 */
export const FAMILY_FAULT_TYPES = ['ip-forward-off', 'forward-policy-drop', 'overlay-blocked', 'pod-route-missing', 'neighbor-stale', 'overlay-lossy', 'bridge-nf-off', 'kube-proxy-rules-missing', 'underlay-blocked', 'mtu-mismatch'] as const satisfies readonly ScenarioFault['type'][];

/** Fault types that exist only on some pod networks (underlay-blocked: networks that route pod addresses between nodes). */
export const NETWORK_FAULT_TYPES = ['underlay-blocked'] as const satisfies readonly ScenarioFault['type'][];

/** Every fault type name: the catalog, then the network-specific ones. */
export const ALL_FAULT_TYPES = [...FAULT_TYPES, ...NETWORK_FAULT_TYPES] as const;

/** One RBAC denial: requests matching it get 403 and SelfSubjectAccessReviews say not allowed. */
export interface ScenarioRbacDeny {
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

/** A validated, defaulted scenario. */
export interface Scenario {
  name: string;
  description: string;
  /** The file it was read from, for messages. */
  source: string;
  nodes: ScenarioNode[];
  namespaces: ScenarioNamespace[];
  pods: ScenarioPod[];
  services: ScenarioService[];
  networkPolicies: ScenarioNetworkPolicy[];
  faults: ScenarioFault[];
  rbac: { deny: ScenarioRbacDeny[] };
  synthetic?: { nodes: number; pods: number; services: number };
  /** The cluster's shape (`spec.cluster`): data plane, service proxy, DNS layout and settings; defaults when absent. */
  cluster: ScenarioCluster;
}

/** Pod networks the lab can lay out (`spec.cluster.network`). */
export const CLUSTER_NETWORKS = ['flannel', 'calico-vxlan', 'calico-bgp', 'cilium', 'cloud-routed'] as const;
/** Service proxies (`spec.cluster.serviceProxy`); `cilium` requires `network: cilium`. */
export const SERVICE_PROXIES = ['iptables', 'nftables', 'cilium'] as const;
/** Where iptables rules live on the nodes (`spec.cluster.iptablesBackend`). */
export const IPTABLES_BACKENDS = ['nft', 'legacy'] as const;
/** The FORWARD chain's policy (`spec.cluster.forwardPolicy`). */
export const FORWARD_POLICIES = ['ACCEPT', 'DROP'] as const;
/** Address families (`spec.cluster.ipFamilies`, a Service's `ipFamilies`). */
export const IP_FAMILIES = ['IPv4', 'IPv6'] as const;

/** What a pod network has, which decides the faults that can exist on it. */
export interface NetworkTraits {
  /** Pod traffic between nodes is encapsulated (VXLAN) in a tunnel of the network's own. */
  overlay: boolean;
  /** Pods attach to a node bridge (hairpin mode, bridge netfilter). */
  bridge: boolean;
  /** Nodes hold routes to other nodes' pod ranges. */
  peerRoutes: boolean;
  /** The lab builds this network. */
  built: boolean;
  /** The lab builds this network dual-stack (`ipFamilies` with IPv6). */
  dualStack: boolean;
}

/** The traits of each pod network. */
export const NETWORK_TRAITS: Readonly<Record<(typeof CLUSTER_NETWORKS)[number], NetworkTraits>> = {
  flannel: { overlay: true, bridge: true, peerRoutes: true, built: true, dualStack: true },
  'calico-vxlan': { overlay: true, bridge: false, peerRoutes: true, built: true, dualStack: true },
  'calico-bgp': { overlay: false, bridge: false, peerRoutes: true, built: true, dualStack: true },
  cilium: { overlay: true, bridge: false, peerRoutes: true, built: true, dualStack: true },
  'cloud-routed': { overlay: false, bridge: false, peerRoutes: false, built: true, dualStack: true },
};

/** One of CLUSTER_NETWORKS. */
export type ClusterNetwork = (typeof CLUSTER_NETWORKS)[number];
/** One of SERVICE_PROXIES. */
export type ServiceProxy = (typeof SERVICE_PROXIES)[number];
/** One of IPTABLES_BACKENDS. */
export type IptablesBackend = (typeof IPTABLES_BACKENDS)[number];
/** One of FORWARD_POLICIES. */
export type ForwardPolicy = (typeof FORWARD_POLICIES)[number];
/** One of IP_FAMILIES. */
export type IPFamily = (typeof IP_FAMILIES)[number];

/** The cluster DNS as the distribution installs it (`spec.cluster.dns`). */
export interface ScenarioClusterDNS {
  namespace: string;
  service: string;
  workload: { kind: 'Deployment' | 'DaemonSet'; name: string };
  /** The DNS pods' labels, which are also the Service's selector. */
  labels: Record<string, string>;
  /** The DNS pods' container port (the Service always serves 53). */
  port: number;
  /** The cluster domain in records and pods' search paths. */
  domain: string;
  /** NodeLocal DNSCache as upstream's nodelocaldns.yaml installs it. */
  nodeLocalCache: boolean;
}

/** `spec.cluster` with every default applied. */
export interface ScenarioCluster {
  network: ClusterNetwork;
  serviceProxy: ServiceProxy;
  iptablesBackend: IptablesBackend;
  forwardPolicy: ForwardPolicy;
  dns: ScenarioClusterDNS;
  ipFamilies: IPFamily[];
  /** Added to every API response and to the start of every exec/attach stream. */
  apiLatencyMs: number;
  /** How long the first pull of an image not yet on a node takes. */
  imagePullSeconds: number;
  /** When non-empty, the only images nodes can pull (air-gapped); others fail. */
  images: string[];
}

/** The cluster every scenario without `spec.cluster` describes (the lab's first shape). */
export const DEFAULT_CLUSTER: Readonly<ScenarioCluster> = Object.freeze<ScenarioCluster>({
  network: 'flannel',
  serviceProxy: 'iptables',
  iptablesBackend: 'nft',
  forwardPolicy: 'ACCEPT',
  dns: {
    namespace: 'kube-system',
    service: 'kube-dns',
    workload: { kind: 'Deployment', name: 'coredns' },
    labels: { 'k8s-app': 'kube-dns' },
    port: 53,
    domain: 'cluster.local',
    nodeLocalCache: false,
  },
  ipFamilies: ['IPv4'],
  apiLatencyMs: 0,
  imagePullSeconds: 0,
  images: [],
});

/** Fixed addresses of every lab. */
export const LAB_ADDRESSES = {
  /** The underlay network the node namespaces share (lives only inside the lab's underlay namespace). */
  underlayCIDR: '172.31.0.0/24',
  /** Service ClusterIPs are assigned from here. */
  serviceCIDR: '10.96.0.0/16',
  /** The cluster DNS Service's ClusterIP. */
  dnsClusterIP: '10.96.0.10',
  /** Where NodeLocal DNSCache listens on every node (upstream's default __PILLAR__LOCAL__DNS__). */
  nodeLocalDnsIP: '169.254.20.10',
  /** The cluster-wide pod network (the flannel "Network"). */
  clusterCIDR: '10.244.0.0/16',
  /** VXLAN port, flannel's default. */
  vxlanPort: 8472,
  /** VNI, flannel's default. */
  vxlanId: 1,
  /** MTU of pod interfaces and flannel.1 on a healthy node (1500 - 50 VXLAN overhead). */
  overlayMTU: 1450,
  /** MTU the underlay path carries. */
  pathMTU: 1500,
  /** Calico's default IPv4 pool (the Tigera operator's default `cidr`), carved into per-node blocks. */
  calicoPoolCIDR: '192.168.0.0/16',
  /** Calico's default IPAM block size for IPv4 (`blockSize: 26`). */
  calicoBlockPrefix: 26,
  /** felix's VXLANPort default (the IANA VXLAN port). */
  calicoVxlanPort: 4789,
  /** felix's VXLANVNI default. */
  calicoVxlanId: 4096,
  /** The pods' gateway on networks that route every pod through its host veth (Calico, the AWS VPC CNI). */
  linkLocalGateway: '169.254.1.1',
} as const;

/**
 * The IPv6 addresses of a dual-stack lab, all ULA (fd00::/8) and all inside the lab's namespaces: kind's dual-stack
 * defaults for the pod and service ranges, a /64 per node as kube-controller-manager's --node-cidr-mask-size-ipv6 gives.
 */
export const LAB_ADDRESSES_V6 = {
  /** The cluster-wide IPv6 pod network (kube-controller-manager --cluster-cidr's IPv6 half, flannel's IPv6Network). */
  clusterCIDR: 'fd00:10:244::/56',
  /** The prefix length of each node's IPv6 pod range (--node-cidr-mask-size-ipv6 default). */
  nodePrefix: 64,
  /** IPv6 Service ClusterIPs are assigned from here (--service-cluster-ip-range's IPv6 half). */
  serviceCIDR: 'fd00:10:96::/112',
  /** The cluster DNS Service's IPv6 ClusterIP (the tenth address, as 10.96.0.10 is the IPv4 one). */
  dnsClusterIP: 'fd00:10:96::a',
  /**
   * Where NodeLocal DNSCache listens on every node when the cluster DNS is IPv6 ([IPv6, IPv4]): the kubernetes docs
   * ask for a local address that collides with nothing, in fd00::/8 for IPv6; the lab picks fd00::10.
   */
  nodeLocalDnsIP: 'fd00::10',
  /** The underlay's IPv6 network: each node's eth0 holds an address here (its IPv6 InternalIP). */
  underlayCIDR: 'fd00:172:31::/64',
} as const;

/** The data plane's view of a node. */
export interface NodeNet {
  name: string;
  index: number;
  /** Network namespace name (global, prefixed per lab). */
  netns: string;
  /** Address on the underlay (the node's InternalIP), e.g. 172.31.0.11. */
  underlayIP: string;
  podCIDR: string;
  /** First address of the pod CIDR, on the node's cni0 bridge, the pods' gateway. */
  gatewayIP: string;
  /** flannel.1 address: the network address of the pod CIDR (10.244.N.0/32). */
  vtepIP: string;
  /** flannel.1 MAC, deterministic. */
  vtepMAC: string;
  /** The node's IPv6 side on a dual-stack cluster (absent: IPv4 only). */
  v6?: NodeNetV6;
}

/** A node's IPv6 addresses on a dual-stack cluster. */
export interface NodeNetV6 {
  /** The node's IPv6 InternalIP on the underlay (fd00:172:31::/64). */
  underlayIP: string;
  /** The node's IPv6 pod range (a /64 of fd00:10:244::/56, the second entry of spec.podCIDRs). */
  podCIDR: string;
  /** The pods' IPv6 gateway on cni0: the range's first address (::1). */
  gatewayIP: string;
  /** flannel-v6.1's address: the range's network address (/128). */
  vtepIP: string;
  /** flannel-v6.1's MAC, deterministic. */
  vtepMAC: string;
}

/** The data plane's view of a pod. */
export interface PodNet {
  /** `${namespace}/${name}` */
  key: string;
  node: string;
  /** The pod's own network namespace, or the node's for hostNetwork pods. */
  netns: string;
  hostNetwork: boolean;
  ip: string;
  /** The pod's IPv6 address on a dual-stack cluster (absent: IPv4 only). */
  ip6?: string;
}

/** What the kubelet hands the API server to run `pods/exec`. */
export interface ExecRequest {
  namespace: string;
  pod: string;
  /** Container name; undefined means the pod's first container. */
  container?: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A running exec: its streams and how it ended. */
export interface ExecProcess {
  stdin: Writable | null;
  stdout: Readable;
  stderr: Readable;
  /** Resolves when the command has ended; exitCode null means it was killed by a signal. */
  exited: Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>;
  /** Resize the TTY (ignored when there is none). */
  resize(width: number, height: number): void;
  kill(): void;
}

/** Thrown by backends with the HTTP status and reason the API server should answer with. */
export class LabApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

/** The kubelet side of the API server: exec and logs inside the right namespace. */
export interface KubeletBackend {
  exec(req: ExecRequest): Promise<ExecProcess>;
  logs(namespace: string, pod: string, container?: string): Promise<string>;
}

/** Runs a host command and returns its result; the single seam through which the data plane touches the system. */
export interface CommandRunner {
  run(argv: string[], opts?: { input?: string; allowFailure?: boolean }): Promise<{ code: number; stdout: string; stderr: string }>;
}
