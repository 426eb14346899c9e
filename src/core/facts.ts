/** What the Kubernetes API told a run, gathered once by src/kube/ and read by the planner and the diagnosis. */
import type { ContainerPort, Finding, Labels, ResolvedTargets } from './model.ts';
import type { DatapathApiFacts } from './datapath.ts';
import type { NetworkPolicy } from './netpol.ts';

/** The cluster DNS as the API describes it. */
export interface DnsFacts {
  /** ClusterIP of kube-system/kube-dns, when the Service exists. */
  serviceIP?: string;
  /** The DNS pods (label k8s-app=kube-dns) with their readiness. */
  pods: Array<{ namespace: string; name: string; ip: string; node: string; ready: boolean }>;
  /** Ready endpoints in the kube-dns EndpointSlices. */
  readyEndpoints: number;
}

/** A node involved in the run. */
export interface NodeFacts {
  name: string;
  ready: boolean;
  internalIP: string;
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
