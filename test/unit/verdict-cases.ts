/** The verdict engine's table of cases: probe results and node checks built by hand, each with the verdict it must give. */
import type { Finding, NodeCheckId, ProbeAction, ProbeObservation, ProbeResult, ResolvedTargets, RungId } from '../../src/core/model.ts';
import { buildProbeCommand } from '../../src/core/parse.ts';
import type { VerdictInput } from '../../src/core/diagnose/index.ts';
import type { DnsResolution } from '../../src/core/dns.ts';
import { clientPod, webPod, webService } from '../cli/fakes.ts';

// Source client on node-1; Service shop/web (10.96.1.1:80 → 8080) with its one endpoint web-1 on node-2.
export const targets: ResolvedTargets = { source: clientPod, destination: { ...webService, endpoints: webService.endpoints.slice(0, 1) } };
const podTargets: ResolvedTargets = { source: clientPod, destination: webPod };

let seq = 0;
function probe(rung: RungId | 'node-checks', action: ProbeAction, observation: ProbeObservation, opts: { node?: string; hostNetwork?: boolean; check?: NodeCheckId; about?: { kind: string; namespace: string; name: string } } = {}): ProbeResult {
  seq += 1;
  return {
    spec: {
      id: `${rung}-${seq}`,
      rung,
      ...(opts.check ? { check: opts.check } : {}),
      where: opts.node ? { kind: 'node-pod', node: opts.node, hostNetwork: opts.hostNetwork ?? (rung === 'node-checks' || rung === 'node-origin') } : { kind: 'source-pod' },
      action,
      command: buildProbeCommand(action, 2000),
      timeoutMs: 2000,
      ...(opts.about ? { about: opts.about } : {}),
    },
    observation,
    durationMs: 5,
  };
}
const web1 = { kind: 'Pod', namespace: 'shop', name: 'web-1' };
const dnsPod = { kind: 'Pod', namespace: 'kube-system', name: 'coredns-a' };
const ok = { kind: 'connected' } as const;
const timeout = { kind: 'timeout' } as const;
const refused = { kind: 'refused' } as const;
export const dnsSearch = (o: ProbeObservation) => probe('dns', { tool: 'dns-lookup', name: 'web.shop.svc.cluster.local' }, o);
export const dnsDirect = (o: ProbeObservation) => probe('dns', { tool: 'dns-lookup', name: 'web.shop.svc.cluster.local', server: '10.244.2.3' }, o, { about: dnsPod });
export const clusterIp = (o: ProbeObservation) => probe('cluster-ip', { tool: 'tcp-connect', host: '10.96.1.1', port: 80 }, o);
export const podIp = (o: ProbeObservation) => probe('pod-ip', { tool: 'tcp-connect', host: '10.244.2.7', port: 8080 }, o, { about: web1 });
export const sameNode = (o: ProbeObservation) => probe('same-node', { tool: 'tcp-connect', host: '10.244.2.7', port: 8080 }, o, { node: 'node-2', about: web1 });
const nodeOrigin = (node: string, o: ProbeObservation) => probe('node-origin', { tool: 'tcp-connect', host: '10.244.2.7', port: 8080 }, o, { node, about: web1 });
export const sysctl = (node: string, key: string, value: string) => probe('node-checks', { tool: 'sysctl', key }, { kind: 'sysctl', key, value }, { node, check: key.includes('bridge') ? 'bridge-nf' : 'ip-forward' });
export const forward = (node: string, policy: string) => probe('node-checks', { tool: 'forward-policy' }, { kind: 'forward-policy', policy }, { node, check: 'forward-policy' });
/** The path MTU probe from a node to the other side's pod: the full-size (link MTU 1450) ping, and the 56-byte one. */
const mtu = (node: string, passed: boolean, smallPassed = true, linkMtu = 1450) =>
  probe('node-checks', { tool: 'path-mtu', address: node === 'node-1' ? '10.244.2.7' : '10.244.1.5' }, { kind: 'mtu', size: linkMtu - 28, passed, mtu: linkMtu, dev: 'flannel.1', smallPassed }, { node, check: 'mtu' });
/** A Cilium node's full-size ping on its 1500-byte cilium_vxlan that failed; `refusedAt` is the kernel's local `mtu=` (the route's MTU). */
const ciliumMtu = (node: string, refusedAt: number | undefined) =>
  probe('node-checks', { tool: 'path-mtu', address: node === 'node-1' ? '10.244.2.7' : '10.244.1.5' }, { kind: 'mtu', size: 1472, passed: false, mtu: refusedAt ?? 1500, dev: 'cilium_vxlan', smallPassed: true }, { node, check: 'mtu' });
/**
 * A Calico node's full-size ping over vxlan.calico (1450) that the path refused at `toldMtu` (the remote pod's veth, as a
 * "frag needed" told the kernel), on a node whose own pods' veths are `podMtu` (dual-stack Calico: 1430 both).
 */
const calicoMtu = (node: string, toldMtu: number, podMtu: number) =>
  probe('node-checks', { tool: 'path-mtu', address: node === 'node-1' ? '10.244.2.7' : '10.244.1.5' }, { kind: 'mtu', size: 1422, passed: false, mtu: toldMtu, dev: 'vxlan.calico', smallPassed: true, podMtu }, { node, check: 'mtu' });
/** web-2 on the source's own node, answering its pod IP. */
const podIpOk2 = () => probe('pod-ip', { tool: 'tcp-connect', host: '10.244.1.9', port: 8080 }, { kind: 'connected' }, { about: { kind: 'Pod', namespace: 'shop', name: 'web-2' } });
export const routeCheck = (node: string, address: string, obs: ProbeObservation, check: NodeCheckId = 'route-to-destination') => probe('node-checks', { tool: 'route-match', address }, obs, { node, check });
/** node-2's neighbor entry for web-1, and the MAC web-1 answers with, read from the same-node pod on its bridge. */
const neighborEntry = (mac: string, state: string) =>
  probe('node-checks', { tool: 'neighbor', address: '10.244.2.7' }, { kind: 'neighbor', ip: '10.244.2.7', mac, state, dev: 'cni0' }, { node: 'node-2', check: 'neighbor', about: web1 });
const podMac = (mac: string) =>
  probe('node-checks', { tool: 'neighbor', address: '10.244.2.7', refresh: true }, { kind: 'neighbor', ip: '10.244.2.7', mac, state: 'REACHABLE', dev: 'eth0' }, { node: 'node-2', hostNetwork: false, check: 'pod-mac', about: web1 });
/** web-1 (on node-2) reaching its own Service: its eth0 peer's ifindex, and node-2's bridge ports as [ifindex, hairpin]. */
const selfTargets: ResolvedTargets = { source: { ...(clientPod as Extract<ResolvedTargets['source'], { kind: 'pod' }>), namespace: 'shop', name: 'web-1', node: 'node-2', ip: '10.244.2.7' }, destination: targets.destination };
/** The same, with web-2 on node-1 as a second ready backend of the Service. */
const selfTargetsTwoBackends: ResolvedTargets = { ...selfTargets, destination: { ...webService, endpoints: webService.endpoints.slice(0, 2) } };
const vethPeer = (ifindex: number) => probe('node-checks', { tool: 'veth-peer' }, { kind: 'veth-peer', ifindex }, { check: 'hairpin' });
const bridgePorts = (...ports: [number, boolean][]) =>
  probe('node-checks', { tool: 'bridge-ports' }, { kind: 'bridge-ports', ports: ports.map(([ifindex, hairpin]) => ({ ifindex, dev: `veth${ifindex}`, bridge: 'cni0', hairpin })) }, { node: 'node-2', check: 'hairpin' });
/** The ping burst from node-1 across the overlay to web-1: `received` of 50 came back. */
const lossBurst = (received: number) => probe('node-checks', { tool: 'packet-loss', address: '10.244.2.7' }, { kind: 'loss', sent: 50, received, rttMs: 0.4 }, { node: 'node-1', check: 'loss' });
/** The Service as internalTrafficPolicy Local, its one ready endpoint (web-1) on node-2. */
const localTargets: ResolvedTargets = { ...targets, destination: { ...webService, endpoints: webService.endpoints.slice(0, 1), internalTrafficPolicy: 'Local' } };
/** node-1's (or another node's) NAT check for 10.96.1.1:80 as a proxy mode read it. */
const natCheck = (obs: Omit<Extract<ProbeObservation, { kind: 'nat-rules' }>, 'kind' | 'clusterIP' | 'port'>, node = 'node-1') =>
  probe('node-checks', { tool: 'nat-rules', clusterIP: '10.96.1.1', port: 80, protocol: 'TCP', ...(obs.proxy ? { proxy: obs.proxy } : {}) }, { kind: 'nat-rules', clusterIP: '10.96.1.1', port: 80, ...obs }, { node, check: 'nat-rules' });
/** A FORWARD check that walked the chain for client → web-1 and reached this verdict. */
const forwardWalked = (node: string, policy: string, verdict: 'accept' | 'drop') =>
  probe('node-checks', { tool: 'forward-policy', flow: { from: '10.244.1.5', to: ['10.244.2.7'] } }, { kind: 'forward-policy', policy, verdict, backend: 'nft', ...(verdict === 'drop' ? { decidedBy: `-P FORWARD ${policy}` } : {}) }, { node, check: 'forward-policy' });
export const notRun = (rung: RungId, reason: string) => probe(rung, { tool: 'tcp-connect', host: '10.96.1.1', port: 80 }, { kind: 'could-not-run', reason });

/** dig's output for an answered lookup, with its own timing (`;; Query time: N msec`), as the lab captures show it. */
const digAnswer = (queryMs: number) => ({
  exitCode: 0,
  stdout: `;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 6391\n;; ANSWER SECTION:\nweb.shop.svc.cluster.local. 0\tIN\tA\t10.96.1.1\n\n;; Query time: ${queryMs} msec\n;; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)\n`,
  stderr: '',
});
const resolvedWeb: ProbeObservation = { kind: 'resolved', ips: ['10.96.1.1'] };
/**
 * One lookup sampled as planLadder repeats it (`--samples`): the first keeps its id, the others are `#2` …; `lost` of
 * them (the last ones) time out, and the answered ones took `queryMs` each by dig's query time (the first `slow` of
 * them 5003 ms, the conntrack race's 5 s).
 */
export const sampledLookup = (make: (o: ProbeObservation) => ProbeResult, n: number, lost: number, opts: { slow?: number; queryMs?: number; lostAs?: ProbeObservation } = {}): ProbeResult[] => {
  const first = make(resolvedWeb);
  return Array.from({ length: n }, (_, i): ProbeResult => {
    const answered = i < n - lost;
    return {
      ...first,
      spec: { ...first.spec, id: i === 0 ? first.spec.id : `${first.spec.id}#${i + 1}`, sample: { index: i + 1, of: n } },
      observation: answered ? resolvedWeb : (opts.lostAs ?? { kind: 'dns-timeout' }),
      ...(answered ? { raw: digAnswer(i < (opts.slow ?? 0) ? 5003 : (opts.queryMs ?? 1)) } : {}),
    };
  });
};

export const healthyData = () => [dnsSearch({ kind: 'resolved', ips: ['10.96.1.1'] }), dnsDirect({ kind: 'resolved', ips: ['10.96.1.1'] }), clusterIp(ok), podIp(ok), sameNode(ok), nodeOrigin('node-1', ok), nodeOrigin('node-2', ok)];
export const healthyChecks = () => [
  sysctl('node-1', 'net.ipv4.ip_forward', '1'),
  sysctl('node-2', 'net.ipv4.ip_forward', '1'),
  sysctl('node-1', 'net.bridge.bridge-nf-call-iptables', '1'),
  forward('node-1', 'ACCEPT'),
  forward('node-2', 'ACCEPT'),
  routeCheck('node-1', '10.244.2.7', { kind: 'route', present: true, route: '10.244.2.0/24', dev: 'flannel.1', via: '10.244.2.0' }),
  routeCheck('node-2', '10.244.1.5', { kind: 'route', present: true, route: '10.244.1.0/24', dev: 'flannel.1', via: '10.244.1.0' }, 'route-to-source'),
  probe('node-checks', { tool: 'nat-rules', clusterIP: '10.96.1.1', port: 80, protocol: 'TCP' }, { kind: 'nat-rules', clusterIP: '10.96.1.1', port: 80, present: true, endpoints: ['10.244.2.7:8080'] }, { node: 'node-1', check: 'nat-rules' }),
  mtu('node-1', true),
  mtu('node-2', true),
];
export const onlyDefault: ProbeObservation = { kind: 'route', present: false, route: 'default', dev: 'eth0', via: '172.31.0.1' };
function staticFinding(cause: Finding['cause'], component: Finding['component'], object?: string, node?: string): Finding {
  return { status: 'broken', cause, component, ...(object ? { object } : {}), ...(node ? { node } : {}), summary: `static ${cause}`, evidence: ['from the API'], hints: ['fix it'] };
}
/** The source's resolv.conf read, naming NodeLocal DNSCache; the resolution it led to; lookups through the cache and to CoreDNS. */
const resolvConf = (nameserver: string) =>
  probe('dns', { tool: 'resolv-conf' }, { kind: 'resolv-conf', nameservers: [nameserver], search: ['front.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5 });
const nodeLocalCache = { kind: 'Pod', namespace: 'kube-system', name: 'node-local-dns-aaaaa' };
const viaNodeLocal: DnsResolution = {
  nameserver: '169.254.20.10',
  domain: 'cluster.local',
  service: { namespace: 'kube-system', name: 'kube-dns-upstream', clusterIP: '10.96.0.3', pods: [], readyEndpoints: 1, selector: 'k8s-app=kube-dns', workload: { kind: 'Deployment', name: 'coredns' } },
  nodeLocal: { address: '169.254.20.10', node: 'node-1', pod: nodeLocalCache },
  unsure: [],
};
const cacheDirect = (o: ProbeObservation) => probe('dns', { tool: 'dns-lookup', name: 'web.shop.svc.cluster.local', server: '169.254.20.10' }, o, { about: nodeLocalCache });
/** OpenShift's DNS: a DaemonSet whose pods serve on 5353. */
const viaOpenShift: DnsResolution = {
  nameserver: '172.30.0.10',
  domain: 'cluster.local',
  service: { namespace: 'openshift-dns', name: 'dns-default', clusterIP: '172.30.0.10', podPort: 5353, pods: [], readyEndpoints: 2, selector: 'dns.operator.openshift.io/daemonset-dns=default', workload: { kind: 'DaemonSet', name: 'dns-default' } },
  unsure: [],
};
export const input = (p: Partial<VerdictInput>): VerdictInput => ({ targets, staticFindings: [], observations: [], nodeChecks: [], ...p });

export const CASES: { name: string; in: VerdictInput; cause: Finding['cause']; component: string; status: Finding['status']; node?: string; object?: string; exit: number; absent?: Finding['cause'][]; present?: Finding['cause'][] }[] = [
  { name: 'healthy', in: input({ observations: healthyData(), nodeChecks: healthyChecks() }), cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0 },
  {
    name: 'healthy: FORWARD policy DROP with traffic flowing is not a fault',
    in: input({ observations: healthyData(), nodeChecks: [forward('node-1', 'DROP')] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0,
  },
  {
    name: 'healthy: node checks that could not run do not count as failures',
    in: input({ observations: healthyData(), nodeChecks: [probe('node-checks', { tool: 'forward-policy' }, { kind: 'could-not-run', reason: 'pods create forbidden' }, { node: 'node-1' })] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0,
  },
  {
    name: 'SERVICE_NO_ENDPOINTS explains the ClusterIP failure',
    in: input({ staticFindings: [staticFinding('SERVICE_NO_ENDPOINTS', 'service', 'Service/shop/web')], observations: [clusterIp(refused)] }),
    cause: 'SERVICE_NO_ENDPOINTS', component: 'service', status: 'broken', object: 'Service/shop/web', exit: 1, absent: ['CONNECTION_FAILED'],
  },
  {
    name: 'SERVICE_NO_READY_ENDPOINTS',
    in: input({ staticFindings: [staticFinding('SERVICE_NO_READY_ENDPOINTS', 'service', 'Service/shop/web')], observations: [clusterIp(timeout)] }),
    cause: 'SERVICE_NO_READY_ENDPOINTS', component: 'service', status: 'broken', object: 'Service/shop/web', exit: 1, absent: ['CONNECTION_FAILED'],
  },
  {
    name: 'healthy: a targetPort no pod declares is only a note when the pods answer on it',
    in: input({ staticFindings: [staticFinding('SERVICE_TARGET_PORT_MISMATCH', 'service', 'Service/shop/web')], observations: healthyData(), nodeChecks: healthyChecks() }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, present: ['SERVICE_TARGET_PORT_MISMATCH'],
  },
  {
    name: 'NODE_BRIDGE_NF_DISABLED with all traffic flowing is latent: degraded, not broken',
    in: input({ observations: healthyData(), nodeChecks: [sysctl('node-1', 'net.bridge.bridge-nf-call-iptables', '0')] }),
    cause: 'NODE_BRIDGE_NF_DISABLED', component: 'node', status: 'degraded', node: 'node-1', exit: 1,
  },
  {
    name: 'SERVICE_TARGET_PORT_MISMATCH over the refused pod port',
    in: input({ staticFindings: [staticFinding('SERVICE_TARGET_PORT_MISMATCH', 'service', 'Service/shop/web')], observations: [clusterIp(refused), podIp(refused)] }),
    cause: 'SERVICE_TARGET_PORT_MISMATCH', component: 'service', status: 'broken', object: 'Service/shop/web', exit: 1, absent: ['DESTINATION_NOT_LISTENING'],
  },
  {
    name: 'DESTINATION_NOT_LISTENING: refused at the pod',
    in: input({ observations: [clusterIp(refused), podIp(refused), sameNode(refused)], nodeChecks: healthyChecks() }),
    cause: 'DESTINATION_NOT_LISTENING', component: 'destination', status: 'broken', object: 'Pod/shop/web-1', exit: 1, absent: ['SERVICE_PROXY_RULES_MISSING'],
  },
  {
    name: 'DESTINATION_NOT_LISTENING for a pod destination (object from the target)',
    in: { ...input({}), targets: podTargets, observations: [probe('pod-ip', { tool: 'tcp-connect', host: '10.244.2.7', port: 8080 }, refused)] },
    cause: 'DESTINATION_NOT_LISTENING', component: 'destination', status: 'broken', object: 'Pod/shop/web-1', exit: 1,
  },
  {
    name: 'DESTINATION_NOT_LISTENING degraded when another endpoint answers',
    in: input({ observations: [clusterIp(ok), podIp(refused), probe('pod-ip', { tool: 'tcp-connect', host: '10.244.1.9', port: 8080 }, ok, { about: { kind: 'Pod', namespace: 'shop', name: 'web-2' } })] }),
    cause: 'DESTINATION_NOT_LISTENING', component: 'destination', status: 'degraded', object: 'Pod/shop/web-1', exit: 1,
  },
  {
    name: 'DNS_NO_ENDPOINTS explains DNS timeouts',
    in: input({ staticFindings: [staticFinding('DNS_NO_ENDPOINTS', 'dns', 'Service/kube-system/kube-dns')], observations: [dnsSearch({ kind: 'dns-timeout' }), clusterIp(ok), podIp(ok)] }),
    cause: 'DNS_NO_ENDPOINTS', component: 'dns', status: 'broken', object: 'Service/kube-system/kube-dns', exit: 1, absent: ['DNS_SERVER_UNRESPONSIVE'],
  },
  {
    name: 'DNS_SERVER_UNRESPONSIVE: Ready DNS pods time out while the network works',
    in: input({ observations: [dnsSearch({ kind: 'dns-timeout' }), dnsDirect({ kind: 'dns-timeout' }), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }),
    cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns', status: 'broken', object: 'Pod/kube-system/coredns-a', exit: 1,
  },
  {
    name: 'DNS_SERVER_UNRESPONSIVE: the Ready DNS pod refuses its DNS port (nothing listens on 53)',
    in: input({ observations: [dnsSearch(refused), dnsDirect(refused), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }),
    cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns', status: 'broken', object: 'Pod/kube-system/coredns-a', exit: 1, absent: ['DNS_SERVER_FAILURE', 'CONNECTION_FAILED'],
  },
  {
    name: 'DNS_SERVER_UNRESPONSIVE: a closed DNS port is not explained away by a node fault',
    in: input({ observations: [dnsDirect(refused), clusterIp(timeout), podIp(timeout), sameNode(ok)], nodeChecks: [sysctl('node-1', 'net.ipv4.ip_forward', '0')] }),
    cause: 'NODE_IP_FORWARD_DISABLED', component: 'node', status: 'broken', node: 'node-1', exit: 1, present: ['DNS_SERVER_UNRESPONSIVE'],
  },
  {
    name: 'DNS_INTERMITTENT_TIMEOUT: sampled lookups time out now and then while the server answers the rest (degraded)',
    in: input({ observations: [...sampledLookup(dnsSearch, 10, 3), ...sampledLookup(dnsDirect, 10, 2), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }),
    cause: 'DNS_INTERMITTENT_TIMEOUT', component: 'dns', status: 'degraded', node: 'node-1', exit: 1, absent: ['DNS_SERVER_UNRESPONSIVE', 'HEALTHY'],
  },
  {
    name: 'DNS_INTERMITTENT_TIMEOUT: the conntrack race signature, answers that take 5 s now and then',
    in: input({ observations: [...sampledLookup(dnsSearch, 10, 0, { slow: 2 }), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }),
    cause: 'DNS_INTERMITTENT_TIMEOUT', component: 'dns', status: 'degraded', node: 'node-1', exit: 1, absent: ['DNS_SERVER_UNRESPONSIVE', 'HEALTHY'],
  },
  {
    name: 'healthy: one lookup lost out of twenty is no intermittent DNS fault',
    in: input({ observations: [...sampledLookup(dnsSearch, 10, 1), ...sampledLookup(dnsDirect, 10, 0), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['DNS_INTERMITTENT_TIMEOUT', 'DNS_SERVER_UNRESPONSIVE'],
  },
  {
    name: 'healthy: two lookups lost out of forty (5%) is below the share of an intermittent DNS fault',
    in: input({ observations: [...sampledLookup(dnsSearch, 20, 1), ...sampledLookup(dnsDirect, 20, 1), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['DNS_INTERMITTENT_TIMEOUT'],
  },
  {
    name: 'DNS_SERVER_UNRESPONSIVE: sampled lookups that all time out are a DNS down, not an intermittent one',
    in: input({ observations: [...sampledLookup(dnsSearch, 5, 5), ...sampledLookup(dnsDirect, 5, 5), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }),
    cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns', status: 'broken', object: 'Pod/kube-system/coredns-a', exit: 1, absent: ['DNS_INTERMITTENT_TIMEOUT'],
  },
  {
    name: 'DNS_SERVER_UNRESPONSIVE: a DNS pod that never answers its samples while the search path does is that pod, not intermittent',
    in: input({ observations: [...sampledLookup(dnsSearch, 5, 0), ...sampledLookup(dnsDirect, 5, 5), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }),
    cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns', status: 'broken', object: 'Pod/kube-system/coredns-a', exit: 1, absent: ['DNS_INTERMITTENT_TIMEOUT'],
  },
  {
    name: 'DNS_SERVER_UNRESPONSIVE: unsampled lookups, one timed out and one answered, read as before',
    in: input({ observations: [dnsSearch(resolvedWeb), dnsDirect({ kind: 'dns-timeout' }), dnsDirect({ kind: 'dns-timeout' }), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }),
    cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns', status: 'broken', object: 'Pod/kube-system/coredns-a', exit: 1, absent: ['DNS_INTERMITTENT_TIMEOUT'],
  },
  {
    name: 'DNS_NAME_NOT_FOUND outranks lookups lost now and then',
    in: input({ observations: [...sampledLookup(dnsSearch, 10, 3), ...sampledLookup(dnsDirect, 10, 3, { lostAs: { kind: 'nxdomain' } }), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }),
    cause: 'DNS_NAME_NOT_FOUND', component: 'dns', status: 'broken', object: 'Service/shop/web', exit: 1, present: ['DNS_INTERMITTENT_TIMEOUT'],
  },
  {
    name: 'OVERLAY_PACKET_LOSS explains sampled DNS lookups lost on the way, instead of an intermittent DNS fault',
    in: input({ observations: [...sampledLookup(dnsSearch, 10, 3), clusterIp(ok), podIp(ok)], nodeChecks: [...healthyChecks(), lossBurst(30)] }),
    cause: 'OVERLAY_PACKET_LOSS', component: 'overlay', status: 'degraded', node: 'node-1', exit: 1, absent: ['DNS_INTERMITTENT_TIMEOUT'],
  },
  {
    name: 'DNS_SERVER_FAILURE when the DNS server answers REFUSED',
    in: input({ observations: [dnsSearch({ kind: 'dns-refused' }), clusterIp(ok), podIp(ok)] }),
    cause: 'DNS_SERVER_FAILURE', component: 'dns', status: 'broken', exit: 1, absent: ['DNS_SERVER_UNRESPONSIVE'],
  },
  {
    name: 'DNS_SERVER_FAILURE on SERVFAIL',
    in: input({ observations: [dnsSearch({ kind: 'servfail' }), clusterIp(ok), podIp(ok)] }),
    cause: 'DNS_SERVER_FAILURE', component: 'dns', status: 'broken', exit: 1,
  },
  {
    name: 'DNS_NAME_NOT_FOUND: search path fails, direct query resolves',
    in: input({ observations: [dnsSearch({ kind: 'nxdomain' }), dnsDirect({ kind: 'resolved', ips: ['10.96.1.1'] }), clusterIp(ok), podIp(ok)] }),
    cause: 'DNS_NAME_NOT_FOUND', component: 'dns', status: 'broken', exit: 1,
  },
  {
    name: 'DNS_NAME_NOT_FOUND: the DNS pod says NXDOMAIN for the Service; the search path falling through to REFUSED is its symptom',
    in: input({ observations: [dnsSearch({ kind: 'dns-refused' }), dnsDirect({ kind: 'nxdomain' }), clusterIp(ok), podIp(ok), sameNode(ok)], nodeChecks: healthyChecks() }),
    cause: 'DNS_NAME_NOT_FOUND', component: 'dns', status: 'broken', object: 'Service/shop/web', exit: 1, absent: ['DNS_SERVER_FAILURE'],
  },
  {
    name: 'SERVICE_PROXY_RULES_MISSING: ClusterIP fails, PodIP works (node = source node)',
    in: input({
      observations: [clusterIp(timeout), podIp(ok), sameNode(ok)],
      nodeChecks: [probe('node-checks', { tool: 'nat-rules', clusterIP: '10.96.1.1', port: 80, protocol: 'TCP' }, { kind: 'nat-rules', clusterIP: '10.96.1.1', port: 80, present: false, endpoints: [] }, { node: 'node-1', check: 'nat-rules' })],
    }),
    cause: 'SERVICE_PROXY_RULES_MISSING', component: 'kube-proxy', status: 'broken', node: 'node-1', exit: 1,
  },
  {
    name: 'NETWORK_POLICY_DENY explains the PodIP timeout',
    in: input({ staticFindings: [staticFinding('NETWORK_POLICY_DENY', 'network-policy', 'NetworkPolicy/shop/deny-all')], observations: [clusterIp(timeout), podIp(timeout), sameNode(timeout)], nodeChecks: healthyChecks() }),
    cause: 'NETWORK_POLICY_DENY', component: 'network-policy', status: 'broken', object: 'NetworkPolicy/shop/deny-all', exit: 1, absent: ['CONNECTION_FAILED', 'OVERLAY_BLOCKED', 'SERVICE_PROXY_RULES_MISSING'],
  },
  {
    name: 'NETWORK_POLICY_DENY contradicted by a connection is degraded',
    in: input({ staticFindings: [staticFinding('NETWORK_POLICY_DENY', 'network-policy', 'NetworkPolicy/shop/deny-all')], observations: [clusterIp(ok), podIp(ok)] }),
    cause: 'NETWORK_POLICY_DENY', component: 'network-policy', status: 'degraded', object: 'NetworkPolicy/shop/deny-all', exit: 1,
  },
  {
    name: 'NODE_IP_FORWARD_DISABLED on the source node explains DNS and PodIP timeouts',
    in: input({ observations: [dnsSearch({ kind: 'dns-timeout' }), dnsDirect({ kind: 'dns-timeout' }), clusterIp(timeout), podIp(timeout), sameNode(ok)], nodeChecks: [sysctl('node-1', 'net.ipv4.ip_forward', '0'), sysctl('node-2', 'net.ipv4.ip_forward', '1')] }),
    cause: 'NODE_IP_FORWARD_DISABLED', component: 'node', status: 'broken', node: 'node-1', exit: 1, absent: ['DNS_SERVER_UNRESPONSIVE', 'OVERLAY_BLOCKED', 'SERVICE_PROXY_RULES_MISSING'],
  },
  {
    name: 'NODE_FORWARD_DROP when traffic fails',
    in: input({ observations: [clusterIp(timeout), podIp(timeout), sameNode(ok)], nodeChecks: [forward('node-1', 'ACCEPT'), forward('node-2', 'DROP')] }),
    cause: 'NODE_FORWARD_DROP', component: 'node', status: 'broken', node: 'node-2', exit: 1, absent: ['OVERLAY_BLOCKED'],
  },
  {
    name: 'NODE_BRIDGE_NF_DISABLED over the kube-proxy symptom',
    in: input({ observations: [clusterIp(timeout), podIp(ok)], nodeChecks: [sysctl('node-1', 'net.bridge.bridge-nf-call-iptables', '0')] }),
    cause: 'NODE_BRIDGE_NF_DISABLED', component: 'node', status: 'broken', node: 'node-1', exit: 1, absent: ['SERVICE_PROXY_RULES_MISSING'],
  },
  {
    name: 'NODE_ROUTE_MISSING back to the source',
    in: input({
      observations: [clusterIp(timeout), podIp(timeout), sameNode(ok)],
      nodeChecks: [routeCheck('node-2', '10.244.1.5', { kind: 'route', present: false, error: 'Network is unreachable' }, 'route-to-source')],
    }),
    cause: 'NODE_ROUTE_MISSING', component: 'node', status: 'broken', node: 'node-2', exit: 1, absent: ['OVERLAY_BLOCKED'],
  },
  {
    name: 'NODE_ROUTE_MISSING: only the default route covers the other node\'s pod, which the overlay probe blames otherwise',
    in: input({
      observations: [clusterIp(timeout), podIp(timeout), sameNode(ok), nodeOrigin('node-1', timeout), nodeOrigin('node-2', ok)],
      nodeChecks: healthyChecks().map((c) => (c.spec.check === 'route-to-destination' ? routeCheck('node-1', '10.244.2.7', onlyDefault) : c)),
    }),
    cause: 'NODE_ROUTE_MISSING', component: 'node', status: 'broken', node: 'node-1', exit: 1, absent: ['OVERLAY_BLOCKED', 'CONNECTION_FAILED', 'SERVICE_PROXY_RULES_MISSING'],
  },
  {
    name: 'NODE_ROUTE_MISSING: an unreachable route to the pod is a fault even before traffic is seen failing',
    in: input({ observations: healthyData(), nodeChecks: [routeCheck('node-1', '10.244.2.7', { kind: 'route', present: false, route: '10.244.2.0/24', error: 'unreachable route 10.244.2.0/24' })] }),
    cause: 'NODE_ROUTE_MISSING', component: 'node', status: 'broken', node: 'node-1', exit: 1,
  },
  {
    name: 'healthy: only the default route matches but traffic flows (pod ranges routed outside the node, GKE alias IPs)',
    in: input({ observations: healthyData(), nodeChecks: healthyChecks().map((c) => (c.spec.check === 'route-to-destination' ? routeCheck('node-1', '10.244.2.7', onlyDefault) : c)) }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['NODE_ROUTE_MISSING'],
  },
  {
    name: 'NODE_NEIGHBOR_STALE: the node\'s entry carries another MAC than the pod answers with on its bridge',
    in: input({
      observations: [clusterIp(timeout), podIp(timeout), sameNode(ok)],
      nodeChecks: [neighborEntry('02:de:ad:be:ef:00', 'REACHABLE'), podMac('0a:58:0a:f4:02:07')],
    }),
    cause: 'NODE_NEIGHBOR_STALE', component: 'node', status: 'broken', node: 'node-2', exit: 1, absent: ['CONNECTION_FAILED', 'OVERLAY_BLOCKED'],
  },
  {
    name: 'NODE_NEIGHBOR_STALE: a pinned (PERMANENT) wrong entry is a fault even before traffic is seen failing',
    in: input({ observations: healthyData(), nodeChecks: [neighborEntry('02:de:ad:be:ef:00', 'PERMANENT'), podMac('0a:58:0a:f4:02:07')] }),
    cause: 'NODE_NEIGHBOR_STALE', component: 'node', status: 'broken', node: 'node-2', exit: 1,
  },
  {
    name: 'healthy: a PERMANENT entry with the pod\'s own MAC is right',
    in: input({ observations: healthyData(), nodeChecks: [neighborEntry('0a:58:0a:f4:02:07', 'PERMANENT'), podMac('0A:58:0A:F4:02:07')] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['NODE_NEIGHBOR_STALE'],
  },
  {
    name: 'healthy: a STALE entry with an old MAC while traffic flows (the kernel re-resolves it on use)',
    in: input({ observations: healthyData(), nodeChecks: [neighborEntry('02:de:ad:be:ef:00', 'STALE'), podMac('0a:58:0a:f4:02:07')] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['NODE_NEIGHBOR_STALE'],
  },
  {
    name: 'a STALE entry with an old MAC is no neighbor fault even when traffic fails for another reason',
    in: input({ observations: [clusterIp(timeout), podIp(timeout), sameNode(ok)], nodeChecks: [neighborEntry('02:de:ad:be:ef:00', 'STALE'), podMac('0a:58:0a:f4:02:07'), sysctl('node-2', 'net.ipv4.ip_forward', '0')] }),
    cause: 'NODE_IP_FORWARD_DISABLED', component: 'node', status: 'broken', node: 'node-2', exit: 1, absent: ['NODE_NEIGHBOR_STALE'],
  },
  {
    name: 'NODE_NEIGHBOR_STALE without the pod\'s MAC: a PERMANENT entry while traffic to the pod fails',
    in: input({ observations: [clusterIp(timeout), podIp(timeout), sameNode(ok)], nodeChecks: [neighborEntry('02:de:ad:be:ef:00', 'PERMANENT')] }),
    cause: 'NODE_NEIGHBOR_STALE', component: 'node', status: 'broken', node: 'node-2', exit: 1,
  },
  {
    name: "NODE_HAIRPIN_DISABLED: a backend reaching its own Service, hairpin off on its bridge port (not kube-proxy)",
    in: input({ targets: selfTargets, observations: [clusterIp(timeout), podIp(ok)], nodeChecks: [vethPeer(9), bridgePorts([7, true], [9, false])] }),
    cause: 'NODE_HAIRPIN_DISABLED', component: 'node', status: 'broken', node: 'node-2', object: 'Pod/shop/web-1', exit: 1, absent: ['SERVICE_PROXY_RULES_MISSING', 'CONNECTION_FAILED'],
  },
  {
    name: 'NODE_HAIRPIN_DISABLED is degraded when the balancer happened to pick the other backend',
    in: input({ targets: selfTargetsTwoBackends, observations: healthyData(), nodeChecks: [vethPeer(9), bridgePorts([9, false])] }),
    cause: 'NODE_HAIRPIN_DISABLED', component: 'node', status: 'degraded', node: 'node-2', object: 'Pod/shop/web-1', exit: 1,
  },
  {
    name: 'healthy: hairpin_mode 0 but the pod, its only backend, reaches its own Service (the bridge hairpins otherwise)',
    in: input({ targets: selfTargets, observations: healthyData(), nodeChecks: [vethPeer(9), bridgePorts([9, false])] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['NODE_HAIRPIN_DISABLED'],
  },
  {
    name: "healthy: hairpin off on another pod's port is not this pod's problem",
    in: input({ targets: selfTargets, observations: healthyData(), nodeChecks: [vethPeer(9), bridgePorts([7, false], [9, true])] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['NODE_HAIRPIN_DISABLED'],
  },
  {
    name: 'OVERLAY_PACKET_LOSS: a third of the pings across the overlay lost while TCP gets through (degraded)',
    in: input({ observations: healthyData(), nodeChecks: [...healthyChecks(), lossBurst(33)] }),
    cause: 'OVERLAY_PACKET_LOSS', component: 'overlay', status: 'degraded', node: 'node-1', exit: 1,
  },
  {
    name: 'OVERLAY_PACKET_LOSS explains a handshake that timed out, instead of an unexplained overlay block',
    in: input({ observations: [clusterIp(timeout), podIp(timeout), sameNode(ok), nodeOrigin('node-2', ok)], nodeChecks: [...healthyChecks(), lossBurst(30)] }),
    cause: 'OVERLAY_PACKET_LOSS', component: 'overlay', status: 'degraded', node: 'node-1', exit: 1, absent: ['OVERLAY_BLOCKED', 'CONNECTION_FAILED'],
  },
  {
    name: 'on a lossy path a lost full-size ping is no MTU fault',
    in: input({ observations: healthyData(), nodeChecks: [...healthyChecks().filter((c) => c.spec.check !== 'mtu'), mtu('node-1', true), mtu('node-2', false), lossBurst(34)] }),
    cause: 'OVERLAY_PACKET_LOSS', component: 'overlay', status: 'degraded', node: 'node-1', exit: 1, absent: ['PATH_MTU_MISMATCH'],
  },
  {
    name: 'healthy: two pings of fifty lost on a busy network is no loss finding',
    in: input({ observations: healthyData(), nodeChecks: [...healthyChecks(), lossBurst(48)] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['OVERLAY_PACKET_LOSS'],
  },
  {
    name: 'every ping lost is the path being down, named by its cause, not packet loss',
    in: input({ observations: [clusterIp(timeout), podIp(timeout), sameNode(ok)], nodeChecks: [sysctl('node-2', 'net.ipv4.ip_forward', '0'), lossBurst(0)] }),
    cause: 'NODE_IP_FORWARD_DISABLED', component: 'node', status: 'broken', node: 'node-2', exit: 1, absent: ['OVERLAY_PACKET_LOSS'],
  },
  {
    name: 'OVERLAY_BLOCKED: cross-node fails, same-node works, nodes healthy',
    in: input({ observations: [clusterIp(timeout), podIp(timeout), sameNode(ok), nodeOrigin('node-1', timeout), nodeOrigin('node-2', ok)], nodeChecks: healthyChecks() }),
    cause: 'OVERLAY_BLOCKED', component: 'overlay', status: 'broken', exit: 1, absent: ['SERVICE_PROXY_RULES_MISSING'],
  },
  {
    name: 'UNDERLAY_BLOCKED: on calico-bgp (no tunnel) cross-node fails while node-2 reaches its own pods: the network between the nodes',
    in: input({ network: 'calico-bgp', observations: [clusterIp(timeout), podIp(timeout), sameNode(ok), nodeOrigin('node-1', timeout), nodeOrigin('node-2', ok)], nodeChecks: healthyChecks() }),
    cause: 'UNDERLAY_BLOCKED', component: 'network', status: 'broken', node: 'node-2', exit: 1, absent: ['OVERLAY_BLOCKED', 'CONNECTION_FAILED'],
  },
  {
    name: 'UNDERLAY_BLOCKED on cloud-routed: only the default route matches on the source node, which is how the VPC routes, not NODE_ROUTE_MISSING',
    in: input({
      network: 'cloud-routed',
      observations: [clusterIp(timeout), podIp(timeout), sameNode(ok), nodeOrigin('node-1', timeout), nodeOrigin('node-2', ok)],
      nodeChecks: healthyChecks().map((c) => (c.spec.check === 'route-to-destination' ? routeCheck('node-1', '10.244.2.7', onlyDefault) : c)),
    }),
    cause: 'UNDERLAY_BLOCKED', component: 'network', status: 'broken', node: 'node-2', exit: 1, absent: ['NODE_ROUTE_MISSING', 'OVERLAY_BLOCKED'],
  },
  {
    name: 'healthy on cilium: the full-size ping refused by the node\'s own mtu 1450 route (1500-byte devices) is the tunnel\'s overhead, not PATH_MTU_MISMATCH',
    in: input({ network: 'cilium', observations: healthyData(), nodeChecks: [...healthyChecks(), ciliumMtu('node-1', 1450)] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['PATH_MTU_MISMATCH'],
  },
  {
    name: 'PATH_MTU_MISMATCH on cilium: a full-size ping that left the node (its route raised to 1500) and was dropped on the path',
    in: input({ network: 'cilium', observations: healthyData(), nodeChecks: [ciliumMtu('node-1', 1450), ciliumMtu('node-2', undefined)] }),
    cause: 'PATH_MTU_MISMATCH', component: 'overlay', status: 'broken', node: 'node-2', exit: 1,
  },
  {
    name: 'healthy on dual-stack calico-vxlan: a 1450-byte ping told "frag needed, mtu 1430" by the remote pod\'s veth, on nodes whose pods send 1430 at most, is path MTU discovery, not PATH_MTU_MISMATCH',
    in: input({ network: 'calico-vxlan', observations: healthyData(), nodeChecks: [...healthyChecks(), calicoMtu('node-1', 1430, 1430), calicoMtu('node-2', 1430, 1430)] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['PATH_MTU_MISMATCH'],
  },
  {
    name: 'PATH_MTU_MISMATCH on calico-vxlan when the node\'s pods send more than the path MTU the kernel was told (pods at 1450, path 1430)',
    in: input({ network: 'calico-vxlan', observations: healthyData(), nodeChecks: [calicoMtu('node-1', 1430, 1450)] }),
    cause: 'PATH_MTU_MISMATCH', component: 'overlay', status: 'broken', node: 'node-1', exit: 1,
  },
  {
    name: 'PATH_MTU_MISMATCH on flannel still: a full-size ping refused locally is judged as before when the network keeps its overhead in device MTUs',
    in: input({ network: 'flannel', observations: healthyData(), nodeChecks: [ciliumMtu('node-1', 1450)] }),
    cause: 'PATH_MTU_MISMATCH', component: 'overlay', status: 'broken', node: 'node-1', exit: 1,
  },
  {
    name: 'UNDERLAY_BLOCKED, not SERVICE_PROXY_RULES_MISSING, when the ClusterIP picked a pod the path between the nodes drops and the NAT rules are present',
    in: input({
      network: 'cloud-routed',
      targets: { ...targets, destination: { ...webService, endpoints: webService.endpoints.slice(0, 2) } },
      observations: [clusterIp(timeout), podIp(timeout), podIpOk2(), sameNode(ok), nodeOrigin('node-1', timeout), nodeOrigin('node-2', ok)],
      nodeChecks: [...healthyChecks(), natCheck({ present: true, endpoints: ['10.244.2.7:8080'] })],
    }),
    cause: 'UNDERLAY_BLOCKED', component: 'network', status: 'degraded', node: 'node-2', exit: 1, absent: ['SERVICE_PROXY_RULES_MISSING'],
  },
  {
    name: 'NODE_ROUTE_MISSING on cloud-routed still: an unreachable route is a fault on any network',
    in: input({ network: 'cloud-routed', observations: healthyData(), nodeChecks: [routeCheck('node-1', '10.244.2.7', { kind: 'route', present: false, route: '10.244.2.0/24', error: 'unreachable route 10.244.2.0/24' })] }),
    cause: 'NODE_ROUTE_MISSING', component: 'node', status: 'broken', node: 'node-1', exit: 1,
  },
  {
    name: 'OVERLAY_BLOCKED on calico-vxlan: felix\'s PERMANENT neighbor entry for a pod its node reaches is no NODE_NEIGHBOR_STALE',
    in: input({
      network: 'calico-vxlan',
      observations: [clusterIp(timeout), podIp(timeout), sameNode(ok), nodeOrigin('node-1', timeout), nodeOrigin('node-2', ok)],
      nodeChecks: [...healthyChecks(), neighborEntry('0a:58:0a:f4:02:07', 'PERMANENT')],
    }),
    cause: 'OVERLAY_BLOCKED', component: 'overlay', status: 'broken', exit: 1, absent: ['NODE_NEIGHBOR_STALE', 'UNDERLAY_BLOCKED'],
  },
  {
    name: 'NODE_NEIGHBOR_STALE on calico-vxlan: a PERMANENT entry for a pod its own node cannot reach either',
    in: input({
      network: 'calico-vxlan',
      observations: [clusterIp(timeout), podIp(timeout), sameNode(timeout), nodeOrigin('node-1', timeout), nodeOrigin('node-2', timeout)],
      nodeChecks: [...healthyChecks(), neighborEntry('02:00:5e:00:de:ad', 'PERMANENT')],
    }),
    cause: 'NODE_NEIGHBOR_STALE', component: 'node', status: 'broken', node: 'node-2', exit: 1, absent: ['OVERLAY_BLOCKED'],
  },
  {
    name: 'PATH_MTU_MISMATCH: small pings pass, full-size fail, TCP handshakes pass',
    in: input({ observations: healthyData(), nodeChecks: [mtu('node-1', false)] }),
    cause: 'PATH_MTU_MISMATCH', component: 'overlay', status: 'broken', node: 'node-1', exit: 1,
  },
  {
    name: 'PATH_MTU_MISMATCH on the destination node: its own full-size pings back fail, every TCP probe and the source node pass',
    in: input({ observations: healthyData(), nodeChecks: [...healthyChecks().filter((c) => c.spec.check !== 'mtu'), mtu('node-1', true), mtu('node-2', false, true, 1500)] }),
    cause: 'PATH_MTU_MISMATCH', component: 'overlay', status: 'broken', node: 'node-2', exit: 1, absent: ['HEALTHY'],
  },
  {
    name: 'healthy: both ping sizes lost (ICMP filtered) with TCP flowing is no MTU fault',
    in: input({ observations: healthyData(), nodeChecks: [...healthyChecks().filter((c) => c.spec.check !== 'mtu'), mtu('node-1', false, false), mtu('node-2', false, false)] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['PATH_MTU_MISMATCH'],
  },
  {
    name: 'CONNECTION_FAILED: the pod does not answer even on its own node and no check explains it',
    in: input({ observations: [clusterIp(timeout), podIp(timeout), sameNode(timeout)], nodeChecks: healthyChecks() }),
    cause: 'CONNECTION_FAILED', component: 'network', status: 'broken', exit: 1,
  },
  {
    name: 'could not run: every probe errored is inconclusive',
    in: input({ observations: [notRun('cluster-ip', 'ephemeral containers are disabled'), notRun('pod-ip', 'ephemeral containers are disabled')] }),
    cause: 'CHECKS_COULD_NOT_RUN', component: 'netdebug', status: 'inconclusive', exit: 3,
  },
  {
    name: 'could not run, but a static finding explains things',
    in: input({ staticFindings: [staticFinding('SERVICE_NO_ENDPOINTS', 'service', 'Service/shop/web')], observations: [notRun('cluster-ip', 'forbidden')] }),
    cause: 'SERVICE_NO_ENDPOINTS', component: 'service', status: 'broken', object: 'Service/shop/web', exit: 1, absent: ['CHECKS_COULD_NOT_RUN'],
  },
  {
    name: 'headless Service: no ClusterIP rung, healthy when its pods answer directly',
    in: { ...input({ observations: [dnsSearch({ kind: 'resolved', ips: ['10.244.2.7'] }), podIp(ok)] }), targets: { ...targets, destination: { ...webService, clusterIP: 'None', endpoints: webService.endpoints.slice(0, 1) } } },
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0,
  },
  {
    name: 'headless Service: its pod refusing is DESTINATION_NOT_LISTENING, not a skipped ClusterIP',
    in: { ...input({ observations: [dnsSearch({ kind: 'resolved', ips: ['10.244.2.7'] }), podIp(refused)] }), targets: { ...targets, destination: { ...webService, clusterIP: 'None', endpoints: webService.endpoints.slice(0, 1) } } },
    cause: 'DESTINATION_NOT_LISTENING', component: 'destination', status: 'broken', object: 'Pod/shop/web-1', exit: 1,
  },
  {
    name: 'NODE_LOCAL_DNS_DOWN: lookups through 169.254.20.10 are refused while a CoreDNS pod answers directly',
    in: input({
      dns: viaNodeLocal,
      observations: [resolvConf('169.254.20.10'), dnsSearch(refused), cacheDirect(refused), dnsDirect({ kind: 'resolved', ips: ['10.96.1.1'] }), clusterIp(ok), podIp(ok)],
      nodeChecks: healthyChecks(),
    }),
    cause: 'NODE_LOCAL_DNS_DOWN', component: 'dns', status: 'broken', node: 'node-1', object: 'Pod/kube-system/node-local-dns-aaaaa', exit: 1,
    absent: ['DNS_SERVER_UNRESPONSIVE', 'DNS_SERVER_FAILURE', 'DNS_NAME_NOT_FOUND'],
  },
  {
    name: 'NODE_LOCAL_DNS_DOWN: the cache times out (no answer at all) while CoreDNS answers',
    in: input({
      dns: viaNodeLocal,
      observations: [resolvConf('169.254.20.10'), dnsSearch({ kind: 'dns-timeout' }), cacheDirect({ kind: 'dns-timeout' }), dnsDirect({ kind: 'resolved', ips: ['10.96.1.1'] }), clusterIp(ok), podIp(ok)],
      nodeChecks: healthyChecks(),
    }),
    cause: 'NODE_LOCAL_DNS_DOWN', component: 'dns', status: 'broken', node: 'node-1', object: 'Pod/kube-system/node-local-dns-aaaaa', exit: 1, absent: ['DNS_SERVER_UNRESPONSIVE'],
  },
  {
    name: 'NodeLocal DNSCache answering is healthy',
    in: input({
      dns: viaNodeLocal,
      observations: [resolvConf('169.254.20.10'), dnsSearch({ kind: 'resolved', ips: ['10.96.1.1'] }), cacheDirect({ kind: 'resolved', ips: ['10.96.1.1'] }), dnsDirect({ kind: 'resolved', ips: ['10.96.1.1'] }), clusterIp(ok), podIp(ok)],
      nodeChecks: healthyChecks(),
    }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0,
  },
  {
    name: 'behind NodeLocal DNSCache, CoreDNS down too is the DNS server, not the cache',
    in: input({
      dns: viaNodeLocal,
      observations: [resolvConf('169.254.20.10'), dnsSearch({ kind: 'servfail' }), cacheDirect({ kind: 'servfail' }), dnsDirect(refused), clusterIp(ok), podIp(ok)],
      nodeChecks: healthyChecks(),
    }),
    cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns', status: 'broken', object: 'Pod/kube-system/coredns-a', exit: 1, absent: ['NODE_LOCAL_DNS_DOWN'],
  },
  {
    name: 'behind NodeLocal DNSCache, a record CoreDNS lacks too is DNS_NAME_NOT_FOUND, not the cache',
    in: input({
      dns: viaNodeLocal,
      observations: [resolvConf('169.254.20.10'), dnsSearch({ kind: 'nxdomain' }), cacheDirect({ kind: 'nxdomain' }), dnsDirect({ kind: 'nxdomain' }), clusterIp(ok), podIp(ok)],
      nodeChecks: healthyChecks(),
    }),
    cause: 'DNS_NAME_NOT_FOUND', component: 'dns', status: 'broken', object: 'Service/shop/web', exit: 1, absent: ['NODE_LOCAL_DNS_DOWN'],
  },
  {
    name: 'DNS_NAME_NOT_FOUND after resolv.conf was read: the search path misses, a DNS pod answers',
    in: input({
      dns: { nameserver: '10.96.0.10', domain: 'cluster.local', unsure: [] },
      observations: [resolvConf('10.96.0.10'), dnsSearch({ kind: 'nxdomain' }), dnsDirect({ kind: 'resolved', ips: ['10.96.1.1'] }), clusterIp(ok), podIp(ok)],
    }),
    cause: 'DNS_NAME_NOT_FOUND', component: 'dns', status: 'broken', exit: 1,
  },
  {
    name: "DNS_SERVER_UNRESPONSIVE on OpenShift's layout names its DaemonSet pod",
    in: input({
      dns: viaOpenShift,
      observations: [resolvConf('172.30.0.10'), dnsSearch(refused), probe('dns', { tool: 'dns-lookup', name: 'web.shop.svc.cluster.local', server: '10.244.1.2', port: 5353 }, refused, { about: { kind: 'Pod', namespace: 'openshift-dns', name: 'dns-default-abcde' } }), clusterIp(ok), podIp(ok)],
      nodeChecks: healthyChecks(),
    }),
    cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns', status: 'broken', object: 'Pod/openshift-dns/dns-default-abcde', exit: 1,
  },
  {
    name: 'ClusterIP refused where one backend refuses directly and the other answers: that backend, not kube-proxy',
    in: {
      ...input({
        observations: [
          clusterIp(refused),
          podIp(refused),
          probe('pod-ip', { tool: 'tcp-connect', host: '10.244.1.9', port: 8080 }, ok, { about: { kind: 'Pod', namespace: 'shop', name: 'web-2' } }),
        ],
      }),
      targets: { ...targets, destination: { ...webService, endpoints: webService.endpoints.slice(0, 2) } },
    },
    cause: 'DESTINATION_NOT_LISTENING', component: 'destination', status: 'degraded', object: 'Pod/shop/web-1', exit: 1, absent: ['SERVICE_PROXY_RULES_MISSING'],
  },
  {
    name: 'could not run the DNS rung only: still healthy when the path works',
    in: input({ observations: [probe('dns', { tool: 'dns-lookup', name: 'web' }, { kind: 'could-not-run', reason: 'dig missing' }), clusterIp(ok), podIp(ok)] }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0,
  },

  // internalTrafficPolicy Local (kubernetes docs, Service Internal Traffic Policy): the source's node has no ready
  // endpoint, so kube-proxy there drops the ClusterIP while the pod answers directly.
  {
    name: 'SERVICE_NO_LOCAL_ENDPOINTS: internalTrafficPolicy Local, no ready endpoint on the source node',
    in: input({
      targets: localTargets,
      observations: [clusterIp(timeout), podIp(ok), sameNode(ok)],
      nodeChecks: [natCheck({ present: true, endpoints: [], proxy: 'iptables', backend: 'nft', drops: 'no-local-endpoints' })],
    }),
    cause: 'SERVICE_NO_LOCAL_ENDPOINTS', component: 'service', status: 'broken', node: 'node-1', object: 'Service/shop/web', exit: 1, absent: ['SERVICE_PROXY_RULES_MISSING', 'CONNECTION_FAILED'],
  },
  {
    name: 'healthy: internalTrafficPolicy Local without a local endpoint, but the ClusterIP answered (only a note)',
    in: input({ targets: localTargets, observations: healthyData() }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, present: ['SERVICE_NO_LOCAL_ENDPOINTS'],
  },
  {
    name: 'healthy: internalTrafficPolicy Local from a node with a ready local endpoint',
    in: input({
      targets: { ...localTargets, source: { ...(clientPod as Extract<ResolvedTargets['source'], { kind: 'pod' }>), node: 'node-2', ip: '10.244.2.9' } },
      observations: healthyData(),
      nodeChecks: [natCheck({ present: true, endpoints: ['10.244.2.7:8080'], proxy: 'iptables', backend: 'nft' }, 'node-2')],
    }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['SERVICE_NO_LOCAL_ENDPOINTS'],
  },
  {
    name: 'FORWARD policy DROP whose accept rules take the flow is no fault, even while the ClusterIP fails',
    in: input({
      observations: [clusterIp(timeout), podIp(ok), sameNode(ok)],
      nodeChecks: [forwardWalked('node-1', 'DROP', 'accept'), forwardWalked('node-2', 'DROP', 'accept'), natCheck({ present: false, endpoints: [], proxy: 'nftables' })],
    }),
    cause: 'SERVICE_PROXY_RULES_MISSING', component: 'kube-proxy', status: 'broken', node: 'node-1', exit: 1, absent: ['NODE_FORWARD_DROP'],
  },
  {
    name: 'NODE_FORWARD_DROP when the walk of the FORWARD chain ends in DROP for the flow',
    in: input({ observations: [clusterIp(timeout), podIp(timeout), sameNode(ok)], nodeChecks: [forwardWalked('node-1', 'DROP', 'accept'), forwardWalked('node-2', 'DROP', 'drop')] }),
    cause: 'NODE_FORWARD_DROP', component: 'node', status: 'broken', node: 'node-2', exit: 1, absent: ['OVERLAY_BLOCKED'],
  },
  {
    name: 'healthy: a service proxy the plugin cannot inspect (Cilium) is no failure',
    in: input({
      observations: healthyData(),
      nodeChecks: [
        probe('node-checks', { tool: 'nat-rules', clusterIP: '10.96.1.1', port: 80, protocol: 'TCP', proxy: 'cilium' }, { kind: 'not-inspectable', what: "Cilium's Service map", reason: 'eBPF', command: 'cilium-dbg service list' }, { node: 'node-1', check: 'nat-rules' }),
      ],
    }),
    cause: 'HEALTHY', component: 'none', status: 'healthy', exit: 0, absent: ['CHECKS_COULD_NOT_RUN'],
  },
];
