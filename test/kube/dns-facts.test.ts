/**
 * The kube adapter's DNS reads against labs of each DNS layout: the well-known DNS Service found under its own name,
 * its pods through its own selector (not k8s-app=kube-dns), the port its EndpointSlices give, the workload from the
 * pods' owner, NodeLocal DNSCache's pods through its DaemonSet, and every request scoped to a namespace and a name or
 * selector.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetRef } from '../../src/core/target.ts';
import { createCluster } from '../../src/kube/cluster.ts';
import { loadKubeConfig } from '../../src/kube/config.ts';
import type { LoggedRequest } from '../lab/api/server.ts';
import { skipLabSuite, startTestLab, type TestLab } from '../lab/harness.ts';

const skip = skipLabSuite('kube adapter DNS reads against the lab');
const client: TargetRef = { kind: 'pod', namespace: 'default', name: 'client' };
const web: TargetRef = { kind: 'service', namespace: 'shop', name: 'web' };

function clusterOf(lab: TestLab) {
  const { kc, namespace, context } = loadKubeConfig({ kubeconfig: lab.kubeconfig }, {});
  return createCluster(kc, { namespace, context });
}

describe.skipIf(skip)('DNS facts from the API', () => {
  const labs = new Map<string, TestLab>();

  beforeAll(async () => {
    const started = await Promise.allSettled(['dns-openshift', 'node-local-dns', 'dns-rke2'].map(async (s) => [s, await startTestLab(s)] as const));
    for (const s of started) if (s.status === 'fulfilled') labs.set(s.value[0], s.value[1]);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled([...labs.values()].map((l) => l.down()));
  }, 60_000);

  it("OpenShift: openshift-dns/dns-default, its DaemonSet's pods by the Service's selector, port 5353", async () => {
    const lab = labs.get('dns-openshift')!;
    await lab.labApi('DELETE', '/lab/v1/requests');
    const facts = await clusterOf(lab).resolve(client, web);
    expect(facts.dns.service).toEqual({
      namespace: 'openshift-dns',
      name: 'dns-default',
      selector: 'dns.operator.openshift.io/daemonset-dns=default',
      workload: { kind: 'DaemonSet', name: 'dns-default' },
    });
    expect(facts.dns).toMatchObject({ serviceIP: '10.96.0.10', readyEndpoints: 2, podPort: 5353 });
    expect(facts.dns.pods.map((p) => `${p.namespace}/${p.node}/${p.ready}`).sort()).toEqual(['openshift-dns/node-1/true', 'openshift-dns/node-2/true']);
    expect(facts.dns.services?.map((s) => `${s.namespace}/${s.name}`)).toEqual(['openshift-dns/dns-default']);
    expect(facts.dns.nodeLocal).toBeUndefined();
    expect(facts.staticFindings).toEqual([]);
    // Services are read in kube-system as one namespaced list, then by name; never across namespaces.
    const logged = (await lab.labApi('GET', '/lab/v1/requests/log')) as LoggedRequest[];
    const services = logged.filter((r) => r.resource === 'services').map((r) => `${r.verb} ${r.namespace ?? '*'}${r.name ? `/${r.name}` : ''}`);
    expect(services.sort()).toEqual(['get openshift-dns/dns-default', 'get shop/web', 'list kube-system']);
  });

  it('RKE2: kube-system/rke2-coredns-rke2-coredns and its Deployment; openshift-dns is not asked', async () => {
    const lab = labs.get('dns-rke2')!;
    await lab.labApi('DELETE', '/lab/v1/requests');
    const facts = await clusterOf(lab).resolve(client, web);
    expect(facts.dns.service).toMatchObject({ namespace: 'kube-system', name: 'rke2-coredns-rke2-coredns', workload: { kind: 'Deployment', name: 'rke2-coredns-rke2-coredns' } });
    expect(facts.dns).toMatchObject({ serviceIP: '10.96.0.10', readyEndpoints: 1 });
    expect(facts.dns.podPort).toBeUndefined();
    const logged = (await lab.labApi('GET', '/lab/v1/requests/log')) as LoggedRequest[];
    expect(logged.filter((r) => r.namespace === 'openshift-dns')).toEqual([]);
  });

  it("NodeLocal DNSCache: kube-dns and kube-dns-upstream, and the cache's pods through its DaemonSet's selector", async () => {
    const lab = labs.get('node-local-dns')!;
    const facts = await clusterOf(lab).resolve(client, web);
    expect(facts.dns.service).toMatchObject({ namespace: 'kube-system', name: 'kube-dns', workload: { kind: 'Deployment', name: 'coredns' } });
    expect(facts.dns.services?.map((s) => s.name)).toEqual(['kube-dns', 'kube-dns-upstream']);
    const upstream = facts.dns.services?.[1];
    expect(upstream?.clusterIP).toMatch(/^10\.96\./);
    expect(upstream?.clusterIP).not.toBe('10.96.0.10');
    expect(upstream?.pods.map((p) => p.name)).toEqual(facts.dns.pods.map((p) => p.name));
    expect(facts.dns.nodeLocal?.pods.map((p) => `${p.node} ${p.ready}`).sort()).toEqual(['node-1 true', 'node-2 true']);
    expect(facts.dns.nodeLocal?.pods.every((p) => /^node-local-dns-[a-z0-9]{5}$/.test(p.name))).toBe(true);
  });
});
