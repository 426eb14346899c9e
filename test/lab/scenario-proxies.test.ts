import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_CLUSTER, type ScenarioCluster } from './model.ts';
import { parseScenario, ScenarioError, unbuiltClusterSettings, type ScenarioProblem } from './scenario.ts';

/** A small scenario with the given spec.cluster and services. */
function scenario(cluster: unknown, services: unknown[] = []): string {
  return stringify({
    apiVersion: 'lab.netdebug.dev/v1',
    kind: 'Scenario',
    metadata: { name: 'p' },
    spec: { nodes: [{ name: 'node-1' }], ...(cluster === undefined ? {} : { cluster }), services },
  });
}

function problemsOf(text: string): ScenarioProblem[] {
  try {
    parseScenario(text, 'p.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as ScenarioError).problems;
  }
  return [];
}

describe('spec.cluster proxy settings the lab builds', () => {
  it.each([
    { serviceProxy: 'nftables' },
    { iptablesBackend: 'legacy' },
    { forwardPolicy: 'DROP' },
    { serviceProxy: 'nftables', iptablesBackend: 'legacy', forwardPolicy: 'DROP' },
  ])('accepts %o', (cluster) => {
    expect(problemsOf(scenario(cluster))).toEqual([]);
    expect(parseScenario(scenario(cluster), 'p.yaml').cluster).toEqual({ ...structuredClone(DEFAULT_CLUSTER), ...cluster });
  });

  it('builds every proxy with its network, and still refuses, by name, what it does not build (Cilium under FORWARD DROP)', () => {
    const c = (over: Partial<ScenarioCluster>): ScenarioCluster => ({ ...(structuredClone(DEFAULT_CLUSTER) as ScenarioCluster), ...over });
    expect(unbuiltClusterSettings(c({ serviceProxy: 'nftables', iptablesBackend: 'legacy', forwardPolicy: 'DROP' }))).toEqual([]);
    expect(unbuiltClusterSettings(c({ network: 'cilium', serviceProxy: 'cilium' }))).toEqual([]);
    expect(unbuiltClusterSettings(c({ network: 'cilium', forwardPolicy: 'DROP' })).map((p) => p.path)).toEqual(['spec.cluster.forwardPolicy']);
    expect(problemsOf(scenario({ network: 'cilium', forwardPolicy: 'DROP' }))).toContainEqual({ path: 'spec.cluster.forwardPolicy', message: '"DROP with network cilium" is valid but not built by this lab yet' });
  });
});

describe('spec.services[].internalTrafficPolicy', () => {
  const svc = (extra: Record<string, unknown>) => ({ name: 'web', selector: { app: 'web' }, ports: [{ port: 80 }], ...extra });

  it('is absent by default and kept when given', () => {
    expect(parseScenario(scenario(undefined, [svc({})]), 'p.yaml').services[0]?.internalTrafficPolicy).toBeUndefined();
    expect(parseScenario(scenario(undefined, [svc({ internalTrafficPolicy: 'Local' })]), 'p.yaml').services[0]?.internalTrafficPolicy).toBe('Local');
    expect(parseScenario(scenario(undefined, [svc({ internalTrafficPolicy: 'Cluster' })]), 'p.yaml').services[0]?.internalTrafficPolicy).toBe('Cluster');
  });

  it('rejects other values and ExternalName Services', () => {
    expect(problemsOf(scenario(undefined, [svc({ internalTrafficPolicy: 'local' })]))).toEqual([
      { path: 'spec.services[0].internalTrafficPolicy', message: 'must be one of Cluster, Local, got "local"' },
    ]);
    expect(problemsOf(scenario(undefined, [{ name: 'ext', type: 'ExternalName', externalName: 'example.com', internalTrafficPolicy: 'Local' }]))).toEqual([
      { path: 'spec.services[0].internalTrafficPolicy', message: 'is not allowed for type ExternalName (it has no ClusterIP to route)' },
    ]);
  });
});
