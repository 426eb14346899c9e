/**
 * kubectl's connection flags that rewrite the kubeconfig: impersonation (--as, --as-group), CA file. Impersonation is
 * checked on the wire: a local HTTP(S) server records the header lines each request really carries (API calls, watches
 * and the WebSocket upgrade of exec), since the lab API server ignores impersonation.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CoreV1Api, Exec, Watch } from '@kubernetes/client-node';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig, type KubeFlags } from '../../src/kube/config.ts';
import { generateTls, type LabTls } from '../lab/api/tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'netdebug-kc-'));
const file = join(dir, 'config');
writeFileSync(
  file,
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: c1, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: "Zm9v"}}]',
    'users: [{name: u1, user: {token: t1}}, {name: u2, user: {token: t2, as: kate}}]',
    'contexts: [{name: ctx1, context: {cluster: c1, user: u1, namespace: shop}}, {name: ctx2, context: {cluster: c1, user: u2}}]',
    'current-context: ctx1',
  ].join('\n'),
);
const NO_KUBECONFIG = { KUBECONFIG: join(dir, 'absent') };

describe('connection flags', () => {
  it('--as impersonates a user and keeps the kubeconfig user\'s credentials', () => {
    const { kc, namespace } = loadKubeConfig({ kubeconfig: file, as: 'jane' });
    expect(kc.getCurrentUser()?.impersonateUser).toBe('jane');
    expect(kc.getCurrentUser()?.token).toBe('t1');
    expect(namespace).toBe('shop');
  });

  it('--certificate-authority replaces the cluster CA', () => {
    const { kc } = loadKubeConfig({ kubeconfig: file, certificateAuthority: '/etc/ca.pem' });
    expect(kc.getCurrentCluster()?.caFile).toBe('/etc/ca.pem');
    expect(kc.getCurrentCluster()?.caData).toBeUndefined();
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('--as-group without a user to impersonate is a usage error naming the user, as kubectl refuses it', () => {
    expect(() => loadKubeConfig({ kubeconfig: file, asGroups: ['admins'] })).toThrow(
      expect.objectContaining({ code: 'USAGE', message: '--as-group needs --as: requesting groups for user "u1" without impersonating a user' }),
    );
    expect(() => loadKubeConfig({ kubeconfig: file, token: 'x', asGroups: ['admins'] })).toThrow(/for user "u1" without impersonating/);
  });

  it('--as-group with the kubeconfig user\'s own `as` is accepted', () => {
    expect(() => loadKubeConfig({ kubeconfig: file, context: 'ctx2', asGroups: ['admins'] })).not.toThrow();
  });
});

/** A request as the server saw it: path and every header line in order. */
interface Seen {
  path: string;
  lines: [string, string][];
}

/** Every value of a header, one per line received (never split on commas). */
function header(seen: Seen | undefined, name: string): string[] {
  return (seen?.lines ?? []).filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}

function record(req: IncomingMessage, into: Seen[]): void {
  const lines: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) lines.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '']);
  into.push({ path: req.url ?? '', lines });
}

/** Answers every GET with an empty list, and refuses WebSocket upgrades after recording them. */
function fakeApi(server: Server, seen: Seen[]): Server {
  server.on('request', (req, res) => {
    record(req, seen);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: {}, items: [] }));
  });
  server.on('upgrade', (req, socket) => {
    record(req, seen);
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
  });
  return server;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('impersonation on the wire', () => {
  const seen: Seen[] = [];
  let http: Server;
  let https: Server;
  let tls: LabTls;
  let httpAddr: string;
  let httpsAddr: string;

  beforeAll(async () => {
    tls = await generateTls(join(dir, 'tls'));
    http = fakeApi(createHttpServer(), seen);
    https = fakeApi(createHttpsServer({ cert: tls.cert, key: tls.key }), seen);
    [httpAddr, httpsAddr] = await Promise.all([listen(http), listen(https)]);
  });
  afterEach(() => void (seen.length = 0));
  afterAll(() => {
    http?.close();
    https?.close();
  });

  /** Flags for the plain HTTP server with no kubeconfig at all (-s, --token, --insecure-skip-tls-verify). */
  const plain = (extra: KubeFlags): KubeFlags => ({ server: `http://${httpAddr}`, token: 'tok', insecureSkipTlsVerify: true, ...extra });
  const list = async (flags: KubeFlags): Promise<Seen | undefined> => {
    await loadKubeConfig(flags, NO_KUBECONFIG).kc.makeApiClient(CoreV1Api).listNamespace();
    return seen.at(-1);
  };

  it('an API request carries Impersonate-User and one Impersonate-Group line per group, as kubectl sends them', async () => {
    const req = await list(plain({ as: 'jane', asGroups: ['devs', 'ops,oncall'] }));
    expect(req?.path).toBe('/api/v1/namespaces');
    expect(header(req, 'Impersonate-User')).toEqual(['jane']);
    expect(header(req, 'Impersonate-Group')).toEqual(['devs', 'ops,oncall']);
    expect(header(req, 'Authorization')).toEqual(['Bearer tok']);
  });

  it('no impersonation headers without --as, and no groups with --as alone', async () => {
    const none = await list(plain({}));
    expect(header(none, 'Impersonate-User')).toEqual([]);
    expect(header(none, 'Impersonate-Group')).toEqual([]);
    const user = await list(plain({ as: 'jane' }));
    expect(header(user, 'Impersonate-User')).toEqual(['jane']);
    expect(header(user, 'Impersonate-Group')).toEqual([]);
  });

  it('a watch carries the groups too', async () => {
    const { kc } = loadKubeConfig(plain({ as: 'jane', asGroups: ['devs', 'ops'] }), NO_KUBECONFIG);
    await new Promise<void>((resolve, reject) => {
      void new Watch(kc).watch('/api/v1/pods', {}, () => {}, (err) => (err ? reject(err as Error) : resolve())).catch(reject);
    });
    expect(seen.at(-1)?.path).toMatch(/^\/api\/v1\/pods\?watch=true/);
    expect(header(seen.at(-1), 'Impersonate-Group')).toEqual(['devs', 'ops']);
  });

  it('the WebSocket upgrade of an exec carries the groups too', async () => {
    const { kc } = loadKubeConfig(plain({ as: 'jane', asGroups: ['devs', 'ops'] }), NO_KUBECONFIG);
    await expect(new Exec(kc).exec('default', 'client', 'c', ['true'], new PassThrough(), new PassThrough(), null, false)).rejects.toBeDefined();
    const up = seen.at(-1);
    expect(up?.path).toMatch(/^\/api\/v1\/namespaces\/default\/pods\/client\/exec/);
    expect(header(up, 'Impersonate-User')).toEqual(['jane']);
    expect(header(up, 'Impersonate-Group')).toEqual(['devs', 'ops']);
  });

  it('over HTTPS with the kubeconfig CA (client-node\'s own dispatcher)', async () => {
    const ca = join(dir, 'tls', 'ca.crt');
    const req = await list({ server: `https://${httpsAddr}`, certificateAuthority: ca, token: 'tok', as: 'jane', asGroups: ['devs', 'ops'] });
    expect(header(req, 'Impersonate-Group')).toEqual(['devs', 'ops']);
  });

  it('over HTTPS with no CA in the kubeconfig (fetch\'s global dispatcher is the one wrapped)', async () => {
    const before = getGlobalDispatcher();
    // The server's CA reaches only the global dispatcher: the request succeeds only through it.
    setGlobalDispatcher(new Agent({ connect: { ca: tls.caCert } }));
    try {
      const req = await list({ server: `https://${httpsAddr}`, token: 'tok', as: 'jane', asGroups: ['devs', 'ops'] });
      expect(header(req, 'Impersonate-Group')).toEqual(['devs', 'ops']);
    } finally {
      setGlobalDispatcher(before);
    }
  });
});
