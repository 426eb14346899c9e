/**
 * Tears a lab down from any process: stops its daemon (which cleans up after itself), then lets the data plane remove
 * whatever is left (recorded processes, processes still inside the lab's namespaces, the namespaces and their
 * /etc/netns files), and deletes the lab's files. Safe to run twice, and safe after the daemon was killed.
 */
import { readFileSync, rmSync } from 'node:fs';
import { Dataplane } from './dataplane/dataplane.ts';
import { createExecRunner } from './dataplane/runner.ts';
import { isOurDaemon, type LabRecord } from './registry.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it no longer holds anything.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Sends SIGTERM, waits up to ms for the process to end, then SIGKILL. */
async function stopDaemon(pid: number, ms: number): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      /* ended meanwhile */
    }
  };
  signal('SIGTERM');
  const end = Date.now() + ms;
  while (Date.now() < end && isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
  if (isAlive(pid)) signal('SIGKILL');
}

/** Stops a lab's daemon and removes everything the lab made. */
export async function teardownLab(rec: LabRecord): Promise<void> {
  if (rec.daemonPid && isOurDaemon(rec.daemonPid, rec.labId)) await stopDaemon(rec.daemonPid, 10_000);
  await new Dataplane({ labId: rec.labId, runner: createExecRunner(), stateDir: rec.stateDir }).teardown();
  if (rec.kubeconfig && !rec.kubeconfig.startsWith(rec.stateDir)) rmSync(rec.kubeconfig, { force: true });
  rmSync(rec.stateDir, { recursive: true, force: true });
}
