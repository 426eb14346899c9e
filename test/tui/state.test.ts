/** The reducer: recorded event streams folded into the view state, row order, statuses and the packet path. */
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/core/model.ts';
import { applyEvent, createInitialState, derivePath, replayEvents, type TuiState } from '../../src/tui/state.ts';
import { runDiagnosis } from '../../src/run.ts';
import { buildDrillLines } from '../../src/tui/views.tsx';
import { buildFacts, createFakeCluster, createFakeProber, healthyAnswer, realClock } from '../cli/fakes.ts';
import { loadEvents, type Recorded } from './fixtures.ts';

/** The events of a run over the fake cluster (client on node-1, web-1 on node-2) whose prober answers with `answer`. */
async function eventsOf(answer: typeof healthyAnswer): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  await runDiagnosis({
    runId: 'r',
    source: { kind: 'pod', namespace: 'front', name: 'client' },
    destination: { kind: 'service', namespace: 'shop', name: 'web' },
    cluster: createFakeCluster(buildFacts()),
    makeProber: () => createFakeProber({ answer }),
    opts: { timeoutMs: 2000 },
    emit: (e) => void events.push(e),
    clock: realClock,
  });
  return events;
}

const labels = (s: TuiState): string[] => s.rows.map((r) => r.label);

describe('applyEvent', () => {
  it('starts with the API row running and every rung pending', () => {
    const s = createInitialState('ctx');
    expect(s.rows.map((r) => [r.label, r.status])).toEqual([
      ['API objects', 'running'],
      ['dns', 'pending'],
      ['cluster-ip', 'pending'],
      ['pod-ip', 'pending'],
      ['same-node', 'pending'],
      ['node-origin', 'pending'],
    ]);
  });

  it('never moves a row: every prefix of the stream keeps the earlier rows in place', () => {
    const events = loadEvents('ip-forward-off');
    let state = createInitialState();
    for (const e of events) {
      const before = labels(state);
      state = applyEvent(state, e);
      expect(labels(state).slice(0, before.length)).toEqual(before);
    }
    expect(labels(state)).toHaveLength(8);
  });

  it('does not mutate the state it is given', () => {
    const s = createInitialState();
    const frozen = JSON.stringify(s);
    applyEvent(s, { type: 'rung-started', rung: 'dns' });
    expect(JSON.stringify(s)).toBe(frozen);
  });

  it('marks rung-started as running, rung-finished with its status, duration and summary', () => {
    const events = loadEvents('ip-forward-off');
    const upToStart = events.slice(0, events.findIndex((e) => e.type === 'rung-started') + 1);
    expect(replayEvents(upToStart).rows.find((r) => r.key === 'dns')?.status).toBe('running');
    const s = replayEvents(events);
    expect(s.rows.find((r) => r.key === 'cluster-ip')).toMatchObject({ status: 'failed', summary: '1/1 failed: 10.96.0.2:80 timed out' });
    expect(s.rows.find((r) => r.key === 'dns')?.durationMs).toBeGreaterThan(0);
  });

  it('keeps each probe with its spec and observation for the drill-down', () => {
    const s = replayEvents(loadEvents('ip-forward-off'));
    const probe = s.rows.find((r) => r.key === 'cluster-ip')?.probes[0];
    expect(probe?.spec.command).toEqual(['nc', '-z', '-v', '-w', '2', '10.96.0.2', '80']);
    expect(probe?.observation).toEqual({ kind: 'timeout' });
  });

  it('maps a rung that could not run to could-not-run and a planned skip to skipped', () => {
    const base = replayEvents(loadEvents('service-no-endpoints'));
    expect(base.rows.find((r) => r.key === 'pod-ip')?.status).toBe('skipped');
    const err: RunEvent = { type: 'rung-finished', rung: { id: 'dns', status: 'error', durationMs: 5, summary: 'could not run: exec failed', probes: [] } };
    expect(applyEvent(base, err).rows.find((r) => r.key === 'dns')?.status).toBe('could-not-run');
  });

  it('drill-down says what the findings cite each probe as (cause, symptom), from their citations', async () => {
    const forwardOff = (spec: Parameters<typeof healthyAnswer>[0]) =>
      spec.action.tool === 'sysctl' && spec.action.key === 'net.ipv4.ip_forward' && spec.where.kind === 'node-pod' && spec.where.node === 'node-2'
        ? ({ kind: 'sysctl', key: spec.action.key, value: '0' } as const)
        : spec.action.tool === 'tcp-connect' && spec.action.host === '10.244.2.7' && spec.where.kind === 'source-pod'
          ? ({ kind: 'timeout' } as const)
          : healthyAnswer(spec);
    const s = replayEvents(await eventsOf(forwardOff));
    const node2 = buildDrillLines(s.rows.find((r) => r.key === 'node:node-2') as NonNullable<(typeof s.rows)[number]>, s);
    expect(node2).toContain('  cited:   cause of NODE_IP_FORWARD_DISABLED on node node-2');
    const podIp = buildDrillLines(s.rows.find((r) => r.key === 'pod-ip') as NonNullable<(typeof s.rows)[number]>, s);
    expect(podIp).toContain('  cited:   a symptom explained by NODE_IP_FORWARD_DISABLED on node node-2');
  });

  it('groups node checks per node and judges them: ip_forward = 0 fails node-2', () => {
    const s = replayEvents(loadEvents('ip-forward-off'));
    expect(s.rows.find((r) => r.key === 'node:node-2')).toMatchObject({ status: 'failed', summary: expect.stringContaining('net.ipv4.ip_forward = 0') });
  });

  it('reads node rows again once the verdict is in, as the text report does (core/node-checks.ts)', async () => {
    // node-2 pins a wrong MAC for web-1: the entry reads fine on its own, the verdict cites it.
    const stale = (spec: Parameters<typeof healthyAnswer>[0]) =>
      spec.action.tool === 'neighbor' && !spec.action.refresh
        ? ({ kind: 'neighbor', ip: spec.action.address, mac: '02:00:5e:00:de:ad', state: 'PERMANENT', dev: 'cni0' } as const)
        : spec.action.tool === 'tcp-connect' && spec.where.kind === 'source-pod'
          ? ({ kind: 'timeout' } as const)
          : healthyAnswer(spec);
    const events = await eventsOf(stale);
    const verdictAt = events.findIndex((e) => e.type === 'verdict-decided');
    const before = replayEvents(events.slice(0, verdictAt));
    expect(before.rows.find((r) => r.key === 'node:node-2')?.status).toBe('passed');
    const after = replayEvents(events);
    expect(after.verdict?.cause).toBe('NODE_NEIGHBOR_STALE');
    expect(after.rows.find((r) => r.key === 'node:node-2')).toMatchObject({ status: 'failed', summary: expect.stringContaining('neighbor: 10.244.2.7 lladdr 02:00:5e:00:de:ad PERMANENT') });
  });

  it("says what the walked FORWARD chain did to the flow in a node row, not just its policy", async () => {
    const dropped = (spec: Parameters<typeof healthyAnswer>[0]) =>
      spec.action.tool === 'forward-policy' && spec.where.kind === 'node-pod' && spec.where.node === 'node-2'
        ? ({ kind: 'forward-policy', policy: 'DROP', verdict: 'drop', backend: 'legacy', decidedBy: '-P FORWARD DROP' } as const)
        : healthyAnswer(spec);
    const s = replayEvents(await eventsOf(dropped));
    expect(s.rows.find((r) => r.key === 'node:node-2')).toMatchObject({ status: 'failed', summary: expect.stringContaining('FORWARD policy DROP; this flow is dropped by -P FORWARD DROP (iptables-legacy)') });
  });

  it('files a check the source pod ran under the source node, not a separate row', async () => {
    const s = replayEvents(await eventsOf(healthyAnswer));
    expect(s.rows.map((r) => r.key).filter((k) => k.startsWith('node:'))).toEqual(['node:node-1', 'node:node-2']);
  });

  it('takes the verdict and the exit code', () => {
    const s = replayEvents(loadEvents('ip-forward-off'));
    expect({ cause: s.verdict?.cause, exit: s.exitCode }).toEqual({ cause: 'NODE_IP_FORWARD_DISABLED', exit: 1 });
  });
});

describe('derivePath', () => {
  it.each<{ name: string; scenario: Recorded; dead: string; cause: string; good: string[] }>([
    { name: 'dns', scenario: 'dns-server-down', dead: 'dns', cause: 'DNS_SERVER_UNRESPONSIVE', good: ['src-pod', 'src-node', 'overlay', 'dst-node', 'dst-pod'] },
    { name: 'service', scenario: 'service-no-endpoints', dead: 'src-node', cause: 'SERVICE_NO_ENDPOINTS', good: ['src-pod'] },
    { name: 'kube-proxy', scenario: 'kube-proxy-rules-missing', dead: 'src-node', cause: 'SERVICE_PROXY_RULES_MISSING', good: ['src-pod', 'overlay', 'dst-node', 'dst-pod'] },
    { name: 'network-policy', scenario: 'network-policy-deny', dead: 'dst-pod', cause: 'NETWORK_POLICY_DENY', good: ['src-pod'] },
    { name: 'node', scenario: 'ip-forward-off', dead: 'dst-node', cause: 'NODE_IP_FORWARD_DISABLED', good: ['src-pod', 'dst-pod'] },
    { name: 'overlay', scenario: 'overlay-blocked', dead: 'overlay', cause: 'OVERLAY_BLOCKED', good: ['src-pod', 'dst-node', 'dst-pod'] },
    { name: 'destination', scenario: 'app-not-listening', dead: 'dst-pod', cause: 'DESTINATION_NOT_LISTENING', good: ['src-pod'] },
  ])('$name: the dead hop carries the cause, proven hops are good', ({ scenario, dead, cause, good }) => {
    const path = derivePath(replayEvents(loadEvents(scenario)));
    const all = [...path.chain, path.dns];
    expect(all.filter((h) => h.state === 'dead').map((h) => [h.id, h.note])).toEqual([[dead, cause]]);
    expect(all.filter((h) => h.state === 'good').map((h) => h.id).sort()).toEqual([...good, ...(dead === 'dns' ? [] : ['dns'])].sort());
  });

  it("names on the DNS hop the name looked up in the cluster domain of the source's resolv.conf", async () => {
    const events: RunEvent[] = [];
    const facts = buildFacts();
    await runDiagnosis({
      runId: 'r',
      source: { kind: 'pod', namespace: 'front', name: 'client' },
      destination: { kind: 'service', namespace: 'shop', name: 'web' },
      cluster: createFakeCluster({ ...facts, dns: { ...facts.dns, services: [{ namespace: 'kube-system', name: 'kube-dns', clusterIP: '10.96.0.10', pods: facts.dns.pods, readyEndpoints: 2, selector: 'k8s-app=kube-dns' }] } }),
      makeProber: () =>
        createFakeProber({
          answer: (spec) =>
            spec.action.tool === 'resolv-conf' ? { kind: 'resolv-conf', nameservers: ['10.96.0.10'], search: ['front.svc.corp.example', 'svc.corp.example', 'corp.example'] } : healthyAnswer(spec),
        }),
      opts: { timeoutMs: 2000 },
      emit: (e) => void events.push(e),
      clock: realClock,
    });
    expect(derivePath(replayEvents(events)).dns).toMatchObject({ detail: 'web.shop.svc.corp.example', state: 'good' });
    // Before the lookups, the name the API gave.
    const resolved = events.findIndex((e) => e.type === 'static-findings');
    expect(derivePath(replayEvents(events.slice(0, resolved + 1))).dns.detail).toBe('web.shop.svc.cluster.local');
  });

  it('healthy: every hop proven good, none dead', () => {
    const path = derivePath(replayEvents(loadEvents('healthy-2-nodes')));
    expect([...path.chain, path.dns].map((h) => h.state)).toEqual(['good', 'good', 'good', 'good', 'good', 'good']);
  });

  it('before any probe finished every hop is unknown', () => {
    const events = loadEvents('ip-forward-off');
    const path = derivePath(replayEvents(events.slice(0, 4)));
    expect([...path.chain, path.dns].map((h) => h.state)).toEqual(['unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown']);
  });

  it('marks a node fault on the source node when the verdict names it', () => {
    const s = replayEvents(loadEvents('ip-forward-off'));
    const moved: TuiState = { ...s, verdict: s.verdict && { ...s.verdict, node: 'node-1' } };
    expect(derivePath(moved).chain.find((h) => h.state === 'dead')?.id).toBe('src-node');
  });
});
