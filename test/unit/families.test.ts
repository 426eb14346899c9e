/**
 * Address families: which families a run tests (--family narrows them), the ladder planned per family with the IPv6
 * node checks, probe commands right for IPv6, and verdicts that name the one family a fault is in.
 */
import { describe, expect, it } from 'vitest';
import type { IPFamily } from '../../src/core/address.ts';
import { decideVerdict } from '../../src/core/diagnose/index.ts';
import { decideVerdictByFamily, joinFamilyFindings } from '../../src/core/diagnose/families.ts';
import { NetdebugError } from '../../src/core/errors.ts';
import { chooseFamilies, destinationFamilies, dnsLookupsForFamilies, targetsForFamily } from '../../src/core/families.ts';
import type { Finding, ProbeAction, ProbeObservation, ProbeResult, ProbeSpec, ResolvedDestination, ResolvedSource, ResolvedTargets } from '../../src/core/model.ts';
import { buildProbeCommand } from '../../src/core/parse.ts';
import { IP6TABLES_BOTH_SCRIPT, IPTABLES_BOTH_SCRIPT } from '../../src/core/parse-proxy.ts';
import { IPV6_FORWARDING, planLadder, type LadderPlan } from '../../src/core/plan.ts';
import { buildFacts, clientPod, healthyAnswer, webPod, webService } from '../cli/fakes.ts';

// A dual-stack cluster as a dual-stack API server describes it: the client on node-1, Service shop/web with a ClusterIP
// of each family and web-1 on node-2 listed in an IPv4 and an IPv6 EndpointSlice.
const V6_WEB1 = 'fd00:10:244:2::7';
const V6_CLIENT = 'fd00:10:244:1::5';
const V6_VIP = 'fd00:10:96::1';
const dualClient: ResolvedSource = { ...(clientPod as Extract<ResolvedSource, { kind: 'pod' }>), ips: ['10.244.1.5', V6_CLIENT] };
const web1v4 = webService.endpoints[0] as (typeof webService.endpoints)[number];
const dualService: Extract<ResolvedDestination, { kind: 'service' }> = {
  ...webService,
  clusterIPs: ['10.96.1.1', V6_VIP],
  ipFamilies: ['IPv4', 'IPv6'],
  endpoints: [web1v4, { ...web1v4, ip: V6_WEB1 }],
};
const v6OnlyService: Extract<ResolvedDestination, { kind: 'service' }> = { ...webService, clusterIP: V6_VIP, endpoints: [{ ...web1v4, ip: V6_WEB1 }] };
const v6Client: ResolvedSource = { ...(clientPod as Extract<ResolvedSource, { kind: 'pod' }>), ip: V6_CLIENT };
const dualTargets: ResolvedTargets = { source: dualClient, destination: dualService };
const datapath = { daemonSets: ['kube-system/kube-flannel-ds', 'kube-system/kube-proxy'], unreadable: [], kubeProxy: { mode: 'iptables' } };

const plan = (source: ResolvedSource, dest: ResolvedDestination, families: readonly IPFamily[] | undefined): LadderPlan =>
  planLadder(buildFacts(source, dest, { datapath }), { timeoutMs: 2000, ...(families ? { families } : {}) });
const probesOf = (p: LadderPlan, rung: string): ProbeSpec[] => p.rungs.find((r) => r.rung === rung)?.probes ?? [];
const target = (s: ProbeSpec): string => (s.action.tool === 'tcp-connect' ? `${s.action.host}:${s.action.port}` : s.id);

describe('chooseFamilies', () => {
  it('a dual-stack Service is tested in both families, IPv4 first', () => {
    expect(destinationFamilies(dualService)).toEqual(['IPv4', 'IPv6']);
    expect(chooseFamilies(dualTargets)).toEqual(['IPv4', 'IPv6']);
  });

  it('an IPv4-only destination is tested in IPv4; a host name in the family the resolver gives (none chosen)', () => {
    expect(chooseFamilies({ source: clientPod, destination: webService })).toEqual(['IPv4']);
    expect(chooseFamilies({ source: clientPod, destination: { kind: 'address', host: 'example.internal', ips: [], port: 443, protocol: 'TCP' } })).toEqual([]);
  });

  it('--family narrows a dual-stack run to one family', () => {
    expect(chooseFamilies(dualTargets, 'IPv6')).toEqual(['IPv6']);
    expect(chooseFamilies(dualTargets, 'IPv4')).toEqual(['IPv4']);
  });

  it('--family a destination lacks is a usage error (exit 2) with a hint', () => {
    const err = (() => {
      try {
        chooseFamilies({ source: clientPod, destination: webService }, 'IPv6');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(NetdebugError);
    expect(err).toMatchObject({ code: 'USAGE', exitCode: 2, message: '--family IPv6: Service shop/web has no IPv6 address (its family is IPv4)' });
    expect((err as NetdebugError).hint).toContain('--family IPv4');
  });

  it('a family the source cannot send in is left out; none in common is an error', () => {
    // An IPv4-only client tests a dual-stack Service in IPv4 alone.
    expect(chooseFamilies({ source: clientPod, destination: dualService })).toEqual(['IPv4']);
    expect(() => chooseFamilies({ source: clientPod, destination: v6OnlyService })).toThrow(/has only IPv6 addresses and the source pod front\/client has only IPv4/);
    expect(() => chooseFamilies({ source: clientPod, destination: dualService }, 'IPv6')).toThrow(/the source pod front\/client has no IPv6 address/);
  });

  it('targetsForFamily gives each side its address of the family, and leaves single-stack targets as they are', () => {
    const v6 = targetsForFamily(dualTargets, 'IPv6');
    expect(v6.source.ip).toBe(V6_CLIENT);
    expect(v6.destination).toMatchObject({ clusterIP: V6_VIP, endpoints: [{ ip: V6_WEB1 }] });
    expect(v6.destination).not.toHaveProperty('clusterIPs');
    const plain = { source: clientPod, destination: webService };
    const same = targetsForFamily(plain, 'IPv4');
    expect(same.source).toBe(clientPod);
    expect(same.destination).toBe(webService);
    const pod = targetsForFamily({ source: dualClient, destination: { ...webPod, ips: ['10.244.2.7', V6_WEB1] } }, 'IPv6');
    expect(pod.destination).toMatchObject({ ip: V6_WEB1 });
  });
});

describe('planning per family', () => {
  it('an IPv4 run plans exactly as before (families given or not)', () => {
    expect(plan(clientPod, webService, ['IPv4'])).toEqual(plan(clientPod, webService, undefined));
    expect(plan(clientPod, webPod, ['IPv4'])).toEqual(plan(clientPod, webPod, undefined));
  });

  it('a dual-stack Service: ClusterIP, PodIP, same-node and node-origin probes per family, each tagged', () => {
    const p = plan(dualClient, dualService, ['IPv4', 'IPv6']);
    const tagged = (rung: string) => probesOf(p, rung).map((s) => `${s.family ?? '-'} ${target(s)}`);
    expect(tagged('cluster-ip')).toEqual(['IPv4 10.96.1.1:80', `IPv6 ${V6_VIP}:80`]);
    expect(tagged('pod-ip')).toEqual(['IPv4 10.244.2.7:8080', `IPv6 ${V6_WEB1}:8080`]);
    expect(tagged('same-node')).toEqual(['IPv4 10.244.2.7:8080', `IPv6 ${V6_WEB1}:8080`]);
    expect(tagged('node-origin')).toEqual(['IPv4 10.244.2.7:8080', 'IPv4 10.244.2.7:8080', `IPv6 ${V6_WEB1}:8080`, `IPv6 ${V6_WEB1}:8080`]);
    expect(probesOf(p, 'cluster-ip')[1]?.command).toEqual(['nc', '-6', '-z', '-v', '-w', '2', V6_VIP, '80']);
    // The IPv4 probes keep their commands.
    expect(probesOf(p, 'cluster-ip')[0]?.command).toEqual(['nc', '-z', '-v', '-w', '2', '10.96.1.1', '80']);
  });

  it('the DNS rung asks A and AAAA for a dual-stack Service, AAAA alone for an IPv6 one', () => {
    const p = plan(dualClient, dualService, ['IPv4', 'IPv6']);
    const dns = probesOf(p, 'dns');
    expect(dns.map((s) => `${s.family} ${s.id}`)).toEqual([
      'IPv4 dns:search:web.shop',
      'IPv6 dns:search:web.shop:AAAA',
      'IPv4 dns:10.244.1.3:web.shop.svc.cluster.local',
      'IPv6 dns:10.244.1.3:web.shop.svc.cluster.local:AAAA',
      'IPv4 dns:10.244.2.3:web.shop.svc.cluster.local',
      'IPv6 dns:10.244.2.3:web.shop.svc.cluster.local:AAAA',
    ]);
    expect(dns[1]?.command).toEqual(['dig', '+time=2', '+tries=1', '+search', '-t', 'AAAA', 'web.shop']);
    const only6 = probesOf(plan(v6Client, v6OnlyService, ['IPv6']), 'dns');
    expect(only6.map((s) => s.id)).toEqual(['dns:search:web.shop:AAAA', 'dns:10.244.1.3:web.shop.svc.cluster.local:AAAA', 'dns:10.244.2.3:web.shop.svc.cluster.local:AAAA']);
    expect(only6.every((s) => s.family === undefined && s.action.tool === 'dns-lookup' && s.action.type === 'AAAA')).toBe(true);
    // Lookups the source's resolv.conf calls for get their twins the same way.
    expect(dnsLookupsForFamilies(probesOf(plan(clientPod, webService, undefined), 'dns'), ['IPv4'], 2000)).toEqual(probesOf(plan(clientPod, webService, undefined), 'dns'));
  });

  it('IPv6 node checks: forwarding sysctl, ip6tables FORWARD walk and ip -6 routes beside the IPv4 ones; shared checks once', () => {
    const p = plan(dualClient, dualService, ['IPv4', 'IPv6']);
    const checks = p.nodeChecks.map((s) => `${s.family ?? '-'} ${s.id}`);
    expect(checks).toEqual(expect.arrayContaining([
      'IPv4 node-checks:node-1:ip-forward',
      'IPv6 node-checks:node-1:ipv6-forward',
      'IPv6 node-checks:node-2:ipv6-forward',
      'IPv4 node-checks:node-1:forward-policy',
      'IPv6 node-checks:node-1:forward-policy6',
      `IPv6 node-checks:node-1:route:${V6_WEB1}`,
      `IPv6 node-checks:node-2:route:${V6_CLIENT}`,
      '- node-checks:node-1:links',
      '- node-checks:node-2:links',
    ]));
    expect(checks.filter((c) => c.endsWith(':links'))).toHaveLength(2);
    const byId = (id: string) => p.nodeChecks.find((s) => s.id === id) as ProbeSpec;
    expect(byId('node-checks:node-2:ipv6-forward').command).toEqual(['sysctl', '-n', IPV6_FORWARDING]);
    expect(byId('node-checks:node-1:forward-policy6').command).toEqual(['sh', '-c', IP6TABLES_BOTH_SCRIPT]);
    expect(byId('node-checks:node-1:forward-policy6').action).toEqual({ tool: 'forward-policy', flow: { from: V6_CLIENT, to: [V6_WEB1] } });
    expect(byId('node-checks:node-1:forward-policy').command).toEqual(['sh', '-c', IPTABLES_BOTH_SCRIPT]);
    expect(byId(`node-checks:node-1:route:${V6_WEB1}`).command).toEqual(['ip', '-6', 'route', 'list', 'match', V6_WEB1]);
    // The path checks have their IPv6 twins too (test/unit/ipv6-checks.test.ts): NAT, MTU, loss, neighbor.
    expect(p.nodeChecks.filter((s) => s.family === 'IPv6').map((s) => s.check)).toEqual(expect.arrayContaining(['nat-rules', 'mtu', 'loss', 'neighbor']));
  });

  it('--family IPv6 on a dual-stack Service plans the IPv6 ladder alone, untagged', () => {
    const p = plan(dualClient, dualService, ['IPv6']);
    expect(probesOf(p, 'pod-ip').map(target)).toEqual([`${V6_WEB1}:8080`]);
    expect(probesOf(p, 'cluster-ip').map(target)).toEqual([`${V6_VIP}:80`]);
    expect([...p.rungs.flatMap((r) => r.probes), ...p.nodeChecks].every((s) => s.family === undefined)).toBe(true);
    expect(p.nodeChecks.some((s) => s.action.tool === 'sysctl' && s.action.key === 'net.ipv4.ip_forward')).toBe(false);
  });

  it('a host name tested with --family IPv6 connects over IPv6 alone (nc -6)', () => {
    const host: ResolvedDestination = { kind: 'address', host: 'api.example.internal', ips: [], port: 443, protocol: 'TCP' };
    const p = plan(clientPod, host, ['IPv6']);
    expect(probesOf(p, 'pod-ip')[0]?.command).toEqual(['nc', '-6', '-z', '-v', '-w', '2', 'api.example.internal', '443']);
    expect(probesOf(p, 'dns')[0]?.command).toEqual(['dig', '+time=2', '+tries=1', '+search', '-t', 'AAAA', 'api.example.internal']);
    expect(probesOf(plan(clientPod, host, undefined), 'pod-ip')[0]?.command).toEqual(['nc', '-z', '-v', '-w', '2', 'api.example.internal', '443']);
  });

  it('a rung skipped in one family and planned in the other runs; skipped in both, it keeps the reason', () => {
    // The IPv6 EndpointSlice has no ready endpoint yet: only IPv4 has a pod to probe.
    const p = plan(dualClient, { ...dualService, endpoints: [web1v4, { ...web1v4, ip: V6_WEB1, ready: false }] }, ['IPv4', 'IPv6']);
    expect(probesOf(p, 'pod-ip').map((s) => `${s.family} ${target(s)}`)).toEqual(['IPv4 10.244.2.7:8080']);
    const pods = plan(dualClient, { ...webPod, ips: ['10.244.2.7', V6_WEB1] }, ['IPv4', 'IPv6']);
    expect(pods.rungs.find((r) => r.rung === 'cluster-ip')?.skipReason).toBe('the destination is a pod, not a Service: no ClusterIP');
  });
});

describe('probe commands for IPv6', () => {
  it('nc takes the IPv6 literal as is with -6; dig asks an IPv6 server and AAAA; ip -6 for routes; neighbors by address', () => {
    expect(buildProbeCommand({ tool: 'tcp-connect', host: 'fd00::7', port: 8080 }, 1000)).toEqual(['nc', '-6', '-z', '-v', '-w', '1', 'fd00::7', '8080']);
    expect(buildProbeCommand({ tool: 'dns-lookup', name: 'web.shop.svc.cluster.local', server: 'fd00:10:96::a', type: 'AAAA' }, 1000)).toEqual([
      'dig',
      '@fd00:10:96::a',
      '+time=1',
      '+tries=1',
      '-t',
      'AAAA',
      'web.shop.svc.cluster.local',
    ]);
    expect(buildProbeCommand({ tool: 'route-match', address: 'fd00::7' }, 1000)).toEqual(['ip', '-6', 'route', 'list', 'match', 'fd00::7']);
    expect(buildProbeCommand({ tool: 'neighbor', address: 'fd00::7' }, 1000)).toEqual(['ip', 'neigh', 'show', 'fd00::7']);
  });

  it('still refuses what could be read as an option or a second argument', () => {
    expect(() => buildProbeCommand({ tool: 'tcp-connect', host: '-6', port: 80 }, 1000)).toThrow(/unsafe host/);
    expect(() => buildProbeCommand({ tool: 'tcp-connect', host: 'fd00::7 -e sh', port: 80 }, 1000)).toThrow(/unsafe host/);
    expect(() => buildProbeCommand({ tool: 'route-match', address: 'fd00::7%eth0' }, 1000)).toThrow(/not an IPv4 address/);
    expect(() => buildProbeCommand({ tool: 'forward-policy', flow: { from: 'fd00::5', to: ['10.244.2.7'] } }, 1000)).toThrow(/not an IPv4 address/);
  });
});

// ---------- verdicts ----------

/** Answers every planned probe as healthy, except what `fail` says. */
function answer(specs: readonly ProbeSpec[], fail: (s: ProbeSpec) => ProbeObservation | undefined): ProbeResult[] {
  return specs.map((spec) => ({ spec, observation: fail(spec) ?? healthy(spec), durationMs: 3 }));
}
function healthy(spec: ProbeSpec): ProbeObservation {
  const a = spec.action;
  if (a.tool === 'route-match') return { kind: 'route', present: true, route: a.address.includes(':') ? 'fd00:10:244:2::/64' : '10.244.2.0/24', dev: 'flannel.1' };
  if (a.tool === 'forward-policy') return { kind: 'forward-policy', policy: 'ACCEPT', verdict: 'accept', backend: 'nft' };
  if (a.tool === 'nat-rules') return { kind: 'nat-rules', clusterIP: a.clusterIP, port: a.port, present: true, endpoints: ['10.244.2.7:8080'], proxy: 'iptables', backend: 'nft' };
  if (a.tool === 'dns-lookup') return { kind: 'resolved', ips: a.type === 'AAAA' ? [V6_VIP] : ['10.96.1.1'] };
  return healthyAnswer(spec);
}
const isV6Tcp = (s: ProbeSpec): boolean => s.action.tool === 'tcp-connect' && s.action.host.includes(':');

/** Plans the dual-stack ladder, answers it, and decides per family. */
function judge(fail: (s: ProbeSpec) => ProbeObservation | undefined, families: readonly IPFamily[] = ['IPv4', 'IPv6']) {
  const p = plan(dualClient, dualService, families);
  const observations = answer(p.rungs.flatMap((r) => r.probes), fail);
  const nodeChecks = answer(p.nodeChecks, fail);
  return decideVerdictByFamily({ targets: dualTargets, staticFindings: [], observations, nodeChecks, nodes: buildFacts().nodes }, families);
}

describe('verdicts per family', () => {
  it('healthy in both families: HEALTHY, one finding, no family', () => {
    const out = judge(() => undefined);
    expect(out.verdict).toMatchObject({ cause: 'HEALTHY', status: 'healthy' });
    expect(out.verdict.family).toBeUndefined();
    expect(out.findings.filter((f) => f.cause === 'HEALTHY')).toHaveLength(1);
    // It counts the probes of both families: dns 6 (A and AAAA), cluster-ip 2, pod-ip 2, same-node 2, node-origin 4.
    expect(out.verdict.summary).toBe('service shop/web:80 is reachable from the source: 16 probes passed');
    // The rungs' probes carry their family for the reports.
    expect(out.rungs.find((r) => r.id === 'pod-ip')?.probes.map((p) => p.family)).toEqual(['IPv4', 'IPv6']);
  });

  it('IPv6 forwarding off on node-2: NODE_IP_FORWARD_DISABLED named IPv6, though IPv4 is healthy', () => {
    const out = judge((s) => {
      if (s.action.tool === 'sysctl' && s.action.key === IPV6_FORWARDING && s.where.kind === 'node-pod' && s.where.node === 'node-2') return { kind: 'sysctl', key: IPV6_FORWARDING, value: '0' };
      // node-2 no longer routes IPv6 to its pods: the IPv6 probes from elsewhere time out.
      if (isV6Tcp(s) && !(s.where.kind === 'node-pod' && s.where.node === 'node-2')) return { kind: 'timeout' };
      return undefined;
    });
    expect(out.verdict).toMatchObject({ cause: 'NODE_IP_FORWARD_DISABLED', node: 'node-2', family: 'IPv6', status: 'broken' });
    expect(out.verdict.summary).toMatch(/^IPv6: IPv6 forwarding is off on node node-2/);
    expect(out.verdict.hints[0]).toBe(`on node node-2: sysctl -w ${IPV6_FORWARDING}=1`);
    // The IPv6 timeouts are its symptoms; no IPv4 finding, no HEALTHY beside it.
    expect((out.verdict.citations ?? []).filter((c) => c.role === 'symptom').length).toBeGreaterThan(0);
    expect(out.findings.some((f) => f.cause === 'HEALTHY')).toBe(false);
    expect(out.findings.every((f) => f.family !== 'IPv4')).toBe(true);
  });

  it('the same IPv6-only fault judged without families would be hidden by nothing, but is named without its family', () => {
    // Control: decideVerdict on the same results finds the fault but cannot say which family it is in.
    const p = plan(dualClient, dualService, ['IPv4', 'IPv6']);
    const off = (s: ProbeSpec) => (s.action.tool === 'sysctl' && s.action.key === IPV6_FORWARDING ? ({ kind: 'sysctl', key: IPV6_FORWARDING, value: '0' } as const) : undefined);
    const plain = decideVerdict({ targets: dualTargets, staticFindings: [], observations: answer(p.rungs.flatMap((r) => r.probes), off), nodeChecks: answer(p.nodeChecks, off) });
    expect(plain.verdict.family).toBeUndefined();
    expect(judge(off).verdict.family).toBe('IPv6');
  });

  it('the ip6tables FORWARD chain dropping IPv6 pod traffic: NODE_FORWARD_DROP named IPv6 with ip6tables fixes', () => {
    const out = judge((s) => {
      if (s.id === 'node-checks:node-2:forward-policy6') return { kind: 'forward-policy', policy: 'DROP', verdict: 'drop', backend: 'nft', decidedBy: '-P FORWARD DROP' };
      if (isV6Tcp(s) && !(s.where.kind === 'node-pod' && s.where.node === 'node-2')) return { kind: 'timeout' };
      return undefined;
    });
    expect(out.verdict).toMatchObject({ cause: 'NODE_FORWARD_DROP', node: 'node-2', family: 'IPv6' });
    expect(out.verdict.hints[0]).toBe('on node node-2: ip6tables-nft -S FORWARD');
    expect(out.verdict.hints[1]).toContain('ip6tables -P FORWARD ACCEPT');
  });

  it('no IPv6 route on node-1 to node-2 pods: NODE_ROUTE_MISSING named IPv6, with ip -6 in the fix', () => {
    const out = judge((s) => {
      if (s.id === `node-checks:node-1:route:${V6_WEB1}`) return { kind: 'route', present: false, route: 'default', dev: 'eth0' };
      if (isV6Tcp(s) && !(s.where.kind === 'node-pod' && s.where.node === 'node-2')) return { kind: 'timeout' };
      return undefined;
    });
    expect(out.verdict).toMatchObject({ cause: 'NODE_ROUTE_MISSING', node: 'node-1', family: 'IPv6' });
    expect(out.verdict.hints[0]).toBe(`on node node-1: ip -6 route list match ${V6_WEB1}; ip -6 route show`);
  });

  it('both families refused the same way: one DESTINATION_NOT_LISTENING, no family, citing the probes of both', () => {
    const out = judge((s) => (s.action.tool === 'tcp-connect' ? { kind: 'refused' } : undefined));
    const listening = out.findings.filter((f) => f.cause === 'DESTINATION_NOT_LISTENING');
    expect(listening).toHaveLength(1);
    expect(out.verdict.cause).toBe('DESTINATION_NOT_LISTENING');
    expect(out.verdict.family).toBeUndefined();
    const cited = (out.verdict.citations ?? []).map((c) => c.probe);
    expect(cited).toEqual(expect.arrayContaining([`pod-ip:10.244.2.7:8080`, `pod-ip:${V6_WEB1}:8080`]));
  });

  it("the IPv6 ClusterIP alone is not forwarded: SERVICE_PROXY_RULES_MISSING named IPv6, read with ip6tables-save", () => {
    const out = judge((s) => (s.rung === 'cluster-ip' && isV6Tcp(s) ? { kind: 'timeout' } : undefined));
    expect(out.verdict).toMatchObject({ cause: 'SERVICE_PROXY_RULES_MISSING', node: 'node-1', family: 'IPv6' });
    // The IPv6 NAT check read ip6tables' nft backend (the fake answers so): its own save command.
    expect(out.verdict.hints[0]).toBe(`on node node-1: ip6tables-nft-save -t nat | grep ${V6_VIP}`);
  });

  it('only the IPv6 listener is down: DESTINATION_NOT_LISTENING named IPv6', () => {
    const out = judge((s) => (isV6Tcp(s) ? { kind: 'refused' } : undefined));
    expect(out.verdict).toMatchObject({ cause: 'DESTINATION_NOT_LISTENING', family: 'IPv6' });
    expect(out.verdict.summary.startsWith('IPv6: ')).toBe(true);
  });

  it('a single-family run decides exactly as decideVerdict', () => {
    const p = plan(dualClient, dualService, ['IPv6']);
    const fail = (s: ProbeSpec) => (s.action.tool === 'tcp-connect' ? ({ kind: 'refused' } as const) : undefined);
    const input = { targets: dualTargets, staticFindings: [], observations: answer(p.rungs.flatMap((r) => r.probes), fail), nodeChecks: answer(p.nodeChecks, fail) };
    expect(decideVerdictByFamily(input, ['IPv6'])).toEqual(decideVerdict(input));
  });

  it('joinFamilyFindings: a finding in both families is one (evidence and hints of both), one in a single family is tagged', () => {
    const f = (over: Partial<Finding>): Finding => ({ status: 'broken', cause: 'NODE_ROUTE_MISSING', component: 'node', node: 'node-1', summary: 's', evidence: [], hints: [], ...over });
    const joined = joinFamilyFindings([
      { family: 'IPv4', findings: [f({ evidence: ['a'], hints: ['h4'] })], verdict: f({ evidence: ['a'], hints: ['h4'] }) },
      { family: 'IPv6', findings: [f({ evidence: ['b'], hints: ['h6'] }), f({ node: 'node-2', summary: 't' })], verdict: f({ evidence: ['b'] }) },
    ]);
    expect(joined.findings).toHaveLength(2);
    expect(joined.findings[0]).toMatchObject({ node: 'node-1', evidence: ['a', 'b'], hints: ['h4', 'h6'] });
    expect(joined.findings[0]?.family).toBeUndefined();
    expect(joined.findings[1]).toMatchObject({ node: 'node-2', family: 'IPv6', summary: 'IPv6: t' });
  });
});

describe('an image without ip6tables', () => {
  it('a dual-stack run whose IPv6 FORWARD checks could not run is still HEALTHY, saying so', () => {
    const out = judge((s) => (s.id.endsWith(':forward-policy6') ? { kind: 'could-not-run', reason: 'could not read either iptables backend' } : undefined));
    expect(out.verdict).toMatchObject({ cause: 'HEALTHY', status: 'healthy' });
    expect(out.verdict.summary).toMatch(/16 probes passed, 2 checks could not run$/);
  });

  it('the IPv6 FORWARD check could not run (never a fault) when neither ip6tables tool is there', async () => {
    const { parseProbeOutput } = await import('../../src/core/parse.ts');
    const action: ProbeAction = { tool: 'forward-policy', flow: { from: V6_CLIENT, to: [V6_WEB1] } };
    // busybox sh's words for a missing command, fenced as IP6TABLES_BOTH_SCRIPT fences each tool.
    const stdout = '== netdebug: ip6tables-nft-save\nsh: ip6tables-nft-save: not found\n== netdebug exit 127\n== netdebug: ip6tables-legacy-save\nsh: ip6tables-legacy-save: not found\n== netdebug exit 127\n';
    expect(parseProbeOutput(action, { stdout, stderr: '', exitCode: 0 })).toEqual({
      kind: 'could-not-run',
      reason: 'could not read either iptables backend: ip6tables-nft-save: sh: ip6tables-nft-save: not found; ip6tables-legacy-save: sh: ip6tables-legacy-save: not found',
    });
  });
});
