/**
 * Synthetic objects at full scale: a lab with 100,000 API-only pods comes up in reasonable time, and every one of them
 * can be paged through with limit/continue, by @kubernetes/client-node and by real kubectl.
 */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipLabSuite, startTestLab, type TestLab } from './harness.ts';

const skip = skipLabSuite('lab at scale');
const PODS = 100_000;

describe.skipIf(skip)('100,000 synthetic pods', () => {
  let lab: TestLab;
  let upMs = 0;
  beforeAll(async () => {
    const t0 = Date.now();
    lab = await startTestLab('synthetic-100k');
    upMs = Date.now() - t0;
    console.info(`lab up with ${PODS} synthetic pods: ${upMs} ms`);
  });
  afterAll(async () => lab?.down());

  /** Resets the lab's request counts, runs body, and returns how many pod lists it made. */
  async function countLists(body: () => Promise<void>): Promise<number> {
    expect((await lab.kubectl(['delete', '--raw', '/lab/v1/requests'])).code).toBe(0);
    await body();
    const counts = JSON.parse((await lab.kubectl(['get', '--raw', '/lab/v1/requests'])).stdout) as Record<string, number>;
    return counts['list pods'] ?? 0;
  }

  it('comes up in under 15 s (about 2.5 s on a quiet 2-core machine)', () => {
    expect(upMs).toBeLessThan(15_000);
  });

  it('@kubernetes/client-node pages through every pod with limit=500 and continue', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(lab.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const names = new Set<string>();
    let pages = 0;
    const t0 = Date.now();
    const lists = await countLists(async () => {
      let token: string | undefined;
      do {
        const page = await core.listNamespacedPod({ namespace: 'synthetic', limit: 500, ...(token ? { _continue: token } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(500);
        for (const p of page.items) names.add(p.metadata!.name!);
        token = page.metadata?._continue || undefined;
        pages++;
      } while (token);
    });
    console.info(`client-node: ${names.size} pods in ${pages} pages, ${Date.now() - t0} ms`);
    expect(names.size).toBe(PODS);
    expect(names.has('synth-pod-00001') && names.has('synth-pod-100000')).toBe(true);
    expect(pages).toBe(PODS / 500);
    expect(lists).toBe(pages);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('real kubectl lists every pod in chunks (--chunk-size=5000)', async () => {
    // kubectl's client-side rate limit (5 requests/s after a burst of 10) makes 500-pod chunks take 40 s: use 5000
    const t0 = Date.now();
    let out = '';
    const lists = await countLists(async () => {
      const r = await lab.kubectl(['get', 'pods', '-n', 'synthetic', '--chunk-size=5000', '--no-headers'], { timeoutMs: 50_000 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      out = r.stdout;
    });
    console.info(`kubectl: ${PODS} pods in ${lists} chunks, ${Date.now() - t0} ms`);
    const rows = out.trimEnd().split('\n');
    expect(rows).toHaveLength(PODS);
    expect(new Set(rows.map((r) => r.split(/\s+/)[0])).size).toBe(PODS);
    expect(rows.every((r) => /^synth-pod-\d+\s+1\/1\s+Running\s/.test(r))).toBe(true);
    expect(lists).toBe(PODS / 5000);
  });
});
