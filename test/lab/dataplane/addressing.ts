/**
 * Address arithmetic and naming for the data plane: pure helpers that turn a scenario node into its NodeNet.
 */
import { LAB_ADDRESSES } from '../model.ts';
import type { NodeNet } from '../model.ts';

/** Parses dotted IPv4 into a 32-bit unsigned number; throws on malformed input. */
export function parseIPv4(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new Error(`not an IPv4 address: ${ip}`);
    n = n * 256 + v;
  }
  return n;
}

/** Formats a 32-bit unsigned number as dotted IPv4. */
export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Splits `a.b.c.d/p` into its network address (as a number) and prefix length. */
export function parseCIDR(cidr: string): { network: number; prefix: number } {
  const [ip, p] = cidr.split('/');
  const prefix = Number(p);
  if (ip === undefined || p === undefined || !/^\d{1,2}$/.test(p) || prefix > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const size = 2 ** (32 - prefix);
  return { network: parseIPv4(ip) - (parseIPv4(ip) % size), prefix };
}

/** Returns the prefix length of a CIDR. */
export function getPrefixLength(cidr: string): number {
  return parseCIDR(cidr).prefix;
}

/** Returns the lab's namespace prefix for labId (`nd<labId>-`); labId must be lowercase letters and digits. */
export function getLabPrefix(labId: string): string {
  if (!/^[a-z0-9]{1,24}$/.test(labId)) {
    throw new Error(`invalid lab id "${labId}": use 1-24 lowercase letters or digits (it prefixes namespace names)`);
  }
  return `nd${labId}-`;
}

/** Returns the NodeNet of node number index (1-based) with the given pod CIDR, in flannel's address layout. */
export function planNodeNet(labId: string, node: { name: string; index: number; podCIDR: string }): NodeNet {
  if (!Number.isInteger(node.index) || node.index < 1 || node.index > 240) {
    throw new Error(`node ${node.name}: index ${node.index} out of range 1..240 (underlay 172.31.0.0/24)`);
  }
  const { network } = parseCIDR(node.podCIDR);
  const underlay = parseCIDR(LAB_ADDRESSES.underlayCIDR).network;
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    name: node.name,
    index: node.index,
    netns: `${getLabPrefix(labId)}n${node.index}`,
    underlayIP: formatIPv4(underlay + 10 + node.index),
    podCIDR: node.podCIDR,
    gatewayIP: formatIPv4(network + 1),
    vtepIP: formatIPv4(network),
    // Locally administered unicast (0e:...), unique per node index.
    vtepMAC: `0e:6e:64:00:${hex(node.index >> 8)}:${hex(node.index & 255)}`,
  };
}
