/**
 * Tears a lab down from any process: stops its daemon (which cleans up after itself), then removes whatever is left:
 * processes the lab recorded or that still live in its namespaces, the namespaces, their /etc/netns files and the
 * lab's state directory. Safe to run twice, and safe after the daemon was killed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isOurDaemon, type LabRecord } from './registry.ts';

/** Waits until a PID is gone or the time is up; true when it is gone. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !isAlive(pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it no longer holds anything.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** The network namespaces whose names start with prefix. */
export function listNetns(prefix: string): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** PIDs recorded under the lab's state directory (pids/<pid> files written by the data plane). */
function recordedPids(stateDir: string): number[] {
  const dir = join(stateDir, 'pids');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => Number.parseInt(f, 10))
    .filter((n) => Number.isInteger(n) && n > 1);
}

/** Stops a lab's daemon and removes everything the lab made. */
export async function teardownLab(rec: LabRecord): Promise<void> {
  if (rec.daemonPid && isOurDaemon(rec.daemonPid, rec.labId)) {
    kill(rec.daemonPid, 'SIGTERM');
    if (!(await waitGone(rec.daemonPid, 10_000))) kill(rec.daemonPid, 'SIGKILL');
  }
  const namespaces = existsSync('/run/netns') ? listNetns(rec.netnsPrefix) : [];
  // Processes in the lab's own namespaces exist only because the lab started them (responders, dnsmasq, execs).
  const pids = new Set(recordedPids(rec.stateDir));
  for (const ns of namespaces) {
    try {
      const out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
      for (const p of out.split(/\s+/)) if (/^\d+$/.test(p)) pids.add(Number(p));
    } catch {
      /* namespace vanished meanwhile */
    }
  }
  for (const pid of pids) if (pid !== process.pid) kill(pid, 'SIGTERM');
  for (const pid of pids) if (pid !== process.pid && !(await waitGone(pid, 2000))) kill(pid, 'SIGKILL');
  for (const ns of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
  if (existsSync('/etc/netns')) {
    for (const d of readdirSync('/etc/netns')) if (d.startsWith(rec.netnsPrefix)) rmSync(join('/etc/netns', d), { recursive: true, force: true });
  }
  if (rec.kubeconfig && !rec.kubeconfig.startsWith(rec.stateDir)) rmSync(rec.kubeconfig, { force: true });
  rmSync(rec.stateDir, { recursive: true, force: true });
}
