/** What the DNS rules share: whether they apply, the name that was looked up, and how to run a command in the source. */
import type { DiagnosisContext } from '../context.ts';

/** The DNS rules judge lookups themselves unless the API already proved DNS has no endpoint (that rule cites them). */
export function dnsApplies(ctx: DiagnosisContext): boolean {
  return ctx.dns.fails.length > 0 && !ctx.hasStatic('DNS_NO_ENDPOINTS');
}

/** The name the DNS rung looked up, for summaries. */
export function lookedUpName(ctx: DiagnosisContext): string {
  const dest = ctx.targets.destination;
  return dest.kind === 'service' ? dest.dnsName : dest.kind === 'address' ? dest.host : 'the name';
}

/** The prefix of a command run in the source: `kubectl -n NS exec POD --` or `on node NODE:`. */
export function sourceExec(ctx: DiagnosisContext): string {
  const s = ctx.targets.source;
  return s.kind === 'pod' ? `kubectl -n ${s.namespace} exec ${s.name} --` : `on node ${s.name}:`;
}
