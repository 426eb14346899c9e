import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ProbeAction, ProbeObservation } from '../../src/core/model.ts';
import { buildProbeCommand, parseDigQueryTime, parsePing, parseProbeOutput, PATH_MTU_SCRIPT, type RawOutput } from '../../src/core/parse.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url);

/** Loads a captured output: strips the `# cmd:` and `# exit:` header lines, returns the rest as stdout plus the exit code. */
function loadFixture(tool: string, name: string): { raw: RawOutput; cmd: string } {
  const lines = readFileSync(new URL(`${tool}/${name}.txt`, FIXTURES), 'utf8').split('\n');
  let cmd = '';
  let exitCode = 0;
  while (lines[0] !== undefined && /^# (cmd|exit): /.test(lines[0])) {
    const header = lines.shift() as string;
    if (header.startsWith('# cmd: ')) cmd = header.slice('# cmd: '.length);
    else exitCode = Number(header.slice('# exit: '.length));
  }
  return { raw: { stdout: lines.join('\n'), stderr: '', exitCode }, cmd };
}

const tcp = (port: number, host = '10.244.2.2'): ProbeAction => ({ tool: 'tcp-connect', host, port });
const lookup: ProbeAction = { tool: 'dns-lookup', name: 'web' };
const direct: ProbeAction = { tool: 'dns-lookup', name: 'web.shop.svc.cluster.local', server: '10.96.0.10' };
const nat = (clusterIP: string): ProbeAction => ({ tool: 'nat-rules', clusterIP, port: 80, protocol: 'TCP' });
const route = (address: string): ProbeAction => ({ tool: 'route-match', address });
const pathMtu = (address: string): ProbeAction => ({ tool: 'path-mtu', address });

// Captured in real labs by capture-lab.ts (scenario in brackets), except the few the lab cannot produce, which
// capture.sh makes on a throwaway topology (marked capture.sh).
const CASES: { tool: string; file: string; action: ProbeAction; want: ProbeObservation }[] = [
  // [healthy-2-nodes] client → web-1; [app-not-listening], [ip-forward-off], [pod-route-missing] the same.
  { tool: 'nc', file: 'connected', action: tcp(8080), want: { kind: 'connected' } },
  { tool: 'nc', file: 'refused', action: tcp(8080), want: { kind: 'refused' } },
  { tool: 'nc', file: 'timeout', action: tcp(8080), want: { kind: 'timeout' } },
  { tool: 'nc', file: 'host-prohibited', action: tcp(8083, '10.77.0.3'), want: { kind: 'no-route', detail: 'No route to host' } }, // capture.sh
  { tool: 'nc', file: 'host-unreachable', action: tcp(8080), want: { kind: 'no-route', detail: 'No route to host' } },
  { tool: 'nc', file: 'network-unreachable', action: tcp(80, '10.99.0.1'), want: { kind: 'no-route', detail: 'Network is unreachable' } }, // capture.sh
  { tool: 'nc', file: 'name-unknown', action: tcp(80, 'nosuch.invalid'), want: { kind: 'could-not-run', reason: 'nc could not resolve the host: nc: getaddrinfo for host "nosuch.invalid" port 80: Name or service not known' } },
  // [healthy-2-nodes] from shop/web-2 and default/client; [dns-record-missing]; [ip-forward-off] from web-1 on node-2.
  { tool: 'dig', file: 'search-found', action: lookup, want: { kind: 'resolved', ips: ['10.96.0.2'] } },
  { tool: 'dig', file: 'search-nxdomain-dotted', action: lookup, want: { kind: 'nxdomain' } },
  { tool: 'dig', file: 'search-refused', action: lookup, want: { kind: 'dns-refused' } }, // capture.sh
  { tool: 'dig', file: 'search-timeout', action: lookup, want: { kind: 'dns-timeout' } },
  { tool: 'dig', file: 'direct-found', action: direct, want: { kind: 'resolved', ips: ['10.96.0.2'] } },
  { tool: 'dig', file: 'direct-multi', action: direct, want: { kind: 'resolved', ips: ['10.244.1.4', '10.244.2.2'] } },
  { tool: 'dig', file: 'direct-nxdomain', action: direct, want: { kind: 'nxdomain' } },
  { tool: 'dig', file: 'direct-servfail', action: direct, want: { kind: 'servfail' } }, // capture.sh
  { tool: 'dig', file: 'direct-refused', action: direct, want: { kind: 'dns-refused' } }, // capture.sh
  { tool: 'dig', file: 'direct-timeout', action: direct, want: { kind: 'dns-timeout' } },
  // [dns-openshift] a DNS pod asked on its own port 5353
  { tool: 'dig', file: 'direct-pod-port-5353', action: { ...direct, server: '10.244.1.2', port: 5353 }, want: { kind: 'resolved', ips: ['10.96.0.2'] } },
  // [node-local-dns-down] from a pod on node-2, whose NodeLocal DNSCache is stopped; from node-1, whose cache answers
  { tool: 'dig', file: 'search-node-local-down', action: { tool: 'dns-lookup', name: 'web.shop' }, want: { kind: 'refused' } },
  { tool: 'dig', file: 'direct-node-local-down', action: { ...direct, server: '169.254.20.10' }, want: { kind: 'refused' } },
  { tool: 'dig', file: 'direct-node-local-up', action: { ...direct, server: '169.254.20.10' }, want: { kind: 'resolved', ips: ['10.96.0.2'] } },
  // The pod's resolv.conf as kubelet writes it: [dns-openshift] ClusterFirst, [node-local-dns-down] kubelet's
  // clusterDNS 169.254.20.10, [test/e2e/scenarios/dns-custom-domain.yaml] --cluster-domain corp.example
  {
    tool: 'resolv-conf',
    file: 'cluster-first',
    action: { tool: 'resolv-conf' },
    want: { kind: 'resolv-conf', nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5 },
  },
  {
    tool: 'resolv-conf',
    file: 'node-local-dns',
    action: { tool: 'resolv-conf' },
    want: { kind: 'resolv-conf', nameservers: ['169.254.20.10'], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5 },
  },
  {
    tool: 'resolv-conf',
    file: 'custom-domain',
    action: { tool: 'resolv-conf' },
    want: { kind: 'resolv-conf', nameservers: ['10.96.0.10'], search: ['default.svc.corp.example', 'svc.corp.example', 'corp.example'], ndots: 5 },
  },
  // [dns-no-endpoints] kube-proxy REJECTs kube-dns; [dns-server-down] the stopped server's port is closed too.
  { tool: 'dig', file: 'direct-port-closed', action: direct, want: { kind: 'refused' } },
  { tool: 'dig', file: 'server-down', action: direct, want: { kind: 'refused' } },
  // [dns-lossy] the same lookups from the client, answered or lost at random (capture-lab.ts runs them until each happens).
  { tool: 'dig', file: 'lossy-search-answered', action: lookup, want: { kind: 'resolved', ips: ['10.96.0.2'] } },
  { tool: 'dig', file: 'lossy-search-timeout', action: lookup, want: { kind: 'dns-timeout' } },
  { tool: 'dig', file: 'lossy-direct-answered', action: direct, want: { kind: 'resolved', ips: ['10.96.0.2'] } },
  { tool: 'dig', file: 'lossy-direct-timeout', action: direct, want: { kind: 'dns-timeout' } },
  { tool: 'sysctl', file: 'ip-forward-0', action: { tool: 'sysctl', key: 'net.ipv4.ip_forward' }, want: { kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '0' } },
  { tool: 'sysctl', file: 'ip-forward-1', action: { tool: 'sysctl', key: 'net.ipv4.ip_forward' }, want: { kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' } },
  { tool: 'sysctl', file: 'bridge-nf', action: { tool: 'sysctl', key: 'net.bridge.bridge-nf-call-iptables' }, want: { kind: 'sysctl', key: 'net.bridge.bridge-nf-call-iptables', value: '1' } },
  { tool: 'sysctl', file: 'bridge-nf-off', action: { tool: 'sysctl', key: 'net.bridge.bridge-nf-call-iptables' }, want: { kind: 'sysctl', key: 'net.bridge.bridge-nf-call-iptables', value: '0' } },
  { tool: 'sysctl', file: 'missing-key', action: { tool: 'sysctl', key: 'net.nosuch.key' }, want: { kind: 'could-not-run', reason: 'could not read net.nosuch.key: sysctl: cannot stat /proc/sys/net/nosuch/key: No such file or directory' } },
  { tool: 'iptables', file: 'forward-accept', action: { tool: 'forward-policy' }, want: { kind: 'forward-policy', policy: 'ACCEPT' } },
  { tool: 'iptables', file: 'forward-drop', action: { tool: 'forward-policy' }, want: { kind: 'forward-policy', policy: 'DROP' } },
  // [healthy-2-nodes] node-1, with shop/empty (10.96.0.9, no endpoints) added: the lab's kube-proxy writes no nat rule for it.
  { tool: 'iptables-save', file: 'kube-proxy', action: nat('10.96.0.2'), want: { kind: 'nat-rules', clusterIP: '10.96.0.2', port: 80, present: true, endpoints: ['10.244.2.2:8080', '10.244.1.4:8080'] } },
  { tool: 'iptables-save', file: 'empty-svc-chain', action: nat('10.96.1.9'), want: { kind: 'nat-rules', clusterIP: '10.96.1.9', port: 80, present: true, endpoints: [] } }, // capture.sh
  { tool: 'iptables-save', file: 'kube-proxy', action: nat('10.96.0.9'), want: { kind: 'nat-rules', clusterIP: '10.96.0.9', port: 80, present: false, endpoints: [] } },
  { tool: 'iptables-save', file: 'kube-proxy', action: { tool: 'nat-rules', clusterIP: '10.96.0.2', port: 8, protocol: 'TCP' }, want: { kind: 'nat-rules', clusterIP: '10.96.0.2', port: 8, present: false, endpoints: [] } },
  { tool: 'iptables-save', file: 'kube-proxy', action: { tool: 'nat-rules', clusterIP: '10.96.0.2', port: 80, protocol: 'UDP' }, want: { kind: 'nat-rules', clusterIP: '10.96.0.2', port: 80, present: false, endpoints: [] } },
  // [kube-proxy-rules-missing] node-1: kube-dns's rules are there, shop/web's are not.
  { tool: 'iptables-save', file: 'rules-missing', action: nat('10.96.0.2'), want: { kind: 'nat-rules', clusterIP: '10.96.0.2', port: 80, present: false, endpoints: [] } },
  { tool: 'iptables-save', file: 'rules-missing', action: { tool: 'nat-rules', clusterIP: '10.96.0.10', port: 53, protocol: 'UDP' }, want: { kind: 'nat-rules', clusterIP: '10.96.0.10', port: 53, present: true, endpoints: ['10.244.1.2:53'] } },
  // [healthy-2-nodes] node-2: its underlay subnet and node-1's pods.
  { tool: 'ip-route', file: 'direct', action: route('172.31.0.11'), want: { kind: 'route', present: true, route: '172.31.0.0/24', dev: 'eth0' } },
  { tool: 'ip-route', file: 'via-gateway', action: route('10.88.0.5'), want: { kind: 'route', present: true, route: '10.88.0.0/24', dev: 'a0', via: '10.77.0.3' } }, // capture.sh
  { tool: 'ip-route', file: 'overlay-onlink', action: route('10.244.1.4'), want: { kind: 'route', present: true, route: '10.244.1.0/24', dev: 'flannel.1', via: '10.244.1.0' } },
  { tool: 'ip-route', file: 'no-match', action: route('10.99.0.1'), want: { kind: 'route', present: false, error: 'no route matches the address' } }, // capture.sh
  { tool: 'ip-route', file: 'unreachable-route', action: route('10.66.0.1'), want: { kind: 'route', present: false, route: '10.66.0.0/16', error: 'unreachable route 10.66.0.0/16' } }, // capture.sh
  // [healthy-2-nodes], [pod-route-missing]: node namespaces with a default route, flannel routes, cni0 and the underlay.
  { tool: 'ip-route', file: 'healthy-n1-other-node-pod', action: route('10.244.2.2'), want: { kind: 'route', present: true, route: '10.244.2.0/24', dev: 'flannel.1', via: '10.244.2.0' } },
  { tool: 'ip-route', file: 'healthy-n1-own-pod', action: route('10.244.1.4'), want: { kind: 'route', present: true, route: '10.244.1.0/24', dev: 'cni0' } },
  { tool: 'ip-route', file: 'healthy-n1-node-subnet', action: route('172.31.0.12'), want: { kind: 'route', present: true, route: '172.31.0.0/24', dev: 'eth0' } },
  { tool: 'ip-route', file: 'healthy-n2-back-to-source', action: route('10.244.1.3'), want: { kind: 'route', present: true, route: '10.244.1.0/24', dev: 'flannel.1', via: '10.244.1.0' } },
  { tool: 'ip-route', file: 'route-missing-n1-only-default', action: route('10.244.2.2'), want: { kind: 'route', present: false, route: 'default', dev: 'eth0', via: '172.31.0.1' } },
  { tool: 'ip-route', file: 'route-missing-n2-back-to-source', action: route('10.244.1.3'), want: { kind: 'route', present: true, route: '10.244.1.0/24', dev: 'flannel.1', via: '10.244.1.0' } },
  // [healthy-2-nodes] node-1 after pinging the client and an address nobody holds; [neighbor-stale] node-2's wrong entry.
  { tool: 'ip-neigh', file: 'reachable', action: { tool: 'neighbor', address: '10.244.1.3' }, want: { kind: 'neighbor', ip: '10.244.1.3', mac: '0a:58:0a:f4:01:03', state: 'REACHABLE', dev: 'cni0' } },
  { tool: 'ip-neigh', file: 'permanent', action: { tool: 'neighbor', address: '10.244.2.2' }, want: { kind: 'neighbor', ip: '10.244.2.2', mac: '02:00:5e:00:de:ad', state: 'PERMANENT', dev: 'cni0' } },
  { tool: 'ip-neigh', file: 'failed', action: { tool: 'neighbor', address: '10.244.1.250' }, want: { kind: 'neighbor', ip: '10.244.1.250', mac: null, state: 'INCOMPLETE', dev: 'cni0' } },
  { tool: 'ip-neigh', file: 'absent', action: { tool: 'neighbor', address: '10.244.1.251' }, want: { kind: 'neighbor', ip: '10.244.1.251', mac: null, state: 'NONE' } },
  { tool: 'ip-neigh', file: 'refresh-pod-mac', action: { tool: 'neighbor', address: '10.244.1.3', refresh: true }, want: { kind: 'neighbor', ip: '10.244.1.3', mac: '0a:58:0a:f4:01:03', state: 'REACHABLE', dev: 'eth0' } },
  { tool: 'ip-neigh', file: 'refresh-nobody', action: { tool: 'neighbor', address: '10.244.1.251', refresh: true }, want: { kind: 'neighbor', ip: '10.244.1.251', mac: null, state: 'INCOMPLETE', dev: 'eth0' } },
  // [healthy-2-nodes] the hairpin check: web-2's eth0 peer (veth4 on node-1), node-1's bridge ports in hairpin-veth mode.
  { tool: 'hairpin', file: 'veth-peer', action: { tool: 'veth-peer' }, want: { kind: 'veth-peer', ifindex: 7 } },
  {
    tool: 'hairpin', file: 'bridge-ports-on', action: { tool: 'bridge-ports' },
    want: { kind: 'bridge-ports', ports: [{ ifindex: 6, dev: 'veth1', bridge: 'cni0', hairpin: true }, { ifindex: 5, dev: 'veth2', bridge: 'cni0', hairpin: true }, { ifindex: 7, dev: 'veth4', bridge: 'cni0', hairpin: true }] },
  },
  // The packet-loss burst from node-1 to web-1: [healthy-2-nodes] all answered, [overlay-lossy] 30% of VXLAN into
  // node-2 dropped, [ip-forward-off] nothing gets through.
  { tool: 'ping', file: 'burst-healthy', action: { tool: 'packet-loss', address: '10.244.2.2' }, want: { kind: 'loss', sent: 50, received: 50, rttMs: 0.014 } },
  { tool: 'ping', file: 'burst-lossy', action: { tool: 'packet-loss', address: '10.244.2.2' }, want: { kind: 'loss', sent: 50, received: 32, rttMs: 0.053 } },
  { tool: 'ping', file: 'burst-all-lost', action: { tool: 'packet-loss', address: '10.244.2.2' }, want: { kind: 'loss', sent: 50, received: 0 } },
  // [hairpin-off] node-2 with shop/web-1's port (veth3) out of hairpin mode.
  { tool: 'hairpin', file: 'bridge-ports-off', action: { tool: 'bridge-ports' }, want: { kind: 'bridge-ports', ports: [{ ifindex: 5, dev: 'veth3', bridge: 'cni0', hairpin: false }] } },
  // Captured in the lab: node-1 → node-2's pod and back, healthy, and with node-2's overlay MTU above the path's.
  { tool: 'ping', file: 'healthy-n1-to-n2-pod', action: pathMtu('10.244.2.2'), want: { kind: 'mtu', size: 1422, passed: true, mtu: 1450, dev: 'flannel.1', smallPassed: true, podMtu: 1450, deviceMtu: 1450 } },
  { tool: 'ping', file: 'healthy-n2-to-n1-pod', action: pathMtu('10.244.1.3'), want: { kind: 'mtu', size: 1422, passed: true, mtu: 1450, dev: 'flannel.1', smallPassed: true, podMtu: 1450, deviceMtu: 1450 } },
  { tool: 'ping', file: 'mtu-mismatch-n1-to-n2-pod', action: pathMtu('10.244.2.2'), want: { kind: 'mtu', size: 1422, passed: true, mtu: 1450, dev: 'flannel.1', smallPassed: true, podMtu: 1450, deviceMtu: 1450 } },
  { tool: 'ping', file: 'mtu-mismatch-n2-to-n1-pod', action: pathMtu('10.244.1.3'), want: { kind: 'mtu', size: 1472, passed: false, mtu: 1500, dev: 'flannel.1', smallPassed: true, podMtu: 1500, deviceMtu: 1500 } },
];

/**
 * Single `ping -M do` outputs, the pings the path MTU script runs, read by parsePing: [mtu-mismatch] node-2 (MTU 1500)
 * and node-1 (flannel.1 at 1450) towards each other's pods; `unreachable` from capture.sh.
 */
CASES.push({
  tool: 'ip-link',
  file: 'flannel-node',
  action: { tool: 'links' },
  want: {
    kind: 'links',
    links: [
      { name: 'lo', mtu: 65536 },
      { name: 'eth0', type: 'veth', mtu: 1500 },
      { name: 'cni0', type: 'bridge', mtu: 1450 },
      { name: 'flannel.1', type: 'vxlan', mtu: 1450, vxlanPort: 8472 },
      { name: 'veth2', type: 'veth', mtu: 1450, master: 'cni0' },
      { name: 'veth1', type: 'veth', mtu: 1450, master: 'cni0' },
      { name: 'veth4', type: 'veth', mtu: 1450, master: 'cni0' },
    ],
  },
});

// The service proxy and FORWARD checks as the planner builds them with the API's datapath facts, captured by
// capture-lab.ts in the spec.cluster scenarios (scenario in brackets): shop/web is 10.96.0.2:80, default/client
// 10.244.1.3 on node-1, shop/web-1 10.244.2.2:8080 on node-2.
const natAs = (proxy: 'iptables' | 'nftables' | 'ipvs' | 'unknown', clusterIP = '10.96.0.2', port = 80, protocol: 'TCP' | 'UDP' = 'TCP'): ProbeAction => ({ tool: 'nat-rules', clusterIP, port, protocol, proxy });
const walk: ProbeAction = { tool: 'forward-policy', flow: { from: '10.244.1.3', to: ['10.244.2.2'] } };
const web = { kind: 'nat-rules', clusterIP: '10.96.0.2', port: 80 } as const;
CASES.push(
  // [healthy-nftables] node-1: service-ips → service-KHN6ECMT-shop/web/tcp/http → endpoint-… dnat to 10.244.2.2:8080.
  { tool: 'nft', file: 'kube-proxy-healthy', action: natAs('nftables'), want: { ...web, present: true, endpoints: ['10.244.2.2:8080'], proxy: 'nftables' } },
  { tool: 'nft', file: 'kube-proxy-healthy', action: natAs('nftables', '10.96.0.10', 53, 'UDP'), want: { kind: 'nat-rules', clusterIP: '10.96.0.10', port: 53, present: true, endpoints: ['10.244.1.2:53'], proxy: 'nftables' } },
  { tool: 'nft', file: 'kube-proxy-healthy', action: natAs('nftables', '10.96.0.2', 81), want: { kind: 'nat-rules', clusterIP: '10.96.0.2', port: 81, present: false, endpoints: [], proxy: 'nftables' } },
  // [kube-proxy-rules-missing-nftables] node-1's table lacks shop/web.
  { tool: 'nft', file: 'kube-proxy-rules-missing', action: natAs('nftables'), want: { ...web, present: false, endpoints: [], proxy: 'nftables' } },
  // [internal-traffic-local-nftables, test/e2e/scenarios] shop/web Local: node-1 has no local endpoint, a `drop` (with
  // its comment) in no-endpoint-services; node-2 sends it to a local-… chain.
  { tool: 'nft', file: 'kube-proxy-no-local-endpoints', action: natAs('nftables'), want: { ...web, present: true, endpoints: [], proxy: 'nftables', drops: 'no-local-endpoints' } },
  { tool: 'nft', file: 'kube-proxy-local-chain', action: natAs('nftables'), want: { ...web, present: true, endpoints: ['10.244.2.2:8080'], proxy: 'nftables' } },
  // An unknown proxy searched: [healthy-nftables] found in nftables, [healthy-legacy-iptables] in iptables-legacy.
  { tool: 'proxy-search', file: 'nftables-found', action: natAs('unknown'), want: { ...web, present: true, endpoints: ['10.244.2.2:8080'], proxy: 'nftables' } },
  { tool: 'proxy-search', file: 'iptables-legacy-found', action: natAs('unknown'), want: { ...web, present: true, endpoints: ['10.244.2.2:8080'], proxy: 'iptables', backend: 'legacy' } },
  { tool: 'proxy-search', file: 'nftables-found', action: natAs('unknown', '10.96.0.99'), want: { kind: 'nat-rules', clusterIP: '10.96.0.99', port: 80, present: false, endpoints: [], proxy: 'nftables', searched: 'iptables-nft, iptables-legacy, nftables' } },
  // iptables mode reads both backends: [healthy-legacy-iptables] the rules are in legacy only.
  { tool: 'iptables-both', file: 'nat-legacy', action: natAs('iptables'), want: { ...web, present: true, endpoints: ['10.244.2.2:8080'], proxy: 'iptables', backend: 'legacy' } },
  // [internal-traffic-local] node-2 has the local endpoint (KUBE-SVL-*); node-1 has none: a filter DROP, no nat rule.
  { tool: 'iptables-both', file: 'nat-svl', action: natAs('iptables'), want: { ...web, present: true, endpoints: ['10.244.2.2:8080'], proxy: 'iptables', backend: 'nft' } },
  { tool: 'iptables-both', file: 'nat-no-local-endpoints', action: natAs('iptables'), want: { ...web, present: true, endpoints: [], proxy: 'iptables', backend: 'nft', drops: 'no-local-endpoints' } },
  // The FORWARD chain walked for client → web-1: [healthy-nftables] flannel's rules in nft, policy ACCEPT;
  // [healthy-legacy-iptables] in legacy; [healthy-forward-drop] policy DROP, FLANNEL-FWD accepts the flow;
  // [forward-policy-drop-with-accept-rules] node-2's accept rules flushed: the DROP policy decides.
  { tool: 'iptables-both', file: 'forward-flannel-nft', action: walk, want: { kind: 'forward-policy', policy: 'ACCEPT', verdict: 'accept', backend: 'nft' } },
  { tool: 'iptables-both', file: 'forward-legacy', action: walk, want: { kind: 'forward-policy', policy: 'ACCEPT', verdict: 'accept', backend: 'legacy' } },
  { tool: 'iptables-both', file: 'forward-drop-accepted', action: walk, want: { kind: 'forward-policy', policy: 'DROP', verdict: 'accept', backend: 'nft' } },
  { tool: 'iptables-both', file: 'forward-drop-rules-flushed', action: walk, want: { kind: 'forward-policy', policy: 'DROP', verdict: 'drop', backend: 'nft', decidedBy: '-P FORWARD DROP' } },
  // The same flow from outside the pod network: FLANNEL-FWD accepts only 10.244.0.0/16, KUBE-FORWARD only marked or
  // established packets, so the DROP policy decides.
  { tool: 'iptables-both', file: 'forward-drop-accepted', action: { tool: 'forward-policy', flow: { from: '172.31.0.99', to: ['192.168.7.7'] } }, want: { kind: 'forward-policy', policy: 'DROP', verdict: 'drop', backend: 'nft', decidedBy: '-P FORWARD DROP' } },
  // [network-policy-deny] node-1: the NetworkPolicy agent's NETPOL-* chains drop client → web-2 (10.244.1.4): the
  // policy enforced, not the node's FORWARD setup.
  {
    tool: 'iptables-both', file: 'forward-netpol-deny', action: { tool: 'forward-policy', flow: { from: '10.244.1.3', to: ['10.244.2.2', '10.244.1.4'] } },
    want: { kind: 'forward-policy', policy: 'ACCEPT', verdict: 'policy', backend: 'nft', decidedBy: '-A NETPOL-I-a3a26768b1598260 -m comment --comment "shop/web-2 ingress not allowed" -j DROP' },
  },
  { tool: 'iptables-both', file: 'forward-netpol-deny', action: walk, want: { kind: 'forward-policy', policy: 'ACCEPT', verdict: 'accept', backend: 'nft' } },
  // IPVS cannot be built on this kernel (no ip_vs): outputs quoted from kubernetes' own docs, in the IPVS_SCRIPT
  // framing. blog-nginx-service: kubernetes.io/blog/2018/07/09 "IPVS-Based In-Cluster Load Balancing Deep Dive" (its
  // `ip addr` kube-ipvs0 and `ipvsadm -ln`); readme-kubernetes-kube-dns: kubernetes/kubernetes pkg/proxy/ipvs/README.md
  // "Check IPVS proxy rules" (no kube-ipvs0 listing quoted: the script's second section is left out).
  { tool: 'ipvs', file: 'blog-nginx-service', action: natAs('ipvs', '10.102.128.4', 3080), want: { kind: 'nat-rules', clusterIP: '10.102.128.4', port: 3080, present: true, endpoints: ['10.244.0.235:8080', '10.244.1.237:8080'], proxy: 'ipvs' } },
  { tool: 'ipvs', file: 'blog-nginx-service', action: natAs('ipvs', '10.102.128.4', 80), want: { kind: 'nat-rules', clusterIP: '10.102.128.4', port: 80, present: false, endpoints: [], proxy: 'ipvs' } },
  { tool: 'ipvs', file: 'readme-kubernetes-kube-dns', action: natAs('ipvs', '10.0.0.10', 53, 'UDP'), want: { kind: 'nat-rules', clusterIP: '10.0.0.10', port: 53, present: true, endpoints: ['172.17.0.2:53'], proxy: 'ipvs' } },
  { tool: 'ipvs', file: 'readme-kubernetes-kube-dns', action: natAs('ipvs', '10.0.0.1', 443), want: { kind: 'nat-rules', clusterIP: '10.0.0.1', port: 443, present: true, endpoints: ['192.168.0.1:6443'], proxy: 'ipvs' } },
);

const PINGS: { file: string; size: number; want: ProbeObservation }[] = [
  { file: 'small-passed', size: 56, want: { kind: 'mtu', size: 56, passed: true } },
  { file: 'fits-passed', size: 1422, want: { kind: 'mtu', size: 1422, passed: true } },
  { file: 'full-size-lost', size: 1472, want: { kind: 'mtu', size: 1472, passed: false } },
  { file: 'local-too-long', size: 1472, want: { kind: 'mtu', size: 1472, passed: false, mtu: 1450 } },
  { file: 'unreachable', size: 56, want: { kind: 'no-route', detail: 'Network is unreachable' } },
];

describe('parseProbeOutput on captured outputs', () => {
  it.each(CASES.map((c) => ({ name: `${c.tool}/${c.file}`, ...c })))('$name', ({ tool, file, action, want }) => {
    const { raw } = loadFixture(tool, file);
    expect(parseProbeOutput(action, raw)).toEqual(want);
  });

  it.each(PINGS.map((c) => ({ name: `ping/${c.file}`, ...c })))('parsePing: $name', ({ file, size, want }) => {
    expect(parsePing(loadFixture('ping', file).raw, size)).toEqual(want);
  });

  it('covers every captured fixture', () => {
    const covered = new Set([...CASES.map((c) => `${c.tool}/${c.file}`), ...PINGS.map((c) => `ping/${c.file}`)]);
    const all = readdirSync(FIXTURES, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(new URL(`${d.name}/`, FIXTURES)).map((f) => `${d.name}/${f.replace(/\.txt$/, '')}`));
    expect(all.filter((f) => !covered.has(f))).toEqual([]);
  });

  it('nc that printed its success before the exec was cut off (exit null) connected; with no output it timed out', () => {
    // As a lab run with --samples 20 recorded it: 178 execs at once on a loaded machine outlived their deadline.
    const cut = { stdout: '', stderr: 'Connection to 10.244.1.4 8080 port [tcp/http-alt] succeeded!\n', exitCode: null };
    expect(parseProbeOutput(tcp(8080, '10.244.1.4'), cut)).toEqual({ kind: 'connected' });
    expect(parseProbeOutput(tcp(8080, '10.244.1.4'), { stdout: '', stderr: '', exitCode: null })).toEqual({ kind: 'timeout' });
  });

  it('reads the same output from stderr as from stdout', () => {
    const { raw } = loadFixture('nc', 'refused');
    expect(parseProbeOutput(tcp(8080), { stdout: '', stderr: raw.stdout, exitCode: 1 })).toEqual({ kind: 'refused' });
  });

  it.each([
    { name: 'tool missing (exit 127)', raw: { stdout: '', stderr: 'sh: nc: not found', exitCode: 127 }, reason: 'the tool is not available in the probe image: sh: nc: not found' },
    { name: 'exec runtime error', raw: { stdout: '', stderr: 'exec: "dig": executable file not found in $PATH', exitCode: 1 }, reason: 'the tool is not available in the probe image: exec: "dig": executable file not found in $PATH' },
    { name: 'not permitted', raw: { stdout: '', stderr: 'iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)', exitCode: 4 }, reason: 'not permitted in the probe container: iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)' },
  ])('could-not-run: $name', ({ raw, reason }) => {
    expect(parseProbeOutput({ tool: 'forward-policy' }, raw)).toEqual({ kind: 'could-not-run', reason });
  });
});

describe('parseResolvConf on real outputs quoted from the Kubernetes docs', () => {
  const read = (stdout: string, exitCode = 0) => parseProbeOutput({ tool: 'resolv-conf' }, { stdout, stderr: '', exitCode });
  it.each([
    {
      // tasks/administer-cluster/dns-debugging-resolution: a GKE pod, the provider's search domains after the cluster's
      name: 'ClusterFirst with the node search domains appended',
      out: 'search default.svc.cluster.local svc.cluster.local cluster.local google.internal c.gce_project_id.internal\nnameserver 10.0.0.10\noptions ndots:5\n',
      want: { kind: 'resolv-conf', nameservers: ['10.0.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'google.internal', 'c.gce_project_id.internal'], ndots: 5 },
    },
    {
      // concepts/services-networking/dns-pod-service: dnsPolicy None with a dnsConfig
      name: 'dnsConfig: another nameserver, two options',
      out: 'nameserver 192.0.2.1\nsearch ns1.svc.cluster-domain.example my.dns.search.suffix\noptions ndots:2 edns0\n',
      want: { kind: 'resolv-conf', nameservers: ['192.0.2.1'], search: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'], ndots: 2 },
    },
    {
      // concepts/services-networking/dns-pod-service: an IPv6 cluster in a custom domain
      name: 'IPv6 nameserver, custom domain',
      out: 'nameserver 2001:db8:30::a\nsearch default.svc.cluster-domain.example svc.cluster-domain.example cluster-domain.example\noptions ndots:5\n',
      want: { kind: 'resolv-conf', nameservers: ['2001:db8:30::a'], search: ['default.svc.cluster-domain.example', 'svc.cluster-domain.example', 'cluster-domain.example'], ndots: 5 },
    },
  ])('$name', ({ out, want }) => {
    expect(read(out)).toEqual(want);
  });

  it('reads comments, a later domain line replacing the search list, and ndots capped at 15, as the resolver does', () => {
    expect(read('# Generated\nsearch a.example b.example\nnameserver 10.0.0.10 ; first\nnameserver 10.0.0.11\ndomain corp.example.\noptions ndots:30 timeout:1\n')).toEqual({
      kind: 'resolv-conf',
      nameservers: ['10.0.0.10', '10.0.0.11'],
      search: ['corp.example'],
      ndots: 15,
    });
  });

  it('could not run: the file is missing (busybox cat) or holds nothing the resolver reads', () => {
    expect(read("cat: can't open '/etc/resolv.conf': No such file or directory\n", 1)).toEqual({
      kind: 'could-not-run',
      reason: "could not read /etc/resolv.conf: cat: can't open '/etc/resolv.conf': No such file or directory",
    });
    expect(read('# empty\n')).toEqual({ kind: 'could-not-run', reason: 'no nameserver or search line in /etc/resolv.conf: # empty' });
  });
});

describe('parseDigQueryTime on captured outputs', () => {
  const queryTime = (file: string): number | undefined => parseDigQueryTime(loadFixture('dig', file).raw);
  it.each([
    { file: 'lossy-search-answered', ms: 16 },
    { file: 'search-found', ms: 0 },
    { file: 'direct-found', ms: 0 },
    { file: 'direct-multi', ms: 0 },
    { file: 'direct-nxdomain', ms: 0 },
    { file: 'search-nxdomain-dotted', ms: 0 },
    { file: 'direct-servfail', ms: 0 },
    { file: 'direct-refused', ms: 0 },
  ])("reads dig's query time of an answer: $file", ({ file, ms }) => expect(queryTime(file)).toBe(ms));
  it.each(['lossy-search-timeout', 'lossy-direct-timeout', 'search-timeout', 'direct-timeout', 'direct-port-closed', 'server-down'])(
    'gives none when no answer came: %s',
    (file) => expect(queryTime(file)).toBeUndefined(),
  );
  it('reads the query time of a lookup in a recorded run (the TUI fixture, captured in the lab: 12 msec)', () => {
    const lines = readFileSync(new URL('../tui/fixtures/healthy-2-nodes.ndjson', import.meta.url), 'utf8').split('\n').filter((l) => l.includes('"probe-finished"') && l.includes('dig'));
    const raws = lines.map((l) => (JSON.parse(l) as { result: { raw: RawOutput } }).result.raw);
    expect(raws.map(parseDigQueryTime)).toContain(12);
  });
  it('reads it from stderr too, and microseconds from dig -u', () => {
    const { raw } = loadFixture('dig', 'lossy-search-answered');
    expect(parseDigQueryTime({ stdout: '', stderr: raw.stdout })).toBe(16);
    expect(parseDigQueryTime({ stdout: raw.stdout.replace('16 msec', '1500 usec'), stderr: '' })).toBe(1.5);
  });
});

describe('buildProbeCommand', () => {
  it.each([
    { name: 'nc', action: tcp(8080), file: ['nc', 'connected'], timeoutMs: 2000 },
    { name: 'dig search', action: { tool: 'dns-lookup', name: 'web' } as ProbeAction, file: ['dig', 'search-found'], timeoutMs: 2000 },
    { name: 'dig direct', action: { tool: 'dns-lookup', name: 'web.shop.svc.cluster.local', server: '10.96.0.10' } as ProbeAction, file: ['dig', 'direct-found'], timeoutMs: 1500 },
    { name: 'dig direct on a port', action: { tool: 'dns-lookup', name: 'web.shop.svc.cluster.local', server: '10.244.1.2', port: 5353 } as ProbeAction, file: ['dig', 'direct-pod-port-5353'], timeoutMs: 2000 },
    { name: 'resolv.conf', action: { tool: 'resolv-conf' } as ProbeAction, file: ['resolv-conf', 'cluster-first'], timeoutMs: 2000 },
    { name: 'sysctl', action: { tool: 'sysctl', key: 'net.ipv4.ip_forward' } as ProbeAction, file: ['sysctl', 'ip-forward-0'], timeoutMs: 2000 },
    { name: 'iptables -S', action: { tool: 'forward-policy' } as ProbeAction, file: ['iptables', 'forward-drop'], timeoutMs: 2000 },
    { name: 'iptables-save', action: nat('10.96.0.2'), file: ['iptables-save', 'kube-proxy'], timeoutMs: 2000 },
    { name: 'ip route list match', action: route('172.31.0.11'), file: ['ip-route', 'direct'], timeoutMs: 2000 },
    { name: 'ip neigh', action: { tool: 'neighbor', address: '10.244.1.3' } as ProbeAction, file: ['ip-neigh', 'reachable'], timeoutMs: 2000 },
  ])('$name builds the captured command', ({ action, file, timeoutMs }) => {
    const [tool, name] = file as [string, string];
    const argv = buildProbeCommand(action, timeoutMs);
    // The fixture commands are the same argv, except dig options order, which dig does not care about.
    expect([...argv].sort()).toEqual(loadFixture(tool, name).cmd.split(' ').sort());
  });

  it('builds the captured path MTU probe: a fixed script, the address only as an argument', () => {
    const argv = buildProbeCommand(pathMtu('10.244.1.3'), 2000);
    expect(argv).toEqual(['sh', '-c', PATH_MTU_SCRIPT, 'sh', '10.244.1.3', '1']);
    expect(argv.join(' ')).toBe(loadFixture('ping', 'mtu-mismatch-n2-to-n1-pod').cmd);
    expect(PATH_MTU_SCRIPT).not.toContain('10.244');
    // Two pings share the probe's budget: one second each for 2 s, two for 4 s.
    expect(buildProbeCommand(pathMtu('10.244.1.3'), 4000).at(-1)).toBe('2');
  });

  it.each([
    { name: 'both sizes lost', out: 'path-mtu: dev flannel.1 mtu 1450\n1 packets transmitted, 0 received, 100% packet loss\npath-mtu: full exit 1\n1 packets transmitted, 0 received, 100% packet loss\npath-mtu: small exit 1\n', want: { kind: 'mtu', size: 1422, passed: false, mtu: 1450, dev: 'flannel.1', smallPassed: false, deviceMtu: 1450 } },
    { name: 'refused locally (route MTU below the link)', out: 'path-mtu: dev eth0 mtu 1500\nping: local error: message too long, mtu=1400\n1 packets transmitted, 0 received, +1 errors, 100% packet loss\npath-mtu: full exit 1\n1 packets transmitted, 1 received, 0% packet loss\npath-mtu: small exit 0\n', want: { kind: 'mtu', size: 1472, passed: false, mtu: 1400, dev: 'eth0', smallPassed: true, deviceMtu: 1500 } },
    { name: 'no route at all', out: 'RTNETLINK answers: Network is unreachable\n', want: { kind: 'no-route', detail: 'Network is unreachable' } },
    { name: 'killed before the small ping', out: 'path-mtu: dev flannel.1 mtu 1450\n1 packets transmitted, 1 received\npath-mtu: full exit 0\n', want: { kind: 'could-not-run', reason: 'the path MTU probe did not finish (exit null)' } },
  ])('parses the path MTU probe: $name', ({ out, want }) => {
    expect(parseProbeOutput(pathMtu('10.244.2.2'), { stdout: out, stderr: '', exitCode: out.startsWith('RTNETLINK') ? 2 : out.includes('small exit') ? 0 : null })).toEqual(want);
  });

  it('takes the most specific route and its multipath next hop', () => {
    const raw = { stdout: 'default via 172.31.0.1 dev eth0 \n10.244.0.0/16 via 172.31.0.1 dev eth0 \n10.244.2.0/24 proto bird \n\tnexthop via 172.31.0.12 dev eth0 weight 1 \n\tnexthop via 172.31.0.13 dev eth0 weight 1 \n', stderr: '', exitCode: 0 };
    expect(parseProbeOutput(route('10.244.2.7'), raw)).toEqual({ kind: 'route', present: true, route: '10.244.2.0/24', dev: 'eth0', via: '172.31.0.12' });
  });

  it.each([
    { name: 'option-like host', action: tcp(80, '-e/bin/sh') },
    { name: 'shell metacharacters', action: tcp(80, 'a;reboot') },
    { name: 'dig option injection', action: { tool: 'dns-lookup', name: '+tcp' } as ProbeAction },
    { name: 'bad port', action: tcp(0) },
    { name: 'bad sysctl key', action: { tool: 'sysctl', key: '-w net.ipv4.ip_forward=1' } as ProbeAction },
    { name: 'route to a non-address', action: route('-6') },
    { name: 'path MTU to a name', action: pathMtu('web.shop') },
    { name: 'path MTU to an out-of-range octet', action: pathMtu('10.244.1.300') },
  ])('rejects unsafe parameters: $name', ({ action }) => {
    expect(() => buildProbeCommand(action, 2000)).toThrow();
  });
});
