/**
 * UNDERLAY_BLOCKED (seed 000, "a cloud firewall or security group"; seed 002, "security groups, firewalls ... blocking
 * the Pod network"): on a network without a tunnel (Calico in BGP mode, a cloud-routed CNI) pod packets cross the
 * network between the nodes as they are, so a security group, firewall or the instance's source/destination check can
 * drop them there. The destination pods do not answer from the source's node, yet answer on their own node, and no node
 * check found a fault: the node whose pods cannot be reached is named, the network between the nodes is where to look.
 */
import { networkTraits } from '../../datapath.ts';
import type { DiagnosisContext } from '../context.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite, hasRoot } from '../rule.ts';
import { crossNodeEvidence } from './overlay-blocked.ts';

/** The node whose pod an unreachable pod-ip probe aimed at, by the Service's endpoints or the node pod CIDRs. */
function nodeOfPodAddress(ctx: DiagnosisContext, address: string): string | undefined {
  const d = ctx.targets.destination;
  if (d.kind === 'service') {
    const node = d.endpoints.find((e) => e.ip === address)?.node;
    if (node) return node;
  }
  if (d.kind === 'pod' && d.ip === address) return d.node;
  return ctx.podCIDROwner(address)?.name;
}

function find(ctx: DiagnosisContext, prior: readonly RuleFinding[]): RuleFinding[] {
  const { podUnreachable, localPasses, blocked } = crossNodeEvidence(ctx);
  if (podUnreachable.length === 0 || hasRoot(prior) || !blocked || networkTraits(ctx.network).tunnel) return [];
  const byNode = new Map<string, typeof podUnreachable>();
  for (const r of podUnreachable) {
    const address = r.spec.action.tool === 'tcp-connect' ? r.spec.action.host : undefined;
    const node = address === undefined ? undefined : nodeOfPodAddress(ctx, address);
    if (node === undefined || node === ctx.sourceNode) continue;
    byNode.set(node, [...(byNode.get(node) ?? []), r]);
  }
  const someAnswered = ctx.passing(ctx.rung('pod-ip')).length > 0;
  return [...byNode].map(([node, probes]) => {
    const answersLocally = localPasses.filter((r) => ctx.nodeOf(r) === node);
    return {
      cause: 'UNDERLAY_BLOCKED' as const,
      status: someAnswered ? ('degraded' as const) : ('broken' as const),
      node,
      summary: `pod traffic from node ${ctx.sourceNode} to node ${node}'s pods dies between the nodes (${ctx.network}: no tunnel, the pod packets cross the network between the nodes as they are), though they answer on their own node and the node checks found nothing`,
      citations: [...cite('cause', probes), ...cite('reference', answersLocally.length > 0 ? answersLocally : localPasses)],
      hints: [
        `check the network between node ${ctx.sourceNode} and node ${node} for pod addresses: cloud firewall rules, security groups (allow the pod CIDRs, not only the node addresses), network ACLs`,
        `on clouds that check addresses (AWS, GCP, Azure): the instances' source/destination check (AWS) or IP forwarding (GCP canIpForward, Azure NIC "IP forwarding") must allow pod addresses, and the VPC route tables must send node ${node}'s pod range to it`,
        `on node ${node}: tcpdump -ni any host ${ctx.targets.source.ip} while re-running this command (nothing arrives: the network between the nodes drops it)`,
      ],
    };
  });
}

/** The rule. */
export const rule: Rule = { cause: 'UNDERLAY_BLOCKED', layer: 'ladder', find };
