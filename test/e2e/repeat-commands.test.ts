/**
 * End to end: the commands the plugin prints to repeat each probe by hand really repeat it. The BUILT plugin runs through
 * kubectl against a lab with --keep (its node debug pods stay; the ephemeral container in the source pod always does),
 * each probe's command is taken from the Report (the run-finished event carries the same Report as -o json) and pasted
 * into `sh -c` with the real kubectl, and the outcome must be the plugin's: the same exit code, and the same reading of
 * the output (passed, failed, a value, or could not run). On a healthy lab and on one with the overlay blocked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeResult, Report, RunEvent } from '../../src/core/model.ts';
import { classifyObservation } from '../../src/core/diagnose/describe.ts';
import { parseProbeOutput } from '../../src/core/parse.ts';
import { KUBECTL_DROPPED_OUTPUT, run, skipLabSuite, startTestLab } from '../lab/harness.ts';
import { buildPlugin, pluginEnv, repo } from './plugin.ts';

const skip = skipLabSuite('e2e repeat commands');

/** What kubectl itself adds to stderr when the remote command exits non-zero (not the probe's output). */
const KUBECTL_EXIT_LINE = /^command terminated with exit code \d+\n?/m;

/** A probe the plugin ran, with the command its Report says repeats it. */
interface Pasted {
  result: ProbeResult;
  command: string;
}

/** Runs the plugin with -o ndjson and returns its probe results and Report (the Report `-o json` prints). */
async function diagnose(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string; results: ProbeResult[]; report: Report }> {
  const res = await run('kubectl', ['netdebug', ...args, '-o', 'ndjson', '--keep'], { env, timeoutMs: 90_000 });
  const events = res.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as RunEvent);
  const finished = events.at(-1);
  if (finished?.type !== 'run-finished') throw new Error(`no run-finished event (exit ${res.code}): ${res.stderr}`);
  return { code: res.code, stderr: res.stderr, results: events.flatMap((e) => (e.type === 'probe-finished' ? [e.result] : [])), report: finished.report };
}

/** Every probe that ran in a container, with its command from the Report; a sampled probe once (its samples share the command). */
function pastable(results: readonly ProbeResult[], report: Report): Pasted[] {
  const inReport = new Map([...report.rungs.flatMap((r) => r.probes), ...(report.nodeChecks ?? [])].map((p) => [p.id, p]));
  const seen = new Set<string>();
  return results.flatMap((result) => {
    const command = inReport.get(result.spec.id)?.repeat?.command;
    if (command === undefined || result.raw === undefined || seen.has(command)) return [];
    seen.add(command);
    return [{ result, command }];
  });
}

/** Pastes each command into sh (a few at a time) and checks it ends as the plugin's probe did. */
async function pasteAll(pasted: readonly Pasted[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const mismatches: string[] = [];
  const queue = [...pasted];
  const worker = async (): Promise<void> => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
      const { result, command } = p;
      let res = await run('/bin/sh', ['-c', command], { env, timeoutMs: 60_000 });
      // kubectl 1.32's WebSocket exec drops stdout frames that arrive before it has made its stdout stream, and says so
      // (`Unknown stream id 1, discarding message`): kubectl lost the output, not the probe. Once more, as a person would.
      if (KUBECTL_DROPPED_OUTPUT.test(res.stderr)) res = await run('/bin/sh', ['-c', command], { env, timeoutMs: 60_000 });
      const stderr = res.stderr.replace(KUBECTL_EXIT_LINE, '');
      const pluginExit = result.raw?.exitCode ?? null;
      // A probe cut off at its budget (exit null) was still running: pasted, it ends by its own timeout, unanswered.
      const observation = parseProbeOutput(result.spec.action, { stdout: res.stdout, stderr, exitCode: res.code });
      const same =
        pluginExit === null
          ? res.code !== 0 && classifyObservation(observation) !== 'ok'
          : res.code === pluginExit && classifyObservation(observation) === classifyObservation(result.observation);
      if (!same) {
        mismatches.push(
          `${result.spec.id}: plugin exit ${pluginExit} (${result.observation.kind}), pasted exit ${res.code} (${observation.kind})\n  $ ${command}\n  stderr: ${stderr.slice(0, 300)}`,
        );
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return mismatches;
}

describe.skipIf(skip)('the commands that repeat each probe, pasted into a shell', () => {
  let home: string;
  beforeAll(() => {
    buildPlugin();
    home = mkdtempSync(join(tmpdir(), 'netdebug-paste-'));
  }, 120_000);
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('healthy 3 nodes: every command (source pod and node pods) ends as the plugin recorded', async () => {
    const lab = await startTestLab('healthy-3-nodes');
    try {
      // KUBECONFIG as a user has it: the commands name the context the run used, and kubectl finds the file the same way.
      const env = pluginEnv(lab.kubeconfig, { HOME: home });
      const { code, stderr, results, report } = await diagnose(['default/client', 'shop/svc/web'], env);
      expect(code, stderr).toBe(0);
      expect(report.verdict.cause).toBe('HEALTHY');
      const pasted = pastable(results, report);
      expect(pasted.some((p) => p.result.spec.where.kind === 'source-pod')).toBe(true);
      expect(pasted.some((p) => p.result.spec.where.kind === 'node-pod')).toBe(true);
      expect(pasted.some((p) => p.command.includes(" -- sh -c '"))).toBe(true);
      // Every probe that ran has its command in the Report.
      expect(results.filter((r) => r.raw !== undefined).every((r) => pasted.some((p) => p.command === [...report.rungs.flatMap((g) => g.probes), ...(report.nodeChecks ?? [])].find((q) => q.id === r.spec.id)?.repeat?.command))).toBe(true);
      for (const p of pasted) expect(p.command).toMatch(/^kubectl --context=\S+ exec -n [a-z0-9-]+ \S+ -c netdebug(-[a-z0-9]+)? -- /);
      expect(await pasteAll(pasted, env)).toEqual([]);
    } finally {
      await lab.down();
    }
  }, 300_000);

  it('overlay blocked: the failing probes fail the same way pasted, with the --kubeconfig the run was given', async () => {
    const lab = await startTestLab('overlay-blocked');
    try {
      // No KUBECONFIG: only the --kubeconfig the plugin was given (and repeats) finds the lab.
      const env: NodeJS.ProcessEnv = { PATH: `${repo}/bin:${process.env.PATH ?? ''}`, HOME: home };
      const { code, stderr, results, report } = await diagnose(['default/client', 'shop/svc/web', '--kubeconfig', lab.kubeconfig], env);
      expect(code, stderr).toBe(1);
      expect(report.verdict.cause).toBe('OVERLAY_BLOCKED');
      const pasted = pastable(results, report);
      for (const p of pasted) expect(p.command).toContain(`--kubeconfig=${lab.kubeconfig}`);
      const failing = pasted.filter((p) => classifyObservation(p.result.observation) === 'fail');
      expect(failing.length, 'the blocked overlay fails some probe').toBeGreaterThan(0);
      expect(await pasteAll(pasted, env)).toEqual([]);
    } finally {
      await lab.down();
    }
  }, 300_000);
});
