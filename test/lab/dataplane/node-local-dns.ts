/**
 * NodeLocal DNSCache in a node's namespace, as a pure plan: the `nodelocaldns` dummy interface holding the local IP,
 * the iptables rules node-cache keeps (kubernetes/dns cmd/node-cache: NOTRACK in raw, ACCEPT in filter, for the DNS and
 * health ports) and the cache's argv (dnsmasq standing in for CoreDNS: listens on the local IP, forwards the cluster
 * domain and reverse zones to the kube-dns-upstream ClusterIP, answers nothing else).
 */

/** Where a node's cache listens and what it forwards to. */
export interface NodeLocalDnsPlan {
  /** 169.254.20.10, or fd00::10 when the cluster DNS is IPv6 (upstream's __PILLAR__LOCAL__DNS__). */
  localIP: string;
  /** The kube-dns-upstream Service's ClusterIP (__PILLAR__CLUSTER__DNS__). */
  upstreamIP: string;
  /** The cluster domain (__PILLAR__DNS__DOMAIN__). */
  domain: string;
}

/** node-cache's interface name (its -interfacename default). */
export const NODE_LOCAL_DNS_INTERFACE = 'nodelocaldns';
/** The health plugin's port (`health __PILLAR__LOCAL__DNS__:8080`), which node-cache also exempts from conntrack. */
const HEALTH_PORT = '8080';

/**
 * `ip` batch lines creating the interface that holds the local IP: a dummy, as node-cache's netif manager makes it. On a
 * kernel built without the dummy driver (`type: 'bridge'`) an empty bridge of the same name stands in: with no port it
 * carries nothing either, and the address on it is delivered locally the same way.
 */
export function nodeLocalDnsLinks(plan: NodeLocalDnsPlan, type: 'dummy' | 'bridge' = 'dummy'): string[] {
  const v6 = isNodeLocalDnsV6(plan);
  // An IPv6 address is a /128; on the stand-in bridge (no carrier) it would stay tentative without nodad.
  const addr = v6 ? `addr add ${plan.localIP}/128 dev ${NODE_LOCAL_DNS_INTERFACE}${type === 'bridge' ? ' nodad' : ''}` : `addr add ${plan.localIP}/32 dev ${NODE_LOCAL_DNS_INTERFACE}`;
  return [`link add ${NODE_LOCAL_DNS_INTERFACE} type ${type}`, addr, `link set ${NODE_LOCAL_DNS_INTERFACE} up`];
}

/** Whether the cache listens on an IPv6 address (its rules then go through ip6tables, as node-cache does for an IPv6 -localip). */
export function isNodeLocalDnsV6(plan: NodeLocalDnsPlan): boolean {
  return plan.localIP.includes(':');
}

/**
 * The iptables rules node-cache ensures for its local IP, each as `[table, chain, ...match]`, in its order; node-cache
 * inserts each at the top of its chain (EnsureRule Prepend).
 */
export function nodeLocalDnsRules(plan: NodeLocalDnsPlan, port = '53'): string[][] {
  const ip = plan.localIP;
  return [
    ['raw', 'PREROUTING', '-p', 'tcp', '-d', ip, '--dport', port, '-j', 'NOTRACK'],
    ['raw', 'PREROUTING', '-p', 'udp', '-d', ip, '--dport', port, '-j', 'NOTRACK'],
    ['filter', 'INPUT', '-p', 'tcp', '-d', ip, '--dport', port, '-j', 'ACCEPT'],
    ['filter', 'INPUT', '-p', 'udp', '-d', ip, '--dport', port, '-j', 'ACCEPT'],
    ['raw', 'OUTPUT', '-p', 'tcp', '-s', ip, '--sport', port, '-j', 'NOTRACK'],
    ['raw', 'OUTPUT', '-p', 'udp', '-s', ip, '--sport', port, '-j', 'NOTRACK'],
    ['filter', 'OUTPUT', '-p', 'tcp', '-s', ip, '--sport', port, '-j', 'ACCEPT'],
    ['filter', 'OUTPUT', '-p', 'udp', '-s', ip, '--sport', port, '-j', 'ACCEPT'],
    ['raw', 'OUTPUT', '-p', 'tcp', '-d', ip, '--dport', port, '-j', 'NOTRACK'],
    ['raw', 'OUTPUT', '-p', 'udp', '-d', ip, '--dport', port, '-j', 'NOTRACK'],
    ['raw', 'OUTPUT', '-p', 'tcp', '-d', ip, '--dport', HEALTH_PORT, '-j', 'NOTRACK'],
    ['raw', 'OUTPUT', '-p', 'tcp', '-s', ip, '--sport', HEALTH_PORT, '-j', 'NOTRACK'],
  ];
}

/** The cache process's argv: dnsmasq on the local IP, the cluster zones forwarded upstream, other names NXDOMAIN. */
export function nodeCacheArgv(plan: NodeLocalDnsPlan, pidFile: string): string[] {
  return [
    'dnsmasq',
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--user=root',
    `--pid-file=${pidFile}`,
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    `--listen-address=${plan.localIP}`,
    '--port=53',
    `--server=/${plan.domain}/${plan.upstreamIP}`,
    `--server=/in-addr.arpa/${plan.upstreamIP}`,
    `--server=/ip6.arpa/${plan.upstreamIP}`,
    // `.:53 forward . __PILLAR__UPSTREAM__SERVERS__`: the lab has no upstream resolver, so other names are NXDOMAIN.
    '--local=/#/',
    '--log-facility=-',
  ];
}
