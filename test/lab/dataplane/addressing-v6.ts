/**
 * IPv6 address arithmetic for dual-stack labs: parsing and formatting (RFC 5952 text), CIDR blocks, and the IPv6 plan
 * of a node (underlay address, pod /64, cni0 gateway, flannel-v6.1 VTEP) and of a pod (the same host offset as its
 * IPv4 address inside the node's range, as host-local hands out both families in step).
 */
import { LAB_ADDRESSES_V6, type NodeNetV6 } from '../model.ts';
import { parseCIDR, parseIPv4 } from './addressing.ts';

/** Parses IPv6 text (with `::`, no zone, no embedded IPv4) into a 128-bit bigint, or undefined when malformed. */
export function tryParseIPv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text) || text.split('::').length > 2) return undefined;
  const [head = '', tail] = text.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  if ([...h, ...t].some((g) => g.length === 0 || g.length > 4)) return undefined;
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const all = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...t];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses IPv6 text into a bigint; throws on malformed input. */
export function parseIPv6(text: string): bigint {
  const n = tryParseIPv6(text);
  if (n === undefined) throw new Error(`not an IPv6 address: ${text}`);
  return n;
}

/** Formats a 128-bit bigint as RFC 5952 text: lowercase, no leading zeros, the longest run of 2+ zero groups as `::`. */
export function formatIPv6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt((7 - i) * 16)) & 0xffffn));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (best.at < 0) return hex(groups);
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.len))}`;
}

/** An IPv6 CIDR block: its network address and prefix length. */
export interface IPv6CIDR {
  network: bigint;
  prefix: number;
}

/** Parses `addr/p` into an IPv6CIDR (the network address, host bits cleared), or undefined when malformed. */
export function tryParseCIDR6(cidr: string): IPv6CIDR | undefined {
  const [addr, p, ...rest] = cidr.split('/');
  if (addr === undefined || p === undefined || rest.length > 0 || !/^\d{1,3}$/.test(p) || Number(p) > 128) return undefined;
  const ip = tryParseIPv6(addr);
  if (ip === undefined) return undefined;
  const prefix = Number(p);
  const host = (1n << BigInt(128 - prefix)) - 1n;
  return { network: ip & ~host, prefix };
}

/** Parses `addr/p` into an IPv6CIDR; throws on malformed input. */
export function parseCIDR6(cidr: string): IPv6CIDR {
  const c = tryParseCIDR6(cidr);
  if (c === undefined) throw new Error(`not an IPv6 CIDR: ${cidr}`);
  return c;
}

/** Whether an IPv6 address lies inside the block. */
export function cidr6Contains(block: IPv6CIDR, ip: bigint): boolean {
  const host = (1n << BigInt(128 - block.prefix)) - 1n;
  return (ip & ~host) === block.network;
}

/** Formats an IPv6 block as `addr/p`. */
export function formatCIDR6(block: IPv6CIDR): string {
  return `${formatIPv6(block.network)}/${block.prefix}`;
}

/** Whether text is an IPv6 address (the lab's test for a family: IPv4 text never holds a colon). */
export function isIPv6(text: string): boolean {
  return text.includes(':');
}

/** The IPv6 pod range of node number index: the index-th /64 of fd00:10:244::/56 (fd00:10:244:<index hex>::/64). */
export function nodePodCIDR6(index: number): string {
  const cluster = parseCIDR6(LAB_ADDRESSES_V6.clusterCIDR);
  const size = 1n << BigInt(128 - LAB_ADDRESSES_V6.nodePrefix);
  return formatCIDR6({ network: cluster.network + BigInt(index) * size, prefix: LAB_ADDRESSES_V6.nodePrefix });
}

/** The IPv6 InternalIP of node number index on the underlay: fd00:172:31:: + 10 + index, as 172.31.0.(10+index). */
export function nodeUnderlayIP6(index: number): string {
  return formatIPv6(parseCIDR6(LAB_ADDRESSES_V6.underlayCIDR).network + BigInt(10 + index));
}

/** The address every node's IPv6 default route points at on the underlay (nothing answers there, as for IPv4). */
export const UNDERLAY_GATEWAY_V6 = formatIPv6(parseCIDR6(LAB_ADDRESSES_V6.underlayCIDR).network + 1n);

/** The IPv6 side of node number index: its underlay address, pod /64, cni0 gateway (::1) and flannel-v6.1 VTEP. */
export function planNodeNetV6(index: number): NodeNetV6 {
  const podCIDR = nodePodCIDR6(index);
  const { network } = parseCIDR6(podCIDR);
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return {
    underlayIP: nodeUnderlayIP6(index),
    podCIDR,
    gatewayIP: formatIPv6(network + 1n),
    vtepIP: formatIPv6(network),
    // Locally administered unicast, distinct from flannel.1's 0e:6e:64:... per node.
    vtepMAC: `0e:6e:66:00:${hex(index >> 8)}:${hex(index & 255)}`,
  };
}

/**
 * A pod's IPv6 address: the same host offset inside the node's IPv6 range as its IPv4 address has inside the node's
 * IPv4 range (10.244.1.5 → fd00:10:244:1::5), so both families of a pod read alike.
 */
export function podIPv6For(ipv4: string, podCIDR: string, podCIDR6: string): string {
  const offset = parseIPv4(ipv4) - parseCIDR(podCIDR).network;
  return formatIPv6(parseCIDR6(podCIDR6).network + BigInt(offset));
}

/** The IPv6 ClusterIP at the given offset of the IPv6 service range (0x0a is the cluster DNS). */
export function serviceIPv6At(offset: number): string {
  return formatIPv6(parseCIDR6(LAB_ADDRESSES_V6.serviceCIDR).network + BigInt(offset));
}
