/** --node-namespace and --pull-timeout: typed at the edge, bad values refused with a clear message (exit 2). */
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../src/cli.ts';
import { describeError } from '../../src/core/errors.ts';

const env = { stdoutIsTTY: false, ci: false };

async function failure(argv: string[]): Promise<{ message: string; exitCode: number }> {
  try {
    await parseCli(argv, env);
  } catch (err) {
    const d = describeError(err);
    return { message: d.message, exitCode: d.exitCode };
  }
  throw new Error('expected a usage error');
}

describe('--node-namespace and --pull-timeout', () => {
  it('are typed when given and absent otherwise (main applies the documented defaults)', async () => {
    const given = await parseCli(['a', 'b', '--node-namespace', 'netdebug', '--pull-timeout', '10m'], env);
    expect(given).toMatchObject({ kind: 'diagnose', options: { nodeNamespace: 'netdebug', pullTimeoutMs: 600_000 } });
    const plain = await parseCli(['a', 'b'], env);
    expect(plain.kind === 'diagnose' && 'nodeNamespace' in plain.options).toBe(false);
    expect(plain.kind === 'diagnose' && 'pullTimeoutMs' in plain.options).toBe(false);
  });

  it.each([
    [['a', 'b', '--pull-timeout', '2h'], '--pull-timeout 2h is too long: at most 1h'],
    [['a', 'b', '--pull-timeout', '500ms'], '--pull-timeout 500ms is too short: a pull takes at least a second'],
    [['a', 'b', '--pull-timeout', 'soon'], 'invalid --pull-timeout "soon": expected a duration like 500ms, 2s or 1m'],
    [['a', 'b', '--node-namespace', 'Bad_NS'], 'invalid --node-namespace "Bad_NS": not a DNS-1123 label'],
    [['rbac', '--node-namespace', 'x;rm'], 'invalid --node-namespace "x;rm": not a DNS-1123 label'],
  ])('%j: %s', async (argv, message) => {
    expect(await failure(argv)).toEqual({ message, exitCode: 2 });
  });

  it('help documents both defaults and the digest-pinned image', async () => {
    const help = await parseCli(['--help'], env);
    // yargs wraps the help to the terminal's width: compare with the line breaks and indents folded.
    const text = (help.kind === 'print' ? help.text : '').replace(/\s+/g, ' ');
    expect(text).toContain('(default: default)');
    expect(text).toContain('(default: 5m, a cold ~200 MB pull on a slow link)');
    expect(text).toContain('nicolaka/netshoot:v0.13@sha256:a20c2531bf35436ed3766cd6cfe89d352b050ccc4d7005ce6400adf97503da1b');
    expect(text).toContain('kubectl netdebug rbac');
  });
});
