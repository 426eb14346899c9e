import { describe, expect, it } from 'vitest';
import type { ProbeSpec, ResolvedDestination, ResolvedSource, RungId } from '../../src/core/model.ts';
import { BRIDGE_PORTS_SCRIPT, buildProbeCommand, NEIGHBOR_REFRESH_SCRIPT, PATH_MTU_SCRIPT } from '../../src/core/parse.ts';
import { MAX_SAMPLED_DNS, MAX_SAMPLED_PROBES, planLadder, sampleEndpoints, samplesPerProbe, type LadderPlan } from '../../src/core/plan.ts';
import { locationKey } from '../../src/core/model.ts';
import { buildFacts, clientPod, webPod, webService } from './fakes.ts';

const opts = { timeoutMs: 2000 };
const nodeSource: ResolvedSource = { kind: 'node', name: 'node-1', ip: '172.18.0.2' };
const nodeDest: ResolvedDestination = { kind: 'node', name: 'node-2', ip: '172.18.0.3', port: 10250, protocol: 'TCP' };
const ipDest: ResolvedDestination = { kind: 'address', host: '10.96.0.10', ips: ['10.96.0.10'], port: 53, protocol: 'TCP' };
const hostDest: ResolvedDestination = { kind: 'address', host: 'example.internal', ips: [], port: 443, protocol: 'TCP' };
const sameNodeSvc: ResolvedDestination = { ...webService, kind: 'service', endpoints: webService.kind === 'service' ? webService.endpoints.filter((e) => e.node === 'node-1') : [] } as ResolvedDestination;
const noEndpointsSvc = { ...webService, endpoints: [] } as ResolvedDestination;
const udpSvc = { ...webService, port: { port: 53, targetPort: 53, protocol: 'UDP' } } as ResolvedDestination;

/** Renders a plan compactly: per rung `location>target` strings, or `skip: reason`. */
function render(plan: LadderPlan): Record<RungId, string[]> {
  const out = {} as Record<RungId, string[]>;
  for (const r of plan.rungs) {
    out[r.rung] = r.skipReason !== undefined ? [`skip: ${r.skipReason}`] : r.probes.map(show);
  }
  return out;
}
function show(p: ProbeSpec): string {
  const a = p.action;
  const target =
    a.tool === 'tcp-connect' ? `${a.host}:${a.port}` : a.tool === 'dns-lookup' ? `${a.name}${a.server ? ` @${a.server}` : ''}` : a.tool;
  return `${locationKey(p.where)}>${target}`;
}

const CASES: { name: string; source: ResolvedSource; dest: ResolvedDestination; expect: Partial<Record<RungId, string[]>> }[] = [
  {
    name: 'pod → service across nodes',
    source: clientPod,
    dest: webService,
    expect: {
      dns: [
        'source-pod>web.shop',
        'source-pod>web.shop.svc.cluster.local @10.244.1.3',
        'source-pod>web.shop.svc.cluster.local @10.244.2.3',
      ],
      'cluster-ip': ['source-pod>10.96.1.1:80'],
      'pod-ip': ['source-pod>10.244.2.7:8080', 'source-pod>10.244.1.9:8080'],
      'same-node': ['node-pod:node-2:pod>10.244.2.7:8080'],
      'node-origin': [
        'node-pod:node-1:host>10.244.2.7:8080',
        'node-pod:node-1:host>10.244.1.9:8080',
        'node-pod:node-2:host>10.244.2.7:8080',
      ],
    },
  },
  {
    name: 'pod → pod: no dns, no cluster-ip',
    source: clientPod,
    dest: webPod,
    expect: {
      dns: ['skip: the destination is a pod, reached by IP: no name to resolve'],
      'cluster-ip': ['skip: the destination is a pod, not a Service: no ClusterIP'],
      'pod-ip': ['source-pod>10.244.2.7:8080'],
      'same-node': ['node-pod:node-2:pod>10.244.2.7:8080'],
      'node-origin': ['node-pod:node-1:host>10.244.2.7:8080', 'node-pod:node-2:host>10.244.2.7:8080'],
    },
  },
  {
    name: 'pod → node',
    source: clientPod,
    dest: nodeDest,
    expect: {
      'pod-ip': ['source-pod>172.18.0.3:10250'],
      'same-node': ['skip: the destination is a node, not a pod'],
      'node-origin': ['node-pod:node-1:host>172.18.0.3:10250', 'node-pod:node-2:host>172.18.0.3:10250'],
    },
  },
  {
    name: 'pod → IP address: no dns',
    source: clientPod,
    dest: ipDest,
    expect: {
      dns: ['skip: the destination is an IP address: no name to resolve'],
      'pod-ip': ['source-pod>10.96.0.10:53'],
      'same-node': ['skip: the destination is an address, not a pod'],
      'node-origin': ['node-pod:node-1:host>10.96.0.10:53'],
    },
  },
  {
    name: 'pod → host name: resolve it through the search path only (no cluster DNS name)',
    source: clientPod,
    dest: hostDest,
    expect: {
      dns: ['source-pod>example.internal', 'source-pod>example.internal @10.244.1.3', 'source-pod>example.internal @10.244.2.3'],
      'pod-ip': ['source-pod>example.internal:443'],
    },
  },
  {
    name: 'node → service: probes run from the node, no duplicate node-origin from the source node',
    source: nodeSource,
    dest: webService,
    expect: {
      'cluster-ip': ['node-pod:node-1:host>10.96.1.1:80'],
      'pod-ip': ['node-pod:node-1:host>10.244.2.7:8080', 'node-pod:node-1:host>10.244.1.9:8080'],
      'same-node': ['node-pod:node-2:pod>10.244.2.7:8080', 'node-pod:node-1:pod>10.244.1.9:8080'],
      'node-origin': ['node-pod:node-2:host>10.244.2.7:8080', 'node-pod:node-1:host>10.244.1.9:8080'],
    },
  },
  {
    name: 'service on the source node only: same-node is already pod-ip',
    source: clientPod,
    dest: sameNodeSvc,
    expect: {
      'same-node': ["skip: the source pod already runs on the destination's node node-1: pod-ip tested the same-node path"],
      'node-origin': ['node-pod:node-1:host>10.244.1.9:8080'],
    },
  },
  {
    name: 'service without ready endpoints: only dns and cluster-ip',
    source: clientPod,
    dest: noEndpointsSvc,
    expect: {
      'cluster-ip': ['source-pod>10.96.1.1:80'],
      'pod-ip': ['skip: the Service has no ready endpoints to probe directly'],
      'node-origin': ['skip: no address to probe'],
    },
  },
  {
    name: 'UDP service: TCP rungs skipped, dns still runs',
    source: clientPod,
    dest: udpSvc,
    expect: {
      'cluster-ip': ['skip: only TCP is probed; the destination port is UDP'],
      'pod-ip': ['skip: only TCP is probed; the destination port is UDP'],
    },
  },
];

describe('planLadder', () => {
  it.each(CASES)('$name', ({ source, dest, expect: want }) => {
    const plan = planLadder(buildFacts(source, dest), opts);
    expect(plan.rungs.map((r) => r.rung)).toEqual(['dns', 'cluster-ip', 'pod-ip', 'same-node', 'node-origin']);
    const got = render(plan);
    for (const [rung, lines] of Object.entries(want)) expect(got[rung as RungId], rung).toEqual(lines);
  });

  it('builds every command with buildProbeCommand and the timeout, with unique ids', () => {
    const plan = planLadder(buildFacts(), { timeoutMs: 1500 });
    const all = [...plan.rungs.flatMap((r) => r.probes), ...plan.nodeChecks];
    for (const p of all) {
      expect(p.command).toEqual(buildProbeCommand(p.action, 1500));
      expect(p.timeoutMs).toBe(1500);
    }
    expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
  });

  it('lists every location once, in first-use order', () => {
    const plan = planLadder(buildFacts(), opts);
    expect(plan.locations.map(locationKey)).toEqual(['source-pod', 'node-pod:node-2:pod', 'node-pod:node-1:host', 'node-pod:node-2:host']);
  });

  it('plans the node checks on the source and destination nodes', () => {
    const plan = planLadder(buildFacts(clientPod, webPod), opts);
    const checks = plan.nodeChecks.map((p) => `${locationKey(p.where)} ${p.check} ${p.command.map((a) => (a === PATH_MTU_SCRIPT ? '<PATH_MTU_SCRIPT>' : a === NEIGHBOR_REFRESH_SCRIPT ? '<NEIGHBOR_REFRESH_SCRIPT>' : a)).join(' ')}`);
    expect(checks).toEqual([
      'node-pod:node-1:host ip-forward sysctl -n net.ipv4.ip_forward',
      'node-pod:node-1:host bridge-nf sysctl -n net.bridge.bridge-nf-call-iptables',
      'node-pod:node-1:host forward-policy iptables -S FORWARD',
      // Each node's interfaces, which confirm the pod network the API suggests.
      'node-pod:node-1:host links ip -o -d link show',
      'node-pod:node-2:host ip-forward sysctl -n net.ipv4.ip_forward',
      'node-pod:node-2:host bridge-nf sysctl -n net.bridge.bridge-nf-call-iptables',
      'node-pod:node-2:host forward-policy iptables -S FORWARD',
      'node-pod:node-2:host links ip -o -d link show',
      'node-pod:node-1:host route-to-destination ip -4 route list match 10.244.2.7',
      'node-pod:node-2:host route-to-source ip -4 route list match 10.244.1.5',
      'node-pod:node-2:host neighbor ip neigh show 10.244.2.7',
      // The MAC web-1 answers with, from the same-node pod on its bridge, to hold the node's entry against.
      'node-pod:node-2:pod pod-mac sh -c <NEIGHBOR_REFRESH_SCRIPT> sh 10.244.2.7',
      // Both directions across the overlay, each sized at run time to the MTU of the node's own route.
      'node-pod:node-1:host mtu sh -c <PATH_MTU_SCRIPT> sh 10.244.2.7 1',
      // A bounded burst of pings across the overlay: how many come back.
      'node-pod:node-1:host loss ping -q -n -c 50 -i 0.002 -W 1 10.244.2.7',
      'node-pod:node-2:host mtu sh -c <PATH_MTU_SCRIPT> sh 10.244.1.5 1',
    ]);
  });

  it('reads the MAC of an endpoint on the source node from the source pod itself, which shares its bridge', () => {
    const plan = planLadder(buildFacts(clientPod, webService), opts);
    const macs = plan.nodeChecks.filter((p) => p.check === 'pod-mac').map((p) => `${locationKey(p.where)}>${p.action.tool === 'neighbor' ? p.action.address : ''}`);
    expect(macs).toEqual(['node-pod:node-2:pod>10.244.2.7', 'source-pod>10.244.1.9']);
  });

  it('checks hairpin mode only when the source pod is one of its own Service\'s backends', () => {
    const hairpin = (facts: ReturnType<typeof buildFacts>) =>
      planLadder(facts, opts).nodeChecks.filter((p) => p.check === 'hairpin').map((p) => `${locationKey(p.where)} ${p.command.map((a) => (a === BRIDGE_PORTS_SCRIPT ? '<BRIDGE_PORTS_SCRIPT>' : a)).join(' ')}`);
    const web2: ResolvedSource = { ...(clientPod as Extract<ResolvedSource, { kind: 'pod' }>), namespace: 'shop', name: 'web-2', ip: '10.244.1.9', labels: { app: 'web' } };
    expect(hairpin(buildFacts(web2, webService))).toEqual(['source-pod cat /sys/class/net/eth0/iflink', 'node-pod:node-1:host sh -c <BRIDGE_PORTS_SCRIPT>']);
    expect(hairpin(buildFacts(clientPod, webService))).toEqual([]);
    expect(hairpin(buildFacts({ ...web2, hostNetwork: true }, webService))).toEqual([]);
  });

  it('creates no pod-network debug pod just to read a MAC: a UDP Service (no same-node rung) gets no pod-mac there', () => {
    const plan = planLadder(buildFacts(clientPod, udpSvc), opts);
    expect(plan.locations.map(locationKey)).not.toContain('node-pod:node-2:pod');
    expect(plan.nodeChecks.filter((p) => p.check === 'pod-mac').map((p) => locationKey(p.where))).toEqual(['source-pod']);
  });

  it('adds nat-rules on the source node for a Service and no mtu ping for a same-node endpoint', () => {
    const plan = planLadder(buildFacts(clientPod, webService), opts);
    const nat = plan.nodeChecks.filter((p) => p.check === 'nat-rules');
    expect(nat.map((p) => [locationKey(p.where), p.action])).toEqual([
      ['node-pod:node-1:host', { tool: 'nat-rules', clusterIP: '10.96.1.1', port: 80, protocol: 'TCP' }],
    ]);
    const mtuTargets = plan.nodeChecks.filter((p) => p.check === 'mtu').map((p) => `${locationKey(p.where)}>${p.action.tool === 'path-mtu' ? p.action.address : ''}`);
    expect(mtuTargets).toEqual(['node-pod:node-1:host>10.244.2.7', 'node-pod:node-2:host>10.244.1.5']);
  });

  it('plans no path MTU probe back to a hostNetwork source, which has no pod address on the overlay', () => {
    const hostSource = { ...clientPod, hostNetwork: true, ip: '172.18.0.2' } as ResolvedSource;
    const plan = planLadder(buildFacts(hostSource, webPod), opts);
    const mtuTargets = plan.nodeChecks.filter((p) => p.check === 'mtu').map((p) => `${locationKey(p.where)}>${p.action.tool === 'path-mtu' ? p.action.address : ''}`);
    expect(mtuTargets).toEqual(['node-pod:node-1:host>10.244.2.7']);
  });

  it('plans every probe once, with no sample mark, unless samples are asked for', () => {
    const plan = planLadder(buildFacts(), opts);
    expect(plan.rungs.flatMap((r) => r.probes).filter((p) => p.sample !== undefined)).toEqual([]);
    expect(planLadder(buildFacts(), { ...opts, samples: { dns: 1, tcp: 1 } })).toEqual(plan);
  });

  it('repeats the DNS lookups N times (ids suffixed #2 … #N), and the TCP rungs only when asked', () => {
    const once = planLadder(buildFacts(), opts);
    const plan = planLadder(buildFacts(), { ...opts, samples: { dns: 5 } });
    const dns = plan.rungs.find((r) => r.rung === 'dns')?.probes ?? [];
    const base = once.rungs.find((r) => r.rung === 'dns')?.probes ?? [];
    expect(dns).toHaveLength(base.length * 5);
    expect(dns.slice(0, 5).map((p) => [p.id, p.sample])).toEqual([
      [base[0]?.id, { index: 1, of: 5 }],
      [`${base[0]?.id}#2`, { index: 2, of: 5 }],
      [`${base[0]?.id}#3`, { index: 3, of: 5 }],
      [`${base[0]?.id}#4`, { index: 4, of: 5 }],
      [`${base[0]?.id}#5`, { index: 5, of: 5 }],
    ]);
    // The samples run the same command from the same place; only the id and the mark differ.
    for (const p of dns.slice(1, 5)) expect({ ...p, id: base[0]?.id, sample: undefined }).toEqual({ ...base[0], sample: undefined });
    expect(new Set(dns.map((p) => p.id)).size).toBe(dns.length);
    for (const id of ['cluster-ip', 'pod-ip', 'same-node', 'node-origin'] as const) expect(plan.rungs.find((r) => r.rung === id)).toEqual(once.rungs.find((r) => r.rung === id));
    expect(plan.nodeChecks).toEqual(once.nodeChecks);
    expect(plan.locations).toEqual(once.locations);
  });

  it('repeats the TCP rungs with samples.tcp, never the node checks', () => {
    const once = planLadder(buildFacts(), opts);
    const plan = planLadder(buildFacts(), { ...opts, samples: { dns: 1, tcp: 3 } });
    for (const id of ['cluster-ip', 'pod-ip', 'same-node', 'node-origin'] as const) {
      const n = once.rungs.find((r) => r.rung === id)?.probes.length ?? 0;
      expect(plan.rungs.find((r) => r.rung === id)?.probes.map((p) => p.sample?.of)).toEqual(Array(n * 3).fill(3));
    }
    expect(plan.rungs.find((r) => r.rung === 'dns')).toEqual(once.rungs.find((r) => r.rung === 'dns'));
    expect(plan.nodeChecks).toEqual(once.nodeChecks);
  });

  it('bounds a sampled run: the DNS rung to MAX_SAMPLED_DNS, the ladder to MAX_SAMPLED_PROBES, samples cut evenly', () => {
    const once = planLadder(buildFacts(), opts);
    const plan = planLadder(buildFacts(), { ...opts, samples: { dns: 100, tcp: 100 } });
    const ladder = plan.rungs.flatMap((r) => r.probes);
    expect(ladder.length).toBeLessThanOrEqual(MAX_SAMPLED_PROBES);
    const dns = plan.rungs.find((r) => r.rung === 'dns')?.probes ?? [];
    expect(dns.length).toBeLessThanOrEqual(MAX_SAMPLED_DNS);
    for (const r of plan.rungs) {
      const base = once.rungs.find((x) => x.rung === r.rung)?.probes.length ?? 0;
      const perProbe = r.probes[0]?.sample?.of ?? 1;
      expect(r.probes.length).toBe(base * perProbe);
      expect(new Set(r.probes.map((p) => p.sample?.of ?? 1))).toEqual(new Set(r.probes.length > 0 ? [perProbe] : []));
    }
    // One more sample per probe would break a bound: the cut takes all it may.
    expect(samplesPerProbe({ dns: 100, tcp: 100 }, { dns: 3, tcp: 7 })).toEqual({ dns: 13, tcp: 3 });
    expect(samplesPerProbe({ dns: 20, tcp: 20 }, { dns: 2, tcp: 7 })).toEqual({ dns: 20, tcp: 2 });
    expect(samplesPerProbe({ dns: 5 }, { dns: 2, tcp: 7 })).toEqual({ dns: 5, tcp: 1 });
    expect(samplesPerProbe({ dns: 100, tcp: 100 }, { dns: 50, tcp: 70 })).toEqual({ dns: 1, tcp: 1 });
    expect(samplesPerProbe({}, { dns: 2, tcp: 7 })).toEqual({ dns: 1, tcp: 1 });
  });

  it('bounds the endpoint and DNS pod sample by maxEndpoints', () => {
    const plan = planLadder(buildFacts(), { timeoutMs: 2000, maxEndpoints: 1 });
    expect(plan.rungs.find((r) => r.rung === 'pod-ip')?.probes).toHaveLength(1);
    expect(plan.rungs.find((r) => r.rung === 'dns')?.probes).toHaveLength(2);
  });

  it('marks endpoint and DNS probes with the object they are about', () => {
    const plan = planLadder(buildFacts(), opts);
    expect(plan.rungs.find((r) => r.rung === 'pod-ip')?.probes[0]?.about).toEqual({ kind: 'Pod', namespace: 'shop', name: 'web-1' });
    expect(plan.rungs.find((r) => r.rung === 'dns')?.probes[1]?.about).toEqual({ kind: 'Pod', namespace: 'kube-system', name: 'coredns-a' });
  });

  it('does not query DNS pods that are not ready', () => {
    const facts = buildFacts();
    facts.dns.pods[0]!.ready = false;
    const dns = planLadder(facts, opts).rungs.find((r) => r.rung === 'dns')?.probes ?? [];
    expect(dns.map(show)).toEqual(['source-pod>web.shop', 'source-pod>web.shop.svc.cluster.local @10.244.2.3']);
  });
});

describe('sampleEndpoints', () => {
  const ep = (ip: string, node: string) => ({ ip, port: 80, ready: true, serving: true, terminating: false, node });
  it.each([
    { name: 'spreads across nodes first', eps: [ep('a', 'n1'), ep('b', 'n1'), ep('c', 'n2')], max: 2, want: ['a', 'c'] },
    { name: 'fills up in order after one per node', eps: [ep('a', 'n1'), ep('b', 'n1'), ep('c', 'n2')], max: 3, want: ['a', 'c', 'b'] },
    { name: 'fewer than max', eps: [ep('a', 'n1')], max: 3, want: ['a'] },
  ])('$name', ({ eps, max, want }) => {
    expect(sampleEndpoints(eps, max).map((e) => e.ip)).toEqual(want);
  });
});
