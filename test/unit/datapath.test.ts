/** Datapath detection: what the API shows, confirmed by the nodes' interfaces; unsure rather than guessed. */
import { describe, expect, it } from 'vitest';
import { confirmFromChecks, confirmOnNodes, describeDatapath, detectFromApi, type DatapathApiFacts, type NodeRuleCheck } from '../../src/core/datapath.ts';
import type { NodeLink } from '../../src/core/model.ts';

const api = (over: Partial<DatapathApiFacts>): DatapathApiFacts => ({ daemonSets: [], unreadable: [], ...over });
const link = (name: string, type?: string, extra: Partial<NodeLink> = {}): NodeLink => ({ name, mtu: 1500, ...(type ? { type } : {}), ...extra });

describe('detectFromApi', () => {
  it.each([
    { name: 'Calico (Tigera operator) with kube-proxy nftables', facts: api({ daemonSets: ['calico-system/calico-node', 'kube-system/kube-proxy'], kubeProxy: { mode: 'nftables' } }), network: 'calico', proxy: 'nftables' },
    { name: 'flannel with kube-proxy default mode', facts: api({ daemonSets: ['kube-flannel/kube-flannel-ds', 'kube-system/kube-proxy'], kubeProxy: { mode: '' } }), network: 'flannel', proxy: 'iptables' },
    { name: 'EKS VPC CNI with IPVS', facts: api({ daemonSets: ['kube-system/aws-node', 'kube-system/kube-proxy'], kubeProxy: { mode: 'ipvs' } }), network: 'cloud-routed', proxy: 'ipvs' },
    { name: 'Cilium replacing kube-proxy', facts: api({ daemonSets: ['kube-system/cilium'], ciliumKubeProxyReplacement: 'true' }), network: 'cilium', proxy: 'cilium' },
  ])('$name', ({ facts, network, proxy }) => {
    const d = detectFromApi(facts);
    expect({ network: d.network, proxy: d.serviceProxy }).toEqual({ network, proxy });
    expect(d.evidence.length).toBeGreaterThan(0);
  });

  it('says what it could not read instead of guessing', () => {
    const d = detectFromApi(api({ unreadable: ['calico-system (forbidden)'], kubeProxy: { error: 'forbidden' } }));
    expect(d).toMatchObject({ network: 'unknown', serviceProxy: 'unknown' });
    expect(d.unsure).toEqual(['DaemonSets not readable in calico-system (forbidden)', "kube-proxy's ConfigMap could not be read: forbidden"]);
  });

  it('an unknown kube-proxy mode is unsure, not iptables', () => {
    expect(detectFromApi(api({ kubeProxy: { mode: 'kernelspace' } })).serviceProxy).toBe('unknown');
  });
});

describe('confirmOnNodes', () => {
  const flannelNode = [link('eth0', 'veth'), link('cni0', 'bridge'), link('flannel.1', 'vxlan', { vxlanPort: 8472 })];
  it('the nodes name the network the API could not (the lab serves no flannel DaemonSet)', () => {
    const d = confirmOnNodes(detectFromApi(api({})), [{ node: 'node-1', links: flannelNode }]);
    expect(d.network).toBe('flannel');
    expect(d.evidence).toContain('node node-1: flannel.1 (vxlan port 8472)');
  });

  it.each([
    { links: [link('vxlan.calico', 'vxlan', { vxlanPort: 4789 }), link('cali1234567890a', 'veth')], network: 'calico-vxlan' },
    { links: [link('tunl0', 'ipip'), link('cali1234567890a', 'veth')], network: 'calico-ipip' },
    { links: [link('cali1234567890a', 'veth')], network: 'calico-bgp' },
  ])('Calico’s encapsulation from the node: $network', ({ links, network }) => {
    const d = confirmOnNodes(detectFromApi(api({ daemonSets: ['calico-system/calico-node'] })), [{ node: 'n', links }]);
    expect(d.network).toBe(network);
    expect(d.unsure).toEqual(['no kube-proxy DaemonSet or ConfigMap in kube-system']);
  });

  it('kube-ipvs0 on a node means IPVS, and a disagreement is said', () => {
    const d = confirmOnNodes(detectFromApi(api({ kubeProxy: { mode: 'iptables' } })), [{ node: 'n', links: [...flannelNode, link('kube-ipvs0', 'dummy')] }]);
    expect(d.serviceProxy).toBe('ipvs');
    expect(d.unsure).toContain('kube-ipvs0 exists but the API says iptables: going by the nodes');
  });

  it('nodes that disagree leave the network as the API said, and say so', () => {
    const d = confirmOnNodes(detectFromApi(api({})), [
      { node: 'a', links: flannelNode },
      { node: 'b', links: [link('cilium_host', 'veth')] },
    ]);
    expect(d.network).toBe('unknown');
    expect(d.unsure).toContain('the nodes disagree on the network: flannel, cilium');
  });

  it('describes itself in one line', () => {
    const d = confirmOnNodes(detectFromApi(api({ kubeProxy: { mode: 'nftables' } })), [{ node: 'n', links: flannelNode }]);
    expect(describeDatapath(d)).toBe('flannel · kube-proxy nftables');
  });
});

describe('confirmFromChecks', () => {
  const nat = (over: Partial<Extract<NodeRuleCheck['observation'], { kind: 'nat-rules' }>>): NodeRuleCheck => ({
    node: 'node-1',
    observation: { kind: 'nat-rules', clusterIP: '10.96.0.2', port: 80, present: true, endpoints: ['10.244.2.2:8080'], ...over },
  });
  const fwd = (node: string, backend: 'nft' | 'legacy'): NodeRuleCheck => ({ node, observation: { kind: 'forward-policy', policy: 'ACCEPT', verdict: 'accept', backend } });

  it("takes the backend that held kube-proxy's rules over the FORWARD chain's", () => {
    const d = confirmFromChecks(detectFromApi(api({ kubeProxy: { mode: 'iptables' } })), [nat({ proxy: 'iptables', backend: 'legacy' }), fwd('node-1', 'nft')]);
    expect(d).toMatchObject({ serviceProxy: 'iptables', iptablesBackend: 'legacy' });
    expect(d.evidence).toContain("node node-1: kube-proxy's rules in iptables-legacy");
  });

  it("takes the FORWARD chain's backend when kube-proxy writes no iptables rules (nftables mode), and says when nodes disagree", () => {
    expect(confirmFromChecks(detectFromApi(api({ kubeProxy: { mode: 'nftables' } })), [nat({ proxy: 'nftables' }), fwd('node-1', 'nft'), fwd('node-2', 'nft')])).toMatchObject({ iptablesBackend: 'nft' });
    const split = confirmFromChecks(detectFromApi(api({ kubeProxy: { mode: 'nftables' } })), [fwd('node-1', 'nft'), fwd('node-2', 'legacy')]);
    expect(split.iptablesBackend).toBe('unknown');
    expect(split.unsure).toContain('the nodes keep their FORWARD rules in different iptables backends');
  });

  it('names a proxy the API left unknown from the rules the search found, and leaves a known one alone', () => {
    expect(confirmFromChecks(detectFromApi(api({})), [nat({ proxy: 'nftables' })]).serviceProxy).toBe('nftables');
    expect(confirmFromChecks(detectFromApi(api({ kubeProxy: { mode: 'ipvs' } })), [nat({ proxy: 'iptables', backend: 'nft' })]).serviceProxy).toBe('ipvs');
    // The policy-only reading (no proxy) settles nothing.
    expect(confirmFromChecks(detectFromApi(api({})), [nat({})])).toMatchObject({ serviceProxy: 'unknown', iptablesBackend: 'unknown' });
  });
});

describe('confirmFromChecks', () => {
  it('kube-proxy rules found on the node settle what the API could not show (static kube-proxy pods): no stale unsure note', () => {
    const api = detectFromApi({ daemonSets: [], unreadable: [] });
    expect(api.unsure).toEqual(['no kube-proxy DaemonSet or ConfigMap in kube-system']);
    const d = confirmFromChecks(api, [{ node: 'node-1', observation: { kind: 'nat-rules', clusterIP: '10.96.0.2', port: 80, present: true, endpoints: ['10.244.2.2:8080'], proxy: 'iptables', backend: 'nft' } }]);
    expect({ proxy: d.serviceProxy, backend: d.iptablesBackend, unsure: d.unsure }).toEqual({ proxy: 'iptables', backend: 'nft', unsure: [] });
    expect(d.evidence).toContain("node node-1: kube-proxy's rules in iptables-nft");
  });

  it('a node without the rules leaves the API’s note standing', () => {
    const api = detectFromApi({ daemonSets: [], unreadable: [] });
    const d = confirmFromChecks(api, [{ node: 'node-1', observation: { kind: 'nat-rules', clusterIP: '10.96.0.2', port: 80, present: false, endpoints: [], proxy: 'nftables' } }]);
    expect(d.unsure).toContain('no kube-proxy DaemonSet or ConfigMap in kube-system');
  });
});
