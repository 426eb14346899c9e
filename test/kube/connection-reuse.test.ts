/**
 * One connection pool per kubeconfig: client-node builds a new undici Agent for every request and watch, which would
 * open a new TCP and TLS connection each time (against a remote control plane, a handshake per request). The requests
 * of one run share the first pool instead, so sequential requests reuse one TLS connection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig, type KubeFlags } from '../../src/kube/config.ts';
import { createKubeApi } from '../../src/kube/api.ts';
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

  it('each kubeconfig has its own pool (another cluster or user never gets these connections)', async () => {
    handshakes = 0;
    for (let i = 0; i < 2; i++) await loadKubeConfig(flags, NO_KUBECONFIG).kc.makeApiClient(CoreV1Api).listNamespace();
    expect(handshakes).toBe(2);
  });
});
