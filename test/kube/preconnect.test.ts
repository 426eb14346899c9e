/**
 * Connections opened ahead for exec (src/kube/preconnect.ts), against the lab's API server (TLS with its own CA, a
 * control plane 30 ms away, so each new connection costs two round trips before its handshake is answered): the
 * connection is handed over only once its handshake is done, the exec's upgrade then runs on it (and verifies the server
 * as client-node would), and what is not taken is closed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Exec, KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeKubelet } from '../lab/api/fake-kubelet.ts';
import { startApiServer, type ApiServerHandle } from '../lab/api/server.ts';
import { ObjectStore } from '../lab/api/store.ts';
import { generateTls, type LabTls } from '../lab/api/tls.ts';
import { createPreconnector, MAX_IDLE_MS } from '../../src/kube/preconnect.ts';

const TOKEN = 'preconnect-test-token';
const LATENCY = 30;
let dir: string;
let tls: LabTls;
let server: ApiServerHandle;

function kubeconfig(serverUrl: string, ca: string, extra: { proxyUrl?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'lab', server: serverUrl, caData: Buffer.from(ca).toString('base64'), ...extra }],
    users: [{ name: 'lab', token: TOKEN }],
    contexts: [{ name: 'lab', cluster: 'lab', user: 'lab' }],
    currentContext: 'lab',
  });
  return kc;
}

/** Asks `take` for a connection for `ms`: what it handed over, or undefined (a connection refused never is). */
async function takeWithin<T>(take: () => T | undefined, ms: number): Promise<T | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const got = take();
    if (got !== undefined || Date.now() > until) return got;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits (bounded) until `take` hands a connection over. */
async function takeWhenReady<T>(take: () => T | undefined, boundMs = 20_000): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const got = take();
    if (got !== undefined) return got;
    if (Date.now() > until) throw new Error('no connection was handed over');
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netdebug-preconnect-'));
  tls = await generateTls(join(dir, 'tls'));
  const store = new ObjectStore();
  store.create('namespaces', { metadata: { name: 'default' } });
  store.create('pods', {
    metadata: { name: 'web', namespace: 'default' },
    spec: { nodeName: 'node-1', containers: [{ name: 'netdebug', image: 'netbox' }] },
    status: { phase: 'Running', podIP: '10.244.1.5', containerStatuses: [{ name: 'netdebug', ready: true, restartCount: 0, state: { running: {} } }] },
  });
  server = await startApiServer({ store, kubelet: createFakeKubelet(), token: TOKEN, tls, rbacDeny: [], apiLatencyMs: LATENCY });
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('connections opened ahead for exec', () => {
  it('hands the connection over once its handshake is done, and the exec upgrade runs on it', async () => {
    const kc = kubeconfig(server.url, tls.caCert);
    const pre = createPreconnector(kc, { connectTimeoutMs: 10_000 });
    try {
      pre.open('default', 'web', 'netdebug');
      // The handshake waits two round trips: not handed over before that.
      expect(pre.take('default', 'web', 'netdebug')).toBeUndefined();
      const socket = await takeWhenReady(() => pre.take('default', 'web', 'netdebug'));
      expect(socket.destroyed).toBe(false);
      // Taken once: the next exec into the container connects by itself.
      expect(pre.take('default', 'web', 'netdebug')).toBeUndefined();
      const read = socket.bytesRead;
      let out = '';
      const exec = new Exec(kc);
      const handler = (exec as unknown as { handler: { socketFactory?: (uri: string, protocols: string[], o: WebSocket.ClientOptions) => WebSocket } }).handler;
      handler.socketFactory = (uri, protocols, o) => new WebSocket(uri, protocols, { ...o, agent: undefined, createConnection: () => socket });
      const status = await new Promise<string>((resolve, reject) => {
        exec
          .exec('default', 'web', 'netdebug', ['echo', 'over the early connection'], new Writable({ write: (c: Buffer, _e, cb) => void ((out += c.toString()), cb()) }), new PassThrough(), null, false, (s) => resolve(String(s.status)))
          .catch(reject);
      });
      expect(status).toBe('Success');
      expect(out).toBe('over the early connection\n');
      expect(socket.bytesRead).toBeGreaterThan(read);
    } finally {
      pre.closeAll();
    }
  });

  it('closes a connection that waited longer than the API server keeps one idle, instead of handing it over', async () => {
    // kube-apiserver closes a connection without a first request after 32 s (ReadHeaderTimeout).
    expect(MAX_IDLE_MS).toBeLessThan(32_000);
    const pre = createPreconnector(kubeconfig(server.url, tls.caCert), { connectTimeoutMs: 10_000 });
    const stale = createPreconnector(kubeconfig(server.url, tls.caCert), { connectTimeoutMs: 10_000, maxIdleMs: -1 });
    try {
      pre.open('default', 'web', 'netdebug');
      stale.open('default', 'web', 'netdebug');
      const fresh = await takeWhenReady(() => pre.take('default', 'web', 'netdebug'));
      expect(fresh.destroyed).toBe(false);
      fresh.destroy();
      // Whatever it waited, a connection past its bound (here: any) is never handed over.
      expect(await takeWithin(() => stale.take('default', 'web', 'netdebug'), 1_000)).toBeUndefined();
    } finally {
      pre.closeAll();
      stale.closeAll();
    }
  });

  it('verifies the server as the exec would: a CA that did not sign it gives no connection', async () => {
    const other = await generateTls(join(dir, 'other-tls'));
    const pre = createPreconnector(kubeconfig(server.url, other.caCert), { connectTimeoutMs: 10_000 });
    try {
      pre.open('default', 'web', 'netdebug');
      // With the right CA it is there after two round trips; with this one it never is.
      expect(await takeWithin(() => pre.take('default', 'web', 'netdebug'), 2_000)).toBeUndefined();
    } finally {
      pre.closeAll();
    }
  });

  it('settled: at once for a container nothing was opened for, after the handshake for one on its way, and for one that failed', async () => {
    const pre = createPreconnector(kubeconfig(server.url, tls.caCert), { connectTimeoutMs: 10_000 });
    const other = await generateTls(join(dir, 'settled-tls'));
    const refused = createPreconnector(kubeconfig(server.url, other.caCert), { connectTimeoutMs: 10_000 });
    try {
      // Nothing opened: nothing to wait for.
      let done = false;
      await pre.settled('default', 'web', 'none').then(() => (done = true));
      expect(done).toBe(true);
      // On its way (two round trips of the server's latency): settled only once it can be taken.
      pre.open('default', 'web', 'netdebug');
      expect(pre.take('default', 'web', 'netdebug')).toBeUndefined();
      await pre.settled('default', 'web', 'netdebug');
      const socket = pre.take('default', 'web', 'netdebug');
      expect(socket?.destroyed).toBe(false);
      socket?.destroy();
      // A connection that fails settles too (the exec then connects by itself), without rejecting.
      refused.open('default', 'web', 'netdebug');
      await refused.settled('default', 'web', 'netdebug');
      expect(refused.take('default', 'web', 'netdebug')).toBeUndefined();
      // closeAll settles what is still on its way.
      pre.open('default', 'web', 'late');
      const waiting = pre.settled('default', 'web', 'late');
      pre.closeAll();
      await waiting;
      expect(pre.take('default', 'web', 'late')).toBeUndefined();
    } finally {
      pre.closeAll();
      refused.closeAll();
    }
  });

  it('the spare serves the first exec into a container nothing was opened for, once; a container with its own waits for that', async () => {
    const pre = createPreconnector(kubeconfig(server.url, tls.caCert), { connectTimeoutMs: 10_000 });
    try {
      pre.openSpare();
      pre.open('default', 'web', 'own');
      await pre.settled('default', 'web', 'reused');
      const spare = pre.take('default', 'web', 'reused');
      expect(spare?.destroyed).toBe(false);
      spare?.destroy();
      // Taken: nothing more for a container without its own.
      expect(pre.take('default', 'web', 'other')).toBeUndefined();
      await pre.settled('default', 'web', 'own');
      const own = pre.take('default', 'web', 'own');
      expect(own?.destroyed).toBe(false);
      own?.destroy();
    } finally {
      pre.closeAll();
    }
  });

  it('an exec waiting for its connection keeps the process alive; a connection nobody waits for does not', async () => {
    // A process whose only work left is that wait, as a run's can be (every other request done): it must wait, not end.
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    const options = {
      clusters: [{ name: 'lab', server: server.url, caData: Buffer.from(tls.caCert).toString('base64') }],
      users: [{ name: 'lab', token: TOKEN }],
      contexts: [{ name: 'lab', cluster: 'lab', user: 'lab' }],
      currentContext: 'lab',
    };
    const child = (waits: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const script = [
          "import { KubeConfig } from '@kubernetes/client-node';",
          `import { createPreconnector } from ${JSON.stringify(join(repo, 'src/kube/preconnect.ts'))};`,
          'const kc = new KubeConfig();',
          'kc.loadFromOptions(JSON.parse(process.env.NETDEBUG_TEST_KC));',
          'const pre = createPreconnector(kc, { connectTimeoutMs: 10000 });',
          "pre.open('default', 'web', 'netdebug');",
          waits ? "await pre.settled('default', 'web', 'netdebug'); const s = pre.take('default', 'web', 'netdebug'); console.log(s ? 'taken' : 'none'); s?.destroy(); pre.closeAll();" : "console.log('opened');",
        ].join('\n');
        execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, env: { ...process.env, NETDEBUG_TEST_KC: JSON.stringify(options) }, timeout: 30_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout: String(stdout), stderr: String(stderr) }),
        );
      });
    const waiting = await child(true);
    expect({ code: waiting.code, stdout: waiting.stdout }, waiting.stderr).toEqual({ code: 0, stdout: 'taken\n' });
    // Nobody waits: the connection on its way does not hold the process (it ends at once, its handshake unfinished).
    const idle = await child(false);
    expect({ code: idle.code, stdout: idle.stdout }, idle.stderr).toEqual({ code: 0, stdout: 'opened\n' });
  });

  it('settled is bounded by the connection timeout even when the server never answers the handshake', async () => {
    // A listener that accepts and never answers: the TLS handshake hangs.
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const pre = createPreconnector(kubeconfig(`https://127.0.0.1:${port}`, tls.caCert), { connectTimeoutMs: 300 });
    try {
      pre.open('default', 'web', 'netdebug');
      await pre.settled('default', 'web', 'netdebug');
      expect(pre.take('default', 'web', 'netdebug')).toBeUndefined();
    } finally {
      pre.closeAll();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('the API connection: offered h2 and http/1.1 as undici offers them, handed over once, handshaking or done, for its own host and port only', async () => {
    const pre = createPreconnector(kubeconfig(server.url, tls.caCert), { connectTimeoutMs: 10_000 });
    try {
      const url = new URL(server.url);
      expect(pre.takeApi(url.hostname, Number(url.port))).toBeUndefined();
      pre.openApi();
      // applyToHTTPSOptions (the credential) comes first: then the socket exists, its handshake two round trips away.
      const ahead = await takeWhenReady(() => pre.takeApi(url.hostname, Number(url.port)), 5_000);
      expect(ahead.connected).toBe(false);
      expect(pre.takeApi(url.hostname, Number(url.port))).toBeUndefined();
      await new Promise<void>((resolve, reject) => {
        ahead.socket.once('secureConnect', () => resolve());
        ahead.socket.once('error', reject);
      });
      // The lab's API server, like kube-apiserver, picks HTTP/2 when offered it.
      expect(ahead.socket.alpnProtocol).toBe('h2');
      ahead.socket.destroy();

      // Only for the API server's host and port.
      const other = createPreconnector(kubeconfig(server.url, tls.caCert), { connectTimeoutMs: 10_000 });
      other.openApi();
      expect(await takeWithin(() => other.takeApi('127.0.0.2', Number(url.port)) ?? other.takeApi(url.hostname, Number(url.port) + 1), 500)).toBeUndefined();
      other.closeAll();
    } finally {
      pre.closeAll();
    }
  });

  it('the API connection is handed over as connected once its handshake is done', async () => {
    // A TLS server of the test's own, so the test knows when the handshake is done: in TLS 1.3 the client finishes first.
    const done: TLSSocket[] = [];
    let handshook: () => void = () => undefined;
    const handshake = new Promise<void>((resolve) => (handshook = resolve));
    const plain = createTlsServer({ cert: tls.cert, key: tls.key, ALPNProtocols: ['h2', 'http/1.1'] }, (socket) => {
      done.push(socket);
      handshook();
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const port = (plain.address() as AddressInfo).port;
    const pre = createPreconnector(kubeconfig(`https://127.0.0.1:${port}`, tls.caCert), { connectTimeoutMs: 10_000 });
    try {
      pre.openApi();
      await handshake;
      const ahead = pre.takeApi('127.0.0.1', port);
      expect(ahead?.connected).toBe(true);
      expect(ahead?.socket.alpnProtocol).toBe('h2');
      ahead?.socket.destroy();
    } finally {
      pre.closeAll();
      for (const d of done) d.destroy();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  it('closes what was not taken, and opens nothing behind a proxy or over plain HTTP', async () => {
    const pre = createPreconnector(kubeconfig(server.url, tls.caCert), { connectTimeoutMs: 10_000 });
    pre.open('default', 'web', 'netdebug');
    pre.open('default', 'web', 'other');
    const socket = await takeWhenReady(() => pre.take('default', 'web', 'other'));
    socket.destroy();
    pre.closeAll();
    expect(pre.take('default', 'web', 'netdebug')).toBeUndefined();
    for (const kc of [kubeconfig(server.url, tls.caCert, { proxyUrl: 'http://127.0.0.1:9' }), kubeconfig(server.url.replace('https:', 'http:'), tls.caCert)]) {
      const none = createPreconnector(kc, { connectTimeoutMs: 10_000 });
      none.open('default', 'web', 'netdebug');
      expect(await takeWithin(() => none.take('default', 'web', 'netdebug'), 1_000)).toBeUndefined();
      none.closeAll();
    }
  });
});
