/**
 * DESTINATION_NOT_LISTENING (seed 002: "the containers inside Pods may not be ... listening on the specified
 * containerPort"): a direct connection to the pod (or node) was refused, a TCP RST from the host itself, so the packet
 * arrived and nothing listens. Broken when every pod refused, degraded when some answered. A wrong targetPort the API
 * already named is the better explanation and silences this rule.
 */
import { formatObjectRef, type ProbeResult } from '../../model.ts';
import type { DiagnosisContext } from '../context.ts';
import { describeProbeTarget } from '../describe.ts';
import type { Rule, RuleFinding } from '../rule.ts';
import { cite } from '../rule.ts';

function objectOf(ctx: DiagnosisContext, r: ProbeResult): string | undefined {
  const dest = ctx.targets.destination;
  if (r.spec.about) return formatObjectRef(r.spec.about);
  if (dest.kind === 'pod') return `Pod/${dest.namespace}/${dest.name}`;
  return dest.kind === 'node' ? `Node/${dest.name}` : undefined;
}

function podHints(obj: string | undefined, target: string): string[] {
  const parts = obj?.split('/');
  if (parts && parts[0] === 'Pod' && parts.length === 3) {
    return [
      `kubectl -n ${parts[1]} logs ${parts[2]}`,
      `check the application listens on 0.0.0.0 (not 127.0.0.1) at ${target.split(':').pop()}: kubectl -n ${parts[1]} exec ${parts[2]} -- netstat -ltn`,
    ];
  }
  return [`check that a process listens on ${target}`];
}

function find(ctx: DiagnosisContext): RuleFinding[] {
  const refused = [...ctx.rung('pod-ip'), ...ctx.rung('same-node')].filter((r) => r.observation.kind === 'refused');
  if (refused.length === 0 || ctx.hasStatic('SERVICE_TARGET_PORT_MISMATCH') || ctx.targets.destination.kind === 'address') return [];
  const byObject = new Map<string, ProbeResult[]>();
  for (const r of refused) {
    const k = objectOf(ctx, r) ?? '';
    byObject.set(k, [...(byObject.get(k) ?? []), r]);
  }
  const allRefused = ctx.passing(ctx.rung('pod-ip')).length === 0;
  return [...byObject].map(([obj, rs]) => {
    const target = describeProbeTarget((rs[0] as ProbeResult).spec.action);
    return {
      cause: 'DESTINATION_NOT_LISTENING',
      status: allRefused ? 'broken' : 'degraded',
      ...(obj ? { object: obj } : {}),
      summary: `nothing listens on ${target}${obj ? ` (${obj})` : ''}: the connection reached the ${obj.startsWith('Node/') ? 'node' : 'pod'} and was refused`,
      citations: cite('cause', rs),
      hints: podHints(obj || undefined, target),
    };
  });
}

/** The rule. */
export const rule: Rule = { cause: 'DESTINATION_NOT_LISTENING', layer: 'ladder', find };
