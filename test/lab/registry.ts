/**
 * Where running labs are recorded: one directory per lab under the state root, holding what `lab down` needs to tear
 * it down from another process (the daemon's PID, the namespace prefix, the data plane's recorded PIDs and files).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The directory under which every lab keeps its state (tmpfs, so a reboot forgets labs with their namespaces). */
export const STATE_ROOT = process.env.NETDEBUG_LAB_STATE_ROOT ?? '/run/netdebug-lab';

/** What a lab records about itself. */
export interface LabRecord {
  labId: string;
  name: string;
  scenarioPath: string;
  stateDir: string;
  /** Prefix of every network namespace this lab creates. */
  netnsPrefix: string;
  daemonPid?: number;
  kubeconfig: string;
  apiUrl?: string;
  startedAt: string;
  /** `lab up --api-latency <ms>`: overrides the scenario's spec.cluster.apiLatencyMs. */
  apiLatencyMs?: number;
}

/** Picks a fresh lab id (4 hex digits, short because it prefixes namespace names). */
export function newLabId(): string {
  for (;;) {
    const id = randomBytes(2).toString('hex');
    if (!existsSync(join(STATE_ROOT, id))) return id;
  }
}

/** The namespace prefix of a lab. */
export function netnsPrefixOf(labId: string): string {
  return `nd${labId}-`;
}

/** Creates the state directory of a new lab and writes its record; the kubeconfig defaults to one inside it. */
export function createLabRecord(rec: Omit<LabRecord, 'stateDir' | 'netnsPrefix' | 'kubeconfig'> & { kubeconfig?: string }): LabRecord {
  const stateDir = join(STATE_ROOT, rec.labId);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const full: LabRecord = { ...rec, stateDir, netnsPrefix: netnsPrefixOf(rec.labId), kubeconfig: rec.kubeconfig ?? join(stateDir, 'kubeconfig') };
  writeLabRecord(full);
  return full;
}

/** Rewrites a lab's record. */
export function writeLabRecord(rec: LabRecord): void {
  writeFileSync(join(rec.stateDir, 'lab.json'), JSON.stringify(rec, null, 2) + '\n');
}

/** Reads a lab's record, or undefined when there is none. */
export function readLabRecord(labId: string): LabRecord | undefined {
  const file = join(STATE_ROOT, labId, 'lab.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabRecord;
}

/** Every lab recorded on this machine. */
export function listLabRecords(): LabRecord[] {
  if (!existsSync(STATE_ROOT)) return [];
  return readdirSync(STATE_ROOT)
    .map((id) => readLabRecord(id))
    .filter((r): r is LabRecord => r !== undefined);
}

/** True when the process with this PID is alive and is the lab daemon we started (guards against PID reuse). */
export function isOurDaemon(pid: number | undefined, labId: string): boolean {
  if (!pid) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => a.endsWith('daemon.ts')) && cmdline.includes(labId);
  } catch {
    return false;
  }
}
