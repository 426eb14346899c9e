/**
 * DNS_SERVER_UNRESPONSIVE (seed 002: CoreDNS pods running but lookups time out; seed 001, CoreDNS): the DNS pods are
 * Ready, yet nothing listens on their DNS port (ICMP port unreachable: the pod itself answered, so not the network) or
 * they do not answer at all while no node fault explains the silence.
 */
import { formatObjectRef } from '../../model.ts';
import type { DiagnosisContext } from '../context.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite, hasRoot } from '../rule.ts';
import { dnsApplies, dnsLogsHint, dnsRestartHint, dnsServiceName } from './dns-common.ts';

function find(ctx: DiagnosisContext, prior: readonly RuleFinding[]): RuleFinding[] {
  const { dns } = ctx;
  if (!dnsApplies(ctx)) return [];
  const timeoutsUnexplained = dns.timeouts.length > 0 && !hasRoot(prior);
  if (dns.closed.length === 0 && !timeoutsUnexplained) return [];
  const silent = dns.closed.length > 0 ? dns.closed : dns.timeouts;
  // One DNS pod asked several times (`--samples`) is still one pod.
  const about = [...new Map(dns.direct.filter((r) => silent.includes(r)).flatMap((r) => (r.spec.about ? [[formatObjectRef(r.spec.about), r.spec.about] as const] : []))).values()];
  const single = about.length === 1 ? about[0] : undefined;
  return [
    {
      cause: 'DNS_SERVER_UNRESPONSIVE',
      status: 'broken',
      ...(single ? { object: formatObjectRef(single) } : {}),
      summary:
        dns.closed.length > 0
          ? `the DNS pods of ${dnsServiceName(ctx)} are Ready but nothing listens on their DNS port`
          : `the DNS pods of ${dnsServiceName(ctx)} are Ready but do not answer queries`,
      citations: cite('cause', silent),
      hints: [dnsLogsHint(ctx), dnsRestartHint(ctx)],
    },
  ];
}

/** The rule. */
export const rule: Rule = { cause: 'DNS_SERVER_UNRESPONSIVE', layer: 'ladder', find };
