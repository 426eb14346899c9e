/**
 * NODE_LOCAL_DNS_DOWN (the lab's node-local-dns-down fault; upstream's NodeLocal DNSCache docs: pods on a node whose
 * node-cache stopped cannot resolve while CoreDNS is healthy): the source's resolv.conf points at the cache's link-local
 * address, the lookups through it fail, and a DNS pod of its upstream asked directly from the same pod answers. So the
 * network and the cluster DNS work: the cache on the source's node is at fault.
 */
import { formatObjectRef } from '../../model.ts';
import type { DiagnosisContext } from '../context.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite } from '../rule.ts';

function find(ctx: DiagnosisContext): RuleFinding[] {
  const cache = ctx.dns.cache;
  const local = ctx.dnsResolution?.nodeLocal;
  if (!cache?.down || !local) return [];
  const fails = ctx.failing(cache.lookups);
  const answers = ctx.passing(cache.upstream);
  const pod = local.pod;
  const upstream = ctx.dnsServer;
  return [
    {
      cause: 'NODE_LOCAL_DNS_DOWN',
      status: 'broken',
      node: local.node,
      ...(pod ? { object: formatObjectRef(pod) } : {}),
      summary: `the NodeLocal DNSCache on node ${local.node} (${local.address}) does not answer, while the cluster DNS ${upstream.namespace}/${upstream.name} answers directly`,
      facts: [`the source's resolv.conf names nameserver ${local.address} (NodeLocal DNSCache)`],
      citations: [...cite('cause', fails), ...cite('reference', answers)],
      hints: pod
        ? [
            `kubectl -n ${pod.namespace ?? 'kube-system'} logs ${pod.name} (node-cache's own errors)`,
            `kubectl -n ${pod.namespace ?? 'kube-system'} delete pod ${pod.name} (the DaemonSet node-local-dns recreates it on node ${local.node})`,
          ]
        : [
            `kubectl -n kube-system get pods -l k8s-app=node-local-dns -o wide (find the pod on node ${local.node}, then read its logs and restart it)`,
          ],
    },
  ];
}

/** The rule. */
export const rule: Rule = { cause: 'NODE_LOCAL_DNS_DOWN', layer: 'ladder', find };
