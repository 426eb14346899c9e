/**
 * SERVICE_PROXY_RULES_MISSING (seed 002: "the kube-proxy service may not have ... configured corresponding iptables
 * rules"; seed 001 and 003, kube-proxy): the ClusterIP fails from the source node while its pods answer directly, or the
 * node's NAT table has no rule for the ClusterIP. Named only when no node fault or API finding explains the failure.
 */
import { isIPv6 } from '../../address.ts';
import type { ProbeResult } from '../../model.ts';
import type { DiagnosisContext } from '../context.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite, hasRoot } from '../rule.ts';
import { crossNodeEvidence } from './overlay-blocked.ts';

function find(ctx: DiagnosisContext, prior: readonly RuleFinding[]): RuleFinding[] {
  const clusterFails = ctx.failing(ctx.rung('cluster-ip'));
  const podPasses = ctx.passing(ctx.rung('pod-ip'));
  const natChecks = ctx.nodeChecks.filter((r) => r.observation.kind === 'nat-rules' && ctx.nodeOf(r) === ctx.sourceNode);
  const natMissing = natChecks.filter((r) => r.observation.kind === 'nat-rules' && !r.observation.present);
  // The mode actually read decides the hints (its own command).
  const mode = natChecks.map((r) => r.observation).find((o) => o.kind === 'nat-rules' && o.proxy !== undefined);
  if (clusterFails.length === 0 || hasRoot(prior) || (podPasses.length === 0 && natMissing.length === 0)) return [];
  // The rules are there and some pods are unreachable from this node while they answer on their own: the ClusterIP
  // picked one of those, so the path between the nodes (OVERLAY_BLOCKED, UNDERLAY_BLOCKED) explains it, not the proxy.
  const path = crossNodeEvidence(ctx);
  // A proxy whose rules netdebug cannot read on this node (Cilium's eBPF Service map) is judged the same way: nothing
  // says a rule is missing, and the path explains the ClusterIP's failures.
  const uninspectable = ctx.nodeChecks.some((r) => r.spec.check === 'nat-rules' && r.observation.kind === 'not-inspectable' && ctx.nodeOf(r) === ctx.sourceNode);
  if ((natChecks.length > 0 || uninspectable) && natMissing.length === 0 && path.podUnreachable.length > 0 && path.blocked) return [];
  // The ClusterIP was refused, as a pod of the Service refuses when asked directly: the proxy forwarded the connection
  // to a backend that does not listen (DESTINATION_NOT_LISTENING), which is no missing rule.
  const refusedDirect = [...ctx.rung('pod-ip'), ...ctx.rung('same-node')].some((r) => r.observation.kind === 'refused');
  if (natMissing.length === 0 && refusedDirect && clusterFails.every(ctx.failedAs('refused'))) return [];
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
        `on node ${node}: ${inspectCommand(mode, dest.kind === 'service' ? dest.clusterIP : undefined, dest.kind === 'service' ? dest.port.port : undefined)}`,
        `kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide --field-selector spec.nodeName=${node}`,
        `restart kube-proxy on ${node}: kubectl -n kube-system delete pod -l k8s-app=kube-proxy --field-selector spec.nodeName=${node}`,
      ],
    },
  ];
}

/** The command that shows the Service's rules in the proxy mode the check read. */
function inspectCommand(obs: ProbeResult['observation'] | undefined, clusterIP: string | undefined, port: number | undefined): string {
  const proxy = obs?.kind === 'nat-rules' ? obs.proxy : undefined;
  // An IPv6 ClusterIP's rules live in kube-proxy's IPv6 tables: ip6tables, nftables' `ip6 kube-proxy`.
  const v6 = clusterIP !== undefined && isIPv6(clusterIP);
  const save = v6 ? 'ip6tables' : 'iptables';
  switch (proxy) {
    case 'nftables':
      return `nft list table ${v6 ? 'ip6' : 'ip'} kube-proxy | grep ${clusterIP ?? 'service-ips'}`;
    case 'ipvs':
      return clusterIP !== undefined && port !== undefined ? `ipvsadm -Ln -t ${clusterIP}:${port}; ip addr show dev kube-ipvs0` : 'ipvsadm -Ln';
    case 'iptables': {
      const backend = obs?.kind === 'nat-rules' && obs.backend ? `${save}-${obs.backend}-save` : `${save}-save`;
      return `${backend} -t nat | grep ${clusterIP ?? 'KUBE-SERVICES'}`;
    }
    case undefined:
      return `${save}-save -t nat | grep ${clusterIP ?? 'KUBE-SERVICES'}`;
    default: {
      const never: never = proxy;
      throw new Error(`unknown proxy ${JSON.stringify(never)}`);
    }
  }
}

/** The rule. */
export const rule: Rule = { cause: 'SERVICE_PROXY_RULES_MISSING', layer: 'ladder', find };
