/**
 * SERVICE_NO_LOCAL_ENDPOINTS (kubernetes docs, Service Internal Traffic Policy: with `internalTrafficPolicy: Local`
 * kube-proxy sends a node's traffic only to endpoints on that node, and drops it when there is none): the Service is
 * Local and the source's node has no ready endpoint of it. The API proves it (EndpointSlice endpoints carry their node);
 * the ClusterIP failures that follow are its symptoms, while the pods still answer on their own addresses. A ClusterIP
 * that answers anyway (a proxy that does not drop it) leaves only a note.
 */
import type { Rule } from '../rule.ts';
import { cite } from '../rule.ts';

/** The rule. */
export const rule: Rule = {
  cause: 'SERVICE_NO_LOCAL_ENDPOINTS',
  layer: 'facts',
  find: (ctx) => {
    const dest = ctx.targets.destination;
    if (dest.kind !== 'service' || dest.internalTrafficPolicy !== 'Local' || dest.clusterIP === 'None' || dest.clusterIP === '') return [];
    const ready = dest.endpoints.filter((e) => e.ready);
    // No ready endpoint anywhere is SERVICE_NO_READY_ENDPOINTS' (or SERVICE_NO_ENDPOINTS') to name.
    if (ready.length === 0 || ready.some((e) => e.node === ctx.sourceNode)) return [];
    const node = ctx.sourceNode;
    const elsewhere = [...new Set(ready.flatMap((e) => (e.node ? [e.node] : [])))];
    const nat = ctx.nodeChecks.filter((r) => r.observation.kind === 'nat-rules' && ctx.nodeOf(r) === node);
    // The ClusterIP answered anyway: whatever proxies it here does not drop it, so this is only a note.
    const answered = ctx.passing(ctx.rung('cluster-ip'));
    if (answered.length > 0) {
      return [
        {
          cause: 'SERVICE_NO_LOCAL_ENDPOINTS',
          status: 'healthy',
          node,
          object: `Service/${dest.namespace}/${dest.name}`,
          summary: `Service ${dest.namespace}/${dest.name} has internalTrafficPolicy Local and no ready endpoint on node ${node}, but its ClusterIP answered from there`,
          facts: [`spec.internalTrafficPolicy: Local`],
          citations: cite('reference', answered),
          hints: [],
        },
      ];
    }
    return [
      {
        cause: 'SERVICE_NO_LOCAL_ENDPOINTS',
        status: 'broken',
        node,
        object: `Service/${dest.namespace}/${dest.name}`,
        summary: `Service ${dest.namespace}/${dest.name} has internalTrafficPolicy Local and no ready endpoint on node ${node}: kube-proxy there drops traffic to ${dest.clusterIP}:${dest.port.port}`,
        facts: [
          `spec.internalTrafficPolicy: Local`,
          `ready endpoints: ${ready.map((e) => `${e.ip} on ${e.node ?? 'an unknown node'}`).join(', ')}; none on ${node}`,
        ],
        citations: cite('reference', nat),
        hints: [
          `run a ready ${dest.namespace}/${dest.name} backend on node ${node} (e.g. a DaemonSet), or move the client to ${elsewhere.length > 0 ? `node ${elsewhere.join(' or ')}` : 'a node with one'}`,
          `or let traffic leave the node: kubectl -n ${dest.namespace} patch service ${dest.name} -p '{"spec":{"internalTrafficPolicy":"Cluster"}}'`,
        ],
        root: true,
      },
    ];
  },
};
