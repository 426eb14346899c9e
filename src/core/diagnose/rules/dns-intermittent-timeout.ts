/**
 * DNS_INTERMITTENT_TIMEOUT (seed 002, "Slow DNS resolution": the conntrack race makes lookups take 5 s now and then;
 * seed 003, packets lost on the way): with the DNS rung sampled (`--samples`), some lookups of a name time out, or are
 * answered only after 5 s, while the same DNS server answers the other samples at once. A real share is needed (at
 * least MIN_LOST lookups and MIN_LOST_SHARE of those that ran), so one lookup lost on a busy but healthy cluster is no
 * fault; a DNS that answers nothing stays DNS_SERVER_UNRESPONSIVE, and a fault that stops traffic by itself (a root)
 * explains the losses instead.
 */
import { SLOW_LOOKUP_MS, type DiagnosisContext } from '../context.ts';
import { sampleGroupId, type ProbeResult } from '../../model.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite, hasRoot } from '../rule.ts';
import { lookedUpName, sourceExec } from './dns-common.ts';

/** The fewest lost lookups that make the fault (one can go astray anywhere). */
export const MIN_LOST = 2;
/** The smallest share of the lookups that ran that must be lost. */
export const MIN_LOST_SHARE = 0.1;

function find(ctx: DiagnosisContext, prior: readonly RuleFinding[]): RuleFinding[] {
  const { dns } = ctx;
  if (ctx.hasStatic('DNS_NO_ENDPOINTS') || hasRoot(prior)) return [];
  const lost = dns.intermittent;
  if (lost.length < MIN_LOST || lost.length < MIN_LOST_SHARE * dns.ran.length) return [];
  const timedOut = lost.filter((r) => r.observation.kind === 'dns-timeout').length;
  const slow = lost.length - timedOut;
  const nodes = [...new Set(lost.map((r) => ctx.nodeOf(r)))];
  const node = nodes.length === 1 ? nodes[0] : undefined;
  // One answered sample of each lookup that lost some: the server does answer it.
  const lostGroups = new Set(lost.map((r) => sampleGroupId(r.spec)));
  const references: ProbeResult[] = [];
  for (const r of dns.answered) {
    if (!lostGroups.has(sampleGroupId(r.spec)) || dns.slow.includes(r) || references.some((x) => sampleGroupId(x.spec) === sampleGroupId(r.spec))) continue;
    references.push(r);
  }
  const how = [timedOut > 0 ? `${timedOut} timed out` : '', slow > 0 ? `${slow} answered only after ${SLOW_LOOKUP_MS / 1000} s or more` : ''].filter(Boolean).join(' and ');
  const name = lookedUpName(ctx);
  return [
    {
      cause: 'DNS_INTERMITTENT_TIMEOUT',
      status: 'degraded',
      ...(node ? { node } : {}),
      summary: `${lost.length} of ${dns.ran.length} DNS lookups of ${name} were lost (${how}) while the DNS server answered the others: lookups fail now and then (the conntrack race, or DNS packets lost${node ? ` on node ${node}` : ''})`,
      facts: [`${lost.length}/${dns.ran.length} lookups lost (${how}), ${dns.answered.length - slow} answered in time`],
      citations: [...cite('cause', lost), ...cite('reference', references)],
      hints: [
        `avoid the conntrack race on A and AAAA queries sharing a socket: add to the pod spec dnsConfig: {options: [{name: single-request-reopen}]} (glibc; no effect on Alpine/musl)`,
        'deploy NodeLocal DNSCache, so pods ask a cache on their own node without DNAT: https://kubernetes.io/docs/tasks/administer-cluster/nodelocaldns/',
        `or resolve over TCP: dnsConfig: {options: [{name: use-vc}]}`,
        ...(node ? [`on node ${node}: conntrack -S (a growing insert_failed count is the race); iptables-save | grep -- '--dport 53' (a rule dropping DNS)`] : []),
        `measure again: ${sourceExec(ctx)} sh -c 'for i in $(seq 50); do dig +time=2 +tries=1 +search ${name} | grep -E "Query time|timed out"; done'`,
      ],
    },
  ];
}

/** The rule. */
export const rule: Rule = { cause: 'DNS_INTERMITTENT_TIMEOUT', layer: 'ladder', find };
