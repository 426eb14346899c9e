/**
 * A small fake Kubernetes API server for fault tests, on 127.0.0.1 only: enough of the API for one diagnosis (a source
 * pod, a Service with its EndpointSlice and backend pod, the namespace, kube-dns, two nodes), debug pods that can be
 * created, watched, exec'd into and deleted, and knobs for each hostile behaviour: requests that hang or fail N times
 * (429 with Retry-After, 5xx), debug pods that never start, deletes refused, and exec upgrades that are never answered,
 * streams that end without a status frame, streams that hang, or a frame that crashes the client's handler.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';

/** How the fake answers an exec. */
export type ExecMode = 'ok' | 'no-status' | 'no-status-abrupt' | 'no-status-open' | 'unanswered' | 'hang' | 'crash';

/** Where an exec runs and what it runs: the pod, its node, and one probe's command line as the batch script quotes it. */
export interface ExecCall {
  pod: string;
  node: string;
  command: string;
}

/** What an answered probe prints and how it exits. */
export interface ExecReply {
  stdout: string;
  stderr?: string;
  exit: number;
}

/** A request as the fake saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  at: number;
  /** With `waveQuietMs` set: the wave this request was answered in (0 first). */
  wave?: number;
}

/** A scripted failure: the first `times` matching requests get `status` (with headers), or hang when status is 'hang'. */
export interface Failure {
  method: string;
  /** A regular expression the path must match. */
  path: RegExp;
  status: number | 'hang';
  headers?: Record<string, string>;
  /** The Status message (default `scripted <status>`). */
  message?: string;
  /** A regular expression the query string must match too. */
  query?: RegExp;
  times: number;
}

type Obj = Record<string, unknown> & { metadata: { name: string; namespace?: string; labels?: Record<string, string>; uid?: string } };

const MANAGED = 'app.kubernetes.io/managed-by';

/** The fake API server; see the file comment. */
export class FakeApiServer extends EventEmitter {
  readonly log: SeenRequest[] = [];
  /** Pods by `ns/name`. */
  readonly pods = new Map<string, Obj>();
  readonly failures: Failure[] = [];
  /** Phase of a created debug pod: Running at once, or Pending for ever. */
  createdPhase: 'Running' | 'Pending' = 'Running';
  /** Status answered to a DELETE of a debug pod (200 deletes it). */
  deleteStatus = 200;
  execMode: ExecMode = 'ok';
  /** What an 'ok' exec writes to stdout. */
  execStdout = '';
  /** When set, an 'ok' exec answers each probe by its command (batched or not) instead of execStdout. */
  execAnswer: ((call: ExecCall) => ExecReply) | undefined;
  /** Requests that hang: aborted ones are counted here when the client closes them. */
  aborted = 0;
  /**
   * When set, requests (not exec upgrades) are answered in waves: each is held until no new request has come for this
   * long, then the whole wave is answered at once. A request's wave is then the number of round trips that had to end
   * before the client could send it (its causal depth), whatever the machine's speed, as long as the client sends what
   * one answer allows within this time.
   */
  waveQuietMs: number | undefined;
  /** The status a SelfSubjectRulesReview is answered with; undefined: not served (404), as before. */
  rulesReview: Record<string, unknown> | undefined;
  private waveNumber = 0;
  private waveTimer: NodeJS.Timeout | undefined;
  private waveHeld: (() => void)[] = [];
  private server: Server;
  private wss = new WebSocketServer({ noServer: true });
  private sockets = new Set<Socket>();
  private watches = new Set<{ ns: string; name: string; res: ServerResponse }>();
  private objects = new Map<string, Obj>();
  private slices: Obj[] = [];
  url = '';
  kubeconfig = '';

  constructor() {
    super();
    this.seed();
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
  }

  /** Listens on 127.0.0.1 and writes a kubeconfig for it (insecure http, a token; or a user of your own). */
  async start(user: Record<string, unknown> = { token: 'fake-token' }): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.kubeconfig = join(mkdtempSync(join(tmpdir(), 'netdebug-fake-api-')), 'config');
    this.writeKubeconfig(user);
    return this;
  }

  /** Rewrites the kubeconfig with another user entry (e.g. an exec-credential plugin). */
  writeKubeconfig(user: Record<string, unknown>): void {
    writeFileSync(
      this.kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'fake-user', user }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user', namespace: 'default' } }],
        'current-context': 'fake',
      }),
    );
  }

  /** Stops listening and drops every open connection. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** The debug pods (label managed-by=kubectl-netdebug) that exist now, as `ns/name`. */
  debugPods(): string[] {
    return [...this.pods.values()].filter((p) => p.metadata.labels?.[MANAGED] === 'kubectl-netdebug').map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
  }

  /** Resolves once a request matching method and path is seen (at once if it already was). */
  waitFor(method: string, path: RegExp): Promise<SeenRequest> {
    const found = this.log.find((r) => r.method === method && path.test(r.path));
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const on = (r: SeenRequest): void => {
        if (r.method === method && path.test(r.path)) {
          this.off('request', on);
          resolve(r);
        }
      };
      this.on('request', on);
    });
  }

  private seed(): void {
    const pod = (ns: string, name: string, node: string, ip: string, labels: Record<string, string>, ports: number[] = []): Obj => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, labels, uid: `uid-${name}` },
      spec: { nodeName: node, containers: [{ name: 'main', image: 'app', ports: ports.map((p) => ({ containerPort: p, protocol: 'TCP' })) }] },
      status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
    });
    for (const p of [
      pod('default', 'client', 'node-1', '10.244.1.5', { app: 'client' }),
      pod('default', 'web-1', 'node-2', '10.244.2.7', { app: 'web' }, [8080]),
      pod('kube-system', 'coredns-a', 'node-1', '10.244.1.3', { 'k8s-app': 'kube-dns' }),
    ]) {
      this.pods.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
    }
    const svc = (ns: string, name: string, ip: string, selector: Record<string, string>, port: number, targetPort: number, protocol = 'TCP'): Obj => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { type: 'ClusterIP', clusterIP: ip, selector, ports: [{ name: 'http', port, targetPort, protocol }] },
    });
    this.objects.set('/api/v1/namespaces/default/services/web', svc('default', 'web', '10.96.1.1', { app: 'web' }, 80, 8080));
    this.objects.set('/api/v1/namespaces/kube-system/services/kube-dns', svc('kube-system', 'kube-dns', '10.96.0.10', { 'k8s-app': 'kube-dns' }, 53, 53, 'UDP'));
    for (const ns of ['default', 'kube-system']) {
      this.objects.set(`/api/v1/namespaces/${ns}`, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } });
    }
    for (const [i, name] of ['node-1', 'node-2'].entries()) {
      this.objects.set(`/api/v1/nodes/${name}`, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name } },
        spec: { podCIDR: `10.244.${i + 1}.0/24` },
        status: { addresses: [{ type: 'InternalIP', address: `172.18.0.${i + 2}` }], conditions: [{ type: 'Ready', status: 'True' }] },
      });
    }
    const slice = (ns: string, name: string, service: string, addressType: string, port: number, endpoints: unknown[], protocol = 'TCP'): Obj => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
      addressType,
      ports: [{ name: 'http', port, protocol }],
      endpoints,
    });
    this.slices = [
      slice('default', 'web-abc', 'web', 'IPv4', 8080, [
        { addresses: ['10.244.2.7'], conditions: { ready: true }, nodeName: 'node-2', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-1' } },
      ]),
      slice('kube-system', 'kube-dns-abc', 'kube-dns', 'IPv4', 53, [{ addresses: ['10.244.1.3'], conditions: { ready: true }, nodeName: 'node-1' }], 'UDP'),
    ];
  }

  /** Adds an EndpointSlice of Service default/web with addressType FQDN (as a mirroring controller may). */
  addFqdnSlice(): void {
    this.slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-fqdn', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'FQDN',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: ['web.example.com'], conditions: { ready: true } }],
    });
  }

  /**
   * Makes the cluster dual-stack, each object as a dual-stack API server writes it: pods with `status.podIPs` (the
   * primary first), Service default/web `PreferDualStack` with `clusterIPs` and `ipFamilies`, an EndpointSlice of
   * addressType IPv6 beside the IPv4 one (the EndpointSlice controller writes one per family), and nodes with an
   * InternalIP of each family (kubelet `--node-ip=v4,v6`). kube-dns stays single-stack IPv4, as kubeadm creates it.
   */
  makeDualStack(): void {
    const v6 = (ip: string): string => ip.replace(/^10\.244\.(\d+)\.(\d+)$/, 'fd00:10:244:$1::$2');
    for (const pod of this.pods.values()) {
      const st = pod.status as { podIP: string; podIPs?: { ip: string }[] };
      st.podIPs = [{ ip: st.podIP }, { ip: v6(st.podIP) }];
    }
    const web = this.objects.get('/api/v1/namespaces/default/services/web') as Obj & { spec: Record<string, unknown> };
    Object.assign(web.spec, { clusterIPs: ['10.96.1.1', 'fd00:10:96::1'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' });
    for (const [i, name] of ['node-1', 'node-2'].entries()) {
      const node = this.objects.get(`/api/v1/nodes/${name}`) as Obj & { spec: Record<string, unknown>; status: Record<string, unknown> };
      node.spec.podCIDRs = [`10.244.${i + 1}.0/24`, `fd00:10:244:${i + 1}::/64`];
      node.status.addresses = [
        { type: 'InternalIP', address: `172.18.0.${i + 2}` },
        { type: 'InternalIP', address: `fd00:172:18::${i + 2}` },
        { type: 'Hostname', address: name },
      ];
    }
    this.slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-v6xyz', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
      addressType: 'IPv6',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: ['fd00:10:244:2::7'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-2', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-1' } }],
    });
  }

  /** Adds `count` Ready nodes that run nothing of the scenario (node-x1, node-x2, ...), for a cluster of that size. */
  addIdleNodes(count: number): void {
    for (let i = 1; i <= count; i++) {
      const name = `node-x${i}`;
      this.objects.set(`/api/v1/nodes/${name}`, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name } },
        spec: { podCIDR: `10.245.${i}.0/24` },
        status: { addresses: [{ type: 'InternalIP', address: `172.19.${Math.floor(i / 250)}.${(i % 250) + 2}` }], conditions: [{ type: 'Ready', status: 'True' }] },
      });
    }
  }

  /** The reply of one probe: execAnswer's for its command, else execStdout with exit 0. */
  private reply(path: string, command: string): ExecReply {
    if (!this.execAnswer) return { stdout: this.execStdout, exit: 0 };
    const [, ns, name] = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(path) ?? [];
    const pod = this.pods.get(`${ns ?? ''}/${name ?? ''}`);
    const node = ((pod?.spec as { nodeName?: string } | undefined)?.nodeName) ?? '';
    return this.execAnswer({ pod: `${ns ?? ''}/${name ?? ''}`, node, command });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const seen: SeenRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, at: Date.now() };
    this.log.push(seen);
    this.emit('request', seen);
    let body = '';
    for await (const chunk of req) body += String(chunk);
    if (this.waveQuietMs !== undefined) await this.inWave(seen, this.waveQuietMs);

    const failure = this.failures.find((f) => f.times > 0 && f.method === seen.method && f.path.test(seen.path) && (!f.query || f.query.test(url.search)));
    if (failure) {
      failure.times--;
      if (failure.status === 'hang') {
        res.on('close', () => (this.aborted += 1));
        return;
      }
      return this.send(res, failure.status, status(failure.status, failure.message ?? `scripted ${failure.status}`), failure.headers);
    }

    if (seen.method === 'POST' && seen.path === '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews' && this.rulesReview) {
      return this.send(res, 201, { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: JSON.parse(body || '{}').spec ?? {}, status: this.rulesReview });
    }
    if (seen.method === 'GET' && seen.path === '/api/v1/pods') {
      return this.list(res, 'PodList', [...this.pods.values()].filter((p) => matches(p, url.searchParams.get('labelSelector'))));
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(seen.path);
    if (m) return this.pod(req, res, seen, m[1] ?? '', m[2], m[3], body);
    if (seen.method === 'GET' && /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.test(seen.path)) {
      const ns = seen.path.split('/')[5];
      return this.list(res, 'EndpointSliceList', this.slices.filter((s) => s.metadata.namespace === ns && matches(s, url.searchParams.get('labelSelector'))));
    }
    if (seen.method === 'GET' && /\/networkpolicies$/.test(seen.path)) return this.list(res, 'NetworkPolicyList', []);
    const services = /^\/api\/v1\/namespaces\/([^/]+)\/services$/.exec(seen.path);
    if (seen.method === 'GET' && services) {
      const prefix = `${seen.path}/`;
      return this.list(res, 'ServiceList', [...this.objects].filter(([path]) => path.startsWith(prefix) && !path.slice(prefix.length).includes('/')).map(([, o]) => o));
    }
    if (seen.method === 'GET' && seen.path === '/api/v1/nodes') {
      const nodes = [...this.objects].filter(([path]) => path.startsWith('/api/v1/nodes/')).map(([, o]) => o as Obj);
      const selector = url.searchParams.get('labelSelector');
      const limit = Number(url.searchParams.get('limit') ?? '0');
      if (selector === null && Number.isInteger(limit) && limit > 0) {
        // The first page of every node, by name, as a real API server pages: a continue token (and the count left) when
        // more remain.
        const sorted = nodes.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
        const more = sorted.length - limit;
        return this.send(res, 200, {
          apiVersion: 'v1',
          kind: 'NodeList',
          metadata: { resourceVersion: '1', ...(more > 0 ? { continue: 'fake-continue-token', remainingItemCount: more } : {}) },
          items: sorted.slice(0, limit),
        });
      }
      // Otherwise only the set-based selector the plugin sends: `kubernetes.io/hostname in (a,b)`.
      const names = /^kubernetes\.io\/hostname in \((.*)\)$/.exec(selector ?? '')?.[1]?.split(',');
      if (!names) return this.send(res, 400, status(400, 'the fake serves node lists only by limit or by kubernetes.io/hostname in (...)'));
      return this.list(res, 'NodeList', nodes.filter((n) => names.includes(n.metadata.labels?.['kubernetes.io/hostname'] ?? '')));
    }
    const obj = this.objects.get(seen.path);
    if (seen.method === 'GET' && obj) return this.send(res, 200, obj);
    return this.send(res, 404, status(404, `${seen.path} not found`));
  }

  /** Holds a request until its wave is answered (see waveQuietMs). */
  private inWave(seen: SeenRequest, quietMs: number): Promise<void> {
    seen.wave = this.waveNumber;
    return new Promise((resolve) => {
      this.waveHeld.push(resolve);
      clearTimeout(this.waveTimer);
      this.waveTimer = setTimeout(() => {
        const held = this.waveHeld;
        this.waveHeld = [];
        this.waveNumber += 1;
        for (const release of held) release();
      }, quietMs);
    });
  }

  private pod(req: IncomingMessage, res: ServerResponse, seen: SeenRequest, ns: string, name: string | undefined, sub: string | undefined, body: string): void {
    const q = seen.query;
    if (name === undefined) {
      if (seen.method === 'POST') {
        const pod = JSON.parse(body) as Obj;
        pod.metadata.namespace = ns;
        (pod.metadata as Record<string, unknown>).creationTimestamp = new Date().toISOString();
        pod.status = this.createdPhase === 'Running' ? { phase: 'Running', startTime: new Date().toISOString(), podIP: '10.244.9.9' } : { phase: 'Pending' };
        this.pods.set(`${ns}/${pod.metadata.name}`, pod);
        this.notify(pod, 'ADDED');
        this.emit('created', pod);
        return this.send(res, 201, pod);
      }
      const field = /^metadata\.name=(.+)$/.exec(q.get('fieldSelector') ?? '')?.[1];
      const items = [...this.pods.values()].filter((p) => p.metadata.namespace === ns && matches(p, q.get('labelSelector')) && (!field || p.metadata.name === field));
      if (seen.method === 'DELETE') {
        // deletecollection: every pod the selectors match, answered with their list.
        if (this.deleteStatus !== 200) return this.send(res, this.deleteStatus, status(this.deleteStatus, `pods is forbidden: User "fake-user" cannot deletecollection resource "pods" in API group "" in the namespace "${ns}"`));
        for (const p of items) {
          this.pods.delete(`${ns}/${p.metadata.name}`);
          this.emit('deleted', `${ns}/${p.metadata.name}`);
        }
        return this.list(res, 'PodList', items);
      }
      if (q.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (const p of items) res.write(`${JSON.stringify({ type: 'ADDED', object: p })}\n`);
        const w = { ns, name: field ?? '', res };
        this.watches.add(w);
        res.on('close', () => this.watches.delete(w));
        return;
      }
      return this.list(res, 'PodList', items);
    }
    const key = `${ns}/${name}`;
    const pod = this.pods.get(key);
    if (!pod) return this.send(res, 404, status(404, `pods "${name}" not found`));
    if (seen.method === 'GET' && sub === undefined) return this.send(res, 200, pod);
    if (seen.method === 'PATCH' && sub === 'ephemeralcontainers') {
      const ops = JSON.parse(body) as { path: string; value: unknown }[];
      const spec = pod.spec as { ephemeralContainers?: { name: string }[] };
      for (const op of ops) spec.ephemeralContainers = [...(spec.ephemeralContainers ?? []), ...([op.value].flat() as { name: string }[])];
      const st = pod.status as Record<string, unknown>;
      st.ephemeralContainerStatuses = (spec.ephemeralContainers ?? []).map((c) => ({ name: c.name, state: { running: { startedAt: new Date().toISOString() } } }));
      this.notify(pod);
      return this.send(res, 200, pod);
    }
    if (seen.method === 'DELETE') {
      if (this.deleteStatus !== 200) return this.send(res, this.deleteStatus, status(this.deleteStatus, `pods "${name}" is forbidden: User "fake-user" cannot delete resource "pods" in API group "" in the namespace "${ns}"`));
      this.pods.delete(key);
      this.emit('deleted', key);
      return this.send(res, 200, pod);
    }
    return this.send(res, 405, status(405, 'method not allowed'));
  }

  /** Marks a pod as ended by its activeDeadlineSeconds (what the kubelet does after a SIGKILLed run). */
  expire(key: string): void {
    const pod = this.pods.get(key);
    if (pod) pod.status = { phase: 'Failed', reason: 'DeadlineExceeded', startTime: new Date(Date.now() - 3_600_000).toISOString() };
  }

  private notify(pod: Obj, type: 'ADDED' | 'MODIFIED' = 'MODIFIED'): void {
    for (const w of this.watches) {
      if (w.ns === pod.metadata.namespace && (!w.name || w.name === pod.metadata.name)) w.res.write(`${JSON.stringify({ type, object: pod })}\n`);
    }
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const seen: SeenRequest = { method: 'EXEC', path: new URL(req.url ?? '/', 'http://fake').pathname, query: new URL(req.url ?? '/', 'http://fake').searchParams, at: Date.now() };
    this.log.push(seen);
    this.emit('request', seen);
    const mode = this.execMode;
    if (mode === 'unanswered') {
      // The client ending its side (FIN) is the abort; an upgrade socket is half-open until we end ours.
      socket.once('end', () => {
        this.aborted += 1;
        socket.destroy();
      });
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const frame = (channel: number, text: string): Buffer => Buffer.concat([Buffer.from([channel]), Buffer.from(text)]);
      switch (mode) {
        case 'ok': {
          // A batch (`sh -c SCRIPT netdebug-batch MARK COUNT`, see src/core/probe-batch.ts): every probe in it prints
          // execStdout and exits 0, each as the record the script would print. The read of a batch a node pod started
          // with (`sh -c SCRIPT netdebug-read MARK`) answers the batch in the pod's command (`... netdebug-prelaunch
          // MARK COUNT BATCH`) alike, or exits 96 (PRELAUNCH_MISSING_EXIT) when the pod started none with that mark.
          const asked = seen.query.getAll('command');
          const [, ns = '', pod = ''] = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(seen.path) ?? [];
          const started = ((this.pods.get(`${ns}/${pod}`)?.spec as { containers?: { command?: string[] }[] } | undefined)?.containers ?? [])[0]?.command ?? [];
          const prelaunched = asked[3] === 'netdebug-read' && started[3] === 'netdebug-prelaunch' && started[4] === asked[4];
          if (asked[3] === 'netdebug-read' && !prelaunched) {
            ws.send(frame(3, JSON.stringify({ metadata: {}, status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '96' }] } })));
            ws.close();
            return;
          }
          const argv = prelaunched ? ['sh', '-c', started[6] ?? '', 'netdebug-batch', started[4] ?? '', started[5] ?? '0'] : asked;
          if (argv[3] === 'netdebug-batch') {
            // Each probe's command line, as the script runs it: `{ CMD >"$d/I.o" 2>"$d/I.e" </dev/null; ... } &`.
            const lines = new Map([...(argv[2] ?? '').matchAll(/^\{ (.*) >"\$d\/(\d+)\.o" 2>/gm)].map((m) => [Number(m[2]), m[1] as string]));
            const records = Array.from({ length: Number(argv[5]) }, (_, i) => {
              const r = this.reply(seen.path, lines.get(i) ?? '');
              const out = Buffer.from(r.stdout);
              const err = Buffer.from(r.stderr ?? '');
              return Buffer.concat([Buffer.from(`${argv[4]} ${i} ${r.exit} ${out.length} ${err.length}\n`), out, err]);
            });
            ws.send(Buffer.concat([Buffer.from([1]), ...records]));
          } else {
            const r = this.reply(seen.path, argv.join(' '));
            ws.send(frame(1, r.stdout));
            if (r.stderr) ws.send(frame(2, r.stderr));
          }
          ws.send(frame(3, JSON.stringify({ metadata: {}, status: 'Success' })));
          ws.close();
          return;
        }
        case 'no-status':
          ws.send(frame(1, 'partial output'));
          ws.close();
          return;
        case 'no-status-abrupt':
          // The connection dropped mid-stream: no close frame either.
          ws.send(frame(1, 'partial output'), () => ws.terminate());
          return;
        case 'no-status-open':
          // v5.channel.k8s.io: stdout and stderr closed (channel 255 frames), no status, and the socket left open.
          ws.send(frame(1, 'partial output'));
          ws.send(Buffer.from([255, 1]));
          ws.send(Buffer.from([255, 2]));
          ws.on('close', () => (this.aborted += 1));
          return;
        case 'hang':
          ws.on('close', () => (this.aborted += 1));
          return;
        case 'crash':
          // An empty binary frame: no channel byte, which client-node's message handler reads without checking.
          ws.send(Buffer.alloc(0));
          return;
        default: {
          const never: never = mode;
          throw new Error(`unknown exec mode ${String(never)}`);
        }
      }
    });
  }

  private list(res: ServerResponse, kind: string, items: Obj[]): void {
    this.send(res, 200, { apiVersion: 'v1', kind, metadata: { resourceVersion: '1' }, items });
  }

  private send(res: ServerResponse, code: number, obj: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(obj));
  }
}

function status(code: number, message: string): unknown {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: code === 403 ? 'Forbidden' : code === 404 ? 'NotFound' : 'InternalError', code };
}

/** Equality-only label selector matching (`a=b,c=d`), enough for what the plugin sends. */
function matches(obj: Obj, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return obj.metadata.labels?.[k ?? ''] === v;
  });
}
