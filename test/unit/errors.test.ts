import { describe, expect, it } from 'vitest';
import { describeError, NetdebugError } from '../../src/core/errors.ts';

describe('describeError', () => {
  it.each([
    { name: 'usage error', err: new NetdebugError('USAGE', 'reading flags: --timeout must be a duration', { hint: 'e.g. --timeout 2s' }), want: { code: 'USAGE', message: 'reading flags: --timeout must be a duration', hint: 'e.g. --timeout 2s', exitCode: 2 } },
    { name: 'target not found', err: new NetdebugError('TARGET_NOT_FOUND', 'looking up pod shop/wbe: not found', { hint: 'did you mean web?' }), want: { code: 'TARGET_NOT_FOUND', message: 'looking up pod shop/wbe: not found', hint: 'did you mean web?', exitCode: 2 } },
    { name: 'forbidden is could-not-diagnose', err: new NetdebugError('FORBIDDEN', 'listing networkpolicies in shop: forbidden'), want: { code: 'FORBIDDEN', message: 'listing networkpolicies in shop: forbidden', exitCode: 3 } },
    { name: 'api unreachable', err: new NetdebugError('API_UNREACHABLE', 'connecting to https://127.0.0.1:6443: ECONNREFUSED'), want: { code: 'API_UNREACHABLE', message: 'connecting to https://127.0.0.1:6443: ECONNREFUSED', exitCode: 3 } },
    { name: 'probe failed', err: new NetdebugError('PROBE_FAILED', 'adding the ephemeral container: 404'), want: { code: 'PROBE_FAILED', message: 'adding the ephemeral container: 404', exitCode: 3 } },
    { name: 'unknown Error', err: new TypeError('x is undefined'), want: { code: 'INTERNAL', message: 'unexpected error: x is undefined', hint: 'this is a bug in kubectl-netdebug; please report it with the command you ran', exitCode: 3 } },
    { name: 'thrown string', err: 'boom', want: { code: 'INTERNAL', message: 'unexpected error: boom', hint: 'this is a bug in kubectl-netdebug; please report it with the command you ran', exitCode: 3 } },
    { name: 'thrown object', err: { a: 1 }, want: { code: 'INTERNAL', message: 'unexpected error: {"a":1}', hint: 'this is a bug in kubectl-netdebug; please report it with the command you ran', exitCode: 3 } },
  ])('$name', ({ err, want }) => {
    expect(describeError(err)).toEqual(want);
  });

  it('keeps the cause', () => {
    const cause = new Error('inner');
    expect(new NetdebugError('API_ERROR', 'outer', { cause }).cause).toBe(cause);
  });
});
