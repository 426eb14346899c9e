/**
 * The prober's cleanup against a local HTTP server standing in for the API: a create whose answer never arrives (the
 * connection drops) may still have made the pod, so cleanup deletes it; a create the API refused leaves nothing to
 * delete. The server only records requests on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProber } from '../../src/kube/prober.ts';
import { buildFacts } from '../cli/fakes.ts';

let server: Server;
let kc: KubeConfig;
const seen: string[] = [];
/** What the fake API does with a pod create: drop the connection without an answer, or refuse it with 403. */
let onCreate: 'drop' | 'forbid' = 'drop';

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += String(c)));
    req.on('end', () => {
      const name = req.method === 'POST' ? (JSON.parse(body) as { metadata: { name: string } }).metadata.name : (req.url ?? '').split('/').pop()?.split('?')[0];
      seen.push(`${req.method ?? ''} ${name ?? ''}`);
      if (req.method === 'POST' && onCreate === 'drop') return void req.socket.destroy();
      const status = req.method === 'POST' ? 403 : 404;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: status, message: status === 403 ? 'forbidden' : 'not found' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('prober cleanup', () => {
  it.each([
    { name: 'a create whose answer was lost is deleted at cleanup', mode: 'drop' as const, deleted: true },
    { name: 'a create the API refused (403) is not', mode: 'forbid' as const, deleted: false },
  ])('$name', async ({ mode, deleted }) => {
    onCreate = mode;
    seen.length = 0;
    const prober = createProber(kc, buildFacts(), { image: 'netbox', runId: 'r', keep: false, timeoutMs: 2000 });
    const status = await prober.prepare([{ kind: 'node-pod', node: 'node-1', hostNetwork: true }]);
    expect([...status.values()][0]?.ready).toBe(false);
    await prober.cleanup();
    const created = seen.find((s) => s.startsWith('POST '))?.slice('POST '.length);
    expect(created).toMatch(/^netdebug-node-1-host-/);
    expect(seen.includes(`DELETE ${created ?? ''}`)).toBe(deleted);
  });
});
