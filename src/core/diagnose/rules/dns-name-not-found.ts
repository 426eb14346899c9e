/**
 * DNS_NAME_NOT_FOUND (seed 002, CoreDNS: resolving a Service name fails; seed 001, CoreDNS): the cluster DNS answers
 * NXDOMAIN. Asked directly, a DNS pod's NXDOMAIN for an existing Service means its record is missing (CoreDNS not
 * synced); a name that resolves directly but not through the search path is the pod's resolv.conf (search/ndots). A
 * search-path error that follows from the missing record (the bare name falling through upstream) is its symptom.
 */
import type { DiagnosisContext } from '../context.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite } from '../rule.ts';
import { dnsApplies, dnsLogsHint, dnsRestartHint, dnsServiceName, lookedUpName, sourceExec } from './dns-common.ts';

function find(ctx: DiagnosisContext): RuleFinding[] {
  const { dns } = ctx;
  if (!dnsApplies(ctx) || dns.nx.length === 0) return [];
  const dest = ctx.targets.destination;
  const name = lookedUpName(ctx);
  const directPasses = ctx.passing(dns.direct);
  const searchNx = dns.nx.some((r) => dns.search.includes(r));
  const recordMissing = dns.directNx.length > 0 && dest.kind === 'service';
  const searchErrorsExplained = dns.directNx.length > 0 ? dns.errors.filter((r) => dns.search.includes(r)) : [];
  return [
    {
      cause: 'DNS_NAME_NOT_FOUND',
      status: 'broken',
      ...(recordMissing ? { object: `Service/${dest.namespace}/${dest.name}` } : {}),
      summary:
        directPasses.length > 0 && searchNx
          ? `${name} resolves when asked directly, but not through the source pod's search path (resolv.conf search/ndots)`
          : recordMissing
            ? `the cluster DNS (${dnsServiceName(ctx)}) answers NXDOMAIN for ${name} although the Service exists: its record is missing`
            : `the cluster DNS (${dnsServiceName(ctx)}) answers NXDOMAIN for ${name}`,
      citations: [
        ...cite('cause', dns.nx),
        ...cite('reference', directPasses),
        // The search path and ndots the name went through, when it is the search path that fails.
        ...(searchNx && !recordMissing && dns.resolvConf ? cite('reference', [dns.resolvConf]) : []),
        ...cite('symptom', searchErrorsExplained),
      ],
      hints: recordMissing
        ? [
            `${dnsLogsHint(ctx)} (look for errors listing or watching Services and EndpointSlices)`,
            `check that CoreDNS may list/watch services and endpointslices (ClusterRole system:coredns), then: ${dnsRestartHint(ctx)}`,
          ]
        : [
            `${sourceExec(ctx)} cat /etc/resolv.conf`,
            'check the cluster domain and search list (kubelet --cluster-domain, dnsPolicy, dnsConfig) and the CoreDNS kubernetes plugin zone',
          ],
    },
  ];
}

/** The rule. */
export const rule: Rule = { cause: 'DNS_NAME_NOT_FOUND', layer: 'ladder', find };
