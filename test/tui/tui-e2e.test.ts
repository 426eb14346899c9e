/**
 * End to end in a real terminal: the BUILT executable runs through real kubectl inside tmux (100×30) against the
 * ip-forward-off lab. The screen must show the ladder, the marked hop and the verdict; keys open the failing rung's
 * drill-down; resizing redraws without leftovers; q exits 1; Ctrl-C while the debug pods exist cleans them up and leaves
 * the terminal sane. No debug pod may remain.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipLabSuite, startTestLab, type TestLab } from '../lab/harness.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const skip = skipLabSuite('tui e2e');
const sessions: string[] = [];

function tmux(args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

/** Starts the plugin in a detached 100×30 tmux session; the shell records the exit code and `stty -a` afterwards. */
function startSession(name: string, kubeconfig: string, dir: string): void {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    `cd ${quote(repo)}`,
    // A person at a terminal: CI unset, since netdebug (like Ink) never goes interactive in CI.
    `env -u CI KUBECONFIG=${quote(kubeconfig)} PATH=${quote(`${repo}/bin:${process.env.PATH ?? ''}`)} TERM=xterm-256color kubectl netdebug default/client shop/svc/web`,
    `echo EXIT=$? > ${quote(join(dir, 'exit'))}; stty -a > ${quote(join(dir, 'stty'))}; sleep 300`,
  ].join('; ');
  tmux(['new-session', '-d', '-s', name, '-x', '100', '-y', '30', script]);
  sessions.push(name);
}

const screen = (name: string): string => tmux(['capture-pane', '-p', '-t', name]);

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, seen: () => string = () => '', everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${seen()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const waitForScreen = (name: string, text: string): Promise<string> => waitFor(`"${text}" on screen`, () => {
  const s = screen(name);
  return s.includes(text) ? s : undefined;
}, 30_000, () => `; the screen shows:\n${screen(name)}`);

/** Resizes the session's window and waits until the UI has redrawn for it (its key line is the last line again). */
async function resize(name: string, columns: number, rows: number): Promise<string[]> {
  tmux(['resize-window', '-t', name, '-x', String(columns), '-y', String(rows)]);
  await new Promise((r) => setTimeout(r, 300));
  return (await waitForScreen(name, 'q quit')).split('\n');
}

const readIfExists = (path: string): string | undefined => (existsSync(path) && readFileSync(path, 'utf8').trim() !== '' ? readFileSync(path, 'utf8') : undefined);

async function debugPods(lab: TestLab): Promise<string> {
  const res = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
  expect(res.code).toBe(0);
  return res.stdout;
}

describe.skipIf(skip)('the TUI in a real terminal (tmux)', () => {
  let lab: TestLab | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'netdebug-tui-e2e-'));

  beforeAll(async () => {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' });
    lab = await startTestLab('ip-forward-off');
  }, 120_000);

  afterAll(async () => {
    for (const s of sessions) {
      try {
        tmux(['kill-session', '-t', s]);
      } catch {
        // already gone
      }
    }
    await lab?.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows ladder, marked hop and verdict; re-lays out on resize; drills into the failing rung; q exits 1', async () => {
    const name = `netdebug-tui-e2e-q-${process.pid}`;
    const out = join(dir, 'q');
    execFileSync('mkdir', ['-p', out]);
    startSession(name, (lab as TestLab).kubeconfig, out);
    const done = await waitForScreen(name, 'Verdict ✗');
    expect(done).toMatch(/^Ladder$/m);
    expect(done).toMatch(/✗ cluster-ip +\d+(\.\d+)?m?s  1\/1 failed: 10\.96\.0\.2:80 timed out/);
    expect(done).toMatch(/✗ node-2 checks .*net\.ipv4\.ip_forward = 0/);
    expect(done).toContain('↓ ✗ node node-2  ◀ NODE_IP_FORWARD_DISABLED');
    expect(done).toContain('Verdict ✗ BROKEN NODE_IP_FORWARD_DISABLED (node)  at node node-2');
    expect(done).toContain('fix: on node node-2: sysctl -w net.ipv4.ip_forward=1');

    // Shrink, then grow: the frame is redrawn for each size, and no old header or ladder line is left above it.
    const small = await resize(name, 80, 24);
    expect(Math.max(...small.map((l) => [...l].length))).toBeLessThanOrEqual(80);
    const grown = await resize(name, 130, 40);
    expect(grown[0]).toMatch(/^kubectl netdebug {2}context lab-ip-forward-off {2}took /);
    expect(grown.filter((l) => l.startsWith('kubectl netdebug'))).toHaveLength(1);
    expect(grown.filter((l) => l.includes('API objects'))).toHaveLength(1);
    expect(grown).toContain('  IP forwarding is off on node node-2: it drops every packet it should route to or from its pods');
    const back = await resize(name, 100, 30);
    expect(back[0]).toMatch(/^kubectl netdebug /);
    expect(back.filter((l) => l.startsWith('kubectl netdebug'))).toHaveLength(1);

    // API objects, dns, cluster-ip: two rows down is the failing rung.
    for (const key of ['j', 'j', 'Enter']) {
      tmux(['send-keys', '-t', name, key]);
      await new Promise((r) => setTimeout(r, 150));
    }
    const drill = await waitForScreen(name, '$ nc -z -v -w 2 10.96.0.2 80');
    expect(drill).toMatch(/^cluster-ip  lines 1–\d+ of \d+/);
    expect(drill).toContain('where:   source pod default/client');
    expect(drill).toContain('result:  timed out (fail)');
    // ...and what the command printed and how it exited.
    expect(drill).toMatch(/exit: +1/);
    expect(drill).toMatch(/stderr:\n +nc: connect to 10\.96\.0\.2 port 80 \(tcp\) timed out/);

    tmux(['send-keys', '-t', name, 'Escape']);
    await waitForScreen(name, 'Packet path');
    tmux(['send-keys', '-t', name, 'q']);
    const exit = await waitFor('the exit code', () => readIfExists(join(out, 'exit')));
    expect(exit.trim()).toBe('EXIT=1');
    // The UI ran on the alternate screen; what stays on the terminal is its final screen with the whole verdict.
    const left = screen(name);
    expect(left).toContain('Verdict ✗ BROKEN NODE_IP_FORWARD_DISABLED (node)  at node node-2');
    expect(left).toContain('make it persistent on node-2');
    expect(await debugPods(lab as TestLab)).toBe('');
  });

  it('Ctrl-C while the debug pods exist cleans them up, exits 130 and leaves echo on and the cursor visible', async () => {
    const name = `netdebug-tui-e2e-int-${process.pid}`;
    const out = join(dir, 'int');
    execFileSync('mkdir', ['-p', out]);
    startSession(name, (lab as TestLab).kubeconfig, out);
    // Mid-run for real: the node debug pods exist in the cluster, and the UI is still running.
    const pods = await waitFor('a netdebug debug pod in the lab', async () => ((await debugPods(lab as TestLab)) || undefined), 30_000, () => `; the screen shows:\n${screen(name)}`, 50);
    const live = screen(name);
    tmux(['send-keys', '-t', name, 'C-c']);
    expect(pods).toMatch(/^pod\//m);
    expect(live).toMatch(/^Ladder$/m);
    expect(live).toContain('running…');
    expect(live).not.toContain('Verdict ✗');
    const exit = await waitFor('the exit code', () => readIfExists(join(out, 'exit')));
    expect(exit.trim()).toBe('EXIT=130');
    const left = screen(name);
    expect(left).toContain('interrupted: cleaning up debug pods');
    // The screen left behind is the one that was interrupted, before any verdict.
    expect(left).toMatch(/^kubectl netdebug .* interrupted$/m);
    expect(left).not.toContain('Verdict ✗');
    const stty = await waitFor('stty -a', () => readIfExists(join(out, 'stty')));
    expect(stty).toMatch(/(^|\s)echo(\s|$)/);
    expect(stty).toMatch(/(^|\s)icanon(\s|$)/);
    expect(tmux(['display-message', '-p', '-t', name, '#{cursor_flag}']).trim()).toBe('1');
    expect(await debugPods(lab as TestLab)).toBe('');
  });
});
