/**
 * `npm run bench:startup`: how long `kubectl netdebug --version` and `--help` take to start, as krew installs the
 * plugin (the single executable of this host's release archive, built here with `npm run package`'s code) and as npm
 * installs it (bin/kubectl-netdebug loading dist/ with the Node 26 devDependency first on PATH), next to
 * `kubectl version --client` and Node's own start. Each command runs once to warm the page cache, then `--runs` times
 * (default 15), the commands taking turns so a machine whose speed drifts affects them alike; the table shows the
 * median, minimum and maximum wall time. It checks every run exits 0 and `--version` prints the version, and asserts
 * no time: the figures depend on the machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../krew/build.ts';
import { archiveName, platformId, type Platform } from '../../krew/manifest.ts';
import pkg from '../../package.json' with { type: 'json' };

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** One command the benchmark times. */
export interface BenchCase {
  label: string;
  file: string;
  args: string[];
  /** What stdout must be, if checked. */
  expectStdout?: string;
}

/** The timings of one command, in milliseconds. */
export interface BenchResult {
  label: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

/** The median of a non-empty list of numbers. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs the command once and returns its wall time; throws if it fails or prints the wrong thing. */
function timeOnce(c: BenchCase, env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c.file, c.args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw new Error(`${c.label}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${c.label}: exit ${r.status ?? r.signal}: ${r.stderr}`);
  if (c.expectStdout !== undefined && r.stdout !== c.expectStdout) throw new Error(`${c.label}: printed ${JSON.stringify(r.stdout)}, expected ${JSON.stringify(c.expectStdout)}`);
  return ms;
}

/** Times every case `runs` times after one warm-up run each, the cases taking turns. */
export function benchmark(cases: readonly BenchCase[], runs: number, env: NodeJS.ProcessEnv): BenchResult[] {
  const times = cases.map(() => [] as number[]);
  for (const c of cases) timeOnce(c, env);
  for (let i = 0; i < runs; i++) cases.forEach((c, j) => times[j]!.push(timeOnce(c, env)));
  return cases.map((c, j) => ({ label: c.label, medianMs: median(times[j]!), minMs: Math.min(...times[j]!), maxMs: Math.max(...times[j]!), runs }));
}

/** The results as a Markdown table, with each median as a multiple of the reference row's. */
export function renderTable(results: readonly BenchResult[], referenceLabel: string): string {
  const ref = results.find((r) => r.label === referenceLabel);
  const rows = results.map((r) => {
    const ratio = ref ? `${(r.medianMs / ref.medianMs).toFixed(1)}×` : '—';
    return `| ${r.label} | ${r.medianMs.toFixed(0)} | ${r.minMs.toFixed(0)}–${r.maxMs.toFixed(0)} | ${ratio} |`;
  });
  return [`| command | median ms | min–max ms | vs ${referenceLabel} |`, '|---|---:|---:|---:|', ...rows].join('\n');
}

/** Where a command is on PATH, or undefined. */
function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir, cmd);
    if (dir !== '' && existsSync(file)) return file;
  }
  return undefined;
}

/** Parses `--runs N` (default 15). */
function parseRuns(argv: readonly string[]): number {
  const i = argv.indexOf('--runs');
  if (i < 0) return 15;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--runs takes a positive integer, got ${argv[i + 1]}`);
  return n;
}

async function main(): Promise<void> {
  const runs = parseRuns(process.argv.slice(2));
  const os = process.platform;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  if ((os !== 'linux' && os !== 'darwin') || (arch !== 'amd64' && arch !== 'arm64')) throw new Error(`the benchmark runs on Linux or macOS (amd64, arm64), not ${os}/${arch}`);
  const host: Pick<Platform, 'os' | 'arch'> = { os, arch };
  const work = mkdtempSync(join(tmpdir(), 'netdebug-bench-'));
  try {
    process.stderr.write(`building dist/ and the ${platformId(host)} release archive...\n`);
    await buildBundle();
    const out = join(work, 'out');
    execFileSync(process.execPath, [join(repo, 'krew', 'package.ts')], { cwd: repo, env: { ...process.env, KREW_PLATFORMS: platformId(host), KREW_OUT: out }, stdio: ['ignore', 'ignore', 'inherit'] });
    const krewBin = join(work, 'krew-bin');
    mkdirSync(krewBin);
    execFileSync('tar', ['-xzf', join(out, archiveName(`v${pkg.version}`, host)), '-C', krewBin]);
    const sea = join(krewBin, 'kubectl-netdebug');
    const nodeDir = dirname(process.execPath);
    const version = `${pkg.version}\n`;
    const kubectl = which('kubectl');
    const cases: BenchCase[] = [
      { label: 'kubectl-netdebug --version (krew: single executable)', file: sea, args: ['--version'], expectStdout: version },
      { label: 'kubectl-netdebug --help (krew: single executable)', file: sea, args: ['--help'] },
      ...(kubectl ? [{ label: 'kubectl netdebug --version (krew, through kubectl)', file: kubectl, args: ['netdebug', '--version'], expectStdout: version }] : []),
      { label: `bin/kubectl-netdebug --version (npm, Node ${process.versions.node})`, file: join(repo, 'bin', 'kubectl-netdebug'), args: ['--version'], expectStdout: version },
      { label: `bin/kubectl-netdebug --help (npm, Node ${process.versions.node})`, file: join(repo, 'bin', 'kubectl-netdebug'), args: ['--help'] },
      ...(kubectl ? [{ label: 'kubectl version --client', file: kubectl, args: ['version', '--client'] }] : []),
      { label: `node -e 0 (Node ${process.versions.node} itself)`, file: process.execPath, args: ['-e', '0'] },
    ];
    // The krew binary and Node 26 first on PATH, as a user has them; no kubeconfig is read by these commands.
    const env: NodeJS.ProcessEnv = { PATH: [krewBin, nodeDir, '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter), HOME: work, NO_COLOR: '1' };
    process.stderr.write(`timing ${cases.length} commands, ${runs} runs each after a warm-up...\n`);
    const results = benchmark(cases, runs, env);
    process.stdout.write(`${renderTable(results, kubectl ? 'kubectl version --client' : cases.at(-1)!.label)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
