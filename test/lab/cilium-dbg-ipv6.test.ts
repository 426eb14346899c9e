/**
 * cilium-dbg's IPv6 frontends and backends on a dual-stack cluster: `[addr]:port` as the agent's L3n4Addr prints them,
 * and `[::]:0` as the master entry's backend in `bpf lb list`; IPv4 rows stay as they were.
 */
import { describe, expect, it } from 'vitest';
import { hostPort, renderBpfLbList, renderServiceList, type CiliumFrontend } from './cilium-dbg.ts';

const FRONTENDS: CiliumFrontend[] = [
  { address: '10.96.0.2', port: 80, protocol: 'TCP', type: 'ClusterIP', backends: [{ address: '10.244.2.2', port: 8080 }] },
  { address: 'fd00:10:96::2', port: 80, protocol: 'TCP', type: 'ClusterIP', backends: [{ address: 'fd00:10:244:2::2', port: 8080 }, { address: 'fd00:10:244:1::4', port: 8080 }] },
];

describe('cilium-dbg with IPv6 frontends', () => {
  it('brackets IPv6 addresses only', () => {
    expect(hostPort('10.96.0.2', 80)).toBe('10.96.0.2:80');
    expect(hostPort('fd00:10:96::2', 80)).toBe('[fd00:10:96::2]:80');
  });

  it('lists IPv6 frontends next to the IPv4 ones in service list', () => {
    expect(renderServiceList(FRONTENDS).split('\n')).toEqual([
      'ID   Frontend                 Service Type   Backend',
      '1    10.96.0.2:80/TCP         ClusterIP      1 => 10.244.2.2:8080/TCP (active)',
      '2    [fd00:10:96::2]:80/TCP   ClusterIP      1 => [fd00:10:244:2::2]:8080/TCP (active)',
      '                                             2 => [fd00:10:244:1::4]:8080/TCP (active)',
      '',
    ]);
  });

  it('writes the IPv6 master entry with [::]:0 in bpf lb list', () => {
    const out = renderBpfLbList(FRONTENDS);
    expect(out).toMatch(/^\[fd00:10:96::2\]:80\/TCP \(0\)\s+\[::\]:0 \(2\) \(0\) \[ClusterIP, non-routable\]$/m);
    expect(out).toMatch(/^\[fd00:10:96::2\]:80\/TCP \(2\)\s+\[fd00:10:244:1::4\]:8080\/TCP \(2\) \(2\)$/m);
    expect(out).toMatch(/^10\.96\.0\.2:80\/TCP \(0\)\s+0\.0\.0\.0:0 \(1\) \(0\) \[ClusterIP, non-routable\]$/m);
  });
});
