/**
 * Address arithmetic and naming for the data plane: pure helpers that turn a scenario node into its NodeNet.
 */
import { LAB_ADDRESSES } from '../model.ts';
import type { NodeNet } from '../model.ts';

/** Parses dotted IPv4 (four decimal octets, no leading zeros) into a 32-bit unsigned number, or undefined. */
export function tryParseIPv4(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const octets = m.slice(1);
  if (octets.some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith('0')))) return undefined;
  return octets.reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** Parses dotted IPv4 into a 32-bit unsigned number; throws on malformed input. */
export function parseIPv4(ip: string): number {
  const n = tryParseIPv4(ip);
  if (n === undefined) throw new Error(`not an IPv4 address: ${ip}`);
  return n;
}

/** Formats a 32-bit unsigned number as dotted IPv4. */
export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** An IPv4 CIDR: the address as written, its network address, prefix length and number of addresses. */
export interface IPv4CIDR {
  address: number;
  network: number;
  prefix: number;
  size: number;
}

/** Parses `a.b.c.d/p` into an IPv4CIDR, or undefined when malformed. */
export function tryParseCIDR(cidr: string): IPv4CIDR | undefined {
  const [ip, p, ...rest] = cidr.split('/');
  if (ip === undefined || p === undefined || rest.length > 0 || !/^\d{1,2}$/.test(p)) return undefined;
  const address = tryParseIPv4(ip);
  const prefix = Number(p);
  if (address === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { address, network: address - (address % size), prefix, size };
}

/** Parses `a.b.c.d/p` into an IPv4CIDR; throws on malformed input. */
export function parseCIDR(cidr: string): IPv4CIDR {
  const c = tryParseCIDR(cidr);
  if (c === undefined) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  return c;
}

/** Whether the 32-bit address ip lies inside the network/prefix block. */
export function cidrContains(block: { network: number; prefix: number }, ip: number): boolean {
  const size = 2 ** (32 - block.prefix);
  return ip - (ip % size) === block.network;
}

/** Formats a network address and prefix length as `a.b.c.d/p`. */
export function formatCIDR(block: { network: number; prefix: number }): string {
  return `${formatIPv4(block.network)}/${block.prefix}`;
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

/** Returns the underlay address (the node's InternalIP) of node number index: the underlay network + 10 + index. */
export function getNodeUnderlayIP(index: number): string {
  return formatIPv4(parseCIDR(LAB_ADDRESSES.underlayCIDR).network + 10 + index);
}

/**
 * The MAC of a pod's eth0: 0a:58 and the four bytes of its IPv4 address, as the CNI bridge plugin and kubenet assign
 * it. Deterministic, so a capture or a neighbor entry reads the same in every lab.
 */
export function getPodMAC(ip: string): string {
  const n = parseIPv4(ip);
  return ['0a', '58', ...[24, 16, 8, 0].map((shift) => ((n >>> shift) & 255).toString(16).padStart(2, '0'))].join(':');
}

/** Returns the NodeNet of node number index (1-based) with the given pod CIDR, in flannel's address layout. */
export function planNodeNet(labId: string, node: { name: string; index: number; podCIDR: string }): NodeNet {
  if (!Number.isInteger(node.index) || node.index < 1 || node.index > 240) {
    throw new Error(`node ${node.name}: index ${node.index} out of range 1..240 (underlay 172.31.0.0/24)`);
  }
  const { network } = parseCIDR(node.podCIDR);
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    name: node.name,
    index: node.index,
    netns: `${getLabPrefix(labId)}n${node.index}`,
    underlayIP: getNodeUnderlayIP(node.index),
    podCIDR: node.podCIDR,
    gatewayIP: formatIPv4(network + 1),
    vtepIP: formatIPv4(network),
    // Locally administered unicast (0e:...), unique per node index.
    vtepMAC: `0e:6e:64:00:${hex(node.index >> 8)}:${hex(node.index & 255)}`,
  };
}
