/**
 * One connection pool per kubeconfig: client-node builds a new undici Agent for every request and watch, which would
 * open a new TCP and TLS connection each time (against a remote control plane, a handshake per request). The requests
 * of one run share the first pool instead, so sequential requests reuse one TLS connection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureServer } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig, type KubeFlags } from '../../src/kube/config.ts';
import { createKubeApi } from '../../src/kube/api.ts';
import { createPreconnector } from '../../src/kube/preconnect.ts';
import { generateTls } from '../lab/api/tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'netdebug-reuse-'));
/** No kubeconfig file: the flags alone say where the server is. */
const NO_KUBECONFIG = { KUBECONFIG: join(dir, 'absent') };

describe('API connections', () => {
  let server: Server;
  let flags: KubeFlags;
  let handshakes = 0;
  const paths: string[] = [];

  beforeAll(async () => {
    const tls = await generateTls(join(dir, 'tls'));
    server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: {}, items: [] }));
    });
    server.on('secureConnection', () => void (handshakes += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    flags = { server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, certificateAuthority: tls.files.caCert, token: 'tok' };
  });
  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sequential requests of one kubeconfig reuse their TLS connection', async () => {
    handshakes = 0;
    const { kc } = loadKubeConfig(flags, NO_KUBECONFIG);
    const api = createKubeApi(kc);
    const after: number[] = [];
    for (let i = 0; i < 6; i++) {
      await api.call({ verb: 'list', resource: 'namespaces' }, () => api.core.listNamespace());
      after.push(handshakes);
    }
    expect(paths.filter((p) => p.startsWith('/api/v1/namespaces')).length).toBeGreaterThanOrEqual(6);
    // undici may replace the very first connection once; from then on every request rides the same one (one
    // handshake per request without the shared pool).
    expect(after[5]).toBeLessThanOrEqual(2);
    expect(after[5]).toBe(after[2]);
  });

  it('concurrent requests open at most one connection each, and a second client of the same kubeconfig shares them', async () => {
    handshakes = 0;
    const { kc } = loadKubeConfig(flags, NO_KUBECONFIG);
    const one = createKubeApi(kc);
    await Promise.all([1, 2, 3].map(() => one.call({ verb: 'list', resource: 'namespaces' }, () => one.core.listNamespace())));
    const afterConcurrent = handshakes;
    expect(afterConcurrent).toBeLessThanOrEqual(3);
    await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(handshakes).toBe(afterConcurrent);
  });

  it('the pool takes the API connection opened ahead (main.ts) instead of opening one, waiting for its handshake', async () => {
    // An HTTP/2 server, as kube-apiserver (and the lab's) is: every request then rides the one connection.
    const tls = await generateTls(join(dir, 'h2-tls'));
    let h2handshakes = 0;
    const h2 = createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: {}, items: [] }));
    });
    h2.on('secureConnection', () => void (h2handshakes += 1));
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    const { kc } = loadKubeConfig({ server: `https://127.0.0.1:${(h2.address() as AddressInfo).port}`, certificateAuthority: tls.files.caCert, token: 'tok' }, NO_KUBECONFIG);
    const pre = createPreconnector(kc, { connectTimeoutMs: 10_000 });
    const taken: boolean[] = [];
    kc.apiConnection = (host, port) => {
      const ahead = pre.takeApi(host, port);
      taken.push(ahead !== undefined);
      return ahead;
    };
    try {
      pre.openApi();
      const api = createKubeApi(kc);
      await Promise.all([1, 2, 3].map(() => api.call({ verb: 'list', resource: 'namespaces' }, () => api.core.listNamespace())));
      for (let i = 0; i < 3; i++) await api.call({ verb: 'list', resource: 'namespaces' }, () => api.core.listNamespace());
      // The pool's one connection was the one opened ahead; no other was opened.
      expect(taken).toEqual([true]);
      expect(h2handshakes).toBe(1);
    } finally {
      pre.closeAll();
      await new Promise<void>((resolve) => h2.close(() => resolve()));
    }
  });

  it('an API connection opened ahead that fails its handshake fails the request as a connection of its own would', async () => {
    const other = await generateTls(join(dir, 'other-tls'));
    const { kc } = loadKubeConfig({ ...flags, certificateAuthority: other.files.caCert }, NO_KUBECONFIG);
    const pre = createPreconnector(kc, { connectTimeoutMs: 10_000 });
    let takes = 0;
    kc.apiConnection = (host, port) => {
      const ahead = pre.takeApi(host, port);
      if (ahead) takes += 1;
      return ahead;
    };
    const plain = loadKubeConfig({ ...flags, certificateAuthority: other.files.caCert }, NO_KUBECONFIG).kc;
    try {
      pre.openApi();
      const failure = (k: typeof kc) => createKubeApi(k).core.listNamespace().then(() => 'answered', (e: Error) => String(e.message));
      const [ahead, direct] = [await failure(kc), await failure(plain)];
      expect(takes).toBe(1);
      expect(ahead).not.toBe('answered');
      // The same error (the server's certificate is not signed by that CA) either way.
      expect(ahead.replace(/\d+/g, 'N')).toBe(direct.replace(/\d+/g, 'N'));
    } finally {
      pre.closeAll();
    }
  });

  it('each kubeconfig has its own pool (another cluster or user never gets these connections)', async () => {
    handshakes = 0;
    for (let i = 0; i < 2; i++) await loadKubeConfig(flags, NO_KUBECONFIG).kc.makeApiClient(CoreV1Api).listNamespace();
    expect(handshakes).toBe(2);
  });
});
