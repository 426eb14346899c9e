/**
 * `npm run bench`: the whole command as a user waits for it, against a lab whose control plane answers 50 ms late
 * (`lab up --api-latency 50`), beside the same ladder climbed by hand with plain kubectl (test/bench/manual-ladder.sh).
 * Prints one table: wall time (min / median / max over the runs) against issue 15's goals (a healthy run ≤ 1.5 s, a
 * blackholed rung ≤ probe timeout + 0.7 s), API requests per run (goal ≤ 30), the speed-up over the manual ladder (goal
 * ≥ 5×) and the load average. The goals are printed, never asserted. netdebug runs as each install gives it: the npm
 * package (bin/ and dist/, Node 26) and the krew single executable of this checkout, built for this machine first. The
 * commands of one scenario run in turns against one lab, so a drift in the machine's speed reaches them alike.
 *
 *   npm run bench                 5 runs of each (about two and a half minutes)
 *   npm run bench -- --smoke      1 run of each, as CI does (no figure is asserted)
 *   npm run bench -- --runs 10 --latency 100
 *
 * Needs root and Linux (it builds labs) and the built bundle (`npm run build`, which `npm run bench` runs first).
 * Every lab it starts is torn down by its id, on every exit path.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { canRunLab, startTestLab, type TestLab } from '../lab/harness.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** The probe timeout the netdebug cases run with (`--timeout`), which the blackholed rung waits out once. */
const PROBE_TIMEOUT_MS = 2000;

/** Issue 15's goals, printed beside what was measured (a benchmark, never asserted). */
const GOALS = { healthyMs: 1500, blackholedMs: PROBE_TIMEOUT_MS + 700, speedUp: 5, requests: 30 } as const;

/** One measured command: what it is, its goal (wall time), and how to run it against a lab. */
interface Case {
  name: string;
  scenario: string;
  goalMs?: number;
  /** ms: the wall time of the command; inProcessMs: the report's own stats.wallMs (netdebug only: from the diagnosis' start, after Node and the bundle are up). */
  run: (lab: TestLab) => Promise<{ ok: boolean; apiRequests?: number; inProcessMs?: number; detail: string; ms: number }>;
}

/** Runs a program, timing it; never throws for a non-zero exit. */
function timed(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ ms: number; code: number; stdout: string; stderr: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ ms: performance.now() - t0, code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * Runs `kubectl netdebug SRC DST -o json` through the real kubectl and reads the report's request count. `bin()` is the
 * directory kubectl finds kubectl-netdebug in: the npm package's bin/ (the launcher and dist/), or the one the krew
 * single executable was unpacked into.
 */
function netdebug(src: string, dst: string, expectExit: number, bin: () => string = () => `${repo}bin`) {
  return async (lab: TestLab) => {
    const env = { ...process.env, KUBECONFIG: lab.kubeconfig, PATH: `${bin()}:${process.env.PATH ?? ''}` };
    const res = await timed('kubectl', ['netdebug', src, dst, '-o', 'json', '--timeout', `${PROBE_TIMEOUT_MS / 1000}s`], env);
    let apiRequests: number | undefined;
    let inProcessMs: number | undefined;
    let cause = '?';
    try {
      const report = JSON.parse(res.stdout) as { verdict: { cause: string }; stats: { apiRequests: number; wallMs: number } };
      apiRequests = report.stats.apiRequests;
      inProcessMs = report.stats.wallMs;
      cause = report.verdict.cause;
    } catch {
      cause = `no report: ${res.stderr.split('\n')[0] ?? ''}`;
    }
    return { ok: res.code === expectExit, apiRequests, ...(inProcessMs !== undefined ? { inProcessMs } : {}), detail: `${cause} (exit ${res.code})`, ms: res.ms };
  };
}

/** Runs the manual ladder script, counting the requests the lab saw during it. */
function manualLadder(src: string, svc: string) {
  return async (lab: TestLab) => {
    const cache = mkdtempSync(join(tmpdir(), 'bench-kubectl-cache-'));
    try {
      await lab.labApi('DELETE', '/lab/v1/requests');
      const env = { ...process.env, KUBECONFIG: lab.kubeconfig, KUBECTL_CACHE_DIR: cache };
      const res = await timed('bash', [fileURLToPath(new URL('./manual-ladder.sh', import.meta.url)), src, svc], env);
      const counts = (await lab.labApi('GET', '/lab/v1/requests')) as Record<string, number>;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      return { ok: res.code === 0, apiRequests: total, detail: res.code === 0 ? 'every rung answered' : `exit ${res.code}: ${res.stderr.trim().split('\n').pop() ?? ''}`, ms: res.ms };
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  };
}

/** Where the krew single executable of this checkout is unpacked (set by main once it is built). */
let krewBin = '';

const BLACKHOLED = `one blackholed rung (overlay blocked, ${PROBE_TIMEOUT_MS / 1000} s probe timeout)`;
const CASES: Case[] = [
  { name: 'kubectl netdebug (npm), healthy 3 nodes', scenario: 'healthy-3-nodes', goalMs: GOALS.healthyMs, run: netdebug('default/client', 'shop/svc/web', 0) },
  { name: 'manual ladder (kubectl debug + exec per rung), healthy 3 nodes', scenario: 'healthy-3-nodes', run: manualLadder('default/client', 'shop/web') },
  { name: `kubectl netdebug (npm), ${BLACKHOLED}`, scenario: 'overlay-blocked', goalMs: GOALS.blackholedMs, run: netdebug('default/client', 'shop/svc/web', 1) },
  { name: 'kubectl netdebug (krew single executable), healthy 3 nodes', scenario: 'healthy-3-nodes', goalMs: GOALS.healthyMs, run: netdebug('default/client', 'shop/svc/web', 0, () => krewBin) },
  { name: `kubectl netdebug (krew single executable), ${BLACKHOLED}`, scenario: 'overlay-blocked', goalMs: GOALS.blackholedMs, run: netdebug('default/client', 'shop/svc/web', 1, () => krewBin) },
];

/**
 * Builds this machine's krew archive from the checkout (krew/package.ts with KREW_PLATFORMS and KREW_OUT: the committed
 * manifest is not touched) and unpacks it, as `kubectl krew install` does, into a directory of its own.
 */
function buildKrewExecutable(into: string): string {
  const os = process.platform;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const out = join(into, 'out');
  execFileSync(process.execPath, [join(repo, 'krew', 'package.ts')], { env: { ...process.env, KREW_PLATFORMS: `${os}/${arch}`, KREW_OUT: out }, stdio: ['ignore', 'ignore', 'inherit'] });
  const archive = readdirSync(out).find((f) => f.endsWith(`_${os}_${arch}.tar.gz`));
  if (!archive) throw new Error(`krew/package.ts wrote no ${os}/${arch} archive into ${out}`);
  const bin = join(into, 'bin');
  mkdirSync(bin);
  execFileSync('tar', ['-xzf', join(out, archive), '-C', bin]);
  return bin;
}

function stats(values: number[]): { min: number; median: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { min: s[0] ?? NaN, median: s[Math.floor((s.length - 1) / 2)] ?? NaN, max: s[s.length - 1] ?? NaN };
}

const fmt = (ms: number): string => (Number.isNaN(ms) ? '–' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { smoke: { type: 'boolean', default: false }, runs: { type: 'string' }, latency: { type: 'string', default: '50' } } });
  if (!canRunLab) {
    console.error('bench: the lab needs Linux and root');
    return 2;
  }
  const runs = values.smoke ? 1 : Number(values.runs ?? 5);
  const latency = Number(values.latency);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(latency) || latency < 0) {
    console.error('bench: --runs must be a positive integer and --latency a whole number of milliseconds');
    return 2;
  }
  console.log(`control plane latency ${latency} ms per request and per exec start; ${runs} run${runs === 1 ? '' : 's'} each; load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const rows: { cells: string[]; medianMs: number; requests?: number }[] = [];
  let failed = false;
  // The commands of one scenario share one lab and run in turns (A B C A B C …), so a drift in the machine's speed
  // during the bench reaches them alike; the table keeps CASES' order.
  const results = new Map<Case, { times: number[]; requests: number[]; inProcess: number[]; detail: string }>(CASES.map((c) => [c, { times: [], requests: [], inProcess: [], detail: '' }]));
  const krewDir = mkdtempSync(join(tmpdir(), 'bench-krew-'));
  try {
    process.stderr.write('building the krew single executable of this checkout for this machine…\n');
    krewBin = buildKrewExecutable(krewDir);
    for (const scenario of [...new Set(CASES.map((c) => c.scenario))]) {
      const lab = await startTestLab(scenario, { apiLatencyMs: latency });
      try {
        for (let i = 0; i < runs; i += 1) {
          for (const c of CASES.filter((x) => x.scenario === scenario)) {
            const r = await c.run(lab);
            const into = results.get(c)!;
            into.times.push(r.ms);
            if (r.apiRequests !== undefined) into.requests.push(r.apiRequests);
            if (r.inProcessMs !== undefined) into.inProcess.push(r.inProcessMs);
            into.detail = r.detail;
            if (!r.ok) failed = true;
            process.stderr.write(`  ${c.name}: run ${i + 1}/${runs} ${fmt(r.ms)}${r.inProcessMs !== undefined ? ` (in-process ${fmt(r.inProcessMs)})` : ''} ${r.detail}\n`);
          }
        }
      } finally {
        await lab.down();
      }
    }
  } finally {
    rmSync(krewDir, { recursive: true, force: true });
  }
  for (const c of CASES) {
    const { times, requests, inProcess, detail } = results.get(c)!;
    const t = stats(times);
    const medianRequests = requests.length > 0 ? stats(requests).median : undefined;
    const goal = c.goalMs === undefined ? '–' : `≤ ${fmt(c.goalMs)}${c.goalMs === GOALS.blackholedMs ? ' (timeout + 0.7 s)' : ''}: ${t.median <= c.goalMs ? 'met' : 'NOT met'}`;
    rows.push({
      cells: [c.name, fmt(t.median), fmt(t.min), fmt(t.max), goal, inProcess.length > 0 ? fmt(stats(inProcess).median) : '–', medianRequests !== undefined ? String(medianRequests) : '–', detail],
      medianMs: t.median,
      ...(medianRequests !== undefined ? { requests: medianRequests } : {}),
    });
  }
  const head = ['command', 'median', 'min', 'max', 'goal (median)', 'in-process median (stats.wallMs)', 'API requests', 'outcome'];
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.cells.join(' | ')} |`);
  const [ours, manual, , krew] = [rows[0], rows[1], rows[2], rows[3]];
  for (const [how, row] of [['npm', ours], ['krew', krew]] as const) {
    if (!row || !manual) continue;
    const speedUp = manual.medianMs / row.medianMs;
    console.log(`${how === 'npm' ? '\n' : ''}speed-up over the manual ladder (medians, ${how}): ${speedUp.toFixed(1)}× (goal ≥ ${GOALS.speedUp}×: ${speedUp >= GOALS.speedUp ? 'met' : 'NOT met'})`);
  }
  if (ours?.requests !== undefined) {
    console.log(`API requests per healthy run: ${ours.requests} (goal ≤ ${GOALS.requests}: ${ours.requests <= GOALS.requests ? 'met' : 'NOT met'})`);
  }
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`load average when done: ${load} (${cpus().length} cores)`);
  if (failed) console.error('\nbench: a run did not end as expected (see the outcome column)');
  return failed ? 1 : 0;
}

process.exitCode = await main();
