/**
 * The TUI's view state and the pure reducer `applyEvent(state, event)` that builds it from RunEvents: the header, the
 * ladder rows in a stable order (rows are only ever appended or updated in place, so finished lines never move), the
 * verdict, and per row the probes behind it for the drill-down. `derivePath` turns the state into the packet path.
 */
import { hasClusterIP, RUNG_IDS, formatObjectRef, type Finding, type ProbeObservation, type ProbeRaw, type ProbeSpec, type ResolvedDestination, type ResolvedSource, type RunEvent, type RungId, type RungStatus } from '../core/model.ts';
import { classifyObservation, describeObservation } from '../core/diagnose/describe.ts';
import type { Datapath, PodNetwork } from '../core/datapath.ts';
import { readNodeCheck } from '../core/node-checks.ts';
import { familyTally } from '../report/families.ts';
import type { ProbeRepeat } from '../core/repeat-command.ts';
import type { TraceReport } from '../core/trace-analysis.ts';

/** How a ladder row stands: `warn` is a node check that is only a fault if traffic fails. */
export type RowStatus = 'pending' | 'running' | 'passed' | 'failed' | 'skipped' | 'could-not-run' | 'warn';

/** One probe behind a row, as the drill-down shows it. */
export interface ProbeEntry {
  spec: ProbeSpec;
  /** Absent while the probe runs. */
  observation?: ProbeObservation;
  durationMs?: number;
  raw?: ProbeRaw;
  /** The command to paste to repeat the probe, when the run knew its container. */
  repeat?: ProbeRepeat;
}

/** One line of the ladder: the API (static) checks, a rung, or the node checks of one node. */
export interface LadderRow {
  key: string;
  kind: 'static' | 'rung' | 'node-checks' | 'trace';
  label: string;
  status: RowStatus;
  durationMs?: number;
  /** A one-line result; empty while pending. */
  summary: string;
  probes: ProbeEntry[];
  /** For the static row: the findings from the API objects. */
  findings: Finding[];
}

/** Everything the TUI shows, built only by applyEvent. */
export interface TuiState {
  /** The kubeconfig context, given by the caller (no event carries it). */
  context: string;
  sourceText: string;
  destinationText: string;
  /** Milliseconds since the epoch, from run-started. */
  startedAt?: number;
  /** The run's wall time, from run-finished. */
  wallMs?: number;
  source?: ResolvedSource;
  destination?: ResolvedDestination;
  rows: LadderRow[];
  verdict?: Finding;
  findings: Finding[];
  exitCode?: number;
  /** The cluster's datapath, once the node checks confirmed it. */
  datapath?: Datapath;
  /** The hop-by-hop trace, once it finished. */
  trace?: TraceReport;
}

const STATIC_KEY = 'static';

/** Creates the state before the first event: the API row and every rung, pending. */
export function createInitialState(context = ''): TuiState {
  const rows: LadderRow[] = [
    { key: STATIC_KEY, kind: 'static', label: 'API objects', status: 'running', summary: 'reading Services, EndpointSlices, policies', probes: [], findings: [] },
    ...RUNG_IDS.map((id): LadderRow => ({ key: id, kind: 'rung', label: id, status: 'pending', summary: '', probes: [], findings: [] })),
  ];
  return { context, sourceText: '', destinationText: '', rows, findings: [] };
}

/** Maps a rung's final status to a row status. */
export function rowStatusForRung(status: RungStatus): RowStatus {
  switch (status) {
    case 'passed':
    case 'failed':
    case 'skipped':
      return status;
    case 'error':
      return 'could-not-run';
    default: {
      const never: never = status;
      throw new Error(`unknown rung status ${String(never)}`);
    }
  }
}

/** Applies one RunEvent to the state and returns the new state (the input is never mutated). */
export function applyEvent(state: TuiState, event: RunEvent): TuiState {
  switch (event.type) {
    case 'run-started':
      return { ...state, sourceText: event.source, destinationText: event.destination, startedAt: Date.parse(event.startedAt) };
    case 'target-resolved':
      return event.role === 'source' ? { ...state, source: event.target } : { ...state, destination: event.target };
    case 'static-findings':
      return updateRow(state, STATIC_KEY, (r) => ({
        ...r,
        status: event.findings.length === 0 ? 'passed' : 'failed',
        findings: event.findings,
        summary: event.findings.length === 0 ? 'nothing wrong in the API objects' : event.findings.map((f) => f.cause).join(', '),
      }));
    case 'rung-started':
      return updateRow(state, event.rung, (r) => ({ ...r, status: 'running', summary: 'running' }));
    case 'probe-started': {
      const spec = event.probe;
      const key = rowKeyForProbe(spec, state);
      const withRow = state.rows.some((r) => r.key === key) ? state : { ...state, rows: [...state.rows, newNodeRow(key, spec, state)] };
      return updateRow(withRow, key, (r) => ({
        ...r,
        status: r.kind === 'node-checks' ? 'running' : r.status,
        probes: [...r.probes.filter((p) => p.spec.id !== spec.id), { spec }],
      }));
    }
    case 'probe-finished': {
      const { spec, observation, durationMs, raw, repeat } = event.result;
      const entry: ProbeEntry = { spec, observation, durationMs, ...(raw ? { raw } : {}), ...(repeat ? { repeat } : {}) };
      const key = rowKeyForProbe(spec, state);
      const withRow = state.rows.some((r) => r.key === key) ? state : { ...state, rows: [...state.rows, newNodeRow(key, spec, state)] };
      return updateRow(withRow, key, (r) => {
        const known = r.probes.some((p) => p.spec.id === spec.id);
        const probes = known ? r.probes.map((p) => (p.spec.id === spec.id ? entry : p)) : [...r.probes, entry];
        return r.kind === 'node-checks' ? summarizeNodeRow({ ...r, probes }, state.verdict, state.datapath?.network) : { ...r, probes };
      });
    }
    case 'rung-finished':
      return updateRow(state, event.rung.id, (r) => {
        // A dual-stack run says how each family did.
        const tally = event.rung.status === 'skipped' ? '' : familyTally(event.rung.probes);
        return { ...r, status: rowStatusForRung(event.rung.status), durationMs: event.rung.durationMs, summary: `${event.rung.summary}${tally ? ` (${tally})` : ''}` };
      });
    case 'datapath-detected':
      return { ...state, datapath: event.datapath };
    case 'verdict-decided':
      // Node rows read again with the verdict: the check it cites fails its row, a lost ping it explains only warns.
      return {
        ...state,
        verdict: event.verdict,
        findings: event.findings,
        rows: state.rows.map((r) => (r.kind === 'node-checks' ? summarizeNodeRow(r, event.verdict, state.datapath?.network) : r)),
      };
    case 'trace-started': {
      const row: LadderRow = { key: 'trace', kind: 'trace', label: 'trace', status: 'running', summary: `capturing at ${event.hops.length} hops while ${event.probe} runs again`, probes: [], findings: [] };
      return { ...state, rows: [...state.rows.filter((r) => r.key !== 'trace'), row] };
    }
    case 'trace-finished': {
      const t = event.trace;
      const status: RowStatus = t.localized ? 'failed' : 'passed';
      const summary = t.localized ?? `the flow was seen at every captured hop (${t.outcome})`;
      const row: LadderRow = { key: 'trace', kind: 'trace', label: 'trace', status, durationMs: t.durationMs, summary, probes: [], findings: [] };
      const rows = state.rows.some((r) => r.key === 'trace') ? state.rows.map((r) => (r.key === 'trace' ? row : r)) : [...state.rows, row];
      return { ...state, trace: t, rows };
    }
    case 'run-finished':
      return { ...state, wallMs: event.report.stats.wallMs, exitCode: event.exitCode, verdict: state.verdict ?? event.report.verdict };
    default: {
      const never: never = event;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

/** Replays a list of events from the initial state. */
export function replayEvents(events: RunEvent[], context = ''): TuiState {
  return events.reduce(applyEvent, createInitialState(context));
}

function updateRow(state: TuiState, key: string, f: (r: LadderRow) => LadderRow): TuiState {
  return { ...state, rows: state.rows.map((r) => (r.key === key ? f(r) : r)) };
}

/** The node a node check belongs to: its node pod's, or for one the source pod ran (on its node's bridge) the source's. */
function nodeOfCheck(spec: ProbeSpec, state: TuiState): string {
  if (spec.where.kind === 'node-pod') return spec.where.node;
  const src = state.source;
  return src === undefined ? 'source' : src.kind === 'pod' ? src.node : src.name;
}

function rowKeyForProbe(spec: ProbeSpec, state: TuiState): string {
  return spec.rung === 'node-checks' ? `node:${nodeOfCheck(spec, state)}` : spec.rung;
}

function newNodeRow(key: string, spec: ProbeSpec, state: TuiState): LadderRow {
  return { key, kind: 'node-checks', label: `${nodeOfCheck(spec, state)} checks`, status: 'running', summary: 'running', probes: [], findings: [] };
}

/** A node row is running until all its started probes finished; then failed > warn > could-not-run > passed. */
function summarizeNodeRow(row: LadderRow, verdict: Finding | undefined, network?: PodNetwork): LadderRow {
  const done = row.probes.filter((p) => p.observation !== undefined);
  const durationMs = Math.max(0, ...done.map((p) => p.durationMs ?? 0));
  if (done.length < row.probes.length) return { ...row, status: 'running', summary: `${done.length}/${row.probes.length} done`, durationMs };
  const judged = done.map((p) => ({ p, j: readNodeCheck({ spec: p.spec, observation: p.observation as ProbeObservation }, verdict, network).judged }));
  const bad = judged.find((x) => x.j === 'fail') ?? judged.find((x) => x.j === 'warn') ?? judged.find((x) => x.j === 'not-run');
  const ok = judged.filter((x) => x.j === 'ok').length;
  if (!bad) return { ...row, status: 'passed', durationMs, summary: `${ok}/${done.length} ok` };
  const status: RowStatus = bad.j === 'fail' ? 'failed' : bad.j === 'warn' ? 'warn' : ok === 0 ? 'could-not-run' : 'passed';
  return { ...row, status, durationMs, summary: `${ok}/${done.length} ok; ${describeCheck(bad.p)}` };
}

function describeCheck(p: ProbeEntry): string {
  const obs = p.observation;
  if (!obs) return p.spec.check ?? p.spec.id;
  switch (obs.kind) {
    case 'sysctl':
      return `${obs.key} = ${obs.value}`;
    case 'forward-policy':
      // A walked chain says what became of the flow; the policy alone is just the policy.
      return obs.verdict === undefined ? `FORWARD policy ${obs.policy}` : describeObservation(obs);
    case 'could-not-run':
      return `${p.spec.check ?? p.spec.id} could not run`;
    default:
      return `${p.spec.check ?? p.spec.id}: ${describeObservation(obs, p.spec.action)}`;
  }
}

/** The objects a row's probes are about, as `Kind/namespace/name`. */
export function objectsOfRow(row: LadderRow): string[] {
  const refs = row.probes.flatMap((p) => (p.spec.about ? [formatObjectRef(p.spec.about)] : []));
  const fromFindings = row.findings.flatMap((f) => (f.object ? [f.object] : []));
  return [...new Set([...refs, ...fromFindings])];
}

/** What a hop shows until the targets are resolved. */
export const RESOLVING = 'resolving…';

/** One hop of the packet path. */
export type HopId = 'src-pod' | 'src-node' | 'overlay' | 'dst-node' | 'dst-pod' | 'dns';

/** good: a probe proved traffic passes here; dead: the packet dies here; n/a: not on this path. */
export type HopState = 'good' | 'dead' | 'unknown' | 'n/a';

/** A hop as the diagram draws it. */
export interface Hop {
  id: HopId;
  title: string;
  detail: string;
  state: HopState;
  /** For the dead hop: the verdict's cause. */
  note?: string;
}

/** The path of one run: the chain from source pod to destination, and DNS to the side. */
export interface PacketPath {
  chain: Hop[];
  dns: Hop;
}

/** Derives the packet path and each hop's state from the observations and the verdict (pure). */
export function derivePath(state: TuiState): PacketPath {
  const src = state.source;
  const dst = state.destination;
  // Undefined until known: a node that is not known yet is never "the same node" as another.
  const srcNode = src ? (src.kind === 'pod' ? src.node : src.name) : undefined;
  const ep = dst?.kind === 'service' ? (dst.endpoints.find((e) => e.ready) ?? dst.endpoints[0]) : undefined;
  const dstNode = dst ? (dst.kind === 'pod' ? dst.node : dst.kind === 'node' ? dst.name : dst.kind === 'service' ? ep?.node : 'outside') : undefined;
  const dstIp = dst ? (dst.kind === 'pod' ? `${dst.ip}:${dst.port}` : dst.kind === 'node' ? `${dst.ip}:${dst.port}` : dst.kind === 'service' ? (ep ? `${ep.ip}:${ep.port}` : 'no endpoint') : `${dst.ips[0] ?? dst.host}:${dst.port}`) : RESOLVING;
  const dstTitle = dst ? (dst.kind === 'pod' ? `pod ${dst.namespace}/${dst.name}` : dst.kind === 'service' ? (ep?.pod ? `pod ${ep.pod.namespace}/${ep.pod.name}` : `endpoints of ${dst.namespace}/${dst.name}`) : dst.kind === 'node' ? `port on ${dst.name}` : dst.host) : state.destinationText || 'destination';
  const nat = dst?.kind === 'service' && hasClusterIP(dst) ? ` → NAT ${dst.clusterIP}:${dst.port.port}→${ep ? `${ep.ip}:${ep.port}` : '∅'}` : dst ? ' → no NAT' : '';
  const sameNode = srcNode !== undefined && srcNode === dstNode;
  const overlayDetail = !src || !dst ? RESOLVING : sameNode ? 'same node, not crossed' : `vxlan ${srcNode ?? '?'} → ${dstNode ?? '?'}`;

  const rung = (id: RungId): RowStatus | undefined => state.rows.find((r) => r.key === id)?.status;
  const endToEnd = rung('cluster-ip') === 'passed' || rung('pod-ip') === 'passed';
  const atDestination = endToEnd || rung('same-node') === 'passed' || rung('node-origin') === 'passed';
  const srcRan = state.rows.some((r) => r.kind === 'rung' && r.probes.some((p) => p.spec.where.kind === 'source-pod' && p.observation && classifyObservation(p.observation) === 'ok'));

  const chain: Hop[] = [
    { id: 'src-pod', title: src?.kind === 'node' ? `node ${src.name} (host)` : src ? `pod ${src.namespace}/${src.name}` : state.sourceText || 'source', detail: src ? src.ip : RESOLVING, state: endToEnd || srcRan ? 'good' : 'unknown' },
    { id: 'src-node', title: src ? `node ${srcNode}` : 'source node', detail: `veth → bridge${nat}`, state: endToEnd ? 'good' : 'unknown' },
    { id: 'overlay', title: 'overlay', detail: overlayDetail, state: sameNode ? 'n/a' : endToEnd ? 'good' : 'unknown' },
    { id: 'dst-node', title: dst ? `node ${dstNode ?? '?'}` : 'destination node', detail: sameNode ? 'same node as the source' : 'vxlan → bridge → veth', state: sameNode ? 'n/a' : atDestination ? 'good' : 'unknown' },
    { id: 'dst-pod', title: dstTitle, detail: dstIp, state: atDestination ? 'good' : 'unknown' },
  ];
  const dnsRow = rung('dns');
  // The name the DNS rung asked a server for directly: in the cluster domain the source's resolv.conf names.
  const asked = state.rows.find((r) => r.key === 'dns')?.probes.find((p) => p.spec.action.tool === 'dns-lookup' && p.spec.action.server !== undefined)?.spec.action;
  const lookedUp = asked?.tool === 'dns-lookup' ? asked.name : undefined;
  const dns: Hop = {
    id: 'dns',
    title: 'DNS',
    detail: !dst ? RESOLVING : (lookedUp ?? (dst.kind === 'service' ? dst.dnsName : dst.kind === 'address' ? dst.host : 'not used')),
    state: dnsRow === 'passed' ? 'good' : dnsRow === 'skipped' ? 'n/a' : 'unknown',
  };

  const v = state.verdict;
  if (v) {
    const dead = deadHopFor(v, srcNode, dstNode, sameNode, chain);
    if (dead === 'dns') {
      dns.state = 'dead';
      dns.note = v.cause;
    } else if (dead) {
      const hop = chain.find((h) => h.id === dead);
      if (hop) {
        hop.state = 'dead';
        hop.note = v.cause;
      }
    }
  }
  return { chain, dns };
}

/** Which hop the verdict's component (and node) puts the fault on. */
function deadHopFor(v: Finding, srcNode: string | undefined, dstNode: string | undefined, sameNode: boolean, chain: Hop[]): HopId | undefined {
  switch (v.component) {
    case 'dns':
      return 'dns';
    case 'service':
    case 'kube-proxy':
      return 'src-node';
    case 'network-policy':
    case 'destination':
      return 'dst-pod';
    case 'node':
      return v.node !== undefined && v.node === dstNode && !sameNode ? 'dst-node' : (v.node !== undefined && v.node === srcNode) || sameNode ? 'src-node' : 'dst-node';
    case 'overlay':
      return sameNode ? 'src-node' : 'overlay';
    case 'network':
      return chain.find((h) => h.state === 'unknown')?.id;
    case 'netdebug':
    case 'none':
      return undefined;
    default: {
      const never: never = v.component;
      throw new Error(`unknown component ${String(never)}`);
    }
  }
}
