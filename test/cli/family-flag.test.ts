/** `--family IPv4|IPv6` on the command line, and IPv6 addresses as targets (in brackets, as in a URL). */
import { describe, expect, it } from 'vitest';
import { parseCli, parseFamily, type CliCommand } from '../../src/cli.ts';
import { formatTarget, parseTarget } from '../../src/core/target.ts';

const pipe = { stdoutIsTTY: false, ci: false };

async function options(argv: string[]) {
  const c: CliCommand = await parseCli(argv, pipe);
  if (c.kind !== 'diagnose') throw new Error(`expected diagnose, got ${c.kind}`);
  return c.options;
}

describe('--family', () => {
  it('IPv4 or IPv6, in any case or as 4 / 6; absent unless given', async () => {
    expect(await options(['a', 'b', '--family', 'IPv6'])).toMatchObject({ family: 'IPv6' });
    expect(await options(['a', 'b', '--family=ipv4'])).toMatchObject({ family: 'IPv4' });
    expect(await options(['a', 'b', '--family', '6'])).toMatchObject({ family: 'IPv6' });
    expect(await options(['a', 'b'])).not.toHaveProperty('family');
    expect(parseFamily(undefined)).toBeUndefined();
  });

  it.each(['IPv5', 'inet6', '', 'both'])('rejects --family %j with a usage error and a hint', async (value) => {
    await expect(parseCli(['a', 'b', '--family', value], pipe)).rejects.toMatchObject({
      code: 'USAGE',
      exitCode: 2,
      message: `invalid --family "${value}": IPv4 or IPv6`,
      hint: expect.stringContaining('--family IPv6'),
    });
  });

  it('--help explains it', async () => {
    const c = await parseCli(['--help'], pipe);
    // yargs wraps the text: read it with its line breaks and padding folded.
    const text = (c.kind === 'print' ? c.text : '').replace(/\s+/g, ' ');
    expect(text).toContain('--family address family to test: IPv4 or IPv6. Default: every family the destination has');
    expect(text).toContain('a family the destination lacks is a usage error');
  });
});

describe('IPv6 address targets', () => {
  it('[ADDRESS]:PORT and [ADDRESS] are address destinations', () => {
    expect(parseTarget('[fd00:10:96::1]:80', 'destination', 'default')).toEqual({ kind: 'address', host: 'fd00:10:96::1', isIP: true, port: { kind: 'number', number: 80 } });
    expect(parseTarget('[::ffff:10.0.0.1]', 'destination', 'default')).toEqual({ kind: 'address', host: '::ffff:10.0.0.1', isIP: true });
    expect(formatTarget({ kind: 'address', host: 'fd00::1', isIP: true, port: { kind: 'number', number: 8080 } })).toBe('[fd00::1]:8080');
  });

  it.each([
    { text: '[fd00::zz]:80', message: 'invalid destination "[fd00::zz]:80": "fd00::zz" is not a valid IPv6 address' },
    { text: '[10.0.0.1]:80', message: 'invalid destination "[10.0.0.1]:80": "10.0.0.1" is not a valid IPv6 address' },
    { text: '[fd00::1]80', message: 'invalid destination "[fd00::1]80": an IPv6 address in brackets is followed by nothing or by :PORT, e.g. [fd00::1]:8080' },
    { text: '[fd00::1]:0', message: 'invalid destination "[fd00::1]:0": port 0 is out of range 1-65535' },
  ])('rejects $text', ({ text, message }) => {
    expect(() => parseTarget(text, 'destination', 'default')).toThrow(expect.objectContaining({ code: 'INVALID_TARGET', message }));
  });

  it('an IPv6 address is no source; a bare one points at the bracket form', () => {
    expect(() => parseTarget('[fd00::1]', 'source', 'default')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_TARGET' }));
    expect(() => parseTarget('fd00::1', 'destination', 'default')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_TARGET', hint: 'write an IPv6 address in brackets, as in a URL: [fd00::1]:8080' }));
  });
});
