import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_CLUSTER, type ScenarioCluster } from './model.ts';
import { buildClusterObjects } from './objects.ts';
import { clusterDnsPods, parseScenario, ScenarioError, unbuiltClusterSettings, type ScenarioProblem } from './scenario.ts';

/** A small valid scenario with `cluster` as its spec.cluster (omitted when undefined). */
function withCluster(cluster: unknown): string {
  return stringify({
    apiVersion: 'lab.netdebug.dev/v1',
    kind: 'Scenario',
    metadata: { name: 'c' },
    spec: { nodes: [{ name: 'node-1' }], ...(cluster === undefined ? {} : { cluster }) },
  });
}

function problemsOf(text: string): ScenarioProblem[] {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as ScenarioError).problems.filter((p) => !p.message.endsWith('not built by this lab yet'));
  }
  return [];
}

describe('spec.cluster', () => {
  it('defaults to the lab’s first shape when absent or empty', () => {
    expect(parseScenario(withCluster(undefined), 'a.yaml').cluster).toEqual(DEFAULT_CLUSTER);
    expect(parseScenario(withCluster({}), 'a.yaml').cluster).toEqual(DEFAULT_CLUSTER);
  });

  it('gives every scenario its own copy of the defaults', () => {
    const a = parseScenario(withCluster(undefined), 'a.yaml').cluster;
    a.dns.labels.x = 'y';
    expect(parseScenario(withCluster(undefined), 'b.yaml').cluster.dns.labels).toEqual({ 'k8s-app': 'kube-dns' });
  });

  it.each([
    { name: 'unknown network', cluster: { network: 'weave' }, path: 'spec.cluster.network', message: /must be one of flannel, calico-vxlan, calico-bgp, cilium, cloud-routed, got "weave"/ },
    { name: 'unknown proxy', cluster: { serviceProxy: 'ipvs' }, path: 'spec.cluster.serviceProxy', message: /must be one of iptables, nftables, cilium/ },
    { name: 'cilium proxy without cilium', cluster: { serviceProxy: 'cilium' }, path: 'spec.cluster.serviceProxy', message: /needs network: cilium, got network: flannel/ },
    { name: 'backend', cluster: { iptablesBackend: 'xt' }, path: 'spec.cluster.iptablesBackend', message: /must be one of nft, legacy/ },
    { name: 'forward policy', cluster: { forwardPolicy: 'drop' }, path: 'spec.cluster.forwardPolicy', message: /must be one of ACCEPT, DROP/ },
    { name: 'families duplicated', cluster: { ipFamilies: ['IPv4', 'IPv4'] }, path: 'spec.cluster.ipFamilies', message: /must be \[IPv4\], \[IPv6\]/ },
    { name: 'families empty', cluster: { ipFamilies: [] }, path: 'spec.cluster.ipFamilies', message: /must be \[IPv4\]/ },
    { name: 'latency', cluster: { apiLatencyMs: -1 }, path: 'spec.cluster.apiLatencyMs', message: /from 0 to 10000, got -1/ },
    { name: 'pull seconds', cluster: { imagePullSeconds: 1.5 }, path: 'spec.cluster.imagePullSeconds', message: /integer number of seconds/ },
    { name: 'dns port', cluster: { dns: { port: 0 } }, path: 'spec.cluster.dns.port', message: /port number/ },
    { name: 'dns workload kind', cluster: { dns: { workload: { kind: 'StatefulSet', name: 'x' } } }, path: 'spec.cluster.dns.workload.kind', message: /Deployment, DaemonSet/ },
    { name: 'dns domain', cluster: { dns: { domain: 'Cluster.Local' } }, path: 'spec.cluster.dns.domain', message: /DNS-1123 subdomain/ },
    { name: 'dns labels empty', cluster: { dns: { labels: {} } }, path: 'spec.cluster.dns.labels', message: /at least one label/ },
    { name: 'typo', cluster: { netwrok: 'flannel' }, path: 'spec.cluster.netwrok', message: /did you mean "network"/ },
  ])('rejects $name', ({ cluster, path, message }) => {
    const problems = problemsOf(withCluster(cluster));
    expect(problems).toEqual([{ path, message: expect.stringMatching(message) as unknown as string }]);
  });

  it('refuses settings the lab does not build yet rather than ignoring them', () => {
    const built = unbuiltClusterSettings(structuredClone(DEFAULT_CLUSTER) as ScenarioCluster);
    expect(built).toEqual([]);
    // A setting stays refused by name until the lab builds it: each refusal names its field.
    for (const p of unbuiltClusterSettings({ ...structuredClone(DEFAULT_CLUSTER), images: ['a'] } as never)) {
      expect(p.message).toMatch(/not built by this lab yet$/);
    }
  });
});

describe('spec.cluster.dns layout, Windows nodes and pod securityContext', () => {
  const scenario = (spec: Record<string, unknown>): string =>
    stringify({ apiVersion: 'lab.netdebug.dev/v1', kind: 'Scenario', metadata: { name: 'c' }, spec: { nodes: [{ name: 'node-1' }], ...spec } });

  it('reserves the configured DNS Service and DNS pod names instead of kube-dns and coredns', () => {
    const dns = { namespace: 'openshift-dns', service: 'dns-default', workload: { kind: 'DaemonSet', name: 'dns-default' }, labels: { 'dns.operator.openshift.io/daemonset-dns': 'default' }, port: 5353 };
    const ok = parseScenario(scenario({ cluster: { dns }, services: [{ name: 'kube-dns', namespace: 'kube-system', ports: [{ port: 53 }] }] }), 'a.yaml');
    expect(ok.namespaces.map((n) => n.name)).toEqual(['default', 'kube-system', 'openshift-dns']);
    expect(problemsOf(scenario({ cluster: { dns }, services: [{ name: 'dns-default', namespace: 'openshift-dns', ports: [{ port: 53 }] }] }))).toEqual([
      { path: 'spec.services[0].name', message: '"openshift-dns/dns-default" is reserved for the lab\'s cluster DNS Service' },
    ]);
    const [pod] = clusterDnsPods(ok.cluster.dns, ok.nodes);
    expect(pod?.name).toMatch(/^dns-default-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(problemsOf(scenario({ cluster: { dns }, pods: [{ name: pod?.name, namespace: 'openshift-dns', node: 'node-1' }] }))).toEqual([
      { path: 'spec.pods[0].name', message: `"openshift-dns/${pod?.name}" is reserved for the lab's cluster DNS pod` },
    ]);
    // with another layout the default names are free
    expect(() => parseScenario(scenario({ cluster: { dns }, pods: [{ name: 'coredns-6f6b679f8f-k8x2q', namespace: 'kube-system', node: 'node-1' }] }), 'a.yaml')).not.toThrow();
  });

  it('places a DNS Deployment pod on the first Linux node and a DaemonSet pod on every Linux node', () => {
    const nodes = [{ name: 'win-1', os: 'windows' }, { name: 'node-1' }, { name: 'node-2' }];
    const deploy = parseScenario(scenario({ nodes }), 'a.yaml');
    expect(clusterDnsPods(deploy.cluster.dns, deploy.nodes)).toEqual([{ name: 'coredns-6f6b679f8f-k8x2q', node: 'node-1' }]);
    const ds = parseScenario(scenario({ nodes, cluster: { dns: { workload: { kind: 'DaemonSet', name: 'coredns' } } } }), 'a.yaml');
    expect(clusterDnsPods(ds.cluster.dns, ds.nodes).map((p) => p.node)).toEqual(['node-1', 'node-2']);
  });

  it('refuses node faults on Windows nodes and a cluster of Windows nodes only', () => {
    expect(problemsOf(scenario({ nodes: [{ name: 'node-1' }, { name: 'win-1', os: 'windows' }], faults: [{ type: 'ip-forward-off', node: 'win-1' }] }))).toEqual([
      { path: 'spec.faults[0].node', message: 'is on a Windows node, which the lab serves through the API only (it has no data plane to break)' },
    ]);
    expect(problemsOf(scenario({ nodes: [{ name: 'win-1', os: 'windows' }] }))).toEqual([
      { path: 'spec.nodes', message: 'must have at least one Linux node (the cluster DNS and the data plane run on Linux nodes)' },
    ]);
    expect(problemsOf(scenario({ nodes: [{ name: 'n', os: 'macos' }] }))).toEqual([{ path: 'spec.nodes[0].os', message: 'must be one of linux, windows, got "macos"' }]);
  });

  it('validates a pod securityContext', () => {
    const pod = (securityContext: unknown) => scenario({ pods: [{ name: 'app', node: 'node-1', securityContext }] });
    expect(parseScenario(pod({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } }), 'a.yaml').pods[0]?.securityContext).toEqual({
      runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(problemsOf(pod({ runAsNonRoot: true, runAsUser: 0 }))).toEqual([{ path: 'spec.pods[0].securityContext.runAsUser', message: expect.stringMatching(/must be non-zero when runAsNonRoot is true/) as unknown as string }]);
    expect(problemsOf(pod({ runAsUser: -1 }))).toEqual([{ path: 'spec.pods[0].securityContext.runAsUser', message: 'must be a user or group id from 0 to 2147483647, got -1' }]);
    expect(problemsOf(pod({ runAsNonroot: true }))).toEqual([{ path: 'spec.pods[0].securityContext.runAsNonroot', message: 'unknown field, did you mean "runAsNonRoot"?' }]);
    expect(problemsOf(pod({ seccompProfile: { type: 'Localhost' } }))).toEqual([{ path: 'spec.pods[0].securityContext.seccompProfile.localhostProfile', message: 'is required for type Localhost' }]);
  });
});

describe('NodeLocal DNSCache objects', () => {
  it('adds the DaemonSet, its hostNetwork pods and kube-dns-upstream after the scenario’s own ClusterIPs; the fault needs the cache', () => {
    const text = (cluster: unknown, faults: unknown[] = []) => stringify({
      apiVersion: 'lab.netdebug.dev/v1', kind: 'Scenario', metadata: { name: 'c' },
      spec: { cluster, nodes: [{ name: 'node-1' }, { name: 'node-2' }], services: [{ name: 'web', selector: { app: 'web' }, ports: [{ port: 80 }] }], faults },
    });
    const s = parseScenario(text({ dns: { nodeLocalCache: true } }), 'a.yaml');
    const objects = buildClusterObjects(s, { now: new Date(0), uid: () => 'u' });
    const ip = (name: string) => objects.services.find((x) => x.metadata.name === name)?.spec.clusterIP;
    expect([ip('kube-dns'), ip('web'), ip('kube-dns-upstream'), ip('node-local-dns')]).toEqual(['10.96.0.10', '10.96.0.2', '10.96.0.3', 'None']);
    const cache = objects.pods.filter((p) => p.metadata.labels?.['k8s-app'] === 'node-local-dns');
    expect(cache.map((p) => [p.spec.nodeName, p.spec.hostNetwork, p.status?.podIP])).toEqual([['node-1', true, '172.31.0.11'], ['node-2', true, '172.31.0.12']]);
    expect(objects.workloads.map((w) => `${w.kind}/${w.metadata.name}`)).toEqual(['Deployment/coredns', 'DaemonSet/node-local-dns']);
    expect(problemsOf(text({}, [{ type: 'node-local-dns-down', node: 'node-2' }]))).toEqual([
      { path: 'spec.faults[0].type', message: 'needs spec.cluster.dns.nodeLocalCache: true (there is no node-local DNS cache to stop)' },
    ]);
  });
});
