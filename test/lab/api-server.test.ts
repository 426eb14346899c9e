import { spawn } from 'node:child_process';
import { connect as connectH2 } from 'node:http2';
import { request } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import WebSocket from 'ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFakeKubelet } from './api/fake-kubelet.ts';
import { writeKubeconfig } from './api/kubeconfig.ts';
import { delay, startApiServer, type ApiServerHandle } from './api/server.ts';
import { ObjectStore, type KubeObject } from './api/store.ts';
import { generateTls, type LabTls } from './api/tls.ts';

const TOKEN = 'lab-token-test';
const KUBECTL = '/usr/bin/kubectl';

let dir: string;
let tls: LabTls;
let store: ObjectStore;
let kubelet: ReturnType<typeof createFakeKubelet>;
let server: ApiServerHandle;
let kubeconfig: string;
let badKubeconfig: string;
let stopHarness: () => void;

function makePod(name: string, namespace: string, node: string, ip: string, labels: Record<string, string> = {}): KubeObject {
  return {
    metadata: { name, namespace, labels },
    spec: { nodeName: node, containers: [{ name: 'app', image: 'netbox' }] },
    status: { phase: 'Running', podIP: ip, containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: {} } }] },
  };
}

function seed(s: ObjectStore): void {
  s.create('namespaces', { metadata: { name: 'default' } });
  s.create('namespaces', { metadata: { name: 'shop', labels: { team: 'shop' } } });
  s.create('namespaces', { metadata: { name: 'locked' } });
  s.create('namespaces', { metadata: { name: 'guarded', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } });
  for (const [i, name] of ['node-1', 'node-2'].entries()) {
    s.create('nodes', {
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      spec: { podCIDR: `10.244.${i + 1}.0/24` },
      status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: `172.31.0.${11 + i}` }], nodeInfo: { kubeletVersion: 'v1.32.0-lab' } },
    });
  }
  s.create('pods', makePod('web', 'default', 'node-1', '10.244.1.5', { app: 'web' }));
  s.create('pods', makePod('locked-pod', 'locked', 'node-1', '10.244.1.9'));
  s.create('pods', makePod('guarded-pod', 'guarded', 'node-2', '10.244.2.9'));
  for (let i = 1; i <= 5; i++) s.create('pods', makePod(`shop-${i}`, 'shop', 'node-2', `10.244.2.${10 + i}`, { app: 'shop' }));
  s.create('services', {
    metadata: { name: 'web', namespace: 'shop' },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.20', selector: { app: 'shop' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  });
  s.create('endpointslices', {
    metadata: { name: 'web-abcde', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.244.2.11'], conditions: { ready: true } }],
  });
}

/** Marks every new ephemeral container running, as the lab's kubelet does. */
function startEphemeralHarness(s: ObjectStore): () => void {
  return s.watch('pods', undefined, s.resourceVersion, (event) => {
    if (event.type === 'DELETED') return;
    const spec = event.object['spec'] as { ephemeralContainers?: { name: string }[] };
    const status = (event.object['status'] ?? {}) as { ephemeralContainerStatuses?: { name: string }[] };
    const missing = (spec.ephemeralContainers ?? []).filter((ec) => !(status.ephemeralContainerStatuses ?? []).some((st) => st.name === ec.name));
    if (missing.length === 0) return;
    s.mutate('pods', event.object.metadata.namespace, event.object.metadata.name ?? '', (pod) => {
      const st = (pod['status'] ?? {}) as Record<string, unknown>;
      const list = (st['ephemeralContainerStatuses'] ?? []) as unknown[];
      st['ephemeralContainerStatuses'] = [
        ...list,
        ...missing.map((ec) => ({ name: ec.name, ready: false, restartCount: 0, image: 'netbox', state: { running: { startedAt: new Date().toISOString() } } })),
      ];
      pod['status'] = st;
    });
  });
}

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

function call(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; token?: string } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      `${server.url}${path}`,
      {
        method,
        ca: tls.caCert,
        headers: {
          Authorization: `Bearer ${opts.token ?? TOKEN}`,
          'Content-Type': 'application/json',
          // Node sends a DELETE body without framing unless told its length
          ...(body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens an exec WebSocket to default/web with the given query (command=…&stdout=…) offering these subprotocols. */
function openExec(query: string, protocols: string[]): WebSocket {
  return new WebSocket(`${server.url.replace('https', 'wss')}/api/v1/namespaces/default/pods/web/exec?${query}`, protocols, {
    ca: tls.caCert,
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
}

interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs real kubectl with its own cache dir; kills it (by its own PID) after timeoutMs. */
async function kubectl(args: string[], opts: { config?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  const cacheDir = await mkdtemp(join(dir, 'cache-'));
  return new Promise((resolve) => {
    const child = spawn(KUBECTL, ['--cache-dir', cacheDir, ...args], { env: { ...process.env, KUBECONFIG: opts.config ?? kubeconfig, HOME: dir } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netdebug-api-test-'));
  tls = await generateTls(join(dir, 'tls'));
  store = new ObjectStore();
  seed(store);
  stopHarness = startEphemeralHarness(store);
  kubelet = createFakeKubelet((ns, pod) => `hello from ${ns}/${pod}\n`);
  server = await startApiServer({
    store,
    kubelet,
    token: TOKEN,
    tls,
    rbacDeny: [
      { verb: 'list', resource: 'pods', namespace: 'locked' },
      { verb: 'get', resource: 'pods', subresource: 'exec', namespace: 'locked' },
    ],
  });
  kubeconfig = join(dir, 'kubeconfig');
  badKubeconfig = join(dir, 'bad-kubeconfig');
  await writeKubeconfig(kubeconfig, { server: server.url, caCert: tls.caCert, token: TOKEN, contextName: 'lab' });
  await writeKubeconfig(badKubeconfig, { server: server.url, caCert: tls.caCert, token: 'wrong', contextName: 'lab' });
});

afterAll(async () => {
  stopHarness?.();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('real kubectl 1.32 against the lab API server', () => {
  it('get pods -A -o wide shows IP and NODE columns', async () => {
    const r = await kubectl(['get', 'pods', '-A', '-o', 'wide']);
    expect(r.stderr).toBe('');
    const [header = '', ...rows] = r.stdout.trim().split('\n');
    expect(header.split(/\s{2,}/)).toEqual(['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    expect(rows.find((l) => l.startsWith('default'))?.split(/\s+/)).toEqual(['default', 'web', '1/1', 'Running', '0', expect.stringMatching(/^\d+s$/), '10.244.1.5', 'node-1', '<none>', '<none>']);
    expect(rows).toHaveLength(8);
  });

  it('get svc,endpointslices -n shop prints both tables', async () => {
    const r = await kubectl(['get', 'svc,endpointslices', '-n', 'shop']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE/);
    expect(r.stdout).toMatch(/service\/web\s+ClusterIP\s+10\.96\.0\.20\s+<none>\s+80\/TCP/);
    expect(r.stdout).toMatch(/NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE/);
    expect(r.stdout).toMatch(/endpointslice\.discovery\.k8s\.io\/web-abcde\s+IPv4\s+8080\s+10\.244\.2\.11/);
  });

  it('short names come from discovery: kubectl get no,ns', async () => {
    const r = await kubectl(['get', 'no,ns']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/node\/node-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0-lab/);
    expect(r.stdout).toMatch(/namespace\/guarded\s+Active/);
  });

  it('exec prints stdout and exits with the command exit code', async () => {
    const r = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 3']);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toContain('oops');
    expect(r.code).toBe(3);
  });

  it('debug --profile=netadmin adds a running ephemeral container that exec -c reaches', async () => {
    const debug = await kubectl(['debug', 'web', '--image=netbox', '--profile=netadmin', '--container=probe', '--', 'sleep', '60']);
    expect(debug.stderr).toBe('');
    expect(debug.code).toBe(0);
    const pod = store.mustGet('pods', 'default', 'web');
    const ec = (pod['spec'] as { ephemeralContainers: { name: string; securityContext: unknown }[] }).ephemeralContainers;
    expect(ec).toEqual([expect.objectContaining({ name: 'probe', securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } } })]);
    const exec = await kubectl(['exec', 'web', '-c', 'probe', '--', 'true']);
    expect(exec.stderr).toBe('');
    expect(exec.code).toBe(0);
    expect(kubelet.execs.at(-1)).toMatchObject({ pod: 'web', container: 'probe', command: ['true'] });
  });

  it('exec into a container that does not exist fails with the apiserver error', async () => {
    const r = await kubectl(['exec', 'web', '-c', 'nope', '--', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('container nope is not valid for pod web');
  });

  it('a wrong token is refused as Unauthorized', async () => {
    // kubectl 1.32 words a 401 during discovery like this against a real apiserver too
    const r = await kubectl(['get', 'pods'], { config: badKubeconfig });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('error: You must be logged in to the server (the server has asked for the client to provide credentials)');
    const raw = await kubectl(['get', '--raw', '/api/v1/pods'], { config: badKubeconfig });
    expect(raw.code).not.toBe(0);
    expect(raw.stderr).toMatch(/Unauthorized/);
  });

  it('an RBAC deny answers Forbidden with the real message', async () => {
    const list = await kubectl(['get', 'pods', '-n', 'locked']);
    expect(list.code).not.toBe(0);
    expect(list.stderr).toContain('pods is forbidden: User "lab-user" cannot list resource "pods" in API group "" in the namespace "locked"');
    const exec = await kubectl(['exec', '-n', 'locked', 'locked-pod', '--', 'true']);
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toContain('pods "locked-pod" is forbidden: User "lab-user" cannot get resource "pods/exec" in API group "" in the namespace "locked"');
  });

  it('paginates with --chunk-size=2', async () => {
    await call('DELETE', '/lab/v1/requests');
    const r = await kubectl(['get', 'pods', '-n', 'shop', '--chunk-size=2', '-o', 'name']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['pod/shop-1', 'pod/shop-2', 'pod/shop-3', 'pod/shop-4', 'pod/shop-5']);
    expect(server.requestCounts()['list pods']).toBe(3);
  });

  it('get pods -w receives a change', async () => {
    const cacheDir = await mkdtemp(join(dir, 'cache-'));
    const child = spawn(KUBECTL, ['--cache-dir', cacheDir, 'get', 'pods', '-n', 'shop', '-w'], { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir } });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('shop-5') && !out.includes('shop-new')) {
            if (!store.get('pods', 'shop', 'shop-new')) store.create('pods', { ...makePod('shop-new', 'shop', 'node-2', '10.244.2.99'), status: { phase: 'Pending' } });
          }
          if (/shop-new\s+0\/1\s+Pending/.test(out)) resolve();
        });
        child.on('close', () => reject(new Error(`kubectl -w ended early: ${out}`)));
      });
    } finally {
      clearTimeout(timer);
      child.kill('SIGKILL');
    }
    expect(out.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
  });

  it('delete pod deletes at once, and deleting a namespace removes what it held', async () => {
    store.create('pods', makePod('doomed', 'shop', 'node-2', '10.244.2.98'));
    const r = await kubectl(['delete', 'pod', 'doomed', '-n', 'shop']);
    expect(r.stdout).toBe('pod "doomed" deleted\n');
    expect(store.get('pods', 'shop', 'doomed')).toBeUndefined();
    store.create('namespaces', { metadata: { name: 'temp' } });
    store.create('pods', makePod('inside', 'temp', 'node-2', '10.244.2.97'));
    const ns = await kubectl(['delete', 'namespace', 'temp', '--wait=false']);
    expect(ns.stdout).toBe('namespace "temp" deleted\n');
    expect(store.get('pods', 'temp', 'inside')).toBeUndefined();
  });

  it('DELETE on the pods collection deletes exactly what the selector matches and lists it', async () => {
    store.create('pods', makePod('run-a-1', 'shop', 'node-2', '10.244.2.91', { run: 'a' }));
    store.create('pods', makePod('run-a-2', 'shop', 'node-2', '10.244.2.92', { run: 'a' }));
    store.create('pods', makePod('run-b-1', 'shop', 'node-2', '10.244.2.93', { run: 'b' }));
    const r = await call('DELETE', '/api/v1/namespaces/shop/pods?labelSelector=run%3Da');
    expect(r.status, r.text).toBe(200);
    const body = r.json() as { kind: string; items: { metadata: { name: string } }[] };
    expect(body.kind).toBe('PodList');
    expect(body.items.map((p) => p.metadata.name).sort()).toEqual(['run-a-1', 'run-a-2']);
    expect(store.get('pods', 'shop', 'run-a-1')).toBeUndefined();
    expect(store.get('pods', 'shop', 'run-a-2')).toBeUndefined();
    expect(store.get('pods', 'shop', 'run-b-1')).toBeDefined();
    store.delete('pods', 'shop', 'run-b-1');
  });

  it('logs come back as text', async () => {
    const r = await kubectl(['logs', 'web']);
    expect(r.stdout).toBe('hello from default/web\n');
  });
});

describe('@kubernetes/client-node against the lab API server', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  beforeAll(() => {
    kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });

  it('lists with a label selector and reads a pod', async () => {
    const list = await core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=shop', fieldSelector: 'spec.nodeName=node-2' });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['shop-1', 'shop-2', 'shop-3', 'shop-4', 'shop-5']);
    const all = await core.listPodForAllNamespaces({ fieldSelector: 'metadata.name=web' });
    expect(all.items.map((p) => p.status?.podIP)).toEqual(['10.244.1.5']);
    const pod = await core.readNamespacedPod({ name: 'web', namespace: 'default' });
    expect(pod.spec?.nodeName).toBe('node-1');
  });

  it('Watch delivers changes after the list resourceVersion', async () => {
    const list = await core.listNamespacedPod({ namespace: 'default' });
    const watch = new k8s.Watch(kc);
    const events: string[] = [];
    let abort: AbortController | undefined;
    const got = new Promise<void>((resolve) => {
      void watch
        .watch('/api/v1/namespaces/default/pods', { resourceVersion: list.metadata?.resourceVersion }, (type, obj: k8s.V1Pod) => {
          events.push(`${type} ${obj.metadata?.name}`);
          if (events.length === 2) resolve();
        }, () => undefined)
        .then((a) => (abort = a));
    });
    await new Promise((r) => setTimeout(r, 200));
    store.create('pods', makePod('watched', 'default', 'node-1', '10.244.1.77'));
    store.delete('pods', 'default', 'watched');
    await got;
    abort?.abort();
    expect(events).toEqual(['ADDED watched', 'DELETED watched']);
  });

  it('patches ephemeralcontainers with a JSON patch and with strategic merge', async () => {
    store.create('pods', makePod('target', 'default', 'node-1', '10.244.1.8'));
    await core.patchNamespacedPodEphemeralcontainers({
      name: 'target',
      namespace: 'default',
      body: [{ op: 'add', path: '/spec/ephemeralContainers', value: [{ name: 'one', image: 'netbox', command: ['sleep', '60'] }] }],
    });
    const pod = await core.patchNamespacedPodEphemeralcontainers(
      { name: 'target', namespace: 'default', body: { spec: { ephemeralContainers: [{ name: 'two', image: 'netbox' }] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    expect(pod.spec?.ephemeralContainers?.map((c) => c.name)).toEqual(['one', 'two']);
    const read = await core.readNamespacedPodEphemeralcontainers({ name: 'target', namespace: 'default' });
    expect(read.status?.ephemeralContainerStatuses?.map((s) => [s.name, s.state?.running !== undefined])).toEqual([
      ['one', true],
      ['two', true],
    ]);
  });

  it('Exec delivers stdout, stderr and the non-zero exit code in the status', async () => {
    const exec = new k8s.Exec(kc);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    const status = await new Promise<k8s.V1Status>((resolve) => {
      void exec.exec('default', 'web', 'app', ['sh', '-c', 'echo out; echo err >&2; exit 7'], stdout, stderr, null, false, resolve);
    });
    expect(out).toBe('out\n');
    expect(err).toBe('err\n');
    expect(status).toEqual({
      metadata: {},
      status: 'Failure',
      reason: 'NonZeroExitCode',
      message: 'command terminated with non-zero exit code: error executing command [sh -c echo out; echo err >&2; exit 7], exit code 7',
      details: { causes: [{ reason: 'ExitCode', message: '7' }] },
    });
    const ok = await new Promise<k8s.V1Status>((resolve) => {
      void exec.exec('default', 'web', 'app', ['true'], null, null, null, false, resolve);
    });
    expect(ok).toEqual({ metadata: {}, status: 'Success' });
  });
});

describe('HTTP/2, as kube-apiserver offers it (ALPN h2, then http/1.1)', () => {
  it('multiplexes concurrent requests and a watch over one HTTP/2 connection', async () => {
    const session = connectH2(server.url, { ca: tls.caCert });
    try {
      await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
      expect(session.alpnProtocol).toBe('h2');
      const get = (path: string): Promise<{ status: number; body: string }> =>
        new Promise((resolve, reject) => {
          const req = session.request({ ':path': path, authorization: `Bearer ${TOKEN}` });
          let status = 0;
          let body = '';
          req.on('response', (h) => (status = Number(h[':status'])));
          req.setEncoding('utf8');
          req.on('data', (c: string) => (body += c));
          req.on('end', () => resolve({ status, body }));
          req.on('error', reject);
        });
      const answers = await Promise.all(Array.from({ length: 11 }, () => get('/api/v1/namespaces')));
      expect(answers.map((a) => a.status)).toEqual(Array(11).fill(200));
      expect((JSON.parse(answers[0]?.body ?? '{}') as { kind?: string }).kind).toBe('NamespaceList');
      // A watch streams its first event over the same connection.
      const first = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/api/v1/namespaces?watch=1&fieldSelector=metadata.name%3Dshop', authorization: `Bearer ${TOKEN}` });
        let text = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => {
          text += c;
          if (text.includes('\n')) {
            resolve(text.split('\n')[0] as string);
            req.close();
          }
        });
        req.on('error', reject);
      });
      expect(JSON.parse(first)).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'shop' } } });
    } finally {
      session.close();
    }
  });

  it('with latency, a new connection waits two round trips before its TLS handshake is answered, each request one more', async () => {
    const LATENCY = 40;
    const slow = await startApiServer({ store, kubelet, token: TOKEN, tls, rbacDeny: [], apiLatencyMs: LATENCY });
    try {
      const t0 = performance.now();
      const session = connectH2(slow.url, { ca: tls.caCert });
      try {
        await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
        const handshake = performance.now() - t0;
        expect(handshake).toBeGreaterThanOrEqual(2 * LATENCY);
        const t1 = performance.now();
        const status = await new Promise<number>((resolve, reject) => {
          const req = session.request({ ':path': '/version', authorization: `Bearer ${TOKEN}` });
          req.on('response', (h) => resolve(Number(h[':status'])));
          req.on('error', reject);
          req.resume();
        });
        expect(status).toBe(200);
        expect(performance.now() - t1).toBeGreaterThanOrEqual(LATENCY);
      } finally {
        session.close();
      }
    } finally {
      await slow.close();
    }
  });

  it('still answers HTTP/1.1 clients (the exec WebSocket upgrade needs it)', async () => {
    const r = await call('GET', '/api/v1/namespaces');
    expect(r.status).toBe(200);
  });
});

describe('lab API server protocol details', () => {
  beforeEach(async () => {
    await call('DELETE', '/lab/v1/requests');
  });

  it('refuses a wrong token with a 401 Status in JSON', async () => {
    const r = await call('GET', '/api/v1/pods', { token: 'nope' });
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  });

  it('serves discovery with short names and subresources', async () => {
    const core = (await call('GET', '/api/v1')).json() as { resources: { name: string; shortNames?: string[]; verbs: string[] }[] };
    expect(core.resources.find((r) => r.name === 'pods')?.shortNames).toEqual(['po']);
    expect(core.resources.find((r) => r.name === 'pods/ephemeralcontainers')?.verbs).toEqual(['get', 'patch', 'update']);
    const apps = (await call('GET', '/apis/apps/v1')).json() as { resources: { name: string; shortNames?: string[] }[] };
    expect(apps.resources.map((r) => [r.name, r.shortNames?.[0]]).filter(([, s]) => s)).toEqual([
      ['deployments', 'deploy'],
      ['statefulsets', 'sts'],
      ['daemonsets', 'ds'],
      ['replicasets', 'rs'],
    ]);
    const groups = (await call('GET', '/apis', { headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' } }));
    expect(groups.headers['content-type']).toBe('application/json');
    expect(groups.json()['kind']).toBe('APIGroupList');
    expect((await call('GET', '/version')).json()['gitVersion']).toMatch(/^v1\.32\.\d+-lab$/);
  });

  it('answers unknown paths with a 404 Status', async () => {
    const r = await call('GET', '/api/v1/widgets');
    expect(r.status).toBe(404);
    expect(r.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    const pod = await call('GET', '/api/v1/namespaces/default/pods/missing');
    expect(pod.json()).toMatchObject({ message: 'pods "missing" not found', details: { name: 'missing', kind: 'pods' } });
  });

  it('creates pods with the URL namespace and generateName, and checks namespaces', async () => {
    const created = await call('POST', '/api/v1/namespaces/default/pods', { body: { metadata: { generateName: 'gen-' }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ kind: 'Pod', metadata: { namespace: 'default', name: expect.stringMatching(/^gen-\w{5}$/) }, status: { phase: 'Pending' } });
    const mismatch = await call('POST', '/api/v1/namespaces/default/pods', { body: { metadata: { name: 'x', namespace: 'shop' } } });
    expect(mismatch.status).toBe(400);
    const missing = await call('POST', '/api/v1/namespaces/nowhere/pods', { body: { metadata: { name: 'x' } } });
    expect(missing.json()).toMatchObject({ code: 404, message: 'namespaces "nowhere" not found' });
    const deleted = await call('DELETE', `/api/v1/namespaces/default/pods/${(created.json()['metadata'] as { name: string }).name}`, { body: { propagationPolicy: 'Background' } });
    expect(deleted.json()).toMatchObject({ kind: 'Pod', metadata: { namespace: 'default' } });
    expect(deleted.status).toBe(200);
    expect(server.requestCounts()).toEqual({ 'create pods': 3, 'delete pods': 1 });
  });

  it('enforces Pod Security baseline on pod creation and on ephemeral containers', async () => {
    const r = await call('POST', '/api/v1/namespaces/guarded/pods', {
      body: { metadata: { name: 'hostnet' }, spec: { hostNetwork: true, containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }] } },
    });
    expect(r.status).toBe(403);
    expect(r.json()['message']).toBe(
      'pods "hostnet" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), privileged (container "c" must not set securityContext.privileged=true)',
    );
    const ec = await call('PATCH', '/api/v1/namespaces/guarded/pods/guarded-pod/ephemeralcontainers', {
      headers: { 'Content-Type': 'application/strategic-merge-patch+json' },
      body: { spec: { ephemeralContainers: [{ name: 'probe', image: 'netbox', securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } } }] } },
    });
    expect(ec.status).toBe(403);
    expect(ec.json()['message']).toBe(
      'pods "guarded-pod" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "probe" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)',
    );
  });

  it('validates ephemeral containers: no ports, and existing ones can never be removed', async () => {
    store.create('pods', makePod('ec-target', 'default', 'node-1', '10.244.1.30'));
    const path = '/api/v1/namespaces/default/pods/ec-target/ephemeralcontainers';
    const ports = await call('PATCH', path, {
      headers: { 'Content-Type': 'application/strategic-merge-patch+json' },
      body: { spec: { ephemeralContainers: [{ name: 'p', image: 'x', ports: [{ containerPort: 80 }] }] } },
    });
    expect(ports.status).toBe(422);
    expect(ports.json()['message']).toBe('Pod "ec-target" is invalid: spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container');
    const noImage = await call('PATCH', path, { headers: { 'Content-Type': 'application/merge-patch+json' }, body: { spec: { ephemeralContainers: [{ name: 'p' }] } } });
    expect(noImage.json()['message']).toBe('Pod "ec-target" is invalid: spec.ephemeralContainers[0].image: Required: Required value');
    const added = await call('PATCH', path, { headers: { 'Content-Type': 'application/strategic-merge-patch+json' }, body: { spec: { ephemeralContainers: [{ name: 'dbg', image: 'x' }] } } });
    expect(added.status).toBe(200);
    const pod = (await call('GET', path)).json() as KubeObject;
    (pod['spec'] as Record<string, unknown>)['ephemeralContainers'] = [];
    const removed = await call('PUT', path, { body: pod });
    expect(removed.status).toBe(422);
    expect(removed.json()).toMatchObject({
      reason: 'Invalid',
      message: 'Pod "ec-target" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be removed',
      details: { causes: [{ reason: 'FieldValueForbidden', field: 'spec.ephemeralContainers' }] },
    });
  });

  it('keeps status out of main-resource writes and serves the status subresource', async () => {
    store.create('pods', makePod('st', 'default', 'node-1', '10.244.1.31'));
    const main = await call('PATCH', '/api/v1/namespaces/default/pods/st', { headers: { 'Content-Type': 'application/merge-patch+json' }, body: { metadata: { labels: { a: 'b' } }, status: { phase: 'Failed' } } });
    expect(main.json()).toMatchObject({ metadata: { labels: { a: 'b' } }, status: { phase: 'Running' } });
    const status = await call('PATCH', '/api/v1/namespaces/default/pods/st/status', { headers: { 'Content-Type': 'application/merge-patch+json' }, body: { status: { phase: 'Succeeded' } } });
    expect(status.json()).toMatchObject({ status: { phase: 'Succeeded', podIP: '10.244.1.31' } });
    const stale = await call('PUT', '/api/v1/namespaces/default/pods/st', { body: { ...(main.json() as object) } });
    expect(stale.status).toBe(409);
    expect(server.requestCounts()).toEqual({ 'patch pods': 1, 'patch pods/status': 1, 'update pods': 1 });
  });

  it('answers SelfSubjectAccessReviews from the deny rules', async () => {
    const review = (attrs: Record<string, string>) => call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } } });
    const denied = await review({ namespace: 'locked', verb: 'get', resource: 'pods', subresource: 'exec' });
    expect(denied.status).toBe(201);
    expect(denied.json()).toMatchObject({ kind: 'SelfSubjectAccessReview', status: { allowed: false, denied: true } });
    expect((await review({ namespace: 'default', verb: 'get', resource: 'pods', subresource: 'exec' })).json()).toMatchObject({ status: { allowed: true } });
    expect((await review({ namespace: 'locked', verb: 'get', resource: 'pods' })).json()).toMatchObject({ status: { allowed: true } });
  });

  it('serves Tables with PartialObjectMetadata rows, or full objects on includeObject=Object', async () => {
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const table = (await call('GET', '/api/v1/namespaces/shop/services', { headers: { Accept: accept } })).json() as {
      kind: string;
      columnDefinitions: { name: string; priority: number }[];
      rows: { cells: unknown[]; object: { kind: string } }[];
    };
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.map((c) => `${c.name}:${c.priority}`)).toEqual(['Name:0', 'Type:0', 'Cluster-IP:0', 'External-IP:0', 'Port(s):0', 'Age:0', 'Selector:1']);
    expect(table.rows[0]?.cells).toEqual(['web', 'ClusterIP', '10.96.0.20', '<none>', '80/TCP', expect.any(String), 'app=shop']);
    expect(table.rows[0]?.object.kind).toBe('PartialObjectMetadata');
    const full = (await call('GET', '/api/v1/namespaces/shop/services?includeObject=Object', { headers: { Accept: accept } })).json() as { rows: { object: { kind: string } }[] };
    expect(full.rows[0]?.object.kind).toBe('Service');
  });

  it('ends a watch after timeoutSeconds and streams JSON lines', async () => {
    const list = (await call('GET', '/api/v1/namespaces/shop/pods')).json() as { metadata: { resourceVersion: string } };
    setTimeout(() => store.mutate('pods', 'shop', 'shop-1', (p) => ({ ...p, metadata: { ...p.metadata, labels: { app: 'moved' } } })), 100);
    const started = Date.now();
    const r = await call('GET', `/api/v1/namespaces/shop/pods?watch=1&labelSelector=app%3Dshop&timeoutSeconds=1&resourceVersion=${list.metadata.resourceVersion}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(r.headers['content-type']).toBe('application/json');
    const events = r.text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: KubeObject });
    // the pod left the selector: a filtered watch reports that as DELETED
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['DELETED shop-1']);
    store.mutate('pods', 'shop', 'shop-1', (p) => ({ ...p, metadata: { ...p.metadata, labels: { app: 'shop' } } }));
  });

  it('sends a too-old resourceVersion as an ERROR event with 410 Expired', async () => {
    const small = new ObjectStore({ historyLimit: 2 });
    seed(small);
    const srv = await startApiServer({ store: small, kubelet, token: TOKEN, tls, rbacDeny: [] });
    try {
      const r = await new Promise<string>((resolve, reject) => {
        request(`${srv.url}/api/v1/pods?watch=true&resourceVersion=1`, { ca: tls.caCert, headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        }).on('error', reject).end();
      });
      expect(JSON.parse(r)).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    } finally {
      await srv.close();
    }
  });

  it.each([
    { name: 'v4 only', offered: ['v4.channel.k8s.io'], expected: 'v4.channel.k8s.io' },
    { name: 'first supported of several', offered: ['v3.channel.k8s.io', 'v4.channel.k8s.io', 'v5.channel.k8s.io'], expected: 'v4.channel.k8s.io' },
  ])('exec negotiates a subprotocol: $name', async ({ offered, expected }) => {
    const ws = openExec('command=echo&command=hi&stdout=true', offered);
    const frames: Buffer[] = [];
    ws.on('message', (d: Buffer) => frames.push(d));
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    expect(ws.protocol).toBe(expected);
    expect(code).toBe(1000);
    expect(frames.map((f) => [f[0], f.subarray(1).toString()])).toEqual([
      [1, 'hi\n'],
      [3, '{"metadata":{},"status":"Success"}'],
    ]);
  });

  it('exec over v4 sends stdout, stderr and a non-zero exit code as the apiserver\'s Status on channel 3, then closes', async () => {
    const ws = openExec(`command=sh&command=-c&command=${encodeURIComponent('echo out; echo err >&2; exit 5')}&stdout=true&stderr=true`, ['v4.channel.k8s.io']);
    const frames: Buffer[] = [];
    ws.on('message', (d: Buffer) => frames.push(d));
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    expect(ws.protocol).toBe('v4.channel.k8s.io');
    expect(code).toBe(1000);
    const on = (channel: number) => frames.filter((f) => f[0] === channel).map((f) => f.subarray(1).toString()).join('');
    expect(on(1)).toBe('out\n');
    expect(on(2)).toBe('err\n');
    expect(frames.at(-1)?.[0]).toBe(3); // the status comes last
    expect(JSON.parse(on(3))).toEqual({
      metadata: {},
      status: 'Failure',
      reason: 'NonZeroExitCode',
      message: 'command terminated with non-zero exit code: error executing command [sh -c echo out; echo err >&2; exit 5], exit code 5',
      details: { causes: [{ reason: 'ExitCode', message: '5' }] },
    });
  });

  it('exec v5 forwards stdin until the client closes it with [255, 0]', async () => {
    const ws = openExec('command=cat&stdin=true&stdout=true&stderr=true', ['v5.channel.k8s.io']);
    let out = '';
    ws.on('message', (d: Buffer) => {
      if (d[0] === 1) out += d.subarray(1).toString();
    });
    await new Promise((r) => ws.on('open', r));
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('ping\n')]));
    ws.send(Buffer.from([4, ...Buffer.from('{"Width":80,"Height":24}')]));
    ws.send(Buffer.from([255, 0]));
    await new Promise((r) => ws.on('close', r));
    expect(out).toBe('ping\n');
    expect(server.requestCounts()['create pods/exec']).toBe(1);
  });

  it('rejects an exec upgrade without a supported subprotocol before upgrading', async () => {
    const ws = openExec('command=true', ['v3.channel.k8s.io']);
    const before = kubelet.execs.length;
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(400);
    expect(kubelet.execs).toHaveLength(before);
  });

  it('counts requests and resets them through /lab/v1/requests', async () => {
    await call('GET', '/api/v1/pods');
    await call('GET', '/api/v1/namespaces/default/pods/web');
    await call('GET', '/api/v1/namespaces/default/pods/web/log');
    const counts = (await call('GET', '/lab/v1/requests')).json();
    expect(counts).toEqual({ 'list pods': 1, 'get pods': 1, 'get pods/log': 1 });
    await call('DELETE', '/lab/v1/requests');
    expect(server.requestCounts()).toEqual({});
    expect((await call('GET', '/lab/v1/requests', { token: 'bad' })).status).toBe(401);
  });

  it('logs each resource request with its scope through /lab/v1/requests/log, cleared with the counts', async () => {
    await call('DELETE', '/lab/v1/requests');
    await call('GET', '/api/v1/pods');
    await call('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb');
    await call('GET', '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb&watch=true&timeoutSeconds=1');
    await call('GET', '/api/v1/namespaces/default/pods/web/log');
    expect((await call('GET', '/lab/v1/requests/log')).json()).toEqual([
      { verb: 'list', resource: 'pods' },
      { verb: 'list', resource: 'pods', namespace: 'default', labelSelector: 'app=web' },
      { verb: 'watch', resource: 'pods', namespace: 'default', fieldSelector: 'metadata.name=web' },
      { verb: 'get', resource: 'pods/log', namespace: 'default', name: 'web' },
    ]);
    await call('DELETE', '/lab/v1/requests');
    expect((await call('GET', '/lab/v1/requests/log')).json()).toEqual([]);
    expect((await call('GET', '/lab/v1/requests/log', { token: 'bad' })).status).toBe(401);
  });
});

describe('the API latency (`lab up --api-latency`)', () => {
  it('waits at least the latency in real time, never a fraction of a millisecond less', async () => {
    // Node's timers count in whole milliseconds of the loop's clock: a timer set late in a millisecond fires up to 1 ms
    // early in real time (a kubectl request took 49 ms against `--api-latency 50` under busy cores). Set each wait late
    // in a millisecond of that clock (process.hrtime's), where a plain timer falls short about one time in five.
    const short: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      while (process.hrtime.bigint() % 1_000_000n < 900_000n) {
        // until late in the current millisecond
      }
      const start = process.hrtime.bigint();
      await delay(5);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (ms < 5) short.push(ms);
    }
    expect(short).toEqual([]);
  });
});
