/**
 * The round trips of one run against the fake API server (issue 15), counted deterministically (no timing): every
 * request of a whole run by kind, and the preflight's reads (the node namespace's Pod Security labels, the rules
 * review) sent while resolution is still reading, not after it.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeApiServer, type SeenRequest } from './fake-api-server.ts';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const TARGETS = ['default/client', 'default/svc/web:80'];

let fakes: FakeApiServer[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  fakes = [];
});

async function fake(): Promise<FakeApiServer> {
  const f = await new FakeApiServer().start();
  fakes.push(f);
  return f;
}

/** Runs the plugin (from source) against the fake with -o json; resolves with its exit code and output. */
function runPlugin(f: FakeApiServer): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...TARGETS, '-o', 'json'], {
      env: { PATH: process.env.PATH, HOME: tmpdir(), KUBECONFIG: f.kubeconfig, CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += String(b)));
    child.stderr.on('data', (b: Buffer) => (stderr += String(b)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A request as `METHOD path [watch]`, with the random part of debug pod names left out. */
function kindOf(r: SeenRequest): string {
  return `${r.method} ${r.path.replace(/\/pods\/netdebug-[a-z0-9-]+/, '/pods/<debug-pod>')}${r.query.get('watch') === 'true' ? ' (watch)' : ''}`;
}

describe('round trips of a run (issue 15)', () => {
  it('every request of a run, by kind: each read once, one exec per location, one watch for the node pods, 30 in all against this fake', async () => {
    const f = await fake();
    const r = await runPlugin(f);
    expect(r.code, r.stderr).toBe(1);
    const counts: Record<string, number> = {};
    for (const req of f.log) counts[kindOf(req)] = (counts[kindOf(req)] ?? 0) + 1;
    expect(counts).toEqual({
      // Resolution: the targets, their NetworkPolicies, the DNS Services, pods and slices, the datapath, the nodes.
      'GET /api/v1/namespaces/default/pods/client': 1,
      'GET /api/v1/namespaces/default/services/web': 1,
      'GET /apis/networking.k8s.io/v1/namespaces/default/networkpolicies': 1,
      'GET /apis/discovery.k8s.io/v1/namespaces/default/endpointslices': 1,
      'GET /api/v1/namespaces/kube-system/services': 1,
      'GET /apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices': 1,
      'GET /api/v1/namespaces/kube-system/pods': 1,
      'GET /apis/apps/v1/namespaces/kube-system/daemonsets': 1,
      'GET /apis/apps/v1/namespaces/calico-system/daemonsets': 1,
      'GET /apis/apps/v1/namespaces/kube-flannel/daemonsets': 1,
      'GET /api/v1/namespaces/kube-system/configmaps/kube-proxy': 1,
      'GET /api/v1/nodes': 1,
      // The backend pods by the Service's selector (the node pods' watch lists expired debug pods to sweep: no list).
      'GET /api/v1/namespaces/default/pods': 1,
      // The preflight: Pod Security labels, one rules review (this fake has none, so one access review per right).
      'GET /api/v1/namespaces/default': 1,
      'POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews': 1,
      'POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews': 4,
      // The locations: the ephemeral container (its own watch) and three node pods (one watch for all of them, which also
      // shows the expired debug pods of killed runs to sweep), each exec'd into once.
      'PATCH /api/v1/namespaces/default/pods/client/ephemeralcontainers': 1,
      'POST /api/v1/namespaces/default/pods': 3,
      'GET /api/v1/namespaces/default/pods (watch)': 2,
      'EXEC /api/v1/namespaces/default/pods/client/exec': 1,
      'EXEC /api/v1/namespaces/default/pods/<debug-pod>/exec': 3,
      // Cleanup: one deletecollection by the run's id.
      'DELETE /api/v1/namespaces/default/pods': 1,
    });
    const report = JSON.parse(r.stdout) as { stats: { apiRequests: number } };
    expect(report.stats.apiRequests).toBe(f.log.length);
    expect(f.log.length).toBe(30);
    // Issue 15's goal: a healthy run makes at most 30 API requests.
    expect(f.log.length).toBeLessThanOrEqual(30);
  });

  it('the debug pods are created after one round of reads (targets, slices, nodes, namespace, rules review), beside the backend pods', async () => {
    const f = await fake();
    // Requests are answered in waves, so each one's wave is the number of round trips it had to wait for.
    f.waveQuietMs = 400;
    // As a real API server does: a complete rules review, so no access review is needed.
    f.rulesReview = { incomplete: false, resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [] };
    const r = await runPlugin(f);
    expect(r.code, r.stderr).toBe(1);
    const waveOf = (method: string, path: RegExp, query?: RegExp): number[] =>
      f.log.filter((q) => q.method === method && path.test(q.path) && (!query || query.test(q.query.toString()))).map((q) => q.wave ?? -1);
    expect({
      // Wave 0: what the command line names (the Service's EndpointSlices are found by its name), every node of this
      // small cluster (one list cut at a limit), and the preflight's reads of the source's namespace.
      source: waveOf('GET', /^\/api\/v1\/namespaces\/default\/pods\/client$/),
      service: waveOf('GET', /^\/api\/v1\/namespaces\/default\/services\/web$/),
      slices: waveOf('GET', /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/default\/endpointslices$/),
      nodes: waveOf('GET', /^\/api\/v1\/nodes$/),
      namespace: waveOf('GET', /^\/api\/v1\/namespaces\/default$/),
      rulesReview: waveOf('POST', /selfsubjectrulesreviews$/),
      // Wave 1: what those answers name: the backend pods (the Service's selector), which nothing placing the ladder needs.
      backendPods: waveOf('GET', /^\/api\/v1\/namespaces\/default\/pods$/, /labelSelector=app%3D/),
      accessReviews: waveOf('POST', /selfsubjectaccessreviews$/),
    }).toEqual({ source: [0], service: [0], slices: [0], nodes: [0], namespace: [0], rulesReview: [0], backendPods: [1], accessReviews: [] });
    // Wave 1 too: the debug pods and the ephemeral container, as soon as every read the preflight needs has answered.
    const creates = f.log.filter((q) => (q.method === 'POST' && /\/pods$/.test(q.path)) || q.method === 'PATCH');
    expect(creates.length).toBe(4);
    expect(new Set(creates.map((q) => q.wave))).toEqual(new Set([1]));
    // The ladder planned again from every fact (backend pods, policies) ran what the node pods started with: each node
    // pod's one exec reads those probes' records (its argv names netdebug-read) rather than running them again.
    const nodePodExecs = f.log.filter((q) => q.method === 'EXEC' && /\/pods\/netdebug-/.test(q.path));
    expect(nodePodExecs).toHaveLength(3);
    for (const e of nodePodExecs) expect(e.query.getAll('command')[3]).toBe('netdebug-read');
  });

  it.each([
    ['has more nodes than the first-round list holds', (f: FakeApiServer) => f.addIdleNodes(20)],
    ['may not list nodes without a selector (the first-round list is refused)', (f: FakeApiServer) => f.failures.push({ method: 'GET', path: /^\/api\/v1\/nodes$/, query: /limit=/, status: 403, times: 1 })],
  ])('a cluster that %s: its nodes are read by their labels in a second round, and the debug pods wait for them', async (_what, shape) => {
    const f = await fake();
    shape(f);
    f.waveQuietMs = 400;
    f.rulesReview = { incomplete: false, resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [] };
    const r = await runPlugin(f);
    expect(r.code, r.stderr).toBe(1);
    const nodeLists = f.log.filter((q) => q.method === 'GET' && q.path === '/api/v1/nodes');
    expect(nodeLists.map((q) => [q.wave, q.query.get('limit') ?? q.query.get('labelSelector')])).toEqual([
      [0, '16'],
      [1, 'kubernetes.io/hostname in (node-1,node-2)'],
    ]);
    const creates = f.log.filter((q) => (q.method === 'POST' && /\/pods$/.test(q.path)) || q.method === 'PATCH');
    expect(creates.length).toBe(4);
    expect(new Set(creates.map((q) => q.wave))).toEqual(new Set([2]));
  });

  it("the preflight's namespace read and rules review go out while resolution still reads, once each", async () => {
    const f = await fake();
    // kube-system's DaemonSets answer 503 once: resolution waits out a retry before anything is placed.
    f.failures.push({ method: 'GET', path: /^\/apis\/apps\/v1\/namespaces\/kube-system\/daemonsets$/, status: 503, times: 1 });
    const r = await runPlugin(f);
    expect(r.code, r.stderr).toBe(1);
    const at = (method: string, path: RegExp): number[] => f.log.flatMap((q, i) => (q.method === method && path.test(q.path) ? [i] : []));
    const daemonSets = at('GET', /^\/apis\/apps\/v1\/namespaces\/kube-system\/daemonsets$/);
    const namespace = at('GET', /^\/api\/v1\/namespaces\/default$/);
    const review = at('POST', /selfsubjectrulesreviews$/);
    expect({ daemonSets: daemonSets.length, namespace: namespace.length, review: review.length }).toEqual({ daemonSets: 2, namespace: 1, review: 1 });
    // Both before the DaemonSets' retry, which resolution was still waiting for.
    expect(namespace[0]).toBeLessThan(daemonSets[1] as number);
    expect(review[0]).toBeLessThan(daemonSets[1] as number);
    // Nothing is created before the preflight has answered.
    const firstCreate = f.log.findIndex((q) => (q.method === 'POST' && /\/pods$/.test(q.path)) || q.method === 'PATCH');
    expect(firstCreate).toBeGreaterThan(Math.max(...at('POST', /selfsubjectaccessreviews$/)));
  });
});
