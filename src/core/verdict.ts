/**
 * The verdict engine: a pure function from static findings and probe observations to ranked findings and rung results.
 * It names the root cause rather than the first symptom (a node fault explains the DNS and PodIP timeouts it causes),
 * and keeps "the probe could not run" apart from "the probe saw the network fail".
 */
import {
  CAUSE_COMPONENTS,
  RUNG_IDS,
  type Cause,
  type Finding,
  type FindingStatus,
  type ProbeAction,
  type ProbeLocation,
  type ProbeObservation,
  type ProbeResult,
  type ResolvedTargets,
  type RungId,
  type RungResult,
} from './model.ts';
import { LOSS_PINGS } from './parse.ts';

/** What the verdict engine reads. */
export interface VerdictInput {
  targets: ResolvedTargets;
  /** Findings from the API alone (no endpoints, policy deny, node NotReady, ...), already built by the adapter. */
  staticFindings: Finding[];
  /** Results of the ladder probes (spec.rung is a RungId). */
  observations: ProbeResult[];
  /** Results of the node checks (spec.rung is `node-checks`, spec.where a node pod). */
  nodeChecks: ProbeResult[];
  /** The nodes the API described, for their pod CIDRs in hints. */
  nodes?: Array<{ name: string; podCIDR?: string }>;
}

/** What the verdict engine decides: ranked findings (the first is the verdict) and the rung summaries. */
export interface VerdictOutput {
  findings: Finding[];
  verdict: Finding;
  rungs: RungResult[];
}

/** Causes in root-cause order: when two findings share a status, the earlier cause is reported first. */
export const CAUSE_RANK: readonly Cause[] = [
  'SERVICE_NO_ENDPOINTS',
  'SERVICE_NO_READY_ENDPOINTS',
  'SERVICE_TARGET_PORT_MISMATCH',
  'DESTINATION_NOT_READY',
  'NODE_NOT_READY',
  'NODE_IP_FORWARD_DISABLED',
  'NODE_FORWARD_DROP',
  'NODE_BRIDGE_NF_DISABLED',
  'NODE_ROUTE_MISSING',
  'NODE_NEIGHBOR_STALE',
  'NODE_HAIRPIN_DISABLED',
  'NETWORK_POLICY_DENY',
  'SERVICE_PROXY_RULES_MISSING',
  'DESTINATION_NOT_LISTENING',
  'OVERLAY_BLOCKED',
  'OVERLAY_PACKET_LOSS',
  'PATH_MTU_MISMATCH',
  'DNS_NO_ENDPOINTS',
  'DNS_SERVER_UNRESPONSIVE',
  'DNS_SERVER_FAILURE',
  'DNS_NAME_NOT_FOUND',
  'CONNECTION_FAILED',
  'CHECKS_COULD_NOT_RUN',
  'HEALTHY',
];

const STATUS_RANK: Record<FindingStatus, number> = { broken: 0, degraded: 1, inconclusive: 2, healthy: 3 };

/** Static causes that by themselves stop traffic, so probe failures they cause are symptoms. */
const BLOCKING_STATIC: ReadonlySet<Cause> = new Set<Cause>([
  'SERVICE_NO_ENDPOINTS',
  'SERVICE_NO_READY_ENDPOINTS',
  'SERVICE_TARGET_PORT_MISMATCH',
  'DESTINATION_NOT_READY',
  'NODE_NOT_READY',
  'NETWORK_POLICY_DENY',
]);

/** How one observation counts: ok, a network failure, could not run, or a node-check value judged elsewhere. */
export type Outcome = 'ok' | 'fail' | 'not-run' | 'value';

/**
 * How a probe that ran saw the network fail: `unreachable` (nothing came back), `refused` (the host answered that
 * nothing listens on the port: TCP RST or ICMP port unreachable), `name-not-found`, `server-error` (a DNS server
 * answered with an error) or `too-big` (a don't-fragment packet was dropped).
 */
export type Failure = 'unreachable' | 'refused' | 'name-not-found' | 'server-error' | 'too-big';

/** Classifies an observation. */
export function classifyObservation(obs: ProbeObservation): Outcome {
  switch (obs.kind) {
    case 'could-not-run':
      return 'not-run';
    case 'sysctl':
    case 'forward-policy':
    case 'route':
    case 'neighbor':
    case 'nat-rules':
    case 'veth-peer':
    case 'bridge-ports':
    case 'loss':
      return 'value';
    default:
      return classifyFailure(obs) === undefined ? 'ok' : 'fail';
  }
}

/** Says how an observation failed, or undefined when it is no failure (passed, could not run, or a value). */
export function classifyFailure(obs: ProbeObservation): Failure | undefined {
  switch (obs.kind) {
    case 'connected':
      return undefined;
    case 'resolved':
      return obs.ips.length > 0 ? undefined : 'name-not-found';
    case 'mtu':
      // Both sizes lost is no MTU problem: nothing got through.
      return obs.passed ? undefined : obs.smallPassed === false ? 'unreachable' : 'too-big';
    case 'timeout':
    case 'no-route':
    case 'dns-timeout':
      return 'unreachable';
    case 'refused':
      return 'refused';
    case 'nxdomain':
      return 'name-not-found';
    case 'servfail':
    case 'dns-refused':
      return 'server-error';
    case 'could-not-run':
    case 'sysctl':
    case 'forward-policy':
    case 'route':
    case 'neighbor':
    case 'nat-rules':
    case 'veth-peer':
    case 'bridge-ports':
    case 'loss':
      return undefined;
    default: {
      const never: never = obs;
      throw new Error(`unknown observation ${JSON.stringify(never)}`);
    }
  }
}

/** Describes what a probe targets, e.g. `10.244.2.7:8080` or `web.shop.svc.cluster.local @10.244.1.3`. */
export function describeProbeTarget(action: ProbeAction): string {
  switch (action.tool) {
    case 'tcp-connect':
      return `${action.host}:${action.port}`;
    case 'dns-lookup':
      return action.server ? `${action.name} @${action.server}` : `${action.name} (search path)`;
    case 'sysctl':
      return action.key;
    case 'forward-policy':
      return 'FORWARD policy';
    case 'nat-rules':
      return `NAT rules for ${action.clusterIP}:${action.port}`;
    case 'route-match':
      return `route to ${action.address}`;
    case 'neighbor':
      return action.refresh ? `MAC of ${action.address} on its bridge` : `neighbor ${action.address}`;
    case 'packet-loss':
      return `${action.address} (a burst of ${LOSS_PINGS} pings)`;
    case 'veth-peer':
      return "the pod's eth0 peer on the node";
    case 'bridge-ports':
      return 'bridge ports (hairpin mode)';
    case 'path-mtu':
      return `${action.address} (full-size DF ping)`;
    default: {
      const never: never = action;
      throw new Error(`unknown action ${JSON.stringify(never)}`);
    }
  }
}

/** Describes where a probe ran, e.g. `source pod` or `node node-2 (hostNetwork)`. */
export function describeProbeLocation(where: ProbeLocation): string {
  return where.kind === 'source-pod' ? 'source pod' : where.hostNetwork ? `node ${where.node} (hostNetwork)` : `pod on node ${where.node}`;
}

/** The next hop of a route: `via 10.244.2.0 dev flannel.1`, or `dev cni0 (directly connected)`. */
function describeHop(obs: { via?: string; dev?: string }): string {
  return obs.via ? `via ${obs.via} dev ${obs.dev ?? '?'}` : `dev ${obs.dev ?? '?'} (directly connected)`;
}

/**
 * Describes an observation in a few words, e.g. `timed out` or `resolved 10.96.1.1`; with the action that produced it
 * where that changes the meaning (a refused DNS query means no server listens).
 */
export function describeObservation(obs: ProbeObservation, action?: ProbeAction): string {
  switch (obs.kind) {
    case 'connected':
      return 'connected';
    case 'refused':
      return action?.tool === 'dns-lookup' ? 'no DNS server listening (port 53 closed)' : 'connection refused';
    case 'timeout':
      return 'timed out';
    case 'no-route':
      return `no route (${obs.detail})`;
    case 'nxdomain':
      return 'NXDOMAIN';
    case 'servfail':
      return 'SERVFAIL';
    case 'dns-refused':
      return 'REFUSED by the DNS server';
    case 'dns-timeout':
      return 'DNS query timed out';
    case 'resolved':
      return obs.ips.length > 0 ? `resolved ${obs.ips.join(', ')}` : 'resolved to no address';
    case 'sysctl':
      return `${obs.key} = ${obs.value}`;
    case 'forward-policy':
      return `FORWARD policy ${obs.policy}`;
    case 'route':
      return obs.present
        ? `route ${obs.route ? `${obs.route} ` : ''}${describeHop(obs)}`
        : obs.error
          ? `no route (${obs.error})`
          : `no route: only the default route matches${obs.dev ? ` (${describeHop(obs)})` : ''}`;
    case 'neighbor':
      if (obs.mac) return `${obs.ip} lladdr ${obs.mac} ${obs.state}`;
      return obs.state === 'NONE' ? `no entry for ${obs.ip} (the node has not talked to it lately)` : `${obs.ip} ${obs.state}, no address`;
    case 'nat-rules':
      return obs.present ? `NAT rules present, endpoints ${obs.endpoints.join(', ') || 'none'}` : 'no NAT rules';
    case 'loss':
      return `${obs.received}/${obs.sent} answered (${lossPercent(obs)}% lost)${obs.rttMs !== undefined ? `, ${obs.rttMs} ms average round trip` : ''}`;
    case 'veth-peer':
      return `ifindex ${obs.ifindex}`;
    case 'bridge-ports': {
      const off = obs.ports.filter((p) => !p.hairpin).map((p) => p.dev);
      return off.length === 0 ? `hairpin on for all ${obs.ports.length} ports` : `hairpin off on ${off.join(', ')} (${off.length} of ${obs.ports.length} ports)`;
    }
    case 'mtu': {
      const full = `${obs.size}-byte DF ping${obs.dev ? ` (${obs.dev} mtu ${obs.mtu ?? '?'})` : ''} ${obs.passed ? 'passed' : `failed${!obs.dev && obs.mtu ? ` (mtu ${obs.mtu})` : ''}`}`;
      return obs.smallPassed === undefined ? full : `${full}, 56-byte DF ping ${obs.smallPassed ? 'passed' : 'failed'}`;
    }
    case 'could-not-run':
      return `could not run: ${obs.reason}`;
    default: {
      const never: never = obs;
      throw new Error(`unknown observation ${JSON.stringify(never)}`);
    }
  }
}

/** Summarises the probes of each rung into a RungResult (error = none of its probes could run). */
export function summarizeRungs(observations: ProbeResult[]): RungResult[] {
  return RUNG_IDS.map((id) => {
    const probes = observations.filter((r) => r.spec.rung === id);
    const outcomes = probes.map((p) => classifyObservation(p.observation));
    const ran = outcomes.filter((o) => o !== 'not-run').length;
    const failed = outcomes.filter((o) => o === 'fail').length;
    const status = probes.length === 0 ? 'skipped' : ran === 0 ? 'error' : failed > 0 ? 'failed' : 'passed';
    const first = probes.find((p) => classifyObservation(p.observation) === (status === 'failed' ? 'fail' : status === 'error' ? 'not-run' : 'ok'));
    const summary =
      status === 'skipped'
        ? 'not applicable'
        : status === 'error'
          ? `could not run: ${first ? describeObservation(first.observation, first.spec.action).replace(/^could not run: /, '') : 'unknown'}`
          : status === 'failed'
            ? `${failed}/${probes.length} failed: ${first ? `${describeProbeTarget(first.spec.action)} ${describeObservation(first.observation, first.spec.action)}` : ''}`
            : `${ran}/${probes.length} passed`;
    return {
      id,
      status,
      durationMs: Math.max(0, ...probes.map((p) => p.durationMs)),
      summary,
      probes: probes.map((p) => ({
        id: p.spec.id,
        target: describeProbeTarget(p.spec.action),
        where: describeProbeLocation(p.spec.where),
        observation: p.observation,
        durationMs: p.durationMs,
      })),
    };
  });
}

/** One probe as a line of evidence: `where → what: what it saw`, as findings cite it. */
export function describeEvidence(r: ProbeResult): string {
  return `${describeProbeLocation(r.spec.where)} → ${describeProbeTarget(r.spec.action)}: ${describeObservation(r.observation, r.spec.action)}`;
}

/** Decides the ranked findings and the verdict from static findings and probe observations (pure). */
export function decideVerdict(input: VerdictInput): VerdictOutput {
  const rungs = summarizeRungs(input.observations);
  const { targets } = input;
  const sourceNode = targets.source.kind === 'pod' ? targets.source.node : targets.source.name;
  const podCIDRs = new Map((input.nodes ?? []).flatMap((n) => (n.podCIDR ? [[n.name, n.podCIDR] as const] : [])));
  const line = describeEvidence;
  const nodeOf = (r: ProbeResult): string => (r.spec.where.kind === 'node-pod' ? r.spec.where.node : sourceNode);
  const rung = (id: RungId): ProbeResult[] => input.observations.filter((r) => r.spec.rung === id);
  const failing = (rs: ProbeResult[]): ProbeResult[] => rs.filter((r) => classifyObservation(r.observation) === 'fail');
  const passing = (rs: ProbeResult[]): ProbeResult[] => rs.filter((r) => classifyObservation(r.observation) === 'ok');
  const dataFailures = input.observations.filter((r) => r.spec.rung !== 'dns' && classifyObservation(r.observation) === 'fail');
  const failedAs = (f: Failure) => (r: ProbeResult): boolean => classifyFailure(r.observation) === f;
  const unreachable = failedAs('unreachable');
  const symptomatic = input.observations.some(unreachable);

  const findings: Finding[] = [];
  const add = (cause: Cause, status: FindingStatus, f: Omit<Finding, 'cause' | 'component' | 'status'>): Finding => {
    const finding: Finding = { status, cause, component: CAUSE_COMPONENTS[cause], ...f };
    findings.push(finding);
    return finding;
  };

  // Static findings; a policy "deny" contradicted by a connection that went through is only a caveat.
  const connectedAnywhere = passing([...rung('cluster-ip'), ...rung('pod-ip')]).length > 0;
  for (const s of input.staticFindings) {
    if (s.cause === 'NETWORK_POLICY_DENY' && connectedAnywhere) {
      findings.push({
        ...s,
        status: 'degraded',
        summary: `${s.summary}, yet the connection succeeded: the CNI plugin does not seem to enforce NetworkPolicy`,
      });
    } else if (s.cause === 'SERVICE_TARGET_PORT_MISMATCH' && connectedAnywhere) {
      // Pods may serve ports they do not declare: the connection is the proof, the missing declaration only a note.
      findings.push({
        ...s,
        status: 'healthy',
        summary: `${s.summary}, but the pods answer on it: declare it as a containerPort to document it`,
        evidence: [...s.evidence],
        hints: [...s.hints],
      });
    } else {
      findings.push({ ...s, evidence: [...s.evidence], hints: [...s.hints] });
    }
  }
  const blockingStatic = findings.filter((f) => BLOCKING_STATIC.has(f.cause) && f.status === 'broken');

  // Node checks: definitive misconfigurations, plus values that only matter when traffic actually failed.
  const nodeRoots: Finding[] = [];
  const podMacs = new Map<string, ProbeResult>();
  for (const r of input.nodeChecks) {
    const obs = r.observation;
    if (r.spec.check === 'pod-mac' && obs.kind === 'neighbor' && obs.mac && obs.state !== 'FAILED' && obs.state !== 'INCOMPLETE') podMacs.set(obs.ip, r);
  }
  for (const r of input.nodeChecks) {
    const node = nodeOf(r);
    const obs = r.observation;
    if (obs.kind === 'sysctl' && obs.key === 'net.ipv4.ip_forward' && obs.value === '0') {
      nodeRoots.push(
        add('NODE_IP_FORWARD_DISABLED', 'broken', {
          node,
          summary: `IP forwarding is off on node ${node}: it drops every packet it should route to or from its pods`,
          evidence: [line(r)],
          hints: [`on node ${node}: sysctl -w net.ipv4.ip_forward=1`, `make it persistent on ${node}: echo net.ipv4.ip_forward=1 > /etc/sysctl.d/90-ip-forward.conf (a file of its own, so nothing else is overwritten)`],
        }),
      );
    } else if (obs.kind === 'sysctl' && obs.key === 'net.bridge.bridge-nf-call-iptables' && obs.value === '0') {
      nodeRoots.push(
        add('NODE_BRIDGE_NF_DISABLED', dataFailures.length > 0 ? 'broken' : 'degraded', {
          node,
          summary: `bridged pod traffic bypasses iptables on node ${node}, so Service NAT is not applied to it${dataFailures.length > 0 ? '' : ': a pod reaching a Service whose backend is on its own node will fail'}`,
          evidence: [line(r)],
          hints: [`on node ${node}: modprobe br_netfilter && sysctl -w net.bridge.bridge-nf-call-iptables=1`],
        }),
      );
    } else if (obs.kind === 'route' && !obs.present && (obs.error !== undefined || symptomatic)) {
      // Only the default route matching is a fault only when traffic failed: some clouds route pod ranges outside the
      // node (GKE alias IPs), where the default route is the right one.
      const addr = r.spec.action.tool === 'route-match' ? r.spec.action.address : '?';
      const toward = r.spec.check === 'route-to-source' ? 'back to the source pod' : 'to the destination pod';
      const owner = (input.nodes ?? []).find((n) => n.podCIDR !== undefined && cidrContains(n.podCIDR, addr));
      const cidr = owner ? `${owner.podCIDR ?? ''}, node ${owner.name}'s pod CIDR` : `the pod CIDR of ${addr}`;
      nodeRoots.push(
        add('NODE_ROUTE_MISSING', 'broken', {
          node,
          summary: `node ${node} has no route ${toward} (${addr}): ${obs.error ?? 'only its default route matches'}, so it sends that pod traffic nowhere`,
          evidence: [line(r)],
          hints: [
            `on node ${node}: ip -4 route list match ${addr}; ip -4 route show`,
            `restart the CNI agent on ${node} (e.g. delete its flannel or calico-node pod) so it restores its route to ${cidr}`,
          ],
        }),
      );
    } else if (obs.kind === 'neighbor' && r.spec.check !== 'pod-mac' && isWrongNeighbor(obs, podMacs.get(obs.ip), symptomatic)) {
      const truth = podMacs.get(obs.ip);
      const real = truth?.observation.kind === 'neighbor' ? truth.observation.mac : null;
      nodeRoots.push(
        add('NODE_NEIGHBOR_STALE', 'broken', {
          node,
          summary: `node ${node} has a wrong neighbor entry for ${obs.ip} (${obs.mac ?? 'no address'} ${obs.state})${real ? `; the pod answers as ${real}` : ''}`,
          evidence: [line(r), ...(truth ? [line(truth)] : [])],
          hints: [`on node ${node}: ip neigh del ${obs.ip} dev ${obs.dev ?? '<dev>'}`],
        }),
      );
    } else if (obs.kind === 'forward-policy' && obs.policy === 'DROP' && dataFailures.some(unreachable)) {
      nodeRoots.push(
        add('NODE_FORWARD_DROP', 'broken', {
          node,
          summary: `the FORWARD chain on node ${node} drops pod traffic (policy DROP)`,
          evidence: [line(r)],
          hints: [`on node ${node}: iptables -S FORWARD`, forwardAcceptHint(node, podCIDRs.get(node))],
        }),
      );
    }
  }

  // A pod reaching its own Service comes back out of the bridge port it left by, which takes hairpin mode on that port.
  const hairpinOf = <K extends 'veth-peer' | 'bridge-ports'>(kind: K) =>
    input.nodeChecks.find((r): r is ProbeResult & { observation: Extract<ProbeObservation, { kind: K }> } => r.spec.check === 'hairpin' && r.observation.kind === kind);
  const peer = hairpinOf('veth-peer');
  const bridgePorts = hairpinOf('bridge-ports');
  const port = peer && bridgePorts?.observation.ports.find((p) => p.ifindex === peer.observation.ifindex);
  const failedToSelf = failing(rung('cluster-ip')).length > 0;
  const backends = targets.destination.kind === 'service' ? targets.destination.endpoints.filter((e) => e.ready).length : 1;
  // The pod as the only backend and the ClusterIP answering: the bridge hairpins some other way (e.g. promiscuous mode).
  if (port && bridgePorts && peer && !port.hairpin && targets.source.kind === 'pod' && (failedToSelf || backends > 1)) {
    const node = nodeOf(bridgePorts);
    nodeRoots.push(
      add('NODE_HAIRPIN_DISABLED', failedToSelf ? 'broken' : 'degraded', {
        node,
        object: `Pod/${targets.source.namespace}/${targets.source.name}`,
        summary: `hairpin mode is off on ${port.dev}, the bridge port of ${targets.source.namespace}/${targets.source.name} on node ${node}: its connections to its own Service fail whenever kube-proxy picks the pod itself as the backend${backends > 1 ? ` (about 1 in ${backends})` : ''}`,
        evidence: [line(peer), line(bridgePorts)],
        hints: [
          `on node ${node}: echo 1 > /sys/class/net/${port.dev}/brport/hairpin_mode (until the pod is recreated)`,
          'make it stick: kubelet --hairpin-mode=hairpin-veth, or "hairpinMode": true in the CNI bridge plugin config',
        ],
      }),
    );
  }

  // OVERLAY_PACKET_LOSS: a burst of pings across the overlay gets some answers but loses a real share (a flaky link, an
  // overloaded tunnel or a rate limit: seed 003). Connections mostly succeed, slowly, so it is degraded, not broken.
  const lossDone = new Set<string>();
  for (const r of input.nodeChecks) {
    const obs = r.observation;
    if (obs.kind !== 'loss' || !isLossy(obs) || r.spec.action.tool !== 'packet-loss') continue;
    const node = nodeOf(r);
    if (lossDone.has(node)) continue;
    lossDone.add(node);
    const addr = r.spec.action.address;
    const owner = (input.nodes ?? []).find((n) => n.podCIDR !== undefined && cidrContains(n.podCIDR, addr));
    const between = `node ${node} and ${owner ? `node ${owner.name}` : addr}`;
    nodeRoots.push(
      add('OVERLAY_PACKET_LOSS', 'degraded', {
        node,
        summary: `the overlay between ${between} loses ${lossPercent(obs)}% of packets: connections succeed only after retransmits, slowly and sometimes not at all`,
        evidence: [line(r)],
        hints: [
          `on both nodes: ip -s link show flannel.1; ip -s link show eth0 (errors and drops on the overlay and the underlay)`,
          `on both nodes: iptables -S INPUT; tc qdisc show (a rule or a queue that drops the overlay's packets, e.g. VXLAN on UDP 8472)`,
          `measure again: ping -c 100 -i 0.01 ${addr} from node ${node}`,
        ],
      }),
    );
  }

  // PATH_MTU_MISMATCH: from a node, a small DF ping passed and one the size of its own route's MTU did not. Small TCP
  // handshakes pass then, so this is broken even when every ladder rung passed.
  const mtuDone = new Set<string>();
  // On a lossy overlay (either way: a burst's echo crosses it both ways) one lost full-size ping says nothing of its size.
  for (const r of lossDone.size > 0 ? [] : input.nodeChecks) {
    const obs = r.observation;
    if (obs.kind !== 'mtu' || obs.passed || obs.smallPassed !== true || r.spec.action.tool !== 'path-mtu') continue;
    const node = nodeOf(r);
    const addr = r.spec.action.address;
    if (mtuDone.has(node)) continue;
    mtuDone.add(node);
    const others = input.nodeChecks.filter((o) => o !== r && o.observation.kind === 'mtu' && o.observation.passed && o.observation.mtu !== undefined);
    add('PATH_MTU_MISMATCH', 'broken', {
      node,
      summary: `small packets from node ${node} to ${addr} pass but full-size ones (${obs.size + 28} bytes, the MTU of ${obs.dev ?? 'its interface'}) are dropped: node ${node}'s overlay MTU exceeds what the path carries`,
      evidence: [line(r), ...others.map(line)],
      hints: [
        `on node ${node}: ip -o link show ${obs.dev ?? 'flannel.1'}; ip -o link show cni0 (the overlay and pod MTU must be the path MTU minus the encapsulation, 50 bytes for VXLAN)`,
        `compare with the other nodes' MTU, then fix the CNI's MTU setting (e.g. flannel's net-conf.json or calico's veth_mtu) and restart its agent on ${node}`,
        `find the largest size that passes: ping -M do -s SIZE -c 1 ${addr}`,
      ],
    });
  }

  const dest = targets.destination;
  const explainedBy = [...nodeRoots, ...blockingStatic];
  const attach = (symptoms: ProbeResult[]): void => {
    const root = explainedBy[0];
    if (root) root.evidence.push(...symptoms.map((s) => `explains: ${line(s)}`));
  };

  // Refused at the pod itself: the packet arrived, nothing listens.
  const podProbes = [...rung('pod-ip'), ...rung('same-node')];
  const refusedAtPod = podProbes.filter((r) => r.observation.kind === 'refused');
  const portMismatch = findings.some((f) => f.cause === 'SERVICE_TARGET_PORT_MISMATCH');
  if (refusedAtPod.length > 0 && !portMismatch && dest.kind !== 'address') {
    const byObject = new Map<string, ProbeResult[]>();
    for (const r of refusedAtPod) {
      const obj = r.spec.about
        ? `${r.spec.about.kind}/${r.spec.about.namespace ?? ''}/${r.spec.about.name}`.replace('//', '/')
        : dest.kind === 'pod'
          ? `Pod/${dest.namespace}/${dest.name}`
          : dest.kind === 'node'
            ? `Node/${dest.name}`
            : undefined;
      const k = obj ?? '';
      byObject.set(k, [...(byObject.get(k) ?? []), r]);
    }
    const allRefused = passing(rung('pod-ip')).length === 0;
    for (const [obj, rs] of byObject) {
      const first = rs[0] as ProbeResult;
      const target = describeProbeTarget(first.spec.action);
      add('DESTINATION_NOT_LISTENING', allRefused ? 'broken' : 'degraded', {
        ...(obj ? { object: obj } : {}),
        summary: `nothing listens on ${target}${obj ? ` (${obj})` : ''}: the connection reached the ${obj?.startsWith('Node/') ? 'node' : 'pod'} and was refused`,
        evidence: rs.map(line),
        hints: podHints(obj, target),
      });
    }
  }

  // ClusterIP fails while the pods answer directly: kube-proxy's rules on the source node.
  const clusterFails = failing(rung('cluster-ip'));
  const podPasses = passing(rung('pod-ip'));
  const natChecks = input.nodeChecks.filter((r) => r.observation.kind === 'nat-rules' && nodeOf(r) === sourceNode);
  const natMissing = natChecks.filter((r) => r.observation.kind === 'nat-rules' && !r.observation.present);
  if (clusterFails.length > 0 && explainedBy.length === 0 && (podPasses.length > 0 || natMissing.length > 0)) {
    const ip = dest.kind === 'service' ? `${dest.clusterIP}:${dest.port.port}` : 'the ClusterIP';
    add('SERVICE_PROXY_RULES_MISSING', 'broken', {
      node: sourceNode,
      summary: `node ${sourceNode} does not forward ${ip} to the Service's pods, although the pods answer directly`,
      evidence: [...clusterFails.map(line), ...podPasses.map(line), ...natChecks.map(line)],
      hints: [
        `on node ${sourceNode}: iptables-save -t nat | grep ${dest.kind === 'service' ? dest.clusterIP : 'KUBE-SERVICES'}`,
        `kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide --field-selector spec.nodeName=${sourceNode}`,
        `restart kube-proxy on ${sourceNode}: kubectl -n kube-system delete pod -l k8s-app=kube-proxy --field-selector spec.nodeName=${sourceNode}`,
      ],
    });
  } else if (clusterFails.length > 0 && explainedBy.length > 0) {
    attach(clusterFails);
  }

  // Unreachable pod IPs: overlay when the destination answers on its own node, else unexplained.
  const podUnreachable = failing(rung('pod-ip')).filter(unreachable);
  if (podUnreachable.length > 0) {
    if (explainedBy.length > 0) {
      attach(podUnreachable);
    } else {
      const localPasses = passing([...rung('same-node'), ...rung('node-origin').filter((r) => nodeOf(r) !== sourceNode)]);
      const destNodes = destinationNodes(targets);
      const crossNode = destNodes.length > 0 && destNodes.some((n) => n !== sourceNode);
      const status: FindingStatus = podPasses.length > 0 ? 'degraded' : 'broken';
      if (crossNode && localPasses.length > 0) {
        add('OVERLAY_BLOCKED', status, {
          summary: `pod traffic from node ${sourceNode} to node ${destNodes.filter((n) => n !== sourceNode).join(', ')} is dropped, though the destination answers on its own node and the node checks found nothing`,
          evidence: [...podUnreachable.map(line), ...localPasses.map(line)],
          hints: [
            'check that UDP 8472 (VXLAN) passes between the nodes: firewalls, security groups, iptables INPUT/OUTPUT rules on both nodes',
            `on both nodes: tcpdump -ni any udp port 8472 while re-running this command`,
          ],
        });
      } else {
        add('CONNECTION_FAILED', status, {
          summary: `${podUnreachable.map((r) => describeProbeTarget(r.spec.action)).join(', ')} did not answer and no check found why`,
          evidence: [...podUnreachable.map(line), ...notRunLines(input, line)],
          hints: ['capture on the destination node while re-running: tcpdump -ni any host <pod IP>', 're-run with --keep to inspect the debug pods'],
        });
      }
    }
  }
  const clusterOnlyUnexplained = clusterFails.length > 0 && rung('pod-ip').length === 0 && explainedBy.length === 0 && natMissing.length === 0;
  if (clusterOnlyUnexplained) {
    add('CONNECTION_FAILED', 'broken', {
      summary: `the ClusterIP did not answer and no check found why`,
      evidence: [...clusterFails.map(line), ...notRunLines(input, line)],
      hints: ['re-run with --keep to inspect the debug pods'],
    });
  }

  // DNS: answers (NXDOMAIN, SERVFAIL) are DNS problems; timeouts are DNS problems only if nothing else explains them.
  const dns = rung('dns');
  const dnsFails = failing(dns);
  const dnsNoEndpoints = findings.some((f) => f.cause === 'DNS_NO_ENDPOINTS');
  if (dnsFails.length > 0 && dnsNoEndpoints) {
    const f = findings.find((x) => x.cause === 'DNS_NO_ENDPOINTS') as Finding;
    f.evidence.push(...dnsFails.map((s) => `explains: ${line(s)}`));
  } else if (dnsFails.length > 0) {
    const search = dns.filter((r) => r.spec.action.tool === 'dns-lookup' && r.spec.action.server === undefined);
    const direct = dns.filter((r) => r.spec.action.tool === 'dns-lookup' && r.spec.action.server !== undefined);
    // Port unreachable (nothing listens on 53) came back from the DNS pod itself, so the network is not to blame.
    const closed = dnsFails.filter(failedAs('refused'));
    const timeouts = dnsFails.filter(unreachable);
    const nx = dnsFails.filter(failedAs('name-not-found'));
    const errors = dnsFails.filter(failedAs('server-error'));
    const name = dest.kind === 'service' ? dest.dnsName : dest.kind === 'address' ? dest.host : 'the name';
    // A DNS pod asked directly says the name does not exist: the record is missing, and a search-path lookup then falls
    // through to the bare name, whose error (REFUSED, SERVFAIL from upstream) is a symptom of that, not a second fault.
    const directNx = nx.filter((r) => direct.includes(r));
    const searchErrorsExplained = directNx.length > 0 ? errors.filter((r) => search.includes(r)) : [];
    const serverErrors = errors.filter((r) => !searchErrorsExplained.includes(r));
    if (nx.length > 0) {
      const directOk = passing(direct).length > 0;
      const searchNx = nx.some((r) => search.includes(r));
      const recordMissing = directNx.length > 0 && dest.kind === 'service';
      add('DNS_NAME_NOT_FOUND', 'broken', {
        ...(recordMissing ? { object: `Service/${dest.namespace}/${dest.name}` } : {}),
        summary:
          directOk && searchNx
            ? `${name} resolves when asked directly, but not through the source pod's search path (resolv.conf search/ndots)`
            : recordMissing
              ? `the cluster DNS answers NXDOMAIN for ${name} although the Service exists: its record is missing`
              : `the cluster DNS answers NXDOMAIN for ${name}`,
        evidence: [...nx.map(line), ...passing(direct).map(line), ...searchErrorsExplained.map((r) => `explains: ${line(r)}`)],
        hints: recordMissing
          ? [
              'kubectl -n kube-system logs -l k8s-app=kube-dns (look for errors listing or watching Services and EndpointSlices)',
              'check that CoreDNS may list/watch services and endpointslices (ClusterRole system:coredns), then: kubectl -n kube-system rollout restart deployment/coredns',
            ]
          : [
              `${sourceExec(targets)} cat /etc/resolv.conf`,
              'check the cluster domain and search list (kubelet --cluster-domain, dnsPolicy, dnsConfig) and the CoreDNS kubernetes plugin zone',
            ],
      });
    }
    if (serverErrors.length > 0) {
      add('DNS_SERVER_FAILURE', 'broken', {
        summary: `the cluster DNS answers with an error (${[...new Set(serverErrors.map((r) => describeObservation(r.observation, r.spec.action)))].join(', ')})`,
        evidence: serverErrors.map(line),
        hints: ['kubectl -n kube-system logs -l k8s-app=kube-dns', 'check the CoreDNS Corefile: kubectl -n kube-system get configmap coredns -o yaml'],
      });
    }
    if (timeouts.length > 0 && explainedBy.length > 0) attach(timeouts);
    if (closed.length > 0 || (timeouts.length > 0 && explainedBy.length === 0)) {
      const silent = closed.length > 0 ? closed : timeouts;
      const servers = direct.filter((r) => silent.includes(r));
      const about = servers.map((r) => r.spec.about).filter((a) => a !== undefined);
      const single = about.length === 1 ? about[0] : undefined;
      add('DNS_SERVER_UNRESPONSIVE', 'broken', {
        ...(single ? { object: `${single.kind}/${single.namespace ?? ''}/${single.name}`.replace('//', '/') } : {}),
        summary: closed.length > 0 ? 'the DNS pods are Ready but nothing listens on their DNS port' : 'the DNS pods are Ready but do not answer queries',
        evidence: silent.map(line),
        hints: ['kubectl -n kube-system logs -l k8s-app=kube-dns', 'kubectl -n kube-system rollout restart deployment/coredns'],
      });
    }
  }

  // Nothing failed: healthy if the user's path was really exercised, else we could not tell.
  const hasProblem = findings.some((f) => f.status === 'broken' || f.status === 'degraded');
  if (!hasProblem) {
    const primary: RungId = dest.kind === 'service' ? 'cluster-ip' : 'pod-ip';
    const primaryRung = rungs.find((r) => r.id === primary);
    const notRun = notRunLines(input, line);
    if (primaryRung?.status === 'passed') {
      add('HEALTHY', 'healthy', {
        summary: `${describeDestination(targets)} is reachable from the source; every check that ran passed`,
        evidence: [...passing(input.observations).map(line), ...notRun],
        hints: [],
      });
    } else {
      add('CHECKS_COULD_NOT_RUN', 'inconclusive', {
        summary: `could not diagnose: the ${primary} probes ${primaryRung?.status === 'skipped' ? 'were not run' : primaryRung?.summary.startsWith('could not run: ') ? primaryRung.summary : 'could not run'}`,
        evidence: notRun.length > 0 ? notRun : [`${primary}: ${primaryRung?.summary ?? 'no probes'}`],
        hints: [
          'kubectl auth can-i patch pods --subresource=ephemeralcontainers',
          'kubectl auth can-i create pods --subresource=exec',
          'check that the --image can be pulled on the nodes',
        ],
      });
    }
  }

  const ranked = rankFindings(findings);
  return { findings: ranked, verdict: ranked[0] as Finding, rungs };
}

/**
 * Sorts findings: broken before degraded before inconclusive before healthy, then by CAUSE_RANK (stable); among healthy
 * ones HEALTHY itself comes first, so a note never stands as the verdict.
 */
export function rankFindings(findings: Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort(
      (a, b) =>
        STATUS_RANK[a.f.status] - STATUS_RANK[b.f.status] ||
        Number(b.f.cause === 'HEALTHY') - Number(a.f.cause === 'HEALTHY') ||
        CAUSE_RANK.indexOf(a.f.cause) - CAUSE_RANK.indexOf(b.f.cause) ||
        a.i - b.i,
    )
    .map((x) => x.f);
}

/** The FORWARD fix for one node: accept its own pods' traffic, naming its pod CIDR only when the API gave it. */
function forwardAcceptHint(node: string, podCIDR: string | undefined): string {
  const cidr = podCIDR ?? '<pod CIDR>';
  return `on node ${node}: iptables -P FORWARD ACCEPT, or accept its pods' traffic: iptables -I FORWARD -s ${cidr} -j ACCEPT; iptables -I FORWARD -d ${cidr} -j ACCEPT`;
}

function cidrContains(cidr: string, address: string): boolean {
  const [base, bits] = cidr.split('/');
  const toInt = (ip: string): number | undefined => {
    const parts = ip.split('.').map(Number);
    return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255) ? parts.reduce((a, p) => a * 256 + p, 0) : undefined;
  };
  const net = toInt(base ?? '');
  const addr = toInt(address);
  const prefix = Number(bits);
  if (net === undefined || addr === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return false;
  const size = 2 ** (32 - prefix);
  return Math.floor(net / size) === Math.floor(addr / size);
}

/**
 * Whether a ping burst lost a real share while some answers came back: at least 5% and 3 pings (one or two can go on a
 * busy network). All lost is no loss finding: the path is down, which other checks explain.
 */
export function isLossy(obs: Extract<ProbeObservation, { kind: 'loss' }>): boolean {
  const lost = obs.sent - obs.received;
  return obs.received > 0 && lost >= 3 && lost / obs.sent >= 0.05;
}

/** The share of a ping burst that was lost, in whole percent. */
function lossPercent(obs: Extract<ProbeObservation, { kind: 'loss' }>): number {
  return Math.round((100 * (obs.sent - obs.received)) / Math.max(1, obs.sent));
}

/**
 * Whether a node's neighbor entry is wrong. With the MAC the pod answers with (`truth`, read from its own bridge), an
 * entry carrying another MAC is wrong when the kernel will not correct it by itself (PERMANENT, NOARP) or when it was
 * just confirmed (REACHABLE: something else answers for the pod's IP); a STALE or DELAY one is re-resolved on use. An
 * entry that matches is right whatever its state. Without it, only entries that cannot be right count (unresolved, or
 * pinned), and only when traffic actually failed.
 */
function isWrongNeighbor(obs: Extract<ProbeObservation, { kind: 'neighbor' }>, truth: ProbeResult | undefined, symptomatic: boolean): boolean {
  const real = truth?.observation.kind === 'neighbor' ? truth.observation.mac : null;
  if (real && obs.mac) {
    if (obs.mac.toLowerCase() === real.toLowerCase()) return false;
    return obs.state === 'PERMANENT' || obs.state === 'NOARP' || obs.state === 'REACHABLE';
  }
  return symptomatic && (obs.state === 'FAILED' || obs.state === 'INCOMPLETE' || obs.state === 'PERMANENT');
}

function destinationNodes(targets: ResolvedTargets): string[] {
  const d = targets.destination;
  switch (d.kind) {
    case 'pod':
      return [d.node];
    case 'service':
      return [...new Set(d.endpoints.flatMap((e) => (e.node ? [e.node] : [])))];
    case 'node':
      return [d.name];
    case 'address':
      return [];
    default: {
      const never: never = d;
      throw new Error(`unknown destination ${JSON.stringify(never)}`);
    }
  }
}

function describeDestination(targets: ResolvedTargets): string {
  const d = targets.destination;
  switch (d.kind) {
    case 'pod':
      return `pod ${d.namespace}/${d.name}:${d.port}`;
    case 'service':
      return `service ${d.namespace}/${d.name}:${d.port.port}`;
    case 'node':
      return `node ${d.name}:${d.port}`;
    case 'address':
      return `${d.host}:${d.port}`;
    default: {
      const never: never = d;
      throw new Error(`unknown destination ${JSON.stringify(never)}`);
    }
  }
}

function sourceExec(targets: ResolvedTargets): string {
  const s = targets.source;
  return s.kind === 'pod' ? `kubectl -n ${s.namespace} exec ${s.name} --` : `on node ${s.name}:`;
}

function podHints(obj: string | undefined, target: string): string[] {
  const parts = obj?.split('/');
  if (parts && parts[0] === 'Pod' && parts.length === 3) {
    return [
      `kubectl -n ${parts[1]} logs ${parts[2]}`,
      `check the application listens on 0.0.0.0 (not 127.0.0.1) at ${target.split(':').pop()}: kubectl -n ${parts[1]} exec ${parts[2]} -- netstat -ltn`,
    ];
  }
  return [`check that a process listens on ${target}`];
}

function notRunLines(input: VerdictInput, line: (r: ProbeResult) => string): string[] {
  return [...input.observations, ...input.nodeChecks].filter((r) => classifyObservation(r.observation) === 'not-run').map(line);
}
