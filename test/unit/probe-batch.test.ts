/**
 * The probe batch: one `sh -c` script runs every probe's own argv concurrently and streams one framed record per probe
 * as it ends. Run here with the machine's real `sh`, so the script itself is what is tested, not a description of it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BATCH_NO_TMPDIR_EXIT, BatchRecordReader, buildBatchCommand, shellQuote, type BatchRecord } from '../../src/core/probe-batch.ts';

/** Runs argv, feeding stdout to a reader as it streams; returns the records with the time each one arrived. */
function runBatch(argv: string[], mark: string, env: NodeJS.ProcessEnv = process.env): Promise<{ records: (BatchRecord & { at: number })[]; code: number | null; garbage: string; stderr: string }> {
  return new Promise((resolve) => {
    const reader = new BatchRecordReader(mark);
    const records: (BatchRecord & { at: number })[] = [];
    const t0 = Date.now();
    let stderr = '';
    const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => {
      for (const r of reader.push(b)) records.push({ ...r, at: Date.now() - t0 });
    });
    child.stderr.on('data', (b: Buffer) => (stderr += String(b)));
    child.on('error', (err) => resolve({ records, code: -1, garbage: reader.garbage(), stderr: String(err) }));
    child.on('close', (code) => resolve({ records, code, garbage: reader.garbage(), stderr }));
  });
}

describe('probe batch', () => {
  const weird = `it's "quoted" $HOME \`x\` \\ ;|&*`;
  const commands = [
    ['sh', '-c', 'sleep 1; echo slow'],
    ['printf', '%s\\n', weird],
    ['sh', '-c', 'echo out; echo err >&2; exit 3'],
    ['printf', 'no newline\\0nul'],
  ];

  it('runs each argv as given and returns its own stdout, stderr and exit code, as each ends', async () => {
    const res = await runBatch(buildBatchCommand(commands, 'nd-test1'), 'nd-test1');
    expect(res.code).toBe(0);
    expect(res.garbage).toBe('');
    const byIndex = new Map(res.records.map((r) => [r.index, r]));
    expect(byIndex.get(0)).toMatchObject({ exitCode: 0, stdout: 'slow\n', stderr: '' });
    expect(byIndex.get(1)).toMatchObject({ exitCode: 0, stdout: `${weird}\n`, stderr: '' });
    expect(byIndex.get(2)).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(byIndex.get(3)).toMatchObject({ exitCode: 0, stdout: 'no newline\0nul', stderr: '' });
    // Streamed: the slow probe's record comes last, and the others did not wait for it.
    expect(res.records.at(-1)?.index).toBe(0);
    const fast = res.records.filter((r) => r.index !== 0);
    expect(Math.max(...fast.map((r) => r.at))).toBeLessThan(res.records.at(-1)!.at);
  });

  it('the probes run concurrently: three one-second sleeps end together', async () => {
    const sleeps = [0, 1, 2].map((i) => ['sh', '-c', `sleep 1; echo ${i}`]);
    const res = await runBatch(buildBatchCommand(sleeps, 'nd-test2'), 'nd-test2');
    expect(res.records.map((r) => r.stdout).sort()).toEqual(['0\n', '1\n', '2\n']);
    const spread = Math.max(...res.records.map((r) => r.at)) - Math.min(...res.records.map((r) => r.at));
    // Sequential sleeps would be a second apart; concurrent ones end within a fraction of that.
    expect(spread).toBeLessThan(900);
  });

  it(`exits ${BATCH_NO_TMPDIR_EXIT} without running anything when no temporary directory can be made`, async () => {
    // A read-only container: mktemp fails wherever it tries (here: a mktemp first on PATH that always fails).
    const bin = mkdtempSync(join(tmpdir(), 'batch-bin-'));
    try {
      symlinkSync('/bin/false', join(bin, 'mktemp'));
      const res = await runBatch(buildBatchCommand([['touch', join(bin, 'ran')]], 'nd-test3'), 'nd-test3', { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });
      expect(res.code).toBe(BATCH_NO_TMPDIR_EXIT);
      expect(res.records).toEqual([]);
      expect(existsSync(join(bin, 'ran'))).toBe(false);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('reads records split at any byte, and keeps what is not a record apart', () => {
    const body = 'héllo\n\u0000\u001b[31m';
    const stream = Buffer.concat([Buffer.from('noise line\n'), Buffer.from(`nd-x 1 0 ${Buffer.byteLength(body)} 2\n`), Buffer.from(body), Buffer.from('e\n'), Buffer.from('nd-x 0 7 0 0\n')]);
    for (let cut = 0; cut <= stream.length; cut += 1) {
      const reader = new BatchRecordReader('nd-x');
      const got = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(got, `cut at ${cut}`).toEqual([
        { index: 1, exitCode: 0, stdout: body, stderr: 'e\n' },
        { index: 0, exitCode: 7, stdout: '', stderr: '' },
      ]);
      expect(reader.garbage()).toBe('noise line\n');
    }
  });

  it('quotes words for a POSIX shell and refuses an unsafe mark', () => {
    expect(shellQuote('nc')).toBe('nc');
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
    expect(shellQuote('')).toBe(`''`);
    expect(() => buildBatchCommand([['true']], 'x; rm')).toThrow(/unsafe batch mark/);
  });
});
