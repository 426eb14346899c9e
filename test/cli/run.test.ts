import { describe, expect, it } from 'vitest';
import { NetdebugError } from '../../src/core/errors.ts';
import type { RunEvent } from '../../src/core/model.ts';
import type { TargetRef } from '../../src/core/target.ts';
import { runDiagnosis, type RunInput } from '../../src/run.ts';
import { buildFacts, clientPod, createFakeCluster, createFakeProber, healthyAnswer, realClock, webPod, type FakeProber } from './fakes.ts';

const src: TargetRef = { kind: 'pod', namespace: 'front', name: 'client' };
const dst: TargetRef = { kind: 'service', namespace: 'shop', name: 'web', port: { kind: 'number', number: 80 } };

function setup(prober: FakeProber, over: Partial<RunInput> = {}): { input: RunInput; events: RunEvent[] } {
  const events: RunEvent[] = [];
  const input: RunInput = {
    runId: 'run-1',
    source: src,
    destination: dst,
    cluster: createFakeCluster(buildFacts()),
    makeProber: () => prober,
    opts: { timeoutMs: 2000 },
    emit: (e) => void events.push(e),
    clock: realClock,
    ...over,
  };
  return { input, events };
}

describe('runDiagnosis', () => {
  it('emits events in a consistent order and returns a healthy report', async () => {
    const prober = createFakeProber();
    const { input, events } = setup(prober);
    const report = await runDiagnosis(input);
    expect(report.verdict.cause).toBe('HEALTHY');
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(['run-started', 'target-resolved', 'target-resolved', 'static-findings']);
    expect(types.slice(-2)).toEqual(['verdict-decided', 'run-finished']);
    expect(events[0]).toMatchObject({ runId: 'run-1', source: 'front/pod/client', destination: 'shop/service/web:80' });
    // Per rung: started before its probes, finished after them; every started probe finishes.
    for (const rung of ['dns', 'cluster-ip', 'pod-ip', 'same-node', 'node-origin'] as const) {
      const start = events.findIndex((e) => e.type === 'rung-started' && e.rung === rung);
      const end = events.findIndex((e) => e.type === 'rung-finished' && e.rung.id === rung);
      expect(start, rung).toBeGreaterThan(3);
      expect(end, rung).toBeGreaterThan(start);
      events.forEach((e, i) => {
        if ((e.type === 'probe-started' && e.probe.rung === rung) || (e.type === 'probe-finished' && e.result.spec.rung === rung)) {
          expect(i).toBeGreaterThan(start);
          expect(i).toBeLessThan(end);
        }
      });
    }
    const started = events.filter((e) => e.type === 'probe-started').length;
    expect(events.filter((e) => e.type === 'probe-finished').length).toBe(started);
    expect(prober.log.filter((l) => l.startsWith('run ')).length).toBe(started);
    const finished = events.at(-1);
    expect(finished?.type === 'run-finished' && finished.exitCode).toBe(0);
    expect(finished?.type === 'run-finished' && finished.report).toEqual(report);
  });

  it('reports stats from the cluster, the prober and the clock', async () => {
    let t = 1_000;
    const prober = createFakeProber({ execsPerRun: 2 });
    const { input } = setup(prober, { cluster: createFakeCluster(buildFacts(clientPod, webPod), 11), clock: { now: () => (t += 10) } });
    const report = await runDiagnosis(input);
    const runs = prober.log.filter((l) => l.startsWith('run ')).length;
    expect(report.stats.apiRequests).toBe(11);
    expect(report.stats.execs).toBe(2 * runs);
    expect(report.stats.wallMs).toBeGreaterThan(0);
  });

  it('puts the planner skip reason into skipped rungs of the report and the events', async () => {
    const { input, events } = setup(createFakeProber(), { cluster: createFakeCluster(buildFacts(clientPod, webPod)) });
    const report = await runDiagnosis(input);
    const cip = report.rungs.find((r) => r.id === 'cluster-ip');
    expect(cip).toMatchObject({ status: 'skipped', summary: 'the destination is a pod, not a Service: no ClusterIP' });
    expect(events.find((e) => e.type === 'rung-finished' && e.rung.id === 'cluster-ip')).toEqual({ type: 'rung-finished', rung: cip });
  });

  it('runs independent probes concurrently: two 100 ms probes take about 100 ms', async () => {
    const prober = createFakeProber({ delayMs: 100 });
    const { input } = setup(prober, { cluster: createFakeCluster(buildFacts(clientPod, { kind: 'address', host: '10.0.0.1', ips: ['10.0.0.1', '10.0.0.2'], port: 80, protocol: 'TCP' })) });
    const t0 = Date.now();
    await runDiagnosis(input);
    const wall = Date.now() - t0;
    expect(prober.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(wall).toBeLessThan(190);
  });

  it('turns probes at a location that could not be prepared into could-not-run, and says so', async () => {
    const prober = createFakeProber({ unready: { 'source-pod': 'ephemeral containers are disabled' } });
    const { input } = setup(prober);
    const report = await runDiagnosis(input);
    const podIp = report.rungs.find((r) => r.id === 'pod-ip');
    expect(podIp?.status).toBe('error');
    expect(podIp?.probes[0]?.observation).toEqual({ kind: 'could-not-run', reason: 'ephemeral containers are disabled' });
    expect(report.verdict.cause).toBe('CHECKS_COULD_NOT_RUN');
    expect(prober.log.some((l) => l.startsWith('run ') && l.includes('cluster-ip'))).toBe(false);
  });

  it('prepares each location separately so probes start as soon as their own location is ready', async () => {
    const prober = createFakeProber();
    const { input } = setup(prober);
    await runDiagnosis(input);
    expect(prober.log.filter((l) => l.startsWith('prepare '))).toEqual([
      'prepare source-pod',
      'prepare node-pod:node-2:pod',
      'prepare node-pod:node-1:host',
      'prepare node-pod:node-2:host',
    ]);
  });

  it('always cleans up, also when preparing throws', async () => {
    const prober = createFakeProber({ prepareError: new Error('boom') });
    const { input } = setup(prober);
    const report = await runDiagnosis(input);
    expect(prober.cleanups).toBe(1);
    expect(report.verdict.cause).toBe('CHECKS_COULD_NOT_RUN');
  });

  it('cleans up when an emit throws mid-run, and propagates the error', async () => {
    const prober = createFakeProber();
    const { input } = setup(prober, {
      emit: (e) => {
        if (e.type === 'probe-finished') throw new Error('reporter broke');
      },
    });
    await expect(runDiagnosis(input)).rejects.toThrow('reporter broke');
    expect(prober.cleanups).toBe(1);
  });

  it('propagates resolve errors without making a prober', async () => {
    let made = false;
    const { input, events } = setup(createFakeProber(), {
      cluster: createFakeCluster(new NetdebugError('TARGET_NOT_FOUND', 'pod "nope" not found')),
      makeProber: () => {
        made = true;
        return createFakeProber();
      },
    });
    await expect(runDiagnosis(input)).rejects.toMatchObject({ code: 'TARGET_NOT_FOUND' });
    expect(made).toBe(false);
    expect(events.map((e) => e.type)).toEqual(['run-started']);
  });

  it('decides a fault from the probe answers (exit code 1)', async () => {
    const prober = createFakeProber({
      answer: (s) => (s.action.tool === 'sysctl' && s.action.key === 'net.ipv4.ip_forward' && s.where.kind === 'node-pod' && s.where.node === 'node-2' ? { kind: 'sysctl', key: s.action.key, value: '0' } : healthyAnswer(s)),
    });
    const { input, events } = setup(prober);
    const report = await runDiagnosis(input);
    expect(report.verdict).toMatchObject({ cause: 'NODE_IP_FORWARD_DISABLED', node: 'node-2' });
    const last = events.at(-1);
    expect(last?.type === 'run-finished' && last.exitCode).toBe(1);
  });

  it('awaits async emits in order', async () => {
    const seen: string[] = [];
    const { input } = setup(createFakeProber(), {
      emit: async (e) => {
        await new Promise((r) => setTimeout(r, e.type === 'probe-started' ? 5 : 0));
        seen.push(e.type);
      },
    });
    await runDiagnosis(input);
    expect(seen.at(-1)).toBe('run-finished');
    expect(seen.indexOf('verdict-decided')).toBe(seen.length - 2);
  });
});

describe('runDiagnosis: the DNS the source really uses', () => {
  /** Facts as the adapter reads them: OpenShift's DNS Service (pods on 5353) among the well-known ones. */
  const openshiftFacts = () =>
    buildFacts(clientPod, undefined, {
      dns: {
        serviceIP: '172.30.0.10',
        pods: [{ namespace: 'openshift-dns', name: 'dns-default-abcde', ip: '10.244.1.3', node: 'node-1', ready: true }],
        readyEndpoints: 1,
        podPort: 5353,
        services: [
          {
            namespace: 'openshift-dns',
            name: 'dns-default',
            clusterIP: '172.30.0.10',
            podPort: 5353,
            pods: [{ namespace: 'openshift-dns', name: 'dns-default-abcde', ip: '10.244.1.3', node: 'node-1', ready: true }],
            readyEndpoints: 1,
            selector: 'dns.operator.openshift.io/daemonset-dns=default',
            workload: { kind: 'DaemonSet', name: 'dns-default' },
          },
        ],
      },
    });
  const resolvConf = (domain: string) => (spec: Parameters<typeof healthyAnswer>[0]) =>
    spec.action.tool === 'resolv-conf'
      ? { kind: 'resolv-conf' as const, nameservers: ['172.30.0.10'], search: [`front.svc.${domain}`, `svc.${domain}`, domain], ndots: 5 }
      : healthyAnswer(spec);

  it("reads resolv.conf first, then plans the lookups from it: the cluster domain and the DNS pods' own port", async () => {
    const prober = createFakeProber({ answer: resolvConf('corp.example') });
    const { input, events } = setup(prober, { cluster: createFakeCluster(openshiftFacts()) });
    const report = await runDiagnosis(input);
    const started = events.flatMap((e) => (e.type === 'probe-started' && e.probe.rung === 'dns' ? [e.probe] : []));
    expect(started.map((p) => p.command.join(' '))).toEqual([
      'cat /etc/resolv.conf',
      'dig +time=2 +tries=1 +search web.shop',
      'dig @10.244.1.3 -p 5353 +time=2 +tries=1 web.shop.svc.corp.example',
    ]);
    // The direct lookups start only once resolv.conf was read (the search path's lookup runs beside the read).
    const readDone = events.findIndex((e) => e.type === 'probe-finished' && e.result.spec.action.tool === 'resolv-conf');
    const firstDirect = events.findIndex((e) => e.type === 'probe-started' && e.probe.action.tool === 'dns-lookup' && e.probe.action.server !== undefined);
    const searchStarted = events.findIndex((e) => e.type === 'probe-started' && e.probe.action.tool === 'dns-lookup' && e.probe.action.server === undefined);
    expect(readDone).toBeLessThan(firstDirect);
    expect(searchStarted).toBeLessThan(readDone);
    // Each lookup runs once: the early search-path lookup is the one the plan from resolv.conf keeps.
    expect(prober.log.filter((l) => l === 'run dns:search:web.shop')).toHaveLength(1);
    expect(report.verdict.cause).toBe('HEALTHY');
    expect(report.datapath?.dns).toBe('openshift-dns/dns-default');
    expect(report.datapath?.evidence).toContain('source resolv.conf nameserver 172.30.0.10, cluster domain corp.example');
    const datapathAt = events.findIndex((e) => e.type === 'datapath-detected');
    expect(datapathAt).toBeGreaterThan(readDone);
  });

  it("falls back to the API's DNS pods and says the DNS is unknown when resolv.conf cannot be read", async () => {
    const prober = createFakeProber({
      answer: (spec) => (spec.action.tool === 'resolv-conf' ? { kind: 'could-not-run', reason: 'cat: /etc/resolv.conf: No such file or directory' } : healthyAnswer(spec)),
    });
    const { input, events } = setup(prober, { cluster: createFakeCluster(openshiftFacts()) });
    const report = await runDiagnosis(input);
    const started = events.flatMap((e) => (e.type === 'probe-started' && e.probe.rung === 'dns' ? [e.probe.command.join(' ')] : []));
    expect(started).toEqual(['cat /etc/resolv.conf', 'dig +time=2 +tries=1 +search web.shop', 'dig @10.244.1.3 -p 5353 +time=2 +tries=1 web.shop.svc.cluster.local']);
    expect(report.datapath?.dns).toBeUndefined();
    expect(report.datapath?.unsure).toContain("the source's /etc/resolv.conf could not be read: the DNS it uses is unknown");
    expect(report.verdict.cause).toBe('HEALTHY');
  });

  it('does not read resolv.conf from a node source', async () => {
    const prober = createFakeProber();
    const facts = openshiftFacts();
    const { input, events } = setup(prober, { cluster: createFakeCluster({ ...facts, targets: { ...facts.targets, source: { kind: 'node', name: 'node-1', ip: '172.18.0.2' } } }) });
    await runDiagnosis(input);
    expect(events.some((e) => e.type === 'probe-started' && e.probe.action.tool === 'resolv-conf')).toBe(false);
  });
});
