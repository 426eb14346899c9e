/**
 * The lab API's in-memory object store: objects per resource plural, a global resourceVersion counter, indexes for
 * cheap namespace / node lookups, list pagination and watches with a bounded event history.
 */
import { randomUUID } from 'node:crypto';
import { findResource, formatApiVersion, type ResourceInfo } from './resources.ts';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { StatusError, badRequest, notFound } from './status.ts';

/** Object metadata as the store reads and assigns it. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Any Kubernetes object; objects handed out by the store are deep-frozen: clone before changing. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** A change to one object, as watches deliver it. */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: string;
  object: KubeObject;
  /** The object before a MODIFIED or DELETED change (lets selector-filtered watches compute transitions). */
  oldObject?: KubeObject;
  resourceVersion: number;
}

/** Options of a list. */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; 0 or undefined means everything. */
  limit?: number;
  /** The opaque token from a previous page. */
  continue?: string;
}

/** One list answer. */
export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  /** Set when more items remain; pass back as ListOptions.continue. */
  continue?: string;
}

/** Stops a watch. */
export type Unsubscribe = () => void;

interface Subscriber {
  resource: string;
  namespace: string | undefined;
  handler: (event: StoreEvent) => void;
}

/** Whether an event concerns a watch on resource (in namespace, or everywhere when undefined). */
function isInScope(sub: Pick<Subscriber, 'resource' | 'namespace'>, event: StoreEvent): boolean {
  return event.resource === sub.resource && (!sub.namespace || event.object.metadata.namespace === sub.namespace);
}

const generateNameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** Freezes an object and everything it holds, so shared references cannot be changed behind the store's back. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The current time as Kubernetes timestamps carry it (whole seconds). */
function formatNow(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function nodeNameOf(obj: KubeObject): string | undefined {
  const spec = obj['spec'] as { nodeName?: unknown } | undefined;
  return typeof spec?.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : undefined;
}

/** Index of the first element of a sorted array greater than key. */
function upperBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 1, rv, start })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; start?: unknown };
    if (parsed.v === 1 && typeof parsed.rv === 'number' && typeof parsed.start === 'string') return { rv: parsed.rv, start: parsed.start };
  } catch {
    // fall through to the error below
  }
  throw badRequest(`invalid continue token: ${token}`);
}

/** In-memory Kubernetes object store with resourceVersions, indexes, pagination and watches. */
export class ObjectStore {
  #rv = 0;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  /** resource → namespace → keys */
  readonly #byNamespace = new Map<string, Map<string, Set<string>>>();
  /** pod keys by spec.nodeName */
  readonly #podsByNode = new Map<string, Set<string>>();
  /** resource + scope → sorted keys; dropped whenever keys are added or removed */
  readonly #sortedCache = new Map<string, string[]>();
  readonly #subscribers = new Set<Subscriber>();
  readonly #history: StoreEvent[] = [];
  readonly #historyLimit: number;
  /** The highest resourceVersion whose event has been dropped from the history. */
  #compactedThrough = 0;
  readonly #pending: StoreEvent[] = [];
  #draining = false;

  /** Creates an empty store; historyLimit bounds how many past events a watch can replay. */
  constructor(opts: { historyLimit?: number } = {}) {
    this.#historyLimit = opts.historyLimit ?? 20_000;
  }

  /** The current global resourceVersion. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  #info(resource: string): ResourceInfo {
    const info = findResource(resource);
    if (!info) throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${resource})`);
    return info;
  }

  #table(resource: string): Map<string, KubeObject> {
    let table = this.#objects.get(resource);
    if (!table) {
      this.#info(resource);
      table = new Map();
      this.#objects.set(resource, table);
    }
    return table;
  }

  #namespaced(resource: string): boolean {
    return findResource(resource)?.namespaced ?? false;
  }

  #index(resource: string, key: string, obj: KubeObject, add: boolean): void {
    const ns = obj.metadata.namespace;
    if (ns) {
      let nsMap = this.#byNamespace.get(resource);
      if (!nsMap) this.#byNamespace.set(resource, (nsMap = new Map()));
      let keys = nsMap.get(ns);
      if (!keys) nsMap.set(ns, (keys = new Set()));
      if (add) keys.add(key);
      else keys.delete(key);
    }
    const node = resource === 'pods' ? nodeNameOf(obj) : undefined;
    if (node) {
      let keys = this.#podsByNode.get(node);
      if (!keys) this.#podsByNode.set(node, (keys = new Set()));
      if (add) keys.add(key);
      else keys.delete(key);
    }
  }

  #dropSorted(resource: string): void {
    for (const cacheKey of this.#sortedCache.keys()) if (cacheKey.startsWith(`${resource}|`)) this.#sortedCache.delete(cacheKey);
  }

  #prepare(resource: string, obj: KubeObject, namespace: string | undefined): KubeObject {
    const info = this.#info(resource);
    const metadata: ObjectMeta = { ...obj.metadata };
    if (!metadata.name && metadata.generateName) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += generateNameAlphabet[Math.floor(Math.random() * generateNameAlphabet.length)];
      metadata.name = metadata.generateName + suffix;
    }
    if (!metadata.name) throw new StatusError(422, 'Invalid', `${info.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, { kind: info.kind, causes: [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }] });
    if (info.namespaced) {
      metadata.namespace = namespace ?? metadata.namespace;
      if (!metadata.namespace) throw badRequest('the namespace of the object is required');
    } else delete metadata.namespace;
    return { ...obj, apiVersion: obj.apiVersion ?? formatApiVersion(info), kind: obj.kind ?? info.kind, metadata };
  }

  /** Stores a new object with uid, resourceVersion and creationTimestamp (default now); 409 if it exists. */
  #insert(resource: string, obj: KubeObject, now: string): StoreEvent {
    const table = this.#table(resource);
    const prepared = this.#prepare(resource, obj, obj.metadata.namespace);
    const name = prepared.metadata.name as string;
    const key = keyOf(prepared.metadata.namespace, name);
    if (table.has(key)) {
      throw new StatusError(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, group: this.#info(resource).group, kind: resource });
    }
    prepared.metadata.uid = randomUUID();
    prepared.metadata.creationTimestamp ??= now;
    prepared.metadata.resourceVersion = String(++this.#rv);
    const stored = deepFreeze(prepared);
    table.set(key, stored);
    this.#index(resource, key, stored, true);
    return { type: 'ADDED', resource, object: stored, resourceVersion: this.#rv };
  }

  /** Creates an object; assigns uid, resourceVersion and creationTimestamp (and a name from generateName). 409 if it exists. */
  create(resource: string, obj: KubeObject): KubeObject {
    const event = this.#insert(resource, obj, formatNow());
    this.#dropSorted(resource);
    this.#emit(event);
    return event.object;
  }

  /** Loads many objects at once (synthetic scale data), queueing their events and dropping sorted caches once. */
  bulkLoad(resource: string, objs: readonly KubeObject[]): void {
    const now = formatNow();
    for (const obj of objs) this.#record(this.#insert(resource, obj, now), this.#subscribers.size > 0);
    this.#dropSorted(resource);
    this.#drain();
  }

  /** Returns one object or undefined. */
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#table(resource).get(keyOf(this.#namespaced(resource) ? namespace : undefined, name));
  }

  /** Returns one object or throws 404 NotFound. */
  mustGet(resource: string, namespace: string | undefined, name: string): KubeObject {
    const obj = this.get(resource, namespace, name);
    if (!obj) throw notFound(resource, name);
    return obj;
  }

  #sortedKeys(resource: string, namespace: string | undefined, nodeName: string | undefined): string[] {
    if (nodeName !== undefined) {
      // node-scoped pod lists are small: sort on demand
      const keys = [...(this.#podsByNode.get(nodeName) ?? [])];
      return (namespace ? keys.filter((k) => k.startsWith(`${namespace}/`)) : keys).sort();
    }
    const cacheKey = `${resource}|${namespace ?? '*'}`;
    let sorted = this.#sortedCache.get(cacheKey);
    if (!sorted) {
      const source = namespace ? this.#byNamespace.get(resource)?.get(namespace) : this.#table(resource).keys();
      sorted = [...(source ?? [])].sort();
      this.#sortedCache.set(cacheKey, sorted);
    }
    return sorted;
  }

  /** Lists objects (a namespace or all), filtered by selectors, optionally one page at a time. */
  list(resource: string, namespace: string | undefined, opts: ListOptions = {}): ListResult {
    const table = this.#table(resource);
    const ns = this.#namespaced(resource) ? namespace : undefined;
    const labels = parseLabelSelector(opts.labelSelector ?? '');
    const fields = parseFieldSelector(resource, opts.fieldSelector ?? '');
    const nodeReq = resource === 'pods' ? fields.find((f) => f.field === 'spec.nodeName' && f.op === 'eq' && f.value !== '') : undefined;
    const nameReq = fields.find((f) => f.field === 'metadata.name' && f.op === 'eq');
    let rv = this.#rv;
    let keys: readonly string[];
    let start = 0;
    if (nameReq && (ns || !this.#namespaced(resource))) keys = [keyOf(ns, nameReq.value)];
    else keys = this.#sortedKeys(resource, ns, nodeReq?.value);
    if (opts.continue) {
      const token = decodeContinue(opts.continue);
      rv = token.rv;
      start = upperBound(keys, token.start);
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const items: KubeObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    for (let i = start; i < keys.length; i++) {
      const key = keys[i] as string;
      const obj = table.get(key);
      if (!obj) continue;
      if (labels.length > 0 && !matchesLabels(labels, obj.metadata.labels)) continue;
      if (fields.length > 0 && !matchesFields(fields, obj)) continue;
      if (items.length >= limit) {
        more = true;
        break;
      }
      items.push(obj);
      lastKey = key;
    }
    const result: ListResult = { items, resourceVersion: String(rv) };
    if (more && lastKey !== undefined) result.continue = encodeContinue(rv, lastKey);
    return result;
  }

  /** Replaces an object; a set metadata.resourceVersion must match the stored one (409 Conflict otherwise). */
  update(resource: string, obj: KubeObject): KubeObject {
    const table = this.#table(resource);
    const namespaced = this.#namespaced(resource);
    const name = obj.metadata.name ?? '';
    const key = keyOf(namespaced ? obj.metadata.namespace : undefined, name);
    const old = table.get(key);
    if (!old) throw notFound(resource, name);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw new StatusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, kind: resource },
      );
    }
    const prepared = this.#prepare(resource, obj, old.metadata.namespace);
    prepared.metadata.uid = old.metadata.uid;
    prepared.metadata.creationTimestamp = old.metadata.creationTimestamp;
    prepared.metadata.resourceVersion = String(++this.#rv);
    const stored = deepFreeze(prepared);
    this.#index(resource, key, old, false);
    table.set(key, stored);
    this.#index(resource, key, stored, true);
    this.#emit({ type: 'MODIFIED', resource, object: stored, oldObject: old, resourceVersion: this.#rv });
    return stored;
  }

  /** Changes an object through fn, which gets a mutable deep copy and may return a replacement; 404 if absent. */
  mutate(resource: string, namespace: string | undefined, name: string, fn: (obj: KubeObject) => KubeObject | void): KubeObject {
    const current = this.mustGet(resource, namespace, name);
    const copy = structuredClone(current);
    const next = fn(copy) ?? copy;
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    return this.update(resource, next);
  }

  /** Deletes an object and returns it as it was; 404 if absent. */
  delete(resource: string, namespace: string | undefined, name: string): KubeObject {
    const table = this.#table(resource);
    const key = keyOf(this.#namespaced(resource) ? namespace : undefined, name);
    const old = table.get(key);
    if (!old) throw notFound(resource, name);
    table.delete(key);
    this.#index(resource, key, old, false);
    this.#dropSorted(resource);
    const rv = ++this.#rv;
    const object = deepFreeze({ ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } });
    this.#emit({ type: 'DELETED', resource, object, oldObject: old, resourceVersion: rv });
    return object;
  }

  /**
   * Watches a resource (one namespace or all). Without sinceResourceVersion (or "0") every current object is first
   * delivered as ADDED; with one, the retained events after it are replayed, or 410 Expired if they are gone.
   */
  watch(resource: string, namespace: string | undefined, sinceResourceVersion: string | undefined, handler: (event: StoreEvent) => void): Unsubscribe {
    const table = this.#table(resource);
    const ns = this.#namespaced(resource) ? namespace : undefined;
    const sub: Subscriber = { resource, namespace: ns, handler };
    if (sinceResourceVersion === undefined || sinceResourceVersion === '' || sinceResourceVersion === '0') {
      const keys = this.#sortedKeys(resource, ns, undefined);
      for (const key of keys) {
        const obj = table.get(key);
        if (obj) handler({ type: 'ADDED', resource, object: obj, resourceVersion: Number(obj.metadata.resourceVersion) });
      }
    } else {
      const since = Number(sinceResourceVersion);
      if (!Number.isInteger(since) || since < 0) throw badRequest(`invalid resource version: ${sinceResourceVersion}`);
      if (since < this.#compactedThrough) {
        throw new StatusError(410, 'Expired', `too old resource version: ${since} (${this.#compactedThrough + 1})`);
      }
      for (const event of this.#history) if (event.resourceVersion > since && isInScope(sub, event)) handler(event);
    }
    this.#subscribers.add(sub);
    return () => {
      this.#subscribers.delete(sub);
    };
  }

  #record(event: StoreEvent, deliver: boolean): void {
    this.#history.push(event);
    // compact in batches so a bulk load does not shift the whole history per event
    if (this.#history.length > this.#historyLimit * 1.5) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyLimit);
      this.#compactedThrough = dropped.at(-1)?.resourceVersion ?? this.#compactedThrough;
    }
    if (deliver) this.#pending.push(event);
  }

  #emit(event: StoreEvent): void {
    this.#record(event, true);
    this.#drain();
  }

  /** Delivers queued events in order, even when a handler changes the store while being called. */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let event = this.#pending.shift(); event; event = this.#pending.shift()) {
        for (const sub of [...this.#subscribers]) {
          if (!isInScope(sub, event) || !this.#subscribers.has(sub)) continue;
          try {
            sub.handler(event);
          } catch (err) {
            console.error(`lab api store: watch handler failed: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}
