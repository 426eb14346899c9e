import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_CLUSTER, type ScenarioCluster } from './model.ts';
import { parseScenario, ScenarioError, unbuiltClusterSettings, type ScenarioProblem } from './scenario.ts';

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
