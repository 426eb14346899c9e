/** runDiagnosis with address families: the ladder per family, --family, and a host name with IPv6 addresses alone. */
import { describe, expect, it } from 'vitest';
import type { IPFamily } from '../../src/core/address.ts';
import type { ClusterFacts } from '../../src/core/facts.ts';
import type { ProbeSpec, ResolvedDestination, ResolvedSource, RunEvent } from '../../src/core/model.ts';
import type { TargetRef } from '../../src/core/target.ts';
import { runDiagnosis } from '../../src/run.ts';
import { buildFacts, clientPod, createFakeCluster, createFakeProber, healthyAnswer, realClock, webService, type Answer } from './fakes.ts';

const src: TargetRef = { kind: 'pod', namespace: 'front', name: 'client' };
const host: ResolvedDestination = { kind: 'address', host: 'v6only.example.internal', ips: [], port: 443, protocol: 'TCP' };
const hostRef: TargetRef = { kind: 'address', host: 'v6only.example.internal', isIP: false, port: { kind: 'number', number: 443 } };

async function run(dest: ResolvedDestination, destRef: TargetRef, answer: Answer, opts: { family?: IPFamily; source?: ResolvedSource; facts?: Partial<ClusterFacts> } = {}) {
  const events: RunEvent[] = [];
  const prober = createFakeProber({ answer });
  const report = await runDiagnosis({
    runId: 'r',
    source: src,
    destination: destRef,
    cluster: createFakeCluster(buildFacts(opts.source ?? clientPod, dest, opts.facts)),
    makeProber: () => prober,
    opts: { timeoutMs: 2000, ...(opts.family ? { family: opts.family } : {}) },
    emit: (e) => void events.push(e),
    clock: realClock,
  });
  return { report, events, prober };
}

/** Answers A lookups with no address and AAAA lookups with `aaaa` (none: no address either). */
const v6OnlyName = (aaaa: string[]): Answer => (spec: ProbeSpec) =>
  spec.action.tool === 'dns-lookup' ? { kind: 'resolved', ips: spec.action.type === 'AAAA' ? aaaa : [] } : healthyAnswer(spec);

describe('a host name with IPv6 addresses alone', () => {
  it('its empty A answers are followed by AAAA lookups; AAAA resolving, the name is found and the run HEALTHY', async () => {
    const { report } = await run(host, hostRef, v6OnlyName(['fd00:10:1::10']));
    expect(report.verdict.cause).toBe('HEALTHY');
    const dns = report.rungs.find((r) => r.id === 'dns');
    expect(dns?.status).toBe('passed');
    expect(dns?.probes.map((p) => p.id)).toEqual(expect.arrayContaining(['dns:search:v6only.example.internal', 'dns:search:v6only.example.internal:AAAA']));
    expect(report).not.toHaveProperty('families');
  });

  it('no AAAA address either: DNS_NAME_NOT_FOUND as before', async () => {
    const { report } = await run(host, hostRef, v6OnlyName([]));
    expect(report.verdict.cause).toBe('DNS_NAME_NOT_FOUND');
  });

  it('a name with an A address asks no AAAA: the run is as before', async () => {
    const { report, prober } = await run(host, hostRef, healthyAnswer);
    expect(report.verdict.cause).toBe('HEALTHY');
    expect(prober.log.some((l) => l.includes('AAAA'))).toBe(false);
  });
});

describe('runDiagnosis per family', () => {
  const dualClient: ResolvedSource = { ...(clientPod as Extract<ResolvedSource, { kind: 'pod' }>), ips: ['10.244.1.5', 'fd00:10:244:1::5'] };
  const web1 = webService.endpoints[0] as (typeof webService.endpoints)[number];
  const dual: ResolvedDestination = { ...webService, clusterIPs: ['10.96.1.1', 'fd00:10:96::1'], ipFamilies: ['IPv4', 'IPv6'], endpoints: [web1, { ...web1, ip: 'fd00:10:244:2::7' }] };
  const svcRef: TargetRef = { kind: 'service', namespace: 'shop', name: 'web', port: { kind: 'number', number: 80 } };

  it('an IPv4 run has no families field and no family on any probe', async () => {
    const { report, events } = await run(webService, svcRef, healthyAnswer);
    expect(report).not.toHaveProperty('families');
    expect(events.filter((e) => e.type === 'probe-started').every((e) => e.type === 'probe-started' && e.probe.family === undefined)).toBe(true);
  });

  it('a dual-stack Service: families IPv4 and IPv6, the DNS rung replanned from resolv.conf with its AAAA twins', async () => {
    // The DNS Service the adapter read: the source's resolv.conf (10.96.0.10) is matched to it, and the lookups planned again.
    const dns = buildFacts().dns;
    const services = [{ namespace: 'kube-system', name: 'kube-dns', clusterIP: '10.96.0.10', pods: dns.pods, readyEndpoints: 2, selector: 'k8s-app=kube-dns' }];
    const { report, prober } = await run(dual, svcRef, healthyAnswer, { source: dualClient, facts: { dns: { ...dns, services } } });
    expect(report.families).toEqual(['IPv4', 'IPv6']);
    const dnsIds = report.rungs.find((r) => r.id === 'dns')?.probes.map((p) => `${p.family ?? '-'} ${p.id}`) ?? [];
    expect(dnsIds).toContain('- dns:resolv-conf');
    expect(dnsIds).toEqual(expect.arrayContaining(['IPv4 dns:search:web.shop', 'IPv6 dns:search:web.shop:AAAA', 'IPv6 dns:10.244.2.3:web.shop.svc.cluster.local:AAAA']));
    expect(prober.log).toContain('run dns:10.244.1.3:web.shop.svc.cluster.local:AAAA');
  });

  it('--family IPv6 that the destination lacks: a usage error before any probe', async () => {
    await expect(run(webService, svcRef, healthyAnswer, { family: 'IPv6' })).rejects.toMatchObject({ code: 'USAGE', exitCode: 2, message: expect.stringContaining('has no IPv6 address') });
  });
});
