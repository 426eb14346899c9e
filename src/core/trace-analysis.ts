/**
 * What a hop-by-hop trace shows: per hop and per direction what was seen (SYN, SYN-ACK, RST, ICMP, DNS), the last hop
 * where the request was seen and the first where it was not, the same for the reply walking back, and one sentence that
 * says where the packet was lost (e.g. "SYN leaves node-1 underlay, never reaches node-2 underlay: between the nodes").
 * Pure: from the plan and the parsed captures to the `trace` field of the Report.
 */
import type { CapturedPacket, PacketKind } from './trace-parse.ts';
import type { HopRole, TraceFlow, TracePlan } from './trace-plan.ts';

/** How a hop's capture went: captured (maybe nothing), or not captured and why. */
export type HopCapture = { kind: 'captured'; device: string } | { kind: 'not-captured'; reason: string };

/** One hop of the Report's trace: what the request and the reply showed there. */
export interface TraceHopResult {
  id: string;
  label: string;
  role: HopRole;
  node: string;
  capture: HopCapture;
  /** Kinds of the packets seen going towards the destination, in first-seen order. */
  forward: PacketKind[];
  /** Kinds of the packets seen coming back to the source (replies, ICMP errors), in first-seen order. */
  reverse: PacketKind[];
  /** The capture lines (tcpdump's text, at most TRACE_LINES_PER_HOP) for the drill-down. */
  lines: string[];
  /** Whether the pcap was saved (`--capture-dir`): its file name. */
  pcap?: string;
}

/** Where a direction's packets were last seen and first missed along the path (hop ids; absent: none such). */
export interface TraceWalk {
  /** The packet followed: the request's first kind (e.g. `syn`) or the reply's (e.g. `syn-ack`). */
  packet?: PacketKind;
  lastSeen?: string;
  firstMissing?: string;
}

/** The `trace` field of the Report (since 0.2.0): the hops in path order and where each direction stopped. */
export interface TraceReport {
  /** `trace:<probe id>`: what findings cite. */
  id: string;
  /** The probe that was repeated while capturing. */
  probe: string;
  /** Why the trace ran: asked for (`--trace`), or because the verdict was not certain. */
  reason: 'asked' | 'uncertain-verdict';
  flow: TraceFlow;
  hops: TraceHopResult[];
  forward: TraceWalk;
  reverse: TraceWalk;
  /** The hops that could not be captured on this path at all, and why. */
  unreachable: { label: string; reason: string }[];
  /** Where the packet was lost, in one sentence; absent when the trace does not localize it. */
  localized?: string;
  /** The node the loss is on, when it is inside one node. */
  node?: string;
  /**
   * Set when the flow is to a ClusterIP and the request was seen leaving the source's node still addressed to it (since
   * 0.2.0): no service proxy translated it; the node whose proxy did not, and the hop that proves it.
   */
  untranslated?: UntranslatedService;
  /** What the repeated probe observed (its observation kind). */
  outcome: string;
  /** How long the trace took (captures up, probe, captures collected). */
  durationMs: number;
}

/** A request to a ClusterIP that left its node untranslated: the node whose service proxy did not DNAT it, and where it was seen. */
export interface UntranslatedService {
  node: string;
  /** The hop id that saw the request leave (or arrive past) the node still addressed to the ClusterIP. */
  hop: string;
  packet: PacketKind;
  /** The sentence that says so. */
  text: string;
}

/** Capture lines kept per hop (the rest are counted). */
export const TRACE_LINES_PER_HOP = 20;

/** Which packets go towards the destination: from the source to a far end of the flow (a ping: echoes to the pod). */
function isForward(flow: TraceFlow, p: CapturedPacket): boolean {
  if (flow.echo) return p.kind === 'icmp-echo' && p.dst === flow.destination.ip;
  return p.src === flow.source && p.dst !== flow.source;
}

/** Which packets are about the flow coming back: to the source (answers, ICMP errors), or ICMP errors on the way. */
function isReverse(flow: TraceFlow, p: CapturedPacket): boolean {
  if (flow.echo && p.kind === 'icmp-echo') return p.src === flow.destination.ip;
  return p.dst === flow.source || (p.kind === 'icmp-frag-needed' || p.kind === 'icmp-unreachable');
}

const REQUESTS: readonly PacketKind[] = ['syn', 'dns-query', 'udp', 'data', 'ack'];
const REPLIES: readonly PacketKind[] = ['syn-ack', 'rst', 'dns-answer', 'icmp-unreachable', 'icmp-frag-needed', 'udp', 'data', 'ack'];
/** A full-size ping follows its echo request, and its echo reply or an ICMP error back. */
const ECHO_REQUESTS: readonly PacketKind[] = ['icmp-echo'];
const ECHO_REPLIES: readonly PacketKind[] = ['icmp-echo', 'icmp-frag-needed', 'icmp-unreachable'];

/** What a hop's packets were, per direction, in first-seen order. */
export function classifyHop(flow: TraceFlow, packets: readonly CapturedPacket[]): { forward: PacketKind[]; reverse: PacketKind[] } {
  const forward: PacketKind[] = [];
  const reverse: PacketKind[] = [];
  for (const p of packets) {
    const into = isForward(flow, p) ? forward : isReverse(flow, p) ? reverse : undefined;
    if (into && !into.includes(p.kind)) into.push(p.kind);
  }
  return { forward, reverse };
}

/** Walks captured hops in order (the reply from where it starts): the last that saw `packet` before the first that did not. */
function walk(hops: readonly TraceHopResult[], dir: 'forward' | 'reverse', packet: PacketKind | undefined): TraceWalk {
  if (!packet) return {};
  const captured = hops.filter((h) => h.capture.kind === 'captured');
  // A reply starts where it was first seen from the destination's end (the destination, or a node that answered with
  // an ICMP error on its behalf); the request starts at the source pod.
  const reversed = [...captured].reverse();
  const origin = reversed.findIndex((h) => h.reverse.includes(packet));
  const ordered = dir === 'forward' ? captured : reversed.slice(Math.max(0, origin));
  let lastSeen: string | undefined;
  for (const h of ordered) {
    if (h[dir].includes(packet)) lastSeen = h.id;
    else return { packet, ...(lastSeen ? { lastSeen } : {}), firstMissing: h.id };
  }
  return { packet, ...(lastSeen ? { lastSeen } : {}) };
}

/** The first kind seen at any hop, in path order, among those a direction follows. */
function followed(hops: readonly TraceHopResult[], dir: 'forward' | 'reverse', kinds: readonly PacketKind[]): PacketKind | undefined {
  const ordered = dir === 'forward' ? hops : [...hops].reverse();
  for (const k of kinds) if (ordered.some((h) => h[dir].includes(k))) return k;
  return undefined;
}

const PACKET_NAMES: Record<PacketKind, string> = {
  syn: 'SYN',
  'syn-ack': 'SYN-ACK',
  rst: 'RST',
  fin: 'FIN',
  ack: 'ACK',
  data: 'data',
  'icmp-unreachable': 'ICMP unreachable',
  'icmp-frag-needed': 'ICMP fragmentation needed',
  'icmp-echo': 'ICMP echo',
  'icmp-other': 'ICMP',
  'dns-query': 'DNS query',
  'dns-answer': 'DNS answer',
  udp: 'UDP',
  other: 'packet',
};

/** A packet kind as the reports name it. */
export function packetName(kind: PacketKind): string {
  return PACKET_NAMES[kind];
}

/** Where between two hops a packet was lost, in words, and the node when it is inside one. */
function between(a: TraceHopResult, b: TraceHopResult): { where: string; node?: string } {
  if (a.role === 'underlay' && b.role === 'underlay' && a.node !== b.node) return { where: 'between the nodes (the underlay network)' };
  if (a.node !== b.node) return { where: `between ${a.node} and ${b.node}` };
  if (a.role === 'pod' || b.role === 'pod') return { where: `between the pod and ${a.node}`, node: a.node };
  return { where: `inside ${a.node}, between its ${a.capture.kind === 'captured' ? a.capture.device : a.label} and ${b.capture.kind === 'captured' ? b.capture.device : b.label}`, node: a.node };
}

/** The hop's name in a sentence: `node-1's flannel.1`. */
function hopName(h: TraceHopResult): string {
  if (h.role === 'pod') return h.id.startsWith('destination-pod/') ? "the destination pod's eth0" : 'the source pod';
  const dev = h.capture.kind === 'captured' ? h.capture.device : h.label;
  return `${h.node}'s ${dev}${h.role === 'underlay' ? ' (underlay)' : h.role === 'veth' ? ' (pod veth)' : ''}`;
}

/** The sentence that localizes the loss, and its node, from the two walks. */
export function localize(hops: readonly TraceHopResult[], forward: TraceWalk, reverse: TraceWalk, requestName?: string): { text: string; node?: string } | undefined {
  const byId = new Map(hops.map((h) => [h.id, h]));
  const fLast = forward.lastSeen ? byId.get(forward.lastSeen) : undefined;
  const fMiss = forward.firstMissing ? byId.get(forward.firstMissing) : undefined;
  const req = requestName ?? (forward.packet ? packetName(forward.packet) : 'the request');
  if (fLast && fMiss) {
    const b = between(fLast, fMiss);
    // An ICMP error coming back says who turned the request away.
    const icmp = reverse.packet === 'icmp-unreachable' || reverse.packet === 'icmp-frag-needed' ? `; ${packetName(reverse.packet)} comes back` : '';
    return { text: `${req} leaves ${hopName(fLast)}, never reaches ${hopName(fMiss)}: ${b.where}${icmp}`, ...(b.node ? { node: b.node } : {}) };
  }
  if (!fLast && fMiss) return { text: `${req} never leaves ${fMiss.role === 'pod' ? 'the source pod' : fMiss.node}`, node: fMiss.node };
  if (!forward.packet) return undefined;
  // The request went all the way: the reply is what is missing (or the answer was a refusal).
  const rLast = reverse.lastSeen ? byId.get(reverse.lastSeen) : undefined;
  const rMiss = reverse.firstMissing ? byId.get(reverse.firstMissing) : undefined;
  const rep = reverse.packet ? packetName(reverse.packet) : undefined;
  const last = hops.filter((h) => h.capture.kind === 'captured').at(-1);
  if (!rep) return last ? { text: `${req} reaches ${hopName(last)}, and no answer comes back from the destination`, node: last.node } : undefined;
  // The destination turned the flow away itself: nothing was lost on the way.
  if ((reverse.packet === 'rst' || reverse.packet === 'icmp-unreachable') && !rMiss && last && last.reverse.includes(reverse.packet)) {
    return { text: `${req} reaches ${hopName(last)}, and ${rep} comes back from the destination: it refuses the flow`, node: last.node };
  }
  if (rLast && rMiss) {
    const b = between(rLast, rMiss);
    return { text: `${req} reaches the destination; the ${rep} leaves ${hopName(rLast)}, never reaches ${hopName(rMiss)}: ${b.where}`, ...(b.node ? { node: b.node } : {}) };
  }
  return undefined;
}

/**
 * Whether the request to a ClusterIP left the source's node untranslated: a hop that sees packets after the node's
 * routing and NAT (its tunnel or underlay going out, or any hop of another node) saw the request still addressed to the
 * ClusterIP and port. The pod's eth0, its veth and the bridge see the request before the node's PREROUTING, where it
 * is addressed to the ClusterIP even when the proxy translates it, so they prove nothing. Undefined when the flow is no
 * Service's (nothing to translate), an echo, or the request was translated (or not seen past the node). Pure.
 */
export function untranslatedService(
  flow: TraceFlow,
  hops: readonly { id: string; role: HopRole; node: string; label: string; device?: string; packets: readonly CapturedPacket[] }[],
): UntranslatedService | undefined {
  if (flow.echo || flow.translated.length === 0) return undefined;
  const { ip, port } = flow.destination;
  if (flow.translated.some((t) => t.ip === ip && t.port === port)) return undefined;
  const first = hops.find((h) => h.role !== 'pod');
  if (!first) return undefined;
  const node = first.node;
  const requests = (h: (typeof hops)[number]) => h.packets.filter((p) => REQUESTS.includes(p.kind) && isForward(flow, p));
  // Translated anywhere: the proxy did its job, whatever is lost after.
  if (hops.some((h) => requests(h).some((p) => flow.translated.some((t) => t.ip === p.dst && (p.dstPort === undefined || t.port === p.dstPort))))) return undefined;
  for (const h of hops) {
    const past = h.node !== node || h.role === 'tunnel' || h.role === 'underlay';
    if (!past) continue;
    const p = requests(h).find((r) => r.dst === ip && r.dstPort === port);
    if (!p) continue;
    const name = packetName(p.kind);
    const where = `${h.node}'s ${h.device ?? h.label}${h.role === 'underlay' ? ' (underlay)' : ''}`;
    return {
      node,
      hop: h.id,
      packet: p.kind,
      text: `${name} to ClusterIP ${ip}:${port} left ${node} untranslated (seen on ${where} still addressed to it): ${node}'s service proxy has no rule for it`,
    };
  }
  return undefined;
}

/** The Report's trace from the plan and each hop's parsed capture (or why it was not captured). Pure. */
export function analyzeTrace(
  plan: TracePlan,
  captures: ReadonlyMap<string, { device: string; packets: CapturedPacket[]; lines: string[]; pcap?: string } | { error: string }>,
  run: { reason: TraceReport['reason']; outcome: string; durationMs: number },
): TraceReport {
  const hops: TraceHopResult[] = plan.hops.map((hop) => {
    const c = captures.get(hop.id);
    const base = { id: hop.id, label: hop.label, role: hop.role, node: hop.node };
    if (!c) return { ...base, capture: { kind: 'not-captured', reason: 'no capture ran at this hop' }, forward: [], reverse: [], lines: [] };
    if ('error' in c) return { ...base, capture: { kind: 'not-captured', reason: c.error }, forward: [], reverse: [], lines: [] };
    const seen = classifyHop(plan.flow, c.packets);
    const more = c.lines.length - TRACE_LINES_PER_HOP;
    return {
      ...base,
      capture: { kind: 'captured', device: c.device },
      ...seen,
      lines: more > 0 ? [...c.lines.slice(0, TRACE_LINES_PER_HOP), `… ${more} more`] : c.lines,
      ...(c.pcap ? { pcap: c.pcap } : {}),
    };
  });
  const { echo } = plan.flow;
  const forward = walk(hops, 'forward', followed(hops, 'forward', echo ? ECHO_REQUESTS : REQUESTS));
  const reverse = walk(hops, 'reverse', followed(hops, 'reverse', echo ? ECHO_REPLIES : REPLIES));
  const localized = localize(hops, forward, reverse, echo ? `the full-size ping (${echo.size} bytes, don't fragment) from ${echo.from}` : undefined);
  // A request that left its node still addressed to the ClusterIP was lost because no proxy translated it: that node is
  // where the fault is, wherever its routes then took the packet.
  const untranslated = untranslatedService(
    plan.flow,
    plan.hops.flatMap((hop) => {
      const c = captures.get(hop.id);
      return c && !('error' in c) ? [{ id: hop.id, role: hop.role, node: hop.node, label: hop.label, device: c.device, packets: c.packets }] : [];
    }),
  );
  const where = untranslated ? { text: untranslated.text, node: untranslated.node } : localized;
  return {
    id: `trace:${plan.probe}`,
    probe: plan.probe,
    reason: run.reason,
    flow: plan.flow,
    hops,
    forward,
    reverse,
    unreachable: plan.unreachable,
    ...(where ? { localized: where.text, ...(where.node ? { node: where.node } : {}) } : {}),
    ...(untranslated ? { untranslated } : {}),
    outcome: run.outcome,
    durationMs: run.durationMs,
  };
}

/** A hop's marks in the path diagram: ✓ with what was seen, ✗ when nothing of the flow, `-` when not captured. */
export function hopMarks(h: TraceHopResult): string {
  if (h.capture.kind === 'not-captured') return `- not captured: ${h.capture.reason}`;
  const f = h.forward.map(packetName).join(', ');
  const r = h.reverse.map(packetName).join(', ');
  if (!f && !r) return '✗ nothing seen';
  return `${f ? `✓ → ${f}` : '✗ →'}${r ? `  ← ${r}` : '  ← nothing'}`;
}
