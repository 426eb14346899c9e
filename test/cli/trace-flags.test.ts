/** The trace's flags (issue 14): --trace, --no-trace, --capture-dir (which implies --trace), and what they refuse. */
import { describe, expect, it } from 'vitest';
import { parseCli, type DiagnoseOptions } from '../../src/cli.ts';

const pipe = { stdoutIsTTY: false, ci: false };
const options = async (argv: string[]): Promise<DiagnoseOptions> => {
  const c = await parseCli(['a', 'b', ...argv], pipe);
  if (c.kind !== 'diagnose') throw new Error(`not a diagnosis: ${c.kind}`);
  return c.options;
};

describe('trace flags', () => {
  it('absent: no trace option (the run traces only an uncertain verdict)', async () => {
    const o = await options([]);
    expect(o.trace).toBeUndefined();
    expect(o.captureDir).toBeUndefined();
  });

  it('--trace is always, --no-trace never, --capture-dir DIR implies always', async () => {
    expect((await options(['--trace'])).trace).toBe('always');
    expect((await options(['--no-trace'])).trace).toBe('never');
    expect(await options(['--capture-dir', 'pcaps'])).toMatchObject({ trace: 'always', captureDir: 'pcaps' });
  });

  it('refuses --capture-dir with --no-trace, and an empty directory', async () => {
    await expect(parseCli(['a', 'b', '--no-trace', '--capture-dir', 'x'], pipe)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('--no-trace') });
    await expect(parseCli(['a', 'b', '--capture-dir', ''], pipe)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('--capture-dir needs a directory') });
  });
});
