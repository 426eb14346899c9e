/**
 * Reads tcpdump's text (`tcpdump -nn -tt -e -r FILE`, with `-T vxlan` on an overlay's underlay) into packets: the flow
 * (the innermost IPv4 or IPv6 header, so a VXLAN packet is read by what it carries) and what the packet is for the trace (SYN,
 * SYN-ACK, RST, ICMP unreachable or fragmentation needed, DNS query or answer). Pure; tested on captures from the lab.
 */

/** What a captured packet is, as far as the trace cares. */
export type PacketKind =
  | 'syn'
  | 'syn-ack'
  | 'rst'
  | 'fin'
  | 'ack'
  | 'data'
  | 'icmp-unreachable'
  | 'icmp-frag-needed'
  | 'icmp-echo'
  | 'icmp-other'
  | 'dns-query'
  | 'dns-answer'
  | 'udp'
  | 'other';

/** One packet of a capture. */
export interface CapturedPacket {
  /** Seconds since the epoch (tcpdump -tt). */
  time: number;
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  kind: PacketKind;
  /** Set when the packet was read inside VXLAN: the outer addresses. */
  outer?: { src: string; dst: string };
  /** The lines tcpdump printed for it, joined. */
  line: string;
}

const START = /^(\d+\.\d+) /;
/** An address as tcpdump -nn prints it: dotted IPv4, or IPv6 in its compressed form (`fd00:10:244:1::3`). */
const ADDR = String.raw`(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{0,4}:[0-9a-f:]*[0-9a-f:])`;
/** `SRC[.PORT] > DST[.PORT]: ` of either family (tcpdump joins an IPv6 address and its port with a dot too). */
const FLOW = new RegExp(String.raw`(?<![0-9a-f:.])${ADDR}(?:\.(\d+))? > ${ADDR}(?:\.(\d+))?: `, 'g');

/** What the text after a flow says the packet is. */
function kindOf(rest: string, srcPort: number | undefined, dstPort: number | undefined): PacketKind {
  const flags = /^Flags \[([^\]]*)\]/.exec(rest);
  if (flags) {
    const f = flags[1] ?? '';
    if (f.includes('R')) return 'rst';
    if (f.includes('S')) return f.includes('.') ? 'syn-ack' : 'syn';
    if (f.includes('F')) return 'fin';
    const len = /length (\d+)/.exec(rest.slice(flags[0].length));
    return len && Number(len[1]) > 0 ? 'data' : 'ack';
  }
  if (rest.startsWith('ICMP6')) {
    if (/packet too big/.test(rest)) return 'icmp-frag-needed';
    if (/destination unreachable/.test(rest)) return 'icmp-unreachable';
    if (/^ICMP6, echo (request|reply)/.test(rest)) return 'icmp-echo';
    return 'icmp-other';
  }
  if (rest.startsWith('ICMP ')) {
    if (/need to frag/.test(rest)) return 'icmp-frag-needed';
    if (/unreachable/.test(rest)) return 'icmp-unreachable';
    if (/^ICMP echo (request|reply)/.test(rest)) return 'icmp-echo';
    return 'icmp-other';
  }
  if (dstPort === 53 && /^\d+\+? /.test(rest)) return 'dns-query';
  if (srcPort === 53 && /^\d+[*-]* /.test(rest)) return 'dns-answer';
  if (/^UDP\b/.test(rest) || srcPort !== undefined) return 'udp';
  return 'other';
}

/** Parses one packet's text (its first line starts with the timestamp); undefined when it carries no IP flow. */
function parsePacket(text: string): CapturedPacket | undefined {
  const time = Number(START.exec(text)?.[1]);
  const flows = [...text.matchAll(FLOW)];
  const last = flows.at(-1);
  if (!last || Number.isNaN(time)) return undefined;
  const srcPort = last[2] !== undefined ? Number(last[2]) : undefined;
  const dstPort = last[4] !== undefined ? Number(last[4]) : undefined;
  const rest = text.slice((last.index ?? 0) + last[0].length).split('\n')[0] ?? '';
  const outerFlow = flows.length > 1 && /VXLAN|OTV/.test(text) ? flows[0] : undefined;
  return {
    time,
    src: last[1] ?? '',
    dst: last[3] ?? '',
    ...(srcPort !== undefined ? { srcPort } : {}),
    ...(dstPort !== undefined ? { dstPort } : {}),
    kind: kindOf(rest, srcPort, dstPort),
    ...(outerFlow ? { outer: { src: outerFlow[1] ?? '', dst: outerFlow[3] ?? '' } } : {}),
    line: text.replace(/\n\s*/g, ' | '),
  };
}

/** Every packet of tcpdump's text output, in order (lines that start no packet continue the one before). */
export function parseTcpdumpText(text: string): CapturedPacket[] {
  const packets: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (START.test(line) || packets.length === 0) packets.push(line);
    else packets[packets.length - 1] += `\n${line}`;
  }
  return packets.flatMap((p) => {
    const parsed = parsePacket(p);
    return parsed ? [parsed] : [];
  });
}
