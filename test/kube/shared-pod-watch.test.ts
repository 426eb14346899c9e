/**
 * The run's one watch of its node debug pods (issue 15): each pod's events reach that pod's waiter only, a waiter that
 * subscribes late still sees its pod, and a watch that ends early (closed by the server, 410 Gone) is set up again —
 * from the last resourceVersion, or afresh after 410 — a bounded number of times.
 */
import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { createSharedPodWatch, type StartPodWatch } from '../../src/kube/shared-pod-watch.ts';

interface Req {
  query: Record<string, string>;
  event: (type: string, obj: unknown) => void;
  done: (err: unknown) => void;
  aborted: boolean;
}

function harness(maxRestarts?: number) {
  const reqs: Req[] = [];
  const start: StartPodWatch = (query, event, done) => {
    const r: Req = { query, event, done, aborted: false };
    reqs.push(r);
    const ac = new AbortController();
    ac.signal.addEventListener('abort', () => (r.aborted = true));
    return Promise.resolve(ac);
  };
  const w = createSharedPodWatch({
    labelSelector: 'a=b',
    start,
    countRequest: () => undefined,
    mapError: (err) => new Error(`mapped: ${(err as Error).message}`),
    retryDelayMs: (status, attempt) => (status === 503 && attempt < 2 ? 1 : undefined),
    ...(maxRestarts !== undefined ? { maxRestarts } : {}),
  });
  return { reqs, w };
}

const pod = (name: string, rv: string, phase = 'Pending'): V1Pod => ({ metadata: { name, resourceVersion: rv }, status: { phase } });
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('shared pod watch', () => {
  it('one request for many pods; each waiter gets its own pod only; a late waiter sees the latest event', async () => {
    const { reqs, w } = harness();
    const a: string[] = [];
    const b: string[] = [];
    w.subscribe('a', { onEvent: (t, p) => a.push(`${t} ${p.status?.phase}`), onError: () => undefined });
    await tick();
    reqs[0]?.event('ADDED', pod('a', '1'));
    reqs[0]?.event('ADDED', pod('b', '2', 'Running'));
    w.subscribe('b', { onEvent: (t, p) => b.push(`${t} ${p.status?.phase}`), onError: () => undefined });
    await tick();
    reqs[0]?.event('MODIFIED', pod('a', '3', 'Running'));
    expect(reqs).toHaveLength(1);
    expect(reqs[0]?.query).toEqual({ labelSelector: 'a=b', allowWatchBookmarks: 'true' });
    expect(a).toEqual(['ADDED Pending', 'MODIFIED Running']);
    expect(b).toEqual(['ADDED Running']);
  });

  it('the last waiter gone stops the watch', async () => {
    const { reqs, w } = harness();
    const off = w.subscribe('a', { onEvent: () => undefined, onError: () => undefined });
    await tick();
    off();
    expect(reqs[0]?.aborted).toBe(true);
  });

  it('closed by the server: set up again from the last resourceVersion; 410 Gone: set up afresh', async () => {
    const { reqs, w } = harness();
    const seen: string[] = [];
    w.subscribe('a', { onEvent: (t, p) => seen.push(`${t} ${p.metadata?.resourceVersion}`), onError: (e) => seen.push(e.message) });
    await tick();
    reqs[0]?.event('ADDED', pod('a', '7'));
    reqs[0]?.event('BOOKMARK', { metadata: { resourceVersion: '9' } });
    reqs[0]?.done(null);
    await tick();
    expect(reqs).toHaveLength(2);
    expect(reqs[1]?.query.resourceVersion).toBe('9');
    reqs[1]?.event('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
    await tick();
    expect(reqs[1]?.aborted).toBe(true);
    expect(reqs).toHaveLength(3);
    expect(reqs[2]?.query.resourceVersion).toBeUndefined();
    reqs[2]?.event('ADDED', pod('a', '12', 'Running'));
    expect(seen).toEqual(['ADDED 7', 'ADDED 12']);
  });

  it('ends that repeat without events are bounded: the waiters get an error', async () => {
    const { reqs, w } = harness(2);
    const errors: string[] = [];
    w.subscribe('a', { onEvent: () => undefined, onError: (e) => errors.push(e.message) });
    for (let i = 0; i < 3; i++) {
      await tick();
      reqs[i]?.done(null);
    }
    await tick();
    expect(reqs).toHaveLength(3);
    expect(errors).toEqual(['the watch of the debug pods ended 3 times before they were running']);
  });

  it('a retryable status is set up again; a final one fails every waiter with the mapped error', async () => {
    const { reqs, w } = harness();
    const errors: string[] = [];
    w.subscribe('a', { onEvent: () => undefined, onError: (e) => errors.push(`a: ${e.message}`) });
    w.subscribe('b', { onEvent: () => undefined, onError: (e) => errors.push(`b: ${e.message}`) });
    await tick();
    reqs[0]?.done(Object.assign(new Error('unavailable'), { statusCode: 503 }));
    await tick();
    expect(reqs).toHaveLength(2);
    reqs[1]?.done(Object.assign(new Error('forbidden'), { statusCode: 403 }));
    await tick();
    expect(reqs).toHaveLength(2);
    expect(errors).toEqual(['a: mapped: forbidden', 'b: mapped: forbidden']);
  });
});
