/** The drill-down shows each probe's argv quoted for a shell, then the kubectl exec that repeats it, with its note. */
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/core/model.ts';
import { replayEvents, type LadderRow } from '../../src/tui/state.ts';
import { buildDrillLines } from '../../src/tui/views.tsx';
import { loadEvents } from './fixtures.ts';

const repeatOf = (e: RunEvent): RunEvent => {
  if (e.type !== 'probe-finished') return e;
  const w = e.result.spec.where;
  const pod = w.kind === 'source-pod' ? 'client -c netdebug-abcde' : `netdebug-${w.node}-host-zzzzz -c netdebug`;
  return {
    ...e,
    result: {
      ...e.result,
      repeat: {
        command: `kubectl --context=lab exec -n shop ${pod} -- ${e.result.spec.command.map((a) => (/^[\w.@%+=:,/-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`,
        ...(w.kind === 'node-pod' ? { note: 'pod was deleted when the run ended: rerun with --keep', alternative: `kubectl debug node/${w.node} -i -- x` } : {}),
      },
    },
  };
};

describe('DrillDown repeat commands', () => {
  it('shows the argv, then the kubectl exec, its note and the alternative, then the where line', () => {
    const s = replayEvents(loadEvents('ip-forward-off').map(repeatOf), 'lab');
    const lines = buildDrillLines(s.rows.find((r) => r.key === 'node:node-2') as LadderRow, s);
    const at = lines.indexOf('  $ sysctl -n net.ipv4.ip_forward');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toBe('  repeat:  kubectl --context=lab exec -n shop netdebug-node-2-host-zzzzz -c netdebug -- sysctl -n net.ipv4.ip_forward');
    expect(lines[at + 2]).toBe('  note:    pod was deleted when the run ended: rerun with --keep');
    expect(lines[at + 3]).toBe('  or:      kubectl debug node/node-2 -i -- x');
    expect(lines[at + 4]).toBe('  where:   node node-2 (hostNetwork), netdebug debug pod');
  });

  it('a probe without a repeat command shows its argv quoted for a shell (a sh -c script as one word)', () => {
    const s = replayEvents(loadEvents('ip-forward-off'), 'lab');
    const all = s.rows.flatMap((r) => buildDrillLines(r, s));
    const script = all.find((l) => l.startsWith('  $ sh -c '));
    expect(script, 'a fixture probe runs a sh -c script').toBeDefined();
    expect(script).toMatch(/^ {2}\$ sh -c '[^']*'( |$)/);
  });
});
