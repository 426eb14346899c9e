/**
 * The scripts of probes that start with their container (src/core/probe-batch.ts), run by /bin/sh: the container's
 * command starts every probe before anything reads, the read (an exec sent later) gets the records as the ordinary
 * batch prints them, a read that comes first waits for the container's FIFO, a read into a container that started
 * nothing says so (PRELAUNCH_MISSING_EXIT) instead of hanging, and a batch that cannot run says why through the FIFO.
 * The container's command is started in a process group of its own and killed with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchRecordReader, BATCH_NO_TMPDIR_EXIT, buildPrelaunchCommand, buildPrelaunchReadCommand, PRELAUNCH_MISSING_EXIT } from '../../src/core/probe-batch.ts';

let dir = '';
const groups: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'netdebug-prelaunch-'));
});
afterEach(() => {
  for (const c of groups.splice(0)) {
    try {
      if (c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The environment of the container and its execs: TMPDIR is the test's own directory (as the lab gives each pod one). */
const envOf = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...process.env, TMPDIR: dir, ...extra });

const mark = (): string => `nd-t${Math.random().toString(36).slice(2, 10)}`;

/** Starts a container's command: a process group of its own, as the lab's kubelet starts it. */
function startContainer(argv: string[], env: NodeJS.ProcessEnv = envOf()): ChildProcess {
  const child = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: 'ignore', env });
  groups.push(child);
  return child;
}

/** Runs the read as an exec would, collecting its stdout bytes. */
function read(m: string, env: NodeJS.ProcessEnv = envOf()): Promise<{ stdout: Buffer; code: number | null }> {
  const [file, ...args] = buildPrelaunchReadCommand(m);
  return new Promise((resolve) => {
    const child = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('close', (code) => resolve({ stdout: Buffer.concat(chunks), code }));
  });
}

/** Waits (bounded) until a file exists. */
async function waitForFile(path: string, boundMs = 20_000): Promise<void> {
  const until = Date.now() + boundMs;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} never appeared`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('probes that start with their container', () => {
  it('every probe starts before anything reads; the read gets each record, then ends; the FIFO goes', async () => {
    const m = mark();
    const commands = [
      ['sh', '-c', `echo started > ${dir}/0; echo out0`],
      ['sh', '-c', `echo started > ${dir}/1; echo err1 >&2; printf 'a\\0b'; exit 3`],
    ];
    startContainer(buildPrelaunchCommand(commands, m));
    // Nothing reads yet, and both probes have run: they did not wait for the exec.
    await waitForFile(join(dir, '0'));
    await waitForFile(join(dir, '1'));
    const { stdout, code } = await read(m);
    expect(code).toBe(0);
    const reader = new BatchRecordReader(m);
    const records = reader.push(stdout).sort((a, b) => a.index - b.index);
    expect(records).toEqual([
      { index: 0, exitCode: 0, stdout: 'out0\n', stderr: '' },
      { index: 1, exitCode: 3, stdout: 'a\0b', stderr: 'err1\n' },
    ]);
    expect(reader.garbage()).toBe('');
    // The directory of the FIFO is removed once the records are read.
    const fifoDir = join(dir, `netdebug-${m}`);
    const until = Date.now() + 20_000;
    while (existsSync(fifoDir) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(fifoDir)).toBe(false);
  });

  it('a read that comes before the container made its FIFO waits for it', async () => {
    const m = mark();
    const reading = read(m);
    await new Promise((r) => setTimeout(r, 200));
    startContainer(buildPrelaunchCommand([['echo', 'late']], m));
    const { stdout, code } = await reading;
    expect(code).toBe(0);
    expect(new BatchRecordReader(m).push(stdout)).toEqual([{ index: 0, exitCode: 0, stdout: 'late\n', stderr: '' }]);
  });

  it('a read into a container that started nothing ends with PRELAUNCH_MISSING_EXIT, bounded', async () => {
    const t0 = Date.now();
    const { stdout, code } = await read(mark());
    expect(code).toBe(PRELAUNCH_MISSING_EXIT);
    expect(stdout.length).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it('a batch with no temporary directory says so through the FIFO (MARK exit 97), and the read ends', async () => {
    // mktemp fails (as in a container whose /tmp and /dev/shm refuse it); mkdir still makes the FIFO's directory.
    writeFileSync(join(dir, 'mktemp'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(dir, 'mktemp'), 0o755);
    const env = envOf({ PATH: `${dir}:${process.env.PATH ?? ''}` });
    const m = mark();
    startContainer(buildPrelaunchCommand([['echo', 'never']], m), env);
    const { stdout, code } = await read(m);
    expect(code).toBe(0);
    const reader = new BatchRecordReader(m);
    expect(reader.push(stdout)).toEqual([]);
    expect(reader.exitCode()).toBe(BATCH_NO_TMPDIR_EXIT);
  });

  it('the container keeps running after its batch (later execs and --keep find it)', async () => {
    const m = mark();
    const c = startContainer(buildPrelaunchCommand([['true']], m));
    await read(m);
    expect(c.exitCode).toBeNull();
    expect(c.signalCode).toBeNull();
  });
});
