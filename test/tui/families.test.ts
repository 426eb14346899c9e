/** The TUI in a dual-stack run: each rung's row says how each family did, and the drill-down tags each probe. */
import { describe, expect, it } from 'vitest';
import type { ProbeResult, ProbeSpec, RunEvent } from '../../src/core/model.ts';
import { buildProbeCommand } from '../../src/core/parse.ts';
import { summarizeRungs } from '../../src/core/diagnose/rungs.ts';
import { applyEvent, createInitialState, type LadderRow } from '../../src/tui/state.ts';
import { buildDrillLines } from '../../src/tui/views.tsx';

const probe = (host: string, family: 'IPv4' | 'IPv6', ok: boolean): ProbeResult => {
  const action = { tool: 'tcp-connect' as const, host, port: 8080 };
  const spec: ProbeSpec = { id: `pod-ip:${host}:8080`, rung: 'pod-ip', where: { kind: 'source-pod' }, action, command: buildProbeCommand(action, 2000), timeoutMs: 2000, family };
  return { spec, observation: ok ? { kind: 'connected' } : { kind: 'timeout' }, durationMs: 4 };
};

describe('TUI with two families', () => {
  it("a rung's row ends with its result per family; the drill-down tags each probe", () => {
    const results = [probe('10.244.2.7', 'IPv4', true), probe('fd00:10:244:2::7', 'IPv6', false)];
    const rung = summarizeRungs(results).find((r) => r.id === 'pod-ip');
    if (!rung) throw new Error('no pod-ip rung');
    let s = createInitialState('lab');
    const events: RunEvent[] = [
      { type: 'rung-started', rung: 'pod-ip' },
      ...results.flatMap((r): RunEvent[] => [
        { type: 'probe-started', probe: r.spec },
        { type: 'probe-finished', result: r },
      ]),
      { type: 'rung-finished', rung },
    ];
    for (const e of events) s = applyEvent(s, e);
    const row = s.rows.find((r) => r.key === 'pod-ip') as LadderRow;
    expect(row.summary).toBe('1/2 failed: [fd00:10:244:2::7]:8080 timed out (IPv4 ✓ 1/1 · IPv6 ✗ 0/1)');
    const lines = buildDrillLines(row, s);
    expect(lines).toContain('[1/2] pod-ip · 10.244.2.7:8080 [IPv4]');
    expect(lines).toContain('[2/2] pod-ip · [fd00:10:244:2::7]:8080 [IPv6]');
    expect(lines).toContain('  $ nc -6 -z -v -w 2 fd00:10:244:2::7 8080');
  });
});
