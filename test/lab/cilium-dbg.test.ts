/**
 * The lab's `cilium-dbg service list` against the agent's real output (a kind cluster's, as published with Cilium's
 * kube-proxy replacement walkthroughs): same columns, widths and backend notation.
 */
import { describe, expect, it } from 'vitest';
import { renderServiceList, runCiliumDbg, tabwrite } from './cilium-dbg.ts';

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

  it('answers only the service list, with an error for other subcommands', () => {
    expect(runCiliumDbg(['service', 'list'], []).exitCode).toBe(0);
    const other = runCiliumDbg(['status'], []);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toMatch(/answers only "service list"/);
  });
});
