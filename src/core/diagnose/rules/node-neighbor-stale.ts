/**
 * NODE_NEIGHBOR_STALE (seed 004, a wrong ARP entry on the node; seed 000, ARP): the node holds a neighbor entry for the
 * pod's IP that does not match the MAC the pod really answers with (read from a pod on the same bridge), and the kernel
 * will not correct it by itself (PERMANENT, NOARP, or just confirmed REACHABLE). Without that reference, only entries
 * that cannot be right (unresolved or pinned) count, and only when traffic failed. On a network without a bridge
 * (Calico, Cilium, cloud-routed) every packet to a pod from outside it goes through the node's entry on its veth, so a
 * pod that answered a probe from its own node (same-node or node-origin) proves the entry works, however pinned: Calico's
 * felix writes PERMANENT entries for every local pod.
 */
import { networkTraits } from '../../datapath.ts';
import type { ProbeObservation, ProbeResult } from '../../model.ts';
import type { DiagnosisContext } from '../context.ts';
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** Whether a node's neighbor entry is wrong, judged against the MAC the pod answers with when known. */
export function isWrongNeighbor(obs: Extract<ProbeObservation, { kind: 'neighbor' }>, truth: ProbeResult | undefined, symptomatic: boolean): boolean {
  const real = truth?.observation.kind === 'neighbor' ? truth.observation.mac : null;
  if (real && obs.mac) {
    if (obs.mac.toLowerCase() === real.toLowerCase()) return false;
    return obs.state === 'PERMANENT' || obs.state === 'NOARP' || obs.state === 'REACHABLE';
  }
  return symptomatic && (obs.state === 'FAILED' || obs.state === 'INCOMPLETE' || obs.state === 'PERMANENT');
}

/** On a network without a bridge, the probes from the node to this pod address that passed (the entry carried them). */
export function answeredThroughEntry(ctx: DiagnosisContext, node: string, ip: string): ProbeResult[] {
  if (networkTraits(ctx.network).bridge) return [];
  const fromNode = [...ctx.rung('same-node'), ...ctx.rung('node-origin')].filter((r) => ctx.nodeOf(r) === node && r.spec.action.tool === 'tcp-connect' && r.spec.action.host === ip);
  return ctx.passing(fromNode);
}

/** The rule. */
export const rule: Rule = {
  cause: 'NODE_NEIGHBOR_STALE',
  layer: 'facts',
  find: (ctx) =>
    ctx.nodeChecks.flatMap((r) => {
      const obs = r.observation;
      if (obs.kind !== 'neighbor' || r.spec.check === 'pod-mac') return [];
      const truth = ctx.podMacs.get(obs.ip);
      const node = ctx.nodeOf(r);
      if (!isWrongNeighbor(obs, truth, ctx.symptomatic) || answeredThroughEntry(ctx, node, obs.ip).length > 0) return [];
      const real = truth?.observation.kind === 'neighbor' ? truth.observation.mac : null;
      return [
        {
          cause: 'NODE_NEIGHBOR_STALE',
          status: 'broken',
          node,
          summary: `node ${node} has a wrong neighbor entry for ${obs.ip} (${obs.mac ?? 'no address'} ${obs.state})${real ? `; the pod answers as ${real}` : ''}`,
          citations: [...cite('cause', [r]), ...cite('reference', truth ? [truth] : [])],
          hints: [`on node ${node}: ip neigh del ${obs.ip} dev ${obs.dev ?? '<dev>'}`],
          root: true,
        },
      ];
    }),
};
