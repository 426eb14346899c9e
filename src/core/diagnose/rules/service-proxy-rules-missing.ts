/**
 * SERVICE_PROXY_RULES_MISSING (seed 002: "the kube-proxy service may not have ... configured corresponding iptables
 * rules"; seed 001 and 003, kube-proxy): the ClusterIP fails from the source node while its pods answer directly, or the
 * node's NAT table has no rule for the ClusterIP. Named only when no node fault or API finding explains the failure.
 */
import type { DiagnosisContext } from '../context.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite, hasRoot } from '../rule.ts';

function find(ctx: DiagnosisContext, prior: readonly RuleFinding[]): RuleFinding[] {
  const clusterFails = ctx.failing(ctx.rung('cluster-ip'));
  const podPasses = ctx.passing(ctx.rung('pod-ip'));
  const natChecks = ctx.nodeChecks.filter((r) => r.observation.kind === 'nat-rules' && ctx.nodeOf(r) === ctx.sourceNode);
  const natMissing = natChecks.filter((r) => r.observation.kind === 'nat-rules' && !r.observation.present);
  if (clusterFails.length === 0 || hasRoot(prior) || (podPasses.length === 0 && natMissing.length === 0)) return [];
  const dest = ctx.targets.destination;
  const node = ctx.sourceNode;
  const ip = dest.kind === 'service' ? `${dest.clusterIP}:${dest.port.port}` : 'the ClusterIP';
  return [
    {
      cause: 'SERVICE_PROXY_RULES_MISSING',
      status: 'broken',
      node,
      summary: `node ${node} does not forward ${ip} to the Service's pods, although the pods answer directly`,
      citations: [
        ...cite('cause', clusterFails),
        ...cite('reference', podPasses),
        ...natChecks.map((r) => ({ probe: r.spec.id, role: natMissing.includes(r) ? ('cause' as const) : ('reference' as const) })),
      ],
      hints: [
        `on node ${node}: iptables-save -t nat | grep ${dest.kind === 'service' ? dest.clusterIP : 'KUBE-SERVICES'}`,
        `kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide --field-selector spec.nodeName=${node}`,
        `restart kube-proxy on ${node}: kubectl -n kube-system delete pod -l k8s-app=kube-proxy --field-selector spec.nodeName=${node}`,
      ],
    },
  ];
}

/** The rule. */
export const rule: Rule = { cause: 'SERVICE_PROXY_RULES_MISSING', layer: 'ladder', find };
