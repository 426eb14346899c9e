/**
 * The TUI's views, each a pure function of the state from state.ts plus the terminal size: Header, Ladder,
 * PathDiagram, Verdict, MainView (those four together), DrillDown and Help. Colour only through `paint`, so NO_COLOR
 * gives plain text.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { describeDatapath } from '../core/datapath.ts';
import { hasClusterIP, type Finding } from '../core/model.ts';
import { shellJoin } from '../core/shell-quote.ts';
import { describeObservation, describeProbeLocation, describeProbeTarget, classifyObservation } from '../core/diagnose/describe.ts';
import { formatDuration } from '../report/text.ts';
import { familyTag } from '../report/families.ts';
import { traceCaptureLines, traceDiagram, traceHeadline } from '../report/trace-text.ts';
import type { TraceReport } from '../core/trace-analysis.ts';
import { derivePath, objectsOfRow, RESOLVING, type Hop, type HopState, type LadderRow, type RowStatus, type TuiState } from './state.ts';

/** The colours the views use; `undefined` means the terminal default. */
export type Tone = 'green' | 'red' | 'yellow' | 'cyan' | 'gray' | undefined;

/** Spinner frames shown while a row runs. */
export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;

/** Picks a colour only when colour is on. */
function paint(color: boolean, tone: Tone): Tone {
  return color ? tone : undefined;
}

/** The mark and tone of a row status (the spinner frame while running). */
export function markForStatus(status: RowStatus, tick: number): { mark: string; tone: Tone } {
  switch (status) {
    case 'pending':
      return { mark: '·', tone: 'gray' };
    case 'running':
      return { mark: SPINNER[tick % SPINNER.length] ?? '⠋', tone: 'cyan' };
    case 'passed':
      return { mark: '✓', tone: 'green' };
    case 'failed':
      return { mark: '✗', tone: 'red' };
    case 'skipped':
      return { mark: '–', tone: 'gray' };
    case 'could-not-run':
      return { mark: '?', tone: 'yellow' };
    case 'warn':
      return { mark: '!', tone: 'yellow' };
    default: {
      const never: never = status;
      throw new Error(`unknown row status ${String(never)}`);
    }
  }
}

/** The mark and tone of a hop state. */
export function markForHop(state: HopState): { mark: string; tone: Tone } {
  switch (state) {
    case 'good':
      return { mark: '✓', tone: 'green' };
    case 'dead':
      return { mark: '✗', tone: 'red' };
    case 'unknown':
      return { mark: '?', tone: 'gray' };
    case 'n/a':
      return { mark: '–', tone: 'gray' };
    default: {
      const never: never = state;
      throw new Error(`unknown hop state ${String(never)}`);
    }
  }
}

const LABEL_WIDTH = 14;

/** Pads or cuts a label to exactly `width` characters. */
function fitLabel(label: string, width: number): string {
  return label.length > width ? `${label.slice(0, width - 1)}…` : label.padEnd(width);
}

/** One line that never wraps: cut at the terminal edge. */
function Line(props: { children: ReactNode; color?: Tone; bold?: boolean; dim?: boolean; inverse?: boolean }): ReactNode {
  return (
    <Text wrap="truncate-end" color={props.color} bold={props.bold} dimColor={props.dim} inverse={props.inverse}>
      {props.children}
    </Text>
  );
}

/** The header: context, SRC → DST with addresses and nodes, elapsed time; `interrupted` for the frame left after Ctrl-C. */
export function Header(props: { state: TuiState; elapsedMs: number; color: boolean; interrupted?: boolean }): ReactNode {
  const { state, color } = props;
  const s = state.source;
  const d = state.destination;
  // Before resolution: the targets as given (or nothing yet), marked as resolving.
  const src = s ? (s.kind === 'pod' ? `${s.namespace}/${s.name} ${s.ip} (${s.node})` : `node ${s.name} ${s.ip}`) : state.sourceText || 'source';
  const dst = d
    ? d.kind === 'service'
      ? `svc ${d.namespace}/${d.name} ${hasClusterIP(d) ? d.clusterIP : 'headless'}:${d.port.port} → ${d.endpoints.map((e) => `${e.ip}:${e.port}${e.node ? ` (${e.node})` : ''}`).join(', ') || 'no endpoints'}`
      : d.kind === 'pod'
        ? `${d.namespace}/${d.name} ${d.ip}:${d.port} (${d.node})`
        : d.kind === 'node'
          ? `node ${d.name} ${d.ip}:${d.port}`
          : `${d.host}:${d.port}`
    : state.destinationText || 'destination';
  const done = state.exitCode !== undefined;
  return (
    <Box flexDirection="column">
      <Line>
        <Text bold>kubectl netdebug</Text>
        {state.context ? `  context ${state.context}` : ''}
        {`  ${done ? 'took' : 'elapsed'} ${formatDuration(props.elapsedMs)}`}
        {done ? '' : props.interrupted ? <Text color={paint(color, 'yellow')}>{'  interrupted'}</Text> : <Text color={paint(color, 'cyan')}>{'  running…'}</Text>}
      </Line>
      <Line>{`${src} → ${dst}${s && d ? '' : `  (${RESOLVING})`}`}</Line>
      {state.datapath ? <Line dim>{`datapath ${describeDatapath(state.datapath)}`}</Line> : null}
    </Box>
  );
}

/** The ladder: one line per row in a stable order, the selected one marked with ›. */
export function Ladder(props: { rows: LadderRow[]; selected: number; tick: number; color: boolean; showCursor: boolean }): ReactNode {
  // A fixed label width, so rows appended later (node checks) never shift the finished ones.
  const width = LABEL_WIDTH;
  return (
    <Box flexDirection="column">
      <Line bold>Ladder</Line>
      {props.rows.map((r, i) => {
        const { mark, tone } = markForStatus(r.status, props.tick);
        const sel = props.showCursor && i === props.selected;
        const duration = r.durationMs !== undefined && r.status !== 'skipped' && r.status !== 'pending' && r.status !== 'running' ? formatDuration(r.durationMs) : '';
        return (
          <Line key={r.key} inverse={sel && props.color}>
            {sel ? '›' : ' '} <Text color={paint(props.color, tone)}>{mark}</Text> {fitLabel(r.label, width)} {duration.padStart(6)}  {r.status === 'skipped' ? `skipped: ${r.summary}` : r.summary}
          </Line>
        );
      })}
    </Box>
  );
}

function HopLine(props: { hop: Hop; color: boolean; first: boolean }): ReactNode {
  const { hop, color } = props;
  const { mark, tone } = markForHop(hop.state);
  return (
    <Line>
      {props.first ? '  ' : '  ↓ '}
      <Text color={paint(color, tone)} bold={hop.state === 'dead'}>
        {mark} {hop.title}
      </Text>
      {hop.note ? <Text color={paint(color, 'red')} bold>{`  ◀ ${hop.note}`}</Text> : ''}
      {`  ${hop.detail}`}
    </Line>
  );
}

/** The packet path: source pod → source node → overlay → destination node → destination, DNS on the title line. */
export function PathDiagram(props: { state: TuiState; color: boolean }): ReactNode {
  const path = derivePath(props.state);
  const dns = markForHop(path.dns.state);
  return (
    <Box flexDirection="column">
      <Line>
        <Text bold>Packet path</Text>
        {'   DNS '}
        <Text color={paint(props.color, dns.tone)} bold={path.dns.state === 'dead'}>
          {dns.mark}
        </Text>
        {path.dns.note ? <Text color={paint(props.color, 'red')} bold>{` ◀ ${path.dns.note}`}</Text> : ''}
        {` ${path.dns.detail}`}
      </Line>
      {path.chain.map((h, i) => (
        <HopLine key={h.id} hop={h} color={props.color} first={i === 0} />
      ))}
    </Box>
  );
}

/** The hop-by-hop trace: each hop in path order with what was seen there (✓/✗), and where the packet was lost. */
export function TracePath(props: { trace: TraceReport; color: boolean }): ReactNode {
  const t = props.trace;
  return (
    <Box flexDirection="column">
      <Line>
        <Text bold>Trace</Text>
        {`  ${traceHeadline(t)}`}
      </Line>
      {traceDiagram(t).map((l, i) => (
        <Line key={`hop${i}`}>
          {'  '}
          <Text color={paint(props.color, l.tone === 'ok' ? 'green' : l.tone === 'lost' ? 'red' : 'gray')}>{l.text}</Text>
        </Line>
      ))}
      {t.localized ? <Line bold>{`  ▶ ${t.localized}`}</Line> : null}
    </Box>
  );
}

/** The verdict: cause, where, the evidence in a line, and the fix commands (as many as `maxLines` allows). */
export function Verdict(props: { verdict: Finding | undefined; findings: Finding[]; color: boolean; maxLines: number }): ReactNode {
  const v = props.verdict;
  if (!v) return <Line dim>Verdict: waiting for the ladder…</Line>;
  const tone: Tone = v.status === 'healthy' ? 'green' : v.status === 'inconclusive' ? 'yellow' : 'red';
  const mark = v.status === 'healthy' ? '✓' : v.status === 'inconclusive' ? '?' : '✗';
  const where = [v.node ? `node ${v.node}` : '', v.object ?? ''].filter((s) => s !== '').join(', ');
  const lines: ReactNode[] = [<Line key="sum">{`  ${v.summary}`}</Line>];
  if (v.evidence[0]) lines.push(<Line key="ev">{`  evidence: ${v.evidence[0]}${v.evidence.length > 1 ? ` (+${v.evidence.length - 1} more)` : ''}`}</Line>);
  v.hints.forEach((h, i) => lines.push(<Line key={`fix${i}`}>{`  ${i === 0 ? 'fix:' : '    '} ${h}`}</Line>));
  return (
    <Box flexDirection="column">
      <Line>
        <Text bold>Verdict </Text>
        <Text color={paint(props.color, tone)} bold>{v.cause === 'HEALTHY' ? `${mark} HEALTHY` : `${mark} ${v.status.toUpperCase()} ${v.cause}`}</Text>
        {v.component === 'none' ? '' : ` (${v.component})`}
        {where ? `  at ${where}` : ''}
      </Line>
      {lines.slice(0, Math.max(0, props.maxLines - 1))}
    </Box>
  );
}

/** The main screen: header, ladder, packet path, verdict (cut to `verdictLines`) and, when given, the key line. */
export function MainView(props: { state: TuiState; elapsedMs: number; selected: number; tick: number; color: boolean; showCursor: boolean; verdictLines: number; footer?: string; interrupted?: boolean }): ReactNode {
  const { state, color } = props;
  return (
    <>
      <Header state={state} elapsedMs={props.elapsedMs} color={color} interrupted={props.interrupted === true} />
      <Ladder rows={state.rows} selected={props.selected} tick={props.tick} color={color} showCursor={props.showCursor} />
      <PathDiagram state={state} color={color} />
      {state.trace ? <TracePath trace={state.trace} color={color} /> : null}
      <Verdict verdict={state.verdict} findings={state.findings} color={color} maxLines={props.verdictLines} />
      {props.footer !== undefined ? <Line dim>{props.footer}</Line> : null}
    </>
  );
}

/** The lines of a row's drill-down: status and timing, objects, then every probe (command, where, result) or finding. */
export function buildDrillLines(row: LadderRow, state: TuiState): string[] {
  const src = state.source;
  const out: string[] = [];
  out.push(`${row.label}: ${row.status}${row.durationMs !== undefined ? ` in ${formatDuration(row.durationMs)}` : ''}`);
  if (row.summary) out.push(row.summary);
  const objects = objectsOfRow(row);
  if (objects.length > 0) out.push(`objects: ${objects.join(', ')}`);
  if (row.kind === 'trace') {
    const t = state.trace;
    if (!t) return [...out, '', 'The captures are running.'];
    out.push('', traceHeadline(t), '', ...traceDiagram(t).map((l) => `  ${l.text}`));
    if (t.localized) out.push('', `▶ ${t.localized}`);
    out.push('', 'Capture lines (tcpdump -nn -tt -e):', ...traceCaptureLines(t));
    return out;
  }
  if (row.kind === 'static') {
    if (row.findings.length === 0) out.push('', 'The Service, its EndpointSlices, the pods and the NetworkPolicies were read from the API; nothing is wrong in them.');
    for (const f of row.findings) {
      out.push('', `${f.status.toUpperCase()} ${f.cause} (${f.component})${f.object ? ` ${f.object}` : ''}`, `  ${f.summary}`);
      for (const e of f.evidence) out.push(`  evidence: ${e}`);
      for (const h of f.hints) out.push(`  fix: ${h}`);
    }
    return out;
  }
  if (row.probes.length === 0) out.push('', row.status === 'skipped' ? 'No probe ran: this rung does not apply to these targets.' : 'No probe has started yet.');
  row.probes.forEach((p, i) => {
    const where =
      p.spec.where.kind === 'source-pod'
        ? `source pod ${src?.kind === 'pod' ? `${src.namespace}/${src.name}` : src?.kind === 'node' ? src.name : ''} (ephemeral netdebug container)`.replace('  ', ' ')
        : `${describeProbeLocation(p.spec.where)}, netdebug debug pod`;
    out.push('', `[${i + 1}/${row.probes.length}] ${p.spec.check ?? p.spec.rung} · ${describeProbeTarget(p.spec.action)}${familyTag(p.spec.family)}`);
    // The probe's own argv, quoted for a POSIX shell; then what repeats it from a terminal: the kubectl exec into the
    // container it ran in (shown whole when the terminal is wide enough; the text report and JSON always have it whole).
    out.push(...`  $ ${shellJoin(p.spec.command)}`.split('\n'));
    if (p.repeat) out.push(...`  repeat:  ${p.repeat.command}`.split('\n'));
    if (p.repeat?.note) out.push(`  note:    ${p.repeat.note}`);
    if (p.repeat?.alternative) out.push(`  or:      ${p.repeat.alternative}`);
    out.push(`  where:   ${where}`);
    if (p.observation) {
      const outcome = classifyObservation(p.observation);
      out.push(`  result:  ${describeObservation(p.observation, p.spec.action)} (${outcome === 'value' ? 'read' : outcome === 'not-run' ? 'could not run' : outcome})`);
      out.push(`  took:    ${formatDuration(p.durationMs ?? 0)} of a ${formatDuration(p.spec.timeoutMs)} timeout`);
    } else {
      out.push('  result:  running…');
    }
    for (const line of citedBy(p.spec.id, state.findings)) out.push(`  cited:   ${line}`);
    if (p.spec.about) out.push(`  about:   ${p.spec.about.kind}/${p.spec.about.namespace ? `${p.spec.about.namespace}/` : ''}${p.spec.about.name}`);
    if (p.raw) {
      out.push(`  exit:    ${p.raw.exitCode ?? 'none (cut off at the timeout)'}`);
      for (const [name, text] of [['stdout', p.raw.stdout], ['stderr', p.raw.stderr]] as const) {
        const lines = text.replace(/\n$/, '').split('\n');
        if (text === '') out.push(`  ${name}:  (empty)`);
        else out.push(`  ${name}:`, ...lines.map((l: string) => `    ${l}`));
      }
    } else if (p.observation) {
      out.push('  output:  none (the command did not run)');
    }
  });
  return out;
}

/** What the findings say of one probe, from their citations: e.g. `cause of NODE_ROUTE_MISSING on node node-1`. */
function citedBy(probeId: string, findings: readonly Finding[] | undefined): string[] {
  const roleText = { cause: 'cause of', symptom: 'a symptom explained by', reference: 'reference for', 'not-run': 'left unchecked for' } as const;
  return (findings ?? []).flatMap((f) =>
    (f.citations ?? []).filter((c) => c.probe === probeId).map((c) => `${roleText[c.role]} ${f.cause}${f.node ? ` on node ${f.node}` : f.object ? ` (${f.object})` : ''}`),
  );
}

/** The drill-down of one row: a scrollable view of buildDrillLines, `height` lines tall including its title. */
export function DrillDown(props: { row: LadderRow; state: TuiState; offset: number; height: number; color: boolean }): ReactNode {
  const lines = buildDrillLines(props.row, props.state);
  const body = Math.max(1, props.height - 2);
  const offset = clampOffset(props.offset, lines.length, body);
  const visible = lines.slice(offset, offset + body);
  return (
    <Box flexDirection="column">
      <Line>
        <Text bold>{props.row.label}</Text>
        {`  lines ${lines.length === 0 ? 0 : offset + 1}–${offset + visible.length} of ${lines.length}`}
      </Line>
      {visible.map((l, i) => (
        <Line key={i} color={l.startsWith('  $ ') || l.startsWith('  repeat:  ') ? paint(props.color, 'cyan') : undefined}>
          {l === '' ? ' ' : l}
        </Line>
      ))}
      <Line dim>↑/↓ j/k scroll · PgUp/PgDn page · Esc back · q quit</Line>
    </Box>
  );
}

/** Keeps a scroll offset inside [0, total - visible]. */
export function clampOffset(offset: number, total: number, visible: number): number {
  return Math.max(0, Math.min(offset, total - visible));
}

/** The key help overlay. */
export function Help(): ReactNode {
  const keys: [string, string][] = [
    ['↑/↓  j/k', 'select a rung or check'],
    ['Enter', 'open its drill-down: commands, where they ran, results'],
    ['Esc', 'back to the ladder'],
    ['PgUp/PgDn', 'scroll a drill-down by a page'],
    ['?', 'show or hide this help'],
    ['q', 'quit (exit code = the verdict\'s)'],
    ['Ctrl-C', 'interrupt: clean up the debug pods and exit 130'],
  ];
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Line bold>Keys</Line>
      {keys.map(([k, what]) => (
        <Line key={k}>{`${k.padEnd(11)} ${what}`}</Line>
      ))}
    </Box>
  );
}
