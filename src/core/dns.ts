/**
 * Which DNS the source really uses: its own /etc/resolv.conf (nameserver, search path, ndots) matched to one of the
 * well-known DNS Services the API shows (by ClusterIP) or to NodeLocal DNSCache's link-local address, the cluster domain
 * taken from the search path, and the DNS rung planned from that. What cannot be identified is said, never guessed. Pure.
 */
import type { ClusterFacts, DnsPod, DnsServiceFacts } from './facts.ts';
import type { ObjectRef, ProbeAction, ProbeObservation, ProbeSpec, ResolvedTargets, WorkloadRef } from './model.ts';
import { isIPv4 } from './address.ts';
import { buildProbeCommand } from './parse.ts';

/** The DNS Services distributions install, read by name (never by listing Services cluster-wide), in this order. */
export const WELL_KNOWN_DNS_SERVICES: ReadonlyArray<{ namespace: string; name: string }> = [
  { namespace: 'kube-system', name: 'kube-dns' },
  { namespace: 'kube-system', name: 'rke2-coredns-rke2-coredns' },
  { namespace: 'kube-system', name: 'coredns' },
  { namespace: 'openshift-dns', name: 'dns-default' },
];

/** NodeLocal DNSCache as upstream's nodelocaldns.yaml installs it: its address, DaemonSet and upstream Service. */
export const NODE_LOCAL_DNS = {
  address: '169.254.20.10',
  /** Its IPv6 listen address when kubelet's clusterDNS is IPv6 (the docs ask for one in fd00::/8; fd00::10 is the one used). */
  ipv6Address: 'fd00::10',
  namespace: 'kube-system',
  daemonSet: 'node-local-dns',
  upstreamService: 'kube-dns-upstream',
} as const;

/** The parts of /etc/resolv.conf that matter here. */
export type ResolvConf = Omit<Extract<ProbeObservation, { kind: 'resolv-conf' }>, 'kind'>;

/** The cluster DNS as the diagnosis names it: the Service, its workload, and how to select its pods. */
export interface DnsServer {
  namespace: string;
  name: string;
  /** Its pods' selector, for `kubectl logs -l`. */
  selector: string;
  workload?: WorkloadRef;
}

/** What the source resolves through, as far as it could be told. */
export interface DnsResolution {
  /** The source's resolv.conf, when it was read. */
  resolvConf?: ResolvConf;
  /** The first nameserver of resolv.conf (the one the resolver asks first). */
  nameserver?: string;
  /** The cluster domain, from the search path (`<ns>.svc.<domain>`). */
  domain?: string;
  /** The DNS Service answering (directly, or as NodeLocal DNSCache's upstream). */
  service?: DnsServiceFacts;
  /** NodeLocal DNSCache on the source's node, when the nameserver is its address. */
  nodeLocal?: { address: string; node: string; pod?: ObjectRef };
  /** What could not be settled, one sentence each. */
  unsure: string[];
}

/** The DNS Service kube-system/kube-dns as the plugin assumed it before it read resolv.conf. */
export const DEFAULT_DNS_SERVER: DnsServer = {
  namespace: 'kube-system',
  name: 'kube-dns',
  selector: 'k8s-app=kube-dns',
  workload: { kind: 'Deployment', name: 'coredns' },
};

/** The Services the facts hold: the well-known ones found, or the single one of older facts (kube-system/kube-dns). */
export function dnsServices(facts: ClusterFacts): DnsServiceFacts[] {
  if (facts.dns.services) return facts.dns.services;
  const svc = facts.dns.service ?? { namespace: 'kube-system', name: 'kube-dns', selector: 'k8s-app=kube-dns' };
  return [
    {
      ...svc,
      ...(facts.dns.serviceIP ? { clusterIP: facts.dns.serviceIP } : {}),
      ...(facts.dns.podPort !== undefined ? { podPort: facts.dns.podPort } : {}),
      pods: facts.dns.pods,
      readyEndpoints: facts.dns.readyEndpoints,
    },
  ];
}

/** The cluster domain the search path names: `<namespace>.svc.<domain>` first, else `svc.<domain>`. */
export function clusterDomainOf(search: readonly string[], namespace: string | undefined): string | undefined {
  const own = namespace === undefined ? undefined : search.find((d) => d.startsWith(`${namespace}.svc.`) && d.length > namespace.length + 5);
  if (own !== undefined && namespace !== undefined) return own.slice(namespace.length + 5);
  const svc = search.find((d) => d.startsWith('svc.') && d.length > 4);
  return svc?.slice(4);
}

/** Matches the source's resolv.conf to a DNS Service (by ClusterIP) or to NodeLocal DNSCache on the source's node. */
export function identifyDns(facts: ClusterFacts, conf: ResolvConf): DnsResolution {
  const { source } = facts.targets;
  const namespace = source.kind === 'pod' ? source.namespace : undefined;
  const sourceNode = source.kind === 'pod' ? source.node : source.name;
  const services = dnsServices(facts);
  const unsure = [...(facts.dns.unreadable ?? []).map((u) => `could not read ${u}`)];
  const nameserver = conf.nameservers[0];
  const domain = clusterDomainOf(conf.search, namespace);
  if (domain === undefined) unsure.push(`the source's search path (${conf.search.join(' ') || 'empty'}) names no cluster domain (<namespace>.svc.<domain>)`);
  const base: DnsResolution = { resolvConf: conf, ...(nameserver ? { nameserver } : {}), ...(domain ? { domain } : {}), unsure };
  if (nameserver === undefined) {
    unsure.push("the source's resolv.conf has no nameserver");
    return base;
  }
  if (isNodeLocalDnsAddress(nameserver)) {
    const pod = facts.dns.nodeLocal?.pods.find((p) => p.node === sourceNode);
    const upstream =
      services.find((s) => s.namespace === NODE_LOCAL_DNS.namespace && s.name === NODE_LOCAL_DNS.upstreamService) ??
      services.find((s) => s.namespace === 'kube-system' && s.name === 'kube-dns') ??
      services[0];
    if (!pod) unsure.push(`no node-local-dns pod found on node ${sourceNode} (DaemonSet ${NODE_LOCAL_DNS.namespace}/${NODE_LOCAL_DNS.daemonSet})`);
    if (!upstream) unsure.push("NodeLocal DNSCache's upstream DNS Service was not found");
    return {
      ...base,
      ...(upstream ? { service: upstream } : {}),
      nodeLocal: { address: nameserver, node: sourceNode, ...(pod ? { pod: { kind: 'Pod', namespace: pod.namespace, name: pod.name } } : {}) },
    };
  }
  const service = services.find((s) => s.clusterIP === nameserver);
  if (!service) {
    const known = services.map((s) => `${s.namespace}/${s.name}${s.clusterIP ? ` ${s.clusterIP}` : ''}`).join(', ');
    unsure.push(`the source's nameserver ${nameserver} is none of the DNS Services found (${known || 'none of the well-known names exists'})`);
    return base;
  }
  return { ...base, service };
}

/** Whether a nameserver is NodeLocal DNSCache's link-local address (169.254.20.10, or fd00::10 on an IPv6 cluster DNS). */
export function isNodeLocalDnsAddress(nameserver: string): boolean {
  return nameserver === NODE_LOCAL_DNS.address || nameserver.toLowerCase() === NODE_LOCAL_DNS.ipv6Address;
}

/** How the cluster DNS is named in findings: the identified Service, else kube-system/kube-dns as before. */
export function dnsServerOf(resolution: DnsResolution | undefined): DnsServer {
  const svc = resolution?.service;
  if (!svc) return DEFAULT_DNS_SERVER;
  return { namespace: svc.namespace, name: svc.name, selector: svc.selector, ...(svc.workload ? { workload: svc.workload } : {}) };
}

/** The DNS as the Datapath names it, e.g. `openshift-dns/dns-default` or `kube-system/kube-dns-upstream via NodeLocal DNSCache 169.254.20.10`. */
export function describeDnsResolution(resolution: DnsResolution): string | undefined {
  const svc = resolution.service ? `${resolution.service.namespace}/${resolution.service.name}` : undefined;
  if (resolution.nodeLocal) return `${svc ?? 'unknown upstream'} via NodeLocal DNSCache ${resolution.nodeLocal.address}`;
  return svc;
}

/** The DNS name of a Service in a cluster domain. */
export function serviceDnsName(name: string, namespace: string, domain: string): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/** The targets with the destination's DNS name built in the cluster domain the source's search path names. */
export function withClusterDomain(targets: ResolvedTargets, domain: string | undefined): ResolvedTargets {
  const dest = targets.destination;
  if (domain === undefined || dest.kind !== 'service') return targets;
  return { ...targets, destination: { ...dest, dnsName: serviceDnsName(dest.name, dest.namespace, domain) } };
}

/** The DNS lookups of the rung once resolv.conf is known: through the search path, the cache, then the DNS pods. */
export function planDnsLookups(facts: ClusterFacts, resolution: DnsResolution, opts: { timeoutMs: number; maxEndpoints?: number }): ProbeSpec[] {
  const dest = withClusterDomain(facts.targets, resolution.domain).destination;
  if (dest.kind !== 'service' && dest.kind !== 'address') return [];
  const max = Math.max(1, opts.maxEndpoints ?? 3);
  const shortName = dest.kind === 'service' ? `${dest.name}.${dest.namespace}` : dest.host;
  const fullName = dest.kind === 'service' ? dest.dnsName : dest.host;
  const spec = (id: string, action: ProbeAction, about?: ObjectRef): ProbeSpec => ({
    id: `dns:${id}`,
    rung: 'dns',
    where: { kind: 'source-pod' },
    action,
    command: buildProbeCommand(action, opts.timeoutMs),
    timeoutMs: opts.timeoutMs,
    ...(about ? { about } : {}),
  });
  const probes: ProbeSpec[] = [spec(`search:${shortName}`, { tool: 'dns-lookup', name: shortName })];
  const cache = resolution.nodeLocal;
  if (cache) probes.push(spec(`${cache.address}:${fullName}`, { tool: 'dns-lookup', name: fullName, server: cache.address }, cache.pod));
  const svc = resolution.service;
  if (svc) {
    for (const pod of svc.pods.filter((p: DnsPod) => p.ready && p.ip !== '').slice(0, max)) {
      const action: ProbeAction = { tool: 'dns-lookup', name: fullName, server: pod.ip, ...(svc.podPort !== undefined ? { port: svc.podPort } : {}) };
      probes.push(spec(`${pod.ip}:${fullName}`, action, { kind: 'Pod', namespace: pod.namespace, name: pod.name }));
    }
  } else if (!cache && resolution.nameserver !== undefined && isIPv4(resolution.nameserver)) {
    // An unidentified server is still asked directly: whether it answers the full name is worth knowing.
    probes.push(spec(`${resolution.nameserver}:${fullName}`, { tool: 'dns-lookup', name: fullName, server: resolution.nameserver }));
  }
  return probes;
}
