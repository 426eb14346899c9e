import { describe, expect, it } from 'vitest';
import { ObjectStore, type KubeObject, type StoreEvent } from './api/store.ts';

function pod(name: string, namespace: string, node: string, labels: Record<string, string> = {}): KubeObject {
  return { metadata: { name, namespace, labels }, spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] } };
}

function seeded(): ObjectStore {
  const store = new ObjectStore();
  store.create('namespaces', { metadata: { name: 'default' } });
  store.create('pods', pod('a', 'default', 'node-1', { app: 'web' }));
  store.create('pods', pod('b', 'default', 'node-2', { app: 'db' }));
  store.create('pods', pod('c', 'shop', 'node-1', { app: 'web' }));
  return store;
}

describe('ObjectStore CRUD', () => {
  it('assigns uid, a monotonically increasing resourceVersion, creationTimestamp, apiVersion and kind', () => {
    const store = new ObjectStore();
    const a = store.create('pods', pod('a', 'default', 'n'));
    const b = store.create('deployments', { metadata: { name: 'd', namespace: 'default' } });
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(b.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
    expect(a.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect([a.apiVersion, a.kind, b.apiVersion, b.kind]).toEqual(['v1', 'Pod', 'apps/v1', 'Deployment']);
    expect(store.resourceVersion).toBe(b.metadata.resourceVersion);
  });

  it('refuses a duplicate with 409 AlreadyExists and an unknown resource with 404', () => {
    const store = seeded();
    expect(() => store.create('pods', pod('a', 'default', 'n'))).toThrow(expect.objectContaining({ code: 409, reason: 'AlreadyExists', message: 'pods "a" already exists' }));
    expect(() => store.create('widgets', { metadata: { name: 'w' } })).toThrow(expect.objectContaining({ code: 404 }));
  });

  it('names from generateName', () => {
    const store = new ObjectStore();
    const p = store.create('pods', { metadata: { generateName: 'debug-', namespace: 'default' } });
    expect(p.metadata.name).toMatch(/^debug-[a-z0-9]{5}$/);
  });

  it('hands out frozen objects so callers cannot change the store behind its back', () => {
    const store = seeded();
    const a = store.mustGet('pods', 'default', 'a');
    expect(() => {
      (a.metadata.labels as Record<string, string>)['x'] = 'y';
    }).toThrow(TypeError);
  });

  it('update bumps the resourceVersion and rejects a stale one with 409 Conflict', () => {
    const store = seeded();
    const a = store.mustGet('pods', 'default', 'a');
    const updated = store.update('pods', { ...structuredClone(a), status: { phase: 'Running' } });
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
    expect(updated.metadata.uid).toBe(a.metadata.uid);
    expect(() => store.update('pods', structuredClone(a))).toThrow(expect.objectContaining({ code: 409, reason: 'Conflict' }));
  });

  it('mutate changes a copy and moves the pod between node indexes', () => {
    const store = seeded();
    store.mutate('pods', 'default', 'a', (obj) => {
      (obj['spec'] as { nodeName: string }).nodeName = 'node-3';
    });
    expect(store.list('pods', undefined, { fieldSelector: 'spec.nodeName=node-3' }).items.map((p) => p.metadata.name)).toEqual(['a']);
    expect(store.list('pods', undefined, { fieldSelector: 'spec.nodeName=node-1' }).items.map((p) => p.metadata.name)).toEqual(['c']);
  });

  it('delete returns the object and a second delete is 404', () => {
    const store = seeded();
    expect(store.delete('pods', 'default', 'a').metadata.name).toBe('a');
    expect(() => store.delete('pods', 'default', 'a')).toThrow(expect.objectContaining({ code: 404, message: 'pods "a" not found' }));
    expect(store.get('pods', 'default', 'a')).toBeUndefined();
  });
});

describe('ObjectStore lists', () => {
  it.each([
    { name: 'all namespaces', namespace: undefined, opts: {}, expected: ['a', 'b', 'c'] },
    { name: 'one namespace', namespace: 'default', opts: {}, expected: ['a', 'b'] },
    { name: 'label selector', namespace: undefined, opts: { labelSelector: 'app=web' }, expected: ['a', 'c'] },
    { name: 'node field selector', namespace: undefined, opts: { fieldSelector: 'spec.nodeName=node-1' }, expected: ['a', 'c'] },
    { name: 'node and namespace', namespace: 'shop', opts: { fieldSelector: 'spec.nodeName=node-1' }, expected: ['c'] },
    { name: 'name field selector', namespace: 'default', opts: { fieldSelector: 'metadata.name=b' }, expected: ['b'] },
    { name: 'name field selector across namespaces', namespace: undefined, opts: { fieldSelector: 'metadata.name=c' }, expected: ['c'] },
    { name: 'node !=', namespace: undefined, opts: { fieldSelector: 'spec.nodeName!=node-1' }, expected: ['b'] },
  ])('$name', ({ namespace, opts, expected }) => {
    expect(seeded().list('pods', namespace, opts).items.map((p) => p.metadata.name)).toEqual(expected);
  });

  it('pages with limit and an opaque continue token, keeping the first page resourceVersion', () => {
    const store = new ObjectStore();
    for (let i = 0; i < 7; i++) store.create('pods', pod(`p${i}`, 'default', 'n'));
    const first = store.list('pods', 'default', { limit: 3 });
    store.create('pods', pod('zz', 'default', 'n'));
    const names = first.items.map((p) => p.metadata.name);
    let token = first.continue;
    while (token) {
      const page = store.list('pods', 'default', { limit: 3, continue: token });
      expect(page.resourceVersion).toBe(first.resourceVersion);
      names.push(...page.items.map((p) => p.metadata.name));
      token = page.continue;
    }
    expect(names).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'zz']);
    expect(() => store.list('pods', 'default', { continue: 'garbage' })).toThrow(expect.objectContaining({ code: 400 }));
  });

  it('a last page exactly at the limit has no continue token', () => {
    const store = new ObjectStore();
    for (let i = 0; i < 4; i++) store.create('pods', pod(`p${i}`, 'default', 'n'));
    const first = store.list('pods', 'default', { limit: 2 });
    const second = store.list('pods', 'default', { limit: 2, continue: first.continue as string });
    expect(second.items).toHaveLength(2);
    expect(second.continue).toBeUndefined();
  });
});

describe('ObjectStore watches', () => {
  it('without a resourceVersion first sends every current object as ADDED, then changes', () => {
    const store = seeded();
    const seen: string[] = [];
    const stop = store.watch('pods', 'default', undefined, (e) => seen.push(`${e.type} ${e.object.metadata.name}`));
    store.create('pods', pod('d', 'default', 'n'));
    store.create('pods', pod('e', 'shop', 'n'));
    store.delete('pods', 'default', 'a');
    stop();
    store.create('pods', pod('f', 'default', 'n'));
    expect(seen).toEqual(['ADDED a', 'ADDED b', 'ADDED d', 'DELETED a']);
  });

  it('from a list resourceVersion replays only later events, with the old object on changes', () => {
    const store = seeded();
    const rv = store.list('pods', undefined).resourceVersion;
    store.mutate('pods', 'default', 'a', (o) => {
      o.metadata.labels = { app: 'other' };
    });
    const events: StoreEvent[] = [];
    store.watch('pods', undefined, rv, (e) => events.push(e));
    expect(events.map((e) => [e.type, e.object.metadata.labels?.['app'], e.oldObject?.metadata.labels?.['app']])).toEqual([['MODIFIED', 'other', 'web']]);
  });

  it('a resourceVersion older than the retained history is 410 Expired', () => {
    const store = new ObjectStore({ historyLimit: 4 });
    store.create('namespaces', { metadata: { name: 'default' } });
    const rv = store.resourceVersion;
    for (let i = 0; i < 10; i++) store.create('pods', pod(`p${i}`, 'default', 'n'));
    expect(() => store.watch('pods', undefined, rv, () => undefined)).toThrow(expect.objectContaining({ code: 410, reason: 'Expired' }));
    expect(() => store.watch('pods', undefined, store.resourceVersion, () => undefined)).not.toThrow();
  });

  it('delivers events in order even when a handler writes to the store', () => {
    const store = new ObjectStore();
    const a: string[] = [];
    const b: string[] = [];
    store.watch('pods', undefined, '1', (e) => {
      a.push(`${e.type} ${e.object.metadata.name}`);
      if (e.type === 'ADDED') store.mutate('pods', e.object.metadata.namespace, e.object.metadata.name ?? '', (o) => ({ ...o, status: { phase: 'Running' } }));
    });
    store.watch('pods', undefined, '1', (e) => b.push(`${e.type} ${e.object.metadata.name}`));
    store.create('pods', pod('x', 'default', 'n'));
    expect(a).toEqual(['ADDED x', 'MODIFIED x']);
    expect(b).toEqual(['ADDED x', 'MODIFIED x']);
  });
});

describe('ObjectStore at scale', () => {
  it('bulk-loads 100,000 pods quickly and lists a node and a page without scanning everything', () => {
    const store = new ObjectStore();
    const pods: KubeObject[] = [];
    for (let i = 0; i < 100_000; i++) pods.push(pod(`pod-${String(i).padStart(6, '0')}`, `ns-${i % 50}`, `node-${i % 500}`, { app: `a${i % 10}` }));
    let t = performance.now();
    store.bulkLoad('pods', pods);
    const loadMs = performance.now() - t;
    t = performance.now();
    const onNode = store.list('pods', undefined, { fieldSelector: 'spec.nodeName=node-7' });
    const nodeMs = performance.now() - t;
    store.list('pods', undefined, { limit: 500 });
    t = performance.now();
    let page = store.list('pods', undefined, { limit: 500 });
    let total = page.items.length;
    while (page.continue) {
      page = store.list('pods', undefined, { limit: 500, continue: page.continue });
      total += page.items.length;
    }
    const pagedMs = performance.now() - t;
    expect(onNode.items).toHaveLength(200);
    expect(total).toBe(100_000);
    expect(store.list('pods', 'ns-3', { labelSelector: 'app=a3', limit: 10 }).items).toHaveLength(10);
    expect(loadMs).toBeLessThan(5000);
    expect(nodeMs).toBeLessThan(50);
    expect(pagedMs).toBeLessThan(2000);
  });
});
