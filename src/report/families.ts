/**
 * How reports show the address families of a run that tested two: a rung's result per family (`IPv4 ✓ 2/2 · IPv6 ✗
 * 0/2`), a probe's family tag, and every address of a dual-stack target. Single-family runs show nothing new.
 */
import type { IPFamily } from '../core/address.ts';
import { isIPv6 } from '../core/address.ts';
import { classifyObservation } from '../core/diagnose/describe.ts';
import type { ProbeObservation, ResolvedDestination } from '../core/model.ts';

/** What a probe of a rung tells per family (RungProbe and ProbeResult alike). */
interface FamilyProbe {
  family?: IPFamily;
  observation: ProbeObservation;
  deniedBy?: string[];
}

/**
 * A rung's probes per family, e.g. `IPv4 ✓ 2/2 · IPv6 ✗ 0/2` (connected or answered of those that ran), or '' when the
 * rung's probes carry fewer than two families.
 */
export function familyTally(probes: readonly FamilyProbe[]): string {
  const families = (['IPv4', 'IPv6'] as const).filter((f) => probes.some((p) => p.family === f));
  if (families.length < 2) return '';
  return families
    .map((family) => {
      const ran = probes.filter((p) => p.family === family && classifyObservation(p.observation) !== 'not-run' && p.deniedBy === undefined);
      const ok = ran.filter((p) => classifyObservation(p.observation) === 'ok').length;
      const mark = ran.length === 0 ? '?' : ok === ran.length ? '✓' : '✗';
      return `${family} ${mark} ${ok}/${ran.length}`;
    })
    .join(' · ');
}

/** A probe's family tag, ` [IPv6]`, or '' for a probe both families share or a single-family run. */
export function familyTag(family: IPFamily | undefined): string {
  return family === undefined ? '' : ` [${family}]`;
}

/** An address with its port, an IPv6 one in brackets: `10.0.0.1:80`, `[fd00::1]:80`. */
export function hostPort(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The other addresses of a dual-stack destination, e.g. ` (also fd00:10:96::a)`, or '' when it has one. */
export function otherAddresses(dest: ResolvedDestination): string {
  const all = dest.kind === 'service' ? dest.clusterIPs : dest.kind === 'pod' || dest.kind === 'node' ? dest.ips : undefined;
  const primary = dest.kind === 'service' ? dest.clusterIP : dest.kind === 'pod' || dest.kind === 'node' ? dest.ip : '';
  const others = (all ?? []).filter((a) => a !== primary);
  return others.length > 0 ? ` (also ${others.join(', ')})` : '';
}
