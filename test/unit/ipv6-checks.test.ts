/**
 * The IPv6 twins of the node checks: planned per family beside the IPv4 ones (NDP neighbors, the pod's MAC on its
 * bridge, bridge-nf-call-ip6tables, the IPv6 proxier's NAT rules, the path MTU over IPv6 and the loss burst), their
 * commands, their parsers on outputs captured from the lab's dual-stack clusters (test/unit/fixtures-ipv6/, written by
 * capture-lab.ts), and verdicts that name a fault of the IPv6 side with family IPv6 while IPv4 stays as it was.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { IPFamily } from '../../src/core/address.ts';
import { describeObservation } from '../../src/core/diagnose/describe.ts';
import { decideVerdictByFamily } from '../../src/core/diagnose/families.ts';
import type { ProbeAction, ProbeObservation, ProbeResult, ProbeSpec, ResolvedDestination, ResolvedSource, ResolvedTargets } from '../../src/core/model.ts';
import { judgeNodeCheck } from '../../src/core/node-checks.ts';
import { buildProbeCommand, NEIGHBOR_REFRESH_SCRIPT, parsePing, parseProbeOutput, PATH_MTU_SCRIPT, type RawOutput } from '../../src/core/parse.ts';
import { IPV6_ICMP_HEADERS, PATH_MTU6_SCRIPT } from '../../src/core/parse-ipv6.ts';
import { IP6TABLES_BOTH_SCRIPT, IPTABLES_BOTH_SCRIPT, lookupNftables, natCommand, PROXY6_SEARCH_SCRIPT } from '../../src/core/parse-proxy.ts';
import { BRIDGE_NF_IP6TABLES, planLadder, type LadderPlan } from '../../src/core/plan.ts';
import { buildFacts, clientPod, healthyAnswer, webService } from '../cli/fakes.ts';

const FIXTURES = new URL('./fixtures-ipv6/', import.meta.url);

/** A capture: its `# cmd:` and `# exit:` header lines stripped, the rest as stdout. */
function fixture(name: string): { raw: RawOutput; cmd: string } {
  const lines = readFileSync(new URL(`${name}.txt`, FIXTURES), 'utf8').split('\n');
  let cmd = '';
  let exitCode = 0;
  while (lines[0] !== undefined && /^# (cmd|exit): /.test(lines[0])) {
    const header = lines.shift() as string;
    if (header.startsWith('# cmd: ')) cmd = header.slice('# cmd: '.length);
    else exitCode = Number(header.slice('# exit: '.length));
  }
  return { raw: { stdout: lines.join('\n'), stderr: '', exitCode }, cmd };
}

// The lab's dual-stack addresses (test/lab/README.md "Dual-stack"): shop/web's ClusterIPs, client and web-2 on node-1,
// web-1 on node-2.
const VIP6 = 'fd00:10:96::2';
const CLIENT6 = 'fd00:10:244:1::3';
const WEB1_6 = 'fd00:10:244:2::2';
const WEB2_6 = 'fd00:10:244:1::4';

describe('IPv6 node check commands', () => {
  it('NAT rules of an IPv6 ClusterIP read the IPv6 proxier: ip6tables of both backends, table ip6 kube-proxy, the ip6 search', () => {
    const nat = (proxy?: 'iptables' | 'nftables' | 'unknown'): ProbeAction => ({ tool: 'nat-rules', clusterIP: VIP6, port: 80, protocol: 'TCP', ...(proxy ? { proxy } : {}) });
    expect(buildProbeCommand(nat('iptables'), 2000)).toEqual(['sh', '-c', IP6TABLES_BOTH_SCRIPT]);
    expect(buildProbeCommand(nat('nftables'), 2000)).toEqual(['nft', 'list', 'table', 'ip6', 'kube-proxy']);
    expect(buildProbeCommand(nat('unknown'), 2000)).toEqual(['sh', '-c', PROXY6_SEARCH_SCRIPT]);
    expect(buildProbeCommand(nat(), 2000)).toEqual(['ip6tables-save', '-t', 'nat']);
    // IPv4 as before.
    expect(natCommand('iptables')).toEqual(['sh', '-c', IPTABLES_BOTH_SCRIPT]);
    expect(natCommand('nftables')).toEqual(['nft', 'list', 'table', 'ip', 'kube-proxy']);
    expect(buildProbeCommand({ tool: 'nat-rules', clusterIP: '10.96.0.2', port: 80, protocol: 'TCP' }, 2000)).toEqual(['iptables-save', '-t', 'nat']);
  });

  it('the MTU probe over IPv6 takes ip -6 and a payload 48 bytes short of the MTU; the ping and neighbor refresh take the address as is', () => {
    expect(buildProbeCommand({ tool: 'path-mtu', address: WEB1_6 }, 2000)).toEqual(['sh', '-c', PATH_MTU6_SCRIPT, 'sh', WEB1_6, '1']);
    expect(PATH_MTU6_SCRIPT).toContain('ip -6 -o route get "$1"');
    expect(PATH_MTU6_SCRIPT).toContain(`ping -6 -M do -s $((mtu - ${IPV6_ICMP_HEADERS}))`);
    expect(buildProbeCommand({ tool: 'path-mtu', address: '10.244.2.2' }, 2000)).toEqual(['sh', '-c', PATH_MTU_SCRIPT, 'sh', '10.244.2.2', '1']);
    // Over IPv6 the burst has a deadline (-w) within the probe's time; IPv4 keeps its command.
    expect(buildProbeCommand({ tool: 'packet-loss', address: WEB1_6 }, 2000)).toEqual(['ping', '-q', '-n', '-c', '50', '-i', '0.002', '-W', '1', '-w', '2', WEB1_6]);
    expect(buildProbeCommand({ tool: 'packet-loss', address: '10.244.2.2' }, 2000)).toEqual(['ping', '-q', '-n', '-c', '50', '-i', '0.002', '-W', '1', '10.244.2.2']);
    expect(buildProbeCommand({ tool: 'neighbor', address: CLIENT6, refresh: true }, 2000)).toEqual(['sh', '-c', NEIGHBOR_REFRESH_SCRIPT, 'sh', CLIENT6]);
    // Still never anything an option could hide in.
    expect(() => buildProbeCommand({ tool: 'packet-loss', address: '-f' }, 2000)).toThrow(/not an IP address/);
    expect(() => buildProbeCommand({ tool: 'path-mtu', address: 'fd00::7%eth0' }, 2000)).toThrow(/not an IP address/);
  });

  it('the captures were made with these very commands', () => {
    expect(fixture('nat-iptables-both').cmd).toBe(`sh -c ${IP6TABLES_BOTH_SCRIPT}`);
    expect(fixture('nft-kube-proxy-healthy').cmd).toBe('nft list table ip6 kube-proxy');
    expect(fixture('path-mtu-n1-to-web-1').cmd).toBe(`sh -c ${PATH_MTU6_SCRIPT} sh ${WEB1_6} 1`);
    expect(fixture('loss-healthy').cmd).toBe(`ping -q -n -c 50 -i 0.002 -W 1 -w 2 ${WEB1_6}`);
    expect(fixture('loss-no-route').cmd).toBe(`ping -q -n -c 50 -i 0.002 -W 1 -w 2 ${WEB1_6}`);
  });
});

describe('IPv6 node check parsers on the lab captures', () => {
  const nat6 = (proxy: 'iptables' | 'nftables' | 'unknown'): ProbeAction => ({ tool: 'nat-rules', clusterIP: VIP6, port: 80, protocol: 'TCP', proxy });

  it('ip6tables: KUBE-SERVICES -d <VIP>/128 to KUBE-SVC and its KUBE-SEP DNATs to [ip]:port, in the nft backend', () => {
    expect(parseProbeOutput(nat6('iptables'), fixture('nat-iptables-both').raw)).toEqual({
      kind: 'nat-rules', clusterIP: VIP6, port: 80, present: true, endpoints: [`[${WEB1_6}]:8080`, `[${WEB2_6}]:8080`], proxy: 'iptables', backend: 'nft',
    });
    expect(parseProbeOutput(nat6('unknown'), fixture('proxy-search-iptables').raw)).toMatchObject({ kind: 'nat-rules', present: true, proxy: 'iptables', backend: 'nft' });
  });

  it('ip6tables without the Service: no rule (kube-proxy-rules-missing, family IPv6), a failed check', () => {
    const obs = parseProbeOutput(nat6('iptables'), fixture('nat-iptables-rules-missing').raw);
    expect(obs).toMatchObject({ kind: 'nat-rules', clusterIP: VIP6, present: false, endpoints: [], proxy: 'iptables' });
    expect(judgeNodeCheck(obs)).toBe('fail');
    // Named as what was read: ip6tables' backends.
    expect(describeObservation(obs)).toBe('no NAT rules (ip6tables-nft); read: ip6tables-nft, ip6tables-legacy');
    // The same node's IPv4 rules for the Service stay: only the IPv6 proxier's went.
    const v4 = { tool: 'nat-rules', clusterIP: '10.96.0.2', port: 80, protocol: 'TCP', proxy: 'iptables' } as const;
    expect(parseProbeOutput(v4, fixture('nat-iptables-rules-missing-ipv4-kept').raw)).toMatchObject({ present: true, endpoints: ['10.244.2.2:8080', '10.244.1.4:8080'] });
  });

  it('table ip6 kube-proxy: the service-ips element keyed by an IPv6 address leads to the endpoint chains', () => {
    expect(parseProbeOutput(nat6('nftables'), fixture('nft-kube-proxy-healthy').raw)).toEqual({
      kind: 'nat-rules', clusterIP: VIP6, port: 80, present: true, endpoints: [`[${WEB1_6}]:8080`, `[${WEB2_6}]:8080`], proxy: 'nftables',
    });
    expect(parseProbeOutput(nat6('unknown'), fixture('proxy-search-nftables').raw)).toMatchObject({ kind: 'nat-rules', present: true, proxy: 'nftables' });
    expect(parseProbeOutput(nat6('nftables'), fixture('nft-kube-proxy-rules-missing').raw)).toEqual({ kind: 'nat-rules', clusterIP: VIP6, port: 80, present: false, endpoints: [], proxy: 'nftables' });
    const v4 = { tool: 'nat-rules', clusterIP: '10.96.0.2', port: 80, protocol: 'TCP', proxy: 'nftables' } as const;
    expect(parseProbeOutput(v4, fixture('nft-kube-proxy-rules-missing-ipv4-kept').raw)).toMatchObject({ present: true, endpoints: ['10.244.2.2:8080', '10.244.1.4:8080'] });
  });

  it('the IPv4 table is never read for an IPv6 ClusterIP, nor the IPv6 one for an IPv4 ClusterIP', () => {
    const text = fixture('nft-kube-proxy-healthy').raw.stdout;
    expect(lookupNftables(text, '10.96.0.2', 80, 'TCP')).toEqual({ found: false });
    expect(lookupNftables(text, VIP6, 80, 'TCP')).toMatchObject({ found: true, present: true });
  });

  it('ip neigh for an IPv6 pod: REACHABLE on cni0; the pod MAC read on its bridge; a wrong PERMANENT entry', () => {
    expect(parseProbeOutput({ tool: 'neighbor', address: WEB2_6 }, fixture('neighbor-n1-web-2').raw)).toEqual({ kind: 'neighbor', ip: WEB2_6, mac: '0a:58:0a:f4:01:04', state: 'REACHABLE', dev: 'cni0' });
    expect(parseProbeOutput({ tool: 'neighbor', address: CLIENT6, refresh: true }, fixture('pod-mac-web-2-client').raw)).toEqual({ kind: 'neighbor', ip: CLIENT6, mac: '0a:58:0a:f4:01:03', state: 'REACHABLE', dev: 'eth0' });
    expect(parseProbeOutput({ tool: 'neighbor', address: WEB1_6 }, fixture('neighbor-permanent-n2-web-1').raw)).toEqual({ kind: 'neighbor', ip: WEB1_6, mac: '02:00:5e:00:de:ad', state: 'PERMANENT', dev: 'cni0' });
  });

  it('path MTU over flannel-v6.1 (mtu 1430): a 1382-byte payload passes both ways', () => {
    const mtu = (address: string, name: string) => parseProbeOutput({ tool: 'path-mtu', address }, fixture(name).raw);
    expect(mtu(WEB1_6, 'path-mtu-n1-to-web-1')).toEqual({ kind: 'mtu', size: 1430 - 48, passed: true, mtu: 1430, dev: 'flannel-v6.1', smallPassed: true, podMtu: 1450, deviceMtu: 1430 });
    expect(mtu(CLIENT6, 'path-mtu-n2-to-client')).toEqual({ kind: 'mtu', size: 1382, passed: true, mtu: 1430, dev: 'flannel-v6.1', smallPassed: true, podMtu: 1450, deviceMtu: 1430 });
  });

  it("a payload over the IPv6 route's MTU is refused by the node itself, in iputils' IPv6 words (mtu: N)", () => {
    const { raw } = fixture('ping-local-too-long');
    expect(raw.stdout).toContain('ping: local error: message too long, mtu: 1430');
    // As PATH_MTU6_SCRIPT runs that ping: failed, with the MTU the kernel refused it at.
    expect(parsePing(raw, 1402)).toEqual({ kind: 'mtu', size: 1402, passed: false, mtu: 1430 });
  });

  it('the ping burst over IPv6: 50/50 on a healthy lab, a real share lost on the lossy IPv6 overlay', () => {
    const healthy = parseProbeOutput({ tool: 'packet-loss', address: WEB1_6 }, fixture('loss-healthy').raw);
    expect(healthy).toMatchObject({ kind: 'loss', sent: 50, received: 50 });
    const lossy = parseProbeOutput({ tool: 'packet-loss', address: WEB1_6 }, fixture('loss-lossy').raw);
    // With its deadline, ping sends until 50 are answered (or the deadline): the share lost is what counts.
    expect(lossy.kind === 'loss' && lossy.received > 0 && lossy.sent - lossy.received >= 3).toBe(true);
    expect(judgeNodeCheck(lossy)).toBe('fail');
  });

  it('the ping burst toward a next hop that never answers neighbor discovery (pod-route-missing IPv6) ends at its deadline with its summary', () => {
    const obs = parseProbeOutput({ tool: 'packet-loss', address: WEB1_6 }, fixture('loss-no-route').raw);
    expect(obs).toMatchObject({ kind: 'loss', received: 0 });
    // All lost: the path is down (the ladder shows it), no loss fault by itself.
    expect(judgeNodeCheck(obs)).toBe('warn');
  });

  it('bridge-nf-call-ip6tables: 1 on a healthy node, 0 with bridge-nf-off family IPv6', () => {
    expect(parseProbeOutput({ tool: 'sysctl', key: BRIDGE_NF_IP6TABLES }, fixture('bridge-nf-ip6tables-1').raw)).toEqual({ kind: 'sysctl', key: BRIDGE_NF_IP6TABLES, value: '1' });
    expect(parseProbeOutput({ tool: 'sysctl', key: BRIDGE_NF_IP6TABLES }, fixture('bridge-nf-ip6tables-0').raw)).toEqual({ kind: 'sysctl', key: BRIDGE_NF_IP6TABLES, value: '0' });
  });
});

// ---------- planning and verdicts per family ----------

const CLIENT4 = '10.244.1.3';
const dualClient: ResolvedSource = { ...(clientPod as Extract<ResolvedSource, { kind: 'pod' }>), ip: CLIENT4, ips: [CLIENT4, CLIENT6] };
const web1 = webService.endpoints[0] as (typeof webService.endpoints)[number];
const dualService: Extract<ResolvedDestination, { kind: 'service' }> = {
  ...webService,
  clusterIP: '10.96.0.2',
  clusterIPs: ['10.96.0.2', VIP6],
  ipFamilies: ['IPv4', 'IPv6'],
  endpoints: [{ ...web1, ip: '10.244.2.2' }, { ...web1, ip: WEB1_6 }],
};
const dualTargets: ResolvedTargets = { source: dualClient, destination: dualService };
const datapathOf = (mode: string) => ({ daemonSets: ['kube-system/kube-flannel-ds', 'kube-system/kube-proxy'], unreadable: [], kubeProxy: { mode } });
const plan = (families: readonly IPFamily[], mode = 'iptables'): LadderPlan => planLadder(buildFacts(dualClient, dualService, { datapath: datapathOf(mode) }), { timeoutMs: 2000, families });

describe('IPv6 node checks planned beside the IPv4 ones', () => {
  it('a dual-stack run plans each IPv4 path check again on the IPv6 addresses, tagged IPv6', () => {
    const p = plan(['IPv4', 'IPv6']);
    const v6 = p.nodeChecks.filter((s) => s.family === 'IPv6').map((s) => s.id);
    expect(v6).toEqual(
      expect.arrayContaining([
        'node-checks:node-1:bridge-nf6',
        'node-checks:node-2:bridge-nf6',
        `node-checks:node-2:neighbor:${WEB1_6}`,
        `node-checks:node-2:pod-mac:${WEB1_6}`,
        `node-checks:node-1:nat:${VIP6}:80`,
        `node-checks:node-1:mtu:${WEB1_6}`,
        `node-checks:node-1:loss:${WEB1_6}`,
        `node-checks:node-2:mtu:${CLIENT6}`,
      ]),
    );
    const byId = (id: string) => p.nodeChecks.find((s) => s.id === id) as ProbeSpec;
    expect(byId('node-checks:node-1:bridge-nf6').action).toEqual({ tool: 'sysctl', key: BRIDGE_NF_IP6TABLES });
    expect(byId(`node-checks:node-1:nat:${VIP6}:80`).command).toEqual(['sh', '-c', IP6TABLES_BOTH_SCRIPT]);
    expect(byId(`node-checks:node-1:mtu:${WEB1_6}`).command[2]).toBe(PATH_MTU6_SCRIPT);
    // The pod MAC is read from a pod on web-1's bridge (the same-node rung's pod on node-2).
    expect(byId(`node-checks:node-2:pod-mac:${WEB1_6}`).where).toEqual({ kind: 'node-pod', node: 'node-2', hostNetwork: false });
    // The IPv4 checks keep their ids, commands and family.
    expect(byId('node-checks:node-1:nat:10.96.0.2:80')).toMatchObject({ family: 'IPv4', command: ['sh', '-c', IPTABLES_BOTH_SCRIPT] });
    expect(byId('node-checks:node-1:bridge-nf')).toMatchObject({ family: 'IPv4', action: { tool: 'sysctl', key: 'net.bridge.bridge-nf-call-iptables' } });
  });

  it('an IPv4-only run plans exactly what it did before the IPv6 twins (no IPv6 check, same order)', () => {
    const v4 = planLadder(buildFacts(clientPod, webService, { datapath: datapathOf('iptables') }), { timeoutMs: 2000, families: ['IPv4'] });
    const none = planLadder(buildFacts(clientPod, webService, { datapath: datapathOf('iptables') }), { timeoutMs: 2000 });
    expect(v4.nodeChecks).toEqual(none.nodeChecks);
    expect(v4.nodeChecks.every((s) => s.family === undefined && !s.id.includes('bridge-nf6') && !s.id.includes('ipv6'))).toBe(true);
  });

  it('the source behind its own Service: the hairpin checks (its veth peer, the bridge ports) run once for both families', () => {
    const self = { ...web1, node: 'node-1', pod: { namespace: 'front', name: 'client' } };
    const own: Extract<ResolvedDestination, { kind: 'service' }> = { ...dualService, endpoints: [{ ...self, ip: CLIENT4 }, { ...self, ip: CLIENT6 }] };
    const p = planLadder(buildFacts(dualClient, own, { datapath: datapathOf('iptables') }), { timeoutMs: 2000, families: ['IPv4', 'IPv6'] });
    const hairpin = p.nodeChecks.filter((s) => s.check === 'hairpin').map((s) => `${s.family ?? '-'} ${s.id}`);
    expect(hairpin).toEqual(['- node-checks:source:veth-peer', '- node-checks:node-1:bridge-ports']);
  });

  it('kube-proxy in IPVS mode: no IPv6 NAT check (its IPv6 listing is not read), the IPv4 one as before', () => {
    const p = plan(['IPv4', 'IPv6'], 'ipvs');
    expect(p.nodeChecks.filter((s) => s.check === 'nat-rules').map((s) => `${s.family} ${s.id}`)).toEqual(['IPv4 node-checks:node-1:nat:10.96.0.2:80']);
  });
});

/** Answers every planned probe as healthy (with IPv6 words for IPv6 checks), except what `fail` says. */
function judge(fail: (s: ProbeSpec) => ProbeObservation | undefined, network?: 'flannel') {
  const p = plan(['IPv4', 'IPv6']);
  const answer = (specs: readonly ProbeSpec[]): ProbeResult[] => specs.map((spec) => ({ spec, observation: fail(spec) ?? healthy(spec), durationMs: 3 }));
  const input = { targets: dualTargets, staticFindings: [], observations: answer(p.rungs.flatMap((r) => r.probes)), nodeChecks: answer(p.nodeChecks), nodes: buildFacts().nodes, ...(network ? { network } : {}) };
  return decideVerdictByFamily(input, ['IPv4', 'IPv6']);
}
function healthy(spec: ProbeSpec): ProbeObservation {
  const a = spec.action;
  const v6 = (x: string): boolean => x.includes(':');
  if (a.tool === 'dns-lookup') return { kind: 'resolved', ips: a.type === 'AAAA' ? [VIP6] : ['10.96.0.2'] };
  if (a.tool === 'nat-rules') return { kind: 'nat-rules', clusterIP: a.clusterIP, port: a.port, present: true, endpoints: [v6(a.clusterIP) ? `[${WEB1_6}]:8080` : '10.244.2.2:8080'], proxy: 'iptables', backend: 'nft' };
  if (a.tool === 'path-mtu' && v6(a.address)) return { kind: 'mtu', size: 1382, passed: true, mtu: 1430, dev: 'flannel-v6.1', smallPassed: true };
  if (a.tool === 'neighbor') return { kind: 'neighbor', ip: a.address, mac: '0a:58:0a:f4:02:02', state: 'REACHABLE', dev: a.refresh ? 'eth0' : 'cni0' };
  return healthyAnswer(spec);
}
const isV6Tcp = (s: ProbeSpec): boolean => s.action.tool === 'tcp-connect' && s.action.host.includes(':');
const onNode2 = (s: ProbeSpec): boolean => s.where.kind === 'node-pod' && s.where.node === 'node-2';

describe('IPv6 faults named with their family', () => {
  it('healthy with every IPv6 twin answered: HEALTHY, no family', () => {
    const out = judge(() => undefined);
    expect(out.verdict).toMatchObject({ cause: 'HEALTHY' });
    expect(out.verdict.family).toBeUndefined();
  });

  it("a wrong IPv6 neighbor entry on node-2: NODE_NEIGHBOR_STALE on node-2, IPv6 only, against the pod's real MAC", () => {
    const out = judge((s) => {
      if (s.id === `node-checks:node-2:neighbor:${WEB1_6}`) return { kind: 'neighbor', ip: WEB1_6, mac: '02:00:5e:00:de:ad', state: 'PERMANENT', dev: 'cni0' };
      if (isV6Tcp(s) && !onNode2(s)) return { kind: 'timeout' };
      return undefined;
    });
    expect(out.verdict).toMatchObject({ cause: 'NODE_NEIGHBOR_STALE', node: 'node-2', family: 'IPv6', status: 'broken' });
    expect(out.verdict.hints[0]).toBe(`on node node-2: ip neigh del ${WEB1_6} dev cni0`);
    expect(out.findings.every((f) => f.family !== 'IPv4')).toBe(true);
  });

  it('the IPv6 proxier lost the Service on node-1: SERVICE_PROXY_RULES_MISSING IPv6, citing the ip6tables check', () => {
    const natId = `node-checks:node-1:nat:${VIP6}:80`;
    const out = judge((s) => {
      if (s.id === natId) return { kind: 'nat-rules', clusterIP: VIP6, port: 80, present: false, endpoints: [], proxy: 'iptables', searched: 'iptables-nft, iptables-legacy (no KUBE-SERVICES chain)' };
      if (s.rung === 'cluster-ip' && isV6Tcp(s)) return { kind: 'timeout' };
      return undefined;
    });
    expect(out.verdict).toMatchObject({ cause: 'SERVICE_PROXY_RULES_MISSING', node: 'node-1', family: 'IPv6' });
    expect(out.verdict.citations).toEqual(expect.arrayContaining([{ probe: natId, role: 'cause' }]));
    expect(out.verdict.hints[0]).toBe(`on node node-1: ip6tables-save -t nat | grep ${VIP6}`);
  });

  it('the IPv6 overlay loses a share of packets: OVERLAY_PACKET_LOSS IPv6 with flannel-v6.1 and ip6tables in the hints', () => {
    const out = judge((s) => (s.id === `node-checks:node-1:loss:${WEB1_6}` ? { kind: 'loss', sent: 50, received: 35, rttMs: 0.1 } : undefined));
    expect(out.verdict).toMatchObject({ cause: 'OVERLAY_PACKET_LOSS', node: 'node-1', family: 'IPv6', status: 'degraded' });
    expect(out.verdict.hints[0]).toContain('ip -s link show flannel-v6.1');
    expect(out.verdict.hints[1]).toContain('ip6tables -S INPUT');
  });

  it('full-size IPv6 packets lost on node-1: PATH_MTU_MISMATCH IPv6, the size on the wire counted with IPv6 headers', () => {
    const out = judge((s) => (s.id === `node-checks:node-1:mtu:${WEB1_6}` ? { kind: 'mtu', size: 1382, passed: false, mtu: 1430, dev: 'flannel-v6.1', smallPassed: true } : undefined));
    expect(out.verdict).toMatchObject({ cause: 'PATH_MTU_MISMATCH', node: 'node-1', family: 'IPv6' });
    expect(out.verdict.summary).toContain('full-size ones (1430 bytes, the MTU of flannel-v6.1)');
    expect(out.verdict.hints[2]).toBe(`find the largest size that passes: ping -6 -M do -s SIZE -c 1 ${WEB1_6}`);
  });

  it('bridge-nf-call-ip6tables off on node-1: NODE_BRIDGE_NF_DISABLED IPv6 with the ip6tables sysctl to set', () => {
    const out = judge((s) => (s.id === 'node-checks:node-1:bridge-nf6' ? { kind: 'sysctl', key: BRIDGE_NF_IP6TABLES, value: '0' } : undefined));
    expect(out.verdict).toMatchObject({ cause: 'NODE_BRIDGE_NF_DISABLED', node: 'node-1', family: 'IPv6' });
    expect(out.verdict.summary).toMatch(/^IPv6: bridged IPv6 pod traffic bypasses ip6tables on node node-1/);
    expect(out.verdict.hints).toEqual([`on node node-1: modprobe br_netfilter && sysctl -w ${BRIDGE_NF_IP6TABLES}=1`]);
  });

  it("flannel-v6.1's VXLAN dropped between the nodes: OVERLAY_BLOCKED IPv6, whose hints name the IPv6 tunnel and ip6tables", () => {
    const out = judge((s) => {
      // From node-1 (the source pod, node-1's own network) node-2's IPv6 pod gets nothing; on node-2 it answers.
      if (isV6Tcp(s) && !onNode2(s) && s.rung !== 'cluster-ip') return { kind: 'timeout' };
      if (isV6Tcp(s) && s.rung === 'cluster-ip') return { kind: 'timeout' };
      if (s.action.tool === 'packet-loss' && s.action.address.includes(':')) return { kind: 'loss', sent: 50, received: 0 };
      if (s.action.tool === 'path-mtu' && s.action.address.includes(':')) return { kind: 'mtu', size: 1382, passed: false, mtu: 1430, dev: 'flannel-v6.1', smallPassed: false };
      return undefined;
    });
    expect(out.verdict).toMatchObject({ cause: 'OVERLAY_BLOCKED', family: 'IPv6' });
    expect(out.verdict.hints[0]).toBe("check that UDP 8472 over IPv6 (VXLAN) passes between the nodes: firewalls, security groups, ip6tables INPUT/OUTPUT rules on both nodes");
    expect(out.verdict.hints[1]).toBe('on both nodes: tcpdump -ni any ip6 and udp port 8472 while re-running this command');
    // On flannel, as detected: its IPv6 tunnel by name (IPv4's stays flannel.1).
    const blocked6 = (s: ProbeSpec): ProbeObservation | undefined => (isV6Tcp(s) && !onNode2(s) ? { kind: 'timeout' } : undefined);
    expect(judge(blocked6, 'flannel').verdict.hints[0]).toBe("check that UDP 8472 over IPv6 (flannel's flannel-v6.1) passes between the nodes: firewalls, security groups, ip6tables INPUT/OUTPUT rules on both nodes");
    const blocked4 = (s: ProbeSpec): ProbeObservation | undefined => (s.action.tool === 'tcp-connect' && !s.action.host.includes(':') && !onNode2(s) ? { kind: 'timeout' } : undefined);
    expect(judge(blocked4, 'flannel').verdict).toMatchObject({ cause: 'OVERLAY_BLOCKED', family: 'IPv4' });
    expect(judge(blocked4, 'flannel').verdict.hints[0]).toBe("check that UDP 8472 (flannel's flannel.1) passes between the nodes: firewalls, security groups, iptables INPUT/OUTPUT rules on both nodes");
  });
});
