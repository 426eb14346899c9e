/**
 * The text reporter: streams a readable ladder (one line per rung, in ladder order, as soon as it and the rungs above it
 * finished), then the node checks and a verdict block with evidence and fixes. Colour only when asked for.
 */
import { hasClusterIP, NODE_CHECK_IDS, RUNG_IDS, type Finding, type ProbeObservation, type ProbeResult, type ResolvedDestination, type ResolvedSource, type RunEvent, type RungResult, type RungStatus } from '../core/model.ts';
import { describeDatapath, type Datapath } from '../core/datapath.ts';
import { notCheckedLines } from './not-checked.ts';
import { readNodeCheck, type NodeCheckRole } from '../core/node-checks.ts';
import { describeObservation, describeProbeLocation, describeProbeTarget } from '../core/diagnose/describe.ts';
import { familyTag, familyTally, hostPort, otherAddresses } from './families.ts';
import type { OutputStream, Reporter } from './reporter.ts';
import type { TraceReport } from '../core/trace-analysis.ts';
import { traceDiagram, traceHeadline } from './trace-text.ts';

/** Text reporter options. */
export interface TextReporterOptions {
  /** Write ANSI colours (decide with shouldUseColor). */
  color: boolean;
  /** Evidence lines shown per finding before eliding the rest (default 8). */
  maxEvidence?: number;
}

type Paint = (s: string) => string;
interface Palette {
  green: Paint;
  red: Paint;
  yellow: Paint;
  dim: Paint;
  bold: Paint;
}

function createPalette(color: boolean): Palette {
  const wrap = (open: number, close: number): Paint => (color ? (s) => `\u001b[${open}m${s}\u001b[${close}m` : (s) => s);
  return { green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

/** The mark for a rung status: ✓ passed, ✗ failed, – skipped, ? could not run. */
export function markForRung(status: RungStatus): string {
  switch (status) {
    case 'passed':
      return '✓';
    case 'failed':
      return '✗';
    case 'skipped':
      return '–';
    case 'error':
      return '?';
    default: {
      const never: never = status;
      throw new Error(`unknown rung status ${String(never)}`);
    }
  }
}

/** Formats milliseconds as `850ms` or `2.0s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** Creates the `-o text` reporter writing to `out`. */
export function createTextReporter(out: OutputStream, opts: TextReporterOptions): Reporter {
  const p = createPalette(opts.color);
  const maxEvidence = opts.maxEvidence ?? 8;
  const finished = new Map<string, RungResult>();
  const nodeChecks: ProbeResult[] = [];
  /** Every finished probe that has a command to repeat it by hand, in the order they finished. */
  const repeatable: ProbeResult[] = [];
  const results: ProbeResult[] = [];
  let printedRungs = 0;
  let header: string | undefined;
  let sourceNode = '';
  let datapath: Datapath | undefined;
  let trace: TraceReport | undefined;
  const write = (line = ''): void => void out.write(`${line}\n`);
  const statusPaint = (status: RungStatus): Paint =>
    status === 'passed' ? p.green : status === 'failed' ? p.red : status === 'error' ? p.yellow : p.dim;
  const nameWidth = Math.max(...RUNG_IDS.map((r) => r.length));

  const flushRungs = (): void => {
    while (printedRungs < RUNG_IDS.length) {
      const rung = finished.get(RUNG_IDS[printedRungs] as string);
      if (!rung) return;
      if (printedRungs === 0) write(p.bold('Ladder'));
      const paint = statusPaint(rung.status);
      const duration = rung.status === 'skipped' ? '' : formatDuration(rung.durationMs);
      // A dual-stack run says how each family did.
      const tally = rung.status === 'skipped' ? '' : familyTally(rung.probes);
      const summary = rung.status === 'skipped' ? p.dim(`skipped: ${rung.summary}`) : `${rung.summary}${tally ? ` (${tally})` : ''}`;
      write(`  ${paint(markForRung(rung.status))} ${rung.id.padEnd(nameWidth)}  ${duration.padStart(6)}  ${summary}`);
      printedRungs += 1;
    }
  };

  /** Node checks, each read against the verdict (core/node-checks.ts): the cause marked, symptoms explained. */
  const writeNodeChecks = (verdict: Finding): void => {
    if (nodeChecks.length === 0) return;
    write();
    write(p.bold('Node checks'));
    // A check the source pod ran (it shares its node's bridge) is listed with its node.
    const nodeOf = (r: ProbeResult): string => (r.spec.where.kind === 'node-pod' ? r.spec.where.node : sourceNode);
    const nodes = [...new Set([sourceNode, ...nodeChecks.map(nodeOf).sort()])].filter((n) => nodeChecks.some((c) => nodeOf(c) === n));
    const order = (r: ProbeResult): number => NODE_CHECK_IDS.indexOf(r.spec.check ?? 'mtu');
    const width = Math.max(...nodes.map((n) => n.length));
    for (const node of nodes) {
      for (const r of nodeChecks.filter((c) => nodeOf(c) === node).sort((a, b) => order(a) - order(b))) {
        const { judged, role } = readNodeCheck(r, verdict, datapath?.network);
        const mark = role === 'evidence' ? p.dim('·') : judged === 'ok' ? p.green('✓') : judged === 'fail' ? p.red('✗') : judged === 'warn' ? p.yellow('!') : p.yellow('?');
        const what = r.observation.kind === 'sysctl' || r.observation.kind === 'forward-policy' ? describeObservation(r.observation, r.spec.action) : `${describeProbeTarget(r.spec.action)}: ${describeObservation(r.observation, r.spec.action)}`;
        const note = `${familyTag(r.spec.family)}${role === undefined ? '' : (role === 'cause' ? p.red : p.dim)(roleNote(role, r.observation.kind, verdict.cause))}`;
        write(`  ${mark} ${node.padEnd(width)}  ${what}${note}`);
      }
    }
  };

  /** The nodes netdebug could not enter (Windows), what did not run there and why (report/not-checked.ts). */
  const writeNotChecked = (): void => {
    const lines = notCheckedLines(results, sourceNode);
    if (lines.length === 0) return;
    write();
    write(p.bold('Not checked'));
    for (const line of lines) write(p.dim(`  ${line}`));
  };

  const writeFinding = (f: Finding, headline: string): void => {
    const paint = f.status === 'healthy' ? p.green : f.status === 'inconclusive' ? p.yellow : p.red;
    const mark = f.status === 'healthy' ? '✓' : f.status === 'inconclusive' ? '?' : '✗';
    const cause = f.cause === 'HEALTHY' ? '' : `  ${p.bold(f.cause)}${f.component === 'none' ? '' : p.dim(` (${f.component})`)}`;
    write(`${p.bold(headline)}  ${paint(`${mark} ${f.status.toUpperCase()}`)}${cause}`);
    const where = [f.node ? `node ${f.node}` : '', f.object ?? '', f.family ? `${f.family} only` : ''].filter((s) => s !== '').join(', ');
    if (where) write(`  where:  ${where}`);
    write(`  ${f.summary}`);
    if (f.evidence.length > 0) {
      write('  Evidence:');
      for (const e of f.evidence.slice(0, maxEvidence)) write(`    - ${e}`);
      if (f.evidence.length > maxEvidence) write(p.dim(`    … and ${f.evidence.length - maxEvidence} more (see -o json)`));
    }
    if (f.hints.length > 0) {
      write('  Fix:');
      for (const h of f.hints) write(`    - ${h}`);
    }
  };

  return {
    onEvent(event: RunEvent) {
      switch (event.type) {
        case 'run-started':
          // Written with the first resolved target, so a target that is not found prints its error alone.
          header = `${p.bold('kubectl netdebug')}  ${event.source} → ${event.destination}`;
          return;
        case 'target-resolved':
          if (header !== undefined) write(header);
          header = undefined;
          if (event.role === 'source') sourceNode = event.target.kind === 'pod' ? event.target.node : event.target.name;
          write(event.role === 'source' ? `  source       ${describeSource(event.target)}` : `  destination  ${describeDest(event.target)}`);
          return;
        case 'static-findings':
          if (event.findings.length === 0) {
            write(`  API          ${p.green('✓')} nothing wrong in the API objects`);
          } else {
            for (const f of event.findings) write(`  API          ${p.red('✗')} ${f.cause}: ${f.summary}`);
          }
          write();
          return;
        case 'rung-started':
        case 'probe-started':
          return;
        case 'probe-finished':
          results.push(event.result);
          if (event.result.spec.rung === 'node-checks') nodeChecks.push(event.result);
          if (event.result.repeat) repeatable.push(event.result);
          return;
        case 'rung-finished':
          finished.set(event.rung.id, event.rung);
          flushRungs();
          return;
        case 'datapath-detected':
          datapath = event.datapath;
          return;
        case 'trace-started':
          return;
        case 'trace-finished':
          trace = event.trace;
          return;
        case 'verdict-decided': {
          flushRungs();
          if (datapath) {
            write();
            write(`${p.bold('Datapath')}  ${describeDatapath(datapath)}`);
          }
          writeNodeChecks(event.verdict);
          if (trace) {
            write();
            write(`${p.bold('Trace')}  ${traceHeadline(trace)}`);
            for (const l of traceDiagram(trace)) write(`  ${(l.tone === 'ok' ? p.green : l.tone === 'lost' ? p.red : p.dim)(l.text)}`);
            if (trace.localized) write(`  ${p.bold('▶')} ${trace.localized}`);
          }
          writeNotChecked();
          write();
          writeFinding(event.verdict, 'Verdict');
          const others = event.findings.filter((f) => f !== event.verdict && f.status !== 'healthy' && f.cause !== event.verdict.cause);
          if (others.length > 0) {
            write();
            write(p.bold('Also found'));
            for (const f of others) write(`  ${f.status === 'inconclusive' ? '?' : '!'} ${f.cause}${f.node ? ` on ${f.node}` : ''}: ${f.summary}`);
          }
          if ((event.verdict.ruledOut ?? []).length > 0) {
            write();
            write(p.bold('Ruled out'));
            for (const line of event.verdict.ruledOut ?? []) write(p.dim(`  · ${line}`));
          }
          const notes = event.findings.filter((f) => f.status === 'healthy' && f.cause !== 'HEALTHY');
          if (notes.length > 0) {
            write();
            write(p.bold('Notes'));
            for (const f of notes) write(`  · ${f.cause}: ${f.summary}`);
          }
          for (const line of repeatLines(repeatable)) write(line !== '' && !line.startsWith(' ') ? p.bold(line) : line);
          return;
        }
        case 'run-finished': {
          const s = event.report.stats;
          write();
          write(p.dim(`took ${formatDuration(s.wallMs)} · ${s.apiRequests} API requests · ${s.execs} execs`));
          return;
        }
        default: {
          const never: never = event;
          throw new Error(`unknown event ${JSON.stringify(never)}`);
        }
      }
    },
  };
}

/**
 * The section that repeats every probe by hand: per location (in ladder order, then node checks), what it says of its
 * pod once, then each probe's command (a probe sampled N times once, marked ×N) and any alternative.
 */
export function repeatLines(results: readonly ProbeResult[]): string[] {
  if (results.length === 0) return [];
  const rank = (r: ProbeResult): number => (r.spec.rung === 'node-checks' ? RUNG_IDS.length + NODE_CHECK_IDS.indexOf(r.spec.check ?? 'mtu') / 100 : RUNG_IDS.indexOf(r.spec.rung));
  const byCommand = new Map<string, { r: ProbeResult; times: number }>();
  for (const r of [...results].sort((a, b) => rank(a) - rank(b))) {
    const command = r.repeat?.command ?? '';
    const seen = byCommand.get(command);
    if (seen) seen.times += 1;
    else byCommand.set(command, { r, times: 1 });
  }
  const groups = new Map<string, { r: ProbeResult; times: number }[]>();
  for (const entry of byCommand.values()) {
    const where = describeProbeLocation(entry.r.spec.where);
    groups.set(where, [...(groups.get(where) ?? []), entry]);
  }
  const out = ['', 'Repeat by hand (paste into a POSIX shell)'];
  for (const [where, entries] of groups) {
    out.push(`  ${where}`);
    const note = entries[0]?.r.repeat?.note;
    if (note) out.push(`    note: ${note}`);
    for (const { r, times } of entries) {
      out.push(`    # ${r.spec.check ?? r.spec.rung}: ${describeProbeTarget(r.spec.action)}${times > 1 ? ` (×${times})` : ''}`);
      out.push(`    $ ${r.repeat?.command ?? ''}`);
      if (r.repeat?.alternative) out.push(`    or: $ ${r.repeat.alternative}`);
    }
  }
  return out;
}

/** The note after a node check whose meaning the verdict changes. */
function roleNote(role: NodeCheckRole, kind: ProbeObservation['kind'], cause: string): string {
  switch (role) {
    case 'cause':
      return `  ◀ ${cause}`;
    case 'evidence':
      return `  (evidence for ${cause})`;
    case 'lossy-path':
      return '  (the overlay loses packets: a lost ping says nothing of its size)';
    case 'got-through':
      return "  (the flow's probes got through, so those rules accept it)";
    case 'path-down':
      return `  (no ping got through: the path is down${kind === 'mtu' ? ', not an MTU problem' : ''})`;
    default: {
      const never: never = role;
      throw new Error(`unknown role ${String(never)}`);
    }
  }
}

function describeSource(s: ResolvedSource): string {
  switch (s.kind) {
    case 'pod':
      return `pod ${s.namespace}/${s.name}${s.via ? ` (of ${s.via.kind} ${s.via.name})` : ''} on ${s.node}, ${[s.ip, ...(s.ips ?? []).filter((a) => a !== s.ip)].join(', ')}${s.hostNetwork ? ' (hostNetwork)' : ''}`;
    case 'node':
      return `node ${s.name}, ${[s.ip, ...(s.ips ?? []).filter((a) => a !== s.ip)].join(', ')}`;
    default: {
      const never: never = s;
      throw new Error(`unknown source ${JSON.stringify(never)}`);
    }
  }
}

function describeDest(d: ResolvedDestination): string {
  switch (d.kind) {
    case 'pod':
      return `pod ${d.namespace}/${d.name}${d.via ? ` (of ${d.via.kind} ${d.via.name})` : ''} on ${d.node}, ${hostPort(d.ip, d.port)}${otherAddresses(d)}${d.ready ? '' : ' (not ready)'}`;
    case 'service': {
      const ready = d.endpoints.filter((e) => e.ready).length;
      const vip = hasClusterIP(d) ? `${hostPort(d.clusterIP, d.port.port)}${otherAddresses(d)}` : `headless, port ${d.port.port}`;
      return `service ${d.namespace}/${d.name}, ${vip} → ${d.port.targetPort}, ${ready}/${d.endpoints.length} endpoints ready`;
    }
    case 'node':
      return `node ${d.name}, ${hostPort(d.ip, d.port)}${otherAddresses(d)}`;
    case 'address':
      return `${hostPort(d.host, d.port)}${d.ips.length > 0 && d.ips[0] !== d.host ? ` (${d.ips.join(', ')})` : ''}`;
    default: {
      const never: never = d;
      throw new Error(`unknown destination ${JSON.stringify(never)}`);
    }
  }
}
