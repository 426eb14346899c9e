/**
 * The lab command: `npm run lab -- up <scenario.yaml> [--kubeconfig <path>]`, `down [LAB_ID...]`, `status`.
 * `up` validates the scenario before anything is built, starts the lab daemon in the background, waits until the cluster
 * is ready and prints the kubeconfig path (alone on stdout, so `KUBECONFIG=$(npm run -s lab -- up x.yaml)` works).
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ensureMachineReady } from './preflight.ts';
import { createLabRecord, listLabRecords, newLabId, readLabRecord, isOurDaemon, type LabRecord } from './registry.ts';
import { loadScenario } from './scenario.ts';
import { teardownLab } from './teardown.ts';

const DAEMON = fileURLToPath(new URL('./daemon.ts', import.meta.url));

/** Starts a lab from a scenario file and resolves once its API answers; returns its record. */
export async function upLab(scenarioPath: string, opts: { kubeconfig?: string; timeoutMs?: number; apiLatencyMs?: number } = {}): Promise<LabRecord> {
  const path = resolve(scenarioPath);
  const scenario = await loadScenario(path); // throws a ScenarioError naming file, field and expectation
  ensureMachineReady((l) => process.stderr.write(`lab: ${l}\n`));
  const labId = newLabId();
  const rec = createLabRecord({
    labId,
    name: scenario.name,
    scenarioPath: path,
    ...(opts.kubeconfig ? { kubeconfig: resolve(opts.kubeconfig) } : {}),
    ...(opts.apiLatencyMs !== undefined ? { apiLatencyMs: opts.apiLatencyMs } : {}),
    startedAt: new Date().toISOString(),
  });
  const log = openSync(`${rec.stateDir}/daemon.log`, 'a');
  const child = spawn(process.execPath, [DAEMON, rec.stateDir, labId], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? 1));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (existsSync(`${rec.stateDir}/ready.json`)) return readLabRecord(labId) ?? rec;
    const failed = existsSync(`${rec.stateDir}/error.txt`) || exited !== null;
    if (failed || Date.now() > deadline) {
      const why = existsSync(`${rec.stateDir}/error.txt`)
        ? readFileSync(`${rec.stateDir}/error.txt`, 'utf8').trim()
        : failed
          ? `the lab daemon exited (${exited}); see its log below`
          : 'timed out waiting for the lab to become ready';
      const logText = existsSync(`${rec.stateDir}/daemon.log`) ? readFileSync(`${rec.stateDir}/daemon.log`, 'utf8').slice(-2000) : '';
      await teardownLab(rec);
      throw new Error(`lab up ${scenarioPath} failed: ${why}${logText ? `\n--- daemon log (tail) ---\n${logText}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Tears down the given labs (all recorded labs when none is named); idempotent. */
export async function downLabs(ids: string[]): Promise<string[]> {
  const recs = ids.length ? ids.map((id) => readLabRecord(id)).filter((r): r is LabRecord => !!r) : listLabRecords();
  for (const rec of recs) await teardownLab(rec);
  return recs.map((r) => r.labId);
}

/** Formats the recorded labs as a table for `lab status`. */
export function formatStatus(recs: LabRecord[]): string {
  if (recs.length === 0) return 'no lab is running';
  const rows = recs.map((r) => [r.labId, r.name, isOurDaemon(r.daemonPid, r.labId) ? 'running' : 'stopped', r.apiUrl ?? '-', r.kubeconfig]);
  const head = ['LAB', 'SCENARIO', 'STATE', 'API', 'KUBECONFIG'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('npm run lab --')
    .usage('$0 <command>\n\nThe netdebug lab: a broken Kubernetes cluster on one machine (see test/lab/README.md).')
    .command(
      'up <scenario>',
      'build the cluster a scenario describes; prints the kubeconfig path',
      (y) =>
        y
          .positional('scenario', { type: 'string', demandOption: true, describe: 'scenario YAML file' })
          .option('kubeconfig', { type: 'string', describe: 'also write the kubeconfig to this path' })
          .option('api-latency', { type: 'number', describe: 'a control plane this many milliseconds away: added to every API response and exec start, twice to every new connection (overrides spec.cluster.apiLatencyMs)' })
          .check((argv) => {
            const ms = argv['api-latency'];
            if (ms !== undefined && (!Number.isInteger(ms) || ms < 0 || ms > 10_000)) throw new Error(`--api-latency must be an integer number of milliseconds from 0 to 10000, got ${String(ms)}`);
            return true;
          }),
      async (argv) => {
        const rec = await upLab(argv.scenario, {
          ...(argv.kubeconfig ? { kubeconfig: argv.kubeconfig } : {}),
          ...(argv['api-latency'] !== undefined ? { apiLatencyMs: argv['api-latency'] } : {}),
        });
        process.stderr.write(`lab ${rec.labId} (${rec.name}) is up: ${rec.apiUrl}\n`);
        process.stdout.write(`${rec.kubeconfig}\n`);
      },
    )
    .command(
      'down [ids..]',
      'tear down labs (all of them when no id is given); safe to repeat',
      (y) => y.positional('ids', { type: 'string', array: true, describe: 'lab ids from `lab status`' }),
      async (argv) => {
        const done = await downLabs((argv.ids as string[] | undefined) ?? []);
        process.stderr.write(done.length ? `torn down: ${done.join(' ')}\n` : 'no lab to tear down\n');
      },
    )
    .command('status', 'list the labs on this machine', {}, () => {
      process.stdout.write(formatStatus(listLabRecords()) + '\n');
    })
    .demandCommand(1, 'name a command: up, down or status')
    .strict()
    .fail((msg, err) => {
      process.stderr.write(`lab: ${err ? err.message : msg}\n`);
      // Bad arguments and invalid scenarios are usage errors (2); anything else is a failure (1).
      process.exit(msg || (err as { code?: string } | undefined)?.code === 'INVALID_SCENARIO' ? 2 : 1);
    })
    .help()
    .parseAsync();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
