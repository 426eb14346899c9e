/**
 * IP addresses and CIDRs of both families, in one place: parsing, family, and whether a CIDR contains an address.
 * Pure; no DNS. IPv6 text follows RFC 4291 (`::` compression, an embedded dotted IPv4 tail, zone ids refused).
 */

/** An address family as Kubernetes spells it (Service `ipFamilies`, EndpointSlice `addressType`). */
export type IPFamily = 'IPv4' | 'IPv6';

/** A parsed address: its family and its bytes (4 or 16). */
export interface ParsedIP {
  family: IPFamily;
  bytes: Uint8Array;
}

/** A parsed CIDR: the network's address and the prefix length. */
export interface ParsedCIDR {
  network: ParsedIP;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/** Parses a dotted-quad IPv4 address (no leading zeros beyond a single 0, as Go's net.ParseIP since 1.17). */
function parseIPv4Bytes(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return Uint8Array.from(parts.map(Number));
}

/** Parses an IPv6 address into 16 bytes. */
function parseIPv6Bytes(text: string): Uint8Array | null {
  if (!text.includes(':') || text.includes('%')) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4Bytes(part);
        if (!v4) return null;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else if (HEXTET.test(part)) {
        out.push(Number.parseInt(part, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Parses an IPv4 or IPv6 address; null when it is neither. */
export function parseIP(text: string): ParsedIP | null {
  const v4 = parseIPv4Bytes(text);
  if (v4) return { family: 'IPv4', bytes: v4 };
  const v6 = parseIPv6Bytes(text);
  return v6 ? { family: 'IPv6', bytes: v6 } : null;
}

/** Whether the text is an IPv4 address in dotted-quad form. */
export function isIPv4(text: string): boolean {
  return parseIPv4Bytes(text) !== null;
}

/** Whether the text is an IPv6 address. */
export function isIPv6(text: string): boolean {
  return parseIPv6Bytes(text) !== null;
}

/** The family of an address, or undefined when the text is no address. */
export function ipFamilyOf(text: string): IPFamily | undefined {
  return parseIP(text)?.family;
}

/** Parses `address/prefix` (a bare address is a host route: /32 or /128); null when malformed. */
export function parseCIDR(text: string): ParsedCIDR | null {
  const slash = text.indexOf('/');
  const network = parseIP(slash === -1 ? text : text.slice(0, slash));
  if (!network) return null;
  const max = network.bytes.length * 8;
  const prefixText = slash === -1 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= max ? { network, prefix } : null;
}

/** Whether the CIDR contains the address; addresses of the other family are never inside. */
export function cidrContains(cidr: string, address: string): boolean {
  const net = parseCIDR(cidr);
  const ip = parseIP(address);
  if (!net || !ip || net.network.family !== ip.family) return false;
  let bits = net.prefix;
  for (let i = 0; bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((net.network.bytes[i] as number) & mask) !== ((ip.bytes[i] as number) & mask)) return false;
  }
  return true;
}
