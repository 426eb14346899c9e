/**
 * The commands that repeat each probe by hand, as a run attaches them: every probe whose location said which container
 * it ran in carries one, in the probe-finished event, the Report's rungs and its nodeChecks; the text report lists them.
 */
import { describe, expect, it } from 'vitest';
import { type ProbeLocation, type RunEvent } from '../../src/core/model.ts';
import type { TargetRef } from '../../src/core/target.ts';
import { runDiagnosis } from '../../src/run.ts';
import { createTextReporter } from '../../src/report/text.ts';
import { shellJoin } from '../../src/core/shell-quote.ts';
import { buildFacts, createFakeCluster, createFakeProber, realClock } from './fakes.ts';

const src: TargetRef = { kind: 'pod', namespace: 'front', name: 'client' };
const dst: TargetRef = { kind: 'service', namespace: 'shop', name: 'web', port: { kind: 'number', number: 80 } };

/** The fake prober, saying for each location which container it set up (as the real one does). */
function proberWithTargets(): ReturnType<typeof createFakeProber> {
  const prober = createFakeProber();
  prober.execTarget = (l: ProbeLocation) =>
    l.kind === 'source-pod' ? { namespace: 'front', pod: 'client', container: 'netdebug-abcde' } : { namespace: 'kube-system', pod: `netdebug-${l.node}-${l.hostNetwork ? 'host' : 'pod'}-zzzzz`, container: 'netdebug' };
  return prober;
}

async function run(withRepeat: boolean) {
  const events: RunEvent[] = [];
  const report = await runDiagnosis({
    runId: 'r',
    source: src,
    destination: dst,
    cluster: createFakeCluster(buildFacts()),
    makeProber: () => proberWithTargets(),
    opts: { timeoutMs: 2000, ...(withRepeat ? { repeat: { connection: { context: 'lab', token: 'tok-9f8e7d' }, image: 'img:1', keep: false, podDeadlineSeconds: 300 } } : {}) },
    emit: (e) => void events.push(e),
    clock: realClock,
  });
  return { report, events };
}

describe('repeat commands of a run', () => {
  it('every probe that ran carries the kubectl exec of its own argv into its container, in events and the Report', async () => {
    const { report, events } = await run(true);
    const finished = events.flatMap((e) => (e.type === 'probe-finished' ? [e.result] : []));
    expect(finished.length).toBeGreaterThan(10);
    for (const r of finished) {
      const where = r.spec.where;
      const target = where.kind === 'source-pod' ? 'front client -c netdebug-abcde' : `kube-system netdebug-${where.node}-${where.hostNetwork ? 'host' : 'pod'}-zzzzz -c netdebug`;
      expect(r.repeat?.command, r.spec.id).toBe(`kubectl --context=lab exec -n ${target} -- ${shellJoin(r.spec.command)}`);
      expect(r.repeat?.command).not.toContain('tok-9f8e7d');
      if (where.kind === 'node-pod') expect(r.repeat?.note).toContain('deleted when the run ended');
    }
    const inReport = [...report.rungs.flatMap((g) => g.probes), ...(report.nodeChecks ?? [])];
    expect(inReport.length).toBe(finished.length);
    for (const p of inReport) expect(p.repeat?.command).toBe(finished.find((r) => r.spec.id === p.id)?.repeat?.command);
    expect((report.nodeChecks ?? []).length).toBe(finished.filter((r) => r.spec.rung === 'node-checks').length);
    expect((report.nodeChecks ?? []).every((p) => p.check !== undefined)).toBe(true);
  });

  it('the text report ends its verdict with every command, grouped by where it ran', async () => {
    const { events } = await run(true);
    let text = '';
    const reporter = createTextReporter({ write: (s: string) => (text += s) }, { color: false });
    for (const e of events) await reporter.onEvent?.(e);
    const lines = text.split('\n');
    const at = lines.indexOf('Repeat by hand (paste into a POSIX shell)');
    expect(at).toBeGreaterThan(0);
    expect(lines.indexOf('  source pod')).toBeGreaterThan(at);
    const commands = lines.filter((l) => l.startsWith('    $ '));
    const distinct = new Set(events.flatMap((e) => (e.type === 'probe-finished' && e.result.repeat ? [e.result.repeat.command] : [])));
    expect(new Set(commands.map((l) => l.slice(6)))).toEqual(distinct);
    expect(lines.some((l) => l.startsWith('    or: $ kubectl --context=lab debug node/node-'))).toBe(true);
    expect(text).not.toContain('tok-9f8e7d');
  });

  it('without repeat settings nothing changes: no command anywhere and no section', async () => {
    const { report, events } = await run(false);
    expect(events.some((e) => e.type === 'probe-finished' && e.result.repeat !== undefined)).toBe(false);
    expect([...report.rungs.flatMap((g) => g.probes), ...(report.nodeChecks ?? [])].some((p) => p.repeat !== undefined)).toBe(false);
    let text = '';
    const reporter = createTextReporter({ write: (s: string) => (text += s) }, { color: false });
    for (const e of events) await reporter.onEvent?.(e);
    expect(text).not.toContain('Repeat by hand');
  });
});
