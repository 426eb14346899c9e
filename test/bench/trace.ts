/**
 * `npm run bench:trace`: what `--trace` adds to a run. Against the overlay-blocked lab (one blackholed probe, so the
 * trace waits out one probe timeout under capture), the same command runs with `--no-trace` and with `--trace`, in
 * turns; prints the median wall time of each, the difference, and the trace's own `durationMs`, against the goal (the
 * trace adds at most one probe timeout + 1 s). A benchmark: the goal is printed, never asserted. Timings on a loaded
 * machine are noisy.
 *
 *   npm run bench:trace                 5 runs of each
 *   npm run bench:trace -- --runs 1     one of each (a smoke run)
 *
 * Needs root and Linux (it builds a lab) and the built bundle (`npm run build`, which the script runs first). The lab
 * is torn down by its id on every exit path.
 */
import { execFile } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { canRunLab, startTestLab } from '../lab/harness.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const PROBE_TIMEOUT_MS = 2000;
const GOAL_MS = PROBE_TIMEOUT_MS + 1000;

function timed(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number; stdout: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile('kubectl', args, { env, timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout) => {
      resolve({ ms: performance.now() - t0, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout) });
    });
  });
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] ?? NaN;
const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  if (!canRunLab) {
    console.error('bench:trace: the lab needs Linux and root');
    return 2;
  }
  if (!Number.isInteger(runs) || runs < 1) {
    console.error('bench:trace: --runs must be a positive integer');
    return 2;
  }
  const lab = await startTestLab('overlay-blocked', { apiLatencyMs: 50 });
  try {
    const env = { ...process.env, KUBECONFIG: lab.kubeconfig, PATH: `${repo}bin:${process.env.PATH ?? ''}` };
    const base = ['netdebug', 'default/client', 'shop/svc/web', '-o', 'json', '--timeout', `${PROBE_TIMEOUT_MS / 1000}s`];
    const without: number[] = [];
    const withTrace: number[] = [];
    const traceOwn: number[] = [];
    let failed = false;
    for (let i = 0; i < runs; i += 1) {
      const a = await timed([...base, '--no-trace'], env);
      const b = await timed([...base, '--trace'], env);
      without.push(a.ms);
      withTrace.push(b.ms);
      try {
        const trace = (JSON.parse(b.stdout) as { trace?: { durationMs: number } }).trace;
        if (trace) traceOwn.push(trace.durationMs);
        else failed = true;
      } catch {
        failed = true;
      }
      if (a.code !== 1 || b.code !== 1) failed = true;
      process.stderr.write(`  run ${i + 1}/${runs}: --no-trace ${fmt(a.ms)}, --trace ${fmt(b.ms)}\n`);
    }
    const added = median(withTrace) - median(without);
    console.log(`overlay-blocked, ${PROBE_TIMEOUT_MS / 1000} s probe timeout, 50 ms control plane latency, ${runs} run(s) each, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores)`);
    console.log(`--no-trace median ${fmt(median(without))}; --trace median ${fmt(median(withTrace))}; the trace's own durationMs median ${fmt(median(traceOwn))}`);
    console.log(`--trace adds ${fmt(added)} (goal ≤ one probe timeout + 1 s = ${fmt(GOAL_MS)}: ${added <= GOAL_MS ? 'met' : 'NOT met'})`);
    if (failed) console.error('bench:trace: a run did not end as expected (exit 1 and a trace with --trace)');
    return failed ? 1 : 0;
  } finally {
    await lab.down();
  }
}

process.exitCode = await main();
