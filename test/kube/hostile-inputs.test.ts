/**
 * Bad inputs and hostile conditions, in process: duration limits (a huge --timeout must not overflow Node's timer into
 * an instant BROKEN), `completion` without a shell, control characters and passwords in what reaches a terminal, the
 * retry delays of 429/5xx, which debug pods count as expired, kubectl's TLS flag precedence (checked on the wire against
 * local HTTPS servers on 127.0.0.1) and a request aborted at its deadline.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runComplete } from '../../src/completion.ts';
import { MAX_PROBE_TIMEOUT_MS, MAX_REQUEST_TIMEOUT_MS, parseCli, parseDuration } from '../../src/cli.ts';
import { redactCredentials, sanitizeDeep, stripControl } from '../../src/core/sanitize.ts';
import { createKubeApi, DEFAULT_RETRY, redactUrl, retryDelayMs, USER_AGENT } from '../../src/kube/api.ts';
import { loadKubeConfig } from '../../src/kube/config.ts';
import { deleteCommands, isExpiredDebugPod } from '../../src/kube/prober.ts';
import { endpointsFromSlices } from '../../src/kube/cluster.ts';
import { generateTls, type LabTls } from '../lab/api/tls.ts';

const pipe = { stdoutIsTTY: false, ci: false };

describe('durations have a sane maximum', () => {
  it.each([
    { argv: ['a', 'b', '--timeout', '600h'], message: '--timeout 600h is too long: at most 5m' },
    { argv: ['a', 'b', '--timeout', '25d'], message: 'invalid --timeout "25d": expected a duration like 500ms, 2s or 1m' },
    { argv: ['a', 'b', '--request-timeout', '2h'], message: '--request-timeout 2h is too long: at most 1h' },
    { argv: ['a', 'b', '--request-timeout', '99999999'], message: '--request-timeout 99999999 is too long: at most 1h' },
  ])('$argv.2 $argv.3 → USAGE "$message"', async ({ argv, message }) => {
    await expect(parseCli(argv, pipe)).rejects.toMatchObject({ code: 'USAGE', message, exitCode: 2 });
  });

  it('the limits themselves are accepted and stay below the timer overflow (2^31-1 ms)', () => {
    expect(parseDuration('5m', '--timeout', MAX_PROBE_TIMEOUT_MS)).toBe(MAX_PROBE_TIMEOUT_MS);
    expect(parseDuration('1h', '--request-timeout', MAX_REQUEST_TIMEOUT_MS)).toBe(MAX_REQUEST_TIMEOUT_MS);
    expect(MAX_REQUEST_TIMEOUT_MS).toBeLessThan(2 ** 31 - 1);
  });

  it('--request-timeout 0 is kept (no timeout, as kubectl), unlike an absent flag', async () => {
    const c = await parseCli(['a', 'b', '--request-timeout', '0'], pipe);
    expect(c.kind === 'diagnose' && c.options.connection.requestTimeoutMs).toBe(0);
  });
});

describe('completion without a shell', () => {
  it('says which shells, not "expected SRC and DST"', async () => {
    await expect(parseCli(['completion'], pipe)).rejects.toMatchObject({ code: 'USAGE', message: 'completion needs a shell: bash, zsh, fish', hint: expect.stringContaining('completion bash') });
  });
});

describe('terminal hygiene', () => {
  it.each([
    { name: 'CSI colour and clear-screen', text: 'a\u001b[31mred\u001b[2Jb', out: 'aredb' },
    { name: 'OSC window title ended by BEL', text: 'x\u001b]0;pwned\u0007y', out: 'xy' },
    { name: 'OSC 8 hyperlink ended by ST', text: '\u001b]8;;http://evil\u001b\\link\u001b]8;;\u001b\\', out: 'link' },
    { name: '8-bit CSI', text: 'a\u009b1mb', out: 'ab' },
    { name: 'NUL, backspace, carriage return, DEL', text: 'a\u0000b\bc\rd\u007fe', out: 'abcde' },
    { name: 'tab and newline stay', text: 'a\tb\nc', out: 'a\tb\nc' },
  ])('strips $name', ({ text, out }) => expect(stripControl(text)).toBe(out));

  it('sanitizes every string of an event, keys too, without touching numbers', () => {
    expect(sanitizeDeep({ a: ['x\u001b[1my', 3], 'k\u0007': { b: true } })).toEqual({ a: ['xy', 3], k: { b: true } });
  });

  it('redacts a password in any URL of a message, and in the server URL', () => {
    expect(redactCredentials('could not reach https://admin:s3cr3t@10.0.0.1:6443 (x)')).toBe('could not reach https://admin:xxxxx@10.0.0.1:6443 (x)');
    expect(redactUrl('https://admin:s3cr3t@10.0.0.1:6443/')).toBe('https://admin:xxxxx@10.0.0.1:6443/');
    expect(redactUrl('https://10.0.0.1:6443')).toBe('https://10.0.0.1:6443');
  });
});

describe('retry delays', () => {
  const api = (code: number, headers: Record<string, string> = {}) => new ApiException(code, 'x', {}, headers);
  it.each([
    { name: '429 with Retry-After: 2 waits 2 s', err: api(429, { 'Retry-After': '2' }), n: 0, ms: 2000 },
    { name: '429 asking for an hour is capped at 5 s', err: api(429, { 'retry-after': '3600' }), n: 0, ms: 5000 },
    { name: '429 without Retry-After backs off', err: api(429), n: 1, ms: 400 },
    { name: '503 backs off exponentially', err: api(503), n: 2, ms: 800 },
    { name: '500 backoff is capped', err: api(500), n: 10, ms: 5000 },
    { name: '404 is not retried', err: api(404), n: 0, ms: undefined },
    { name: '403 is not retried', err: api(403), n: 0, ms: undefined },
    { name: 'a transport error is not retried', err: new TypeError('fetch failed'), n: 0, ms: undefined },
  ])('$name', ({ err, n, ms }) => expect(retryDelayMs(err, n, DEFAULT_RETRY)).toBe(ms));
});

describe('expired debug pods', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const pod = (startTime: string, phase = 'Running', deadline = 300): V1Pod => ({ spec: { containers: [], activeDeadlineSeconds: deadline }, status: { phase, startTime: new Date(startTime) } });
  it.each([
    { name: 'past its deadline', p: pod('2026-01-01T11:50:00Z'), expired: true },
    { name: 'within its deadline', p: pod('2026-01-01T11:58:00Z'), expired: false },
    { name: 'ended by the kubelet (Failed)', p: pod('2026-01-01T11:59:00Z', 'Failed'), expired: true },
  ])('$name → $expired', ({ p, expired }) => expect(isExpiredDebugPod(p, now)).toBe(expired));

  it('names the kubectl command per namespace for the pods left', () => {
    expect(
      deleteCommands(
        [
          { namespace: 'a', name: 'p1', reason: 'forbidden' },
          { namespace: 'b', name: 'p2', reason: 'forbidden' },
          { namespace: 'a', name: 'p3', reason: 'forbidden' },
        ],
        'prod',
      ),
    ).toEqual(['kubectl delete pod -n a p1 p3 --context prod', 'kubectl delete pod -n b p2 --context prod']);
  });
});

describe('FQDN EndpointSlices', () => {
  it('are left out of the endpoints (they name hosts, not IPs)', () => {
    const port = { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const };
    const slice = (addressType: string, address: string) => ({ addressType, endpoints: [{ addresses: [address] }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
    expect(endpointsFromSlices([slice('FQDN', 'db.example.com'), slice('IPv4', '10.0.0.1')], port).map((e) => e.ip)).toEqual(['10.0.0.1']);
  });
});

describe('TLS flags as kubectl reads them, on the wire', () => {
  let tls: LabTls;
  let https: Server;
  let addr: string;
  const dir = mkdtempSync(join(tmpdir(), 'netdebug-tls-'));
  const NO_KUBECONFIG = { KUBECONFIG: join(dir, 'absent') };

  beforeAll(async () => {
    tls = await generateTls(join(dir, 'tls'));
    https = createHttpsServer({ cert: tls.cert, key: tls.key }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] }));
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    addr = `127.0.0.1:${(https.address() as AddressInfo).port}`;
  });
  afterAll(() => void https?.close());

  const list = (kc: ReturnType<typeof loadKubeConfig>['kc']) => {
    const api = createKubeApi(kc, { requestTimeoutMs: 10_000 });
    return api.call({ verb: 'list', resource: 'namespaces' }, () => api.core.listNamespace());
  };
  /** A kubeconfig whose cluster says insecure-skip-tls-verify (and has no CA). */
  const insecureKubeconfig = (): string => {
    const file = join(dir, 'insecure');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: `https://${addr}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    return file;
  };

  it('--server with --insecure-skip-tls-verify and no user at all connects (the insecure flag is not dropped)', async () => {
    const { kc } = loadKubeConfig({ server: `https://${addr}`, insecureSkipTlsVerify: true }, NO_KUBECONFIG);
    await expect(list(kc)).resolves.toMatchObject({ items: [] });
  });

  it('--server without --insecure-skip-tls-verify and no CA is refused (the lab CA is not trusted)', async () => {
    const { kc } = loadKubeConfig({ server: `https://${addr}` }, NO_KUBECONFIG);
    await expect(list(kc)).rejects.toMatchObject({ code: 'API_UNREACHABLE', message: expect.stringMatching(/could not verify the API server/) });
  });

  it('--certificate-authority overrides the kubeconfig\'s insecure-skip-tls-verify: a wrong CA is refused', async () => {
    const other = await generateTls(join(dir, 'other'));
    const wrongCa = join(dir, 'other', 'ca.crt');
    expect(other.caCert).not.toEqual(tls.caCert);
    const { kc } = loadKubeConfig({ kubeconfig: insecureKubeconfig(), certificateAuthority: wrongCa });
    expect(kc.getCurrentCluster()?.skipTLSVerify).toBe(false);
    await expect(list(kc)).rejects.toMatchObject({ code: 'API_UNREACHABLE', message: expect.stringMatching(/could not verify the API server/) });
  });

  it('--certificate-authority with the right CA verifies over an insecure kubeconfig', async () => {
    const { kc } = loadKubeConfig({ kubeconfig: insecureKubeconfig(), certificateAuthority: join(dir, 'tls', 'ca.crt') });
    await expect(list(kc)).resolves.toMatchObject({ items: [] });
  });

  it('--certificate-authority together with --insecure-skip-tls-verify is refused, as kubectl does', () => {
    expect(() => loadKubeConfig({ server: `https://${addr}`, certificateAuthority: join(dir, 'tls', 'ca.crt'), insecureSkipTlsVerify: true }, NO_KUBECONFIG)).toThrow(
      expect.objectContaining({ code: 'USAGE', message: 'specifying a root certificates file with the insecure flag is not allowed' }),
    );
  });
});

describe('a request is aborted at its deadline, not abandoned', () => {
  let server: Server;
  let closed = 0;
  const agents: (string | undefined)[] = [];
  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      agents.push(req.headers['user-agent']);
      res.on('close', () => (closed += 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => void server.close());

  it('the server sees the connection closed at the deadline', async () => {
    const { kc } = loadKubeConfig({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, insecureSkipTlsVerify: true, token: 't' }, { KUBECONFIG: join(tmpdir(), 'netdebug-no-such-kubeconfig') });
    const api = createKubeApi(kc, { requestTimeoutMs: 300 });
    const t0 = Date.now();
    await expect(api.call({ verb: 'list', resource: 'namespaces' }, () => api.core.listNamespace())).rejects.toMatchObject({
      code: 'API_UNREACHABLE',
      message: expect.stringContaining('request timed out after 300 ms'),
    });
    expect(Date.now() - t0).toBeLessThan(5_000);
    await expect.poll(() => closed).toBe(1);
    // Named in the audit log as what it is (see SECURITY.md).
    expect(agents).toEqual([USER_AGENT]);
    expect(USER_AGENT).toMatch(/^kubectl-netdebug\/\d+\.\d+\.\d+/);
  });

  it('tab completion against a hanging API gives up at --request-timeout with the error directive', async () => {
    let out = '';
    const t0 = Date.now();
    const before = closed;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const code = await runComplete(['-s', url, '--insecure-skip-tls-verify', '--token', 't', '--request-timeout', '500ms', 'pod/'], { write: (s: string) => (out += s) }, { KUBECONFIG: join(tmpdir(), 'netdebug-no-such-kubeconfig') });
    expect(code).toBe(0);
    expect(out).toBe(':1\n');
    expect(Date.now() - t0).toBeLessThan(5_000);
    await expect.poll(() => closed).toBe(before + 1);
  });
});
