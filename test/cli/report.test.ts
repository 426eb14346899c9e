import { beforeAll, describe, expect, it } from 'vitest';
import type { ProbeObservation, Report, RunEvent } from '../../src/core/model.ts';
import { createJsonReporter, createNdjsonReporter } from '../../src/report/json.ts';
import { dispatchEvent, shouldUseColor, type OutputStream } from '../../src/report/reporter.ts';
import { createTextReporter } from '../../src/report/text.ts';
import { judgeNodeCheck } from '../../src/core/node-checks.ts';
import { runDiagnosis } from '../../src/run.ts';
import { buildFacts, clientPod, createFakeCluster, createFakeProber, healthyAnswer, realClock, webPod } from './fakes.ts';

/** Records the event stream of a run with fakes (JSON round-tripped, as a recorded stream would be). */
async function record(answer = healthyAnswer, facts = buildFacts()): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  await runDiagnosis({
    runId: 'r1',
    source: { kind: 'pod', namespace: 'front', name: 'client' },
    destination: { kind: 'service', namespace: 'shop', name: 'web' },
    cluster: createFakeCluster(facts),
    makeProber: () => createFakeProber({ answer }),
    opts: { timeoutMs: 2000 },
    emit: (e) => void events.push(e),
    clock: realClock,
  });
  return JSON.parse(JSON.stringify(events)) as RunEvent[];
}

function buffer(isTTY = false): OutputStream & { text: string } {
  const out = { text: '', isTTY, write: (s: string) => (out.text += s) };
  return out;
}

async function replay(events: RunEvent[], make: (out: OutputStream) => ReturnType<typeof createJsonReporter>): Promise<string> {
  const out = buffer();
  const reporter = make(out);
  for (const e of events) await dispatchEvent([reporter], e);
  await reporter.finish?.();
  return out.text;
}

const forwardOff = (s: Parameters<typeof healthyAnswer>[0]) =>
  s.action.tool === 'sysctl' && s.action.key === 'net.ipv4.ip_forward' && s.where.kind === 'node-pod' && s.where.node === 'node-2'
    ? ({ kind: 'sysctl', key: s.action.key, value: '0' } as const)
    : s.action.tool === 'tcp-connect' && s.action.host === '10.244.2.7' && s.where.kind === 'source-pod'
      ? ({ kind: 'timeout' } as const)
      : healthyAnswer(s);

describe('text reporter', () => {
  let healthy: RunEvent[];
  let broken: RunEvent[];
  beforeAll(async () => {
    healthy = await record();
    broken = await record(forwardOff);
  });

  it('prints the header, one line per rung in ladder order, node checks and a healthy verdict', async () => {
    const text = await replay(healthy, (o) => createTextReporter(o, { color: false }));
    const lines = text.split('\n');
    expect(lines[0]).toBe('kubectl netdebug  front/pod/client → shop/service/web');
    expect(text).toContain('  source       pod front/client on node-1, 10.244.1.5');
    expect(text).toContain('  destination  service shop/web, 10.96.1.1:80 → http, 2/3 endpoints ready');
    const rungLines = lines.filter((l) => /^ {2}[✓✗–?] (dns|cluster-ip|pod-ip|same-node|node-origin) /.test(l));
    expect(rungLines.map((l) => l.split(/\s+/)[2])).toEqual(['dns', 'cluster-ip', 'pod-ip', 'same-node', 'node-origin']);
    expect(rungLines[0]).toMatch(/^ {2}✓ dns +\d+ms {2}3\/3 passed$/);
    expect(text).toContain('Node checks');
    expect(text).toMatch(/✓ node-2 +net\.ipv4\.ip_forward = 1/);
    expect(text).toContain('Verdict  ✓ HEALTHY');
    expect(text).toMatch(/took \d+ms · 7 API requests · \d+ execs/);
    expect(text).not.toContain('\u001b[');
  });

  it('prints the broken verdict with where, evidence and Fix hints', async () => {
    const text = await replay(broken, (o) => createTextReporter(o, { color: false }));
    expect(text).toContain('Verdict  ✗ BROKEN  NODE_IP_FORWARD_DISABLED (node)');
    expect(text).toContain('  where:  node node-2');
    expect(text).toMatch(/✗ node-2 +net\.ipv4\.ip_forward = 0/);
    expect(text).toMatch(/ {2}Evidence:\n {4}- node node-2 \(hostNetwork\) → net\.ipv4\.ip_forward: net\.ipv4\.ip_forward = 0/);
    expect(text).toContain('  Fix:\n    - on node node-2: sysctl -w net.ipv4.ip_forward=1');
    const checks = text.split('Node checks\n')[1]?.split('\n\n')[0]?.split('\n') ?? [];
    expect(checks[0]).toMatch(/^ {2}✓ node-1 +net\.ipv4\.ip_forward = 1$/);
    expect(checks.findIndex((l) => l.includes('node-2'))).toBeGreaterThan(checks.findLastIndex((l) => l.includes('node-1')));
    expect(text).toMatch(/✓ node-1 +FORWARD policy ACCEPT\n/);
    expect(text).toMatch(/ {2}✗ pod-ip .*1\/2 failed: 10\.244\.2\.7:8080 timed out/);
  });

  it('marks the node check the verdict cites, and a full-size ping lost with the small one as a symptom', async () => {
    const pathDown = (spec: Parameters<typeof healthyAnswer>[0]) =>
      spec.action.tool === 'path-mtu' && spec.where.kind === 'node-pod' && spec.where.node === 'node-1'
        ? ({ kind: 'mtu', size: 1422, passed: false, mtu: 1450, dev: 'flannel.1', smallPassed: false } as const)
        : spec.action.tool === 'packet-loss'
          ? ({ kind: 'loss', sent: 50, received: 0 } as const)
          : forwardOff(spec);
    const text = await replay(await record(pathDown), (o) => createTextReporter(o, { color: false }));
    expect(text).toMatch(/✗ node-2 +net\.ipv4\.ip_forward = 0  ◀ NODE_IP_FORWARD_DISABLED\n/);
    expect(text).toMatch(/! node-1 +10\.244\.2\.7 \(full-size DF ping\): .*56-byte DF ping failed  \(no ping got through: the path is down, not an MTU problem\)/);
    expect(text).toMatch(/! node-1 +10\.244\.2\.7 \(a burst of 50 pings\): 0\/50 answered \(100% lost\)  \(no ping got through: the path is down\)\n/);
    expect(text).not.toMatch(/ip_forward = 1  ◀/);
  });

  it('never marks a check that could not run as the cause: an inconclusive verdict only has ? lines', async () => {
    const forbidden = () => ({ kind: 'could-not-run', reason: 'exec failed: forbidden (403)' }) as const;
    const text = await replay(await record(forbidden), (o) => createTextReporter(o, { color: false }));
    expect(text).toContain('Verdict  ? INCONCLUSIVE  CHECKS_COULD_NOT_RUN (netdebug)');
    expect(text).toMatch(/\? node-2 +net\.ipv4\.ip_forward: could not run: exec failed: forbidden \(403\)\n/);
    expect(text).not.toContain('◀');
  });

  it('marks the wrong neighbor entry as the cause and the pod\'s real MAC as its evidence, not as a fault', async () => {
    const stale = (spec: Parameters<typeof healthyAnswer>[0]) =>
      spec.action.tool === 'neighbor' && spec.action.address === '10.244.2.7'
        ? ({ kind: 'neighbor', ip: '10.244.2.7', mac: spec.action.refresh ? '0a:58:0a:f4:02:07' : '02:00:5e:00:de:ad', state: spec.action.refresh ? 'REACHABLE' : 'PERMANENT', dev: 'cni0' } as const)
        : spec.action.tool === 'tcp-connect' && spec.action.host === '10.244.2.7' && !(spec.where.kind === 'node-pod' && !spec.where.hostNetwork)
          ? ({ kind: 'timeout' } as const)
          : healthyAnswer(spec);
    const text = await replay(await record(stale), (o) => createTextReporter(o, { color: false }));
    expect(text).toContain('Verdict  ✗ BROKEN  NODE_NEIGHBOR_STALE (node)');
    expect(text).toMatch(/✗ node-2 +neighbor 10\.244\.2\.7: 10\.244\.2\.7 lladdr 02:00:5e:00:de:ad PERMANENT  ◀ NODE_NEIGHBOR_STALE\n/);
    expect(text).toMatch(/· node-2 +MAC of 10\.244\.2\.7 on its bridge: 10\.244\.2\.7 lladdr 0a:58:0a:f4:02:07 REACHABLE  \(evidence for NODE_NEIGHBOR_STALE\)\n/);
  });

  it('on a lossy overlay marks the loss burst as the cause and a lost MTU ping as saying nothing', async () => {
    const lossy = (spec: Parameters<typeof healthyAnswer>[0]) =>
      spec.action.tool === 'packet-loss'
        ? ({ kind: 'loss', sent: 50, received: 35, rttMs: 0.1 } as const)
        : spec.action.tool === 'path-mtu' && spec.where.kind === 'node-pod' && spec.where.node === 'node-1'
          ? ({ kind: 'mtu', size: 1422, passed: false, mtu: 1450, dev: 'flannel.1', smallPassed: true } as const)
          : healthyAnswer(spec);
    const text = await replay(await record(lossy), (o) => createTextReporter(o, { color: false }));
    expect(text).toContain('Verdict  ✗ DEGRADED  OVERLAY_PACKET_LOSS (overlay)');
    expect(text).toMatch(/✗ node-1 +10\.244\.2\.7 \(a burst of 50 pings\): 35\/50 answered \(30% lost\), 0\.1 ms average round trip  ◀ OVERLAY_PACKET_LOSS/);
    expect(text).toMatch(/! node-1 +10\.244\.2\.7 \(full-size DF ping\): .*  \(the overlay loses packets: a lost ping says nothing of its size\)/);
    expect(text).not.toContain('PATH_MTU_MISMATCH');
  });

  it('writes the header only once a target resolved, so a lookup error stands alone', async () => {
    const started = healthy.filter((e) => e.type === 'run-started');
    expect(await replay(started, (o) => createTextReporter(o, { color: false }))).toBe('');
  });

  it('says a refused DNS query means no server listens, and a connected route is direct', async () => {
    const closed = (spec: Parameters<typeof healthyAnswer>[0]) =>
      spec.action.tool === 'dns-lookup'
        ? ({ kind: 'refused' } as const)
        : spec.action.tool === 'route-match'
          ? ({ kind: 'route', present: true, route: '10.244.1.0/24', dev: 'cni0' } as const)
          : healthyAnswer(spec);
    const text = await replay(await record(closed), (o) => createTextReporter(o, { color: false }));
    expect(text).toMatch(/✗ dns .*failed: .* no DNS server listening \(port 53 closed\)/);
    expect(text).toContain('route 10.244.1.0/24 dev cni0 (directly connected)');
    expect(text).not.toContain('via direct');
  });

  it('says under Ruled out why the verdict is not the other candidates (rungs that passed), and only for a fault', async () => {
    const text = await replay(broken, (o) => createTextReporter(o, { color: false }));
    expect(text).toContain('Ruled out\n  · not DNS: the name resolves (dns passed)');
    expect(await replay(healthy, (o) => createTextReporter(o, { color: false }))).not.toContain('Ruled out');
  });

  it('names the datapath the nodes confirmed, with what it is unsure of, before the verdict', async () => {
    const text = await replay(healthy, (o) => createTextReporter(o, { color: false }));
    expect(text).toContain('Datapath  flannel · service proxy unknown (unsure: no kube-proxy DaemonSet or ConfigMap in kube-system)\n');
    expect(text.indexOf('Datapath')).toBeLessThan(text.indexOf('Verdict'));
    const report = JSON.parse(await replay(healthy, (o) => createJsonReporter(o))) as Report;
    expect(report.datapath).toMatchObject({ network: 'flannel', serviceProxy: 'unknown', evidence: ['node node-1: flannel.1 (vxlan port 8472)', 'node node-2: flannel.1 (vxlan port 8472)'] });
  });

  it('lists findings that are only notes (healthy status) under Notes', async () => {
    const events = healthy.map((e) =>
      e.type === 'verdict-decided'
        ? { ...e, findings: [...e.findings, { status: 'healthy' as const, cause: 'SERVICE_TARGET_PORT_MISMATCH' as const, component: 'service' as const, summary: 'targetPort 9090 is not declared, but the pods answer on it', evidence: [], hints: [] }] }
        : e,
    );
    const text = await replay(events, (o) => createTextReporter(o, { color: false }));
    expect(text).toContain('Notes\n  · SERVICE_TARGET_PORT_MISMATCH: targetPort 9090 is not declared, but the pods answer on it');
  });

  it('shows a skipped rung with its reason and no duration', async () => {
    const events = await record(healthyAnswer, buildFacts(clientPod, webPod));
    const text = await replay(events, (o) => createTextReporter(o, { color: false }));
    expect(text).toMatch(/ {2}– cluster-ip +skipped: the destination is a pod, not a Service: no ClusterIP/);
  });

  it('prints rungs in ladder order even when they finish out of order', async () => {
    const rungEvents = healthy.filter((e) => e.type === 'rung-finished').reverse();
    const rest = healthy.filter((e) => e.type !== 'rung-finished');
    const idx = rest.findIndex((e) => e.type === 'verdict-decided');
    const text = await replay([...rest.slice(0, idx), ...rungEvents, ...rest.slice(idx)], (o) => createTextReporter(o, { color: false }));
    const order = text.split('\n').flatMap((l) => /^ {2}. (dns|cluster-ip|pod-ip|same-node|node-origin) /.exec(l)?.[1] ?? []);
    expect(order).toEqual(['dns', 'cluster-ip', 'pod-ip', 'same-node', 'node-origin']);
  });

  it('writes ANSI colour only when asked', async () => {
    const text = await replay(broken, (o) => createTextReporter(o, { color: true }));
    expect(text).toContain('\u001b[31m✗ BROKEN\u001b[39m');
  });

  it('elides long evidence', async () => {
    const text = await replay(healthy, (o) => createTextReporter(o, { color: false, maxEvidence: 2 }));
    expect(text).toMatch(/… and \d+ more \(see -o json\)/);
  });
});

describe('shouldUseColor', () => {
  it.each([
    { name: 'TTY', tty: true, env: {}, want: true },
    { name: 'not a TTY', tty: false, env: {}, want: false },
    { name: 'NO_COLOR on a TTY', tty: true, env: { NO_COLOR: '1' }, want: false },
    { name: 'TERM=dumb', tty: true, env: { TERM: 'dumb' }, want: false },
  ])('$name', ({ tty, env, want }) => {
    expect(shouldUseColor(buffer(tty), env)).toBe(want);
  });
});

describe('judgeNodeCheck', () => {
  it.each([
    { name: 'sysctl 0', obs: { kind: 'sysctl', key: 'k.x', value: '0' }, want: 'fail' },
    { name: 'sysctl 1', obs: { kind: 'sysctl', key: 'k.x', value: '1' }, want: 'ok' },
    { name: 'FORWARD DROP', obs: { kind: 'forward-policy', policy: 'DROP' }, want: 'warn' },
    { name: 'no route', obs: { kind: 'route', present: false }, want: 'fail' },
    { name: 'no NAT', obs: { kind: 'nat-rules', clusterIP: '1.1.1.1', port: 1, present: false, endpoints: [] }, want: 'fail' },
    { name: 'mtu failed', obs: { kind: 'mtu', size: 1422, passed: false }, want: 'fail' },
    { name: 'full-size ping failed, the small one passed (an MTU fault)', obs: { kind: 'mtu', size: 1422, passed: false, smallPassed: true }, want: 'fail' },
    { name: 'full-size ping passed, the small one lost (no MTU fault, no symptom)', obs: { kind: 'mtu', size: 1422, passed: true, smallPassed: false }, want: 'ok' },
    { name: 'a third of the ping burst lost', obs: { kind: 'loss', sent: 50, received: 33 }, want: 'fail' },
    { name: 'every ping of the burst lost (a symptom)', obs: { kind: 'loss', sent: 50, received: 0 }, want: 'warn' },
    { name: 'one ping of fifty lost', obs: { kind: 'loss', sent: 50, received: 49 }, want: 'ok' },
    { name: 'hairpin off on a bridge port', obs: { kind: 'bridge-ports', ports: [{ ifindex: 5, dev: 'veth3', bridge: 'cni0', hairpin: false }] }, want: 'warn' },
    { name: 'hairpin on everywhere', obs: { kind: 'bridge-ports', ports: [{ ifindex: 5, dev: 'veth3', bridge: 'cni0', hairpin: true }] }, want: 'ok' },
    { name: 'both pings lost (the path is down: a symptom)', obs: { kind: 'mtu', size: 1422, passed: false, smallPassed: false }, want: 'warn' },
    { name: 'no neighbor entry (nothing talked to it)', obs: { kind: 'neighbor', ip: '10.244.2.2', mac: null, state: 'NONE' }, want: 'ok' },
    { name: 'neighbor that failed to resolve', obs: { kind: 'neighbor', ip: '10.244.2.2', mac: null, state: 'FAILED', dev: 'cni0' }, want: 'warn' },
    { name: 'could not run', obs: { kind: 'could-not-run', reason: 'x' }, want: 'not-run' },
  ] as { name: string; obs: ProbeObservation; want: string }[])('$name', ({ obs, want }) => {
    expect(judgeNodeCheck(obs)).toBe(want);
  });
});

describe('ndjson reporter', () => {
  it('writes every event as one JSON line, in order, the last carrying the Report', async () => {
    const events = await record(forwardOff);
    const lines = (await replay(events, createNdjsonReporter)).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l) as RunEvent)).toEqual(JSON.parse(JSON.stringify(events)));
    const last = JSON.parse(lines.at(-1)!) as RunEvent;
    expect(last.type === 'run-finished' && last.report.verdict.cause).toBe('NODE_IP_FORWARD_DISABLED');
  });
});

describe('json reporter', () => {
  it('prints exactly one JSON object matching the contract', async () => {
    const events = await record(forwardOff);
    const text = await replay(events, createJsonReporter);
    const report = JSON.parse(text) as Report;
    expect(text.trim().split('\n')[0]).toBe('{');
    expect(report).toMatchObject({ apiVersion: 'netdebug.dev/v1', kind: 'Report' });
    expect(report.source).toEqual({ kind: 'pod', namespace: 'front', name: 'client', node: 'node-1', ip: '10.244.1.5' });
    expect(report.destination).toMatchObject({ kind: 'service', namespace: 'shop', name: 'web', clusterIP: '10.96.1.1', port: 80 });
    expect(report.rungs.map((r) => r.id)).toEqual(['dns', 'cluster-ip', 'pod-ip', 'same-node', 'node-origin']);
    for (const r of report.rungs) {
      expect(['passed', 'failed', 'skipped', 'error']).toContain(r.status);
      expect(typeof r.durationMs).toBe('number');
      expect(typeof r.summary).toBe('string');
    }
    expect(report.verdict).toMatchObject({ status: 'broken', cause: 'NODE_IP_FORWARD_DISABLED', component: 'node', node: 'node-2' });
    expect(report.findings[0]).toEqual(report.verdict);
    expect(Object.keys(report.stats).sort()).toEqual(['apiRequests', 'execs', 'wallMs']);
  });

  it('prints nothing when the run did not finish', async () => {
    const events = (await record()).filter((e) => e.type !== 'run-finished');
    expect(await replay(events, createJsonReporter)).toBe('');
  });
});
