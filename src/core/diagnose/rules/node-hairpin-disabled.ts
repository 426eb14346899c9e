/**
 * NODE_HAIRPIN_DISABLED (seed 002, hairpin: "a Pod cannot access itself through its Service"): a pod reaching its own
 * Service comes back out of the bridge port it left by, which needs hairpin mode on that port. Proven by the pod's eth0
 * peer ifindex (read in the pod) and the node's bridge ports: the source pod's own port has hairpin off. Broken when
 * the pod failed to reach its Service; degraded when other backends hid it (about 1 in N connections fail).
 */
import type { ProbeObservation, ProbeResult } from '../../model.ts';
import type { DiagnosisContext } from '../context.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite } from '../rule.ts';

type Of<K extends ProbeObservation['kind']> = ProbeResult & { observation: Extract<ProbeObservation, { kind: K }> };

function hairpinCheck<K extends 'veth-peer' | 'bridge-ports'>(ctx: DiagnosisContext, kind: K): Of<K> | undefined {
  return ctx.nodeChecks.find((r): r is Of<K> => r.spec.check === 'hairpin' && r.observation.kind === kind);
}

function find(ctx: DiagnosisContext): RuleFinding[] {
  const { targets } = ctx;
  const peer = hairpinCheck(ctx, 'veth-peer');
  const bridgePorts = hairpinCheck(ctx, 'bridge-ports');
  const port = peer && bridgePorts?.observation.ports.find((p) => p.ifindex === peer.observation.ifindex);
  const failedToSelf = ctx.failing(ctx.rung('cluster-ip')).length > 0;
  const backends = targets.destination.kind === 'service' ? targets.destination.endpoints.filter((e) => e.ready).length : 1;
  // The pod as the only backend and the ClusterIP answering: the bridge hairpins some other way (e.g. promiscuous mode).
  if (!port || !bridgePorts || !peer || port.hairpin || targets.source.kind !== 'pod' || !(failedToSelf || backends > 1)) return [];
  const node = ctx.nodeOf(bridgePorts);
  const { namespace, name } = targets.source;
  return [
    {
      cause: 'NODE_HAIRPIN_DISABLED',
      status: failedToSelf ? 'broken' : 'degraded',
      node,
      object: `Pod/${namespace}/${name}`,
      summary: `hairpin mode is off on ${port.dev}, the bridge port of ${namespace}/${name} on node ${node}: its connections to its own Service fail whenever kube-proxy picks the pod itself as the backend${backends > 1 ? ` (about 1 in ${backends})` : ''}`,
      citations: [...cite('reference', [peer]), ...cite('cause', [bridgePorts])],
      hints: [
        `on node ${node}: echo 1 > /sys/class/net/${port.dev}/brport/hairpin_mode (until the pod is recreated)`,
        'make it stick: kubelet --hairpin-mode=hairpin-veth, or "hairpinMode": true in the CNI bridge plugin config',
      ],
      root: true,
    },
  ];
}

/** The rule. */
export const rule: Rule = { cause: 'NODE_HAIRPIN_DISABLED', layer: 'facts', find };
