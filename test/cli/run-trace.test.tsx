/**
 * The trace inside a run (issue 14), against the fake cluster and a fake Prober whose captures answer with lab
 * captures (test/unit/trace-fixtures, overlay-blocked into node-2): an uncertain verdict traces on its own and is made
 * explainable; a certain one is traced only when asked and never changed; every capture listens before the probe runs
 * again and is stopped after it; `never` and a healthy run capture nothing.
 */
import { readFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { createJsonReporter } from '../../src/report/json.ts';
import { dispatchEvent, type OutputStream } from '../../src/report/reporter.ts';
import { createTextReporter } from '../../src/report/text.ts';
import { replayEvents } from '../../src/tui/state.ts';
import { buildDrillLines, TracePath } from '../../src/tui/views.tsx';
import type { RunEvent } from '../../src/core/model.ts';
import type { TargetRef } from '../../src/core/target.ts';
import { captureLocationKey, planEchoTrace, planTrace, type CaptureLocation } from '../../src/core/trace-plan.ts';
import type { CaptureSession } from '../../src/ports.ts';
import { runDiagnosis, type RunOptions } from '../../src/run.ts';
import { buildFacts, clientPod, createFakeCluster, createFakeProber, healthyAnswer, realClock, webPod, type Answer, type FakeProber } from './fakes.ts';

const src: TargetRef = { kind: 'pod', namespace: 'front', name: 'client' };
const dst: TargetRef = { kind: 'pod', namespace: 'shop', name: 'web-1', port: { kind: 'number', number: 8080 } };
const facts = buildFacts(clientPod, webPod, { datapath: { daemonSets: ['kube-flannel/kube-flannel-ds'], unreadable: [] } });

/** The hops of this path, as the run plans them (the fake answers each location's hops in this order). */
const hops = planTrace({
  network: 'flannel',
  probe: 'p',
  flow: { protocol: 'TCP', source: '10.244.1.5', destination: { ip: '10.244.2.7', port: 8080 }, translated: [] },
  source: { ip: '10.244.1.5', node: 'node-1' },
  destination: { ip: '10.244.2.7', node: 'node-2', name: 'shop/web-1' },
  nodeIPs: { 'node-1': '172.18.0.2', 'node-2': '172.18.0.3' },
}).hops;

/** The lab capture of a hop, moved to this test's addresses. */
function captureOf(id: string): string {
  const name = id.replace(/[^a-z0-9.-]+/gi, '_').replace('10.244.1.5', '10.244.1.3').replace('10.244.2.7', '10.244.2.2');
  return readFileSync(new URL(`../unit/trace-fixtures/overlay-blocked-${name}.txt`, import.meta.url), 'utf8').replaceAll('10.244.1.3', '10.244.1.5').replaceAll('10.244.2.2', '10.244.2.7');
}

/** The fake prober with captures: each session logs when it listens and stops, and returns the lab captures. */
function withCaptures(answer: Answer): FakeProber {
  const prober = createFakeProber({ answer });
  prober.capture = (where: CaptureLocation, command: string[], opts: { mark: string; timeoutMs: number }): CaptureSession => {
    const key = captureLocationKey(where);
    const mine = hops.filter((h) => captureLocationKey(h.where) === key);
    expect(command.slice(-2)).toEqual(['netdebug-trace', opts.mark]);
    expect(opts.timeoutMs).toBe(17_000);
    prober.log.push(`capture ${key}`);
    return {
      listening: Promise.resolve().then(() => {
        prober.log.push(`listening ${key}`);
        return { ok: true as const };
      }),
      stop: async () => {
        prober.log.push(`stop ${key}`);
        return { records: mine.map((h, index) => ({ index, device: h.id.includes('underlay') ? 'eth0' : h.id.includes('veth') ? 'veth9' : (h.id.split('/')[1] ?? ''), text: captureOf(h.id), stderr: `tcpdump: listening on x, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n`, pcap: Buffer.alloc(0) })) };
      },
    };
  };
  return prober;
}

/** Every TCP probe times out while the node checks are clean: no check explains it (CONNECTION_FAILED). */
const unexplained: Answer = (spec) => (spec.action.tool === 'tcp-connect' ? { kind: 'timeout' } : healthyAnswer(spec));
/** The cross-node probe times out; the node's own probes pass: the overlay is blocked (a certain finding). */
const overlay: Answer = (spec) => (spec.action.tool === 'tcp-connect' && spec.where.kind === 'source-pod' ? { kind: 'timeout' } : healthyAnswer(spec));

async function diagnose(prober: FakeProber, opts: Partial<RunOptions> = {}): Promise<{ events: RunEvent[]; report: Awaited<ReturnType<typeof runDiagnosis>> }> {
  const events: RunEvent[] = [];
  const report = await runDiagnosis({
    runId: 'r',
    source: src,
    destination: dst,
    cluster: createFakeCluster(facts),
    makeProber: () => prober,
    opts: { timeoutMs: 2000, ...opts },
    emit: (e) => void events.push(e),
    clock: realClock,
  });
  return { events, report };
}

describe('the trace in a run', () => {
  it('an uncertain verdict traces on its own: captures listen, the probe runs again, they stop; the verdict is localized', async () => {
    const prober = withCaptures(unexplained);
    const { events, report } = await diagnose(prober);
    expect(report.trace).toBeDefined();
    expect(report.trace?.reason).toBe('uncertain-verdict');
    expect(report.trace?.forward).toEqual({ packet: 'syn', lastSeen: 'node-2/underlay', firstMissing: 'node-2/flannel.1' });
    expect(report.verdict.cause).toBe('CONNECTION_FAILED');
    expect(report.verdict.node).toBe('node-2');
    expect(report.verdict.summary).toMatch(/the trace localizes it: SYN leaves node-2's eth0 \(underlay\), never reaches node-2's flannel\.1/);
    expect(report.verdict.citations).toContainEqual({ probe: 'trace:pod-ip:10.244.2.7:8080', role: 'cause' });
    expect(report.findings[0]).toEqual(report.verdict);
    // Every capture listened before the probe ran again, and every one was stopped after it.
    const log = prober.log;
    const rerun = log.indexOf('run pod-ip:10.244.2.7:8080@trace');
    expect(rerun).toBeGreaterThan(0);
    for (const key of ['source-pod', 'node-pod:node-1:host', 'node-pod:node-2:host']) {
      expect(log.indexOf(`listening ${key}`), key).toBeGreaterThan(-1);
      expect(log.indexOf(`listening ${key}`), key).toBeLessThan(rerun);
      expect(log.indexOf(`stop ${key}`), key).toBeGreaterThan(rerun);
    }
    // The events: trace-started, trace-finished, then the verdict, which carries the trace.
    const types = events.map((e) => e.type);
    expect(types.indexOf('trace-started')).toBeLessThan(types.indexOf('trace-finished'));
    expect(types.indexOf('trace-finished')).toBeLessThan(types.indexOf('verdict-decided'));
  });

  it('a certain verdict is traced only when asked, and keeps its cause, summary and node', async () => {
    const auto = await diagnose(withCaptures(overlay));
    const askedProber = withCaptures(overlay);
    expect(auto.report.verdict.cause).toBe('OVERLAY_BLOCKED');
    expect(auto.report.trace).toBeUndefined();
    const asked = await diagnose(askedProber, { trace: 'always' });
    expect(askedProber.log).toContain('capture target-pod:shop/web-1');
    expect(asked.report.trace?.reason).toBe('asked');
    expect({ cause: asked.report.verdict.cause, summary: asked.report.verdict.summary, node: asked.report.verdict.node }).toEqual({
      cause: auto.report.verdict.cause,
      summary: auto.report.verdict.summary,
      node: auto.report.verdict.node,
    });
    expect(asked.report.verdict.citations).toContainEqual({ probe: 'trace:pod-ip:10.244.2.7:8080', role: 'reference' });
    // Asked for, the trace captures in the destination pod too; on its own it never adds a container there.
    expect(asked.report.trace?.hops.at(-1)?.id).toBe('destination-pod/eth0');
    const uncertain = withCaptures(unexplained);
    const auto2 = await diagnose(uncertain);
    expect(auto2.report.trace?.hops.some((h) => h.id === 'destination-pod/eth0')).toBe(false);
    expect(uncertain.log.filter((l) => l.startsWith('capture target-pod'))).toEqual([]);
  });

  it('a capture that fails at one location leaves the others capturing, and every started one is stopped', async () => {
    const prober = withCaptures(unexplained);
    const inner = prober.capture?.bind(prober) as NonNullable<FakeProber['capture']>;
    prober.capture = (where, command, opts) => {
      if (where.kind === 'node-pod' && where.node === 'node-1') throw new Error('a bug in the capture');
      return inner(where, command, opts);
    };
    const { report, events } = await diagnose(prober);
    expect(report.verdict.cause).toBe('CONNECTION_FAILED');
    const hops = report.trace?.hops ?? [];
    expect(hops.filter((h) => h.node === 'node-1' && h.role !== 'pod').map((h) => h.capture)).toEqual(
      Array(4).fill({ kind: 'not-captured', reason: 'the capture could not start: a bug in the capture' }),
    );
    expect(report.trace?.forward).toEqual({ packet: 'syn', lastSeen: 'node-2/underlay', firstMissing: 'node-2/flannel.1' });
    expect(prober.log.filter((l) => l.startsWith('stop ')).sort()).toEqual(['stop node-pod:node-2:host', 'stop source-pod']);
    expect(events.at(-1)?.type).toBe('run-finished');
  });

  it('a trace that throws never costs the run its verdict', async () => {
    const prober = withCaptures(unexplained);
    const { report } = await diagnose(prober, { captureDir: '\0not a directory' });
    expect(report.verdict.cause).toBe('CONNECTION_FAILED');
    expect(report.trace).toBeUndefined();
  });

  it('--no-trace and a healthy run capture nothing', async () => {
    const never = withCaptures(unexplained);
    expect((await diagnose(never, { trace: 'never' })).report.trace).toBeUndefined();
    expect(never.log.filter((l) => l.startsWith('capture'))).toEqual([]);
    const healthy = withCaptures(healthyAnswer);
    expect((await diagnose(healthy)).report.trace).toBeUndefined();
    expect(healthy.log.filter((l) => l.startsWith('capture'))).toEqual([]);
  });
});

describe('the trace of a PATH_MTU_MISMATCH', () => {
  /** node-2's full-size ping to the client fails while its small one passes: node-2's overlay MTU exceeds the path. */
  const mtu: Answer = (spec) =>
    spec.action.tool === 'path-mtu' && spec.where.kind === 'node-pod' && spec.where.node === 'node-2'
      ? { kind: 'mtu', size: 1472, passed: false, mtu: 1500, dev: 'flannel.1', smallPassed: true }
      : healthyAnswer(spec);
  const echo = planEchoTrace({
    network: 'flannel',
    probe: 'p',
    flow: { protocol: 'ICMP', source: '172.18.0.3', destination: { ip: '10.244.1.5', port: 0 }, translated: [], echo: { size: 1500, from: 'node-2' } },
    from: 'node-2',
    to: { ip: '10.244.1.5', node: 'node-1', name: 'front/client', id: 'source-pod/eth0', where: { kind: 'source-pod' } },
    nodeIPs: { 'node-1': '172.18.0.2', 'node-2': '172.18.0.3' },
  }).hops;
  /** The lab capture of node-2's hops (the echo leaves it), moved to this test's client; nothing anywhere else. */
  const echoCapture = (id: string): string =>
    id.startsWith('node-2/') ? readFileSync(new URL(`../unit/trace-fixtures/mtu-mismatch-${id.replace('/', '_')}.txt`, import.meta.url), 'utf8').replaceAll('10.244.1.3', '10.244.1.5') : '';

  it("--trace follows the failed check's full-size ping from node-2 (run again under capture), and the verdict keeps its cause", async () => {
    const prober = createFakeProber({ answer: mtu });
    const filters: string[] = [];
    prober.capture = (where: CaptureLocation, command: string[]): CaptureSession => {
      const key = captureLocationKey(where);
      const mine = echo.filter((h) => captureLocationKey(h.where) === key);
      filters.push(command.join(' '));
      prober.log.push(`capture ${key}`);
      return {
        listening: Promise.resolve({ ok: true as const }),
        stop: async () => {
          prober.log.push(`stop ${key}`);
          return { records: mine.map((h, index) => ({ index, device: h.role === 'underlay' ? 'eth0' : h.role === 'veth' ? 'veth9' : (h.id.split('/')[1] ?? ''), text: echoCapture(h.id), stderr: 'tcpdump: listening on x\n', pcap: Buffer.alloc(0) })) };
        },
      };
    };
    const auto = await diagnose(createFakeProber({ answer: mtu }));
    expect(auto.report.verdict.cause).toBe('PATH_MTU_MISMATCH');
    expect(auto.report.trace).toBeUndefined();
    const { report } = await diagnose(prober, { trace: 'always' });
    const t = report.trace;
    expect(t?.probe).toMatch(/^node-checks:node-2:mtu:10\.244\.1\.5$/);
    expect(t?.flow.echo).toEqual({ size: 1500, from: 'node-2' });
    expect(t?.hops.map((h) => h.id)).toEqual(echo.map((h) => h.id));
    expect(t?.forward).toEqual({ packet: 'icmp-echo', lastSeen: 'node-2/underlay', firstMissing: 'node-1/underlay' });
    expect(t?.outcome).toBe('full-size ping lost');
    // The check itself runs again between the captures listening and their stop; its filters follow ICMP echo of 1500 bytes.
    const rerun = prober.log.indexOf(`run ${t?.probe ?? ''}@trace`);
    expect(rerun).toBeGreaterThan(prober.log.indexOf('capture node-pod:node-2:host'));
    expect(prober.log.indexOf('stop node-pod:node-2:host')).toBeGreaterThan(rerun);
    expect(filters.join('\n')).toMatch(/ip\[2:2\] = 1500/);
    expect(filters.join('\n')).toMatch(/udp\[32:2\] = 1500/);
    // A certain verdict: unchanged but for the trace as reference evidence.
    expect({ cause: report.verdict.cause, summary: report.verdict.summary, node: report.verdict.node }).toEqual({ cause: 'PATH_MTU_MISMATCH', summary: auto.report.verdict.summary, node: 'node-2' });
    expect(report.verdict.citations).toContainEqual({ probe: t?.id, role: 'reference' });
    expect(report.verdict.evidence.at(-1)).toMatch(/never reaches node-1's eth0 \(underlay\): between the nodes/);
  });
});

describe('the trace in the reporters', () => {
  afterEach(() => cleanup());
  const replay = async (events: RunEvent[], make: (out: OutputStream) => ReturnType<typeof createTextReporter>): Promise<string> => {
    const out = { text: '', isTTY: false, write: (t: string) => void (out.text += t) };
    const reporter = make(out);
    for (const e of events) await dispatchEvent([reporter], e);
    await reporter.finish?.();
    return out.text;
  };

  it('text: a path diagram with ✓/✗ per hop, the first hop without the SYN marked, and the sentence', async () => {
    const { events } = await diagnose(withCaptures(unexplained));
    const text = await replay(events, (o) => createTextReporter(o, { color: false }));
    const section = text.slice(text.indexOf('\nTrace  '), text.indexOf('\nVerdict'));
    expect(section).toMatch(/Trace {2}TCP 10\.244\.1\.5 → 10\.244\.2\.7:8080, probe pod-ip:10\.244\.2\.7:8080 repeated under capture \(timeout; the verdict was not certain\)/);
    expect(section).toMatch(/source pod eth0 +✓ → SYN {2}← nothing/);
    expect(section).toMatch(/node-2 eth0 \(underlay\) +✓ → SYN/);
    expect(section).toMatch(/node-2 flannel\.1 \(tunnel\) +✗ nothing seen {2}◀ first hop without the SYN/);
    expect(section).toMatch(/shop\/web-1 eth0 +- not captured: the destination pod gets no debug container/);
    expect(section).toMatch(/▶ SYN leaves node-2's eth0 \(underlay\), never reaches node-2's flannel\.1: inside node-2, between its eth0 and flannel\.1/);
  });

  it('json: the report carries the trace', async () => {
    const { events, report } = await diagnose(withCaptures(unexplained));
    const json = JSON.parse(await replay(events, (o) => createJsonReporter(o))) as typeof report;
    expect(json.trace).toEqual(report.trace);
    expect(json.trace?.hops.find((h) => h.id === 'node-1/underlay')?.lines.join('\n')).toMatch(/VXLAN|OTV/);
  });

  it('tui: a trace row whose drill-down shows the diagram and the capture lines, and the path drawn under the packet path', async () => {
    const { events } = await diagnose(withCaptures(unexplained));
    const state = replayEvents(events, 'lab');
    const row = state.rows.find((r) => r.key === 'trace');
    expect(row).toMatchObject({ kind: 'trace', status: 'failed', summary: expect.stringMatching(/^SYN leaves node-2's eth0/) });
    const drill = buildDrillLines(row as NonNullable<typeof row>, state).join('\n');
    expect(drill).toMatch(/node-2 flannel\.1 \(tunnel\) +✗ nothing seen/);
    expect(drill).toMatch(/Capture lines \(tcpdump -nn -tt -e\):/);
    expect(drill).toMatch(/source pod eth0:\n {2}\d+\.\d+ \S+ > \S+, ethertype IPv4 .*10\.244\.1\.5\.\d+ > 10\.244\.2\.7\.8080: Flags \[S\]/);
    expect(drill).toMatch(/node-2 flannel\.1 \(tunnel\):\n {2}\(nothing of the flow\)/);
    const frame = stripVTControlCharacters(render(<TracePath trace={state.trace as NonNullable<typeof state.trace>} color={false} />).lastFrame() ?? '');
    expect(frame).toMatch(/node-2 flannel\.1 \(tunnel\) +✗ nothing seen/);
    expect(frame).toMatch(/▶ SYN leaves node-2's eth0/);
  });
});
