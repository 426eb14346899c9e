/**
 * The plugin's own probes that NetworkPolicy denies are predicted before they run, and their failures are never
 * symptoms: a healthy cluster with policies stays HEALTHY, and the summary counts exactly what was denied.
 */
import { describe, expect, it } from 'vitest';
import { planLadder } from '../../src/core/plan.ts';
import { decideVerdict } from '../../src/core/diagnose/index.ts';
import type { ClusterFacts } from '../../src/core/facts.ts';
import type { ProbeObservation, ProbeResult, ProbeSpec } from '../../src/core/model.ts';
import type { NetworkPolicy } from '../../src/core/netpol.ts';
import { buildFacts, clientPod, webPod, webService } from '../cli/fakes.ts';

/** shop's web pods admit only pods of the front namespace (where the client runs), on 8080. */
const onlyFront: NetworkPolicy = {
  metadata: { name: 'web-from-front', namespace: 'shop' },
  spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'front' } } }] }] },
};
const facts = (policies: NetworkPolicy[]): ClusterFacts =>
  buildFacts(clientPod, webPod, {
    policy: { policies, namespaces: { front: { team: 'front' }, shop: {} }, servicePods: [] },
  });

function denials(plan: ReturnType<typeof planLadder>): Record<string, string[] | undefined> {
  return Object.fromEntries(plan.rungs.flatMap((r) => r.probes).map((p) => [p.id, p.deniedBy]));
}

describe('predicted denials', () => {
  it('marks the debug pod and the other node as denied, not the destination’s own node or the user’s source', () => {
    // Debug pods go to the source's namespace (front) by default: front is admitted, so the same-node pod is too.
    const plan = planLadder(facts([onlyFront]), { timeoutMs: 2000 });
    expect(denials(plan)).toEqual({
      'pod-ip:10.244.2.7:8080': undefined,
      'same-node:node-2:10.244.2.7:8080': undefined,
      'node-origin:node-1:10.244.2.7:8080': ['shop/web-from-front'],
      'node-origin:node-2:10.244.2.7:8080': undefined,
    });
  });

  it('a debug pod in a namespace the policy does not admit is predicted denied', () => {
    const plan = planLadder(facts([onlyFront]), { timeoutMs: 2000, debugPods: { namespace: 'netdebug' } });
    expect(denials(plan)['same-node:node-2:10.244.2.7:8080']).toEqual(['shop/web-from-front']);
  });

  it('no policy, no prediction', () => {
    const plan = planLadder(facts([]), { timeoutMs: 2000 });
    expect(Object.values(denials(plan)).every((d) => d === undefined)).toBe(true);
  });

  it('a denial that might depend on the debug pod’s own address (an ipBlock peer) is not predicted', () => {
    const withBlock: NetworkPolicy = { ...onlyFront, spec: { ...onlyFront.spec, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16' } }] }] } };
    const plan = planLadder(facts([withBlock]), { timeoutMs: 2000, debugPods: { namespace: 'netdebug' } });
    expect(denials(plan)['same-node:node-2:10.244.2.7:8080']).toBeUndefined();
  });
});

describe('the diagnosis of probes denied as predicted', () => {
  const plan = planLadder(facts([onlyFront]), { timeoutMs: 2000 });
  const specs = plan.rungs.flatMap((r) => r.probes);
  const answer = (spec: ProbeSpec): ProbeObservation => (spec.deniedBy ? { kind: 'timeout' } : spec.action.tool === 'dns-lookup' ? { kind: 'resolved', ips: ['10.96.1.1'] } : { kind: 'connected' });
  const results = (extra: (s: ProbeSpec) => ProbeObservation | undefined = () => undefined): ProbeResult[] =>
    specs.map((spec) => ({ spec, observation: extra(spec) ?? answer(spec), durationMs: 5 }));
  const onlyDefaultRoute: ProbeResult = {
    spec: { id: 'node-checks:node-1:route', rung: 'node-checks', check: 'route-to-destination', where: { kind: 'node-pod', node: 'node-1', hostNetwork: true }, action: { tool: 'route-match', address: '10.244.2.7' }, command: ['ip'], timeoutMs: 2000 },
    observation: { kind: 'route', present: false, route: 'default', dev: 'eth0', via: '172.31.0.1' },
    durationMs: 5,
  };

  it('stays HEALTHY and counts the denied probe in the summary and its rung', () => {
    const out = decideVerdict({ targets: facts([onlyFront]).targets, staticFindings: [], observations: results(), nodeChecks: [] });
    expect(out.verdict.cause).toBe('HEALTHY');
    expect(out.verdict.summary).toBe('pod shop/web-1:8080 is reachable from the source: 3 probes passed, 1 probe of its own denied by NetworkPolicy, as predicted');
    expect(out.rungs.find((r) => r.id === 'node-origin')).toMatchObject({ status: 'passed', summary: '1/1 passed; 1 denied by NetworkPolicy shop/web-from-front, as predicted' });
  });

  it('a denied timeout does not arm the route check (the default route is no fault while traffic flows)', () => {
    const out = decideVerdict({ targets: facts([onlyFront]).targets, staticFindings: [], observations: results(), nodeChecks: [onlyDefaultRoute] });
    expect(out.findings.map((f) => f.cause)).toEqual(['HEALTHY']);
  });

  it('the same timeout without the prediction is a symptom, and the route check names the fault', () => {
    const unmarked = results().map((r) => ({ ...r, spec: { ...r.spec, deniedBy: undefined } }));
    const out = decideVerdict({ targets: facts([onlyFront]).targets, staticFindings: [], observations: unmarked, nodeChecks: [onlyDefaultRoute] });
    expect(out.verdict.cause).toBe('NODE_ROUTE_MISSING');
  });

  it('a summary that says when a probe off the user’s path failed', () => {
    const out = decideVerdict({ targets: facts([]).targets, staticFindings: [], observations: results((s) => (s.rung === 'node-origin' && s.where.kind === 'node-pod' && s.where.node === 'node-1' ? { kind: 'timeout' } : undefined)).map((r) => ({ ...r, spec: { ...r.spec, deniedBy: undefined } })), nodeChecks: [] });
    expect(out.verdict.cause).toBe('HEALTHY');
    expect(out.verdict.summary).toContain("1 probe failed off the user's path (node node-1 (hostNetwork) → 10.244.2.7:8080: timed out)");
  });
});

describe('predicted denials on a dual-stack run', () => {
  const dualClient = { ...clientPod, ips: ['10.244.1.5', 'fd00:10:244:1::5'] };
  const dualWeb = { ...webPod, ips: ['10.244.2.7', 'fd00:10:244:2::7'] };
  const dualFacts = (policies: NetworkPolicy[]): ClusterFacts =>
    buildFacts(dualClient, dualWeb, { policy: { policies, namespaces: { front: { team: 'front' }, shop: {} }, servicePods: [] } });
  const byFamily = (plan: ReturnType<typeof planLadder>, family: string): Record<string, string[] | undefined> =>
    Object.fromEntries(plan.rungs.flatMap((r) => r.probes).filter((p) => p.family === family && p.rung === 'node-origin').map((p) => [p.where.kind === 'node-pod' ? p.where.node : '?', p.deniedBy]));

  it('predicts the IPv6 twin of a probe a selector policy denies, as its IPv4 one', () => {
    const plan = planLadder(dualFacts([onlyFront]), { timeoutMs: 2000, families: ['IPv4', 'IPv6'] });
    expect(byFamily(plan, 'IPv4')).toEqual({ 'node-1': ['shop/web-from-front'], 'node-2': undefined });
    expect(byFamily(plan, 'IPv6')).toEqual({ 'node-1': ['shop/web-from-front'], 'node-2': undefined });
  });

  it('with ipBlocks, an IPv6 probe from a node is not judged by the node\'s IPv4 address', () => {
    const fromBlock = (cidr: string): NetworkPolicy => ({
      metadata: { name: 'web-from-block', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr } }] }] },
    });
    // node-1's InternalIP (IPv4) is admitted by an IPv4 block: its IPv4 probe is not denied, and its IPv6 probe is (an
    // IPv4 block never admits IPv6 traffic, whatever node-1's IPv6 address is).
    const v4 = planLadder(dualFacts([fromBlock('172.18.0.2/32')]), { timeoutMs: 2000, families: ['IPv4', 'IPv6'] });
    expect(byFamily(v4, 'IPv4')).toEqual({ 'node-1': undefined, 'node-2': undefined });
    expect(byFamily(v4, 'IPv6')).toEqual({ 'node-1': ['shop/web-from-block'], 'node-2': undefined });
    // An IPv6 block might hold node-1's IPv6 address, which is not known: nothing is predicted for the IPv6 probe, and
    // the IPv4 probe is denied (an IPv6 block never admits node-1's IPv4 address).
    const v6 = planLadder(dualFacts([fromBlock('fd00::/8')]), { timeoutMs: 2000, families: ['IPv4', 'IPv6'] });
    expect(byFamily(v6, 'IPv4')).toEqual({ 'node-1': ['shop/web-from-block'], 'node-2': undefined });
    expect(byFamily(v6, 'IPv6')).toEqual({ 'node-1': undefined, 'node-2': undefined });
  });
});

describe('predicted denials to a dual-stack Service', () => {
  it('an IPv6 endpoint finds its pod by targetRef, so its probes are predicted like the IPv4 endpoint\'s', () => {
    const v6 = { 'web-1': 'fd00:10:244:2::7', 'web-2': 'fd00:10:244:1::9', 'web-3': 'fd00:10:244:2::8' } as Record<string, string>;
    const service = {
      ...webService,
      clusterIPs: ['10.96.1.1', 'fd00:10:96::1'],
      ipFamilies: ['IPv4', 'IPv6'] as ('IPv4' | 'IPv6')[],
      endpoints: [...webService.endpoints, ...webService.endpoints.map((e) => ({ ...e, ip: v6[e.pod?.name ?? ''] ?? '' }))],
    };
    const servicePods = webService.endpoints.map((e) => ({ namespace: 'shop', name: e.pod?.name ?? '', ip: e.ip, node: e.node ?? '', ready: e.ready, labels: { app: 'web' }, hostNetwork: false, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' as const }] }));
    const f = buildFacts({ ...clientPod, ips: ['10.244.1.5', 'fd00:10:244:1::5'] }, service, { policy: { policies: [onlyFront], namespaces: { front: { team: 'front' }, shop: {} }, servicePods } });
    const plan = planLadder(f, { timeoutMs: 2000, families: ['IPv4', 'IPv6'] });
    const nodeOrigin = plan.rungs.flatMap((r) => r.probes).filter((p) => p.rung === 'node-origin' && p.action.tool === 'tcp-connect');
    const denied = (family: string): string[] => nodeOrigin.filter((p) => p.family === family && p.deniedBy !== undefined).map((p) => `${p.where.kind === 'node-pod' ? p.where.node : '?'} ${p.action.tool === 'tcp-connect' ? p.action.host : ''}`);
    expect(denied('IPv4').length).toBeGreaterThan(0);
    // Each IPv4 denial has its IPv6 twin: the same node, the same pod's IPv6 address.
    const byV4 = Object.fromEntries(webService.endpoints.map((e) => [e.ip, v6[e.pod?.name ?? '']]));
    expect(denied('IPv6').sort()).toEqual(denied('IPv4').map((d) => { const [node, ip] = d.split(' '); return `${node} ${byV4[ip ?? '']}`; }).sort());
  });
});
