/**
 * The reads resolution and the preflight share: each sent once however often and from wherever it is asked for, and
 * a read started early that fails is that asker's error, never an unhandled rejection of the process.
 */
import { describe, expect, it } from 'vitest';
import type { KubeApi } from '../../src/kube/api.ts';
import { createSharedReads } from '../../src/kube/shared-reads.ts';

/** A KubeApi whose calls are recorded and answered by `answer` (reject to fail). */
function fakeApi(answer: (verb: string, name: string | undefined) => Promise<unknown>): { api: KubeApi; calls: string[] } {
  const calls: string[] = [];
  const api = {
    core: { readNamespace: ({ name }: { name: string }) => answer('get', name) },
    authorization: { createSelfSubjectRulesReview: ({ body }: { body: { spec: { namespace: string } } }) => answer('create', body.spec.namespace) },
    call: (info: { verb: string; resource: string; name?: string }, fn: () => Promise<unknown>) => {
      calls.push(`${info.verb} ${info.resource}${info.name ? ` ${info.name}` : ''}`);
      return fn();
    },
  } as unknown as KubeApi;
  return { api, calls };
}

describe('shared reads', () => {
  it('prefetch sends each namespace read and rules review once; later asks get the same answers', async () => {
    const { api, calls } = fakeApi(async (verb, name) => (verb === 'get' ? { metadata: { name, labels: { l: name } } } : { status: { incomplete: false, resourceRules: [] }, ns: name }));
    const shared = createSharedReads(api);
    shared.prefetch(['default', 'kube-system', 'default']);
    expect(calls).toEqual(['get namespaces default', 'create selfsubjectrulesreviews', 'get namespaces kube-system', 'create selfsubjectrulesreviews']);
    expect((await shared.namespace('default')).metadata?.labels).toEqual({ l: 'default' });
    expect(await shared.rulesReview('kube-system')).toMatchObject({ ns: 'kube-system' });
    await shared.namespace('kube-system');
    expect(calls).toHaveLength(4);
    await shared.namespace('other');
    expect(calls.at(-1)).toBe('get namespaces other');
  });

  it('a prefetched read that fails rejects for whoever asks later, and raises no unhandled rejection meanwhile', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { api } = fakeApi(() => Promise.reject(new Error('forbidden')));
      const shared = createSharedReads(api);
      shared.prefetch(['default']);
      // Let the rejections settle with nobody waiting on them.
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      await expect(shared.namespace('default')).rejects.toThrow('forbidden');
      await expect(shared.rulesReview('default')).rejects.toThrow('forbidden');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
