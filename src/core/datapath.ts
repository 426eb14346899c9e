/**
 * Which datapath the cluster runs: the pod network (flannel, Calico, Cilium, a cloud-routed CNI), the service proxy
 * (kube-proxy's iptables, nftables or IPVS mode, or Cilium's replacement), and where iptables rules live. Detected
 * once per run from what the API shows (the CNI's DaemonSet, kube-proxy's ConfigMap) and confirmed from the nodes'
 * own interfaces; what neither settles is said to be unsure rather than guessed. Pure.
 */
import type { NodeLink, ProbeObservation } from './model.ts';

/** The pod network, as far as it matters for the checks. */
export type PodNetwork = 'flannel' | 'calico-vxlan' | 'calico-ipip' | 'calico-bgp' | 'calico' | 'cilium' | 'cloud-routed' | 'unknown';
/** What translates Service addresses. */
export type ServiceProxy = 'iptables' | 'nftables' | 'ipvs' | 'cilium' | 'unknown';

/** The datapath of the cluster as the report shows it. */
export interface Datapath {
  network: PodNetwork;
  serviceProxy: ServiceProxy;
  /** Where the iptables rules live on the nodes: nft (iptables-nft), legacy (x_tables), or unknown. */
  iptablesBackend: 'nft' | 'legacy' | 'unknown';
  /** The cluster DNS Service (`namespace/name`) the source resolves through, when known. */
  dns?: string;
  /** What the detection rests on, one fact a line (e.g. `DaemonSet calico-system/calico-node`). */
  evidence: string[];
  /** What it could not settle, and why (e.g. `kube-proxy's ConfigMap could not be read: forbidden`). */
  unsure: string[];
}

/** What the API showed about the datapath. */
export interface DatapathApiFacts {
  /** DaemonSets found in the system namespaces, as `namespace/name`. */
  daemonSets: string[];
  /** Namespaces whose DaemonSets could not be listed, with why. */
  unreadable: string[];
  /** kube-proxy's ConfigMap: its `mode:` ('' is the default, iptables on Linux), absent when there is none. */
  kubeProxy?: { mode: string } | { error: string };
  /** Cilium's ConfigMap `kube-proxy-replacement` value, when Cilium's ConfigMap exists. */
  ciliumKubeProxyReplacement?: string;
}

/** The namespaces whose DaemonSets tell the CNI and kube-proxy apart (the Tigera operator's, flannel's own, and kube-system). */
export const DATAPATH_NAMESPACES = ['kube-system', 'calico-system', 'kube-flannel'] as const;

const NETWORK_DAEMONSETS: ReadonlyArray<{ names: readonly string[]; network: PodNetwork }> = [
  { names: ['calico-system/calico-node', 'kube-system/calico-node'], network: 'calico' },
  { names: ['kube-system/cilium'], network: 'cilium' },
  { names: ['kube-system/aws-node'], network: 'cloud-routed' },
  { names: ['kube-flannel/kube-flannel-ds', 'kube-system/kube-flannel-ds'], network: 'flannel' },
];

/** What the API leaves unsure about kube-proxy when it shows none of its objects (the nodes may still settle it). */
const NO_KUBE_PROXY_OBJECTS = 'no kube-proxy DaemonSet or ConfigMap in kube-system';
const KUBE_PROXY_CONFIG_MISSING = 'kube-proxy runs, but its ConfigMap is missing';

/** The datapath the API alone shows. */
export function detectFromApi(api: DatapathApiFacts): Datapath {
  const evidence: string[] = [];
  const unsure = api.unreadable.map((u) => `DaemonSets not readable in ${u}`);
  const found = NETWORK_DAEMONSETS.filter((n) => n.names.some((name) => api.daemonSets.includes(name)));
  for (const n of found) evidence.push(`DaemonSet ${n.names.find((name) => api.daemonSets.includes(name)) ?? ''}`);
  const network: PodNetwork = found.length === 1 ? (found[0]?.network ?? 'unknown') : 'unknown';
  if (found.length > 1) unsure.push(`several CNI DaemonSets: ${found.map((n) => n.network).join(', ')}`);
  return { network, serviceProxy: proxyFromApi(api, evidence, unsure), iptablesBackend: 'unknown', evidence, unsure };
}

function proxyFromApi(api: DatapathApiFacts, evidence: string[], unsure: string[]): ServiceProxy {
  const replacement = api.ciliumKubeProxyReplacement;
  if (replacement !== undefined && ['true', 'strict'].includes(replacement.toLowerCase())) {
    evidence.push(`ConfigMap kube-system/cilium-config kube-proxy-replacement: ${replacement}`);
    return 'cilium';
  }
  const kp = api.kubeProxy;
  if (kp === undefined) {
    unsure.push(api.daemonSets.includes('kube-system/kube-proxy') ? KUBE_PROXY_CONFIG_MISSING : NO_KUBE_PROXY_OBJECTS);
    return 'unknown';
  }
  if ('error' in kp) {
    unsure.push(`kube-proxy's ConfigMap could not be read: ${kp.error}`);
    return 'unknown';
  }
  evidence.push(`ConfigMap kube-system/kube-proxy mode: ${kp.mode === '' ? '"" (iptables)' : kp.mode}`);
  switch (kp.mode) {
    case '':
    case 'iptables':
      return 'iptables';
    case 'nftables':
      return 'nftables';
    case 'ipvs':
      return 'ipvs';
    default:
      unsure.push(`kube-proxy mode "${kp.mode}" is not one netdebug knows`);
      return 'unknown';
  }
}

/** What the interfaces of one node say about the network and proxy. */
function readLinks(links: readonly NodeLink[]): { network?: PodNetwork; proxy?: ServiceProxy; evidence: string[] } {
  const has = (name: string | RegExp): NodeLink | undefined => links.find((l) => (typeof name === 'string' ? l.name === name : name.test(l.name)));
  const evidence: string[] = [];
  const note = (l: NodeLink | undefined): void => void (l && evidence.push(`${l.name}${l.type ? ` (${l.type}${l.vxlanPort ? ` port ${l.vxlanPort}` : ''})` : ''}`));
  let network: PodNetwork | undefined;
  const flannel = has('flannel.1');
  const calicoVxlan = has('vxlan.calico');
  const cilium = has('cilium_host') ?? has('cilium_vxlan');
  const tunl = links.find((l) => l.name === 'tunl0' && l.type === 'ipip');
  const cali = has(/^cali[0-9a-f]{11}$/);
  const eni = has(/^eni[0-9a-f]{11}$/);
  if (cilium) (network = 'cilium'), note(cilium);
  else if (calicoVxlan) (network = 'calico-vxlan'), note(calicoVxlan);
  else if (cali && tunl) (network = 'calico-ipip'), note(tunl);
  else if (cali) (network = 'calico-bgp'), note(cali);
  else if (flannel) (network = 'flannel'), note(flannel);
  else if (eni) (network = 'cloud-routed'), note(eni);
  const ipvs = has('kube-ipvs0');
  if (ipvs) note(ipvs);
  return { ...(network ? { network } : {}), ...(ipvs ? { proxy: 'ipvs' as const } : {}), evidence };
}

/**
 * Confirms (or settles) the API's detection with the interfaces of the nodes involved: a node's own devices name the
 * network and the Calico encapsulation; a disagreement is reported, and the nodes win over the API.
 */
export function confirmOnNodes(api: Datapath, nodes: ReadonlyArray<{ node: string; links: readonly NodeLink[] }>): Datapath {
  const out: Datapath = { ...api, evidence: [...api.evidence], unsure: [...api.unsure] };
  const seen = nodes.map((n) => ({ node: n.node, ...readLinks(n.links) }));
  const networks = [...new Set(seen.flatMap((s) => (s.network ? [s.network] : [])))];
  for (const s of seen) if (s.evidence.length > 0) out.evidence.push(`node ${s.node}: ${s.evidence.join(', ')}`);
  if (networks.length === 1) {
    const onNodes = networks[0] as PodNetwork;
    const agrees = api.network === onNodes || (api.network === 'calico' && onNodes.startsWith('calico'));
    if (!agrees && api.network !== 'unknown') out.unsure.push(`the API suggests ${api.network}, the nodes' interfaces ${onNodes}: going by the nodes`);
    out.network = onNodes;
  } else if (networks.length > 1) {
    out.unsure.push(`the nodes disagree on the network: ${networks.join(', ')}`);
  } else if (nodes.length > 0 && api.network === 'unknown') {
    out.unsure.push("neither the API nor the nodes' interfaces name the pod network");
  }
  if (seen.some((s) => s.proxy === 'ipvs') && api.serviceProxy !== 'ipvs') {
    if (api.serviceProxy !== 'unknown') out.unsure.push(`kube-ipvs0 exists but the API says ${api.serviceProxy}: going by the nodes`);
    out.serviceProxy = 'ipvs';
  }
  if (out.network === 'calico' && networks.length === 0) out.unsure.push("Calico's encapsulation (VXLAN, IP-in-IP or none) could not be read from the nodes");
  return out;
}

/** A NAT or FORWARD check's observation on one node. */
export interface NodeRuleCheck {
  node: string;
  observation: Extract<ProbeObservation, { kind: 'nat-rules' } | { kind: 'forward-policy' }>;
}

/**
 * Settles what the rules on the nodes show: `iptablesBackend` is the backend that held kube-proxy's rules (the NAT
 * check), else the one holding the FORWARD chain's rules when every node agrees; a service proxy the API left unknown
 * is the one whose rules the NAT check found (the planner searched every mode for it).
 */
export function confirmFromChecks(d: Datapath, checks: readonly NodeRuleCheck[]): Datapath {
  const out: Datapath = { ...d, evidence: [...d.evidence], unsure: [...d.unsure] };
  const nat = checks.find((c) => c.observation.kind === 'nat-rules' && c.observation.proxy !== undefined);
  const natObs = nat?.observation.kind === 'nat-rules' ? nat.observation : undefined;
  if (nat && natObs?.proxy) {
    const where = natObs.proxy === 'iptables' && natObs.backend ? `iptables-${natObs.backend}` : natObs.proxy;
    if (natObs.present || natObs.backend !== undefined) out.evidence.push(`node ${nat.node}: kube-proxy's rules in ${where}`);
    if (out.serviceProxy === 'unknown' && (natObs.present || natObs.backend !== undefined)) {
      // The nodes hold the proxy's rules: what the API could not say is settled (kube-proxy run as static pods, as on
      // RKE2 or kubeadm clusters whose objects this user may not read).
      out.serviceProxy = natObs.proxy;
      out.unsure = out.unsure.filter((u) => u !== NO_KUBE_PROXY_OBJECTS && u !== KUBE_PROXY_CONFIG_MISSING);
    } else if (out.serviceProxy === 'unknown') {
      out.serviceProxy = natObs.proxy;
    }
  }
  const forward = new Set(checks.flatMap((c) => (c.observation.kind === 'forward-policy' && c.observation.backend !== undefined ? [c.observation.backend] : [])));
  if (natObs?.proxy === 'iptables' && natObs.backend) out.iptablesBackend = natObs.backend;
  else if (forward.size === 1) out.iptablesBackend = [...forward][0] as 'nft' | 'legacy';
  else if (forward.size > 1) out.unsure.push('the nodes keep their FORWARD rules in different iptables backends');
  return out;
}

/** The datapath in a few words for headers, e.g. `calico-vxlan · kube-proxy nftables · iptables-nft (unsure: …)`. */
export function describeDatapath(d: Datapath): string {
  const proxy = d.serviceProxy === 'cilium' ? 'cilium (no kube-proxy)' : d.serviceProxy === 'unknown' ? 'service proxy unknown' : `kube-proxy ${d.serviceProxy}`;
  const backend = d.iptablesBackend === 'unknown' ? '' : ` · iptables-${d.iptablesBackend}`;
  return `${d.network === 'unknown' ? 'network unknown' : d.network} · ${proxy}${backend}${d.dns ? ` · DNS ${d.dns}` : ''}${d.unsure.length > 0 ? ` (unsure: ${d.unsure.join('; ')})` : ''}`;
}

/** What a pod network builds on the nodes, as far as the node checks are judged by it. */
export interface NetworkTraits {
  /** Pods hang off a Linux bridge (flannel's cni0): bridge-nf-call-iptables and hairpin mode apply. */
  bridge: boolean;
  /** Each node routes other nodes' pod ranges itself; false when the network between the nodes does (a VPC's routes). */
  podRoutesOnNodes: boolean;
  /** The CNI agent writes a permanent neighbor entry for each local pod (Calico's felix, with the endpoint's MAC). */
  permanentPodNeighbors: boolean;
  /** The tunnel between the nodes, when there is one: what a firewall must let pass. */
  tunnel?: { device: string; port: string };
  /** The tunnel's overhead in bytes when the network subtracts it in route MTUs, not device MTUs (Cilium: 50 for VXLAN). */
  routeMtuOverhead?: number;
}

/** How a pod network is judged; `unknown` is judged as flannel, as before the network was known. */
export function networkTraits(network: PodNetwork): NetworkTraits {
  switch (network) {
    case 'flannel':
    case 'unknown':
      return { bridge: true, podRoutesOnNodes: true, permanentPodNeighbors: false, tunnel: { device: 'flannel.1', port: 'UDP 8472' } };
    case 'calico-vxlan':
      return { bridge: false, podRoutesOnNodes: true, permanentPodNeighbors: true, tunnel: { device: 'vxlan.calico', port: 'UDP 4789' } };
    case 'calico-ipip':
      return { bridge: false, podRoutesOnNodes: true, permanentPodNeighbors: true, tunnel: { device: 'tunl0', port: 'IP protocol 4 (IP-in-IP)' } };
    case 'calico-bgp':
    case 'calico':
      return { bridge: false, podRoutesOnNodes: true, permanentPodNeighbors: true };
    case 'cilium':
      return { bridge: false, podRoutesOnNodes: true, permanentPodNeighbors: false, tunnel: { device: 'cilium_vxlan', port: 'UDP 8472' }, routeMtuOverhead: 50 };
    case 'cloud-routed':
      return { bridge: false, podRoutesOnNodes: false, permanentPodNeighbors: false };
    default: {
      const never: never = network;
      throw new Error(`unknown pod network ${String(never)}`);
    }
  }
}
