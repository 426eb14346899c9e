/**
 * The lab daemon: started detached by `lab up` as `daemon.ts <stateDir> <labId>`, it builds the lab, serves its API,
 * writes ready.json once the cluster answers, and tears everything down on SIGTERM/SIGINT.
 * A startup failure is written to error.txt (which `lab up` reports) after whatever was built is removed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, type RunningLab } from './lab.ts';
import { readLabRecord, writeLabRecord } from './registry.ts';
import { loadScenario } from './scenario.ts';

const [stateDir, labId] = process.argv.slice(2);
if (!stateDir || !labId) {
  process.stderr.write('usage: daemon.ts <stateDir> <labId> (started by `npm run lab -- up`)\n');
  process.exit(2);
}
const rec = readLabRecord(labId);
if (!rec) {
  process.stderr.write(`no lab record for ${labId} under ${stateDir}\n`);
  process.exit(2);
}
rec.daemonPid = process.pid;
writeLabRecord(rec);

const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
let lab: RunningLab | undefined;
let stopping: Promise<void> | undefined;

async function stop(code: number): Promise<void> {
  stopping ??= (async () => {
    log('stopping');
    await lab?.stop().catch((e: Error) => log(`stop failed: ${e.stack ?? e.message}`));
    log('stopped');
    process.exit(code);
  })();
  await stopping;
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

try {
  const scenario = await loadScenario(rec.scenarioPath);
  const started = Date.now();
  lab = await startLab(scenario, rec, log, rec.apiLatencyMs === undefined ? {} : { apiLatencyMs: rec.apiLatencyMs });
  rec.apiUrl = lab.apiUrl;
  writeLabRecord(rec);
  writeFileSync(join(stateDir, 'ready.json'), JSON.stringify({ apiUrl: lab.apiUrl, kubeconfig: rec.kubeconfig }) + '\n');
  log(`ready in ${Date.now() - started} ms at ${lab.apiUrl}`);
} catch (e) {
  const err = e as Error;
  log(`startup failed: ${err.stack ?? err.message}`);
  writeFileSync(join(stateDir, 'error.txt'), `${err.message}\n`);
  await stop(1);
}
