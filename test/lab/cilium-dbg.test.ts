/**
 * The lab's `cilium-dbg service list` against the agent's real output (a kind cluster's, as published with Cilium's
 * kube-proxy replacement walkthroughs): same columns, widths and backend notation.
 */
import { describe, expect, it } from 'vitest';
import { renderBpfLbList, renderServiceList, renderStatus, runCiliumDbg, tabwrite } from './cilium-dbg.ts';

describe('cilium-dbg service list', () => {
  it('renders exactly as the agent does', () => {
    const real = [
      'ID   Frontend              Service Type   Backend',
      '1    10.96.0.1:443/TCP     ClusterIP      1 => 172.18.0.2:6443/TCP (active)',
      '2    10.96.0.10:53/UDP     ClusterIP      1 => 10.244.0.143:53/UDP (active)',
      '                                          2 => 10.244.0.201:53/UDP (active)',
      '5    10.96.120.15:80/TCP   ClusterIP      1 => 10.244.1.5:8080/TCP (active)',
      '                                          2 => 10.244.2.7:8080/TCP (active)',
      '                                          3 => 10.244.2.8:8080/TCP (active)',
      '',
    ].join('\n');
    expect(
      renderServiceList([
        { id: 1, address: '10.96.0.1', port: 443, protocol: 'TCP', type: 'ClusterIP', backends: [{ address: '172.18.0.2', port: 6443 }] },
        { id: 2, address: '10.96.0.10', port: 53, protocol: 'UDP', type: 'ClusterIP', backends: [{ address: '10.244.0.143', port: 53 }, { address: '10.244.0.201', port: 53 }] },
        { id: 5, address: '10.96.120.15', port: 80, protocol: 'TCP', type: 'ClusterIP', backends: ['10.244.1.5', '10.244.2.7', '10.244.2.8'].map((address) => ({ address, port: 8080 })) },
      ]),
    ).toBe(real);
  });

  it('numbers frontends from 1 and leaves the backend empty when none is ready', () => {
    expect(renderServiceList([{ address: '10.96.0.9', port: 80, protocol: 'TCP', type: 'ClusterIP', backends: [] }])).toBe(
      'ID   Frontend           Service Type   Backend\n1    10.96.0.9:80/TCP   ClusterIP      \n',
    );
  });

  it('pads every column but the last to its widest cell + 3, at least 5', () => {
    expect(tabwrite([['a', 'bb', 'c'], ['dddddd', '', 'e']])).toBe('a        bb   c\ndddddd        e\n');
    expect(tabwrite([['a', 'b'], ['c', '']])).toBe('a    b\nc    \n');
  });

  it('bpf lb list: a slot per backend with the service ID as REVNAT_ID, as the agent prints them, and the master entry', () => {
    const out = renderBpfLbList([{ id: 7, address: '10.96.143.21', port: 80, protocol: 'TCP', type: 'ClusterIP', backends: ['10.244.1.47', '10.244.2.12', '10.244.2.88'].map((address) => ({ address, port: 8080 })) }]);
    // The agent's real lines for such a Service (its master entry prints elsewhere in the map's order).
    const real = [
      'SERVICE ADDRESS          BACKEND ADDRESS (REVNAT_ID) (SLOT)',
      '10.96.143.21:80/TCP (1)  10.244.1.47:8080/TCP (7) (1)',
      '10.96.143.21:80/TCP (2)  10.244.2.12:8080/TCP (7) (2)',
      '10.96.143.21:80/TCP (3)  10.244.2.88:8080/TCP (7) (3)',
    ];
    const lines = out.split('\n');
    expect(lines.filter((l) => !l.includes(' (0) '))).toEqual([...real, '']);
    expect(lines).toContain('10.96.143.21:80/TCP (0)  0.0.0.0:0 (7) (0) [ClusterIP, non-routable]');
  });

  it('status: the summary lines in the agent\'s layout', () => {
    const out = renderStatus({ kubernetesVersion: 'v1.32.0', ciliumVersion: 'v1.16.5', kubeProxyReplacement: true, device: 'eth0', nodeIP: '172.31.0.11', podCIDR: '10.244.1.0/24', allocated: 4, nodesReachable: 3, nodes: 3 }).split('\n');
    expect(out).toContain('Routing:                 Network: Tunnel [vxlan]   Host: Legacy');
    expect(out).toContain('Masquerading:            IPTables [IPv4: Enabled, IPv6: Disabled]');
    expect(out).toContain('KubeProxyReplacement:    True   [eth0   172.31.0.11 (Direct Routing)]');
    expect(out).toContain('IPAM:                    IPv4: 4/254 allocated from 10.244.1.0/24, ');
    expect(out).toContain('Cluster health:          3/3 reachable');
    expect(renderStatus({ kubernetesVersion: 'v1.32.0', ciliumVersion: 'v1.16.5', kubeProxyReplacement: false, device: 'eth0', nodeIP: '172.31.0.11', podCIDR: '10.244.1.0/24', allocated: 1, nodesReachable: 2, nodes: 3 })).toContain('KubeProxyReplacement:    False\n');
  });

  it('answers service list, bpf lb list and status, with an error for other subcommands', () => {
    expect(runCiliumDbg(['service', 'list'], []).exitCode).toBe(0);
    expect(runCiliumDbg(['bpf', 'lb', 'list'], []).exitCode).toBe(0);
    const other = runCiliumDbg(['endpoint', 'list'], []);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toMatch(/answers only "service list", "bpf lb list" and "status"/);
  });
});
