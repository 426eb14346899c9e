/**
 * The lab's kubelet is one object for every node, but each node of a real cluster has a kubelet of its own: a pod
 * starting on one node never waits for another node's pod network (its CNI ADD) or image pull. Runs without root: the
 * runtime is a fake whose pod networks come up when the test says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ObjectStore, type KubeObject } from './api/store.ts';
import { planNodeNet } from './dataplane/addressing.ts';
import { Kubelet, type PodRuntime } from './kubelet.ts';
import type { PodNet } from './model.ts';

/** A runtime whose pod networks start only when released, one by one, by pod key. */
function gatedRuntime(): { runtime: PodRuntime; started: string[]; release: (key: string) => void; waiting: (key: string) => Promise<void> } {
  const gates = new Map<string, () => void>();
  const arrived = new Map<string, () => void>();
  const arrivals = new Map<string, Promise<void>>();
  const arrival = (key: string): Promise<void> => {
    let p = arrivals.get(key);
    if (!p) {
      p = new Promise<void>((resolve) => arrived.set(key, resolve));
      arrivals.set(key, p);
    }
    return p;
  };
  const started: string[] = [];
  const runtime: PodRuntime = {
    startPodNetwork: async (pod) => {
      void arrival(pod.key);
      arrived.get(pod.key)?.();
      await new Promise<void>((resolve) => gates.set(pod.key, resolve));
      started.push(pod.key);
      return { ...pod, netns: `fake-${pod.key.replace('/', '-')}` } as PodNet;
    },
    stopPodNetwork: async () => undefined,
    startResponder: async () => undefined,
  };
  return {
    runtime,
    started,
    release: (key) => gates.get(key)?.(),
    // Bounded, so a kubelet that never starts the pod fails the test with a reason instead of hanging it.
    waiting: (key) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the kubelet never began starting ${key}'s network`)), 10_000);
        void arrival(key).then(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

function pod(name: string, node: string): KubeObject {
  return { metadata: { name, namespace: 'default' }, spec: { nodeName: node, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } };
}

/** Resolves once the pod is Running in the store (the watch's view), or rejects after `ms`. */
function running(store: ObjectStore, name: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const isRunning = (): boolean => (store.get('pods', 'default', name) as { status?: { phase?: string } } | undefined)?.status?.phase === 'Running';
    if (isRunning()) return resolve();
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`pod ${name} was not Running within ${ms} ms`));
    }, ms);
    const stop = store.watch('pods', 'default', undefined, () => {
      if (!isRunning()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

const kubelets: Kubelet[] = [];
afterEach(async () => {
  for (const k of kubelets.splice(0)) await k.stop();
});

function setUp(): { store: ObjectStore; kubelet: Kubelet; gate: ReturnType<typeof gatedRuntime> } {
  const store = new ObjectStore();
  store.create('namespaces', { metadata: { name: 'default' } });
  const nodes = [planNodeNet('t1', { name: 'node-1', index: 1, podCIDR: '10.244.1.0/24' }), planNodeNet('t1', { name: 'node-2', index: 2, podCIDR: '10.244.2.0/24' })];
  const gate = gatedRuntime();
  const kubelet = new Kubelet({ store, nodes, runtime: gate.runtime, resolvConfFor: () => 'nameserver 10.96.0.10\n' });
  kubelets.push(kubelet);
  return { store, kubelet, gate };
}

describe('lab kubelet: one per node', () => {
  it("starts a pod on one node while another node's pod network is still coming up", async () => {
    const { store, kubelet, gate } = setUp();
    await kubelet.start();
    store.create('pods', pod('slow', 'node-2'));
    store.create('pods', pod('quick', 'node-1'));
    await gate.waiting('default/slow');
    await gate.waiting('default/quick');
    gate.release('default/quick');
    await running(store, 'quick');
    expect(gate.started).toEqual(['default/quick']);
    expect((store.get('pods', 'default', 'slow') as { status?: { phase?: string } }).status?.phase).not.toBe('Running');
    gate.release('default/slow');
    await kubelet.settle();
    expect(gate.started).toEqual(['default/quick', 'default/slow']);
    await running(store, 'slow');
  });

  it('starts the pods of one node one after another, in the order they came', async () => {
    const { store, kubelet, gate } = setUp();
    await kubelet.start();
    store.create('pods', pod('first', 'node-1'));
    store.create('pods', pod('second', 'node-1'));
    await gate.waiting('default/first');
    // The second pod's start has not begun: its node's kubelet is still busy with the first.
    let secondArrived = false;
    const second = gate.waiting('default/second').then(() => (secondArrived = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondArrived).toBe(false);
    gate.release('default/first');
    await second;
    gate.release('default/second');
    await kubelet.settle();
    expect(gate.started).toEqual(['default/first', 'default/second']);
  });

  it('settle waits for every node', async () => {
    const { store, kubelet, gate } = setUp();
    await kubelet.start();
    store.create('pods', pod('a', 'node-1'));
    store.create('pods', pod('b', 'node-2'));
    await Promise.all([gate.waiting('default/a'), gate.waiting('default/b')]);
    let settled = false;
    const settling = kubelet.settle().then(() => (settled = true));
    gate.release('default/a');
    await running(store, 'a');
    expect(settled).toBe(false);
    gate.release('default/b');
    await settling;
    expect(gate.started.sort()).toEqual(['default/a', 'default/b']);
  });
});
