/** DNS_INTERMITTENT_TIMEOUT's finding: what it says, where, what it cites and which fixes it gives. */
import { describe, expect, it } from 'vitest';
import { decideVerdict } from '../../src/core/diagnose/index.ts';
import { clusterIp, dnsDirect, dnsSearch, healthyChecks, input, podIp, sampledLookup } from './verdict-cases.ts';

const ok = { kind: 'connected' } as const;

describe('DNS_INTERMITTENT_TIMEOUT', () => {
  it('counts the lost lookups, names the source node, cites the losses and one answer of each lookup, gives seed 002 fixes', () => {
    const search = sampledLookup(dnsSearch, 10, 3);
    const direct = sampledLookup(dnsDirect, 10, 2);
    const { verdict } = decideVerdict(input({ observations: [...search, ...direct, clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }));
    expect(verdict).toMatchObject({ cause: 'DNS_INTERMITTENT_TIMEOUT', status: 'degraded', component: 'dns', node: 'node-1' });
    expect(verdict.summary).toBe(
      '5 of 20 DNS lookups of web.shop.svc.cluster.local were lost (5 timed out) while the DNS server answered the others: lookups fail now and then (the conntrack race, or DNS packets lost on node node-1)',
    );
    const lost = [...search.slice(7), ...direct.slice(8)].map((r) => ({ probe: r.spec.id, role: 'cause' }));
    expect(verdict.citations).toEqual([...lost, { probe: search[0]?.spec.id, role: 'reference' }, { probe: direct[0]?.spec.id, role: 'reference' }]);
    expect(verdict.evidence[0]).toBe('5/20 lookups lost (5 timed out), 15 answered in time');
    const hints = verdict.hints.join('\n');
    for (const fix of ['single-request-reopen', 'NodeLocal DNSCache', 'use-vc', 'on node node-1: conntrack -S']) expect(hints).toContain(fix);
  });

  it('says so when the lookups were answered, but only after 5 s', () => {
    const { verdict } = decideVerdict(input({ observations: [...sampledLookup(dnsSearch, 10, 0, { slow: 3 }), clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() }));
    expect(verdict.cause).toBe('DNS_INTERMITTENT_TIMEOUT');
    expect(verdict.summary).toMatch(/^3 of 10 DNS lookups of web\.shop\.svc\.cluster\.local were lost \(3 answered only after 5 s or more\)/);
  });

  it('needs both bounds: 2 lost, and 10% of the lookups that ran', () => {
    const cause = (obs: ReturnType<typeof sampledLookup>) => decideVerdict(input({ observations: [...obs, clusterIp(ok), podIp(ok)], nodeChecks: healthyChecks() })).findings.map((f) => f.cause);
    expect(cause(sampledLookup(dnsSearch, 5, 1))).not.toContain('DNS_INTERMITTENT_TIMEOUT'); // 20% but only 1
    expect(cause(sampledLookup(dnsSearch, 5, 2))).toContain('DNS_INTERMITTENT_TIMEOUT'); // 2, 40%
    expect(cause(sampledLookup(dnsSearch, 30, 2))).not.toContain('DNS_INTERMITTENT_TIMEOUT'); // 2 but under 10%
    expect(cause(sampledLookup(dnsSearch, 20, 2))).toContain('DNS_INTERMITTENT_TIMEOUT'); // 2, exactly 10%
  });
});
