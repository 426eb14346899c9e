/**
 * The service-proxy and FORWARD readers beyond the lab's captures (parse.test.ts holds those): the FORWARD walk's
 * rules (DROP and REJECT rules, RETURN, goto, interfaces it cannot judge, marks, both backends), one backend's tool
 * missing, an unknown proxy found nowhere, Cilium, and IPVS's kube-ipvs0 binding.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProbeCommand, parseProbeOutput } from '../../src/core/parse.ts';
import { IPTABLES_BOTH_SCRIPT, IPVS_SCRIPT, lookupIpvs, natCommand, natWithoutExec, PROXY_SEARCH_SCRIPT, splitSections } from '../../src/core/parse-proxy.ts';
import type { ProbeAction } from '../../src/core/model.ts';

const flow = { from: '10.244.1.3', to: ['10.244.2.2'] };
const walk: ProbeAction = { tool: 'forward-policy', flow };

/** Output of IPTABLES_BOTH_SCRIPT with these dumps (null: the tool is missing there). */
function both(nft: string | null, legacy: string | null = ''): { stdout: string; stderr: string; exitCode: number } {
  const section = (cmd: string, out: string | null) =>
    out === null ? `== netdebug: ${cmd}\nsh: ${cmd}: not found\n== netdebug exit 127\n` : `== netdebug: ${cmd}\n${out}\n== netdebug exit 0\n`;
  return { stdout: section('iptables-nft-save', nft) + section('iptables-legacy-save', legacy), stderr: '', exitCode: 0 };
}

const filter = (policy: string, ...rules: string[]): string => {
  const chains = [...new Set(rules.map((r) => r.split(' ')[1] as string).filter((c) => !['INPUT', 'FORWARD', 'OUTPUT'].includes(c)))];
  return ['*filter', ':INPUT ACCEPT [0:0]', `:FORWARD ${policy} [0:0]`, ':OUTPUT ACCEPT [0:0]', ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT'].join('\n');
};

describe('the FORWARD walk', () => {
  it('names the DROP rule that takes the flow before any accept rule', () => {
    const out = parseProbeOutput(walk, both(filter('ACCEPT', '-A FORWARD -s 10.244.1.0/24 -j DROP', '-A FORWARD -j ACCEPT')));
    expect(out).toEqual({ kind: 'forward-policy', policy: 'ACCEPT', verdict: 'drop', backend: 'nft', decidedBy: '-A FORWARD -s 10.244.1.0/24 -j DROP' });
  });

  it('follows jumps, RETURN and REJECT in user chains', () => {
    const out = parseProbeOutput(
      walk,
      both(filter('DROP', '-A FORWARD -j CNI-FWD', '-A CNI-FWD -d 10.244.2.2/32 -j RETURN', '-A CNI-FWD -j ACCEPT', '-A FORWARD -d 10.244.2.0/24 -p tcp -j REJECT --reject-with icmp-port-unreachable')),
    );
    expect(out).toMatchObject({ verdict: 'drop', decidedBy: '-A FORWARD -d 10.244.2.0/24 -p tcp -j REJECT --reject-with icmp-port-unreachable' });
  });

  it('judges the reply too: a chain that accepts only the first packet drops the flow', () => {
    const out = parseProbeOutput(walk, both(filter('DROP', '-A FORWARD -s 10.244.1.3/32 -m conntrack --ctstate NEW -j ACCEPT')));
    expect(out).toMatchObject({ verdict: 'drop', decidedBy: '-P FORWARD DROP' });
    const replied = parseProbeOutput(walk, both(filter('DROP', '-A FORWARD -s 10.244.1.3/32 -m conntrack --ctstate NEW -j ACCEPT', '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')));
    expect(replied).toMatchObject({ verdict: 'accept' });
  });

  it('is unsure, not sure of a drop, when an accept rule it cannot judge (an interface, a mark set on the way) stood before the DROP policy', () => {
    expect(parseProbeOutput(walk, both(filter('DROP', '-A FORWARD -i cali+ -j ACCEPT')))).toMatchObject({ verdict: 'unsure', decidedBy: '-P FORWARD DROP' });
    const marked = both(filter('DROP', '-A FORWARD -j MARK --set-xmark 0x10000/0x10000', '-A FORWARD -m mark --mark 0x10000/0x10000 -j ACCEPT'));
    expect(parseProbeOutput(walk, marked)).toMatchObject({ verdict: 'unsure' });
    // A DROP rule it cannot judge is not counted: the flow goes on to the accept rule.
    expect(parseProbeOutput(walk, both(filter('ACCEPT', '-A FORWARD -o docker0 -j DROP')))).toMatchObject({ verdict: 'accept' });
  });

  it("tells a NetworkPolicy agent's drop (Calico's, kube-router's) from the node's FORWARD setup", () => {
    const calico = both(filter('ACCEPT', '-A FORWARD -j cali-FORWARD', '-A cali-FORWARD -j cali-to-wl-dispatch', '-A cali-to-wl-dispatch -j cali-tw-cali1234567890a', '-A cali-tw-cali1234567890a -j DROP'));
    expect(parseProbeOutput(walk, calico)).toMatchObject({ verdict: 'policy', decidedBy: '-A cali-tw-cali1234567890a -j DROP' });
    const kubeRouter = both(filter('ACCEPT', '-A FORWARD -j KUBE-ROUTER-FORWARD', '-A KUBE-ROUTER-FORWARD -d 10.244.2.2/32 -j KUBE-POD-FW-ABC', '-A KUBE-POD-FW-ABC -j REJECT'));
    expect(parseProbeOutput(walk, kubeRouter)).toMatchObject({ verdict: 'policy' });
    // A real FORWARD drop elsewhere still wins over a policy drop.
    expect(parseProbeOutput(walk, both(filter('DROP', '-A FORWARD -j NETPOL-FORWARD', '-A NETPOL-FORWARD -s 10.244.1.3/32 -j DROP')))).toMatchObject({ verdict: 'drop', decidedBy: '-P FORWARD DROP' });
  });

  it('drops the flow when either backend drops it (a packet crosses both hooks)', () => {
    const out = parseProbeOutput(walk, both(filter('ACCEPT'), filter('DROP')));
    expect(out).toEqual({ kind: 'forward-policy', policy: 'DROP', verdict: 'drop', backend: 'legacy', decidedBy: '-P FORWARD DROP' });
  });

  it('reads the other backend when one tool is missing, and gives up only when both are', () => {
    expect(parseProbeOutput(walk, both(filter('ACCEPT'), null))).toMatchObject({ kind: 'forward-policy', verdict: 'accept', backend: 'nft' });
    expect(parseProbeOutput(walk, both(null, null))).toEqual({
      kind: 'could-not-run',
      reason: 'could not read either iptables backend: iptables-nft-save: sh: iptables-nft-save: not found; iptables-legacy-save: sh: iptables-legacy-save: not found',
    });
  });

  it('builds a fixed script: the flow is never in it, and a non-address flow is refused', () => {
    expect(buildProbeCommand(walk, 2000)).toEqual(['sh', '-c', IPTABLES_BOTH_SCRIPT]);
    expect(IPTABLES_BOTH_SCRIPT).not.toContain('10.244');
    expect(() => buildProbeCommand({ tool: 'forward-policy', flow: { from: '10.244.1.3', to: ['$(reboot)'] } }, 2000)).toThrow(/not an IPv4 address/);
    // Without the flow, the policy alone as before.
    expect(buildProbeCommand({ tool: 'forward-policy' }, 2000)).toEqual(['iptables', '-S', 'FORWARD']);
  });
});

const nat_ = (proxy: 'iptables' | 'nftables' | 'ipvs' | 'cilium' | 'unknown'): ProbeAction => ({ tool: 'nat-rules', clusterIP: '10.96.0.2', port: 80, protocol: 'TCP', proxy });

describe('the NAT check per proxy mode', () => {
  const nat = (proxy: 'iptables' | 'nftables' | 'ipvs' | 'cilium' | 'unknown'): ProbeAction => ({ tool: 'nat-rules', clusterIP: '10.96.0.2', port: 80, protocol: 'TCP', proxy });

  it('runs the mode\'s own command', () => {
    expect(buildProbeCommand(nat('iptables'), 2000)).toEqual(['sh', '-c', IPTABLES_BOTH_SCRIPT]);
    expect(buildProbeCommand(nat('nftables'), 2000)).toEqual(['nft', 'list', 'table', 'ip', 'kube-proxy']);
    expect(buildProbeCommand(nat('ipvs'), 2000)).toEqual(['sh', '-c', IPVS_SCRIPT]);
    expect(buildProbeCommand(nat('unknown'), 2000)).toEqual(['sh', '-c', PROXY_SEARCH_SCRIPT]);
    expect(natCommand('cilium')).toEqual(['cilium-dbg', 'service', 'list']);
    expect(buildProbeCommand({ tool: 'nat-rules', clusterIP: '10.96.0.2', port: 80, protocol: 'TCP' }, 2000)).toEqual(['iptables-save', '-t', 'nat']);
  });

  it('answers Cilium without an exec: not inspectable here, with the command to run in its agent', () => {
    expect(natWithoutExec('cilium')).toEqual({
      kind: 'not-inspectable',
      what: "Cilium's Service map",
      reason: "Cilium replaces kube-proxy with eBPF maps that only its agent reads: not inspectable from a node's debug pod",
      command: 'kubectl -n kube-system exec <cilium pod on that node> -- cilium-dbg service list',
    });
    for (const p of ['iptables', 'nftables', 'ipvs', 'unknown', undefined] as const) expect(natWithoutExec(p)).toBeUndefined();
  });

  it('says an unknown proxy was found nowhere instead of calling the rule missing', () => {
    const raw = { stdout: `${both('', '').stdout}== netdebug: nft list table ip kube-proxy\nError: No such file or directory\nlist table ip kube-proxy\n== netdebug exit 1\n`, stderr: '', exitCode: 0 };
    expect(parseProbeOutput(nat('unknown'), raw)).toMatchObject({ kind: 'not-inspectable', reason: expect.stringMatching(/^no kube-proxy rules in iptables-nft, iptables-legacy, nftables: /) });
  });

  it("tells kube-proxy's IPVS-mode KUBE-SERVICES from iptables mode's, so an IPVS cluster is never missing rules", () => {
    // The IPVS-mode rule as `iptables -t nat -S` prints it in kube-proxy's IPVS mode (quoted in public kube-proxy guides:
    // one rule for every ClusterIP, through the KUBE-CLUSTER-IP ipset).
    const nat = ['*nat', ':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A KUBE-SERVICES ! -s 10.244.0.0/16 -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ', 'COMMIT'].join('\n');
    const raw = { stdout: `${both(nat, '').stdout}== netdebug: nft list table ip kube-proxy\nError: No such file or directory\n== netdebug exit 1\n`, stderr: '', exitCode: 0 };
    expect(parseProbeOutput(nat_('unknown'), raw)).toMatchObject({ kind: 'not-inspectable', command: 'ipvsadm -Ln; ip addr show dev kube-ipvs0', reason: expect.stringMatching(/IPVS mode/) });
  });

  it('in iptables mode, an empty nat table in both backends is a missing rule, judged by iptables', () => {
    expect(parseProbeOutput(nat('iptables'), both('', ''))).toEqual({
      kind: 'nat-rules',
      clusterIP: '10.96.0.2',
      port: 80,
      present: false,
      endpoints: [],
      proxy: 'iptables',
      searched: 'iptables-nft, iptables-legacy (no KUBE-SERVICES chain)',
    });
  });

  it('IPVS: a virtual server whose VIP is not on kube-ipvs0 is not taken in by the node', () => {
    // kubernetes/kubernetes pkg/proxy/ipvs/README.md's ipvsadm listing, held against the kube-ipvs0 addresses of the
    // blog's node (10.102.128.4 only): 10.0.0.10 is not bound there.
    const text = readFileSync(new URL('./fixtures/ipvs/readme-kubernetes-kube-dns.txt', import.meta.url), 'utf8');
    const ipvsadm = splitSections(text).get('ipvsadm -Ln')?.output ?? '';
    const addrs = splitSections(readFileSync(new URL('./fixtures/ipvs/blog-nginx-service.txt', import.meta.url), 'utf8')).get('ip addr show dev kube-ipvs0')?.output;
    expect(lookupIpvs(ipvsadm, addrs, '10.0.0.10', 53, 'TCP')).toEqual({ found: true, present: false, endpoints: ['172.17.0.2:53'], unbound: true });
    expect(lookupIpvs(ipvsadm, undefined, '10.0.0.10', 53, 'TCP')).toEqual({ found: true, present: true, endpoints: ['172.17.0.2:53'] });
  });
});
