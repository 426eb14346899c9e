import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetdebugError } from '../../src/core/errors.ts';
import { locationKey, type ProbeAction, type ProbeLocation, type ProbeSpec } from '../../src/core/model.ts';
import { buildProbeCommand } from '../../src/core/parse.ts';
import type { TargetRef } from '../../src/core/target.ts';
import { createCluster } from '../../src/kube/cluster.ts';
import { loadKubeConfig } from '../../src/kube/config.ts';
import { cleanupAll, createProber } from '../../src/kube/prober.ts';
import { createPreconnector, type Preconnector } from '../../src/kube/preconnect.ts';
import type { ClusterFacts } from '../../src/core/facts.ts';
import { skipLabSuite, startTestLab, type TestLab } from '../lab/harness.ts';

const skip = skipLabSuite('kube adapter against the lab');
const scenario = (name: string) => fileURLToPath(new URL(`./${name}.yaml`, import.meta.url));
const IMAGE = 'nicolaka/netshoot:v0.13';

function clusterOf(lab: TestLab) {
  const { kc, namespace, context } = loadKubeConfig({ kubeconfig: lab.kubeconfig }, {});
  return { kc, cluster: createCluster(kc, { namespace, context }) };
}

async function errorOf(p: Promise<unknown>): Promise<NetdebugError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof NetdebugError) return err;
    throw err;
  }
  throw new Error('expected a NetdebugError');
}

const client: TargetRef = { kind: 'pod', namespace: 'default', name: 'client' };
const web: TargetRef = { kind: 'service', namespace: 'shop', name: 'web' };

function probe(id: string, where: ProbeLocation, action: ProbeAction, timeoutMs = 2000): ProbeSpec {
  return { id, rung: 'pod-ip', where, action, command: buildProbeCommand(action, timeoutMs), timeoutMs };
}

describe.skipIf(skip)('kube adapter against a lab', () => {
  let lab: TestLab;
  let big: TestLab;

  beforeAll(async () => {
    const started = await Promise.allSettled([startTestLab(scenario('kube-lab')), startTestLab(scenario('kube-lab-synthetic'))]);
    for (const s of started) if (s.status === 'fulfilled') (s.value.rec.name === 'kube-lab' ? (lab = s.value) : (big = s.value));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([lab?.down(), big?.down()]);
  }, 60_000);

  describe('resolve', () => {
    it('pod → service: endpoints on both nodes, DNS, nodes, no findings', async () => {
      const { cluster } = clusterOf(lab);
      const facts = await cluster.resolve(client, web);
      const dest = facts.targets.destination;
      expect(dest.kind).toBe('service');
      if (dest.kind !== 'service') return;
      expect(dest.clusterIP).toMatch(/^10\.96\./);
      expect(dest.port).toEqual({ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' });
      expect(dest.endpoints.map((e) => `${e.pod?.name}:${e.port}:${e.ready}`).sort()).toEqual(['web-1:8080:true', 'web-2:8080:true']);
      expect(facts.targets.source).toMatchObject({ kind: 'pod', name: 'client', node: 'node-1' });
      expect(facts.dns).toMatchObject({ serviceIP: '10.96.0.10', readyEndpoints: 1 });
      expect(facts.nodes.map((n) => n.name).sort()).toEqual(['node-1', 'node-2']);
      expect(facts.staticFindings).toEqual([]);
      expect(cluster.apiRequests()).toBeGreaterThan(5);
    });

    it('pod → pod across namespaces, port by name', async () => {
      const { cluster } = clusterOf(lab);
      const facts = await cluster.resolve(client, { kind: 'pod', namespace: 'shop', name: 'web-1', port: { kind: 'name', name: 'http' } });
      expect(facts.targets.destination).toMatchObject({ kind: 'pod', namespace: 'shop', name: 'web-1', node: 'node-2', port: 8080, ready: true });
    });

    it('pod → node', async () => {
      const { cluster } = clusterOf(lab);
      const facts = await cluster.resolve(client, { kind: 'node', name: 'node-2', port: { kind: 'number', number: 10250 } });
      expect(facts.targets.destination).toEqual({ kind: 'node', name: 'node-2', ip: '172.31.0.12', port: 10250, protocol: 'TCP' });
    });

    it('deployment source: a ready pod of it', async () => {
      const { cluster } = clusterOf(lab);
      const facts = await cluster.resolve({ kind: 'workload', workload: 'Deployment', namespace: 'shop', name: 'web' }, web);
      expect(facts.targets.source).toMatchObject({ kind: 'pod', namespace: 'shop', via: { kind: 'Deployment', name: 'web' } });
      expect(['web-1', 'web-2']).toContain((facts.targets.source as { name: string }).name);
    });

    it('cross-namespace bare name resolves the Service when no pod has that name', async () => {
      const { cluster } = clusterOf(lab);
      const facts = await cluster.resolve({ kind: 'pod', namespace: 'ops', name: 'toolbox' }, { kind: 'pod-or-service', namespace: 'shop', name: 'web' });
      expect(facts.targets.source).toMatchObject({ namespace: 'ops', node: 'node-2' });
      expect(facts.targets.destination).toMatchObject({ kind: 'service', namespace: 'shop', name: 'web' });
    });

    it.each([
      { name: 'pod typo', src: { kind: 'pod', namespace: 'default', name: 'clinet' } as TargetRef, dst: web, re: /pod "clinet" not found in namespace "default"; did you mean "client"/ },
      { name: 'service typo', src: client, dst: { kind: 'service', namespace: 'shop', name: 'wbe' } as TargetRef, re: /service "wbe" not found.*did you mean "web"/ },
      { name: 'node typo', src: client, dst: { kind: 'node', name: 'node-3', port: { kind: 'number', number: 22 } } as TargetRef, re: /node "node-3" not found; did you mean "node-1", "node-2"/ },
    ])('unknown $name: TARGET_NOT_FOUND with a suggestion', async ({ src, dst, re }) => {
      const { cluster } = clusterOf(lab);
      const err = await errorOf(cluster.resolve(src, dst));
      expect(err.code).toBe('TARGET_NOT_FOUND');
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(re);
    });

    it('a Service with several ports and no port: the error lists them', async () => {
      const { cluster } = clusterOf(lab);
      const err = await errorOf(cluster.resolve(client, { kind: 'service', namespace: 'shop', name: 'multi' }));
      expect(err.code).toBe('AMBIGUOUS_PORT');
      expect(err.message).toContain('ports: http:80/TCP, metrics:9100/TCP');
    });

    it('a headless Service resolves to its ready pods, with no ClusterIP (the ladder tests the pods directly)', async () => {
      const { cluster } = clusterOf(lab);
      const facts = await cluster.resolve(client, { kind: 'service', namespace: 'shop', name: 'web-headless' });
      const dest = facts.targets.destination;
      expect(dest).toMatchObject({ kind: 'service', namespace: 'shop', name: 'web-headless', clusterIP: 'None', dnsName: 'web-headless.shop.svc.cluster.local' });
      expect(dest.kind === 'service' ? dest.endpoints.filter((e) => e.ready).length : 0).toBeGreaterThan(0);
    });

    it.each([
      { name: 'ExternalName', svc: 'ext', re: /ExternalName \(example\.com\): it is only a DNS CNAME, with no ClusterIP, endpoints or kube-proxy rules/ },
    ])('a $name Service: a clear exit-2 error saying what is not checked', async ({ svc, re }) => {
      const { cluster } = clusterOf(lab);
      const err = await errorOf(cluster.resolve(client, { kind: 'service', namespace: 'shop', name: svc }));
      expect(err.code).toBe('UNSUPPORTED_TARGET');
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(re);
    });

    it('an unreachable API server: API_UNREACHABLE naming the URL', async () => {
      const { kc } = loadKubeConfig({ kubeconfig: lab.kubeconfig, server: 'https://127.0.0.1:1' }, {});
      const err = await errorOf(createCluster(kc, { namespace: 'default' }).resolve(client, web));
      expect(err.code).toBe('API_UNREACHABLE');
      expect(err.exitCode).toBe(3);
      expect(err.message).toContain('https://127.0.0.1:1');
    });

    it('the request count of a resolve does not grow with 10,000 synthetic pods', async () => {
      const small = clusterOf(lab).cluster;
      const large = clusterOf(big).cluster;
      await small.resolve(client, web);
      await large.resolve(client, web);
      // One more for the big one's 102 nodes: its first-round list of every node is cut at the limit, so its nodes are
      // read by their labels as well; neither request grows with the cluster.
      expect(large.apiRequests()).toBe(small.apiRequests() + 1);
      expect(small.apiRequests()).toBeLessThanOrEqual(20);
      // Suggestions list one namespace with a limit, never the synthetic pods.
      const err = await errorOf(clusterOf(big).cluster.resolve({ kind: 'pod', namespace: 'default', name: 'clinet' }, web));
      expect(err.message).toMatch(/did you mean "client"/);
    });
  });

  describe('prober', () => {
    let facts: ClusterFacts;
    beforeAll(async () => {
      facts = await clusterOf(lab).cluster.resolve(client, web);
    });

    it('adds an ephemeral container, reuses it on the next run, and probes connected / refused', async () => {
      const { kc } = clusterOf(lab);
      const opts = { image: IMAGE, runId: 'run-a', keep: false, timeoutMs: 20_000 };
      const first = createProber(kc, facts, opts);
      const status = await first.prepare([{ kind: 'source-pod' }]);
      expect(status.get('source-pod')).toEqual({ ready: true });
      const dest = facts.targets.destination;
      if (dest.kind !== 'service') throw new Error('expected a service');
      const web1 = dest.endpoints.find((e) => e.pod?.name === 'web-1');
      const connected = await first.run(probe('cluster-ip', { kind: 'source-pod' }, { tool: 'tcp-connect', host: dest.clusterIP, port: 80 }));
      expect(connected.observation).toEqual({ kind: 'connected' });
      const refused = await first.run(probe('refused', { kind: 'source-pod' }, { tool: 'tcp-connect', host: web1!.ip, port: 9999 }));
      expect(refused.observation).toEqual({ kind: 'refused' });
      expect(refused.durationMs).toBeGreaterThanOrEqual(0);
      expect(first.execs()).toBe(2);

      const second = createProber(kc, facts, { ...opts, runId: 'run-b' });
      expect((await second.prepare([{ kind: 'source-pod' }])).get('source-pod')).toEqual({ ready: true });
      expect((await second.run(probe('again', { kind: 'source-pod' }, { tool: 'tcp-connect', host: dest.clusterIP, port: 80 }))).observation.kind).toBe('connected');
      const pod = JSON.parse((await lab.kubectl(['get', 'pod', 'client', '-n', 'default', '-o', 'json'])).stdout);
      const names = (pod.spec.ephemeralContainers ?? []).map((c: { name: string }) => c.name);
      expect(names).toHaveLength(1);
      expect(names[0]).toMatch(/^netdebug-[a-z0-9]{5}$/);
      expect(pod.spec.ephemeralContainers[0].securityContext.capabilities.add).toEqual(['NET_ADMIN', 'NET_RAW']);
      await Promise.all([first.cleanup(), second.cleanup()]);
    });

    it('an exec into the netdebug container left in the source pod takes the spare connection, waiting while it is on its way', async () => {
      // A run leaves its container in the pod (or reuses the one an earlier test left).
      const { kc } = clusterOf(lab);
      const first = createProber(kc, facts, { image: IMAGE, runId: 'run-r1', keep: false, timeoutMs: 20_000 });
      expect((await first.prepare([{ kind: 'source-pod' }])).get('source-pod')).toEqual({ ready: true });
      await first.cleanup();
      // main.ts opens the spare when the run starts. Here it is opened only when the exec asks whether it is settled, so
      // it is surely still on its way: the exec must wait for it to take it (else it connects on its own).
      const real = createPreconnector(kc, { connectTimeoutMs: 20_000 });
      let spareAsked = false;
      let spareOpened = false;
      const taken: string[] = [];
      const preconnector: Preconnector = {
        open: (ns, pod, container) => real.open(ns, pod, container),
        openSpare: () => void (spareAsked = true),
        openApi: () => real.openApi(),
        takeApi: (host, port) => real.takeApi(host, port),
        settled: (ns, pod, container) => {
          if (spareAsked && !spareOpened) {
            spareOpened = true;
            real.openSpare();
          }
          return real.settled(ns, pod, container);
        },
        take: (ns, pod, container) => {
          const socket = real.take(ns, pod, container);
          taken.push(socket ? `${ns}/${pod}/${container}` : 'none');
          return socket;
        },
        closeAll: () => real.closeAll(),
      };
      preconnector.openSpare();
      const second = createProber(kc, facts, { image: IMAGE, runId: 'run-r2', keep: false, timeoutMs: 20_000, preconnector });
      expect((await second.prepare([{ kind: 'source-pod' }])).get('source-pod')).toEqual({ ready: true });
      const dest = facts.targets.destination;
      if (dest.kind !== 'service') throw new Error('expected a service');
      const result = await second.run(probe('reused', { kind: 'source-pod' }, { tool: 'tcp-connect', host: dest.clusterIP, port: 80 }));
      expect(result.observation).toEqual({ kind: 'connected' });
      // The reused container got no connection of its own: the exec took the spare.
      expect(spareOpened).toBe(true);
      expect(taken).toEqual([expect.stringMatching(/^default\/client\/netdebug-[a-z0-9]{5}$/)]);
      // Taken once: the next exec connects by itself.
      await second.run(probe('again', { kind: 'source-pod' }, { tool: 'tcp-connect', host: dest.clusterIP, port: 80 }));
      expect(taken[1]).toBe('none');
      await second.cleanup();
    });

    it('a node debug pod starts the probes planned for it with its container; its first batch reads them in one exec', async () => {
      const { kc } = clusterOf(lab);
      const where: ProbeLocation = { kind: 'node-pod', node: 'node-1', hostNetwork: true };
      // The lab's containers share the host's /tmp: a probe that leaves a file shows when it ran.
      const marker = `/tmp/netdebug-kube-lab-${process.pid}-${Date.now()}`;
      const ipForward = probe('ipf', where, { tool: 'sysctl', key: 'net.ipv4.ip_forward' });
      // It marks its end, after 1 s of its own.
      const marked = { ...probe('marked', where, { tool: 'sysctl', key: 'net.ipv4.ip_forward' }), command: ['sh', '-c', `sleep 1; : > ${marker}; sysctl -n net.ipv4.ip_forward`] };
      const prober = createProber(kc, facts, { image: IMAGE, runId: 'run-pl', keep: false, timeoutMs: 20_000 });
      try {
        const status = await prober.prepare([where], new Map([[locationKey(where), [ipForward, marked]]]));
        const preparedAt = Date.now();
        expect(status.get(locationKey(where))).toEqual({ ready: true });
        // Before any exec, the planned probes have run: they started with the container.
        const until = Date.now() + 20_000;
        while (!existsSync(marker) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        expect(existsSync(marker)).toBe(true);
        expect(prober.execs()).toBe(0);
        const readFrom = Date.now();
        const results = await Promise.all(prober.runBatch!([ipForward, marked]).results);
        expect(results.map((r) => r.observation)).toEqual([
          { kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' },
          { kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' },
        ]);
        // Its duration counts from when its container was seen running (before prepare returned), not from the exec that
        // read it: at least the wait for its marker. (Not a full second: the container may have started well before the
        // watch said so on a loaded machine.)
        expect(results[1]!.durationMs).toBeGreaterThanOrEqual(readFrom - preparedAt);
        expect(prober.execs()).toBe(1);
        // A probe it did not start runs in a batch of its own; so does a planned one asked for again.
        const later = await Promise.all(prober.runBatch!([probe('later', where, { tool: 'sysctl', key: 'net.ipv4.ip_forward' }), ipForward]).results);
        expect(later.map((r) => r.observation.kind)).toEqual(['sysctl', 'sysctl']);
        expect(prober.execs()).toBe(2);
      } finally {
        await prober.cleanup();
        rmSync(marker, { force: true });
      }
    });

    it('runs probes from hostNetwork and pod-network node pods, then cleans them up', async () => {
      const { kc } = clusterOf(lab);
      // Each pod's exec connection is opened as it is created, and each exec asks for it (preconnect.ts).
      const real = createPreconnector(kc, { connectTimeoutMs: 20_000 });
      const opened: string[] = [];
      const asked: string[] = [];
      let closedAll = false;
      const preconnector: Preconnector = {
        open: (ns, pod, container) => void (opened.push(`${ns}/${pod}/${container}`), real.open(ns, pod, container)),
        settled: (ns, pod, container) => real.settled(ns, pod, container),
        openSpare: () => real.openSpare(),
        openApi: () => real.openApi(),
        takeApi: (host, port) => real.takeApi(host, port),
        take: (ns, pod, container) => (asked.push(`${ns}/${pod}/${container}`), real.take(ns, pod, container)),
        closeAll: () => void ((closedAll = true), real.closeAll()),
      };
      const prober = createProber(kc, facts, { image: IMAGE, runId: 'run-n', keep: false, timeoutMs: 20_000, preconnector });
      const host: ProbeLocation = { kind: 'node-pod', node: 'node-2', hostNetwork: true };
      const podNet: ProbeLocation = { kind: 'node-pod', node: 'node-2', hostNetwork: false };
      const status = await prober.prepare([host, podNet]);
      expect([...status.values()]).toEqual([{ ready: true }, { ready: true }]);
      const listed = await lab.kubectl(['get', 'pods', '-A', '-l', 'netdebug.dev/run-id=run-n', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.hostNetwork} {.spec.activeDeadlineSeconds}{"\\n"}{end}']);
      expect(listed.stdout.trim().split('\n').sort()).toEqual([
        expect.stringMatching(/^netdebug-node-2-host-[a-z0-9]{5} true 300$/),
        expect.stringMatching(/^netdebug-node-2-pod-[a-z0-9]{5} false 300$/),
      ]);
      const dest = facts.targets.destination;
      if (dest.kind !== 'service') throw new Error('expected a service');
      const web1 = dest.endpoints.find((e) => e.pod?.name === 'web-1')!;
      const fromHost = await prober.run(probe('node-origin', host, { tool: 'tcp-connect', host: web1.ip, port: web1.port }));
      const fromPod = await prober.run(probe('same-node', podNet, { tool: 'tcp-connect', host: web1.ip, port: web1.port }));
      expect([fromHost.observation, fromPod.observation]).toEqual([{ kind: 'connected' }, { kind: 'connected' }]);
      const sysctl = await prober.run(probe('ipf', host, { tool: 'sysctl', key: 'net.ipv4.ip_forward' }));
      expect(sysctl.observation).toEqual({ kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' });
      const pods = listed.stdout.trim().split('\n').map((l) => `default/${l.split(' ')[0]}/netdebug`).sort();
      expect([...opened].sort()).toEqual(pods);
      expect(asked.sort()).toEqual([pods[0], pods[0], pods[1]].sort());
      await prober.cleanup();
      expect(closedAll).toBe(true);
      await prober.cleanup();
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
      expect(left.code).toBe(0);
      expect(left.stdout.trim()).toBe('');
    });

    it('cleanup while debug pods are still being created deletes them too, and creates no more', async () => {
      const { kc } = clusterOf(lab);
      const prober = createProber(kc, facts, { image: IMAGE, runId: 'run-c', keep: false, timeoutMs: 20_000 });
      // The creates are on the wire when cleanup starts (as when Ctrl-C lands mid-preparation).
      const preparing = prober.prepare([
        { kind: 'node-pod', node: 'node-1', hostNetwork: true },
        { kind: 'node-pod', node: 'node-2', hostNetwork: false },
      ]);
      await prober.cleanup();
      await preparing;
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'netdebug.dev/run-id=run-c', '-o', 'name']);
      expect(left.code).toBe(0);
      expect(left.stdout.trim()).toBe('');
      const late = await prober.prepare([{ kind: 'node-pod', node: 'node-1', hostNetwork: false }]);
      expect([...late.values()]).toEqual([{ ready: false, reason: expect.stringContaining('the run is ending') }]);
    });

    it('an exec that outlives its bound is cut and parsed as a timeout; an unprepared location cannot run', async () => {
      const { kc } = clusterOf(lab);
      const prober = createProber(kc, facts, { image: IMAGE, runId: 'run-t', keep: false, timeoutMs: 20_000, execMarginMs: 300 });
      await prober.prepare([{ kind: 'source-pod' }]);
      const spec: ProbeSpec = { ...probe('slow', { kind: 'source-pod' }, { tool: 'tcp-connect', host: '10.96.0.2', port: 80 }, 500), command: ['sleep', '10'] };
      const slow = await prober.run(spec);
      expect(slow.durationMs).toBeLessThan(3000);
      expect(slow.observation).toEqual({ kind: 'timeout' });
      const missing = await prober.run(probe('x', { kind: 'node-pod', node: 'node-1', hostNetwork: true }, { tool: 'sysctl', key: 'net.ipv4.ip_forward' }));
      expect(missing.observation.kind).toBe('could-not-run');
    });

    it('cleanupAll deletes every labelled pod; keep leaves node pods in place', async () => {
      const { kc } = clusterOf(lab);
      const prober = createProber(kc, facts, { image: IMAGE, runId: 'run-k', keep: true, timeoutMs: 20_000 });
      await prober.prepare([{ kind: 'node-pod', node: 'node-1', hostNetwork: true }]);
      await prober.cleanup();
      expect((await lab.kubectl(['get', 'pods', '-A', '-l', 'netdebug.dev/run-id=run-k', '-o', 'name'])).stdout.trim()).not.toBe('');
      const deleted = await cleanupAll(kc, { allNamespaces: true });
      expect(deleted).toEqual([expect.stringMatching(/^default\/netdebug-node-1-host-/)]);
      expect((await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name'])).stdout.trim()).toBe('');
    });
  });
});
