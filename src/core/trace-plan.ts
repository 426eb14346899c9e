/**
 * The hop-by-hop packet trace, planned: which interfaces along the path from the source pod to the destination can be
 * captured (the pod's eth0, the node's side of its veth, the bridge, the tunnel device, the underlay interface, on the
 * source node and then on the destination node), from which location, with which tcpdump filter (the inner flow, or the
 * encapsulated one on the underlay of an overlay), and the one shell script per location that starts every capture of
 * it, says when all are listening, waits for the word to stop and prints what each saw. Pure: no I/O here.
 */
import { ipFamilyOf, parseIP, type IPFamily } from './address.ts';
import type { PodNetwork } from './datapath.ts';
import { locationKey, type ProbeLocation, type Protocol } from './model.ts';
import { shellQuote } from './probe-batch.ts';

/** What a hop is along the path, as seed 004 walks it. */
export type HopRole = 'pod' | 'veth' | 'bridge' | 'tunnel' | 'underlay';

/** How the capture script finds a hop's interface on its node. */
export type HopDevice =
  /** An interface of a fixed name (eth0 in a pod, cni0, flannel.1, vxlan.calico, cilium_vxlan). */
  | { kind: 'name'; name: string }
  /** The pod's own port on the node: the device the route to its address uses, or on a bridge its bridge port. */
  | { kind: 'pod-port'; address: string }
  /** The device the node's route to this address uses (the underlay towards the other node). */
  | { kind: 'route-to'; address: string };

/** Where a capture runs: a probe location, or an ephemeral debug container in another pod (the destination pod). */
export type CaptureLocation = ProbeLocation | { kind: 'target-pod'; namespace: string; name: string };

/** A stable key for a capture location (a probe location's own key, or `target-pod:NS/NAME`). */
export function captureLocationKey(where: CaptureLocation): string {
  return where.kind === 'target-pod' ? `target-pod:${where.namespace}/${where.name}` : locationKey(where);
}

/** One capture point along the path. */
export interface TraceHop {
  /** Unique within the trace, e.g. `node-1/flannel.1`; a citation names it as `trace:<id>`. */
  id: string;
  /** How the path diagram names it, e.g. `node-1 flannel.1 (tunnel)`. */
  label: string;
  role: HopRole;
  /** The node the hop is on (the pod's node for a pod's eth0). */
  node: string;
  where: CaptureLocation;
  device: HopDevice;
  /**
   * Set on a pod's own eth0 at the destination: only frames to or from the interface's own MAC count (a frame the
   * bridge floods to every port, addressed to another MAC, never reaches the pod's IP stack).
   */
  ownFramesOnly?: boolean;
  /**
   * Set on an underlay hop of an overlay: the packets there are VXLAN on this UDP port, the flow inside; `outer` is the
   * underlay's family when it is IPv6 (flannel-v6.1 and vxlan-v6.calico travel over the nodes' IPv6 addresses).
   */
  encapsulation?: { port: number; outer?: 'IPv6' };
}

/** The flow a trace follows: the probe's own, from the source pod to an address (translated on the way, for a ClusterIP). */
export interface TraceFlow {
  /** The probe's protocol; ICMP for the full-size ping of a path-MTU check (`echo`). */
  protocol: Protocol | 'ICMP';
  /** The source pod's address. */
  source: string;
  /** The address and port the probe asked for. */
  destination: { ip: string; port: number };
  /** The backends the destination may be translated to on the way (a ClusterIP's endpoints). */
  translated: { ip: string; port: number }[];
  /**
   * Set when the flow is the full-size don't-fragment ping of a path-MTU node check (since 0.2.0): ICMP echo requests of
   * this IPv4 total length from node `from` (`source` is then that node's address) to `destination.ip`, and their replies.
   */
  echo?: { size: number; from: string };
}

/** The trace of one probe: its flow and the hops in path order (the reply walks them backwards). */
export interface TracePlan {
  /** The probe repeated while the captures run (its ProbeSpec id). */
  probe: string;
  flow: TraceFlow;
  hops: TraceHop[];
  /** Hops the plugin cannot capture on this path, and why (e.g. the destination pod's eth0: no debug container there). */
  unreachable: { label: string; reason: string }[];
}

/** What the planner needs: the network, both pods (address and node), the nodes' underlay addresses. */
export interface TracePlanInput {
  network: PodNetwork;
  probe: string;
  flow: TraceFlow;
  source: { ip: string; node: string };
  /** The pod the flow ends at (the destination pod, or the first endpoint of a Service). */
  destination: { ip: string; node: string; name: string };
  /** Capture in the destination pod too (an ephemeral debug container there): the pod, as `namespace/name` parts. */
  destinationPod?: { namespace: string; name: string };
  /** Node name → underlay address (InternalIP). */
  nodeIPs: Readonly<Record<string, string>>;
  /** Node name → IPv6 InternalIP, for an IPv6 flow on a network whose IPv6 underlay is IPv6 (since 0.2.0). */
  nodeIPv6s?: Readonly<Record<string, string>>;
}

/** The devices of each pod network (upstream names: flannel's cni0/flannel.1, Calico's vxlan.calico, Cilium's cilium_vxlan). */
const NETWORK_DEVICES: Record<PodNetwork, { bridge?: string; tunnel?: { name: string; port: number } }> = {
  flannel: { bridge: 'cni0', tunnel: { name: 'flannel.1', port: 8472 } },
  'calico-vxlan': { tunnel: { name: 'vxlan.calico', port: 4789 } },
  'calico-ipip': {},
  'calico-bgp': {},
  calico: {},
  cilium: { tunnel: { name: 'cilium_vxlan', port: 8472 } },
  'cloud-routed': {},
  unknown: {},
};

/**
 * The devices each network carries IPv6 pods on (a dual-stack cluster): flannel's flannel-v6.1 and Calico's
 * vxlan-v6.calico over the nodes' IPv6 addresses, Cilium's one cilium_vxlan over their IPv4 addresses.
 */
const NETWORK_DEVICES_V6: Record<PodNetwork, { bridge?: string; tunnel?: { name: string; port: number }; underlay: IPFamily }> = {
  flannel: { bridge: 'cni0', tunnel: { name: 'flannel-v6.1', port: 8472 }, underlay: 'IPv6' },
  'calico-vxlan': { tunnel: { name: 'vxlan-v6.calico', port: 4789 }, underlay: 'IPv6' },
  'calico-ipip': { underlay: 'IPv6' },
  'calico-bgp': { underlay: 'IPv6' },
  calico: { underlay: 'IPv6' },
  cilium: { tunnel: { name: 'cilium_vxlan', port: 8472 }, underlay: 'IPv4' },
  'cloud-routed': { underlay: 'IPv6' },
  unknown: { underlay: 'IPv6' },
};

/** The address family of a flow (its source address's). */
export function flowFamily(flow: Pick<TraceFlow, 'source'>): IPFamily {
  return ipFamilyOf(flow.source) === 'IPv6' ? 'IPv6' : 'IPv4';
}

const host = (node: string): ProbeLocation => ({ kind: 'node-pod', node, hostNetwork: true });

/** The hops of one node's side of the path, in the order the request crosses them (`leaving`: the source node). */
function nodeHops(input: Pick<TracePlanInput, 'network' | 'nodeIPs' | 'nodeIPv6s'>, node: string, podIP: string, peer: string | undefined, leaving: boolean): TraceHop[] {
  const v6 = ipFamilyOf(podIP) === 'IPv6' ? NETWORK_DEVICES_V6[input.network] : undefined;
  const dev = v6 ?? NETWORK_DEVICES[input.network];
  const outerV6 = v6?.underlay === 'IPv6';
  const hop = (role: HopRole, name: string, device: HopDevice, extra: Partial<TraceHop> = {}): TraceHop => ({
    id: `${node}/${role === 'veth' ? `veth:${podIP}` : role === 'underlay' ? 'underlay' : name}`,
    label: `${node} ${name} (${role})`,
    role,
    node,
    where: host(node),
    device,
    ...extra,
  });
  const inner: TraceHop[] = [hop('veth', `veth of ${podIP}`, { kind: 'pod-port', address: podIP })];
  if (dev.bridge) inner.push(hop('bridge', dev.bridge, { kind: 'name', name: dev.bridge }));
  const outer: TraceHop[] = [];
  if (peer !== undefined) {
    const peerIP = (outerV6 ? input.nodeIPv6s : input.nodeIPs)?.[peer];
    if (dev.tunnel) outer.push(hop('tunnel', dev.tunnel.name, { kind: 'name', name: dev.tunnel.name }));
    const encapsulation = dev.tunnel ? { encapsulation: { port: dev.tunnel.port, ...(outerV6 ? { outer: 'IPv6' as const } : {}) } } : {};
    if (peerIP) outer.push(hop('underlay', `underlay to ${peer}`, { kind: 'route-to', address: peerIP }, encapsulation));
  }
  return leaving ? [...inner, ...outer] : [...outer.reverse(), ...inner.reverse()];
}

/** The hops along the path for the detected network, source pod first. Pure. */
export function planTrace(input: TracePlanInput): TracePlan {
  const { source, destination } = input;
  const crossNode = source.node !== destination.node;
  const podEth0: TraceHop = {
    id: 'source-pod/eth0',
    label: `source pod eth0`,
    role: 'pod',
    node: source.node,
    where: { kind: 'source-pod' },
    device: { kind: 'name', name: 'eth0' },
  };
  const hops: TraceHop[] = [podEth0];
  if (crossNode) {
    hops.push(...nodeHops(input, source.node, source.ip, destination.node, true));
    hops.push(...nodeHops(input, destination.node, destination.ip, source.node, false));
  } else {
    const [srcVeth, ...rest] = nodeHops(input, source.node, source.ip, undefined, true);
    const dstVeth = nodeHops(input, source.node, destination.ip, undefined, true)[0];
    hops.push(...(srcVeth ? [srcVeth] : []), ...rest, ...(dstVeth ? [dstVeth] : []));
  }
  const pod = input.destinationPod;
  if (pod) {
    hops.push({
      id: 'destination-pod/eth0',
      label: `${pod.namespace}/${pod.name} eth0`,
      role: 'pod',
      node: destination.node,
      where: { kind: 'target-pod', namespace: pod.namespace, name: pod.name },
      device: { kind: 'name', name: 'eth0' },
      ownFramesOnly: true,
    });
  }
  return {
    probe: input.probe,
    flow: input.flow,
    hops,
    unreachable: pod ? [] : [{ label: `${destination.name} eth0`, reason: 'the destination pod gets no debug container without --trace: the trace ends at its node-side port' }],
  };
}

/** What the planner needs for the full-size ping of a path-MTU check: the node it leaves, and the pod it is sent to. */
export interface EchoTracePlanInput {
  network: PodNetwork;
  probe: string;
  /** The ping's flow (`echo` set). */
  flow: TraceFlow;
  /** The node the ping leaves from (host network). */
  from: string;
  /** The pod pinged: its address, node and name, and where its own eth0 can be captured (absent: it is not). */
  to: { ip: string; node: string; name: string; id: string; where?: CaptureLocation };
  /** Node name → underlay address (InternalIP). */
  nodeIPs: Readonly<Record<string, string>>;
}

/**
 * The hops of a node's full-size ping to a pod on another node: the sending node's tunnel and underlay, then the other
 * node's underlay, tunnel, bridge and the pod's veth, and the pod's own eth0 when it can be captured. Pure.
 */
export function planEchoTrace(input: EchoTracePlanInput): TracePlan {
  const { from, to } = input;
  const hops: TraceHop[] = [
    ...nodeHops(input, from, to.ip, to.node, true).filter((h) => h.role === 'tunnel' || h.role === 'underlay'),
    ...nodeHops(input, to.node, to.ip, from, false),
  ];
  if (to.where) hops.push({ id: to.id, label: `${to.name} eth0`, role: 'pod', node: to.node, where: to.where, device: { kind: 'name', name: 'eth0' }, ownFramesOnly: true });
  return {
    probe: input.probe,
    flow: input.flow,
    hops,
    unreachable: to.where ? [] : [{ label: `${to.name} eth0`, reason: 'the pod gets no debug container without --trace: the trace ends at its node-side port' }],
  };
}

/** An IPv4 address as the 32-bit hex a BPF byte-offset match compares (`10.244.1.3` → `0x0af40103`). */
export function ipv4Hex(ip: string): string {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return `0x${parts.map((p) => p.toString(16).padStart(2, '0')).join('')}`;
}

/** The far ends of a flow: the destination the probe named and every address it may be translated to. */
function farEnds(flow: TraceFlow): { ip: string; port: number }[] {
  const seen = new Set<string>();
  return [flow.destination, ...flow.translated].filter((e) => !seen.has(`${e.ip}:${e.port}`) && seen.add(`${e.ip}:${e.port}`) !== undefined);
}

/** An IPv6 address as the four 32-bit hex words a BPF byte-offset match compares (`fd00::1` → `0xfd000000`, …, `0x00000001`). */
export function ipv6Words(ip: string): string[] {
  const parsed = parseIP(ip);
  if (parsed?.family !== 'IPv6') throw new Error(`not an IPv6 address: ${ip}`);
  const hex = [...parsed.bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return [0, 1, 2, 3].map((i) => `0x${hex.slice(i * 8, i * 8 + 8)}`);
}

/** The BPF match of 16 bytes at `base` + `offset` (e.g. `ip6[78:4] = 0x… and ip6[82:4] = 0x… …`) against an IPv6 address. */
function ipv6At(base: string, offset: number, ip: string): string {
  return ipv6Words(ip)
    .map((w, i) => `${base}[${offset + i * 4}:4] = ${w}`)
    .join(' and ');
}

/** ICMPv6 errors (destination unreachable, packet too big, time exceeded: types 1 to 3), by the type after a bare IPv6 header. */
const ICMP6_ERRORS = '(icmp6 and (ip6[40] = 1 or ip6[40] = 2 or ip6[40] = 3))';

/** The tcpdump filter of the flow itself (any hop where packets are not encapsulated), ICMP about the source included. */
export function innerFilter(flow: TraceFlow): string {
  if (flowFamily(flow) === 'IPv6') {
    // `tcp`/`udp`/`host` match IPv6 too; ICMPv6 is kept to its errors (the neighbour discovery of the source is not the flow).
    const proto = flow.protocol === 'UDP' ? 'udp' : flow.protocol === 'SCTP' ? 'sctp' : flow.protocol === 'ICMP' ? 'icmp6' : 'tcp';
    const ends = farEnds(flow).map((e) => `(host ${e.ip} and port ${e.port})`);
    return `(ip6 and ${proto} and host ${flow.source} and (${ends.join(' or ')})) or (${ICMP6_ERRORS} and host ${flow.source})`;
  }
  const proto = flow.protocol === 'UDP' ? 'udp' : flow.protocol === 'SCTP' ? 'sctp' : flow.protocol === 'ICMP' ? 'icmp' : 'tcp';
  const ends = farEnds(flow).map((e) => `(host ${e.ip} and port ${e.port})`);
  return `(${proto} and host ${flow.source} and (${ends.join(' or ')})) or (icmp and host ${flow.source})`;
}

/**
 * The tcpdump filter of the flow inside VXLAN on `port` (outer IPv4 and UDP headers, then 8 bytes of VXLAN and 14 of
 * the inner Ethernet header: the inner IPv4 header starts at udp[30]), both directions, with ICMP errors about the
 * tunnel's own packets (fragmentation needed, unreachable) beside it.
 */
export function encapsulatedFilter(flow: TraceFlow, port: number, outer?: 'IPv6'): string {
  if (flowFamily(flow) === 'IPv6') return encapsulatedFilterV6(flow, port, outer);
  const src = ipv4Hex(flow.source);
  const pairs = farEnds(flow).flatMap((e) => {
    const dst = ipv4Hex(e.ip);
    return [`(udp[42:4] = ${src} and udp[46:4] = ${dst})`, `(udp[42:4] = ${dst} and udp[46:4] = ${src})`];
  });
  return `(udp dst port ${port} and (${pairs.join(' or ')})) or (icmp and (icmp[0] = 3 or icmp[0] = 11))`;
}

/**
 * The tcpdump filter of an IPv6 flow inside VXLAN on `port`. Over an IPv6 underlay (`outer`), libpcap's `udp[]` reads
 * IPv4 only, so the offsets count from the outer IPv6 header: 40 bytes of it, 8 of UDP, 8 of VXLAN and 14 of the inner
 * Ethernet header put the inner ethertype at ip6[68:2] and the inner IPv6 header at ip6[70] (source at ip6[78], destination
 * at ip6[94]). Over IPv4 (Cilium) the inner header starts at udp[30] as for IPv4 (source udp[38], destination udp[54]).
 * ICMP errors of the underlay's family ride beside it.
 */
function encapsulatedFilterV6(flow: TraceFlow, port: number, outer: 'IPv6' | undefined): string {
  const [base, inner, errors] = outer === 'IPv6' ? ['ip6', 70, ICMP6_ERRORS] as const : ['udp', 30, '(icmp and (icmp[0] = 3 or icmp[0] = 11))'] as const;
  const at = (offset: number, ip: string): string => `(${ipv6At(base, inner + offset, ip)})`;
  const pairs = farEnds(flow).flatMap((e) => [`(${at(8, flow.source)} and ${at(24, e.ip)})`, `(${at(8, e.ip)} and ${at(24, flow.source)})`]);
  return `(${outer === 'IPv6' ? 'ip6 and ' : 'ip and '}udp dst port ${port} and ${base}[${inner - 2}:2] = 0x86dd and (${pairs.join(' or ')})) or ${errors}`;
}

/**
 * The tcpdump filter of a full-size ping (`flow.echo`) where it is not encapsulated: ICMP echo requests and replies to or
 * from the pod of exactly that IPv4 total length (the check's 56-byte ping is left out), and fragmentation-needed errors.
 */
export function echoInnerFilter(flow: TraceFlow & { echo: { size: number } }): string {
  return `(icmp and host ${flow.destination.ip} and (icmp[0] = 8 or icmp[0] = 0) and ip[2:2] = ${flow.echo.size}) or (icmp and icmp[0] = 3 and icmp[1] = 4)`;
}

/**
 * The tcpdump filter of a full-size ping inside VXLAN on `port`: the inner IPv4 header at udp[30] carries ICMP
 * (udp[39] = 1) of that total length (udp[32:2]) to or from the pod, with ICMP errors about the tunnel's packets beside it.
 */
export function echoEncapsulatedFilter(flow: TraceFlow & { echo: { size: number } }, port: number): string {
  const pod = ipv4Hex(flow.destination.ip);
  return `(udp dst port ${port} and udp[39] = 1 and udp[32:2] = ${flow.echo.size} and (udp[42:4] = ${pod} or udp[46:4] = ${pod})) or (icmp and (icmp[0] = 3 or icmp[0] = 11))`;
}

/** The filter of one hop. */
export function hopFilter(flow: TraceFlow, hop: TraceHop): string {
  const { echo } = flow;
  if (echo) return hop.encapsulation ? echoEncapsulatedFilter({ ...flow, echo }, hop.encapsulation.port) : echoInnerFilter({ ...flow, echo });
  return hop.encapsulation ? encapsulatedFilter(flow, hop.encapsulation.port, hop.encapsulation.outer) : innerFilter(flow);
}

/** How long a capture may outlive the probe's timeout, whatever happens to the exec that started it (`timeout` ends it). */
export const CAPTURE_MARGIN_SECONDS = 15;

/** The bound on each capture for a probe timeout: the probe's own time, the exec round trips, and a margin. */
export function captureBoundSeconds(probeTimeoutMs: number): number {
  return Math.ceil(probeTimeoutMs / 1000) + CAPTURE_MARGIN_SECONDS;
}
/** The exit code of a capture script that found no writable temporary directory. */
export const CAPTURE_NO_TMPDIR_EXIT = 97;

/** The shell lines that put one hop's interface name in `$dev` (empty when it cannot be found). */
function resolveDevice(device: HopDevice): string[] {
  switch (device.kind) {
    case 'name':
      return [`dev=${shellQuote(device.name)}`, `[ -e "/sys/class/net/$dev" ] || dev=`];
    case 'route-to':
      return [`dev=$(ip -o route get ${shellQuote(device.address)} 2>/dev/null | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')`];
    case 'pod-port':
      // Routed veths (Calico's cali*, the VPC CNI's eni*) carry the route; on a bridge the pod's port is the one its MAC
      // was learnt on (the neighbor entry gives the MAC, the bridge's forwarding database the port).
      return [
        `a=${shellQuote(device.address)}`,
        `dev=$(ip -o route get "$a" 2>/dev/null | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')`,
        'if [ -n "$dev" ] && [ -d "/sys/class/net/$dev/bridge" ]; then',
        '  mac=$(ip neigh show "$a" dev "$dev" 2>/dev/null | sed -n \'s/.* lladdr \\([^ ]*\\).*/\\1/p\')',
        '  [ -n "$mac" ] || { ping -c 1 -W 1 "$a" >/dev/null 2>&1; mac=$(ip neigh show "$a" dev "$dev" 2>/dev/null | sed -n \'s/.* lladdr \\([^ ]*\\).*/\\1/p\'); }',
        '  br=$dev; dev=',
        '  [ -n "$mac" ] && dev=$(bridge fdb show br "$br" 2>/dev/null | awk -v m="$mac" \'$1 == m && $2 == "dev" && $3 != "\'"$br"\'" { print $3; exit }\')',
        '  if [ -z "$mac" ]; then why="$br has no neighbor entry for $a"; elif [ -z "$dev" ]; then why="no port of $br has learnt $mac, the MAC of the node\'s neighbor entry for $a"; fi',
        'fi',
        // Cilium routes pods through cilium_host: their lxc port is not in the route, so it is not captured.
        'case "$dev" in cilium_host|cilium_net|lo) dev= ;; esac',
      ];
    default: {
      const never: never = device;
      throw new Error(`unknown hop device ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The argv of one location's captures: `sh -c SCRIPT netdebug-trace MARK`. For hop i it finds the interface, starts
 * `timeout BOUND tcpdump -i DEV -nn -U -w FILE FILTER`, then waits until every tcpdump has printed
 * "listening on" (or has ended) and prints `MARK listening\n`. It then reads one line from stdin (the word to stop, or
 * the end of stdin), ends the captures by the PIDs it started, and prints for each hop
 * `MARK INDEX DEVICE TEXT-BYTES ERR-BYTES PCAP-BYTES\n` followed by those bytes: tcpdump's reading of the capture
 * (`-nn -tt -e`, with `-T vxlan` on encapsulated hops), its stderr, and the pcap itself when `pcap` is set.
 */
export function buildCaptureCommand(captures: readonly { hop: TraceHop; filter: string }[], mark: string, opts: { pcap: boolean; boundSeconds: number }): string[] {
  if (!/^[A-Za-z0-9-]+$/.test(mark)) throw new Error(`unsafe capture mark ${JSON.stringify(mark)}`);
  const lines = [
    'm=$1',
    `d=$(mktemp -d 2>/dev/null || mktemp -d -p /dev/shm 2>/dev/null) || exit ${CAPTURE_NO_TMPDIR_EXIT}`,
    'pids=',
    `trap 'kill $pids 2>/dev/null; rm -rf "$d"' EXIT`,
    `trap 'exit 143' TERM INT HUP`,
  ];
  captures.forEach(({ hop, filter }, i) => {
    lines.push('why=', ...resolveDevice(hop.device));
    lines.push(
      `printf '%s' "$dev" >"$d/${i}.dev"`,
      // Why no interface was found, when the resolution knows: in the hop's stderr.
      `printf '%s' "$why" >"$d/${i}.e"; : >"$d/${i}.p"`,
      'if [ -n "$dev" ]; then',
      // Only the frames the pod itself sends or receives (its own MAC), when the hop asks for it.
      hop.ownFramesOnly ? `  f="ether host $(cat "/sys/class/net/$dev/address") and (${filter.replace(/["$`\\]/g, '\\$&')})"` : `  f=${shellQuote(filter)}`,
      `  timeout ${Math.max(1, Math.ceil(opts.boundSeconds))} tcpdump -i "$dev" -nn -U --immediate-mode -s 262144 -w "$d/${i}.p" "$f" >/dev/null 2>"$d/${i}.e" </dev/null &`,
      `  echo $! >"$d/${i}.pid"; pids="$pids $!"`,
      'fi',
    );
  });
  lines.push(
    // Each capture is ready once tcpdump says it listens; one that ended (a bad device, no permission) is not waited for.
    `for i in $(seq 0 ${captures.length - 1}); do`,
    '  [ -s "$d/$i.pid" ] || continue',
    '  p=$(cat "$d/$i.pid")',
    '  until grep -q "listening on" "$d/$i.e" 2>/dev/null; do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done',
    'done',
    `printf '%s listening\\n' "$m"`,
    'read -r _ || true',
    'for p in $pids; do kill -TERM "$p" 2>/dev/null; done',
    'for p in $pids; do wait "$p" 2>/dev/null; done',
    'pids=',
    `for i in $(seq 0 ${captures.length - 1}); do`,
    '  : >"$d/$i.t"',
    '  if [ -s "$d/$i.p" ]; then',
    '    case "$i" in',
    ...captures.map(({ hop }, i) => `      ${i}) tcpdump -nn -tt -e ${hop.encapsulation ? '-T vxlan ' : ''}-r "$d/$i.p" >"$d/$i.t" 2>/dev/null ;;`),
    '    esac',
    '  fi',
    `  ${opts.pcap ? 'pc=$(wc -c <"$d/$i.p")' : 'pc=0'}`,
    `  printf '%s %s %s %s %s %s\\n' "$m" "$i" "$(cat "$d/$i.dev")" $(wc -c <"$d/$i.t") $(wc -c <"$d/$i.e") "$pc"`,
    `  cat "$d/$i.t" "$d/$i.e"${opts.pcap ? ' "$d/$i.p"' : ''}`,
    'done',
  );
  return ['sh', '-c', lines.join('\n'), 'netdebug-trace', mark];
}

/** One hop's capture as the script printed it: the interface it found (empty: none), tcpdump's text, its stderr, the pcap. */
export interface CaptureRecord {
  index: number;
  device: string;
  text: string;
  stderr: string;
  pcap: Buffer;
}

/** Reads a capture script's stdout as it streams: `listening` once every capture listens, then one record per hop. */
export class CaptureStreamReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly header: RegExp;
  private readonly ready: string;
  /** Whether the `MARK listening` line has come. */
  listening = false;

  constructor(mark: string) {
    this.header = new RegExp(`^${mark} (\\d+) (\\S*) ?(\\d+) +(\\d+) +(\\d+)$`);
    this.ready = `${mark} listening`;
  }

  /** Feeds a chunk; returns the records it completed (the listening line sets `listening`). */
  push(chunk: Buffer): CaptureRecord[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: CaptureRecord[] = [];
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) return out;
      const line = this.buf.subarray(0, nl).toString('utf8');
      if (line === this.ready) {
        this.listening = true;
        this.buf = this.buf.subarray(nl + 1);
        continue;
      }
      const m = this.header.exec(line);
      if (!m) {
        this.buf = this.buf.subarray(nl + 1);
        continue;
      }
      const [t, e, p] = [Number(m[3]), Number(m[4]), Number(m[5])];
      const start = nl + 1;
      if (this.buf.length < start + t + e + p) return out;
      out.push({
        index: Number(m[1]),
        device: m[2] ?? '',
        text: this.buf.subarray(start, start + t).toString('utf8'),
        stderr: this.buf.subarray(start + t, start + t + e).toString('utf8'),
        pcap: Buffer.from(this.buf.subarray(start + t + e, start + t + e + p)),
      });
      this.buf = this.buf.subarray(start + t + e + p);
    }
  }
}
