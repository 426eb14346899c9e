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

/** The cluster DNS Service as summaries name it, e.g. `kube-system/kube-dns`. */
export function dnsServiceName(ctx: DiagnosisContext): string {
  return `${ctx.dnsServer.namespace}/${ctx.dnsServer.name}`;
}

/** `kubectl logs` of the cluster DNS pods, through the Service's own selector. */
export function dnsLogsHint(ctx: DiagnosisContext): string {
  return `kubectl -n ${ctx.dnsServer.namespace} logs -l ${ctx.dnsServer.selector}`;
}

/** Restarting the workload that runs the DNS pods (a Deployment's or DaemonSet's rollout), or its pods when unknown. */
export function dnsRestartHint(ctx: DiagnosisContext): string {
  const { namespace, selector, workload } = ctx.dnsServer;
  return workload ? `kubectl -n ${namespace} rollout restart ${workload.kind.toLowerCase()}/${workload.name}` : `kubectl -n ${namespace} delete pods -l ${selector}`;
}

/** Where the DNS server's Corefile lives: the ConfigMap its workload is named after (coredns, rke2-coredns-rke2-coredns, dns-default). */
export function dnsCorefileHint(ctx: DiagnosisContext): string {
  const { namespace, workload } = ctx.dnsServer;
  return `check the CoreDNS Corefile: kubectl -n ${namespace} get configmap ${workload?.name ?? 'coredns'} -o yaml`;
}
