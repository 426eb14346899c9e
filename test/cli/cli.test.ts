import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE, parseCli, parseDuration, type CliCommand } from '../../src/cli.ts';

const pipe = { stdoutIsTTY: false, ci: false };
const tty = { stdoutIsTTY: true, ci: false };

async function options(argv: string[], env = pipe) {
  const c: CliCommand = await parseCli(argv, env);
  if (c.kind !== 'diagnose') throw new Error(`expected diagnose, got ${c.kind}`);
  return c.options;
}

describe('parseDuration', () => {
  it.each([
    { name: 'ms', text: '500ms', ms: 500 },
    { name: 'seconds', text: '2s', ms: 2000 },
    { name: 'fractional seconds', text: '1.5s', ms: 1500 },
    { name: 'minutes', text: '1m', ms: 60_000 },
    { name: 'hours', text: '1h', ms: 3_600_000 },
    { name: 'bare number is seconds', text: '3', ms: 3000 },
  ])('$name', ({ text, ms }) => expect(parseDuration(text, '--timeout')).toBe(ms));

  it.each(['', '2x', '-1s', 's', '1 s'])('rejects %j', (text) => {
    expect(() => parseDuration(text, '--timeout')).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('--timeout') }));
  });
});

describe('parseCli', () => {
  it('types every flag at the edge', async () => {
    const o = await options([
      'client', 'shop/svc/web:http', '-o', 'json', '--image', 'netshoot:x', '--timeout', '500ms', '--keep', '-n', 'front',
      '--kubeconfig', '/k', '--context', 'c', '--cluster', 'cl', '--user', 'u', '-s', 'https://x', '--token', 't', '--as', 'me',
      '--as-group', 'g1', '--as-group', 'g2', '--certificate-authority', '/ca', '--insecure-skip-tls-verify', '--request-timeout', '1m',
    ]);
    expect(o).toEqual({
      // Targets are typed at the edge too, each with the text it was given; -n completes the default namespace.
      source: { text: 'client', ref: { kind: 'pod', namespace: 'front', name: 'client' }, usesDefaultNamespace: true },
      destination: { text: 'shop/svc/web:http', ref: { kind: 'service', namespace: 'shop', name: 'web', port: { kind: 'name', name: 'http' } }, usesDefaultNamespace: false },
      output: 'json',
      image: 'netshoot:x',
      timeoutMs: 500,
      keep: true,
      connection: {
        namespace: 'front', kubeconfig: '/k', context: 'c', cluster: 'cl', user: 'u', server: 'https://x', token: 't', as: 'me',
        asGroups: ['g1', 'g2'], certificateAuthority: '/ca', insecureSkipTlsVerify: true, requestTimeoutMs: 60_000,
      },
    });
  });

  it('--as-group takes one value each time, as in kubectl (SRC and DST after it stay targets)', async () => {
    const o = await options(['--as', 'me', '--as-group', 'g1', 'client', 'web:80', '--as-group=g2']);
    expect(o).toMatchObject({ source: { text: 'client' }, destination: { text: 'web:80' }, connection: { as: 'me', asGroups: ['g1', 'g2'] } });
  });

  it.each([
    { name: 'defaults when piped', argv: ['a', 'b'], env: pipe, want: { output: 'text', image: DEFAULT_IMAGE, timeoutMs: 2000, keep: false } },
    { name: 'tui on a terminal', argv: ['a', 'b'], env: tty, want: { output: 'tui' } },
    { name: 'text in CI even on a terminal', argv: ['a', 'b'], env: { stdoutIsTTY: true, ci: true }, want: { output: 'text' } },
    { name: 'explicit text', argv: ['a', 'b', '--output=text'], env: tty, want: { output: 'text' } },
  ])('$name', async ({ argv, env, want }) => {
    expect(await options(argv, env)).toMatchObject(want);
  });

  it('--samples: a whole number from 1 to 100, absent unless given (the run then takes its defaults)', async () => {
    expect(await options(['a', 'b', '--samples', '20'])).toMatchObject({ samples: 20 });
    expect(await options(['a', 'b', '--samples=1'])).toMatchObject({ samples: 1 });
    expect(await options(['a', 'b', '--samples', '100'])).toMatchObject({ samples: 100 });
    expect(await options(['a', 'b'])).not.toHaveProperty('samples');
  });

  it.each(['0', '101', '2.5', '-3', 'many', ''])('rejects --samples %j', async (value) => {
    await expect(parseCli(['a', 'b', '--samples', value], pipe)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('invalid --samples') });
  });

  it('parses cleanup', async () => {
    expect(await parseCli(['cleanup', '-A'], pipe)).toEqual({ kind: 'cleanup', options: { allNamespaces: true, connection: {} } });
    expect(await parseCli(['cleanup', '-n', 'shop'], pipe)).toEqual({ kind: 'cleanup', options: { allNamespaces: false, connection: { namespace: 'shop' } } });
  });

  it('returns help and version as text to print', async () => {
    const help = await parseCli(['--help'], pipe);
    expect(help.kind === 'print' && help.text).toMatch(/^Usage: kubectl netdebug SRC DST/);
    expect(await parseCli(['-h'], pipe)).toEqual(help);
    expect(await parseCli(['--version'], pipe)).toEqual({ kind: 'print', text: '0.1.0\n' });
  });

  it.each([
    { name: 'no targets', argv: [], code: 'USAGE', message: 'expected SRC and DST, got 0 arguments' },
    { name: 'one target', argv: ['a'], code: 'USAGE', message: 'expected SRC and DST, got 1 argument' },
    { name: 'unknown flag', argv: ['a', 'b', '--nope'], code: 'USAGE', message: 'Unknown argument: nope' },
    { name: 'bad output', argv: ['a', 'b', '-o', 'yaml'], code: 'USAGE', message: 'Invalid values' },
    { name: 'bad timeout', argv: ['a', 'b', '--timeout', 'soon'], code: 'USAGE', message: 'invalid --timeout "soon"' },
    { name: 'too short timeout', argv: ['a', 'b', '--timeout', '10ms'], code: 'USAGE', message: 'too short' },
    { name: 'bad namespace', argv: ['a', 'b', '-n', 'Bad_NS'], code: 'USAGE', message: 'invalid --namespace' },
    { name: 'service as source', argv: ['svc/web', 'b'], code: 'UNSUPPORTED_TARGET', message: 'a Service cannot be a source' },
    { name: 'bad destination syntax', argv: ['a', 'b:99999'], code: 'INVALID_TARGET', message: 'out of range' },
    { name: 'shell metacharacters never pass', argv: ['a', 'b;rm -rf /'], code: 'INVALID_TARGET', message: 'invalid destination' },
    { name: 'extra positional', argv: ['a', 'b', 'c'], code: 'USAGE', message: 'Unknown argument: c' },
  ])('rejects $name', async ({ argv, code, message }) => {
    await expect(parseCli(argv, pipe)).rejects.toMatchObject({ code, message: expect.stringContaining(message) });
  });
});
