/**
 * kube-proxy's iptables mode as a pure renderer: Services and their endpoints in, `iptables-restore --noflush` text out.
 * Only KUBE-* chains are declared, so rules in other chains (faults, NETPOL-*) survive a re-apply.
 */
import { createHash } from 'node:crypto';
import type { IPFamily, ScenarioFault } from '../model.ts';

/** One endpoint of a Service: its pod IP, readiness, and the target port for each service port, keyed by port name ('' when unnamed). */
export interface ServiceEndpoint {
  ip: string;
  ready: boolean;
  ports: Record<string, number>;
  /** The node the endpoint runs on (EndpointSlice `nodeName`); internalTrafficPolicy Local keeps only this node's. */
  nodeName?: string;
}

/** A Service as kube-proxy sees it. */
export interface ServiceRules {
  namespace: string;
  name: string;
  /** 'None' or '' (headless) gets no rules. */
  clusterIP: string;
  ports: { name?: string; port: number; protocol: 'TCP' | 'UDP' }[];
  endpoints: ServiceEndpoint[];
  /** Absent means Cluster. */
  internalTrafficPolicy?: 'Cluster' | 'Local';
  /** Dual-stack: the Service's IPv6 ClusterIP and the endpoints of its IPv6 EndpointSlices (the IPv6 proxier's view). */
  v6?: { clusterIP: string; endpoints: ServiceEndpoint[] };
}

/** The IPv6 proxier's view of Services: each one's IPv6 ClusterIP and endpoints (Services without one have no IPv6 rules). */
export function ipv6View(services: ServiceRules[]): ServiceRules[] {
  return services.flatMap((s) => {
    if (s.v6 === undefined) return [];
    const { v6, ...rest } = s;
    return [{ ...rest, clusterIP: v6.clusterIP, endpoints: v6.endpoints }];
  });
}

/** `ip:port`, or `[ip]:port` for IPv6, as Go's net.JoinHostPort writes an endpoint (and kube-proxy hashes it). */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Input of renderKubeProxyRules. */
export interface KubeProxyInput {
  services: ServiceRules[];
  /** The pod network; traffic to a ClusterIP from outside it is masqueraded, as kube-proxy does with --cluster-cidr. */
  clusterCIDR: string;
  /** Leave out rules for every Service ('all') or for the listed `ns/name` ones (the kube-proxy-rules-missing fault). */
  omit?: 'all' | string[];
  /** nat chains the previous render created; those no longer needed are deleted. */
  previousChains?: string[];
  /** The node these rules are for: a Service with internalTrafficPolicy Local uses only endpoints on it. */
  nodeName?: string;
  /** The proxier's family (absent: IPv4): IPv6 writes the ip6tables twin (/128 hosts, [ip]:port, icmp6 rejects). */
  family?: IPFamily;
}

/** Output of renderKubeProxyRules: the restore text and the per-service nat chains it declares. */
export interface KubeProxyOutput {
  text: string;
  chains: string[];
}

/** The mark kube-proxy uses to ask KUBE-POSTROUTING to masquerade. */
export const MASQ_MARK = '0x4000';

/** Encodes bytes as RFC 4648 base32 without padding (what kube-proxy uses for chain names). */
export function encodeBase32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** Hashes a string into the 16-character suffix kube-proxy puts on KUBE-SVC-/KUBE-SEP- chain names. */
export function hashChainSuffix(s: string): string {
  return encodeBase32(createHash('sha256').update(s).digest()).slice(0, 16);
}

/** Returns `ns/name:port` (or `ns/name` for an unnamed port), kube-proxy's ServicePortName. */
export function formatServicePortName(svc: { namespace: string; name: string }, portName: string | undefined): string {
  return `${svc.namespace}/${svc.name}${portName ? `:${portName}` : ''}`;
}

/** Returns the KUBE-SVC chain of a service port. */
export function getServiceChainName(spn: string, protocol: string): string {
  return `KUBE-SVC-${hashChainSuffix(spn + protocol.toLowerCase())}`;
}

/** Returns the KUBE-SVL chain of a service port (internalTrafficPolicy Local): the KUBE-SVC hash with another prefix. */
export function getLocalServiceChainName(spn: string, protocol: string): string {
  return `KUBE-SVL-${hashChainSuffix(spn + protocol.toLowerCase())}`;
}

/** Returns the KUBE-SEP chain of one endpoint of a service port. */
export function getEndpointChainName(spn: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hashChainSuffix(spn + protocol.toLowerCase() + endpoint)}`;
}

/** Returns which Services a node must leave out because of kube-proxy-rules-missing faults on it (undefined: none). */
export function getOmittedServices(faults: ScenarioFault[], node: string): 'all' | string[] | undefined {
  const hits = faults.filter((f) => f.type === 'kube-proxy-rules-missing' && f.node === node);
  if (hits.length === 0) return undefined;
  const names: string[] = [];
  for (const f of hits) {
    if (f.type !== 'kube-proxy-rules-missing') continue;
    if (f.service === undefined) return 'all';
    names.push(f.service);
  }
  return names;
}

/** Merges two omit settings ('all' wins). */
export function mergeOmit(a: 'all' | string[] | undefined, b: 'all' | string[] | undefined): 'all' | string[] | undefined {
  if (a === 'all' || b === 'all') return 'all';
  if (a === undefined) return b;
  if (b === undefined) return a;
  return [...new Set([...a, ...b])];
}

/** Renders kube-proxy's iptables-mode rules (nat and filter) for the given Services as iptables-restore --noflush text. */
export function renderKubeProxyRules(input: KubeProxyInput): KubeProxyOutput {
  const nat: string[] = [];
  const natRules: string[] = [];
  const filterRules: string[] = [];
  const chains: string[] = [];
  const omit = input.omit;
  const services = omit === 'all' ? [] : input.services.filter((s) => !(omit ?? []).includes(`${s.namespace}/${s.name}`));
  const v6 = input.family === 'IPv6';
  const host = v6 ? '128' : '32';
  const unreachable = v6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable';

  for (const svc of services) {
    if (svc.clusterIP === 'None' || svc.clusterIP === '') continue;
    for (const port of svc.ports) {
      const spn = formatServicePortName(svc, port.name);
      const proto = port.protocol.toLowerCase();
      const match = `-d ${svc.clusterIP}/${host} -p ${proto} -m ${proto} --dport ${port.port}`;
      const ready = svc.endpoints
        .filter((e) => e.ready)
        .flatMap((e) => {
          const target = e.ports[port.name ?? ''];
          return target === undefined ? [] : [{ ip: e.ip, port: target, nodeName: e.nodeName }];
        });
      if (ready.length === 0) {
        filterRules.push(
          `-A KUBE-SERVICES ${match} -m comment --comment "${spn} has no endpoints" -j REJECT --reject-with ${unreachable}`,
        );
        continue;
      }
      // pkg/proxy/iptables/proxier.go syncProxyRules: with internalTrafficPolicy Local the ClusterIP jumps to KUBE-SVL,
      // which holds only this node's endpoints; a node without one DROPs in the filter table ("has no local endpoints").
      const local = svc.internalTrafficPolicy === 'Local';
      const usable = local ? ready.filter((e) => e.nodeName !== undefined && e.nodeName === input.nodeName) : ready;
      if (usable.length === 0) {
        filterRules.push(`-A KUBE-SERVICES ${match} -m comment --comment "${spn} has no local endpoints" -j DROP`);
        continue;
      }
      const svcChain = local ? getLocalServiceChainName(spn, proto) : getServiceChainName(spn, proto);
      chains.push(svcChain);
      natRules.push(`-A KUBE-SERVICES ${match} -m comment --comment "${spn} cluster IP" -j ${svcChain}`);
      natRules.push(`-A ${svcChain} ! -s ${input.clusterCIDR} ${match} -m comment --comment "${spn} cluster IP" -j KUBE-MARK-MASQ`);
      usable.forEach((ep, i) => {
        const endpoint = joinHostPort(ep.ip, ep.port);
        const sepChain = getEndpointChainName(spn, proto, endpoint);
        chains.push(sepChain);
        const left = usable.length - i;
        const pick = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(10)} ` : '';
        natRules.push(`-A ${svcChain} -m comment --comment "${spn} -> ${endpoint}" ${pick}-j ${sepChain}`);
        natRules.push(`-A ${sepChain} -s ${ep.ip}/${host} -m comment --comment "${spn}" -j KUBE-MARK-MASQ`);
        natRules.push(`-A ${sepChain} -p ${proto} -m comment --comment "${spn}" -m ${proto} -j DNAT --to-destination ${endpoint}`);
      });
    }
  }

  const stale = (input.previousChains ?? []).filter((c) => !chains.includes(c));
  nat.push('*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]');
  for (const c of [...chains, ...stale]) nat.push(`:${c} - [0:0]`);
  nat.push(
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${MASQ_MARK}`,
    `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${MASQ_MARK}`,
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
    ...natRules,
  );
  for (const c of stale) nat.push(`-X ${c}`);
  nat.push('COMMIT');
  const filter = ['*filter', ':KUBE-SERVICES - [0:0]', ...filterRules, 'COMMIT'];
  return { text: `${[...filter, ...nat].join('\n')}\n`, chains };
}

/**
 * Rules that hook the KUBE-* chains into the built-in chains; installed once per node, never re-applied. With
 * `forward`, also kube-proxy's KUBE-FORWARD chain (pkg/proxy/iptables/proxier.go syncProxyRules, "kubernetes forwarding
 * rules"): it ACCEPTs masquerade-marked and established traffic, which is what lets Services work under a FORWARD policy
 * of DROP. The lab's first cluster shape has no KUBE-FORWARD (its rules stay as they always were).
 */
export function renderKubeProxyHooks(opts: { forward?: boolean } = {}): string {
  const portals = '-m comment --comment "kubernetes service portals"';
  const forwarding = '-m comment --comment "kubernetes forwarding rules"';
  const forward = opts.forward
    ? [
        `-A FORWARD ${forwarding} -j KUBE-FORWARD`,
        '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
        `-A KUBE-FORWARD ${forwarding} -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`,
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      ]
    : [];
  return `${[
    '*filter',
    ':KUBE-SERVICES - [0:0]',
    ...(opts.forward ? [':KUBE-FORWARD - [0:0]'] : []),
    ...forward.slice(0, 1),
    `-A INPUT -m conntrack --ctstate NEW ${portals} -j KUBE-SERVICES`,
    `-A FORWARD -m conntrack --ctstate NEW ${portals} -j KUBE-SERVICES`,
    `-A OUTPUT -m conntrack --ctstate NEW ${portals} -j KUBE-SERVICES`,
    ...forward.slice(1),
    'COMMIT',
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    `-A PREROUTING ${portals} -j KUBE-SERVICES`,
    `-A OUTPUT ${portals} -j KUBE-SERVICES`,
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    'COMMIT',
  ].join('\n')}\n`;
}
