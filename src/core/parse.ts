/**
 * Probe commands and their parsers: `buildProbeCommand` turns a ProbeAction into argv, `parseProbeOutput` turns what
 * the command printed into a ProbeObservation. Parsers read stdout and stderr together (tools differ in which they use)
 * and were written against real outputs captured by test/unit/fixtures/capture.sh.
 */
import { ipFamilyOf, isIPv4, isIPv6 } from './address.ts';
import type { NodeLink, ProbeAction, ProbeObservation, Protocol } from './model.ts';
import { IP6TABLES_BOTH_SCRIPT, IPTABLES_BOTH_SCRIPT, natCommand, parseForwardWalk, parseProxyRules } from './parse-proxy.ts';
import { IPV6_ICMP_HEADERS, PATH_MTU6_SCRIPT, safeAddress } from './parse-ipv6.ts';

/** What an exec returned; exitCode null means the command was killed. */
export interface RawOutput {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

const SAFE_HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const SAFE_KEY = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;

/**
 * The path MTU probe, a fixed script run as `sh -c PATH_MTU_SCRIPT sh ADDRESS WAIT_SECONDS` (the address is an
 * argument, never script text): it prints the MTU of the interface the route to ADDRESS uses, then sends, at once, a
 * don't-fragment ping of exactly that size and a 56-byte one, each waiting WAIT_SECONDS, and prints each one's output
 * followed by a `path-mtu:` line with its exit code (the full one first), then the largest MTU of the node's pods.
 */
export const PATH_MTU_SCRIPT = [
  'exec 2>&1',
  'r=$(ip -4 -o route get "$1") || exit 2',
  'dev=${r#* dev }; dev=${dev%% *}',
  'l=$(ip -o link show dev "$dev") || exit 2',
  'mtu=${l#* mtu }; mtu=${mtu%% *}',
  'case $mtu in ""|*[!0-9]*) echo "path-mtu: no MTU for dev $dev"; exit 2;; esac',
  'echo "path-mtu: dev $dev mtu $mtu"',
  // The two pings run at once (a blackholed path costs one wait, not two): the small one's output waits in the pipe
  // until the full one's is printed, so the output reads as if they had run one after the other.
  '{ ping -M do -s 56 -c 1 -W "$2" "$1" 2>&1; echo "path-mtu: small exit $?"; } | { ping -M do -s $((mtu - 28)) -c 1 -W "$2" "$1" </dev/null; echo "path-mtu: full exit $?"; cat; }',
  // The largest MTU the node's pods send with (their host-side veths, not the veth a node may have as its own uplink,
  // the default route's device): a path that carries that much serves them all.
  'u=$(ip -o route show default 2>/dev/null | sed -n "s/.* dev \\([^ ]*\\).*/\\1/p" | head -n 1)',
  'p=$(ip -o link show type veth 2>/dev/null | grep -v "^[0-9]*: ${u:-/}[@:]" | sed -n "s/.* mtu \\([0-9]*\\) .*/\\1/p" | sort -n | tail -n 1)',
  '[ -n "$p" ] && echo "path-mtu: pods mtu $p"',
].join('; ');

/** Resolves the address by talking to it once (ARP), then prints its neighbor entry; the ping's outcome is not the point. */
export const NEIGHBOR_REFRESH_SCRIPT = 'ping -c 1 -W 1 "$1" >/dev/null 2>&1; exec ip neigh show "$1"';

/**
 * Lists a node's bridge ports, one line each: `ifindex dev bridge hairpin_mode` (the kubelet's or CNI's hairpin
 * setting, which lets a pod reach itself through its Service). Fixed text, no parameters.
 */
export const BRIDGE_PORTS_SCRIPT = [
  'for p in /sys/class/net/*/brport; do',
  'd=${p%/brport}; m=$(readlink "$d/master") || continue;',
  'echo "$(cat "$d/ifindex") ${d##*/} ${m##*/} $(cat "$p/hairpin_mode")";',
  'done',
].join(' ');

/**
 * The packet-loss burst: this many pings, this many seconds apart (a tenth of a second on the wire in all). 2 ms is
 * the smallest interval iputils' ping allows a non-root user ("minimal interval for user must be >= 2 ms"), and below
 * 10 ms it is kept exactly, where `-i 0.01` is rounded up to the kernel's timer tick (about 16 ms a ping: 50 pings took
 * 0.8 s, on the critical path of every run). Echo replies are not subject to the kernel's ICMP rate limit.
 */
export const LOSS_PINGS = 50;
const LOSS_INTERVAL_S = '0.002';

/** The small don't-fragment ping payload of the path MTU probe: it must pass whenever the path works at all. */
export const PATH_MTU_SMALL_PAYLOAD = 56;
/** IPv4 and ICMP header bytes: a ping fills an MTU with a payload this much smaller. */
const IP_ICMP_HEADERS = 28;
/** Route types that match an address but carry nothing. */
const DEAD_ROUTE_TYPES = new Set(['unreachable', 'blackhole', 'prohibit', 'throw']);
/** Route type keywords `ip route` prints before the destination. */
const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'multicast', 'anycast', 'nat', ...DEAD_ROUTE_TYPES]);

/** Builds the argv for an action; throws if a parameter could be mistaken for an option (never a shell string). */
export function buildProbeCommand(action: ProbeAction, timeoutMs: number): string[] {
  const secs = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  switch (action.tool) {
    case 'tcp-connect': {
      // OpenBSD netcat takes an IPv6 literal as it is (no brackets); -6 keeps a host name to its AAAA addresses.
      const family = action.family ?? (isIPv6(action.host) ? 'IPv6' : undefined);
      const only = family === 'IPv6' ? ['-6'] : family === 'IPv4' ? ['-4'] : [];
      return ['nc', ...only, '-z', '-v', '-w', secs, safeHostOrAddress(action.host), String(safePort(action.port))];
    }
    case 'dns-lookup': {
      const type = action.type === 'AAAA' ? ['-t', 'AAAA'] : [];
      if (action.server === undefined) return ['dig', `+time=${secs}`, '+tries=1', '+search', ...type, safeHost(action.name)];
      return [
        'dig',
        `@${safeHostOrAddress(action.server)}`,
        ...(action.port !== undefined && action.port !== 53 ? ['-p', String(safePort(action.port))] : []),
        `+time=${secs}`,
        '+tries=1',
        ...type,
        safeHost(action.name),
      ];
    }
    case 'resolv-conf':
      return ['cat', '/etc/resolv.conf'];
    case 'sysctl':
      if (!SAFE_KEY.test(action.key)) throw new Error(`unsafe sysctl key ${JSON.stringify(action.key)}`);
      return ['sysctl', '-n', action.key];
    case 'forward-policy':
      if (action.flow === undefined) return ['iptables', '-S', 'FORWARD'];
      // One family per walk: IPv6 pod traffic meets ip6tables' FORWARD chain, IPv4 traffic iptables'.
      if ([action.flow.from, ...action.flow.to].every(isIPv6)) return ['sh', '-c', IP6TABLES_BOTH_SCRIPT];
      for (const a of [action.flow.from, ...action.flow.to]) safeIPv4(a);
      return ['sh', '-c', IPTABLES_BOTH_SCRIPT];
    case 'nat-rules':
      // An IPv6 ClusterIP's rules are in kube-proxy's IPv6 tables (ip6tables, nft `table ip6 kube-proxy`).
      if (isIPv6(action.clusterIP)) return action.proxy === undefined ? ['ip6tables-save', '-t', 'nat'] : natCommand(action.proxy, 'IPv6');
      return action.proxy === undefined ? ['iptables-save', '-t', 'nat'] : natCommand(action.proxy);
    case 'route-match':
      if (isIPv6(action.address)) return ['ip', '-6', 'route', 'list', 'match', action.address];
      return ['ip', '-4', 'route', 'list', 'match', safeIPv4(action.address)];
    case 'neighbor':
      return action.refresh
        ? ['sh', '-c', NEIGHBOR_REFRESH_SCRIPT, 'sh', safeAddress(action.address)]
        : ['ip', 'neigh', 'show', safeHostOrAddress(action.address)];
    case 'packet-loss':
      // iputils' ping takes an IPv6 address as it is (it picks the family from the address). Over IPv6 a next hop that
      // never answers neighbor discovery holds each send for seconds, so the burst outlives the exec and prints no
      // summary: `-w` ends it within the probe's time with its summary (until then it may send past the count to get
      // that many answers; the share lost is what is judged).
      if (isIPv6(action.address)) return ['ping', '-q', '-n', '-c', String(LOSS_PINGS), '-i', LOSS_INTERVAL_S, '-W', '1', '-w', secs, action.address];
      return ['ping', '-q', '-n', '-c', String(LOSS_PINGS), '-i', LOSS_INTERVAL_S, '-W', '1', safeAddress(action.address)];
    case 'veth-peer':
      return ['cat', '/sys/class/net/eth0/iflink'];
    case 'bridge-ports':
      return ['sh', '-c', BRIDGE_PORTS_SCRIPT];
    case 'links':
      return ['ip', '-o', '-d', 'link', 'show'];
    case 'path-mtu':
      // Each ping waits half the probe's budget (they run together; the rest is room for the ip commands around them);
      // an IPv6 address takes the IPv6 script (ip -6, 48 header bytes).
      return ['sh', '-c', isIPv6(action.address) ? PATH_MTU6_SCRIPT : PATH_MTU_SCRIPT, 'sh', safeAddress(action.address), String(Math.max(1, Math.floor(timeoutMs / 2000)))];
    default: {
      const never: never = action;
      throw new Error(`unknown probe action ${JSON.stringify(never)}`);
    }
  }
}

/** Parses a command's output into an observation according to the action that produced it. */
export function parseProbeOutput(action: ProbeAction, raw: RawOutput): ProbeObservation {
  // The scripts that read several tools fence each one's output, so one missing tool is no reason to give up on all.
  const sectioned = (action.tool === 'forward-policy' && action.flow !== undefined) || (action.tool === 'nat-rules' && action.proxy !== undefined && action.proxy !== 'nftables');
  const missing = sectioned ? (raw.exitCode === 126 || raw.exitCode === 127 ? detectNotRunnable(raw) : null) : detectNotRunnable(raw);
  if (missing) return missing;
  switch (action.tool) {
    case 'tcp-connect':
      return parseNcOutput(raw);
    case 'dns-lookup':
      return parseDigOutput(raw);
    case 'resolv-conf':
      return parseResolvConf(raw);
    case 'sysctl':
      return parseSysctlOutput(raw, action.key);
    case 'forward-policy':
      return action.flow === undefined ? parseForwardPolicy(raw) : parseForwardWalk(raw, action.flow);
    case 'nat-rules':
      if (action.proxy === undefined) return parseNatRules(raw, action.clusterIP, action.port, action.protocol);
      if (action.proxy === 'cilium') return { kind: 'could-not-run', reason: "Cilium's Service map is read in its agent, not from a node's debug pod" };
      return parseProxyRules(raw, action.proxy, action.clusterIP, action.port, action.protocol);
    case 'route-match':
      return parseRouteMatch(raw);
    case 'neighbor':
      return parseNeighbor(raw, action.address);
    case 'packet-loss':
      return parsePacketLoss(raw);
    case 'veth-peer':
      return parseVethPeer(raw);
    case 'bridge-ports':
      return parseBridgePorts(raw);
    case 'links':
      return parseLinks(raw);
    case 'path-mtu':
      return parsePathMtu(raw, isIPv6(action.address) ? IPV6_ICMP_HEADERS : IP_ICMP_HEADERS);
    default: {
      const never: never = action;
      throw new Error(`unknown probe action ${JSON.stringify(never)}`);
    }
  }
}

/** Parses `nc -z -v -w N host port` (OpenBSD netcat) into connected / refused / timeout / no-route. */
export function parseNcOutput(raw: RawOutput): ProbeObservation {
  const text = combined(raw);
  if (raw.exitCode === 0 && /\bsucceeded!|^Connection to .* succeeded/m.test(text)) return { kind: 'connected' };
  // nc said it connected, but the exec was cut off before its exit status came (exit null: a crowded exec pipeline,
  // e.g. many samples at once): the connection was made all the same.
  if (raw.exitCode === null && /^Connection to .* succeeded!/m.test(text)) return { kind: 'connected' };
  if (/Connection refused/.test(text)) return { kind: 'refused' };
  if (/timed out/.test(text)) return { kind: 'timeout' };
  const route = /(No route to host|Network is unreachable|Host is unreachable)/.exec(text);
  if (route) return { kind: 'no-route', detail: route[1] as string };
  if (/getaddrinfo/.test(text)) return { kind: 'could-not-run', reason: `nc could not resolve the host: ${firstLine(text)}` };
  if (raw.exitCode === null) return { kind: 'timeout' };
  return { kind: 'could-not-run', reason: `unrecognised nc output (exit ${raw.exitCode}): ${firstLine(text)}` };
}

/** Parses `dig` output (search path or `@server`) into resolved / nxdomain / servfail / dns-refused / dns-timeout. */
export function parseDigOutput(raw: RawOutput): ProbeObservation {
  const text = combined(raw);
  const status = /->>HEADER<<-.*status: ([A-Z]+)/.exec(text)?.[1];
  switch (status) {
    case 'NOERROR':
      return { kind: 'resolved', ips: answerAddresses(text) };
    case 'NXDOMAIN':
      return { kind: 'nxdomain' };
    case 'SERVFAIL':
      return { kind: 'servfail' };
    case 'REFUSED':
      return { kind: 'dns-refused' };
    case undefined:
      break;
    default:
      return { kind: 'servfail' };
  }
  if (/communications error to .*: timed out|connection timed out; no servers could be reached/.test(text)) return { kind: 'dns-timeout' };
  if (/communications error to .*: connection refused/.test(text)) return { kind: 'refused' };
  const route = /communications error to .*: (network unreachable|host unreachable)/i.exec(text);
  if (route) return { kind: 'no-route', detail: route[1] as string };
  if (/no servers could be reached/.test(text)) return { kind: 'dns-timeout' };
  return { kind: 'could-not-run', reason: `unrecognised dig output (exit ${String(raw.exitCode)}): ${firstLine(text)}` };
}

/**
 * Parses `cat /etc/resolv.conf` as the resolver reads it (resolv.conf(5)): every `nameserver`, the search list (the last
 * `search` or `domain` line wins; `domain` is a one-entry list) and `options ndots:N`; `#` and `;` start comments.
 */
export function parseResolvConf(raw: RawOutput): ProbeObservation {
  if (raw.exitCode !== 0) return { kind: 'could-not-run', reason: `could not read /etc/resolv.conf: ${firstLine(combined(raw))}` };
  const nameservers: string[] = [];
  let search: string[] = [];
  let ndots: number | undefined;
  for (const line of raw.stdout.split('\n')) {
    const words = line.replace(/[#;].*$/, '').trim().split(/\s+/).filter((w) => w !== '');
    const [key, ...rest] = words;
    if (key === 'nameserver' && rest[0]) nameservers.push(rest[0]);
    else if (key === 'search') search = rest.map((d) => d.replace(/\.$/, ''));
    else if (key === 'domain' && rest[0]) search = [rest[0].replace(/\.$/, '')];
    else if (key === 'options') {
      for (const o of rest) {
        const m = /^ndots:(\d+)$/.exec(o);
        if (m) ndots = Math.min(15, Number(m[1]));
      }
    }
  }
  if (nameservers.length === 0 && search.length === 0) {
    return { kind: 'could-not-run', reason: `no nameserver or search line in /etc/resolv.conf: ${firstLine(raw.stdout)}` };
  }
  return { kind: 'resolv-conf', nameservers, search, ...(ndots !== undefined ? { ndots } : {}) };
}

/**
 * The time dig measured for the answer it printed (`;; Query time: N msec`, or `N usec` when dig runs with -u), in milliseconds; undefined when no answer came (a timeout prints no query time). With +search, dig
 * prints the last query's: the one that answered.
 */
export function parseDigQueryTime(raw: Pick<RawOutput, 'stdout' | 'stderr'>): number | undefined {
  const all = [...`${raw.stdout}\n${raw.stderr}`.matchAll(/^;; Query time: (\d+) (msec|usec)$/gm)];
  const last = all.at(-1);
  if (!last) return undefined;
  const n = Number(last[1]);
  return last[2] === 'usec' ? n / 1000 : n;
}

/** Parses `sysctl -n KEY`. */
export function parseSysctlOutput(raw: RawOutput, key: string): ProbeObservation {
  const value = raw.stdout.trim();
  if (raw.exitCode === 0 && value !== '' && !value.includes('\n')) return { kind: 'sysctl', key, value };
  return { kind: 'could-not-run', reason: `could not read ${key}: ${firstLine(combined(raw))}` };
}

/** Parses `iptables -S FORWARD` into the chain's default policy. */
export function parseForwardPolicy(raw: RawOutput): ProbeObservation {
  const policy = /^-P FORWARD (\S+)/m.exec(raw.stdout)?.[1];
  if (raw.exitCode === 0 && policy) return { kind: 'forward-policy', policy };
  return { kind: 'could-not-run', reason: `could not read the FORWARD chain: ${firstLine(combined(raw))}` };
}

/**
 * Parses `iptables-save -t nat` (kube-proxy iptables mode): is there a KUBE-SERVICES rule for clusterIP:port, and which
 * endpoints does its KUBE-SVC chain DNAT to? IPVS and nftables modes are not read.
 */
export function parseNatRules(raw: RawOutput, clusterIP: string, port: number, protocol: Protocol): ProbeObservation {
  if (raw.exitCode !== 0 || !/^\*nat$/m.test(raw.stdout)) {
    return { kind: 'could-not-run', reason: `could not read the nat table: ${firstLine(combined(raw))}` };
  }
  const rules = raw.stdout.split('\n').filter((l) => l.startsWith('-A '));
  const proto = protocol.toLowerCase();
  const serviceRule = rules.find(
    (l) =>
      l.startsWith('-A KUBE-SERVICES ') &&
      l.includes(` -d ${clusterIP}/${isIPv6(clusterIP) ? 128 : 32} `) &&
      l.includes(` -p ${proto} `) &&
      new RegExp(`--dport ${port}(\\s|$)`).test(l) &&
      / -j KUBE-SVC-/.test(l),
  );
  const svcChain = serviceRule ? / -j (KUBE-SVC-\S+)/.exec(serviceRule)?.[1] : undefined;
  if (!svcChain) return { kind: 'nat-rules', clusterIP, port, present: false, endpoints: [] };
  const endpoints: string[] = [];
  for (const rule of rules) {
    if (!rule.startsWith(`-A ${svcChain} `)) continue;
    const sep = / -j (KUBE-SEP-\S+)/.exec(rule)?.[1];
    if (!sep) continue;
    for (const sepRule of rules) {
      const dest = sepRule.startsWith(`-A ${sep} `) ? /--to-destination (\S+)/.exec(sepRule)?.[1] : undefined;
      if (dest) endpoints.push(dest);
    }
  }
  return { kind: 'nat-rules', clusterIP, port, present: true, endpoints };
}

/**
 * Parses `ip -4 route list match ADDR`: the most specific matching route decides. A route more specific than the
 * default one is present (pod CIDR, calico block, node subnet); only the default route, none at all, or an
 * unreachable/blackhole/prohibit route is absent.
 */
export function parseRouteMatch(raw: RawOutput): ProbeObservation {
  if (raw.exitCode !== 0) return { kind: 'could-not-run', reason: `could not list the routes: ${firstLine(combined(raw))}` };
  // Multipath routes continue on indented `nexthop` lines.
  const routes: string[] = [];
  for (const l of raw.stdout.split('\n')) {
    if (l.trim() === '') continue;
    if (/^\s/.test(l) && routes.length > 0) routes[routes.length - 1] += ` ${l.trim()}`;
    else routes.push(l.trim());
  }
  let best: { type: string; dst: string; prefix: number; line: string } | undefined;
  for (const line of routes) {
    const tokens = line.split(/\s+/);
    const type = ROUTE_TYPES.has(tokens[0] ?? '') ? (tokens.shift() as string) : 'unicast';
    const dst = tokens[0] ?? '';
    const prefix = dst === 'default' ? 0 : dst.includes('/') ? Number(dst.split('/')[1]) : dst.includes(':') ? 128 : 32;
    if (!Number.isInteger(prefix)) return { kind: 'could-not-run', reason: `unrecognised ip route output: ${line}` };
    if (!best || prefix > best.prefix) best = { type, dst, prefix, line };
  }
  if (!best) return { kind: 'route', present: false, error: 'no route matches the address' };
  const dev = /\bdev (\S+)/.exec(best.line)?.[1];
  const via = /\bvia (\S+)/.exec(best.line)?.[1];
  const route = best.prefix === 0 ? 'default' : best.dst;
  const where = { route, ...(dev ? { dev } : {}), ...(via ? { via } : {}) };
  if (DEAD_ROUTE_TYPES.has(best.type)) return { kind: 'route', present: false, ...where, error: `${best.type} route ${best.dst}` };
  return { kind: 'route', present: best.prefix > 0, ...where };
}

/** Parses `ip neigh show ADDR`; no entry gives state NONE and mac null. */
export function parseNeighbor(raw: RawOutput, ip: string): ProbeObservation {
  if (raw.exitCode !== 0) return { kind: 'could-not-run', reason: `could not read the neighbor table: ${firstLine(combined(raw))}` };
  const line = raw.stdout.split('\n').find((l) => l.startsWith(`${ip} `));
  if (!line) return { kind: 'neighbor', ip, mac: null, state: 'NONE' };
  const mac = /\blladdr (\S+)/.exec(line)?.[1] ?? null;
  const state = line.trim().split(/\s+/).filter((t) => /^[A-Z_]+$/.test(t)).pop() ?? 'UNKNOWN';
  const dev = /\bdev (\S+)/.exec(line)?.[1];
  return { kind: 'neighbor', ip, mac, state, ...(dev ? { dev } : {}) };
}

/** Parses `ping -q -c N …`'s summary: packets sent and received, and the average round trip when any came back. */
export function parsePacketLoss(raw: RawOutput): ProbeObservation {
  const text = combined(raw);
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(text);
  if (!counts) return { kind: 'could-not-run', reason: `ping printed no summary: ${firstLine(text)}` };
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(text);
  return { kind: 'loss', sent: Number(counts[1]), received: Number(counts[2]), ...(rtt ? { rttMs: Number(rtt[1]) } : {}) };
}

/** Parses `cat /sys/class/net/eth0/iflink`: the ifindex of the veth's other end, on the node. */
export function parseVethPeer(raw: RawOutput): ProbeObservation {
  const text = raw.stdout.trim();
  if (raw.exitCode !== 0 || !/^\d+$/.test(text)) return { kind: 'could-not-run', reason: `could not read eth0's peer interface: ${firstLine(combined(raw))}` };
  return { kind: 'veth-peer', ifindex: Number(text) };
}

/** Parses BRIDGE_PORTS_SCRIPT's lines: `ifindex dev bridge hairpin_mode`. */
export function parseBridgePorts(raw: RawOutput): ProbeObservation {
  if (raw.exitCode !== 0) return { kind: 'could-not-run', reason: `could not list the bridge ports: ${firstLine(combined(raw))}` };
  const ports = raw.stdout.split('\n').flatMap((line) => {
    const m = /^(\d+) (\S+) (\S+) ([01])$/.exec(line.trim());
    return m ? [{ ifindex: Number(m[1]), dev: m[2] as string, bridge: m[3] as string, hairpin: m[4] === '1' }] : [];
  });
  return { kind: 'bridge-ports', ports };
}

/**
 * Parses `ip -o -d link show`: one line per interface, its sections joined by `\` (the header with name, flags, MTU
 * and master; the link layer; then the type's details, whose first word is the type).
 */
export function parseLinks(raw: RawOutput): ProbeObservation {
  if (raw.exitCode !== 0) return { kind: 'could-not-run', reason: `could not list the interfaces: ${firstLine(combined(raw))}` };
  const links = raw.stdout.split('\n').flatMap((line): NodeLink[] => {
    const head = /^\d+: ([^:@\s]+)(?:@\S+)?: <[^>]*> mtu (\d+)/.exec(line);
    if (!head) return [];
    const sections = line.split('\\').map((s) => s.trim());
    const type = sections[2]?.split(/\s+/)[0];
    const master = / master (\S+)/.exec(sections[0] ?? '')?.[1];
    const port = type === 'vxlan' ? / dstport (\d+)/.exec(sections[2] ?? '')?.[1] : undefined;
    return [
      {
        name: head[1] as string,
        mtu: Number(head[2]),
        ...(type && type !== 'addrgenmode' ? { type } : {}),
        ...(master ? { master } : {}),
        ...(port ? { vxlanPort: Number(port) } : {}),
      },
    ];
  });
  return links.length > 0 ? { kind: 'links', links } : { kind: 'could-not-run', reason: `no interface in the output: ${firstLine(combined(raw))}` };
}

/** Parses one `ping -M do -s SIZE -c 1 -W N ADDR`: passed, or failed with the MTU the kernel reported when it did. */
export function parsePing(raw: RawOutput, size: number): ProbeObservation {
  const text = combined(raw);
  // iputils prints `mtu=1450` for IPv4 and `mtu: 1430` for IPv6 when the node's own route refuses the size.
  const tooLong = /message too long, mtu[=:] ?(\d+)/.exec(text) ?? /Frag needed and DF set \(mtu = (\d+)\)/.exec(text);
  if (tooLong) return { kind: 'mtu', size, passed: false, mtu: Number(tooLong[1]) };
  const received = /(\d+) packets transmitted, (\d+) received/.exec(text);
  if (received) return { kind: 'mtu', size, passed: Number(received[2]) > 0 };
  const route = /(Network is unreachable|No route to host|Host is unreachable)/.exec(text);
  if (route) return { kind: 'no-route', detail: route[1] as string };
  return { kind: 'could-not-run', reason: `unrecognised ping output (exit ${String(raw.exitCode)}): ${firstLine(text)}` };
}

/**
 * Parses the output of PATH_MTU_SCRIPT (or PATH_MTU6_SCRIPT, with `headers` 48): the route's interface and MTU, whether the
 * ping of that full size passed, and whether the 56-byte one did.
 */
export function parsePathMtu(raw: RawOutput, headers: number = IP_ICMP_HEADERS): ProbeObservation {
  const text = combined(raw);
  const header = /^path-mtu: dev (\S+) mtu (\d+)$/m.exec(text);
  if (!header) {
    const route = /RTNETLINK answers: (.+)/.exec(text)?.[1]?.trim();
    if (route) return { kind: 'no-route', detail: route };
    return { kind: 'could-not-run', reason: `unrecognised path MTU probe output (exit ${String(raw.exitCode)}): ${firstLine(text)}` };
  }
  const dev = header[1] as string;
  const mtu = Number(header[2]);
  const size = mtu - headers;
  const afterHeader = text.slice(header.index + header[0].length);
  const pods = /^path-mtu: pods mtu (\d+)$/m.exec(afterHeader);
  const full = /^([\s\S]*?)^path-mtu: full exit (\d+)$/m.exec(afterHeader);
  const small = full ? /^([\s\S]*?)^path-mtu: small exit (\d+)$/m.exec(afterHeader.slice(full.index + full[0].length)) : null;
  if (!full || !small) return { kind: 'could-not-run', reason: `the path MTU probe did not finish (exit ${String(raw.exitCode)})` };
  const fullObs = parsePing({ stdout: full[1] as string, stderr: '', exitCode: Number(full[2]) }, size);
  const smallObs = parsePing({ stdout: small[1] as string, stderr: '', exitCode: Number(small[2]) }, PATH_MTU_SMALL_PAYLOAD);
  if (fullObs.kind !== 'mtu') return fullObs.kind === 'no-route' || smallObs.kind !== 'mtu' ? fullObs : { ...smallObs, size, passed: false, dev, mtu };
  return {
    kind: 'mtu',
    size,
    passed: fullObs.passed,
    mtu: fullObs.mtu ?? mtu,
    dev,
    ...(smallObs.kind === 'mtu' ? { smallPassed: smallObs.passed } : {}),
    ...(pods ? { podMtu: Number(pods[1]) } : {}),
    deviceMtu: mtu,
  };
}

function detectNotRunnable(raw: RawOutput): ProbeObservation | null {
  const text = combined(raw);
  if (raw.exitCode === 126 || raw.exitCode === 127 || /executable file not found|: not found$|command not found/m.test(text)) {
    return { kind: 'could-not-run', reason: `the tool is not available in the probe image: ${firstLine(text)}` };
  }
  if (/Permission denied \(you must be root\)|Operation not permitted/.test(text) && raw.exitCode !== 0) {
    return { kind: 'could-not-run', reason: `not permitted in the probe container: ${firstLine(text)}` };
  }
  return null;
}

function answerAddresses(text: string): string[] {
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(\n\n|$)/.exec(text)?.[1] ?? '';
  const ips: string[] = [];
  for (const line of section.split('\n')) {
    const m = /\sIN\s+A\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line) ?? /\sIN\s+AAAA\s+([0-9a-fA-F:.]+)\s*$/.exec(line);
    if (m && ipFamilyOf(m[1] as string) !== undefined) ips.push(m[1] as string);
  }
  return ips;
}

function combined(raw: RawOutput): string {
  return raw.stderr === '' ? raw.stdout : raw.stdout === '' ? raw.stderr : `${raw.stdout}\n${raw.stderr}`;
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '(no output)';
}

function safeHost(host: string): string {
  if (!SAFE_HOST.test(host) || host.length > 253) throw new Error(`unsafe host or name for a probe: ${JSON.stringify(host)}`);
  return host;
}

/** A host name, or an address of either family (an IPv6 literal holds ':', which no option starts with). */
function safeHostOrAddress(host: string): string {
  return isIPv6(host) ? host : safeHost(host);
}

function safeIPv4(address: string): string {
  if (!isIPv4(address)) {
    throw new Error(`not an IPv4 address for a probe: ${JSON.stringify(address)}`);
  }
  return address;
}

function safePort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port for a probe: ${port}`);
  return port;
}
