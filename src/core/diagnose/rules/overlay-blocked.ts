/**
 * OVERLAY_BLOCKED (seed 004, VXLAN packets that never reach the other node; seed 002, "security groups, firewalls ...
 * blocking the Pod network"): the destination pod does not answer from the source's node, yet answers on its own node
 * (same-node, or from its node's own network), and no node check found a fault: the tunnel between the nodes drops it.
 * Only on a network with a tunnel (flannel, Calico VXLAN or IP-in-IP, Cilium; an unknown one is taken for flannel); the
 * hints name that network's own tunnel port. Without a tunnel the same evidence is UNDERLAY_BLOCKED.
 */
import { isIPv6 } from '../../address.ts';
import { networkTraits } from '../../datapath.ts';
import type { DiagnosisContext } from '../context.ts';
import { destinationNodes } from '../describe.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite, hasRoot } from '../rule.ts';

/** The pod-IP probes that got nothing back, and the probes that show the destination answers on its own node. */
export function crossNodeEvidence(ctx: DiagnosisContext) {
  const podUnreachable = ctx.failing(ctx.rung('pod-ip')).filter(ctx.failedAs('unreachable'));
  const localPasses = ctx.passing([...ctx.rung('same-node'), ...ctx.rung('node-origin').filter((r) => ctx.nodeOf(r) !== ctx.sourceNode)]);
  const destNodes = destinationNodes(ctx.targets);
  const crossNode = destNodes.length > 0 && destNodes.some((n) => n !== ctx.sourceNode);
  return { podUnreachable, localPasses, destNodes, blocked: crossNode && localPasses.length > 0 };
}

function find(ctx: DiagnosisContext, prior: readonly RuleFinding[]): RuleFinding[] {
  const { podUnreachable, localPasses, destNodes, blocked } = crossNodeEvidence(ctx);
  const tunnel = networkTraits(ctx.network).tunnel;
  if (podUnreachable.length === 0 || hasRoot(prior) || !blocked || !tunnel) return [];
  const port = tunnel.port.startsWith('UDP ') ? `udp port ${tunnel.port.slice(4)}` : 'ip proto 4';
  // IPv6 pod traffic on flannel crosses its IPv6 tunnel, flannel-v6.1 (VXLAN between the nodes' IPv6 addresses).
  const v6 = podUnreachable.every((r) => r.spec.action.tool === 'tcp-connect' && isIPv6(r.spec.action.host));
  const device = v6 && tunnel.device === 'flannel.1' ? 'flannel-v6.1' : tunnel.device;
  return [
    {
      cause: 'OVERLAY_BLOCKED',
      status: ctx.passing(ctx.rung('pod-ip')).length > 0 ? 'degraded' : 'broken',
      summary: `pod traffic from node ${ctx.sourceNode} to node ${destNodes.filter((n) => n !== ctx.sourceNode).join(', ')} is dropped, though the destination answers on its own node and the node checks found nothing`,
      citations: [...cite('cause', podUnreachable), ...cite('reference', localPasses)],
      hints: [
        `check that ${tunnel.port}${v6 ? ' over IPv6' : ''} (${ctx.network === 'unknown' ? 'VXLAN' : `${ctx.network}'s ${device}`}) passes between the nodes: firewalls, security groups, ${v6 ? 'ip6tables' : 'iptables'} INPUT/OUTPUT rules on both nodes`,
        `on both nodes: tcpdump -ni any ${v6 ? 'ip6 and ' : ''}${port} while re-running this command`,
      ],
    },
  ];
}

/** The rule. */
export const rule: Rule = { cause: 'OVERLAY_BLOCKED', layer: 'ladder', find };
