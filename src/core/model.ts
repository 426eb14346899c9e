/**
 * The types of one diagnosis run, shared by the Kubernetes adapter, the prober, the verdict engine and the reporters:
 * resolved targets, the probe ladder, probe specs and observations, events, findings and the JSON Report.
 * Everything here is plain JSON-safe data; no I/O.
 */
import type { IPFamily } from './address.ts';
import type { Datapath } from './datapath.ts';
import type { ProbeRepeat } from './repeat-command.ts';
import type { TraceReport } from './trace-analysis.ts';

/** A transport protocol as Kubernetes spells it. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** Kubernetes labels (or a namespace's labels). */
export type Labels = Record<string, string>;

/** A container port of a pod, as in `spec.containers[].ports[]`. */
export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: Protocol;
}

/** A reference to a Kubernetes object, for messages and the `object` field (`Kind/namespace/name`). */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

/** Formats an ObjectRef as `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects). */
export function formatObjectRef(ref: ObjectRef): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}

/** The workload a pod was picked from when the user named a Deployment, StatefulSet or DaemonSet. */
export interface WorkloadRef {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  name: string;
}

/** The resolved source: a running pod we exec into, or a node (probes run from a hostNetwork pod on it). */
export type ResolvedSource =
  | {
      kind: 'pod';
      namespace: string;
      name: string;
      node: string;
      ip: string;
      labels: Labels;
      hostNetwork: boolean;
      /** Set when the user named a workload and this ready pod of it was chosen. */
      via?: WorkloadRef;
      /** Every address of a dual-stack pod (`status.podIPs`), primary first; absent when it has one (since 0.2.0). */
      ips?: string[];
    }
  | {
      kind: 'node';
      name: string;
      ip: string;
      /** The node's InternalIP of each family, when it has both (since 0.2.0). */
      ips?: string[];
    };

/** One endpoint of a Service, from its EndpointSlices (conditions already defaulted per the API rules). */
export interface ResolvedEndpoint {
  ip: string;
  /** The resolved target port number on this endpoint. */
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  node?: string;
  /** The backing pod, from `targetRef`. */
  pod?: { namespace: string; name: string };
}

/** A Service port as declared, with the targetPort as written (number or container port name). */
export interface ResolvedServicePort {
  name?: string;
  port: number;
  targetPort: number | string;
  protocol: Protocol;
}

/** The resolved destination: a pod, a Service with its endpoints, a node, or a plain address. */
export type ResolvedDestination =
  | {
      kind: 'pod';
      namespace: string;
      name: string;
      node: string;
      ip: string;
      labels: Labels;
      ready: boolean;
      hostNetwork: boolean;
      ports: ContainerPort[];
      port: number;
      protocol: Protocol;
      via?: WorkloadRef;
      /** Every address of a dual-stack pod (`status.podIPs`), primary first; absent when it has one (since 0.2.0). */
      ips?: string[];
    }
  | {
      kind: 'service';
      namespace: string;
      name: string;
      clusterIP: string;
      /** The DNS name an application would use, e.g. `web.shop.svc.cluster.local`. */
      dnsName: string;
      port: ResolvedServicePort;
      selector: Labels;
      endpoints: ResolvedEndpoint[];
      /** `spec.internalTrafficPolicy`: `Local` sends a node's traffic only to endpoints on that node (absent: Cluster). */
      internalTrafficPolicy?: 'Cluster' | 'Local';
      /** A dual-stack Service's `spec.clusterIPs` (the first is `clusterIP`); absent when it has one (since 0.2.0). */
      clusterIPs?: string[];
      /** `spec.ipFamilies` when the Service has more than one (since 0.2.0). */
      ipFamilies?: IPFamily[];
    }
  | {
      kind: 'node';
      name: string;
      ip: string;
      port: number;
      protocol: Protocol;
      /** The node's InternalIP of each family, when it has both (since 0.2.0). */
      ips?: string[];
    }
  | {
      kind: 'address';
      /** As the user typed it: an IP or a DNS name with dots. */
      host: string;
      /** Addresses the host resolved to, when known; for an IP, the IP itself. */
      ips: string[];
      port: number;
      protocol: Protocol;
    };

/** Both resolved targets of a run. */
export interface ResolvedTargets {
  source: ResolvedSource;
  destination: ResolvedDestination;
}

/** The service proxy a NAT check reads: kube-proxy's modes, Cilium's eBPF replacement, or unknown (search them). */
export type ServiceProxyMode = 'iptables' | 'nftables' | 'ipvs' | 'cilium' | 'unknown';

/** Where iptables rules live: the nf_tables backend (iptables-nft) or the legacy x_tables one. */
export type IptablesBackend = 'nft' | 'legacy';

/** The rungs of the ladder, in the order they are climbed. */
export const RUNG_IDS = ['dns', 'cluster-ip', 'pod-ip', 'same-node', 'node-origin'] as const;

/** A rung of the ladder: `pod-ip` is the direct TCP test to the destination's own address, whatever its kind. */
export type RungId = (typeof RUNG_IDS)[number];

/** The node checks run from hostNetwork pods on the source and destination nodes. */
export const NODE_CHECK_IDS = [
  'ip-forward',
  'bridge-nf',
  'forward-policy',
  'route-to-destination',
  'route-to-source',
  'neighbor',
  'pod-mac',
  'hairpin',
  'nat-rules',
  'mtu',
  'loss',
  'links',
] as const;

/** One node check kind. */
export type NodeCheckId = (typeof NODE_CHECK_IDS)[number];

/** Where a probe runs: in the source pod (ephemeral container) or in a short-lived pod on a node. */
export type ProbeLocation = { kind: 'source-pod' } | { kind: 'node-pod'; node: string; hostNetwork: boolean };

/** What a probe does, with its parameters; `buildProbeCommand` in parse.ts turns it into argv. */
export type ProbeAction =
  | {
      tool: 'tcp-connect';
      host: string;
      port: number;
      /** Connect over this family only (`nc -4`/`nc -6`), for a host name; absent: as the resolver answers. */
      family?: IPFamily;
    }
  | {
      tool: 'dns-lookup';
      name: string;
      /** Query this server directly; absent means the pod's resolv.conf with its search path. */
      server?: string;
      /** The server's port when it is not 53 (a DNS pod listening on its targetPort, e.g. OpenShift's 5353). */
      port?: number;
      /** Ask for IPv6 addresses (an AAAA query); absent: the A query, as dig asks by default. */
      type?: 'AAAA';
    }
  | {
      /** Run in the source pod: its /etc/resolv.conf (nameservers, search path, ndots), as kubelet wrote it. */
      tool: 'resolv-conf';
    }
  | { tool: 'sysctl'; key: string }
  | {
      tool: 'forward-policy';
      /**
       * Walk the FORWARD chain of both iptables backends for this flow (source address to each destination address),
       * not just read its policy; absent: `iptables -S FORWARD`, the policy alone.
       */
      flow?: { from: string; to: string[] };
    }
  | {
      tool: 'nat-rules';
      clusterIP: string;
      port: number;
      protocol: Protocol;
      /** The service proxy to read (the API's detection); absent: `iptables-save -t nat` alone, as kube-proxy's iptables mode. */
      proxy?: ServiceProxyMode;
    }
  | { tool: 'route-match'; /** Which routes of the main table cover this address (`ip -4 route list match`). */ address: string }
  | {
      tool: 'neighbor';
      address: string;
      /**
       * Ping the address once first, so the entry is fresh. Run from a pod on the destination's bridge, this reads the
       * MAC the pod really answers with, which the node's own entry must match.
       */
      refresh?: boolean;
    }
  | {
      /** A quick burst of small pings to the address (bounded count and interval): how many come back. */
      tool: 'packet-loss';
      address: string;
    }
  | {
      /** Run in a pod: the ifindex of the node-side end of its eth0 veth (`/sys/class/net/eth0/iflink`). */
      tool: 'veth-peer';
    }
  | {
      /** Run on a node: every bridge port with its ifindex, bridge and hairpin mode. */
      tool: 'bridge-ports';
    }
  | {
      /** Run on a node: every network interface with its type, MTU and master (`ip -o -d link show`). */
      tool: 'links';
    }
  | {
      tool: 'path-mtu';
      /** Don't-fragment pings to this address, full-size for the MTU of the interface its route uses, then 56 bytes. */
      address: string;
    };

/** What a probe runs and where; `command` is an argv array, never a shell string. */
export interface ProbeSpec {
  /** Unique within the run, e.g. `pod-ip:10.244.2.7:8080`. */
  id: string;
  /** The ladder rung this probe belongs to, or `node-checks`. */
  rung: RungId | 'node-checks';
  /** Set for node checks: which check this is. */
  check?: NodeCheckId;
  where: ProbeLocation;
  action: ProbeAction;
  command: string[];
  timeoutMs: number;
  /** The Kubernetes object the probe is about (an endpoint pod, a DNS pod), for findings. */
  about?: ObjectRef;
  /**
   * Set on the plugin's own probes (same-node, node-origin) that the NetworkPolicies predict to be denied: the denying
   * policies (`namespace/name`). Such a probe failing is expected, never a symptom.
   */
  deniedBy?: string[];
  /**
   * Set when the plan repeats the probe (`--samples N`, N > 1): which run of it this is, 1-based, of how many. The
   * first sample keeps the probe's plain id; later ones add `#2` … `#N`.
   */
  sample?: { index: number; of: number };
  /**
   * The address family this probe tests, set when the run tests two (a dual-stack destination); absent on probes that
   * serve both (the source's resolv.conf, the node's interfaces) and on single-family runs (since 0.2.0).
   */
  family?: IPFamily;
}

/** The id of the first sample of a probe, shared by all its samples (the probe's own id when it is not repeated). */
export function sampleGroupId(spec: Pick<ProbeSpec, 'id' | 'sample'>): string {
  return spec.sample && spec.sample.index > 1 ? spec.id.slice(0, spec.id.lastIndexOf('#')) : spec.id;
}

/** The label every pod the plugin creates carries, and its value. */
export const DEBUG_POD_LABELS: Readonly<Labels> = Object.freeze({ 'app.kubernetes.io/managed-by': 'kubectl-netdebug' });

/** The namespace node debug pods go to by default: the source pod's, else `default`. */
export function defaultDebugNamespace(source: ResolvedSource): string {
  return source.kind === 'pod' ? source.namespace : 'default';
}

/**
 * What a probe observed. `could-not-run` means we could not look (exec failed, tool missing, permission), which is
 * different from a probe that ran and saw the network fail.
 */
export type ProbeObservation =
  | { kind: 'connected' }
  | { kind: 'refused' }
  | { kind: 'timeout' }
  | { kind: 'no-route'; detail: string }
  | { kind: 'nxdomain' }
  | { kind: 'servfail' }
  | { kind: 'dns-refused' }
  | { kind: 'dns-timeout' }
  | { kind: 'resolved'; ips: string[] }
  | {
      kind: 'resolv-conf';
      /** The `nameserver` lines, in order. */
      nameservers: string[];
      /** The `search` list (the last `search` or `domain` line wins, as in the resolver). */
      search: string[];
      /** `options ndots:N`, when set. */
      ndots?: number;
    }
  | { kind: 'sysctl'; key: string; value: string }
  | {
      kind: 'forward-policy';
      /** The FORWARD chain's default policy (of the backend that decides, when both were read). */
      policy: string;
      /**
       * What the walk of the chain's rules decided for the flow: accepted, dropped by the node's FORWARD setup, dropped
       * by a NetworkPolicy agent's chain (`policy`: the policy enforced, no FORWARD fault), or a drop past rules it
       * could not judge (`unsure`); absent when only the policy was read.
       */
      verdict?: 'accept' | 'drop' | 'policy' | 'unsure';
      /** The iptables backend whose rules decided (or the one holding rules, when both accept). */
      backend?: IptablesBackend;
      /** The rule that decided, as `iptables -S` prints it, or `-P FORWARD DROP` for the policy. */
      decidedBy?: string;
      /** An `unsure` walk's rules it could not judge that might have accepted the packet, in walk order (since 0.2.0). */
      unjudged?: string[];
    }
  | {
      kind: 'route';
      /** True when a route more specific than the default one covers the address. */
      present: boolean;
      /** The most specific matching route's destination, e.g. `10.244.2.0/24`, or `default`. */
      route?: string;
      dev?: string;
      via?: string;
      /** Why nothing can carry the address: no route at all, or an unreachable/blackhole/prohibit route. */
      error?: string;
    }
  | { kind: 'neighbor'; ip: string; mac: string | null; state: string; dev?: string }
  | {
      kind: 'nat-rules';
      clusterIP: string;
      port: number;
      present: boolean;
      endpoints: string[];
      /** The proxy whose rules were read and judged (absent: the old iptables-save reading). */
      proxy?: 'iptables' | 'nftables' | 'ipvs';
      /** iptables mode: the backend that held kube-proxy's rules. */
      backend?: IptablesBackend;
      /** The proxy knows the Service but drops it here: no endpoint at all, or none on this node (internalTrafficPolicy Local). */
      drops?: 'no-endpoints' | 'no-local-endpoints';
      /** What was read, e.g. `iptables-nft, iptables-legacy`, when the proxy was searched for. */
      searched?: string;
    }
  | {
      /** A check the plugin cannot run from its debug pods; `command` is what to run instead. */
      kind: 'not-inspectable';
      what: string;
      reason: string;
      command: string;
    }
  | { kind: 'veth-peer'; ifindex: number }
  | { kind: 'loss'; sent: number; received: number; /** Average round trip of the answered pings. */ rttMs?: number }
  | { kind: 'bridge-ports'; ports: { ifindex: number; dev: string; bridge: string; hairpin: boolean }[] }
  | { kind: 'links'; links: NodeLink[] }
  | {
      kind: 'mtu';
      /** ICMP payload bytes of the full-size ping. */
      size: number;
      /** Whether the full-size don't-fragment ping was answered. */
      passed: boolean;
      /** The interface MTU the full size was derived from (or the MTU the kernel reported refusing it locally). */
      mtu?: number;
      /** The interface the node's route to the address uses. */
      dev?: string;
      /** Whether the small (56-byte) ping was answered, when one was sent. */
      smallPassed?: boolean;
      /** The largest MTU of the node's pod interfaces (host-side veths), when it has any (since 0.2.0). */
      podMtu?: number;
      /** The MTU of the route's interface the full size was derived from (`mtu` may be a smaller one the kernel reported; since 0.2.0). */
      deviceMtu?: number;
    }
  | { kind: 'could-not-run'; reason: string };

/** One network interface of a node, as `ip -o -d link show` lists it. */
export interface NodeLink {
  name: string;
  /** The link type from the details (`veth`, `bridge`, `vxlan`, `dummy`, `ipip`, ...), absent for plain devices. */
  type?: string;
  mtu: number;
  /** The bridge (or other master) it is enslaved to. */
  master?: string;
  /** For a VXLAN device: its UDP destination port. */
  vxlanPort?: number;
}

/** A probe together with what it observed. */
export interface ProbeResult {
  spec: ProbeSpec;
  observation: ProbeObservation;
  durationMs: number;
  /** What the command printed and how it exited (absent when it never ran); each stream cut to RAW_OUTPUT_LIMIT. */
  raw?: ProbeRaw;
  /** The command a person pastes into a POSIX shell to repeat the probe (absent when its location was never set up). */
  repeat?: ProbeRepeat;
}

/** The raw outcome of a probe's command, for drill-down. exitCode null: cut off at its timeout. */
export interface ProbeRaw {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Characters kept of each output stream of a probe (they travel in events). */
export const RAW_OUTPUT_LIMIT = 4000;

/** Keeps the start of a stream's text within RAW_OUTPUT_LIMIT, saying how much was cut. */
export function truncateRaw(text: string): string {
  return text.length <= RAW_OUTPUT_LIMIT ? text : `${text.slice(0, RAW_OUTPUT_LIMIT)}\n… (${text.length - RAW_OUTPUT_LIMIT} more characters)`;
}

/** How a rung ended: `error` means none of its probes could run. */
export type RungStatus = 'passed' | 'failed' | 'skipped' | 'error';

/** One probe as it appears in a rung of the Report. */
export interface RungProbe {
  id: string;
  /** Human-readable target, e.g. `10.244.2.7:8080` or `web.shop.svc.cluster.local @10.244.1.3`. */
  target: string;
  /** Human-readable location, e.g. `source pod` or `node node-2 (hostNetwork)`. */
  where: string;
  observation: ProbeObservation;
  durationMs: number;
  /** The NetworkPolicies predicted to deny this probe of the plugin's own (its failure is expected). */
  deniedBy?: string[];
  /** The address family the probe tested, when the run tested two (since 0.2.0). */
  family?: IPFamily;
  /** The node check this probe is (only in the Report's `nodeChecks`). */
  check?: NodeCheckId;
  /** The command to paste into a POSIX shell to repeat the probe (since 0.2.0). */
  repeat?: ProbeRepeat;
}

/** Latency percentiles of a rung's successful probes, in milliseconds (nearest rank). */
export interface LatencyStats {
  min: number;
  p50: number;
  p99: number;
  max: number;
  /**
   * Where the numbers come from: `tool` when every one is the tool's own timing (dig's `;; Query time: N msec`),
   * `exec` when every one is the probe's wall time around its exec, `mixed` otherwise.
   */
  source: 'tool' | 'exec' | 'mixed';
}

/** What a sampled rung measured: how often its probes succeeded and how fast (only on rungs whose probes were repeated). */
export interface RungSampling {
  /** How many times each probe of the rung ran. */
  samples: number;
  /** Probes that ran (could-not-run ones and those NetworkPolicy denied as predicted are not counted). */
  ran: number;
  /** Of those, how many succeeded (connected, or resolved). */
  succeeded: number;
  /** Latency of the ones that succeeded; absent when none did. */
  latencyMs?: LatencyStats;
}

/** One rung of the Report. */
export interface RungResult {
  id: RungId;
  status: RungStatus;
  durationMs: number;
  summary: string;
  probes: RungProbe[];
  /** Success counts and latency, when the rung's probes were repeated (`--samples`; the DNS rung by default; since 0.2.0). */
  sampling?: RungSampling;
}

/** The overall or per-finding status. */
export type FindingStatus = 'healthy' | 'broken' | 'degraded' | 'inconclusive';

/** Which part of the system a cause lives in. */
export type Component =
  | 'service'
  | 'destination'
  | 'dns'
  | 'kube-proxy'
  | 'network-policy'
  | 'node'
  | 'overlay'
  | 'network'
  | 'netdebug'
  | 'none';

/** Every cause with its component; names are part of the output contract and are never renamed. */
export const CAUSE_COMPONENTS = {
  HEALTHY: 'none',
  SERVICE_NO_ENDPOINTS: 'service',
  SERVICE_NO_READY_ENDPOINTS: 'service',
  SERVICE_TARGET_PORT_MISMATCH: 'service',
  SERVICE_NO_LOCAL_ENDPOINTS: 'service',
  DESTINATION_NOT_LISTENING: 'destination',
  DESTINATION_NOT_READY: 'destination',
  DNS_NO_ENDPOINTS: 'dns',
  DNS_SERVER_UNRESPONSIVE: 'dns',
  DNS_SERVER_FAILURE: 'dns',
  DNS_NAME_NOT_FOUND: 'dns',
  NODE_LOCAL_DNS_DOWN: 'dns',
  DNS_INTERMITTENT_TIMEOUT: 'dns',
  SERVICE_PROXY_RULES_MISSING: 'kube-proxy',
  NETWORK_POLICY_DENY: 'network-policy',
  NODE_NOT_READY: 'node',
  NODE_IP_FORWARD_DISABLED: 'node',
  NODE_FORWARD_DROP: 'node',
  NODE_BRIDGE_NF_DISABLED: 'node',
  NODE_ROUTE_MISSING: 'node',
  NODE_NEIGHBOR_STALE: 'node',
  NODE_HAIRPIN_DISABLED: 'node',
  OVERLAY_BLOCKED: 'overlay',
  UNDERLAY_BLOCKED: 'network',
  OVERLAY_PACKET_LOSS: 'overlay',
  PATH_MTU_MISMATCH: 'overlay',
  CONNECTION_FAILED: 'network',
  CHECKS_COULD_NOT_RUN: 'netdebug',
} as const satisfies Record<string, Component>;

/** A named cause of the output contract. */
export type Cause = keyof typeof CAUSE_COMPONENTS;

/**
 * What a cited probe or node check is to a finding: the observation that proves it (`cause`), a failure it explains
 * (`symptom`), a value or a healthy probe it is judged against (`reference`, e.g. the pod's real MAC, or the probe
 * that shows the path works elsewhere), or a check that could not run and so leaves the question open (`not-run`).
 */
export type CitationRole = 'cause' | 'symptom' | 'reference' | 'not-run';

/** One probe result a finding cites, by its ProbeSpec id. */
export interface Citation {
  probe: string;
  role: CitationRole;
}

/** One diagnosed fact: the verdict is the first finding. */
export interface Finding {
  status: FindingStatus;
  cause: Cause;
  component: Component;
  node?: string;
  /** `Kind/namespace/name` of the object at fault. */
  object?: string;
  summary: string;
  /**
   * Human-readable evidence: facts from the API, then each cited probe as `where → what: what it saw` (a symptom
   * prefixed `explains: `), rendered from `citations`.
   */
  evidence: string[];
  /** The probes and node checks the finding rests on, by id and role (absent on findings from the API alone). */
  citations?: Citation[];
  /** On the verdict: why the other candidates are not the answer (passed rungs, findings that rank below). */
  ruledOut?: string[];
  /** Concrete next steps, preferably commands. */
  hints: string[];
  /** The one address family the fault is in, when the run tested two and the other family is clear of it (since 0.2.0). */
  family?: IPFamily;
}

/** The source as the Report shows it. */
export interface ReportSource {
  kind: 'pod' | 'node';
  namespace?: string;
  name: string;
  node: string;
  ip: string;
  /** Every address of a dual-stack source, primary first (since 0.2.0). */
  ips?: string[];
}

/** The destination as the Report shows it. */
export interface ReportDestination {
  kind: 'pod' | 'service' | 'node' | 'address';
  namespace?: string;
  name: string;
  ip?: string;
  clusterIP?: string;
  port: number;
  targetPort?: number | string;
  protocol: Protocol;
  endpoints?: { ip: string; port: number; node?: string; pod?: string; ready: boolean }[];
  /** Every address of a dual-stack pod or node, primary first (since 0.2.0). */
  ips?: string[];
  /** A dual-stack Service's ClusterIPs, one per family (since 0.2.0). */
  clusterIPs?: string[];
}

/** The JSON object `-o json` prints (the output contract). */
export interface Report {
  apiVersion: 'netdebug.dev/v1';
  kind: 'Report';
  source: ReportSource;
  destination: ReportDestination;
  rungs: RungResult[];
  findings: Finding[];
  verdict: Finding;
  stats: { wallMs: number; apiRequests: number; execs: number };
  /** The cluster's datapath as detected from the API and the nodes' interfaces (since 0.2.0). */
  datapath?: Datapath;
  /** The address families the ladder ran for, when the run tested IPv6 (absent: IPv4 alone; since 0.2.0). */
  families?: IPFamily[];
  /** The node checks as they ran, each with its repeat command (since 0.2.0). */
  nodeChecks?: RungProbe[];
  /** The hop-by-hop packet trace of a probe, when one ran (`--trace`, or an uncertain verdict; since 0.2.0). */
  trace?: TraceReport;
}

/** The events a run emits, in order; facts in the past tense, JSON-safe, replayable through every reporter. */
export type RunEvent =
  | { type: 'run-started'; runId: string; startedAt: string; source: string; destination: string }
  | { type: 'target-resolved'; role: 'source'; target: ResolvedSource }
  | { type: 'target-resolved'; role: 'destination'; target: ResolvedDestination }
  | { type: 'static-findings'; findings: Finding[] }
  | { type: 'rung-started'; rung: RungId }
  | { type: 'probe-started'; probe: ProbeSpec }
  | { type: 'probe-finished'; result: ProbeResult }
  | { type: 'rung-finished'; rung: RungResult }
  | { type: 'datapath-detected'; datapath: Datapath }
  | { type: 'trace-started'; probe: string; hops: string[] }
  | { type: 'trace-finished'; trace: TraceReport }
  | { type: 'verdict-decided'; verdict: Finding; findings: Finding[] }
  | { type: 'run-finished'; report: Report; exitCode: number };

/** The exit code of a run whose verdict was shown but whose debug pods could not all be deleted (they are named on stderr). */
export const EXIT_DEBUG_PODS_LEFT = 4;

/** The process exit code for a verdict: 0 healthy, 1 a fault was found, 3 could not diagnose. */
export function exitCodeForVerdict(verdict: Finding): 0 | 1 | 3 {
  switch (verdict.status) {
    case 'healthy':
      return 0;
    case 'broken':
    case 'degraded':
      return 1;
    case 'inconclusive':
      return 3;
    default: {
      const never: never = verdict.status;
      throw new Error(`unknown status ${String(never)}`);
    }
  }
}

/** Converts the resolved source to its Report form. */
export function toReportSource(source: ResolvedSource): ReportSource {
  switch (source.kind) {
    case 'pod':
      return { kind: 'pod', namespace: source.namespace, name: source.name, node: source.node, ip: source.ip, ...(source.ips ? { ips: source.ips } : {}) };
    case 'node':
      return { kind: 'node', name: source.name, node: source.name, ip: source.ip, ...(source.ips ? { ips: source.ips } : {}) };
    default: {
      const never: never = source;
      throw new Error(`unknown source ${JSON.stringify(never)}`);
    }
  }
}

/** Converts the resolved destination to its Report form. */
export function toReportDestination(dest: ResolvedDestination): ReportDestination {
  switch (dest.kind) {
    case 'pod':
      return { kind: 'pod', namespace: dest.namespace, name: dest.name, ip: dest.ip, port: dest.port, protocol: dest.protocol, ...(dest.ips ? { ips: dest.ips } : {}) };
    case 'service':
      return {
        kind: 'service',
        namespace: dest.namespace,
        name: dest.name,
        clusterIP: dest.clusterIP,
        ...(dest.clusterIPs ? { clusterIPs: dest.clusterIPs } : {}),
        port: dest.port.port,
        targetPort: dest.port.targetPort,
        protocol: dest.port.protocol,
        endpoints: dest.endpoints.map((e) => ({
          ip: e.ip,
          port: e.port,
          ready: e.ready,
          ...(e.node ? { node: e.node } : {}),
          ...(e.pod ? { pod: `${e.pod.namespace}/${e.pod.name}` } : {}),
        })),
      };
    case 'node':
      return { kind: 'node', name: dest.name, ip: dest.ip, port: dest.port, protocol: dest.protocol, ...(dest.ips ? { ips: dest.ips } : {}) };
    case 'address':
      return { kind: 'address', name: dest.host, ...(dest.ips[0] ? { ip: dest.ips[0] } : {}), port: dest.port, protocol: dest.protocol };
    default: {
      const never: never = dest;
      throw new Error(`unknown destination ${JSON.stringify(never)}`);
    }
  }
}

/** Assembles the Report from a run's parts. */
export function buildReport(input: {
  targets: ResolvedTargets;
  rungs: RungResult[];
  findings: Finding[];
  verdict: Finding;
  stats: Report['stats'];
  datapath?: Datapath;
  families?: IPFamily[];
  nodeChecks?: RungProbe[];
  trace?: TraceReport;
}): Report {
  return {
    apiVersion: 'netdebug.dev/v1',
    kind: 'Report',
    source: toReportSource(input.targets.source),
    destination: toReportDestination(input.targets.destination),
    rungs: input.rungs,
    findings: input.findings,
    verdict: input.verdict,
    stats: input.stats,
    ...(input.datapath ? { datapath: input.datapath } : {}),
    ...(input.families && input.families.some((f) => f !== 'IPv4') ? { families: input.families } : {}),
    ...(input.nodeChecks && input.nodeChecks.length > 0 ? { nodeChecks: input.nodeChecks } : {}),
    ...(input.trace ? { trace: input.trace } : {}),
  };
}

/** A stable key for a probe location (for the prepare map). */
export function locationKey(where: ProbeLocation): string {
  return where.kind === 'source-pod' ? 'source-pod' : `node-pod:${where.node}:${where.hostNetwork ? 'host' : 'pod'}`;
}

/** Whether a Service has a virtual IP to probe (a headless one, `clusterIP: None`, has none: DNS gives its pods). */
export function hasClusterIP(service: { clusterIP: string }): boolean {
  return service.clusterIP !== '' && service.clusterIP !== 'None';
}
