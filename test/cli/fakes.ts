/**
 * Builders and fakes for the CLI-side tests: ClusterFacts for the common shapes, a fake Cluster and a scriptable fake
 * Prober that records what it was asked to do.
 */
import type { ProbeLocation, ProbeObservation, ProbeResult, ProbeSpec, ResolvedDestination, ResolvedSource } from '../../src/core/model.ts';
import type { ClusterFacts } from '../../src/core/facts.ts';
import { locationKey } from '../../src/core/model.ts';
import type { Cluster, LocationStatus, Prober } from '../../src/ports.ts';

/** The usual source: pod front/client on node-1. */
export const clientPod: ResolvedSource = {
  kind: 'pod',
  namespace: 'front',
  name: 'client',
  node: 'node-1',
  ip: '10.244.1.5',
  labels: { app: 'client' },
  hostNetwork: false,
};

/** Service shop/web 10.96.1.1:80 → 8080 with endpoints web-1 (node-2), web-2 (node-1), web-3 (node-2, not ready). */
export const webService: Extract<ResolvedDestination, { kind: 'service' }> = {
  kind: 'service',
  namespace: 'shop',
  name: 'web',
  clusterIP: '10.96.1.1',
  dnsName: 'web.shop.svc.cluster.local',
  port: { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
  selector: { app: 'web' },
  endpoints: [
    { ip: '10.244.2.7', port: 8080, ready: true, serving: true, terminating: false, node: 'node-2', pod: { namespace: 'shop', name: 'web-1' } },
    { ip: '10.244.1.9', port: 8080, ready: true, serving: true, terminating: false, node: 'node-1', pod: { namespace: 'shop', name: 'web-2' } },
    { ip: '10.244.2.8', port: 8080, ready: false, serving: false, terminating: false, node: 'node-2', pod: { namespace: 'shop', name: 'web-3' } },
  ],
};

/** Pod shop/web-1 on node-2 port 8080. */
export const webPod: Extract<ResolvedDestination, { kind: 'pod' }> = {
  kind: 'pod',
  namespace: 'shop',
  name: 'web-1',
  node: 'node-2',
  ip: '10.244.2.7',
  labels: { app: 'web' },
  ready: true,
  hostNetwork: false,
  ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
  port: 8080,
  protocol: 'TCP',
};

/** Builds ClusterFacts around a source and destination with two ready CoreDNS pods. */
export function buildFacts(source: ResolvedSource = clientPod, destination: ResolvedDestination = webService, over: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    targets: { source, destination },
    staticFindings: [],
    dns: {
      serviceIP: '10.96.0.10',
      pods: [
        { namespace: 'kube-system', name: 'coredns-a', ip: '10.244.1.3', node: 'node-1', ready: true },
        { namespace: 'kube-system', name: 'coredns-b', ip: '10.244.2.3', node: 'node-2', ready: true },
      ],
      readyEndpoints: 2,
    },
    nodes: [
      { name: 'node-1', ready: true, internalIP: '172.18.0.2', podCIDR: '10.244.1.0/24' },
      { name: 'node-2', ready: true, internalIP: '172.18.0.3', podCIDR: '10.244.2.0/24' },
    ],
    context: 'lab',
    ...over,
  };
}

/** A fake Cluster returning fixed facts (or throwing), counting calls as API requests. */
export function createFakeCluster(facts: ClusterFacts | Error, apiRequests = 7): Cluster {
  return {
    async resolve() {
      if (facts instanceof Error) throw facts;
      return facts;
    },
    apiRequests: () => apiRequests,
  };
}

/** What the fake prober answers for a probe; default `connected` (or a healthy value for node checks). */
export type Answer = (spec: ProbeSpec) => ProbeObservation;

/** A default healthy answer for every kind of action. */
export const healthyAnswer: Answer = (spec) => {
  const a = spec.action;
  switch (a.tool) {
    case 'tcp-connect':
      return { kind: 'connected' };
    case 'dns-lookup':
      return { kind: 'resolved', ips: ['10.96.1.1'] };
    case 'resolv-conf':
      return { kind: 'resolv-conf', nameservers: ['10.96.0.10'], search: ['front.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5 };
    case 'sysctl':
      return { kind: 'sysctl', key: a.key, value: '1' };
    case 'forward-policy':
      return { kind: 'forward-policy', policy: 'ACCEPT' };
    case 'nat-rules':
      return { kind: 'nat-rules', clusterIP: a.clusterIP, port: a.port, present: true, endpoints: ['10.244.2.7:8080'] };
    case 'route-match':
      return { kind: 'route', present: true, route: '10.244.2.0/24', dev: 'flannel.1', via: '10.244.2.0' };
    case 'neighbor':
      return { kind: 'neighbor', ip: a.address, mac: 'aa:bb:cc:dd:ee:ff', state: 'REACHABLE', dev: 'cni0' };
    case 'path-mtu':
      return { kind: 'mtu', size: 1422, passed: true, mtu: 1450, dev: 'flannel.1', smallPassed: true };
    case 'packet-loss':
      return { kind: 'loss', sent: 50, received: 50, rttMs: 0.1 };
    case 'veth-peer':
      return { kind: 'veth-peer', ifindex: 7 };
    case 'bridge-ports':
      return { kind: 'bridge-ports', ports: [{ ifindex: 7, dev: 'veth1', bridge: 'cni0', hairpin: true }] };
    case 'links':
      return { kind: 'links', links: [{ name: 'eth0', type: 'veth', mtu: 1500 }, { name: 'cni0', type: 'bridge', mtu: 1450 }, { name: 'flannel.1', type: 'vxlan', mtu: 1450, vxlanPort: 8472 }] };
    default: {
      const never: never = a;
      throw new Error(`unknown action ${JSON.stringify(never)}`);
    }
  }
};

/** A scriptable fake Prober with a call log. */
export interface FakeProber extends Prober {
  log: string[];
  cleanups: number;
  maxInFlight: number;
}

/** Creates a fake Prober; `delayMs` per probe, `unready` location keys with their reasons, `prepareError` to throw. */
export function createFakeProber(opts: { answer?: Answer; delayMs?: number; unready?: Record<string, string>; prepareError?: Error; execsPerRun?: number } = {}): FakeProber {
  const answer = opts.answer ?? healthyAnswer;
  let execs = 0;
  let inFlight = 0;
  const prober: FakeProber = {
    log: [],
    cleanups: 0,
    maxInFlight: 0,
    async prepare(locations: ProbeLocation[]) {
      prober.log.push(`prepare ${locations.map(locationKey).join(',')}`);
      if (opts.prepareError) throw opts.prepareError;
      const out = new Map<string, LocationStatus>();
      for (const l of locations) {
        const reason = opts.unready?.[locationKey(l)];
        out.set(locationKey(l), reason === undefined ? { ready: true } : { ready: false, reason });
      }
      return out;
    },
    async run(spec: ProbeSpec): Promise<ProbeResult> {
      prober.log.push(`run ${spec.id}`);
      inFlight += 1;
      prober.maxInFlight = Math.max(prober.maxInFlight, inFlight);
      execs += opts.execsPerRun ?? 1;
      try {
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        return { spec, observation: answer(spec), durationMs: opts.delayMs ?? 1 };
      } finally {
        inFlight -= 1;
      }
    },
    async cleanup() {
      prober.cleanups += 1;
      prober.log.push('cleanup');
    },
    execs: () => execs,
  };
  return prober;
}

/** A clock on the real time source (tests that need fixed times replace `now`). */
export const realClock = { now: () => Date.now() };
