/** The one CLI flag the TUI adds: --exit-on-verdict. */
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../src/cli.ts';

describe('--exit-on-verdict', () => {
  it.each([
    { name: 'set', argv: ['a', 'b', '--exit-on-verdict'], want: true },
    { name: 'absent', argv: ['a', 'b'], want: undefined },
  ])('$name', async ({ argv, want }) => {
    const c = await parseCli(argv, { stdoutIsTTY: true, ci: false });
    expect(c.kind === 'diagnose' ? c.options.exitOnVerdict : 'not a diagnosis').toBe(want);
  });
});
