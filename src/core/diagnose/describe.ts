/**
 * How probe observations read: whether each passed, failed (and how) or could not run, and how a probe, where it ran
 * and what it saw are put in words. Shared by the rules, the rung summaries and every reporter. Pure.
 */
import { isIPv6 } from '../address.ts';
import type { ProbeAction, ProbeLocation, ProbeObservation, ProbeResult, ResolvedTargets } from '../model.ts';
import { LOSS_PINGS } from '../parse.ts';

/**
 * Whether a full-size ping the sender refused names a path MTU that still carries everything the node's pods send: the
 * kernel reported the smaller MTU (it learned it from a "frag needed" / "packet too big" answer, or its route says so),
 * so senders are told rather than their packets vanishing, and no pod interface on the node is bigger than that MTU.
 * Dual-stack Calico is built so: pods get the smaller MTU of both tunnels (1430) while vxlan.calico keeps 1450, and a
 * 1450-byte ping from the node meets the remote pod's 1430-byte veth.
 */
export function pathCarriesPods(obs: Extract<ProbeObservation, { kind: 'mtu' }>): boolean {
  // `mtu` is the device's MTU unless the kernel reported a smaller one: only a reported MTU below the device's (older
  // observations without deviceMtu: below the payload plus IPv4's 28 header bytes) says the sender was told.
  return !obs.passed && obs.mtu !== undefined && obs.mtu < (obs.deviceMtu ?? obs.size + 28) && obs.podMtu !== undefined && obs.mtu >= obs.podMtu;
}

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
    case 'links':
    case 'loss':
    case 'not-inspectable':
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
    case 'resolv-conf':
      return undefined;
    case 'mtu':
      // Both sizes lost is no MTU problem: nothing got through.
      // A path MTU the sender was told, that carries the node's pods, is path MTU discovery at work: no failure.
      return obs.passed || pathCarriesPods(obs) ? undefined : obs.smallPassed === false ? 'unreachable' : 'too-big';
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
    case 'links':
    case 'loss':
    case 'not-inspectable':
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
      // An IPv6 address in brackets, so its ':' stay apart from the port's.
      return isIPv6(action.host) ? `[${action.host}]:${action.port}` : `${action.host}:${action.port}`;
    case 'dns-lookup': {
      const type = action.type === 'AAAA' ? ' AAAA' : '';
      return action.server ? `${action.name}${type} @${action.server}${action.port !== undefined && action.port !== 53 ? `#${action.port}` : ''}` : `${action.name}${type} (search path)`;
    }
    case 'resolv-conf':
      return '/etc/resolv.conf';
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
    case 'links':
      return 'network interfaces';
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
      return action?.tool === 'dns-lookup' ? `no DNS server listening (port ${action.port ?? 53} closed)` : 'connection refused';
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
    case 'resolv-conf':
      return [
        `nameserver ${obs.nameservers.join(', ') || 'none'}`,
        `search ${obs.search.join(' ') || 'none'}`,
        ...(obs.ndots !== undefined ? [`ndots ${obs.ndots}`] : []),
      ].join(', ');
    case 'sysctl':
      return `${obs.key} = ${obs.value}`;
    case 'forward-policy':
      return describeForwardPolicy(obs, action);
    case 'route':
      return describeRoute(obs);
    case 'neighbor':
      if (obs.mac) return `${obs.ip} lladdr ${obs.mac} ${obs.state}`;
      return obs.state === 'NONE' ? `no entry for ${obs.ip} (the node has not talked to it lately)` : `${obs.ip} ${obs.state}, no address`;
    case 'nat-rules':
      return describeNatRules(obs);
    case 'not-inspectable':
      return `not inspectable here: ${obs.reason}; run: ${obs.command}`;
    case 'loss':
      return `${obs.received}/${obs.sent} answered (${lossPercent(obs)}% lost)${obs.rttMs !== undefined ? `, ${obs.rttMs} ms average round trip` : ''}`;
    case 'veth-peer':
      return `ifindex ${obs.ifindex}`;
    case 'links':
      return describeLinks(obs);
    case 'bridge-ports': {
      const off = obs.ports.filter((p) => !p.hairpin).map((p) => p.dev);
      return off.length === 0 ? `hairpin on for all ${obs.ports.length} ports` : `hairpin off on ${off.join(', ')} (${off.length} of ${obs.ports.length} ports)`;
    }
    case 'mtu':
      return describeMtu(obs);
    case 'could-not-run':
      return `could not run: ${obs.reason}`;
    default: {
      const never: never = obs;
      throw new Error(`unknown observation ${JSON.stringify(never)}`);
    }
  }
}


/** The route a node has for an address, or why there is none that carries it. */
function describeRoute(obs: Extract<ProbeObservation, { kind: 'route' }>): string {
  if (obs.present) return `route ${obs.route ? `${obs.route} ` : ''}${describeHop(obs)}`;
  return obs.error ? `no route (${obs.error})` : `no route: only the default route matches${obs.dev ? ` (${describeHop(obs)})` : ''}`;
}

/** A node's interfaces: how many, and those that are not pod veths (bridges, tunnels), with their MTUs. */
function describeLinks(obs: Extract<ProbeObservation, { kind: 'links' }>): string {
  const special = obs.links.filter((l) => l.type !== undefined && l.type !== 'veth' && l.name !== 'lo');
  return `${obs.links.length} interfaces${special.length > 0 ? `: ${special.map((l) => `${l.name} (${l.type}${l.vxlanPort ? ` port ${l.vxlanPort}` : ''}, mtu ${l.mtu})`).join(', ')}` : ''}`;
}

/** A FORWARD chain walk: the policy, and what became of this flow (iptables or, for an IPv6 flow, ip6tables). */
function describeForwardPolicy(obs: Extract<ProbeObservation, { kind: 'forward-policy' }>, action: ProbeAction | undefined): string {
  // A walk of an IPv6 flow read ip6tables' chains.
  const tool = action?.tool === 'forward-policy' && action.flow !== undefined && isIPv6(action.flow.from) ? 'ip6tables' : 'iptables';
  const where = obs.backend ? ` (${tool}-${obs.backend})` : '';
  switch (obs.verdict) {
    case undefined:
      return `FORWARD policy ${obs.policy}`;
    case 'accept':
      return `FORWARD policy ${obs.policy}; this flow is accepted${where}`;
    case 'drop':
      return `FORWARD policy ${obs.policy}; this flow is dropped by ${obs.decidedBy ?? 'the chain'}${where}`;
    case 'policy':
      return `FORWARD policy ${obs.policy}; this flow is dropped by a NetworkPolicy agent's rule ${obs.decidedBy ?? ''}${where}`;
    case 'unsure':
      return `FORWARD policy ${obs.policy}; this flow reaches ${obs.decidedBy ?? 'a drop'}${where}, past rules netdebug cannot judge`;
    default: {
      const never: never = obs.verdict;
      throw new Error(`unknown FORWARD verdict ${JSON.stringify(never)}`);
    }
  }
}

/** A Service's NAT rules as the node's proxy holds them (or that it holds none, and what was read). */
function describeNatRules(obs: Extract<ProbeObservation, { kind: 'nat-rules' }>): string {
  const ipt = obs.clusterIP.includes(':') ? 'ip6tables' : 'iptables';
  const mode = obs.proxy === undefined ? '' : obs.proxy === 'iptables' ? ` (${ipt}${obs.backend ? `-${obs.backend}` : ''})` : ` (${obs.proxy})`;
  const searched = obs.searched ? `; read: ${obs.searched}` : '';
  if (!obs.present) return `no NAT rules${mode}${searched}`;
  if (obs.drops === 'no-local-endpoints') return `kube-proxy drops it here: no local endpoints (internalTrafficPolicy Local)${mode}`;
  if (obs.drops === 'no-endpoints') return `kube-proxy rejects it: no endpoints${mode}`;
  return `NAT rules present${mode}, endpoints ${obs.endpoints.join(', ') || 'none'}`;
}

/** A path MTU probe: the full-size DF ping (and the small one), or the told MTU that still carries the pods. */
function describeMtu(obs: Extract<ProbeObservation, { kind: 'mtu' }>): string {
  const full =
    pathCarriesPods(obs)
      ? `${obs.size}-byte DF ping${obs.dev ? ` over ${obs.dev}` : ''} refused at path MTU ${String(obs.mtu)}, which carries the node's pods (mtu ${String(obs.podMtu)}): the sender is told, nothing vanishes`
      : `${obs.size}-byte DF ping${obs.dev ? ` (${obs.dev} mtu ${obs.mtu ?? '?'})` : ''} ${obs.passed ? 'passed' : `failed${!obs.dev && obs.mtu ? ` (mtu ${obs.mtu})` : ''}`}`;
  return obs.smallPassed === undefined ? full : `${full}, 56-byte DF ping ${obs.smallPassed ? 'passed' : 'failed'}`;
}

/** One probe as a line of evidence: `where → what: what it saw`, as findings cite it. */
export function describeEvidence(r: ProbeResult): string {
  return `${describeProbeLocation(r.spec.where)} → ${describeProbeTarget(r.spec.action)}: ${describeObservation(r.observation, r.spec.action)}`;
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
export function lossPercent(obs: Extract<ProbeObservation, { kind: 'loss' }>): number {
  return Math.round((100 * (obs.sent - obs.received)) / Math.max(1, obs.sent));
}


/** The nodes the destination lives on: its pod's node, its endpoints' nodes, the node itself (none for an address). */
export function destinationNodes(targets: ResolvedTargets): string[] {
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


/** Names the destination for summaries, e.g. `service shop/web:80`. */
export function describeDestination(targets: ResolvedTargets): string {
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

