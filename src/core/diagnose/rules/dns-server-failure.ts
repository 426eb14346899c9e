/**
 * DNS_SERVER_FAILURE (seed 002, CoreDNS errors; seed 001, CoreDNS): the cluster DNS answers with an error (SERVFAIL,
 * REFUSED): it is reachable and running but cannot resolve (upstream, Corefile, plugins). An error that a missing
 * record already explains (the search path falling through to the bare name) is that finding's symptom instead.
 */
import { describeObservation } from '../describe.ts';
import type { DiagnosisContext } from '../context.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite } from '../rule.ts';
import { dnsApplies, dnsCorefileHint, dnsLogsHint, dnsServiceName } from './dns-common.ts';

function find(ctx: DiagnosisContext): RuleFinding[] {
  const { dns } = ctx;
  if (!dnsApplies(ctx)) return [];
  const explained = dns.directNx.length > 0 ? dns.errors.filter((r) => dns.search.includes(r)) : [];
  const serverErrors = dns.errors.filter((r) => !explained.includes(r));
  if (serverErrors.length === 0) return [];
  return [
    {
      cause: 'DNS_SERVER_FAILURE',
      status: 'broken',
      summary: `the cluster DNS (${dnsServiceName(ctx)}) answers with an error (${[...new Set(serverErrors.map((r) => describeObservation(r.observation, r.spec.action)))].join(', ')})`,
      citations: cite('cause', serverErrors),
      hints: [dnsLogsHint(ctx), dnsCorefileHint(ctx)],
    },
  ];
}

/** The rule. */
export const rule: Rule = { cause: 'DNS_SERVER_FAILURE', layer: 'ladder', find };
