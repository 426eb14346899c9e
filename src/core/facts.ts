/** What the Kubernetes API told a run, gathered once by src/kube/ and read by the planner and the diagnosis. */
import type { ContainerPort, Finding, Labels, ResolvedTargets, WorkloadRef } from './model.ts';
import type { DatapathApiFacts } from './datapath.ts';
import type { NetworkPolicy } from './netpol.ts';

/** A pod of the cluster DNS (or of NodeLocal DNSCache) with its readiness. */
export interface DnsPod {
  namespace: string;
  name: string;
  ip: string;
  node: string;
  ready: boolean;
}

/** One DNS Service the API shows, found under one of the well-known names (see core/dns.ts). */
export interface DnsServiceFacts {
  namespace: string;
  name: string;
  /** Its ClusterIP (absent when headless or not set). */
  clusterIP?: string;
  /** The port its pods serve DNS on, from its EndpointSlices (UDP), when it is not 53 (OpenShift's 5353). */
  podPort?: number;
  /** Its pods, found through its own selector. */
  pods: DnsPod[];
  /** Ready endpoints in its EndpointSlices. */
  readyEndpoints: number;
  /** Its selector as `labelSelector=` text, for hints. */
  selector: string;
  /** The workload that runs its pods (from their owners), e.g. DaemonSet dns-default. */
  workload?: WorkloadRef;
}

/** The cluster DNS as the API describes it. */
export interface DnsFacts {
  /** ClusterIP of the cluster DNS Service (kube-system/kube-dns unless `service` says otherwise), when it exists. */
  serviceIP?: string;
  /** The DNS pods with their readiness. */
  pods: DnsPod[];
  /** Ready endpoints in the DNS Service's EndpointSlices. */
  readyEndpoints: number;
  /** The port the DNS pods serve on when it is not 53. */
  podPort?: number;
  /** The Service the fields above describe: the first well-known DNS Service found (absent: kube-system/kube-dns). */
  service?: { namespace: string; name: string; selector: string; workload?: WorkloadRef };
  /** Every well-known DNS Service found; the source's resolv.conf says which one it uses. */
  services?: DnsServiceFacts[];
  /** NodeLocal DNSCache (DaemonSet kube-system/node-local-dns), when it runs: its pods, one per node. */
  nodeLocal?: { pods: DnsPod[] };
  /** What could not be read (e.g. `Service openshift-dns/dns-default: forbidden`). */
  unreadable?: string[];
}

/** A node involved in the run. */
export interface NodeFacts {
  name: string;
  ready: boolean;
  internalIP: string;
  /** The node's InternalIP of each family, when it has both (a dual-stack node; since 0.2.0). */
  internalIPs?: string[];
  podCIDR?: string;
  /** The node's labels (OS, managed compute such as Fargate or Autopilot), when read. */
  labels?: Labels;
  /** The node's taints, when read (node debug pods tolerate exactly these). */
  taints?: { key: string; value?: string; effect: string }[];
}

/** Everything the API told us, resolved once at the start of a run. */
export interface ClusterFacts {
  targets: ResolvedTargets;
  /** Findings from the API alone: no endpoints, wrong targetPort, policy deny, node NotReady, DNS without endpoints. */
  staticFindings: Finding[];
  dns: DnsFacts;
  /** The source's and the destination's nodes (and the DNS pods' nodes). */
  nodes: NodeFacts[];
  /** The kubeconfig context used, for headers. */
  context: string;
  /** For predicting which of the plugin's own probes NetworkPolicy denies (absent: no prediction). */
  policy?: PolicyFacts;
  /** What the API shows of the datapath (absent: not read). */
  datapath?: DatapathApiFacts;
}

/** A pod selected by the destination Service (or the destination pod), as the API describes it. */
export interface BackendPod {
  namespace: string;
  name: string;
  ip: string;
  node: string;
  ready: boolean;
  labels: Labels;
  hostNetwork: boolean;
  ports: ContainerPort[];
}

/** What NetworkPolicy predictions read: the policies of the namespaces involved, their labels, the Service's pods. */
export interface PolicyFacts {
  policies: NetworkPolicy[];
  namespaces: Record<string, Labels>;
  servicePods: BackendPod[];
}
