/**
 * The fault suite: the real plugin (src/main.ts in a child process) against a fake API server on 127.0.0.1 that
 * misbehaves on purpose — exec streams without a status frame, upgrades never answered, slow and hanging credential
 * plugins, 429 with Retry-After and 5xx, hanging requests, signals during preparation and probing, SIGKILL then the next
 * run, a crash inside an exec handler, 403 on delete, FQDN EndpointSlices, escape sequences and passwords in messages.
 * Each case asserts the outcome (message, exit code) and that no debug pod is left, or that the leftover is reported
 * with a non-zero exit. Every wait is for an event (a request seen, the process ending), never a fixed sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/main.ts';
import { FakeApiServer } from './fake-api-server.ts';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const TARGETS = ['default/client', 'default/svc/web:80'];

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let fakes: FakeApiServer[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  fakes = [];
});

async function fake(user?: Record<string, unknown>): Promise<FakeApiServer> {
  const f = await new FakeApiServer().start(user);
  fakes.push(f);
  return f;
}

/** Starts the plugin against a fake; `done` resolves when it exits. */
function start(f: FakeApiServer, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Ran> } {
  const t0 = Date.now();
  const child = spawn(process.execPath, [main, ...args], {
    env: { PATH: process.env.PATH, HOME: tmpdir(), KUBECONFIG: f.kubeconfig, CI: 'true', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => (stdout += String(b)));
  child.stderr?.on('data', (b: Buffer) => (stderr += String(b)));
  const done = new Promise<Ran>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 })));
  return { child, done };
}

const runPlugin = (f: FakeApiServer, args: string[], env?: NodeJS.ProcessEnv): Promise<Ran> => start(f, args, env).done;

interface JsonReport {
  verdict: { status: string; cause: string };
  destination: { endpoints?: { ip: string }[] };
  rungs: { probes: { observation: { kind: string; reason?: string }; raw?: { stdout: string } }[] }[];
}

const observations = (r: JsonReport): { kind: string; reason?: string }[] => r.rungs.flatMap((g) => g.probes.map((p) => p.observation));

describe('exec faults are "could not check", never a failed connection', () => {
  it.each([
    { how: 'the socket closed cleanly', mode: 'no-status' as const },
    { how: 'the connection dropped', mode: 'no-status-abrupt' as const },
    { how: 'stdout and stderr closed by v5 close frames, the socket left open', mode: 'no-status-open' as const },
  ])('a stream that ends without a status frame ($how): could-not-run, INCONCLUSIVE, exit 3, nothing left', async ({ mode }) => {
    const f = await fake();
    f.execMode = mode;
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code, r.stderr).toBe(3);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.verdict).toMatchObject({ status: 'inconclusive', cause: 'CHECKS_COULD_NOT_RUN' });
    const obs = observations(report);
    expect(obs.length).toBeGreaterThan(0);
    for (const o of obs) expect(o).toMatchObject({ kind: 'could-not-run', reason: expect.stringMatching(/closed without an exit status/) });
    expect(r.stdout).not.toMatch(/CONNECTION_FAILED/);
    expect(f.debugPods()).toEqual([]);
  });

  it('an upgrade never answered: could-not-run within --request-timeout, the upgrade aborted, exit 3, nothing left', async () => {
    const f = await fake();
    f.execMode = 'unanswered';
    const r = await runPlugin(f, [...TARGETS, '-o', 'json', '--request-timeout', '1s']);
    expect(r.code, r.stderr).toBe(3);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.verdict.cause).toBe('CHECKS_COULD_NOT_RUN');
    for (const o of observations(report)) expect(o).toMatchObject({ kind: 'could-not-run', reason: 'the API server did not answer the exec upgrade within 1 s' });
    expect(r.stdout).not.toMatch(/CONNECTION_FAILED/);
    // Each unanswered upgrade was really closed by the client, not left open.
    const execs = f.log.filter((l) => l.method === 'EXEC').length;
    expect(execs).toBeGreaterThan(0);
    await expect.poll(() => f.aborted).toBe(execs);
    expect(f.debugPods()).toEqual([]);
  });
});

describe('the API never hangs the run', () => {
  it('a hanging request is aborted at --request-timeout: exit 3 naming the timeout', async () => {
    const f = await fake();
    f.failures.push({ method: 'GET', path: /\/pods\/client$/, status: 'hang', times: 1 });
    const r = await runPlugin(f, [...TARGETS, '-o', 'json', '--request-timeout', '1s']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: could not reach the API server at http:\/\/127\.0\.0\.1:\d+ \(get pods "client" in namespace "default"\): request timed out after 1000 ms/);
    expect(r.stderr).toMatch(/hint: the API server did not answer within --request-timeout/);
    // The server saw the request closed: aborted, not abandoned while still running.
    await expect.poll(() => f.aborted, { timeout: 10_000 }).toBe(1);
    expect(f.debugPods()).toEqual([]);
  });

  it('429 with Retry-After: 1 is retried after the second it asks for', async () => {
    const f = await fake();
    f.failures.push({ method: 'GET', path: /\/pods\/client$/, status: 429, headers: { 'retry-after': '1' }, times: 1 });
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code, r.stderr).toBe(1);
    const gets = f.log.filter((l) => l.method === 'GET' && l.path.endsWith('/pods/client'));
    expect(gets.length).toBeGreaterThanOrEqual(2);
    expect(gets[1]!.at - gets[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(f.debugPods()).toEqual([]);
  });

  it('5xx twice then success: retried with backoff and the run completes', async () => {
    const f = await fake();
    f.failures.push({ method: 'GET', path: /\/services\/web$/, status: 503, times: 2 });
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code, r.stderr).toBe(1);
    expect(f.log.filter((l) => l.method === 'GET' && l.path.endsWith('/services/web'))).toHaveLength(3);
    expect(f.debugPods()).toEqual([]);
  });

  it('a watch set up against 429 and 503 is set up again, and the pods come up', async () => {
    const f = await fake();
    f.failures.push({ method: 'GET', path: /\/pods$/, query: /watch=true/, status: 429, times: 1 });
    f.failures.push({ method: 'GET', path: /\/pods$/, query: /watch=true/, status: 503, times: 1 });
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code, r.stderr).toBe(1);
    // Every location came up: no probe failed for want of one (the fake's empty exec output is another matter).
    const notReady = observations(JSON.parse(r.stdout) as JsonReport).filter((o) => /Too Many Requests|Service Unavailable|did not start|not running|watch/i.test(o.reason ?? ''));
    expect(notReady).toEqual([]);
    expect(r.stdout).toMatch(/unrecognised nc output/);
    // One watch for the ephemeral container, ONE shared watch for every node pod of the run (was one per node pod: the
    // lead's decision for issue 15; each pod still waits out its own pull behind it), and the two refused set-ups again.
    const nodePods = f.log.filter((l) => l.method === 'POST' && /\/pods$/.test(l.path)).length;
    expect(nodePods).toBeGreaterThan(1);
    expect(f.log.filter((l) => l.query.get('watch') === 'true').length).toBe(1 + 1 + 2);
    expect(f.debugPods()).toEqual([]);
  });

  it('5xx that never ends: bounded retries, then exit 3 with the server\'s message', async () => {
    const f = await fake();
    f.failures.push({ method: 'GET', path: /\/services\/web$/, status: 500, times: 100 });
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: the API server failed to get services "web" in namespace "default": scripted 500/);
    expect(f.log.filter((l) => l.path.endsWith('/services/web'))).toHaveLength(4);
  });

  it('a create (not idempotent) is not retried on 503', async () => {
    const f = await fake();
    f.failures.push({ method: 'POST', path: /\/pods$/, status: 503, times: 100 });
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    // One POST per node pod of the plan (node-2 pod network, node-1 and node-2 host network), none repeated (the
    // preflight's access reviews are POSTs too, to another path).
    expect(f.log.filter((l) => l.method === 'POST' && /\/pods$/.test(l.path))).toHaveLength(3);
    expect(r.stdout).toMatch(/could not create debug pod default\/netdebug-node-[^ ]* on node node-\d: scripted 503/);
    expect(r.code).toBe(3);
    expect(f.debugPods()).toEqual([]);
  });
});

/** Whether `pid` has stopped running (gone, or a zombie not yet reaped) within `ms`; polls /proc where there is one. */
async function ended(pid: number, ms: number): Promise<boolean> {
  const running = (): boolean => {
    try {
      // Linux: the state letter follows the ')' that closes the command name; Z and X are dead.
      const state = /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
      return state !== undefined && state !== 'Z' && state !== 'X';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || process.platform === 'linux') return false;
    }
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + ms;
  while (running()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe('exec-credential plugins are bounded', () => {
  const credential = `'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"fake-token"}}'`;
  /** A plugin that answers after `seconds`, or (hang) becomes a sleep that never answers, its pid in dir/pid. */
  const plugin = (dir: string, seconds: number, hang = false): Record<string, unknown> => {
    const script = join(dir, 'plugin.sh');
    const body = hang ? `exec sleep ${seconds}` : `sleep ${seconds}\necho ${credential}`;
    writeFileSync(script, `#!/bin/sh\necho $$ > ${join(dir, 'pid')}\necho $$ >> ${join(dir, 'pids')}\n${body}\n`, { mode: 0o755 });
    return { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: script, interactiveMode: 'Never' } };
  };

  it('a slow plugin (1 s) within the bound works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netdebug-plugin-'));
    const f = await fake(plugin(dir, 1));
    const r = await runPlugin(f, [...TARGETS, '-o', 'json', '--request-timeout', '20s']);
    expect(r.code, r.stderr).toBe(1);
    expect(f.debugPods()).toEqual([]);
    // The run's first requests go out together: the plugin ran once for all of them, not once each.
    expect(readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('a hanging plugin is killed at --request-timeout: exit 3 naming the plugin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netdebug-plugin-'));
    const f = await fake(plugin(dir, 600, true));
    const r = await runPlugin(f, [...TARGETS, '-o', 'json', '--request-timeout', '1s']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: the credential plugin ".*plugin\.sh" of user "fake-user" did not answer within 1000 ms/);
    expect(r.stderr).toMatch(/hint: run the plugin yourself/);
    expect(r.ms).toBeLessThan(20_000);
    // The plugin was killed, not left running. SIGKILL is delivered asynchronously and the child is reaped when this
    // process next handles SIGCHLD: wait (bounded) for it to be gone or a zombie, i.e. no longer running.
    const pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number);
    expect(pids).toHaveLength(1);
    for (const pid of pids) expect(await ended(pid, 10_000), `plugin pid ${pid} still running`).toBe(true);
    expect(f.log).toEqual([]);
  });

  it('Ctrl-C while the credential plugin runs: exit 130 and the plugin is killed, not left running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netdebug-plugin-'));
    const f = await fake(plugin(dir, 600, true));
    const { child, done } = start(f, [...TARGETS, '-o', 'json', '--request-timeout', '60s']);
    const pidFile = join(dir, 'pid');
    await expect.poll(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', { timeout: 20_000 }).toBe(true);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    const pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number);
    expect(pids).toHaveLength(1);
    for (const pid of pids) expect(await ended(pid, 10_000), `plugin pid ${pid} still running`).toBe(true);
  });
});

describe('signals and crashes clean up', () => {
  const phases = [
    { phase: 'preparation', setup: (f: FakeApiServer) => (f.createdPhase = 'Pending'), reached: [/^POST$/, /\/pods$/] as const },
    { phase: 'probing', setup: (f: FakeApiServer) => (f.execMode = 'hang'), reached: [/^EXEC$/, /\/exec$/] as const },
  ];
  const signals = [
    { signal: 'SIGINT' as const, code: 130, says: /interrupted: cleaning up debug pods/ },
    { signal: 'SIGTERM' as const, code: 143, says: /terminated: cleaning up debug pods/ },
    { signal: 'SIGHUP' as const, code: 129, says: /hung up: cleaning up debug pods/ },
  ];
  const rows = phases.flatMap((p) => signals.map((s) => ({ ...p, ...s })));

  it.each(rows)('$signal during $phase: exit $code, no debug pod left', async (row) => {
    const f = await fake();
    row.setup(f);
    const { child, done } = start(f, [...TARGETS, '-o', 'text']);
    const method = row.phase === 'preparation' ? 'POST' : 'EXEC';
    await f.waitFor(method, row.reached[1]);
    // Every node pod asked for, so the signal lands with pods in the fake.
    await expect.poll(() => f.debugPods().length).toBeGreaterThan(0);
    child.kill(row.signal);
    const r = await done;
    expect(r.code, r.stderr).toBe(row.code);
    expect(r.stderr).toMatch(row.says);
    expect(r.stdout).not.toMatch(/Verdict/);
    expect(f.debugPods()).toEqual([]);
  });

  it('a crash inside an exec handler (a malformed frame): exit 3, the error said, no debug pod left', async () => {
    const f = await fake();
    f.execMode = 'crash';
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: unexpected error: .*outside buffer bounds/m);
    expect(r.stderr.match(/unexpected error/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/cleaning up debug pods/);
    expect(f.log.some((l) => l.method === 'DELETE')).toBe(true);
    expect(f.debugPods()).toEqual([]);
  });

  it('SIGKILL leaves pods with activeDeadlineSeconds; once expired, the next run removes them', async () => {
    const f = await fake();
    f.createdPhase = 'Pending';
    const created: { metadata: { name: string; namespace: string }; spec: { activeDeadlineSeconds?: number } }[] = [];
    f.on('created', (p: (typeof created)[number]) => created.push(p));
    const { child, done } = start(f, [...TARGETS, '-o', 'json']);
    await f.waitFor('POST', /\/pods$/);
    child.kill('SIGKILL');
    await done;
    const left = f.debugPods();
    expect(left.length).toBeGreaterThan(0);
    for (const p of created) expect(p.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    // The kubelet ends them at their deadline.
    for (const key of left) f.expire(key);

    f.createdPhase = 'Running';
    const next = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(next.code, next.stderr).toBe(1);
    for (const key of left) expect(f.log.some((l) => l.method === 'DELETE' && l.path.endsWith(`/${key.split('/')[1]}`))).toBe(true);
    expect(f.debugPods()).toEqual([]);
  });

  it('a debug pod still within its deadline (another run\'s) is not swept', async () => {
    const f = await fake();
    f.createdPhase = 'Pending';
    const { child, done } = start(f, [...TARGETS, '-o', 'json']);
    await f.waitFor('POST', /\/pods$/);
    child.kill('SIGKILL');
    await done;
    const live = f.debugPods();
    expect(live.length).toBeGreaterThan(0);
    f.createdPhase = 'Running';
    const next = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(next.code, next.stderr).toBe(1);
    expect(f.debugPods()).toEqual(live);
  });

  it('SIGKILL, then `cleanup` (no -n) finds the leftovers in every namespace and deletes them', async () => {
    const f = await fake();
    f.createdPhase = 'Pending';
    const { child, done } = start(f, [...TARGETS, '-o', 'json']);
    await f.waitFor('POST', /\/pods$/);
    child.kill('SIGKILL');
    await done;
    const left = f.debugPods();
    expect(left.length).toBeGreaterThan(0);
    const r = await runPlugin(f, ['cleanup']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^deleted ${left.length} netdebug pod\\(s\\) in all namespaces: `));
    expect(f.debugPods()).toEqual([]);
  });
});

describe('the verdict first, then a bounded cleanup with progress', () => {
  it('on a terminal: the verdict is written before "cleanup: deleting", and the deletes are counted in the stats', async () => {
    const f = await fake();
    const writes: { stream: 'out' | 'err'; text: string }[] = [];
    const io = {
      stdout: { write: (t: string) => writes.push({ stream: 'out', text: t }), isTTY: false },
      stderr: { write: (t: string) => writes.push({ stream: 'err', text: t }), isTTY: true },
      env: { CI: 'true', NO_COLOR: '1' },
    };
    const saved = process.exitCode;
    try {
      const code = await run([...TARGETS, '-o', 'text', '--kubeconfig', f.kubeconfig], io);
      expect(code).toBe(1);
    } finally {
      process.exitCode = saved;
    }
    const verdictAt = writes.findIndex((w) => w.stream === 'out' && /Verdict/.test(w.text));
    const startAt = writes.findIndex((w) => w.stream === 'err' && w.text === 'cleanup: deleting 3 debug pod(s)…\n');
    const doneAt = writes.findIndex((w) => w.stream === 'err' && w.text === 'cleanup: deleted 3 debug pod(s)\n');
    const statsAt = writes.findIndex((w) => w.stream === 'out' && /API requests/.test(w.text));
    expect(verdictAt).toBeGreaterThanOrEqual(0);
    expect([verdictAt < startAt, startAt < doneAt, doneAt < statsAt]).toEqual([true, true, true]);
    // The stats line counts every request the fake saw, the deletes (and exec upgrades) included.
    const apiRequests = Number(/(\d+) API requests/.exec(writes[statsAt]!.text)?.[1]);
    expect(apiRequests).toBe(f.log.length);
    expect(f.debugPods()).toEqual([]);
  });
});

describe('a failed delete is reported, never swallowed', () => {
  it('403 on delete: the verdict first, then the pods left and the kubectl command, exit 4', async () => {
    const f = await fake();
    f.deleteStatus = 403;
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code).toBe(4);
    // The verdict was shown in full.
    expect((JSON.parse(r.stdout) as JsonReport).verdict.status).toBe('broken');
    const left = f.debugPods().map((k) => k.split('/')[1]!);
    expect(left.length).toBe(3);
    expect(r.stderr).toMatch(/^error: could not delete 3 debug pod\(s\); they are still in the cluster:/);
    expect(r.stderr).toMatch(/is forbidden: User "fake-user" cannot delete resource "pods"/);
    expect(r.stderr).toContain(`kubectl delete pod -n default ${[...left].sort().join(' ')}`);
  });

  it('403 on delete in `cleanup`: the pods left and the command, exit 4', async () => {
    const f = await fake();
    f.createdPhase = 'Pending';
    const { child, done } = start(f, [...TARGETS, '-o', 'json']);
    await f.waitFor('POST', /\/pods$/);
    child.kill('SIGKILL');
    await done;
    f.deleteStatus = 403;
    const left = f.debugPods().map((k) => k.split('/')[1]!).sort();
    const r = await runPlugin(f, ['cleanup', '-A', '--context', 'fake']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`kubectl delete pod -n default ${left.join(' ')} --context fake`);
  });
});

describe('round trips of a run (issue 15)', () => {
  it('the source pod read once, nodes in one list, no namespace reads without policies, one watch for the node pods, one deletecollection', async () => {
    const f = await fake();
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code, r.stderr).toBe(1);
    const log = f.log.map((l) => `${l.method} ${l.path}${l.query.toString() ? `?${decodeURIComponent(l.query.toString())}` : ''}`);
    const report = JSON.parse(r.stdout) as { stats: { apiRequests: number; execs: number } };
    // Resolution's read of the source pod serves the ephemeral container's preparation too.
    expect(f.log.filter((l) => l.method === 'GET' && l.path === '/api/v1/namespaces/default/pods/client')).toHaveLength(1);
    const nodeReads = log.filter((l) => l.startsWith('GET /api/v1/nodes'));
    expect(nodeReads).toHaveLength(1);
    // Every node of this small cluster, cut at a limit (a bigger one's are listed by label: round-trips.test.ts).
    expect(nodeReads[0]).toBe('GET /api/v1/nodes?limit=16');
    // Namespaces are read for their Pod Security labels only (the preflight), once each, never for a selector.
    const nsReads = log.filter((l) => /^GET \/api\/v1\/namespaces\/[^/]+$/.test(l.split('?')[0] ?? ''));
    expect(nsReads).toEqual([...new Set(nsReads)]);
    expect(nsReads).toEqual(['GET /api/v1/namespaces/default']);
    // One watch for the ephemeral container and ONE for every node pod of the run, by the managed-by label (was one per
    // node pod: the lead's decision for issue 15; each pod still waits out its own image pull behind the shared watch).
    const watches = f.log.filter((l) => l.query.get('watch') === 'true');
    const nodePods = f.log.filter((l) => l.method === 'POST' && /\/pods$/.test(l.path)).length;
    expect(nodePods).toBeGreaterThan(1);
    expect(watches).toHaveLength(1 + 1);
    const shared = watches.find((l) => l.query.get('labelSelector'));
    expect(shared?.query.get('labelSelector')).toBe('app.kubernetes.io/managed-by=kubectl-netdebug');
    expect(shared?.query.get('fieldSelector')).toBeNull();
    // Cleanup: one DELETE of the collection by this run's id, no per-pod delete.
    const deletes = f.log.filter((l) => l.method === 'DELETE');
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.path).toBe('/api/v1/namespaces/default/pods');
    expect(deletes[0]?.query.get('labelSelector')).toMatch(/^netdebug\.dev\/run-id=[0-9a-f]{8}$/);
    expect(f.debugPods()).toEqual([]);
    // One exec per location, and the report counts every request the server saw.
    const execs = f.log.filter((l) => l.method === 'EXEC');
    expect(report.stats.execs).toBe(execs.length);
    expect(new Set(execs.map((e) => `${e.path}|${e.query.get('container')}`)).size).toBe(execs.length);
    expect(report.stats.apiRequests).toBe(f.log.length);
  });
});

describe('hostile data from the cluster', () => {
  it('an FQDN EndpointSlice is ignored, not fatal', async () => {
    const f = await fake();
    f.addFqdnSlice();
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code, r.stderr).toBe(1);
    expect((JSON.parse(r.stdout) as JsonReport).destination.endpoints?.map((e) => e.ip)).toEqual(['10.244.2.7']);
  });

  const hostile = 'pwn\u001b]0;owned\u0007\u001b[2J\u001b[31mred\u009b1m\u0000end';

  it('escape sequences in probe output are stripped in text, kept exactly in JSON', async () => {
    const f = await fake();
    f.execStdout = hostile;
    const text = await runPlugin(f, [...TARGETS, '-o', 'text']);
    expect(text.stdout).toContain('pwnredend');
    expect(text.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    const ndjson = await runPlugin(f, [...TARGETS, '-o', 'ndjson']);
    const events = ndjson.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type: string; result?: { raw?: { stdout: string } } });
    const raws = events.filter((e) => e.type === 'probe-finished').map((e) => e.result?.raw?.stdout);
    expect(raws).toContain(hostile);
  });

  it('escape sequences in an API error message are stripped before the terminal', async () => {
    const f = await fake();
    f.failures.push({ method: 'GET', path: /\/pods\/client$/, status: 403, message: `pods "client" is forbidden ${hostile}`, times: 1 });
    const r = await runPlugin(f, [...TARGETS, '-o', 'text']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('is forbidden pwnredend');
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it('a password in the server URL is never printed', async () => {
    const f = await fake();
    const cfg = JSON.parse(readFileSync(f.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    cfg.clusters[0]!.cluster.server = f.url.replace('http://', 'http://admin:s3cr3t@');
    writeFileSync(f.kubeconfig, JSON.stringify(cfg));
    const r = await runPlugin(f, [...TARGETS, '-o', 'json', '--request-timeout', '2s']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('admin:xxxxx@127.0.0.1');
    expect(`${r.stdout}${r.stderr}`).not.toContain('s3cr3t');
  });
});
