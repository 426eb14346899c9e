/**
 * The lab's Kubernetes-compatible HTTPS API server: routing, authentication, RBAC, CRUD, watch, Tables, patches,
 * subresources (status, ephemeralcontainers, exec, log) and request counting, on top of an ObjectStore.
 *
 * It speaks HTTP/2 and HTTP/1.1, chosen by ALPN, as kube-apiserver does (k8s.io/apiserver's secure serving offers
 * NextProtos ["h2", "http/1.1"] unless HTTP/2 is disabled): clients that speak HTTP/2 (kubectl, undici) multiplex their
 * requests over one connection; exec's WebSocket upgrade is HTTP/1.1 on a connection of its own.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2Session } from 'node:http2';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { KubeletBackend, ScenarioRbacDeny } from '../model.ts';
import { admitPodSecurity, authorize, matchesDeny, validateEphemeralContainers, type PodSecurityOutcome, type RequestAttributes } from './admission.ts';
import { renderCoreVersions, renderGroup, renderGroupList, renderResourceList, renderVersion } from './discovery.ts';
import { createExecSocketServer, pickExecProtocol, readExecRequest, readOfferedProtocols, serveExecSocket } from './exec.ts';
import { applyPatch } from './patch.ts';
import { RESOURCES, findResourceIn, formatApiVersion, type ResourceInfo } from './resources.ts';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { StatusError, badRequest, notFound, toStatus, type StatusBody } from './status.ts';
import type { KubeObject, ObjectStore, StoreEvent } from './store.ts';
import { renderTable, wantsTable, type IncludeObject } from './tables.ts';

/** What startApiServer needs. */
export interface ApiServerOptions {
  store: ObjectStore;
  kubelet: KubeletBackend;
  /** The bearer token every request must carry. */
  token: string;
  tls: { cert: string; key: string };
  rbacDeny: readonly ScenarioRbacDeny[];
  /**
   * A control plane this many milliseconds away: added before every API response and before every exec stream starts
   * (the request's round trip), and twice before a new connection's TLS handshake is answered (the round trips of the
   * TCP and the TLS 1.3 handshakes a client waits for before its first request can go out).
   */
  apiLatencyMs?: number;
}

/**
 * Waits at least ms milliseconds of real time from the call (nothing for 0). A timer alone can fire up to 1 ms early:
 * Node's timers count whole milliseconds of the loop's clock, so one set late in a millisecond falls short of the latency
 * (a kubectl request took 49 ms against `--api-latency 50` under busy cores). What is left is waited again.
 */
export async function delay(ms: number): Promise<void> {
  if (ms <= 0) return;
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
}

/** A running API server. */
export interface ApiServerHandle {
  /** `https://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Stops listening and ends every connection, watch and exec. */
  close(): Promise<void>;
  /** Request counts by `verb resource[/subresource]` since start or the last reset. */
  requestCounts(): Record<string, number>;
}

/** One API resource request as the log keeps it: verb, resource[/subresource], and its scope. */
export interface LoggedRequest {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** A list's page size (`limit`), when it asked for one. */
  limit?: number;
}

/** The request log keeps at most this many entries between resets. */
const MAX_LOGGED_REQUESTS = 10_000;

/** A routed request. */
type Route =
  | { kind: 'version' }
  | { kind: 'core-versions' }
  | { kind: 'group-list' }
  | { kind: 'group'; group: string }
  | { kind: 'resource-list'; group: string; version: string }
  | { kind: 'lab-requests' }
  | { kind: 'lab-request-log' }
  | { kind: 'lab-audit' }
  | { kind: 'resource'; info: ResourceInfo; namespace?: string; name?: string; subresource?: string };

const coreNamespaceSubresources = new Set(['status', 'finalize']);

/** Routes a URL path; undefined means 404. */
function routePath(path: string): Route | undefined {
  const segs = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  if (path === '/version' || path === '/version/') return { kind: 'version' };
  if (segs[0] === 'lab' && segs[1] === 'v1' && segs[2] === 'requests' && segs.length === 3) return { kind: 'lab-requests' };
  if (segs[0] === 'lab' && segs[1] === 'v1' && segs[2] === 'requests' && segs[3] === 'log' && segs.length === 4) return { kind: 'lab-request-log' };
  if (segs[0] === 'lab' && segs[1] === 'v1' && segs[2] === 'audit' && segs.length === 3) return { kind: 'lab-audit' };
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length === 1) return { kind: 'core-versions' };
    group = '';
    version = segs[1] as string;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) return { kind: 'group-list' };
    if (segs.length === 2) return { kind: 'group', group: segs[1] as string };
    group = segs[1] as string;
    version = segs[2] as string;
    rest = segs.slice(3);
  } else return undefined;
  if (rest.length === 0) return { kind: 'resource-list', group, version };
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && coreNamespaceSubresources.has(rest[2] as string))) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural = '', name, subresource, ...extra] = rest;
  const info = findResourceIn(group, version, plural);
  if (!info || extra.length > 0) return undefined;
  if (namespace !== undefined && !info.namespaced) return undefined;
  if (subresource !== undefined && !info.subresources.some((s) => s.name === subresource)) return undefined;
  const route: Route = { kind: 'resource', info };
  if (namespace !== undefined) route.namespace = namespace;
  if (name !== undefined) route.name = name;
  if (subresource !== undefined) route.subresource = subresource;
  return route;
}

/** The RBAC verb of a request. */
function readVerb(method: string, route: Extract<Route, { kind: 'resource' }>, query: URLSearchParams): string {
  const watch = ['true', '1'].includes(query.get('watch') ?? '');
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return route.name === undefined ? 'list' : 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return route.name === undefined ? 'deletecollection' : 'delete';
    default:
      return method.toLowerCase();
  }
}

const jsonHeaders = { 'Content-Type': 'application/json' } as const;

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { ...jsonHeaders, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: ServerResponse, err: unknown): void {
  const status = toStatus(err);
  sendJson(res, status.code, status);
}

/** Writes a Status as a raw HTTP response on a socket that was about to be upgraded. */
function rejectUpgrade(socket: Duplex, err: unknown): void {
  const status: StatusBody = toStatus(err);
  const text = JSON.stringify(status);
  socket.end(
    `HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/** Reads the whole request body as text (every body is read before answering, so keep-alive connections stay usable). */
async function readBodyText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024 * 1024) throw new StatusError(413, 'RequestEntityTooLarge', 'the request body is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a request body as JSON (undefined when empty). */
function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`the server rejected our request due to an error in our request: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function requireObject(body: unknown): KubeObject {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
  const obj = body as KubeObject;
  if (obj.metadata === undefined || obj.metadata === null || typeof obj.metadata !== 'object') obj.metadata = {};
  return obj;
}

function readInclude(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

/** Everything handlers share for one request. */
interface Ctx {
  opts: ApiServerOptions;
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  route: Extract<Route, { kind: 'resource' }>;
  verb: string;
  /** The raw request body ('' for none). */
  body: string;
  watches: Set<ServerResponse>;
  /** Records what Pod Security admission said about this request (Warning headers, audit annotations). */
  admitted(outcome: PodSecurityOutcome): void;
}

/** One audit event the lab keeps: a request Pod Security admission annotated (the `audit` mode's only output). */
export interface AuditEvent {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
  annotations: Record<string, string>;
}

/** Formats a warning as the HTTP Warning header the API server sends (299, agent "-", quoted text). */
function warningHeader(text: string): string {
  return `299 - "${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function namespaceOrFail(store: ObjectStore, namespace: string): KubeObject {
  const ns = store.get('namespaces', undefined, namespace);
  if (!ns) throw notFound('namespaces', namespace);
  return ns;
}

function handleList(ctx: Ctx): void {
  const { route, query, opts, res } = ctx;
  const limit = Number(query.get('limit') ?? '0');
  const result = opts.store.list(route.info.plural, route.namespace, {
    labelSelector: query.get('labelSelector') ?? '',
    fieldSelector: query.get('fieldSelector') ?? '',
    limit: Number.isInteger(limit) && limit > 0 ? limit : 0,
    continue: query.get('continue') ?? '',
  });
  if (wantsTable(ctx.req.headers.accept)) {
    const table = renderTable(route.info.plural, result.items, { include: readInclude(query), resourceVersion: result.resourceVersion, continue: result.continue });
    sendJson(res, 200, table);
    return;
  }
  const metadata: Record<string, string> = { resourceVersion: result.resourceVersion };
  if (result.continue) metadata['continue'] = result.continue;
  sendJson(res, 200, { kind: `${route.info.kind}List`, apiVersion: formatApiVersion(route.info), metadata, items: result.items });
}

function handleGet(ctx: Ctx): void {
  const { route, opts, res } = ctx;
  const obj = opts.store.mustGet(route.info.plural, route.namespace, route.name as string);
  if (wantsTable(ctx.req.headers.accept) && route.subresource === undefined) {
    sendJson(res, 200, renderTable(route.info.plural, [obj], { include: readInclude(ctx.query) }));
    return;
  }
  sendJson(res, 200, obj);
}

/** Streams watch events as newline-delimited JSON until timeoutSeconds, the client leaving, or the server closing. */
function handleWatch(ctx: Ctx): void {
  const { route, query, opts, req, res } = ctx;
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  let fieldText = query.get('fieldSelector') ?? '';
  if (route.name !== undefined) fieldText = [fieldText, `metadata.name=${route.name}`].filter((s) => s !== '').join(',');
  const fields = parseFieldSelector(route.info.plural, fieldText);
  const asTable = wantsTable(req.headers.accept);
  const include = readInclude(query);
  const matches = (obj: KubeObject | undefined) => obj !== undefined && matchesLabels(labels, obj.metadata.labels) && matchesFields(fields, obj);
  res.writeHead(200, { ...jsonHeaders, 'Cache-Control': 'no-cache, private' });
  // HTTP/1.1 holds the headers back until the first write; HTTP/2's writeHead has already sent them.
  if (typeof res.flushHeaders === 'function') res.flushHeaders();
  let headersSent = false;
  const write = (type: string, object: unknown) => {
    if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const deliver = (event: StoreEvent) => {
    const nowMatches = matches(event.object);
    const oldMatches = event.oldObject !== undefined && matches(event.oldObject);
    let type: StoreEvent['type'] | undefined;
    if (event.type === 'ADDED') type = nowMatches ? 'ADDED' : undefined;
    else if (event.type === 'DELETED') type = oldMatches || nowMatches ? 'DELETED' : undefined;
    else if (nowMatches) type = oldMatches ? 'MODIFIED' : 'ADDED';
    else if (oldMatches) type = 'DELETED';
    if (!type) return;
    if (asTable) {
      write(type, renderTable(route.info.plural, [event.object], { include, resourceVersion: event.object.metadata.resourceVersion, noHeaders: headersSent }));
      headersSent = true;
    } else write(type, event.object);
  };
  let unsubscribe: (() => void) | undefined;
  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '1800');
  const timer = setTimeout(() => res.end(), (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : 1800) * 1000);
  const stop = () => {
    clearTimeout(timer);
    unsubscribe?.();
    ctx.watches.delete(res);
  };
  ctx.watches.add(res);
  res.on('close', stop);
  res.on('finish', stop);
  try {
    unsubscribe = opts.store.watch(route.info.plural, route.namespace, query.get('resourceVersion') ?? undefined, deliver);
  } catch (err) {
    write('ERROR', toStatus(err));
    res.end();
  }
}

/** Applies subresource rules to a proposed new version of an object and runs admission. */
function prepareWrite(ctx: Ctx, current: KubeObject, proposed: KubeObject): KubeObject {
  const { route, opts } = ctx;
  const spec = (o: KubeObject) => (o['spec'] ?? {}) as Record<string, unknown>;
  switch (route.subresource) {
    case undefined: {
      const next: KubeObject = { ...proposed };
      if (route.info.hasStatus && current['status'] !== undefined) next['status'] = current['status'];
      if (route.info.plural === 'pods') {
        const ecs = spec(current)['ephemeralContainers'];
        const nextSpec = { ...spec(proposed) };
        if (ecs === undefined) delete nextSpec['ephemeralContainers'];
        else nextSpec['ephemeralContainers'] = ecs;
        next['spec'] = nextSpec;
      }
      return next;
    }
    case 'status':
      return { ...current, metadata: { ...current.metadata, resourceVersion: proposed.metadata.resourceVersion }, status: proposed['status'] };
    case 'ephemeralcontainers': {
      const next: KubeObject = {
        ...current,
        metadata: { ...current.metadata, resourceVersion: proposed.metadata.resourceVersion },
        spec: { ...spec(current), ephemeralContainers: spec(proposed)['ephemeralContainers'] ?? [] },
      };
      validateEphemeralContainers(current, next);
      ctx.admitted(admitPodSecurity(next, opts.store.get('namespaces', undefined, current.metadata.namespace ?? '')));
      return next;
    }
    default:
      throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }
}

function handleUpdate(ctx: Ctx): void {
  const { route, opts, res } = ctx;
  const name = route.name as string;
  const body = requireObject(parseBody(ctx.body));
  if (body.metadata.name !== undefined && body.metadata.name !== name) {
    throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
  }
  const current = opts.store.mustGet(route.info.plural, route.namespace, name);
  const proposed: KubeObject = { ...body, metadata: { ...body.metadata, name, namespace: current.metadata.namespace } };
  const next = prepareWrite(ctx, current, proposed);
  sendJson(res, 200, opts.store.update(route.info.plural, next));
}

function handlePatch(ctx: Ctx): void {
  const { route, opts, res } = ctx;
  const body = parseBody(ctx.body);
  const current = opts.store.mustGet(route.info.plural, route.namespace, route.name as string);
  const patched = requireObject(applyPatch(ctx.req.headers['content-type'] ?? '', current, body));
  patched.metadata = { ...patched.metadata, name: current.metadata.name, namespace: current.metadata.namespace, uid: current.metadata.uid };
  patched.metadata.resourceVersion ??= current.metadata.resourceVersion;
  const next = prepareWrite(ctx, current, patched);
  sendJson(res, 200, opts.store.update(route.info.plural, next));
}

function defaultPod(pod: KubeObject): KubeObject {
  const spec = { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', ...((pod['spec'] ?? {}) as Record<string, unknown>) };
  const status = { phase: 'Pending', ...((pod['status'] ?? {}) as Record<string, unknown>) };
  return { ...pod, spec, status };
}

function handleCreate(ctx: Ctx): void {
  const { route, opts, res } = ctx;
  if (route.info.plural === 'selfsubjectaccessreviews') {
    handleAccessReview(ctx, requireObject(parseBody(ctx.body)));
    return;
  }
  if (route.info.plural === 'selfsubjectrulesreviews') {
    handleRulesReview(ctx, requireObject(parseBody(ctx.body)));
    return;
  }
  if (route.name !== undefined) throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  let obj = requireObject(parseBody(ctx.body));
  if (route.info.namespaced) {
    if (route.namespace === undefined) throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    if (obj.metadata.namespace && obj.metadata.namespace !== route.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj = { ...obj, metadata: { ...obj.metadata, namespace: route.namespace } };
    const ns = namespaceOrFail(opts.store, route.namespace);
    if (route.info.plural === 'pods') {
      obj = defaultPod(obj);
      ctx.admitted(admitPodSecurity({ ...obj, metadata: { ...obj.metadata, name: obj.metadata.name ?? obj.metadata.generateName ?? '' } }, ns));
    }
  }
  if (route.info.plural === 'namespaces') obj = { ...obj, status: { phase: 'Active' } };
  const { metadata } = obj;
  delete metadata.resourceVersion;
  delete metadata.uid;
  delete metadata.creationTimestamp;
  sendJson(res, 201, opts.store.create(route.info.plural, obj));
}

function handleDelete(ctx: Ctx): void {
  const { route, opts, res } = ctx;
  const deleted = opts.store.delete(route.info.plural, route.namespace, route.name as string);
  if (route.info.plural === 'namespaces') {
    // namespace deletion is immediate in the lab: remove what it held
    for (const info of RESOURCES.filter((r) => r.namespaced && r.verbs.includes('list'))) {
      for (const obj of opts.store.list(info.plural, deleted.metadata.name).items) {
        opts.store.delete(info.plural, obj.metadata.namespace, obj.metadata.name ?? '');
      }
    }
  }
  sendJson(res, 200, deleted);
}

/**
 * DELETE on a collection (`deletecollection`): deletes every object the label and field selectors match in the
 * namespace, and answers with the list of what it deleted, as the apiserver does.
 */
function handleDeleteCollection(ctx: Ctx): void {
  const { route, query, opts, res } = ctx;
  if (!route.info.namespaced || route.namespace === undefined) throw new StatusError(405, 'MethodNotAllowed', 'the lab deletes collections only within a namespace');
  const matched = opts.store.list(route.info.plural, route.namespace, { labelSelector: query.get('labelSelector') ?? '', fieldSelector: query.get('fieldSelector') ?? '', limit: 0, continue: '' });
  const items = matched.items.map((obj) => opts.store.delete(route.info.plural, obj.metadata.namespace, obj.metadata.name ?? ''));
  sendJson(res, 200, { kind: `${route.info.kind}List`, apiVersion: formatApiVersion(route.info), metadata: { resourceVersion: matched.resourceVersion }, items });
}

function handleAccessReview(ctx: Ctx, review: KubeObject): void {
  const spec = (review['spec'] ?? {}) as { resourceAttributes?: Record<string, string | undefined> };
  const attrs = spec.resourceAttributes;
  let allowed = true;
  if (attrs) {
    const request: RequestAttributes = { verb: attrs['verb'] ?? '', group: attrs['group'] ?? '', resource: attrs['resource'] ?? '' };
    if (attrs['subresource']) request.subresource = attrs['subresource'];
    if (attrs['namespace']) request.namespace = attrs['namespace'];
    if (attrs['name']) request.name = attrs['name'];
    allowed = !ctx.opts.rbacDeny.some((rule) => matchesDeny(rule, request));
  }
  const status = allowed ? { allowed: true, reason: 'allowed by the lab' } : { allowed: false, denied: true, reason: 'denied by the scenario rbac rules' };
  sendJson(ctx.res, 201, {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: review['spec'] ?? {},
    status,
  });
}

/** The paths every authenticated user may get (the `system:discovery` and `system:public-info-viewer` roles). */
const DISCOVERY_URLS = ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'];

/**
 * A SelfSubjectRulesReview as the real API answers it: the rules the user has in spec.namespace (cluster-wide ones
 * included). The lab allows everything its scenario does not deny, so each resource and subresource is listed with the
 * verbs no deny rule takes away in that namespace.
 */
function handleRulesReview(ctx: Ctx, review: KubeObject): void {
  const spec = (review['spec'] ?? {}) as { namespace?: string };
  const namespace = spec.namespace ?? '';
  const resourceRules: { verbs: string[]; apiGroups: string[]; resources: string[] }[] = [];
  for (const info of RESOURCES) {
    const targets = [{ resource: info.plural, verbs: info.verbs, subresource: undefined as string | undefined }, ...info.subresources.map((sub) => ({ resource: `${info.plural}/${sub.name}`, verbs: sub.verbs, subresource: sub.name }))];
    for (const t of targets) {
      const verbs = t.verbs.filter((verb) => {
        const request: RequestAttributes = { verb, group: info.group, resource: info.plural, ...(t.subresource ? { subresource: t.subresource } : {}), ...(namespace ? { namespace } : {}) };
        return !ctx.opts.rbacDeny.some((rule) => matchesDeny(rule, request));
      });
      if (verbs.length > 0) resourceRules.push({ verbs, apiGroups: [info.group], resources: [t.resource] });
    }
  }
  sendJson(ctx.res, 201, {
    kind: 'SelfSubjectRulesReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: { namespace },
    status: { resourceRules, nonResourceRules: [{ verbs: ['get'], nonResourceURLs: DISCOVERY_URLS }], incomplete: false },
  });
}

async function handleLog(ctx: Ctx): Promise<void> {
  const { route, opts, res } = ctx;
  opts.store.mustGet('pods', route.namespace, route.name as string);
  const text = await opts.kubelet.logs(route.namespace ?? '', route.name as string, ctx.query.get('container') ?? undefined);
  // the one non-JSON response: a real apiserver serves logs as text/plain
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Dispatches a routed resource request to its handler. */
async function handleResource(ctx: Ctx): Promise<void> {
  const { route, verb, req } = ctx;
  if (route.subresource === 'exec') {
    throw badRequest(
      req.method === 'POST'
        ? 'the lab API server only supports exec over WebSocket (v5.channel.k8s.io / v4.channel.k8s.io); SPDY is not supported'
        : 'Upgrade request required',
    );
  }
  if (route.subresource === 'log') {
    if (verb !== 'get') throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    await handleLog(ctx);
    return;
  }
  switch (verb) {
    case 'list':
      handleList(ctx);
      return;
    case 'watch':
      handleWatch(ctx);
      return;
    case 'get':
      handleGet(ctx);
      return;
    case 'create':
      handleCreate(ctx);
      return;
    case 'update':
      handleUpdate(ctx);
      return;
    case 'patch':
      handlePatch(ctx);
      return;
    case 'delete':
      handleDelete(ctx);
      return;
    case 'deletecollection':
      handleDeleteCollection(ctx);
      return;
    default:
      throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }
}

/** Throws 400 like the real apiserver when an exec names a container the pod does not have. */
function checkContainer(pod: KubeObject, container: string | undefined): void {
  if (container === undefined) return;
  const spec = (pod['spec'] ?? {}) as Record<string, { name?: string }[] | undefined>;
  const names = ['containers', 'initContainers', 'ephemeralContainers'].flatMap((f) => (spec[f] ?? []).map((c) => c.name));
  if (!names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name ?? ''}`);
}

function attributesOf(route: Extract<Route, { kind: 'resource' }>, verb: string): RequestAttributes {
  const attrs: RequestAttributes = { verb, group: route.info.group, resource: route.info.plural };
  if (route.subresource !== undefined) attrs.subresource = route.subresource;
  if (route.namespace !== undefined) attrs.namespace = route.namespace;
  if (route.name !== undefined) attrs.name = route.name;
  return attrs;
}

function isAuthorized(req: IncomingMessage, token: string): boolean {
  return req.headers.authorization === `Bearer ${token}`;
}

const unauthorized = new StatusError(401, 'Unauthorized', 'Unauthorized');

/** Starts the lab API server on 127.0.0.1 with an ephemeral port. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServerHandle> {
  const counts = new Map<string, number>();
  /** The API resource requests since start or the last reset, with their scope: what an efficiency test asserts on. */
  const log: LoggedRequest[] = [];
  const audit: AuditEvent[] = [];
  const watches = new Set<ServerResponse>();
  const wss = createExecSocketServer();
  let serverAddress = '127.0.0.1:0';

  /** Counts a request under `verb resource[/subresource]` for API resources (`list pods`, `create pods/exec`), `get /api` for the rest. */
  const count = (method: string, path: string, route: Route | undefined, verb: string) => {
    const key =
      route?.kind === 'resource'
        ? `${verb} ${route.subresource ? `${route.info.plural}/${route.subresource}` : route.info.plural}`
        : `${method.toLowerCase()} ${path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  const record = (route: Route | undefined, verb: string, params: URLSearchParams): void => {
    if (route?.kind !== 'resource' || log.length >= MAX_LOGGED_REQUESTS) return;
    const resource = route.subresource ? `${route.info.plural}/${route.subresource}` : route.info.plural;
    const labelSelector = params.get('labelSelector') ?? '';
    const fieldSelector = params.get('fieldSelector') ?? '';
    const limit = Number(params.get('limit') ?? '0');
    log.push({
      verb,
      resource,
      ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
      ...(route.name !== undefined ? { name: route.name } : {}),
      ...(labelSelector !== '' ? { labelSelector } : {}),
      ...(fieldSelector !== '' ? { fieldSelector } : {}),
      ...(Number.isInteger(limit) && limit > 0 ? { limit } : {}),
    });
  };

  const handleRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://lab.invalid');
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'HEAD' ? '' : await readBodyText(req);
    const route = routePath(url.pathname);
    if (route?.kind === 'lab-requests') {
      if (!isAuthorized(req, opts.token)) throw unauthorized;
      if (method === 'DELETE') {
        counts.clear();
        log.length = 0;
      }
      sendJson(res, 200, Object.fromEntries(counts));
      return;
    }
    if (route?.kind === 'lab-request-log') {
      if (!isAuthorized(req, opts.token)) throw unauthorized;
      sendJson(res, 200, log);
      return;
    }
    if (route?.kind === 'lab-audit') {
      if (!isAuthorized(req, opts.token)) throw unauthorized;
      sendJson(res, 200, audit);
      return;
    }
    await delay(opts.apiLatencyMs ?? 0);
    const verb = route?.kind === 'resource' ? readVerb(method, route, url.searchParams) : method.toLowerCase();
    count(method, url.pathname, route, verb);
    record(route, verb, url.searchParams);
    if (!isAuthorized(req, opts.token)) throw unauthorized;
    if (!route) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (route.kind !== 'resource' && method !== 'GET' && method !== 'HEAD') {
      throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
    const discovered = (doc: Record<string, unknown> | undefined) => {
      if (!doc) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
      // aggregated discovery is not served: answering with plain application/json makes clients fall back to these
      sendJson(res, 200, doc);
    };
    switch (route.kind) {
      case 'version':
        sendJson(res, 200, renderVersion());
        return;
      case 'core-versions':
        discovered(renderCoreVersions(serverAddress));
        return;
      case 'group-list':
        discovered(renderGroupList());
        return;
      case 'group':
        discovered(renderGroup(route.group));
        return;
      case 'resource-list':
        discovered(renderResourceList(route.group, route.version));
        return;
      case 'resource':
        if (route.info.plural !== 'selfsubjectaccessreviews' && route.info.plural !== 'selfsubjectrulesreviews') authorize(opts.rbacDeny, attributesOf(route, verb));
        await handleResource({
          opts, req, res, query: url.searchParams, route, verb, body, watches,
          admitted: (outcome) => {
            if (outcome.warnings.length > 0) res.setHeader('Warning', outcome.warnings.map(warningHeader));
            if (Object.keys(outcome.auditAnnotations).length > 0 && audit.length < MAX_LOGGED_REQUESTS) {
              audit.push({
                verb,
                resource: route.subresource ? `${route.info.plural}/${route.subresource}` : route.info.plural,
                ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
                ...(route.name !== undefined ? { name: route.name } : {}),
                annotations: outcome.auditAnnotations,
              });
            }
          },
        });
        return;
      default: {
        const never: never = route;
        throw new Error(`unrouted ${JSON.stringify(never)}`);
      }
    }
  };

  const handleUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'https://lab.invalid');
    const route = routePath(url.pathname);
    const isExec = route?.kind === 'resource' && route.info.plural === 'pods' && route.subresource === 'exec' && route.name !== undefined;
    if (isExec) {
      count(req.method ?? 'GET', url.pathname, route, 'create');
      record(route, 'create', url.searchParams);
    }
    if (!isAuthorized(req, opts.token)) throw unauthorized;
    if (!isExec || route.kind !== 'resource') throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    // before 1.35 a websocket exec is authorized as get, from 1.35 also as create: deny either
    authorize(opts.rbacDeny, attributesOf(route, 'get'));
    authorize(opts.rbacDeny, attributesOf(route, 'create'));
    const pod = opts.store.mustGet('pods', route.namespace, route.name as string);
    const execReq = readExecRequest(route.namespace ?? '', route.name as string, url.searchParams);
    if (execReq.command.length === 0) throw badRequest('you must specify at least 1 command');
    checkContainer(pod, execReq.container);
    // kubectl falls back to SPDY (POST) when the websocket upgrade fails: give it the same errors, then say why SPDY is refused
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      throw badRequest('the lab API server supports exec only over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io), not SPDY');
    }
    if (!pickExecProtocol(readOfferedProtocols(req))) {
      throw badRequest(`unable to upgrade: none of the offered subprotocols is supported (supported: v5.channel.k8s.io, v4.channel.k8s.io)`);
    }
    await delay(opts.apiLatencyMs ?? 0);
    const proc = await opts.kubelet.exec(execReq);
    serveExecSocket(wss, req, socket, head, execReq, proc);
  };

  // Go's HTTP/2 server allows 250 concurrent streams per connection by default; kube-apiserver takes its own from
  // --http2-max-streams-per-connection (k8s.io/apiserver's recommended options set 1000). A run never nears either.
  const server = createSecureServer({ cert: opts.tls.cert, key: opts.tls.key, allowHTTP1: true, settings: { maxConcurrentStreams: 250 } }, (req, res) => {
    // The HTTP/2 compatibility request and response offer what the handlers use of Node's HTTP/1 ones.
    const response = res as unknown as ServerResponse;
    handleRequest(req as unknown as IncomingMessage, response).catch((err: unknown) => {
      if (response.headersSent) response.end();
      else sendStatus(response, err);
    });
  });
  const sessions = new Set<Http2Session>();
  const sockets = new Set<Socket>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.on('error', () => undefined);
    session.on('close', () => sessions.delete(session));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    handleUpgrade(req, socket, head).catch((err: unknown) => rejectUpgrade(socket, err));
  });

  // With latency, connections are accepted by a plain TCP listener that hands each one to the TLS server two round
  // trips later: the client's ClientHello waits (unread) as long as a remote control plane's handshakes would take.
  const handshakeMs = 2 * (opts.apiLatencyMs ?? 0);
  const accepting = new Set<Socket>();
  const listener =
    handshakeMs > 0
      ? createTcpServer({ pauseOnConnect: true }, (socket) => {
          accepting.add(socket);
          socket.on('error', () => undefined);
          const timer = setTimeout(() => {
            accepting.delete(socket);
            if (!socket.destroyed) server.emit('connection', socket);
          }, handshakeMs);
          socket.once('close', () => {
            clearTimeout(timer);
            accepting.delete(socket);
          });
        })
      : server;
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (listener.address() as AddressInfo).port;
  serverAddress = `127.0.0.1:${port}`;

  return {
    url: `https://127.0.0.1:${port}`,
    port,
    requestCounts: () => Object.fromEntries(counts),
    close: async () => {
      for (const res of watches) res.end();
      for (const client of wss.clients) client.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      if (listener !== server) server.close();
      for (const socket of accepting) socket.destroy();
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
