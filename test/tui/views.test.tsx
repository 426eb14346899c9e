/**
 * Component tests on colour-stripped frames (ink-testing-library), replaying recorded event streams: the ladder in
 * every state, the path diagram per failing component, the verdict, drill-down navigation and scrolling, help, exit.
 */
import { render } from 'ink-testing-library';
import { stripVTControlCharacters } from 'node:util';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { RunEvent } from '../../src/core/model.ts';
import type { LadderRow, TuiState } from '../../src/tui/state.ts';
import { replayEvents } from '../../src/tui/state.ts';
import { App, createTuiReporter, createTuiStore, type TuiExit } from '../../src/tui/app.tsx';
import { buildDrillLines, DrillDown, Header, Ladder, PathDiagram, SPINNER, Verdict } from '../../src/tui/views.tsx';
import { runDiagnosis } from '../../src/run.ts';
import { buildFacts, createFakeCluster, createFakeProber, healthyAnswer, realClock, type FakeProber } from '../cli/fakes.ts';
import { loadEvents, type Recorded } from './fixtures.ts';
import { cleanup } from 'ink-testing-library';

afterEach(() => cleanup());
const plain = (s: string | undefined): string => stripVTControlCharacters(s ?? '');
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));
const state = (name: Recorded): TuiState => replayEvents(loadEvents(name), 'lab');
/** The events up to (not including) the first of `type`: a run caught mid-way. */
const until = (name: Recorded, type: RunEvent['type']): RunEvent[] => {
  const events = loadEvents(name);
  return events.slice(0, events.findIndex((e) => e.type === type));
};

/** The event stream of a real runDiagnosis over the CLI tests' fake cluster (client on node-1, web-1 on node-2). */
async function runEvents(prober: FakeProber): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  await runDiagnosis({
    runId: 'run-1',
    source: { kind: 'pod', namespace: 'front', name: 'client' },
    destination: { kind: 'service', namespace: 'shop', name: 'web', port: { kind: 'number', number: 80 } },
    cluster: createFakeCluster(buildFacts()),
    makeProber: () => prober,
    opts: { timeoutMs: 2000 },
    emit: (e) => void events.push(e),
    clock: realClock,
  });
  return events;
}

/** A stdin and a stdout that Ink takes for a terminal; `written()` is everything Ink wrote. */
function ttyStreams(size = { columns: 100, rows: 30 }) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined, ref: () => undefined, unref: () => undefined });
  const stdout = Object.assign(new PassThrough(), { ...size, isTTY: true });
  const writes: string[] = [];
  const write = stdout.write.bind(stdout);
  stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    writes.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof stdout.write;
  stdout.resume();
  /** Sets the size and emits 'resize', as a terminal's stdout does. */
  const resize = (columns: number, rows: number): void => {
    Object.assign(stdout, { columns, rows });
    stdout.emit('resize');
  };
  return { stdin, stdout, writes, resize, written: () => writes.join('') };
}

describe('Ladder', () => {
  const row = (status: LadderRow['status'], extra: Partial<LadderRow> = {}): LadderRow => ({ key: status, kind: 'rung', label: 'cluster-ip', status, summary: 'sum', probes: [], findings: [], ...extra });
  it.each<{ name: string; row: LadderRow; want: string }>([
    { name: 'pending', row: row('pending', { summary: '' }), want: '· cluster-ip' },
    { name: 'running (spinner)', row: row('running', { summary: 'running' }), want: '⠋ cluster-ip             running' },
    { name: 'passed', row: row('passed', { durationMs: 140, summary: '1/1 passed' }), want: '✓ cluster-ip      140ms  1/1 passed' },
    { name: 'failed', row: row('failed', { durationMs: 2100, summary: '1/1 failed: 10.96.0.2:80 timed out' }), want: '✗ cluster-ip       2.1s  1/1 failed: 10.96.0.2:80 timed out' },
    { name: 'skipped', row: row('skipped', { durationMs: 0, summary: 'no endpoints' }), want: '– cluster-ip             skipped: no endpoints' },
    { name: 'could not run', row: row('could-not-run', { durationMs: 30, summary: 'could not run: exec failed' }), want: '? cluster-ip       30ms  could not run: exec failed' },
    { name: 'warn', row: row('warn', { durationMs: 30, summary: '4/5 ok' }), want: '! cluster-ip       30ms  4/5 ok' },
  ])('$name', ({ row: r, want }) => {
    const { lastFrame } = render(<Ladder rows={[r]} selected={0} tick={0} color={false} showCursor={false} />);
    expect(plain(lastFrame()).split('\n')[1]?.trimEnd()).toBe(`  ${want}`);
  });

  it('marks the selected row with ›', () => {
    const s = state('ip-forward-off');
    const lines = plain(render(<Ladder rows={s.rows} selected={2} tick={0} color={false} showCursor />).lastFrame()).split('\n');
    expect(lines.filter((l) => l.startsWith('›'))).toEqual([expect.stringContaining('cluster-ip')]);
  });

  it('keeps finished lines byte-identical while later rows arrive', () => {
    const events = loadEvents('ip-forward-off');
    const frame = (n: number): string[] => plain(render(<Ladder rows={replayEvents(events.slice(0, n)).rows} selected={0} tick={0} color={false} showCursor={false} />).lastFrame()).split('\n');
    const dnsDone = events.findIndex((e) => e.type === 'rung-finished') + 1;
    const early = frame(dnsDone);
    const late = frame(events.length);
    const dnsLine = early.find((l) => l.includes(' dns '));
    expect(dnsLine).toMatch(/✓ dns/);
    expect(late.indexOf(dnsLine as string)).toBe(early.indexOf(dnsLine as string));
  });

  it('the spinner of a running row advances with the app\'s tick, and stops with the run', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    onTestFinished(() => void vi.useRealTimers());
    const store = createTuiStore(replayEvents(until('ip-forward-off', 'rung-finished'), 'lab'));
    const r = render(<App store={store} color={false} exitOnVerdict={false} size={{ columns: 100, rows: 30 }} />);
    const mark = (): string | undefined => plain(r.lastFrame()).split('\n').find((l) => l.includes(' dns '))?.slice(2, 3);
    await settle();
    expect(mark()).toBe(SPINNER[0]);
    vi.advanceTimersByTime(120);
    await settle();
    expect(mark()).toBe(SPINNER[1]);
    vi.advanceTimersByTime(3 * 120);
    await settle();
    expect(mark()).toBe(SPINNER[4]);
    // Once the run is over there is nothing left to animate: the interval is cleared.
    for (const e of loadEvents('ip-forward-off').slice(until('ip-forward-off', 'rung-finished').length)) store.dispatch(e);
    await settle();
    expect(mark()).toBe('✓');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Header', () => {
  const lines = (s: TuiState, elapsedMs: number): string[] => plain(render(<Header state={s} elapsedMs={elapsedMs} color={false} />).lastFrame()).split('\n').map((l) => l.trimEnd());

  it('shows the context, SRC → DST with resolved IPs and nodes, and the run\'s time once done', () => {
    expect(lines(state('ip-forward-off'), 3002)).toEqual([
      'kubectl netdebug  context lab  took 3.0s',
      'default/client 10.244.1.3 (node-1) → svc shop/web 10.96.0.2:80 → 10.244.2.2:8080 (node-2)',
    ]);
  });

  it('mid-run: the elapsed time and running…', () => {
    expect(lines(replayEvents(until('ip-forward-off', 'verdict-decided'), 'lab'), 1234)[0]).toBe('kubectl netdebug  context lab  elapsed 1.2s  running…');
  });

  it('before the targets resolve: the targets as given, marked resolving (never a bare →)', () => {
    const started = replayEvents(loadEvents('ip-forward-off').slice(0, 1), 'lab');
    expect(lines(started, 0)[1]).toBe('default/pod/client → shop/service/web  (resolving…)');
    const sourceOnly = replayEvents(loadEvents('ip-forward-off').slice(0, 2), 'lab');
    expect(lines(sourceOnly, 0)[1]).toBe('default/client 10.244.1.3 (node-1) → shop/service/web  (resolving…)');
    expect(lines(replayEvents([], 'lab'), 0)[1]).toBe('source → destination  (resolving…)');
  });

  it('in the App, elapsed time runs from run-started on the clock', () => {
    const s = replayEvents(until('ip-forward-off', 'verdict-decided'), 'lab');
    const r = render(<App store={createTuiStore(s)} color={false} exitOnVerdict={false} size={{ columns: 100, rows: 30 }} now={() => (s.startedAt as number) + 2500} />);
    expect(plain(r.lastFrame()).split('\n')[0]).toContain('elapsed 2.5s  running…');
  });
});

describe('PathDiagram', () => {
  it.each<{ name: string; scenario: Recorded; line: RegExp }>([
    { name: 'dns', scenario: 'dns-server-down', line: /^Packet path\s+DNS ✗ ◀ DNS_SERVER_UNRESPONSIVE web\.shop\.svc\.cluster\.local/ },
    { name: 'service', scenario: 'service-no-endpoints', line: /↓ ✗ node node-1  ◀ SERVICE_NO_ENDPOINTS  veth → bridge → NAT 10\.96\.0\.2:80→∅/ },
    { name: 'kube-proxy', scenario: 'kube-proxy-rules-missing', line: /↓ ✗ node node-1  ◀ SERVICE_PROXY_RULES_MISSING/ },
    { name: 'network-policy', scenario: 'network-policy-deny', line: /↓ ✗ pod shop\/web-1  ◀ NETWORK_POLICY_DENY  10\.244\.2\.2:8080/ },
    { name: 'node', scenario: 'ip-forward-off', line: /↓ ✗ node node-2  ◀ NODE_IP_FORWARD_DISABLED/ },
    { name: 'overlay', scenario: 'overlay-blocked', line: /↓ ✗ overlay  ◀ OVERLAY_BLOCKED  vxlan node-1 → node-2/ },
    { name: 'destination', scenario: 'app-not-listening', line: /↓ ✗ pod shop\/web-1  ◀ DESTINATION_NOT_LISTENING/ },
  ])('$name: the dead hop is marked with the cause', ({ scenario, line }) => {
    const lines = plain(render(<PathDiagram state={state(scenario)} color={false} />).lastFrame()).split('\n');
    expect(lines.filter((l) => l.includes('✗'))).toEqual([expect.stringMatching(line)]);
  });

  const diagram = (s: TuiState): string[] => plain(render(<PathDiagram state={s} color={false} />).lastFrame()).split('\n').map((l) => l.trimEnd());

  it('network: CONNECTION_FAILED marks the first hop not proven good', async () => {
    // Every TCP probe times out, also on the destination's own node, and the node checks find nothing.
    const answer = (spec: Parameters<typeof healthyAnswer>[0]) => (spec.action.tool === 'tcp-connect' ? ({ kind: 'timeout' } as const) : healthyAnswer(spec));
    const s = replayEvents(await runEvents(createFakeProber({ answer })), 'lab');
    expect(s.verdict).toMatchObject({ cause: 'CONNECTION_FAILED', component: 'network' });
    const lines = diagram(s);
    expect(lines.filter((l) => l.includes('✗'))).toEqual(['  ↓ ✗ node node-1  ◀ CONNECTION_FAILED  veth → bridge → NAT 10.96.1.1:80→10.244.2.7:8080']);
    // The source pod answered DNS, so it is proven; nothing after the dead hop is.
    expect(lines).toContain('  ✓ pod front/client  10.244.1.5');
    expect(lines.slice(3).every((l) => l.includes('↓ ?'))).toBe(true);
  });

  it('netdebug: CHECKS_COULD_NOT_RUN marks no hop dead; only what the node probes proved is ✓', async () => {
    const s = replayEvents(await runEvents(createFakeProber({ unready: { 'source-pod': 'ephemeral containers are disabled' } })), 'lab');
    expect(s.verdict).toMatchObject({ cause: 'CHECKS_COULD_NOT_RUN', component: 'netdebug' });
    const lines = diagram(s);
    expect(lines.join('\n')).not.toMatch(/[✗◀]/);
    // The source pod could not be probed; the node probes still reached the destination on its own node.
    expect(lines.slice(1).map((l) => l.split('  ').slice(0, 2).join('  ').trim())).toEqual(['? pod front/client', '↓ ? node node-1', '↓ ? overlay', '↓ ✓ node node-2', '↓ ✓ pod shop/web-1']);
  });

  it('before the targets resolve: the targets as given, and no hop claims the same node', () => {
    for (const n of [0, 1, 2]) {
      const lines = diagram(replayEvents(loadEvents('ip-forward-off').slice(0, n), 'lab'));
      expect(lines.join('\n'), `after ${n} events`).not.toMatch(/same node|–/);
      expect(lines).toContain('  ↓ ? overlay  resolving…');
      expect(lines).toContain('  ↓ ? destination node  vxlan → bridge → veth');
    }
    expect(diagram(replayEvents(loadEvents('ip-forward-off').slice(0, 1), 'lab'))).toEqual([
      'Packet path   DNS ? resolving…',
      '  ? default/pod/client  resolving…',
      '  ↓ ? source node  veth → bridge',
      '  ↓ ? overlay  resolving…',
      '  ↓ ? destination node  vxlan → bridge → veth',
      '  ↓ ? shop/service/web  resolving…',
    ]);
  });

  it('marks proven-good hops ✓ and unproven ones ?', () => {
    const frame = plain(render(<PathDiagram state={state('overlay-blocked')} color={false} />).lastFrame());
    expect(frame).toContain('  ✓ pod default/client  10.244.1.3');
    expect(frame).toContain('↓ ? node node-1');
    expect(frame).toContain('↓ ✓ node node-2');
    expect(frame).toContain('↓ ✓ pod shop/web-1  10.244.2.2:8080');
  });
});

describe('Verdict', () => {
  it('shows cause, where, one evidence line and the fix commands', () => {
    const s = state('ip-forward-off');
    const frame = plain(render(<Verdict verdict={s.verdict} findings={s.findings} color={false} maxLines={10} />).lastFrame());
    expect(frame.split('\n').map((l) => l.trimEnd())).toEqual([
      'Verdict ✗ BROKEN NODE_IP_FORWARD_DISABLED (node)  at node node-2',
      '  IP forwarding is off on node node-2: it drops every packet it should route to or from its pods',
      '  evidence: node node-2 (hostNetwork) → net.ipv4.ip_forward: net.ipv4.ip_forward = 0 (+2 more)',
      '  fix: on node node-2: sysctl -w net.ipv4.ip_forward=1',
      '       make it persistent on node-2: echo net.ipv4.ip_forward=1 > /etc/sysctl.d/99-kubernetes.conf',
    ]);
  });

  it('cuts to maxLines', () => {
    const s = state('ip-forward-off');
    expect(plain(render(<Verdict verdict={s.verdict} findings={[]} color={false} maxLines={2} />).lastFrame()).split('\n')).toHaveLength(2);
  });

  it('healthy reads HEALTHY once; waiting before the verdict', () => {
    const s = state('healthy-2-nodes');
    expect(plain(render(<Verdict verdict={s.verdict} findings={[]} color={false} maxLines={3} />).lastFrame())).toMatch(/^Verdict ✓ HEALTHY\n/);
    expect(plain(render(<Verdict verdict={undefined} findings={[]} color={false} maxLines={3} />).lastFrame())).toBe('Verdict: waiting for the ladder…');
  });
});

describe('DrillDown', () => {
  it('shows each command, where it ran, the result and timings', () => {
    const s = state('ip-forward-off');
    const row = s.rows.find((r) => r.key === 'node:node-2') as LadderRow;
    const lines = buildDrillLines(row, s);
    expect(lines).toContain('  $ sysctl -n net.ipv4.ip_forward');
    expect(lines).toContain('  where:   node node-2 (hostNetwork), netdebug debug pod');
    expect(lines).toContain('  result:  net.ipv4.ip_forward = 0 (read)');
    expect(lines).toContain('objects: Pod/shop/web-1');
    expect(lines[lines.indexOf('  $ sysctl -n net.ipv4.ip_forward') + 3]).toBe('  took:    417ms of a 2.0s timeout');
  });

  it('names the objects a rung is about and how long each probe took', () => {
    const s = state('ip-forward-off');
    const lines = buildDrillLines(s.rows.find((r) => r.key === 'cluster-ip') as LadderRow, s);
    expect(lines.slice(0, 3)).toEqual(['cluster-ip: failed in 2.6s', '1/1 failed: 10.96.0.2:80 timed out', 'objects: Service/shop/web']);
    expect(lines).toContain('  took:    2.3s of a 2.0s timeout');
    const dns = buildDrillLines(s.rows.find((r) => r.key === 'dns') as LadderRow, s);
    expect(dns).toContain('objects: Pod/kube-system/coredns-6f6b679f8f-k8x2q');
    expect(dns.filter((l) => l.startsWith('  took:'))).toEqual(['  took:    388ms of a 2.0s timeout', '  took:    388ms of a 2.0s timeout']);
  });

  it('scrolls: the offset shows later lines and is clamped at the end', () => {
    const s = state('ip-forward-off');
    const row = s.rows.find((r) => r.key === 'node:node-2') as LadderRow;
    const total = buildDrillLines(row, s).length;
    const top = plain(render(<DrillDown row={row} state={s} offset={0} height={10} color={false} />).lastFrame()).split('\n');
    expect(top[0]).toContain(`lines 1–8 of ${total}`);
    const end = plain(render(<DrillDown row={row} state={s} offset={999} height={10} color={false} />).lastFrame()).split('\n');
    expect(end[0]).toContain(`lines ${total - 7}–${total} of ${total}`);
    expect(end).toHaveLength(10);
  });
});

describe('App', () => {
  const app = (name: Recorded, size = { columns: 80, rows: 24 }, exitOnVerdict = false) => {
    const store = createTuiStore(state(name));
    return render(<App store={store} color={false} exitOnVerdict={exitOnVerdict} size={size} />);
  };

  it('fits 80×24: at most 24 lines, none wider than 80 columns', () => {
    const lines = plain(app('ip-forward-off').lastFrame()).split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(80);
  });

  it('re-lays out for a wider terminal: the same line is longer at 120 columns', () => {
    const narrow = plain(app('ip-forward-off').lastFrame());
    cleanup();
    const wide = plain(app('ip-forward-off', { columns: 120, rows: 30 }).lastFrame());
    expect(narrow).toContain('…');
    expect(wide).toContain('IP forwarding is off on node node-2: it drops every packet it should route to or from its pods');
  });

  it('re-lays out a live app when the terminal is resized', async () => {
    // No size prop: the App follows the terminal, as Ink's useWindowSize reports it on 'resize'.
    const r = render(<App store={createTuiStore(state('ip-forward-off'))} color={false} exitOnVerdict={false} />);
    const resize = async (columns: number, rows: number): Promise<string[]> => {
      Object.defineProperty(r.stdout, 'columns', { value: columns, configurable: true });
      Object.defineProperty(r.stdout, 'rows', { value: rows, configurable: true });
      r.stdout.emit('resize');
      await settle();
      return plain(r.lastFrame()).split('\n');
    };
    const small = await resize(70, 20);
    expect(Math.max(...small.map((l) => [...l].length))).toBeLessThanOrEqual(70);
    expect(small.length).toBeLessThanOrEqual(20);
    expect(small.join('\n')).not.toContain('fix: on node node-2');
    const big = await resize(120, 30);
    expect(big).toContain('  IP forwarding is off on node node-2: it drops every packet it should route to or from its pods');
    expect(big).toContain('  fix: on node node-2: sysctl -w net.ipv4.ip_forward=1');
    expect(Math.max(...big.map((l) => [...l].length))).toBeGreaterThan(70);
  });

  it('on a resize, even the first frame Ink redraws fits the new width (a wider one would wrap and stay on screen)', async () => {
    const { render: inkRender } = await import('ink');
    const io = ttyStreams({ columns: 120, rows: 30 });
    // debug: every frame is written whole, so each write is one frame; interactive: Ink redraws on 'resize' itself.
    const inst = inkRender(<App store={createTuiStore(state('ip-forward-off'))} color={false} exitOnVerdict={false} />, { stdin: io.stdin as never, stdout: io.stdout as never, debug: true, interactive: true, exitOnCtrlC: false, patchConsole: false });
    onTestFinished(() => inst.unmount());
    await settle();
    const widest = (frames: string[]): number => Math.max(...frames.flatMap((f) => plain(f).split('\n')).map((l) => [...l].length));
    expect(widest(io.writes)).toBeGreaterThan(100);
    const before = io.writes.length;
    io.resize(70, 24);
    await settle();
    const after = io.writes.slice(before);
    expect(after.length).toBeGreaterThan(0);
    expect(widest(after)).toBeLessThanOrEqual(70);
  });

  it('j/k select, Enter opens the failing rung, j scrolls, Esc goes back', async () => {
    const r = app('ip-forward-off', { columns: 100, rows: 12 });
    await settle();
    r.stdin.write('j');
    await settle();
    r.stdin.write('j');
    await settle();
    r.stdin.write('k');
    await settle();
    r.stdin.write('j');
    await settle();
    expect(plain(r.lastFrame()).split('\n').find((l) => l.startsWith('›'))).toContain('cluster-ip');
    r.stdin.write('\r');
    await settle();
    const drill = plain(r.lastFrame());
    expect(drill).toMatch(/^cluster-ip  lines 1–9 of 14/);
    expect(drill).toContain('$ nc -z -v -w 2 10.96.0.2 80');
    r.stdin.write('j');
    await settle();
    expect(plain(r.lastFrame())).toMatch(/^cluster-ip  lines 2–10 of 14/);
    for (let i = 0; i < 4; i++) {
      r.stdin.write('j');
      await settle();
    }
    // The bottom of the drill-down: what the command printed and how it exited.
    const bottom = plain(r.lastFrame());
    expect(bottom).toMatch(/^cluster-ip  lines 6–14 of 14/);
    expect(bottom).toMatch(/exit: +1/);
    expect(bottom).toMatch(/stderr:\n +nc: connect to 10\.96\.0\.2 port 80 \(tcp\) timed out/);
    r.stdin.write('\u001b');
    await settle();
    expect(plain(r.lastFrame())).toMatch(/^kubectl netdebug/);
  });

  it('handles several keys that arrive in one chunk', async () => {
    const r = app('ip-forward-off', { columns: 100, rows: 30 });
    await settle();
    r.stdin.write('jj\r');
    await settle();
    expect(plain(r.lastFrame())).toMatch(/^cluster-ip  lines/);
  });

  it('? toggles the key help', async () => {
    const r = app('ip-forward-off');
    await settle();
    r.stdin.write('?');
    await settle();
    expect(plain(r.lastFrame())).toContain('Enter       open its drill-down');
    r.stdin.write('?');
    await settle();
    expect(plain(r.lastFrame())).toMatch(/^kubectl netdebug/);
  });

  it('NO_COLOR: colour off writes no escape sequence; colour on does', async () => {
    // chalk (Ink's colouring) sees no terminal here; give it one so only the App's choice decides.
    const { default: chalk } = await import('chalk');
    const level = chalk.level;
    chalk.level = 1;
    onTestFinished(() => void (chalk.level = level));
    const s = createTuiStore(state('ip-forward-off'));
    const off = render(<App store={s} color={false} exitOnVerdict={false} size={{ columns: 100, rows: 30 }} />).lastFrame() ?? '';
    cleanup();
    const on = render(<App store={s} color exitOnVerdict={false} size={{ columns: 100, rows: 30 }} />).lastFrame() ?? '';
    expect(off).not.toMatch(/\u001b\[3\dm/);
    expect(on).toMatch(/\u001b\[31m/);
  });

  it('updates live as events are dispatched', async () => {
    const events = loadEvents('ip-forward-off');
    const store = createTuiStore(replayEvents([], 'lab'));
    const r = render(<App store={store} color={false} exitOnVerdict={false} size={{ columns: 100, rows: 30 }} />);
    for (const e of events.slice(0, 4)) store.dispatch(e);
    await settle();
    expect(plain(r.lastFrame())).toContain('Verdict: waiting for the ladder…');
    for (const e of events.slice(4)) store.dispatch(e);
    await settle();
    expect(plain(r.lastFrame())).toContain('Verdict ✗ BROKEN NODE_IP_FORWARD_DISABLED');
  });
});

describe('exit', () => {
  // ink-testing-library has no waitUntilExit, so the App's exit value is read through Ink's own render.
  const runApp = async (name: Recorded, keys: string[], exitOnVerdict: boolean, events?: number): Promise<TuiExit | 'still running'> => {
    const { render: inkRender } = await import('ink');
    const { stdin, stdout } = ttyStreams();
    const all = loadEvents(name);
    const store = createTuiStore(replayEvents(all.slice(0, events ?? all.length), 'lab'));
    const inst = inkRender(<App store={store} color={false} exitOnVerdict={exitOnVerdict} />, { stdin: stdin as never, stdout: stdout as never, exitOnCtrlC: false, patchConsole: false });
    await settle();
    for (const k of keys) {
      stdin.write(k);
      await settle();
    }
    const result = await Promise.race([inst.waitUntilExit() as Promise<TuiExit>, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 200))]);
    inst.unmount();
    return result;
  };

  it.each<{ name: string; scenario: Recorded; keys: string[]; exitOnVerdict: boolean; events?: number; want: TuiExit | 'still running' }>([
    { name: 'stays open after the verdict', scenario: 'ip-forward-off', keys: [], exitOnVerdict: false, want: 'still running' },
    { name: 'q after the verdict resolves with its exit code 1', scenario: 'ip-forward-off', keys: ['q'], exitOnVerdict: false, want: { kind: 'quit', exitCode: 1 } },
    { name: 'q on a healthy run resolves with 0', scenario: 'healthy-2-nodes', keys: ['q'], exitOnVerdict: false, want: { kind: 'quit', exitCode: 0 } },
    { name: '--exit-on-verdict exits at once', scenario: 'ip-forward-off', keys: [], exitOnVerdict: true, want: { kind: 'quit', exitCode: 1 } },
    { name: 'Ctrl-C mid-run interrupts', scenario: 'ip-forward-off', keys: ['\u0003'], exitOnVerdict: false, events: 10, want: { kind: 'interrupted' } },
    { name: 'q mid-run interrupts', scenario: 'ip-forward-off', keys: ['q'], exitOnVerdict: false, events: 10, want: { kind: 'interrupted' } },
  ])('$name', async ({ scenario, keys, exitOnVerdict, events, want }) => {
    expect(await runApp(scenario, keys, exitOnVerdict, events)).toEqual(want);
  });
});

describe('the -o tui reporter', () => {
  const ENTER_ALT = '\u001b[?1049h';
  const LEAVE_ALT = '\u001b[?1049l';
  const start = (onInterrupt: () => void = () => undefined) => {
    const io = ttyStreams();
    const reporter = createTuiReporter({ color: false, exitOnVerdict: false, context: 'lab', onInterrupt, stdin: io.stdin as never, stdout: io.stdout as never });
    return { ...io, reporter };
  };

  it('draws its first frame with the targets as given, not an empty header', async () => {
    const { reporter, stdin, written } = start();
    await reporter.onEvent?.(loadEvents('ip-forward-off')[0] as RunEvent);
    await settle();
    expect(plain(written())).toContain('default/pod/client → shop/service/web  (resolving…)');
    expect(plain(written())).not.toMatch(/^ → /m);
    stdin.write('q');
    await reporter.finish?.();
  });

  it('runs on the alternate screen, and on q leaves the final screen with the whole verdict on the normal one', async () => {
    const { reporter, stdin, written } = start();
    for (const e of loadEvents('ip-forward-off')) await reporter.onEvent?.(e);
    await settle();
    // Drawn in place on a screen of its own, nothing of a frame reaches the scrollback (see the resize e2e test).
    expect(written().startsWith(ENTER_ALT)).toBe(true);
    expect(written()).not.toContain(LEAVE_ALT);
    const finished = reporter.finish?.();
    stdin.write('q');
    await finished;
    expect(reporter.exitCode()).toBe(1);
    const after = plain(written().slice(written().lastIndexOf(LEAVE_ALT)));
    expect(after).toMatch(/^kubectl netdebug {2}context lab {2}took 3\.0s$/m);
    expect(after).toContain('✗ node node-2  ◀ NODE_IP_FORWARD_DISABLED');
    expect(after).toContain('       make it persistent on node-2: echo net.ipv4.ip_forward=1 > /etc/sysctl.d/99-kubernetes.conf');
    expect(after).not.toContain('q quit');
  });

  it('Ctrl-C mid-run: leaves the screen as it was, marked interrupted, then calls onInterrupt', async () => {
    let interrupted = 0;
    const { reporter, stdin, written } = start(() => void (interrupted += 1));
    for (const e of until('ip-forward-off', 'verdict-decided')) await reporter.onEvent?.(e);
    await settle();
    stdin.write('\u0003');
    await settle();
    expect(interrupted).toBe(1);
    const after = plain(written().slice(written().lastIndexOf(LEAVE_ALT)));
    expect(after).toMatch(/^kubectl netdebug {2}context lab {2}elapsed \S+ {2}interrupted$/m);
    expect(after).toContain('Verdict: waiting for the ladder…');
    await reporter.finish?.();
  });
});
