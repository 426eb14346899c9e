/**
 * Dual-stack rules of the lab as pure functions: which address families a Service gets (the API server's defaulting of
 * `ipFamilyPolicy` and `ipFamilies`), its IPv6 ClusterIP, and picking one family's address out of a pod's or Service's
 * address list. Kept apart from objects.ts and scenario.ts, which call it.
 */
import { LAB_ADDRESSES, LAB_ADDRESSES_V6, type IPFamily, type IPFamilyPolicy, type ScenarioCluster } from './model.ts';
import { parseCIDR, parseIPv4 } from './dataplane/addressing.ts';
import { formatIPv6, isIPv6, parseCIDR6 } from './dataplane/addressing-v6.ts';

/** Whether a cluster runs both address families. */
export function isDualStack(c: Pick<ScenarioCluster, 'ipFamilies'>): boolean {
  return c.ipFamilies.length === 2;
}

/** The family an address belongs to. */
export function familyOf(ip: string): IPFamily {
  return isIPv6(ip) ? 'IPv6' : 'IPv4';
}

/** The first address of the given family in a list (pod IPs, ClusterIPs), or undefined. */
export function addressOfFamily(ips: readonly string[], family: IPFamily): string | undefined {
  return ips.find((ip) => familyOf(ip) === family);
}

/** A Service's families as the API server settles them, or the field error it answers with. */
export type ServiceFamilies = { ok: true; policy: IPFamilyPolicy; families: IPFamily[] } | { ok: false; field: 'ipFamilyPolicy' | 'ipFamilies'; message: string };

/**
 * The API server's defaulting of a Service's `ipFamilyPolicy` and `ipFamilies` (pkg/registry/core/service/storage
 * initIPFamilyFields): no policy means SingleStack, or RequireDualStack when two families are written or for a headless
 * Service without a selector; the written families come first, the cluster's primary when none is written; a policy
 * other than SingleStack adds the cluster's other family when it has one. RequireDualStack on a single-stack cluster and
 * a family the cluster does not run are refused.
 */
export function resolveServiceFamilies(
  svc: { clusterIP?: string; selector?: Record<string, string>; ipFamilyPolicy?: IPFamilyPolicy; ipFamilies?: IPFamily[] },
  clusterFamilies: readonly IPFamily[],
): ServiceFamilies {
  const written = svc.ipFamilies ?? [];
  // Only on a dual-stack cluster: single-stack labs keep the SingleStack they always wrote for such Services.
  const headlessSelectorless = svc.clusterIP === 'None' && svc.selector === undefined && clusterFamilies.length === 2;
  const policy: IPFamilyPolicy = svc.ipFamilyPolicy ?? (written.length === 2 || headlessSelectorless ? 'RequireDualStack' : 'SingleStack');
  if (policy === 'SingleStack' && written.length > 1) {
    return { ok: false, field: 'ipFamilies', message: 'may hold one family when ipFamilyPolicy is SingleStack' };
  }
  const missing = written.find((f) => !clusterFamilies.includes(f));
  if (missing !== undefined) {
    return { ok: false, field: 'ipFamilies', message: `${missing} is not configured on this cluster (spec.cluster.ipFamilies: [${clusterFamilies.join(', ')}])` };
  }
  if (policy === 'RequireDualStack' && clusterFamilies.length < 2) {
    return { ok: false, field: 'ipFamilyPolicy', message: 'RequireDualStack: this cluster is not configured for dual-stack services (spec.cluster.ipFamilies has one family)' };
  }
  const families = written.length > 0 ? [...written] : [clusterFamilies[0] ?? 'IPv4'];
  if (policy !== 'SingleStack') for (const f of clusterFamilies) if (!families.includes(f)) families.push(f);
  return { ok: true, policy, families };
}

/**
 * The IPv6 ClusterIP that goes with an IPv4 one: the same offset inside fd00:10:96::/112 as inside 10.96.0.0/16
 * (10.96.0.10 → fd00:10:96::a), so the lab's allocation stays deterministic in both families.
 */
export function serviceIPv6For(ipv4: string): string {
  const offset = parseIPv4(ipv4) - parseCIDR(LAB_ADDRESSES.serviceCIDR).network;
  return formatIPv6(parseCIDR6(LAB_ADDRESSES_V6.serviceCIDR).network + BigInt(offset));
}

/** A Service's `clusterIPs` in the order of its families, from its IPv4 address ('None' stays 'None'). */
export function clusterIPsFor(ipv4: string, families: readonly IPFamily[]): string[] {
  if (ipv4 === 'None') return ['None'];
  return families.map((f) => (f === 'IPv4' ? ipv4 : serviceIPv6For(ipv4)));
}
