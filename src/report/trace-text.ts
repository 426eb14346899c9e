/**
 * The trace as text, for the text report and the TUI: the path diagram (hops in order, ✓/✗ with what was seen going
 * and coming back), the sentence that localizes the loss, and each hop's capture lines for a drill-down.
 */
import { hopMarks, packetName, type TraceReport } from '../core/trace-analysis.ts';

/** One line of the path diagram. */
export interface TraceDiagramLine {
  /** `ok`: the request was seen here; `lost`: nothing of the flow; `none`: not captured. */
  tone: 'ok' | 'lost' | 'none';
  text: string;
}

/** The header of the trace: the flow and what the repeated probe saw. */
export function traceHeadline(t: TraceReport): string {
  const dst = `${t.flow.destination.ip}:${t.flow.destination.port}`;
  const via = t.flow.translated.length > 0 ? ` (→ ${t.flow.translated.map((e) => `${e.ip}:${e.port}`).join(', ')})` : '';
  const why = t.reason === 'asked' ? '--trace' : 'the verdict was not certain';
  if (t.flow.echo) return `ICMP echo ${t.flow.echo.size} bytes (don't fragment) from node ${t.flow.echo.from} → ${t.flow.destination.ip}, probe ${t.probe} repeated under capture (${t.outcome}; ${why})`;
  return `${t.flow.protocol} ${t.flow.source} → ${dst}${via}, probe ${t.probe} repeated under capture (${t.outcome}; ${why})`;
}

/** The path diagram: one line per hop, in path order. */
export function traceDiagram(t: TraceReport): TraceDiagramLine[] {
  const width = Math.max(...t.hops.map((h) => label(h).length));
  const lines: TraceDiagramLine[] = t.hops.map((h) => {
    const tone = h.capture.kind === 'not-captured' ? 'none' : h.forward.length > 0 || h.reverse.length > 0 ? 'ok' : 'lost';
    const stop = h.id === t.forward.firstMissing ? `  ◀ first hop without the ${t.forward.packet ? packetName(t.forward.packet) : 'request'}` : h.id === t.reverse.firstMissing && t.reverse.packet ? `  ◀ first hop without the ${packetName(t.reverse.packet)}` : '';
    return { tone, text: `${label(h).padEnd(width)}  ${hopMarks(h)}${stop}` };
  });
  for (const u of t.unreachable) lines.push({ tone: 'none', text: `${u.label.padEnd(width)}  - not captured: ${u.reason}` });
  return lines;
}

/** A hop's name in the diagram: its label with the interface found. */
function label(h: TraceReport['hops'][number]): string {
  return h.capture.kind === 'captured' && h.role === 'veth' ? `${h.node} ${h.capture.device} (veth)` : h.capture.kind === 'captured' && h.role === 'underlay' ? `${h.node} ${h.capture.device} (underlay)` : h.label;
}

/** The capture lines of every hop, headed by the hop, for the drill-down. */
export function traceCaptureLines(t: TraceReport): string[] {
  return t.hops.flatMap((h) => [
    `${label(h)}${h.pcap ? ` [${h.pcap}]` : ''}:`,
    ...(h.capture.kind === 'not-captured' ? [`  (not captured: ${h.capture.reason})`] : h.lines.length === 0 ? ['  (nothing of the flow)'] : h.lines.map((l) => `  ${l}`)),
  ]);
}
