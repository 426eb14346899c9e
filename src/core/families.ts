/**
 * Address families of a run: which families the destination (and the source) have, which ones the ladder runs for
 * (`--family` narrows them), one-family views of the targets for planning and judging each family, and the DNS
 * lookups per family (A for IPv4, AAAA for IPv6). Pure; no I/O.
 */
import { ipFamilyOf, type IPFamily } from './address.ts';
import { NetdebugError } from './errors.ts';
import { buildProbeCommand } from './parse.ts';
import { hasClusterIP, sampleGroupId, type ProbeResult, type ProbeSpec, type ResolvedDestination, type ResolvedSource, type ResolvedTargets } from './model.ts';

/** Both families, in the order the ladder runs them. */
export const IP_FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** The families among these addresses, in IP_FAMILIES order (text that is no address is left out). */
export function familiesOf(addresses: readonly string[]): IPFamily[] {
  const found = new Set(addresses.map(ipFamilyOf));
  return IP_FAMILIES.filter((f) => found.has(f));
}

/** Every address of the source (its pod's `podIPs`, or the node's InternalIPs). */
function sourceAddresses(source: ResolvedSource): string[] {
  return source.ips ?? [source.ip];
}

/**
 * The families the destination has: a Service's `ipFamilies` (its ClusterIPs; a headless one's endpoints), a pod's
 * `podIPs`, a node's InternalIPs, an address's own family. Empty when unknown (a host name not yet resolved).
 */
export function destinationFamilies(dest: ResolvedDestination): IPFamily[] {
  switch (dest.kind) {
    case 'pod':
      return familiesOf(dest.ips ?? [dest.ip]);
    case 'service': {
      if (dest.ipFamilies !== undefined) return IP_FAMILIES.filter((f) => dest.ipFamilies?.includes(f));
      if (hasClusterIP(dest)) return familiesOf(dest.clusterIPs ?? [dest.clusterIP]);
      return familiesOf(dest.endpoints.map((e) => e.ip));
    }
    case 'node':
      return familiesOf(dest.ips ?? [dest.ip]);
    case 'address':
      return familiesOf(dest.ips);
    default: {
      const never: never = dest;
      throw new Error(`unknown destination ${JSON.stringify(never)}`);
    }
  }
}

/** How the destination reads in a message: `Service shop/web`, `pod shop/web-0`, `node node-1`, or the address. */
function describe(dest: ResolvedDestination): string {
  switch (dest.kind) {
    case 'pod':
      return `pod ${dest.namespace}/${dest.name}`;
    case 'service':
      return `Service ${dest.namespace}/${dest.name}`;
    case 'node':
      return `node ${dest.name}`;
    case 'address':
      return dest.host;
    default: {
      const never: never = dest;
      throw new Error(`unknown destination ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The families the ladder runs for: those the destination has that the source has too, or only `asked` (`--family`).
 * Empty when the destination's families are unknown and none was asked (a host name: the resolver picks, as before).
 * A family the destination lacks, or the source cannot send, is a usage error (exit 2) with a hint.
 */
export function chooseFamilies(targets: ResolvedTargets, asked?: IPFamily): IPFamily[] {
  const dest = destinationFamilies(targets.destination);
  const src = familiesOf(sourceAddresses(targets.source));
  const what = describe(targets.destination);
  const from = targets.source.kind === 'pod' ? `source pod ${targets.source.namespace}/${targets.source.name}` : `source node ${targets.source.name}`;
  if (asked !== undefined) {
    if (dest.length > 0 && !dest.includes(asked)) {
      throw new NetdebugError('USAGE', `--family ${asked}: ${what} has no ${asked} address (its famil${dest.length > 1 ? 'ies are' : 'y is'} ${dest.join(' and ')})`, {
        hint: `leave out --family to test every family it has, or use --family ${dest[0] ?? 'IPv4'}`,
      });
    }
    if (src.length > 0 && !src.includes(asked)) {
      throw new NetdebugError('USAGE', `--family ${asked}: the ${from} has no ${asked} address to test from`, {
        hint: `test from a pod or node with an ${asked} address, or use --family ${src[0] ?? 'IPv4'}`,
      });
    }
    return [asked];
  }
  if (dest.length === 0) return [];
  const both = src.length === 0 ? dest : dest.filter((f) => src.includes(f));
  if (both.length === 0) {
    throw new NetdebugError('UNSUPPORTED_TARGET', `${what} has only ${dest.join(' and ')} addresses and the ${from} has only ${src.join(' and ')}: no family to test in`, {
      hint: `test from a pod or node with an ${dest[0] ?? 'IPv4'} address`,
    });
  }
  return both;
}

/** The address of one family among these, or undefined. */
function pick(addresses: readonly string[], family: IPFamily): string | undefined {
  return addresses.find((a) => ipFamilyOf(a) === family);
}

/**
 * The targets as one family sees them: each side's address of that family, a Service's ClusterIP and endpoints of it.
 * Targets with no second address come back as they are, so an IPv4-only run plans exactly as before.
 */
export function targetsForFamily(targets: ResolvedTargets, family: IPFamily): ResolvedTargets {
  return { source: sourceForFamily(targets.source, family), destination: destinationForFamily(targets.destination, family) };
}

function sourceForFamily(source: ResolvedSource, family: IPFamily): ResolvedSource {
  if (source.ips === undefined) return source;
  const { ips, ...rest } = source;
  return { ...rest, ip: pick(ips, family) ?? source.ip };
}

function destinationForFamily(dest: ResolvedDestination, family: IPFamily): ResolvedDestination {
  switch (dest.kind) {
    case 'pod':
    case 'node': {
      if (dest.ips === undefined) return dest;
      const { ips, ...rest } = dest;
      return { ...rest, ip: pick(ips, family) ?? dest.ip };
    }
    case 'service': {
      const endpoints = dest.endpoints.filter((e) => ipFamilyOf(e.ip) === family);
      if (dest.clusterIPs === undefined && dest.ipFamilies === undefined && endpoints.length === dest.endpoints.length) return dest;
      const { clusterIPs, ipFamilies: _families, ...rest } = dest;
      const clusterIP = hasClusterIP(dest) ? (pick(clusterIPs ?? [dest.clusterIP], family) ?? dest.clusterIP) : dest.clusterIP;
      return { ...rest, clusterIP, endpoints };
    }
    case 'address': {
      const ips = dest.ips.filter((a) => ipFamilyOf(a) === family);
      return ips.length === dest.ips.length ? dest : { ...dest, ips };
    }
    default: {
      const never: never = dest;
      throw new Error(`unknown destination ${JSON.stringify(never)}`);
    }
  }
}

/** The suffix of an AAAA lookup's id: the A lookup's id with `:AAAA`. */
const AAAA_SUFFIX = ':AAAA';

/**
 * The DNS rung's lookups for the run's families: as planned (A) for IPv4 alone or unknown families, AAAA instead for
 * IPv6 alone, and each A lookup followed by its AAAA twin (ids `…:AAAA`) for both, each tagged with its family.
 * Other probes of the rung (the resolv.conf read) stay as they are.
 */
export function dnsLookupsForFamilies(probes: readonly ProbeSpec[], families: readonly IPFamily[], timeoutMs: number): ProbeSpec[] {
  if (!families.includes('IPv6')) return [...probes];
  const both = families.includes('IPv4');
  return probes.flatMap((p): ProbeSpec[] => {
    if (p.action.tool !== 'dns-lookup') return [p];
    const action = { ...p.action, type: 'AAAA' as const };
    const aaaa: ProbeSpec = { ...p, id: `${p.id}${AAAA_SUFFIX}`, action, command: buildProbeCommand(action, timeoutMs), ...(both ? { family: 'IPv6' as const } : {}) };
    return both ? [{ ...p, family: 'IPv4' }, aaaa] : [aaaa];
  });
}

/**
 * The AAAA lookups to ask after the DNS rung of a host name tested in no chosen family: one per A lookup that came back
 * with no address (a name with IPv6 addresses alone answers A with none). Empty for every other run.
 */
export function aaaaFallbackLookups(dest: ResolvedDestination, families: readonly IPFamily[], results: readonly ProbeResult[], timeoutMs: number): ProbeSpec[] {
  if (dest.kind !== 'address' || ipFamilyOf(dest.host) !== undefined || families.length > 0) return [];
  const seen = new Set<string>();
  const empty = results.flatMap((r): ProbeSpec[] => {
    const a = r.spec.action;
    if (a.tool !== 'dns-lookup' || a.type !== undefined || r.observation.kind !== 'resolved' || r.observation.ips.length > 0) return [];
    const id = sampleGroupId(r.spec);
    if (seen.has(id)) return [];
    seen.add(id);
    const { sample: _sample, ...spec } = r.spec;
    return [{ ...spec, id }];
  });
  return dnsLookupsForFamilies(empty, ['IPv6'], timeoutMs);
}

/**
 * The untagged A lookups whose AAAA twin (`<id>:AAAA`, asked by aaaaFallbackLookups) resolved an address: the name has
 * IPv6 addresses alone, so their empty A answer is no failure. By probe id.
 */
export function answeredInIPv6(results: readonly ProbeResult[]): Set<string> {
  const found = new Set(
    results
      .filter((r) => r.spec.family === undefined && r.spec.action.tool === 'dns-lookup' && r.spec.action.type === 'AAAA' && r.observation.kind === 'resolved' && r.observation.ips.length > 0)
      .map((r) => r.spec.id.slice(0, -AAAA_SUFFIX.length)),
  );
  return new Set(
    results
      .filter((r) => r.spec.family === undefined && r.spec.action.tool === 'dns-lookup' && r.spec.action.type === undefined && r.observation.kind === 'resolved' && found.has(sampleGroupId(r.spec)))
      .map((r) => r.spec.id),
  );
}
