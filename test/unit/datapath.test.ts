/** Datapath detection: what the API shows, confirmed by the nodes' interfaces; unsure rather than guessed. */
import { describe, expect, it } from 'vitest';
import { confirmOnNodes, describeDatapath, detectFromApi, type DatapathApiFacts } from '../../src/core/datapath.ts';
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
