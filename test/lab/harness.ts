/**
 * Test helpers for suites that need a running lab: the root/Linux gate (loud skip outside CI, hard failure in CI),
 * starting a lab through the same code path as `npm run lab -- up`, and running real kubectl against it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { upLab, downLabs } from './cli.ts';
import type { LabRecord } from './registry.ts';

/** True when this machine can run labs (Linux and root). */
export const canRunLab = process.platform === 'linux' && process.getuid?.() === 0;

/**
 * Decides whether a lab suite runs: it always runs in CI (and fails there when it cannot), and elsewhere skips with a
 * loud message when the machine cannot run labs. Returns true when the suite must be skipped.
 */
export function skipLabSuite(suite: string): boolean {
  if (canRunLab) return false;
  const why = `${suite}: the lab needs Linux and root (this is ${process.platform}, uid ${process.getuid?.() ?? 'n/a'})`;
  if (process.env.CI === 'true') throw new Error(`${why}; CI must run every lab suite`);
  console.warn(`\n!!! SKIPPING ${why} !!!\n`);
  return true;
}

/** The path of a scenario shipped in test/lab/scenarios. */
export function scenarioPath(name: string): string {
  return fileURLToPath(new URL(`./scenarios/${name}.yaml`, import.meta.url));
}

/** The result of a command run through kubectl. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * kubectl's own word that its WebSocket exec client discarded output (client-go's websocket.go): kubectl 1.32 starts
 * reading the connection before it has made its stdin/stdout/stderr streams, so a frame for stdout that arrives first
 * (the lab starts a command at once; a real API server reaches the kubelet and the runtime first) is dropped, and the
 * exec ends with the command's exit code and part or none of its output. Seen as exec output that came back empty under
 * load, in several lab tests.
 */
export const KUBECTL_DROPPED_OUTPUT = /websocket\.go:\d+\] Unknown stream id \d+, discarding message/;

/**
 * Runs `kubectl exec` (args) and, while kubectl says it lost the command's output (KUBECTL_DROPPED_OUTPUT), runs it
 * again, at most `tries` times in all, as a person would: the command ran; kubectl dropped what it printed on stdout.
 */
export async function execAgainIfDropped(kubectl: (args: string[]) => Promise<CommandResult>, args: string[], tries = 4): Promise<CommandResult> {
  let res = await kubectl(args);
  for (let i = 1; i < tries && KUBECTL_DROPPED_OUTPUT.test(res.stderr); i += 1) res = await kubectl(args);
  return res;
}

/** A lab started for a test, with kubectl bound to it. */
export interface TestLab {
  rec: LabRecord;
  kubeconfig: string;
  /** Where each kubectl call gets its fresh cache dir (removed when the call ends; the root goes with `down`). */
  cacheRoot: string;
  /** Runs real kubectl against the lab with a fresh --cache-dir of its own, so no call reuses another's discovery. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** `kubectl exec` into a pod (ns/name) and returns the command's result. */
  exec(pod: string, command: string[], container?: string): Promise<CommandResult>;
  /**
   * Calls one of the lab's own endpoints (`/lab/v1/...`) over HTTPS with the lab's CA and token, returning the JSON.
   * Unlike `kubectl --raw`, it makes no discovery request of its own, so request counts read this way hold only what
   * the code under test sent.
   */
  labApi(method: 'GET' | 'DELETE', path: string): Promise<unknown>;
  down(): Promise<void>;
}

/** Requests a lab endpoint with the server, CA and token of the lab's kubeconfig. */
async function callLabApi(kubeconfig: string, method: 'GET' | 'DELETE', path: string): Promise<unknown> {
  const doc = parseYaml(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  const cluster = doc.clusters[0]?.cluster;
  const token = doc.users[0]?.user.token;
  if (!cluster || !token) throw new Error(`${kubeconfig} has no cluster or token`);
  const url = new URL(path, cluster.server);
  const ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8');
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += String(c)));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${method} ${path}: HTTP ${res.statusCode}: ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs a program and collects its output; never throws for a non-zero exit. */
export function run(file: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 30_000, env: opts.env ?? process.env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Starts a lab from a shipped scenario (or a path) and binds kubectl to it. */
export async function startTestLab(scenario: string, opts: { apiLatencyMs?: number } = {}): Promise<TestLab> {
  const path = scenario.includes('/') ? scenario : scenarioPath(scenario);
  const rec = await upLab(path, opts.apiLatencyMs === undefined ? {} : { apiLatencyMs: opts.apiLatencyMs });
  const cacheRoot = mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
  const kubectl = async (args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> => {
    const cacheDir = await mkdtemp(join(cacheRoot, 'call-'));
    try {
      return await run('kubectl', ['--kubeconfig', rec.kubeconfig, '--cache-dir', cacheDir, ...args], opts);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  };
  return {
    rec,
    kubeconfig: rec.kubeconfig,
    cacheRoot,
    kubectl,
    exec: (pod, command, container) => {
      const [ns, name] = pod.split('/') as [string, string];
      return execAgainIfDropped(kubectl, ['exec', '-n', ns, name, ...(container ? ['-c', container] : []), '--', ...command]);
    },
    labApi: (method, path) => callLabApi(rec.kubeconfig, method, path),
    down: async () => {
      await downLabs([rec.labId]);
      rmSync(cacheRoot, { recursive: true, force: true });
    },
  };
}
