/**
 * kube-proxy's nftables mode as a pure renderer: Services and their endpoints in, one `nft -f` transaction out that
 * replaces `table ip kube-proxy` whole. The layout follows pkg/proxy/nftables/proxier.go (setupNFTables,
 * syncProxyRules, writeServiceToEndpointRules) and the expected rulesets of its proxier_test.go: the base chains with
 * their hooks and priorities, the cluster-ips set, the service-ips / no-endpoint-services verdict maps,
 * `service-<hash>-<ns>/<name>/<proto>/<port>`, `local-...` and `endpoint-<hash>-...__<ip>/<port>` chains, and masquerade
 * marking through mark-for-masquerade / masquerading. Nothing here writes iptables.
 */
import { createHash } from 'node:crypto';
import type { IPFamily } from '../model.ts';
import { encodeBase32, formatServicePortName, joinHostPort, MASQ_MARK, type ServiceRules } from './kube-proxy.ts';

/** Input of renderNftablesProxy. */
export interface NftablesProxyInput {
  services: ServiceRules[];
  /** The pod network (kube-proxy's --cluster-cidr): ClusterIP traffic from outside it is masqueraded. */
  clusterCIDR: string;
  /** The Service range: traffic to an address in it that no Service holds is dropped ("unallocated ClusterIPs"). */
  serviceCIDR: string;
  /** The node's own address, the only member of nodeport-ips (nodePortAddresses "primary", the 1.33 default). */
  nodeIP: string;
  /** The node the rules are for: internalTrafficPolicy Local keeps only endpoints on it. */
  nodeName: string;
  /** Leave out every Service ('all') or the listed `ns/name` ones (the kube-proxy-rules-missing fault). */
  omit?: 'all' | string[];
  /** The proxier's family (absent: IPv4): IPv6 writes `table ip6 kube-proxy` with ipv6_addr sets and `ip6` matches. */
  family?: IPFamily;
}

/** The name of kube-proxy's nftables table (family ip). */
export const KUBE_PROXY_TABLE = 'kube-proxy';

/**
 * kube-proxy's hashAndTruncate: the first 8 base32 characters of the name's SHA-256, a dash, then the name
 * (truncated with "..." past 240 characters, which Kubernetes names never reach).
 */
export function hashAndTruncate(name: string): string {
  const hashed = `${encodeBase32(createHash('sha256').update(name).digest()).slice(0, 8)}-${name}`;
  return hashed.length > 240 ? `${hashed.slice(0, 237)}...` : hashed;
}

/** The base of a service port's chains: `HASH-ns/name/proto/portName` (servicePortChainNameBase). */
export function getNftServicePortBase(svc: { namespace: string; name: string }, protocol: string, portName: string | undefined): string {
  return hashAndTruncate(`${svc.namespace}/${svc.name}/${protocol.toLowerCase()}/${portName ?? ''}`);
}

/**
 * The chain of one endpoint: `endpoint-HASH-ns/name/proto/portName__ip/port` (servicePortEndpointChainNameBase); an
 * IPv6 address has its colons turned into dots there, as chain names cannot hold colons.
 */
export function getNftEndpointChain(svc: { namespace: string; name: string }, protocol: string, portName: string | undefined, ip: string, port: number): string {
  return `endpoint-${hashAndTruncate(`${svc.namespace}/${svc.name}/${protocol.toLowerCase()}/${portName ?? ''}__${ip.replaceAll(':', '.')}/${port}`)}`;
}

/** The fixed part of the table: sets, maps, base chains and their jumps, exactly as setupNFTables creates them. */
function baseRules(t: string, input: NftablesProxyInput): string[] {
  const lines = baseRulesIPv4(t, input);
  if (input.family !== 'IPv6') return lines;
  // setupNFTables' IPv6 table: the same objects with ip6 matches and ipv6_addr keys.
  return lines.map((l) => l.replaceAll('ipv4_addr', 'ipv6_addr').replaceAll(' ip daddr ', ' ip6 daddr ').replaceAll(' ip saddr ', ' ip6 saddr '));
}

function baseRulesIPv4(t: string, input: NftablesProxyInput): string[] {
  return [
    `add table ${t} { comment "rules for kube-proxy" ; }`,
    `add set ${t} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`,
    `add set ${t} nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`,
    `add map ${t} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
    `add map ${t} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add map ${t} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ${t} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${t} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add chain ${t} cluster-ips-check`,
    `add chain ${t} filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }`,
    `add chain ${t} filter-output-pre-dnat { type filter hook output priority -110 ; }`,
    `add chain ${t} filter-forward { type filter hook forward priority 0 ; }`,
    `add chain ${t} filter-input { type filter hook input priority 0 ; }`,
    `add chain ${t} filter-output { type filter hook output priority 0 ; }`,
    `add chain ${t} firewall-check`,
    `add chain ${t} mark-for-masquerade`,
    `add chain ${t} masquerading`,
    `add chain ${t} nat-output { type nat hook output priority -100 ; }`,
    `add chain ${t} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add chain ${t} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${t} nodeport-endpoints-check`,
    `add chain ${t} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
    `add chain ${t} services`,
    `add chain ${t} service-endpoints-check`,
    `add rule ${t} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    `add rule ${t} cluster-ips-check ip daddr { ${input.serviceCIDR} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    `add rule ${t} filter-prerouting-pre-dnat ct state new jump firewall-check`,
    `add rule ${t} filter-forward ct state new jump service-endpoints-check`,
    `add rule ${t} filter-forward ct state new jump cluster-ips-check`,
    `add rule ${t} filter-input ct state new jump nodeport-endpoints-check`,
    `add rule ${t} filter-input ct state new jump service-endpoints-check`,
    `add rule ${t} filter-output ct state new jump service-endpoints-check`,
    `add rule ${t} filter-output-pre-dnat ct state new jump firewall-check`,
    `add rule ${t} filter-output ct state new jump cluster-ips-check`,
    `add rule ${t} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add rule ${t} mark-for-masquerade mark set mark or ${MASQ_MARK}`,
    `add rule ${t} masquerading mark and ${MASQ_MARK} == 0 return`,
    `add rule ${t} masquerading mark set mark xor ${MASQ_MARK}`,
    `add rule ${t} masquerading masquerade fully-random`,
    `add rule ${t} nat-output jump services`,
    `add rule ${t} nat-postrouting jump masquerading`,
    `add rule ${t} nat-prerouting jump services`,
    `add rule ${t} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ${t} reject-chain reject`,
    `add rule ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${t} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
    `add element ${t} nodeport-ips { ${input.nodeIP} }`,
    `add rule ${t} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
  ];
}

/**
 * Renders the `nft -f` text that (re)creates kube-proxy's table for one node: `add` + `delete` first, so the whole
 * table is replaced in a single atomic transaction, stale service chains included.
 */
export function renderNftablesProxy(input: NftablesProxyInput): string {
  const v6 = input.family === 'IPv6';
  const ipX = v6 ? 'ip6' : 'ip';
  const t = `${ipX} ${KUBE_PROXY_TABLE}`;
  const out = [`add table ${t}`, `delete table ${t}`, ...baseRules(t, input)];
  const omit = input.omit;
  const services = omit === 'all' ? [] : input.services.filter((s) => !(omit ?? []).includes(`${s.namespace}/${s.name}`));
  for (const svc of services) {
    if (svc.clusterIP === 'None' || svc.clusterIP === '') continue;
    for (const port of svc.ports) {
      const spn = formatServicePortName(svc, port.name);
      const proto = port.protocol.toLowerCase();
      const key = `${svc.clusterIP} . ${proto} . ${port.port}`;
      const ready = svc.endpoints
        .filter((e) => e.ready)
        .flatMap((e) => {
          const target = e.ports[port.name ?? ''];
          return target === undefined ? [] : [{ ip: e.ip, port: target, nodeName: e.nodeName }];
        });
      const local = svc.internalTrafficPolicy === 'Local';
      const usable = local ? ready.filter((e) => e.nodeName !== undefined && e.nodeName === input.nodeName) : ready;
      out.push(`add element ${t} cluster-ips { ${svc.clusterIP} }`);
      if (usable.length === 0) {
        // No endpoints at all: reject; internalTrafficPolicy Local without one on this node: drop.
        const verdict = ready.length === 0 ? 'goto reject-chain' : 'drop';
        out.push(`add element ${t} no-endpoint-services { ${key} comment "${spn}" : ${verdict} }`);
        continue;
      }
      const base = getNftServicePortBase(svc, proto, port.name);
      const chain = `${local ? 'local' : 'service'}-${base}`;
      const eps = usable.map((ep) => ({ ...ep, chain: getNftEndpointChain(svc, proto, port.name, ep.ip, ep.port) }));
      // Chains exist before anything jumps to them (syncProxyRules ensures endpoint chains first).
      for (const ep of eps) out.push(`add chain ${t} ${ep.chain}`);
      out.push(`add chain ${t} ${chain}`);
      out.push(`add rule ${t} ${chain} ${ipX} daddr ${svc.clusterIP} ${proto} dport ${port.port} ${ipX} saddr != ${input.clusterCIDR} jump mark-for-masquerade`);
      const targets = eps.map((ep, i) => `${i} : goto ${ep.chain}`).join(' , ');
      out.push(`add rule ${t} ${chain} numgen random mod ${eps.length} vmap { ${targets} }`);
      for (const ep of eps) {
        out.push(`add rule ${t} ${ep.chain} ${ipX} saddr ${ep.ip} jump mark-for-masquerade`);
        out.push(`add rule ${t} ${ep.chain} meta l4proto ${proto} dnat to ${joinHostPort(ep.ip, ep.port)}`);
      }
      out.push(`add element ${t} service-ips { ${key} : goto ${chain} }`);
    }
  }
  return `${out.join('\n')}\n`;
}
