/**
 * One watch of a run's node debug pods (by label) that hands each pod's events to whoever waits for that pod: one request
 * for every node pod instead of one per pod. Each waiter keeps its own bounds; this only delivers what the API says.
 */
import type { V1Pod } from '@kubernetes/client-node';

/** What a waiter for one pod receives: the pod's events, or the end of the watch (an error for every waiter). */
export interface PodWaiter {
  onEvent: (type: string, pod: V1Pod) => void;
  onError: (err: Error) => void;
}

/** Starts one watch request (query parameters as given) and answers with the handle that aborts it. */
export type StartPodWatch = (
  query: Record<string, string>,
  onEvent: (type: string, obj: unknown) => void,
  onDone: (err: unknown) => void,
) => Promise<AbortController>;

/** The shared watch: subscribe a waiter to one pod by name; the returned function unsubscribes it. */
export interface SharedPodWatch {
  subscribe: (name: string, waiter: PodWaiter) => () => void;
}

/** Options of the shared watch. */
export interface SharedPodWatchOptions {
  labelSelector: string;
  start: StartPodWatch;
  /** Called once for each watch request sent. */
  countRequest: () => void;
  /** Turns a failed request into the error the waiters get. */
  mapError: (err: unknown) => Error;
  /** How long to wait before setting up again after an HTTP status (undefined: that status is final). */
  retryDelayMs: (status: number, attempt: number) => number | undefined;
  /** Sees every pod event of the watch, a waiter's or not (the prober sweeps other runs' expired pods from them). */
  onAny?: (type: string, pod: V1Pod) => void;
  /** How many times in a row a watch that ended without an error (or with 410 Gone) is set up again (default 5). */
  maxRestarts?: number;
}

/** How many times in a row an ended watch is set up again before the waiters are told it ended. */
const DEFAULT_MAX_RESTARTS = 5;

/** Creates the shared watch; no request is sent until the first waiter subscribes, and it stops with the last one. */
export function createSharedPodWatch(opts: SharedPodWatchOptions): SharedPodWatch {
  const waiters = new Map<string, Set<PodWaiter>>();
  /** Each pod's latest event: a waiter that subscribes after the event came (its create answer was late) still sees it. */
  const latest = new Map<string, { type: string; pod: V1Pod }>();
  let resourceVersion: string | undefined;
  let request: AbortController | undefined;
  /** Bumped by every set-up and stop: callbacks of an older request are ignored. */
  let generation = 0;
  let running = false;
  let restarts = 0;
  let retries = 0;
  const maxRestarts = opts.maxRestarts ?? DEFAULT_MAX_RESTARTS;

  const count = (): number => [...waiters.values()].reduce((n, s) => n + s.size, 0);

  const stop = (): void => {
    generation++;
    running = false;
    request?.abort();
    request = undefined;
    resourceVersion = undefined;
    latest.clear();
    restarts = 0;
    retries = 0;
  };

  const failAll = (err: Error): void => {
    const all = [...waiters.values()].flatMap((s) => [...s]);
    waiters.clear();
    stop();
    for (const w of all) w.onError(err);
  };

  const start = (): void => {
    const gen = ++generation;
    running = true;
    opts.countRequest();
    const query: Record<string, string> = { labelSelector: opts.labelSelector, allowWatchBookmarks: 'true' };
    if (resourceVersion !== undefined) query.resourceVersion = resourceVersion;
    let delivered = false;
    const restart = (): void => {
      if (gen !== generation) return;
      request?.abort();
      request = undefined;
      if (count() === 0) return stop();
      if (restarts >= maxRestarts) return failAll(new Error(`the watch of the debug pods ended ${restarts + 1} times before they were running`));
      restarts++;
      start();
    };
    opts
      .start(
        query,
        (type, obj) => {
          if (gen !== generation) return;
          if (type === 'ERROR') {
            const code = (obj as { code?: unknown } | null)?.code;
            // 410 Gone: the resourceVersion is too old to resume from; start again from the pods as they are now.
            if (code === 410) resourceVersion = undefined;
            else return failAll(opts.mapError(Object.assign(new Error((obj as { message?: string } | null)?.message ?? 'watch error'), { code })));
            return restart();
          }
          delivered = true;
          const pod = obj as V1Pod;
          const rv = pod.metadata?.resourceVersion;
          if (rv) resourceVersion = rv;
          if (type === 'BOOKMARK') return;
          // Events flowing again: the count of restarts in a row begins anew.
          restarts = 0;
          retries = 0;
          try {
            opts.onAny?.(type, pod);
          } catch {
            /* an observer's bug must not stop the waiters' events */
          }
          const name = pod.metadata?.name;
          if (!name) return;
          latest.set(name, { type, pod });
          for (const w of [...(waiters.get(name) ?? [])]) w.onEvent(type, pod);
        },
        (err) => {
          if (gen !== generation) return;
          const status = (err as { statusCode?: unknown } | null)?.statusCode ?? (err as { code?: unknown } | null)?.code;
          if (typeof status === 'number') {
            const wait = opts.retryDelayMs(status, retries);
            if (wait === undefined || count() === 0) return failAll(opts.mapError(err));
            retries++;
            request = undefined;
            const timer = setTimeout(() => {
              if (gen === generation) start();
            }, wait);
            timer.unref();
            return;
          }
          // A watch that never answered and failed is final; one that was answering and then ended (the server closed
          // it, its request deadline) is set up again from the last resourceVersion.
          if (err && !delivered) return failAll(opts.mapError(err));
          restart();
        },
      )
      .then(
        (ac) => {
          if (gen !== generation) ac.abort();
          else request = ac;
        },
        (err: unknown) => {
          if (gen === generation) failAll(opts.mapError(err));
        },
      );
  };

  return {
    subscribe: (name, waiter) => {
      let set = waiters.get(name);
      if (!set) waiters.set(name, (set = new Set()));
      set.add(waiter);
      const seen = latest.get(name);
      if (seen) {
        queueMicrotask(() => {
          if (waiters.get(name)?.has(waiter)) waiter.onEvent(seen.type, seen.pod);
        });
      }
      if (!running) start();
      return () => {
        const s = waiters.get(name);
        if (!s?.delete(waiter)) return;
        if (s.size === 0) waiters.delete(name);
        if (count() === 0) stop();
      };
    },
  };
}
