/**
 * The real `Prober`: an ephemeral container (netadmin profile) in the source pod, reused across runs; short-lived,
 * labelled debug pods on nodes (hostNetwork or not) with activeDeadlineSeconds; probes exec'd over WebSocket with a
 * hard time bound; cleanup that deletes what this run created.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { Exec, Watch } from '@kubernetes/client-node';
import WebSocket from 'ws';
import type { CoreV1Event, KubeConfig, V1Container, V1EphemeralContainer, V1Pod, V1Status } from '@kubernetes/client-node';
import { NetdebugError } from '../core/errors.ts';
import { DEBUG_POD_LABELS, defaultDebugNamespace, locationKey, truncateRaw, type ProbeLocation, type ProbeObservation, type ProbeRaw, type ProbeResult, type ProbeSpec } from '../core/model.ts';
import { parseProbeOutput } from '../core/parse.ts';
import { BATCH_NO_TMPDIR_EXIT, BatchRecordReader, buildBatchCommand, buildPrelaunchCommand, buildPrelaunchReadCommand, PRELAUNCH_MISSING_EXIT } from '../core/probe-batch.ts';
import { createPreconnector, DEFAULT_UPGRADE_TIMEOUT_MS, type Preconnector } from './preconnect.ts';
import type { ExecTarget } from '../core/repeat-command.ts';
import type { ClusterFacts } from '../core/facts.ts';
import type { CaptureSession, CleanupReport, LeftPod, LocationStatus, Prober } from '../ports.ts';
import { CAPTURE_NO_TMPDIR_EXIT, captureLocationKey, CaptureStreamReader, type CaptureRecord } from '../core/trace-plan.ts';
import { debugSecurityContext } from '../core/privilege.ts';
import { compareText } from '../core/compare.ts';
import { apiMessageOf, createKubeApi, DEFAULT_RETRY, mapApiError, retryDelayMs, statusCodeOf } from './api.ts';
import type { KubeApi } from './api.ts';
import type { LocationSettings } from './lockdown.ts';
import { DEBUG_COMMAND, debugContainerMatches, ephemeralState, NODE_POD_RESOURCES, pullFailureReason } from './debug-containers.ts';
import { createSharedPodWatch } from './shared-pod-watch.ts';
import type { SharedPodWatch } from './shared-pod-watch.ts';

/** The label every pod the tool creates carries (core's DEBUG_POD_LABELS, which policy predictions match). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Its value. */
export const MANAGED_BY_VALUE = DEBUG_POD_LABELS[MANAGED_BY_LABEL] as string;
/** The label carrying the run id. */
export const RUN_ID_LABEL = 'netdebug.dev/run-id';

/** Progress the prober reports while preparing locations and cleaning up. */
export type ProberEvent =
  | { type: 'location-preparing'; key: string; detail: string }
  | { type: 'location-ready'; key: string; detail: string }
  | { type: 'location-failed'; key: string; reason: string }
  /** An image is being pulled for a location: the node, the image, the kubelet's latest event, how long it has taken. */
  | { type: 'location-pulling'; key: string; node: string; image: string; message: string; elapsedMs: number }
  | { type: 'cleanup-started'; pods: string[] }
  | { type: 'cleanup-finished'; report: CleanupReport };

/** The channel of v5.channel.k8s.io's close-stream frames (`[255, channel]`). */
const CLOSE_STREAM_CHANNEL = 255;
/** How long the status frame may lag behind the close of stdout and stderr. */
const STATUS_GRACE_MS = 1000;
/** What a probe observed when its exec stream ended without the status frame that carries the exit code. */
const STREAM_ENDED_WITHOUT_STATUS = "the exec stream closed without an exit status: the command's outcome is unknown";
/** How long a pull must last before the kubelet's events about it are watched (a quick pull costs no request). */
const EVENTS_AFTER_MS = 1500;
/** The bound on each delete of cleanup when no --request-timeout is given (cleanup never waits unbounded). */
export const CLEANUP_REQUEST_TIMEOUT_MS = 10_000;

/** Options of the real Prober. */
export interface ProberOptions {
  image: string;
  runId: string;
  keep: boolean;
  /** How long to wait for a location to come up. */
  timeoutMs: number;
  /** Where node debug pods go (default: the source pod's namespace, else "default"). */
  namespace?: string;
  /** The connections opened ahead for exec (default: preconnect.ts's for this kubeconfig); tests watch it. */
  preconnector?: Preconnector;
  /** Extra time an exec gets beyond spec.timeoutMs before its socket is closed. */
  execMarginMs?: number;
  /** Interval between readiness polls. */
  pollMs?: number;
  onEvent?: (event: ProberEvent) => void;
  countRequest?: () => void;
  /** The source pod as resolution just read it: preparing the source pod then needs no read of its own. */
  sourcePod?: V1Pod;
  /** Bound on each API request (aborted at the deadline); also bounds the exec upgrade. 0 or undefined = the defaults. */
  requestTimeoutMs?: number;
  /**
   * The least securityContext (and tolerations) of each location's container, from the preflight. Absent: the legacy
   * NET_ADMIN/NET_RAW container and a toleration of every taint.
   */
  settings?: (where: ProbeLocation) => Promise<LocationSettings | undefined>;
  /** How long an image pull may take once the kubelet has started it (instead of timeoutMs). Default timeoutMs. */
  pullTimeoutMs?: number;
  /** How often a pull still under way is reported again (default 10 s). */
  pullReportMs?: number;
}


const NET_CAPS = { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } };
/** How long a node debug pod may live (its activeDeadlineSeconds): one a killed run left ends by itself. */
export const DEADLINE_SECONDS = 300;
/** The container the trace adds to the destination pod: tcpdump's packet socket (CAP_NET_RAW), nothing else. */
const TARGET_POD_CAPTURE_CONTEXT = debugSecurityContext(['NET_RAW'], false);

/** A short random suffix of lower-case letters and digits. */
export function randomSuffix(length = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** The name of a node debug pod: `netdebug-<node>-<host|pod>-<5 random>`, kept within 63 characters. */
export function nodePodName(node: string, hostNetwork: boolean): string {
  const suffix = `-${hostNetwork ? 'host' : 'pod'}-${randomSuffix()}`;
  const nodePart = node.replace(/[^a-z0-9-]/g, '-').slice(0, 63 - 'netdebug-'.length - suffix.length).replace(/-+$/, '');
  return `netdebug-${nodePart}${suffix}`;
}

/** Creates the Prober for one run. */
export function createProber(kc: KubeConfig, facts: ClusterFacts, opts: ProberOptions): Prober {
  const counting = opts.countRequest ? { countRequest: opts.countRequest } : {};
  const api = createKubeApi(kc, { ...counting, ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}) });
  // Cleanup is bounded even when the run's requests are not: a hung delete must not keep the user waiting for ever.
  const cleanupApi = createKubeApi(kc, { ...counting, requestTimeoutMs: opts.requestTimeoutMs || CLEANUP_REQUEST_TIMEOUT_MS });
  const upgradeTimeoutMs = opts.requestTimeoutMs || DEFAULT_UPGRADE_TIMEOUT_MS;
  // Each debug container's exec connection is opened while the container is created and started (preconnect.ts).
  const preconnect = opts.preconnector ?? createPreconnector(kc, { connectTimeoutMs: upgradeTimeoutMs });
  const source = facts.targets.source;
  const podNamespace = opts.namespace ?? defaultDebugNamespace(source);
  const watcher = new Watch(kc);
  /** The deletes of expired debug pods left by earlier (SIGKILLed) runs, seen by the node pods' watch; cleanup waits for them. */
  const sweeps: Promise<unknown>[] = [];
  const swept = new Set<string>();
  // One watch follows every debug pod in the node pods' namespace (by the managed-by label): each of this run's pods'
  // waiter gets that pod's events, and the pods a killed run left (SIGKILL gives no chance to clean up) that have ended by
  // their deadline are deleted as the watch first lists them. One request instead of a watch per pod and a list.
  const nodePods: SharedPodWatch = createSharedPodWatch({
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    onAny: (type, pod) => {
      const name = pod.metadata?.name;
      const labels = pod.metadata?.labels ?? {};
      if (type === 'DELETED' || !name || swept.has(name) || labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE || labels[RUN_ID_LABEL] === opts.runId) return;
      if (pod.metadata?.deletionTimestamp || !isExpiredDebugPod(pod, Date.now())) return;
      swept.add(name);
      // Best effort: `kubectl netdebug cleanup` reports what it cannot delete.
      sweeps.push(deletePod(cleanupApi, podNamespace, name).catch(() => undefined));
    },
    start: (query, onEvent, onDone) => watcher.watch(`/api/v1/namespaces/${podNamespace}/pods`, query, onEvent, onDone),
    countRequest: () => api.countRequest(),
    mapError: (err) => mapApiError(err, { verb: 'watch', resource: 'pods', namespace: podNamespace }, api.server),
    retryDelayMs: (status, attempt) => (attempt < DEFAULT_RETRY.retries ? retryDelayMs(Object.assign(new Error(''), { code: status }), attempt, DEFAULT_RETRY) : undefined),
  });
  const margin = opts.execMarginMs ?? 1500;
  const targets = new Map<string, ExecTarget>();
  /**
   * The batches node debug pods started with (by location key): their probes run from the container's start, and the
   * first runBatch of those probes reads their records (buildPrelaunchReadCommand) instead of starting them again.
   */
  const prelaunched = new Map<string, { mark: string; specs: readonly ProbeSpec[]; read: boolean; runningAt?: number }>();
  /**
   * Every debug pod this run asked for, recorded before the create is sent, with that request: cleanup waits for it, so
   * it never deletes a pod before the API has it, and deletes a pod whose create answer was lost.
   */
  const created: { namespace: string; name: string; sent: Promise<unknown> }[] = [];
  let execCount = 0;
  let cleaned: Promise<CleanupReport> | undefined;

  const emit = (e: ProberEvent): void => {
    try {
      opts.onEvent?.(e);
    } catch {
      /* a reporter bug must not break probing */
    }
  };

  const prepareOne = async (where: ProbeLocation, planned: readonly ProbeSpec[] = []): Promise<LocationStatus> => {
    const key = locationKey(where);
    try {
      const target = where.kind === 'source-pod' ? await prepareSourcePod() : await prepareNodePod(where.node, where.hostNetwork, planned);
      targets.set(key, target);
      emit({ type: 'location-ready', key, detail: `${target.namespace}/${target.pod} (${target.container})` });
      return { ready: true };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      emit({ type: 'location-failed', key, reason });
      return { ready: false, reason };
    }
  };

  const prepareSourcePod = async (): Promise<ExecTarget> => {
    if (source.kind !== 'pod') throw new Error('the source is a node, not a pod: there is no source pod to probe from');
    const { namespace, name } = source;
    const settings = await opts.settings?.({ kind: 'source-pod' });
    // Resolution's read of the source pod serves here too (one request fewer), unless the preflight read it again.
    const known = opts.sourcePod;
    return prepareEphemeral(namespace, name, settings?.securityContext ?? NET_CAPS, settings?.pod ?? (known && known.metadata?.namespace === namespace && known.metadata?.name === name ? known : undefined), 'source-pod');
  };

  /**
   * Adds (or reuses) the netdebug ephemeral container in a pod and waits until it runs: the source pod's for probes, the
   * destination pod's for the trace's capture there.
   */
  const prepareEphemeral = async (namespace: string, name: string, securityContext: unknown, known: V1Pod | undefined, key: string): Promise<ExecTarget> => {
    const pod = known ?? (await api.call({ verb: 'get', resource: 'pods', namespace, name }, () => api.core.readNamespacedPod({ namespace, name })));
    // Only a container exactly like the one we would add now (image, command, securityContext) is reused; one still
    // starting is waited for rather than doubled, and one that ended is replaced.
    const wanted = { image: opts.image, command: DEBUG_COMMAND, securityContext };
    const same = (pod.spec?.ephemeralContainers ?? []).filter((c) => debugContainerMatches(c, wanted) && ephemeralState(pod, c.name) !== 'terminated');
    const running = same.find((c) => ephemeralState(pod, c.name) === 'running');
    if (running) return { namespace, pod: name, container: running.name };
    const starting = same[0];
    if (starting) {
      preconnect.open(namespace, name, starting.name);
      await waitForPod(`ephemeral container ${starting.name} in ${namespace}/${name}`, namespace, name, (p) => ephemeralOutcome(p, starting.name), {
        key,
        node: pod.spec?.nodeName ?? '',
        container: starting.name,
      });
      return { namespace, pod: name, container: starting.name };
    }
    const container: V1EphemeralContainer = {
      name: `netdebug-${randomSuffix()}`,
      image: opts.image,
      command: [...DEBUG_COMMAND],
      stdin: false,
      tty: false,
      securityContext: securityContext as V1EphemeralContainer['securityContext'],
    };
    emit({ type: 'location-preparing', key, detail: `adding ephemeral container ${container.name} to ${namespace}/${name}` });
    preconnect.open(namespace, name, container.name);
    const body = pod.spec?.ephemeralContainers
      ? [{ op: 'add', path: '/spec/ephemeralContainers/-', value: container }]
      : [{ op: 'add', path: '/spec/ephemeralContainers', value: [container] }];
    try {
      await api.call({ verb: 'patch', resource: 'pods/ephemeralcontainers', namespace, name }, () =>
        api.core.patchNamespacedPodEphemeralcontainers({ namespace, name, body }),
      );
    } catch (err) {
      throw explainSetupError(err, `add an ephemeral container to ${namespace}/${name}`);
    }
    await waitForPod(`ephemeral container ${container.name} in ${namespace}/${name}`, namespace, name, (p) => ephemeralOutcome(p, container.name), {
      key,
      node: pod.spec?.nodeName ?? '',
      container: container.name,
    });
    return { namespace, pod: name, container: container.name };
  };

  const prepareNodePod = async (node: string, hostNetwork: boolean, planned: readonly ProbeSpec[]): Promise<ExecTarget> => {
    const namespace = podNamespace;
    const name = nodePodName(node, hostNetwork);
    const settings = await opts.settings?.({ kind: 'node-pod', node, hostNetwork });
    // The probes planned here start with the container: no exec (and no round trip) stands between its start and them.
    const where: ProbeLocation = { kind: 'node-pod', node, hostNetwork };
    const own = planned.filter((s) => locationKey(s.where) === locationKey(where));
    const mark = `nd-${randomSuffix(10)}`;
    if (own.length > 0) prelaunched.set(locationKey(where), { mark, specs: own, read: false });
    const container: V1Container = {
      name: 'netdebug',
      image: opts.image,
      command: own.length > 0 ? buildPrelaunchCommand(own.map((s) => s.command), mark) : [...DEBUG_COMMAND],
      securityContext: settings?.securityContext ?? NET_CAPS,
      ...(settings ? { resources: NODE_POD_RESOURCES } : {}),
    };
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [RUN_ID_LABEL]: opts.runId } },
      spec: {
        nodeName: node,
        hostNetwork,
        restartPolicy: 'Never',
        tolerations: settings ? (settings.tolerations ?? []) : [{ operator: 'Exists' }],
        // No API credentials and no Service variables in a pod that only runs network probes.
        ...(settings ? { automountServiceAccountToken: false, enableServiceLinks: false } : {}),
        activeDeadlineSeconds: DEADLINE_SECONDS,
        terminationGracePeriodSeconds: 0,
        containers: [container],
      },
    };
    if (cleaned) throw new Error(`the run is ending: debug pod ${namespace}/${name} was not created`);
    emit({ type: 'location-preparing', key: `node-pod:${node}:${hostNetwork ? 'host' : 'pod'}`, detail: `creating ${namespace}/${name} on ${node}` });
    // A create whose answer never came may still have landed, so cleanup deletes it (a 404 there is ignored); only an
    // answer saying no (an HTTP status) proves there is nothing to delete.
    preconnect.open(namespace, name, 'netdebug');
    const mine = { namespace, name, sent: api.call({ verb: 'create', resource: 'pods', namespace }, () => api.core.createNamespacedPod({ namespace, body: pod })) };
    created.push(mine);
    try {
      await mine.sent;
    } catch (err) {
      if (statusCodeOf(err instanceof NetdebugError && err.cause ? err.cause : err) !== undefined) created.splice(created.indexOf(mine), 1);
      throw explainSetupError(err, `create debug pod ${namespace}/${name} on node ${node}`);
    }
    await waitForPod(
      `debug pod ${namespace}/${name}`,
      namespace,
      name,
      (p) => {
        const phase = p.status?.phase;
        if (phase === 'Running') return 'ready';
        if (phase === 'Failed' || phase === 'Succeeded') return `the pod ended (${phase}${p.status?.reason ? `: ${p.status.reason}` : ''})`;
        const waiting = p.status?.containerStatuses?.[0]?.state?.waiting;
        const pull = pullFailureReason(waiting, opts.image);
        if (pull) return pull;
        if (waiting?.reason && /InvalidImageName|CreateContainerError|CreateContainerConfigError/.test(waiting.reason)) {
          return `${waiting.reason}: ${waiting.message ?? opts.image}`;
        }
        return undefined;
      },
      { key: `node-pod:${node}:${hostNetwork ? 'host' : 'pod'}`, node, container: 'netdebug' },
      nodePods,
    );
    // The planned probes have run since about now: their durations count from here, not from the exec that reads them.
    const pre = prelaunched.get(locationKey(where));
    if (pre) pre.runningAt = Date.now();
    return { namespace, pod: name, container: 'netdebug' };
  };

  /**
   * Watches one pod until `check` says ready (or gives a failure reason), bounded by opts.timeoutMs; once the kubelet
   * pulls the container's image (its Pulling event, or the container waiting in ContainerCreating) the bound becomes
   * opts.pullTimeoutMs, and the pull is reported (node, image, the kubelet's event) as it goes. A watch without a
   * resourceVersion starts with the pod as it is, so this is one request whatever the timing (no polling). With `shared`,
   * the pod's events come from the run's one watch of its node pods instead of a watch of its own.
   */
  const waitForPod = (
    what: string,
    namespace: string,
    name: string,
    check: (pod: V1Pod) => string | undefined,
    pull?: { key: string; node: string; container: string },
    shared?: SharedPodWatch,
  ): Promise<void> =>
    new Promise((resolve, reject) => {
      let done = false;
      let unsubscribe: (() => void) | undefined;
      let request: AbortController | undefined;
      let eventsRequest: AbortController | undefined;
      const started = Date.now();
      let pulling: { since: number; message: string } | undefined;
      let ticker: NodeJS.Timeout | undefined;
      let eventsTimer: NodeJS.Timeout | undefined;
      /** Starts the watch of the kubelet's events (set below); only for a pull that lasts, so quick pulls cost nothing. */
      let eventsAfterMs: (() => void) | undefined;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(ticker);
        clearTimeout(eventsTimer);
        request?.abort();
        unsubscribe?.();
        eventsRequest?.abort();
        if (err) reject(err);
        else resolve();
      };
      const budgetMs = opts.timeoutMs;
      const pullBudgetMs = Math.max(opts.pullTimeoutMs ?? budgetMs, budgetMs);
      let timer = setTimeout(() => finish(new Error(`${what} was not running after ${Math.round(budgetMs / 1000)} s`)), budgetMs);
      const report = (): void => {
        if (!pull || !pulling) return;
        emit({ type: 'location-pulling', key: pull.key, node: pull.node, image: opts.image, message: pulling.message, elapsedMs: Date.now() - pulling.since });
      };
      /** The image is being pulled: from now on the pull budget (from the start of the wait) bounds it, and it is shown. */
      const startPull = (message: string): void => {
        if (pulling) {
          if (message && message !== pulling.message) {
            pulling.message = message;
            report();
          }
          return;
        }
        pulling = { since: Date.now(), message };
        clearTimeout(timer);
        const left = Math.max(0, started + pullBudgetMs - Date.now());
        timer = setTimeout(
          () => finish(new Error(`${what} was not running after ${Math.round(pullBudgetMs / 1000)} s: the image ${opts.image} was still being pulled on node ${pull?.node ?? '?'} (raise --pull-timeout, or use --image with a closer mirror)`)),
          left,
        );
        report();
        ticker = setInterval(report, opts.pullReportMs ?? 10_000);
        ticker.unref();
        eventsTimer = setTimeout(() => eventsAfterMs?.(), EVENTS_AFTER_MS);
      };
      const info = { verb: 'watch', resource: 'pods', namespace, name };
      const waitingOf = (pod: V1Pod): string | undefined => {
        if (!pull) return undefined;
        const all = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
        return all.find((c) => c.name === pull.container)?.state?.waiting?.reason;
      };
      const onPod = (type: string, pod: V1Pod): void => {
        if (done) return;
        if (type === 'DELETED') return finish(new Error(`${what} did not start: the pod was deleted`));
        const outcome = check(pod);
        if (outcome === 'ready') finish();
        else if (outcome !== undefined) finish(new Error(`${what} did not start: ${outcome}`));
        else if (waitingOf(pod) === 'ContainerCreating') startPull(pulling?.message ?? '');
      };
      // Setting up a watch is idempotent: a 429 or 5xx answer is retried with the same bounded backoff as `call`.
      const start = (attempt: number): void => {
        if (done) return;
        api.countRequest();
        let delivered = false;
        watcher
          .watch(
            `/api/v1/namespaces/${namespace}/pods`,
            { fieldSelector: `metadata.name=${name}` },
            (type: string, pod: V1Pod) => {
              delivered = true;
              onPod(type, pod);
            },
            (err: unknown) => {
              const status = (err as { statusCode?: unknown } | null)?.statusCode;
              // A watch that was answering and then ended (its request deadline, or the server closing it) while a pull
              // goes on under a longer budget is set up again: it starts with the pod as it is now.
              if (!done && delivered && pulling && typeof status !== 'number') return void start(attempt);
              const wait = typeof status === 'number' && attempt < DEFAULT_RETRY.retries ? retryDelayMs(Object.assign(new Error(''), { code: status }), attempt, DEFAULT_RETRY) : undefined;
              if (wait !== undefined && !done) return void setTimeout(() => start(attempt + 1), wait);
              finish(err ? mapApiError(err, info, api.server) : new Error(`the watch of ${what} ended before it was running`));
            },
          )
          .then(
            (ac) => {
              request = ac;
              if (done) ac.abort();
            },
            (err: unknown) => finish(mapApiError(err, info, api.server)),
          );
      };
      if (shared) unsubscribe = shared.subscribe(name, { onEvent: onPod, onError: (err) => finish(err) });
      else start(0);
      // The kubelet's events about this container say what the pull is doing; best effort (no right to watch events:
      // the pull is still waited for under its budget, without the kubelet's words).
      const watchEvents = (): void => {
        if (done || !pull || opts.pullTimeoutMs === undefined) return;
        const fieldPathEnd = `{${pull.container}}`;
        api.countRequest();
        watcher
          .watch(
            `/api/v1/namespaces/${namespace}/events`,
            { fieldSelector: `involvedObject.name=${name}` },
            (_type: string, ev: CoreV1Event) => {
              if (done || !ev.involvedObject?.fieldPath?.endsWith(fieldPathEnd)) return;
              if (ev.reason === 'Pulling') startPull(ev.message ?? '');
              else if (ev.reason === 'Pulled' && pulling) {
                pulling.message = ev.message ?? '';
                report();
              }
            },
            () => undefined,
          )
          .then(
            (ac) => {
              eventsRequest = ac;
              if (done) ac.abort();
            },
            () => undefined,
          );
      };
      eventsAfterMs = watchEvents;
    });

  /**
   * Runs one command over an exec WebSocket. Two deadlines, each of which really closes the socket: the upgrade must be
   * answered within upgradeTimeoutMs (else could-not-run: nothing was probed), then the command gets spec.timeoutMs
   * plus the margin (else timedOut: the probe itself hung). A stream that closes without the status frame carrying the
   * exit code is an error (could-not-run), never a failed connection. A connection opened ahead for the container and
   * still on its way is waited for (bounded, preconnect.ts) rather than doubled by one of the exec's own.
   */
  const runExec = async (
    target: ExecTarget,
    run: { command: string[]; timeoutMs: number; onStdout?: (chunk: Buffer) => void; signal?: AbortSignal; stdin?: PassThrough },
  ): Promise<{ stdout: string; stderr: string; exitCode: number | null; timedOut: boolean; error?: string }> => {
    await preconnect.settled(target.namespace, target.pod, target.container);
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      let status: V1Status | undefined;
      let settled = false;
      let timedOut = false;
      let socket: WebSocket | undefined;
      const sink = (append: (s: string) => void, raw?: (chunk: Buffer) => void) =>
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            if (raw) raw(chunk);
            else append(chunk.toString('utf8'));
            cb();
          },
        });
      const closeSocket = (): void => {
        try {
          // terminate: no closing handshake to wait for, and it also aborts an upgrade still in flight.
          socket?.terminate();
        } catch {
          /* already closed */
        }
      };
      const finish = (error?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        closeSocket();
        const exitCode = status ? exitCodeOfStatus(status) : null;
        resolve({ stdout, stderr, exitCode, timedOut, ...(error !== undefined ? { error } : {}) });
      };
      run.signal?.addEventListener('abort', () => finish('stopped: every result was in'), { once: true });
      let timer = setTimeout(
        () => finish(`the API server did not answer the exec upgrade within ${Math.round(upgradeTimeoutMs / 100) / 10} s`),
        upgradeTimeoutMs,
      );
      // Stopped while its connection was on its way: nothing is sent.
      if (run.signal?.aborted) return finish('stopped: every result was in');
      execCount++;
      api.countRequest();
      // One Exec per command, so the socket it opens is ours to close whatever state it is in.
      const exec = new Exec(kc);
      const handler = (exec as unknown as { handler: { socketFactory?: (uri: string, protocols: string[], o: WebSocket.ClientOptions) => WebSocket } }).handler;
      handler.socketFactory = (uri, protocols, o) => {
        // The connection opened while the container started, when there is one: the upgrade goes out at once on it.
        const ahead = preconnect.take(target.namespace, target.pod, target.container);
        const ws = new WebSocket(uri, protocols, { ...o, handshakeTimeout: upgradeTimeoutMs, ...(ahead ? { agent: undefined, createConnection: () => ahead } : {}) });
        socket = ws;
        // v5.channel.k8s.io lets a side close one stream with a channel-255 frame, which client-node's handler cannot
        // read (it throws "Unknown stream: 255" out of the socket's event). Take those frames here: once stdout and
        // stderr are both closed, the status frame must follow soon, or the stream ended without one.
        const closed = new Set<number>();
        const attribute = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
        Object.defineProperty(ws, 'onmessage', {
          configurable: true,
          get: () => attribute?.get?.call(ws),
          set: (h: ((e: WebSocket.MessageEvent) => void) | null) =>
            attribute?.set?.call(ws, (e: WebSocket.MessageEvent) => {
              const data = e.data;
              if (Buffer.isBuffer(data) && data.length >= 2 && data[0] === CLOSE_STREAM_CHANNEL) {
                closed.add(data[1] ?? -1);
                if (closed.has(1) && closed.has(2) && !status) {
                  const grace = setTimeout(() => finish(STREAM_ENDED_WITHOUT_STATUS), STATUS_GRACE_MS);
                  grace.unref();
                }
                return;
              }
              h?.(e);
            }),
        });
        if (settled) closeSocket();
        return ws;
      };
      exec
        .exec(target.namespace, target.pod, target.container, run.command, sink((s) => (stdout += s), run.onStdout), sink((s) => (stderr += s)), run.stdin ?? null, false, (s) => {
          status = s;
        })
        .then((ws) => {
          if (settled) return void closeSocket();
          clearTimeout(timer);
          timer = setTimeout(() => {
            timedOut = true;
            finish();
          }, run.timeoutMs + margin);
          ws.on('close', () => setImmediate(() => finish(status ? undefined : STREAM_ENDED_WITHOUT_STATUS)));
          ws.on('error', (e: Error) => finish(`exec failed: ${e.message}`));
        })
        .catch((err: unknown) => finish(`exec failed: ${describeExecError(err)}`));
    });
  };

  /** Runs one probe in its own exec. */
  const runOne = async (spec: ProbeSpec): Promise<ProbeResult> => {
    const started = Date.now();
    const target = targets.get(locationKey(spec.where));
    const done = (observation: ProbeObservation, raw?: ProbeRaw): ProbeResult => ({
      spec,
      observation,
      durationMs: Date.now() - started,
      ...(raw ? { raw } : {}),
    });
    if (!target) return done({ kind: 'could-not-run', reason: `location ${locationKey(spec.where)} was not prepared` });
    try {
      const out = await runExec(target, { command: spec.command, timeoutMs: spec.timeoutMs });
      if (out.error !== undefined && !out.timedOut) return done({ kind: 'could-not-run', reason: out.error });
      const exitCode = out.timedOut ? null : out.exitCode;
      const raw = { exitCode, stdout: truncateRaw(out.stdout), stderr: truncateRaw(out.stderr) };
      return done(parseProbeOutput(spec.action, { stdout: out.stdout, stderr: out.stderr, exitCode }), raw);
    } catch (err) {
      return done({ kind: 'could-not-run', reason: err instanceof Error ? err.message : String(err) });
    }
  };

  const self: Prober = {
    async prepare(locations, planned) {
      const unique = new Map(locations.map((l) => [locationKey(l), l]));
      const results = await Promise.all([...unique].map(async ([key, where]) => [key, await prepareOne(where, planned?.get(key))] as const));
      return new Map(results);
    },

    run: runOne,

    runBatch(specs) {
      let started = Date.now();
      const slots = specs.map((spec) => {
        let settle!: (r: ProbeResult) => void;
        const promise = new Promise<ProbeResult>((resolve) => (settle = resolve));
        return { spec, promise, settle, done: false };
      });
      const stop = new AbortController();
      const finishSlot = (i: number, result: ProbeResult): void => {
        const slot = slots[i];
        if (!slot || slot.done) return;
        slot.done = true;
        slot.settle(result);
        // Every record is in: close the stream now rather than wait for its status frame.
        if (slots.every((x) => x.done)) stop.abort();
      };
      const outcome = (i: number, out: { stdout: string; stderr: string; exitCode: number | null }): ProbeResult => {
        const spec = specs[i] as ProbeSpec;
        const raw = { exitCode: out.exitCode, stdout: truncateRaw(out.stdout), stderr: truncateRaw(out.stderr) };
        return { spec, observation: parseProbeOutput(spec.action, out), durationMs: Date.now() - started, raw };
      };
      const notRun = (i: number, reason: string): ProbeResult => ({ spec: specs[i] as ProbeSpec, observation: { kind: 'could-not-run', reason }, durationMs: Date.now() - started });
      const first = specs[0];
      const target = first ? targets.get(locationKey(first.where)) : undefined;
      if (!first || !target || specs.some((s) => locationKey(s.where) !== locationKey(first.where))) {
        specs.forEach((s, i) => finishSlot(i, notRun(i, `location ${locationKey(s.where)} was not prepared`)));
      } else {
        // Probes the container started with (prepareNodePod) are read, once, rather than run again; any other set runs.
        const key = locationKey(first.where);
        const pre = prelaunched.get(key);
        const fromStart = pre !== undefined && !pre.read && specs.every((s) => pre.specs.some((p) => p.id === s.id && p.command.join('\0') === s.command.join('\0')));
        if (pre && fromStart) {
          pre.read = true;
          // Each probe's duration (its latency where the tool says none) is from when its container was seen running.
          started = pre.runningAt ?? started;
        }
        const mark = fromStart ? pre.mark : `nd-${randomSuffix(10)}`;
        // A record's index is its probe's place in the batch that printed it.
        const slotOf = fromStart ? (index: number) => specs.findIndex((s) => s.id === pre.specs[index]?.id) : (index: number) => index;
        const reader = new BatchRecordReader(mark);
        let records = 0;
        runExec(target, {
          command: fromStart ? buildPrelaunchReadCommand(mark) : buildBatchCommand(specs.map((s) => s.command), mark),
          timeoutMs: Math.max(...specs.map((s) => s.timeoutMs)),
          signal: stop.signal,
          onStdout: (chunk) => {
            for (const rec of reader.push(chunk)) {
              records++;
              const i = slotOf(rec.index);
              if (i >= 0) finishSlot(i, outcome(i, rec));
            }
          },
        }).then(
          async (out) => {
            const pending = slots.flatMap((x, i) => (x.done ? [] : [i]));
            if (pending.length === 0) return;
            const exitCode = reader.exitCode() ?? out.exitCode;
            if (fromStart && out.error === undefined && !out.timedOut && records === 0 && out.exitCode === PRELAUNCH_MISSING_EXIT) {
              // The container did not start them (it found nowhere to put its FIFO): they run as a batch of their own.
              const again = self.runBatch?.(pending.map((i) => specs[i] as ProbeSpec));
              if (again) await Promise.all(again.results.map(async (r, j) => finishSlot(pending[j] as number, await r)));
              return;
            }
            if (out.error === undefined && !out.timedOut && exitCode === BATCH_NO_TMPDIR_EXIT && records === 0) {
              // No writable temporary directory in this container: nothing ran, so run the probes one exec each.
              await Promise.all(pending.map(async (i) => finishSlot(i, await runOne(specs[i] as ProbeSpec))));
              return;
            }
            for (const i of pending) {
              if (out.timedOut) finishSlot(i, outcome(i, { stdout: '', stderr: '', exitCode: null }));
              else {
                const said = `${reader.garbage()}${out.stderr}`.trim();
                const why = out.error ?? `the probe batch ended (exit ${out.exitCode ?? 'unknown'}) before this probe reported${said ? `: ${said.slice(0, 200)}` : ''}`;
                finishSlot(i, notRun(i, why));
              }
            }
          },
          (err: unknown) => slots.forEach((_, i) => finishSlot(i, notRun(i, err instanceof Error ? err.message : String(err)))),
        );
      }
      return {
        results: slots.map((x) => x.promise),
        cutOff(ids) {
          const wanted = new Set(ids);
          slots.forEach((x, i) => {
            if (wanted.has(x.spec.id)) finishSlot(i, outcome(i, { stdout: '', stderr: '', exitCode: null }));
          });
        },
      };
    },

    cleanup() {
      preconnect.closeAll();
      if (opts.keep) return Promise.resolve({ deleted: [], left: [] });
      cleaned ??= (async () => {
        await Promise.allSettled(created.map((c) => c.sent));
        const pods = created.map(({ namespace, name }) => `${namespace}/${name}`);
        if (pods.length > 0) emit({ type: 'cleanup-started', pods });
        const deleted: string[] = [];
        const left: LeftPod[] = [];
        const deleteOne = async ({ namespace, name }: { namespace: string; name: string }): Promise<void> => {
          try {
            await deletePod(cleanupApi, namespace, name);
            deleted.push(`${namespace}/${name}`);
          } catch (err) {
            left.push({ namespace, name, reason: err instanceof Error ? err.message : String(err) });
          }
        };
        const byNamespace = new Map<string, { namespace: string; name: string }[]>();
        for (const c of created) byNamespace.set(c.namespace, [...(byNamespace.get(c.namespace) ?? []), c]);
        await Promise.all(
          [...byNamespace].map(async ([namespace, pods]) => {
            // Several pods: one request deletes every pod labelled with this run's id (each carries it, even one whose
            // create answer was lost). Refused (no deletecollection right) or unserved: one delete per pod.
            if (pods.length > 1) {
              try {
                await cleanupApi.call({ verb: 'deletecollection', resource: 'pods', namespace }, () =>
                  cleanupApi.core.deleteCollectionNamespacedPod({ namespace, labelSelector: `${RUN_ID_LABEL}=${opts.runId}`, gracePeriodSeconds: 0 }),
                );
                for (const p of pods) deleted.push(`${namespace}/${p.name}`);
                return;
              } catch {
                /* fall back to deleting each pod */
              }
            }
            await Promise.all(pods.map(deleteOne));
          }),
        );
        await Promise.all(sweeps);
        const report = { deleted: deleted.sort(), left: left.sort((a, b) => compareText(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`)) };
        if (pods.length > 0) emit({ type: 'cleanup-finished', report });
        return report;
      })();
      return cleaned;
    },

    capture(where, command, { mark, timeoutMs }): CaptureSession {
      if (where.kind === 'target-pod') {
        // The destination pod gets its own ephemeral container (tcpdump needs CAP_NET_RAW only), then captures as any location.
        const key = captureLocationKey(where);
        const ready = (async () => {
          const known = targets.get(key);
          if (known) return known;
          const target = await prepareEphemeral(where.namespace, where.name, TARGET_POD_CAPTURE_CONTEXT, undefined, key);
          targets.set(key, target);
          return target;
        })();
        let inner: CaptureSession | undefined;
        const started = ready.then(
          (target) => (inner = captureAt(target, command, { mark, timeoutMs })),
          (err: unknown) => err instanceof Error ? err.message : String(err),
        );
        return {
          listening: started.then((s) => (typeof s === 'string' ? { ok: false as const, reason: s } : s.listening)),
          stop: async () => {
            const s = await started;
            return typeof s === 'string' ? { records: [], error: s } : (inner as CaptureSession).stop();
          },
        };
      }
      const target = targets.get(locationKey(where));
      if (!target) {
        const reason = `location ${locationKey(where)} was not prepared`;
        return { listening: Promise.resolve({ ok: false, reason }), stop: () => Promise.resolve({ records: [], error: reason }) };
      }
      return captureAt(target, command, { mark, timeoutMs });
    },

    execs: () => execCount,

    execTarget: (where) => targets.get(locationKey(where)),
  };
  return self;

  /** Runs one location's capture script in one exec whose stdin carries the word to stop. */
  function captureAt(target: ExecTarget, command: string[], { mark, timeoutMs }: { mark: string; timeoutMs: number }): CaptureSession {
      const reader = new CaptureStreamReader(mark);
      const records: CaptureRecord[] = [];
      const stdin = new PassThrough();
      let heard!: (v: { ok: true } | { ok: false; reason: string }) => void;
      const listening = new Promise<{ ok: true } | { ok: false; reason: string }>((resolve) => (heard = resolve));
      // The captures are bounded by the script's own timeout; the exec gets that bound and the margin.
      const ended = runExec(target, {
        command,
        timeoutMs,
        stdin,
        onStdout: (chunk) => {
          records.push(...reader.push(chunk));
          if (reader.listening) heard({ ok: true });
        },
      }).then((out) => {
        const why =
          out.error ??
          (out.timedOut ? 'the capture exec ran out of time' : out.exitCode === CAPTURE_NO_TMPDIR_EXIT ? 'no writable temporary directory in the debug container' : out.exitCode !== 0 ? `the capture script ended with exit ${out.exitCode ?? 'unknown'}${out.stderr.trim() ? `: ${out.stderr.trim().slice(0, 200)}` : ''}` : undefined);
        heard(why === undefined ? { ok: true } : { ok: false, reason: why });
        return why;
      });
      return {
        listening,
        async stop() {
          // One line on stdin is the word to stop; the script then ends each tcpdump by its PID and prints the captures.
          stdin.write('stop\n');
          const why = await ended;
          stdin.end();
          return { records, ...(why !== undefined && records.length === 0 ? { error: why } : {}) };
        },
      };
  }
}

/** The exit code in an exec's channel-3 status: Success = 0, else `details.causes[reason=ExitCode]`. */
export function exitCodeOfStatus(status: V1Status): number | null {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = cause?.message !== undefined ? Number(cause.message) : NaN;
  return Number.isInteger(code) ? code : null;
}

function ephemeralOutcome(pod: V1Pod, name: string): string | undefined {
  const st = (pod.status?.ephemeralContainerStatuses ?? []).find((s) => s.name === name);
  if (st?.state?.running) return 'ready';
  if (st?.state?.terminated) return `it terminated (${st.state.terminated.reason ?? `exit ${st.state.terminated.exitCode}`})`;
  const waiting = st?.state?.waiting;
  const pull = pullFailureReason(waiting, st?.image ?? '');
  if (pull) return pull;
  if (waiting?.reason && /InvalidImageName|CreateContainerError|CreateContainerConfigError/.test(waiting.reason)) {
    return `${waiting.reason}: ${waiting.message ?? ''}`.trim();
  }
  return undefined;
}

function explainSetupError(err: unknown, what: string): Error {
  const code = err instanceof NetdebugError ? (err.cause ? statusCodeOf(err.cause) : undefined) : statusCodeOf(err);
  const message = err instanceof NetdebugError ? (err.cause ? apiMessageOf(err.cause) : err.message) : apiMessageOf(err);
  if (code === 404 && what.includes('ephemeral')) {
    return new Error(`could not ${what}: ephemeral containers are disabled on this cluster (or the pod is gone): ${message}`);
  }
  if (code === 403) {
    const hint = err instanceof NetdebugError && err.hint ? ` (${err.hint})` : '';
    if (/violates PodSecurity|pod security/i.test(message)) return new Error(`could not ${what}: rejected by Pod Security: ${message}`);
    return new Error(`could not ${what}: forbidden: ${message}${hint}`);
  }
  return new Error(`could not ${what}: ${message}`);
}

/** The words for an exec the API refused at the upgrade (client-node reports only the HTTP status then). */
const EXEC_REFUSED: Readonly<Record<string, string>> = {
  '401': 'unauthorized (401): the credentials were rejected',
  '403': 'forbidden (403): this user may not exec into pods (create pods/exec)',
  '404': 'not found (404): the pod or its container is gone',
};

function describeExecError(err: unknown): string {
  const status = /Unexpected server response: (\d{3})/.exec(err instanceof Error ? err.message : String((err as { message?: unknown } | null)?.message ?? ''))?.[1];
  if (status && EXEC_REFUSED[status]) return EXEC_REFUSED[status];
  if (err instanceof Error) return err.message;
  // client-node rejects with the ws ErrorEvent or a V1Status-like object on a failed upgrade
  const e = err as { message?: unknown; error?: { message?: unknown } } | null;
  if (typeof e?.message === 'string') return e.message;
  if (typeof e?.error?.message === 'string') return e.error.message;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/** Deletes one pod now (grace period 0); a pod already gone counts as deleted. */
async function deletePod(api: KubeApi, namespace: string, name: string): Promise<void> {
  try {
    await api.call({ verb: 'delete', resource: 'pods', namespace, name }, () => api.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }));
  } catch (err) {
    if (!(err instanceof NetdebugError && err.code === 'TARGET_NOT_FOUND')) throw err;
  }
}

/** Whether a debug pod is past its activeDeadlineSeconds (or ended): no run can still be using it. */
export function isExpiredDebugPod(pod: V1Pod, now: number): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return true;
  const deadline = pod.spec?.activeDeadlineSeconds;
  const start = pod.status?.startTime ?? pod.metadata?.creationTimestamp;
  if (deadline === undefined || start === undefined) return false;
  return new Date(start).getTime() + deadline * 1000 < now;
}

/** What `kubectl netdebug cleanup` found and did, and where it looked. */
export interface CleanupAllResult extends CleanupReport {
  /** `all namespaces` or `namespace NS`. */
  scope: string;
  /** Why the scope is narrower than asked (a cluster-wide list was forbidden), when it is. */
  narrowed?: string;
}

/**
 * Deletes every pod the tool created (label managed-by=kubectl-netdebug): in `namespace` when given, else in every
 * namespace the user may list (falling back to `fallbackNamespace` when listing across namespaces is forbidden).
 * A pod it cannot delete is reported in `left`, not thrown; each request is bounded.
 */
export async function cleanupDebugPods(
  kc: KubeConfig,
  opts: { namespace?: string; fallbackNamespace?: string; countRequest?: () => void; requestTimeoutMs?: number },
): Promise<CleanupAllResult> {
  const api: KubeApi = createKubeApi(kc, { ...(opts.countRequest ? { countRequest: opts.countRequest } : {}), requestTimeoutMs: opts.requestTimeoutMs || CLEANUP_REQUEST_TIMEOUT_MS });
  const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
  const listIn = (namespace: string) => api.call({ verb: 'list', resource: 'pods', namespace }, () => api.core.listNamespacedPod({ namespace, labelSelector }));
  let scope: string;
  let narrowed: string | undefined;
  let pods: V1Pod[];
  if (opts.namespace !== undefined) {
    scope = `namespace ${opts.namespace}`;
    pods = (await listIn(opts.namespace)).items;
  } else {
    try {
      pods = (await api.call({ verb: 'list', resource: 'pods' }, () => api.core.listPodForAllNamespaces({ labelSelector }))).items;
      scope = 'all namespaces';
    } catch (err) {
      if (!(err instanceof NetdebugError && err.code === 'FORBIDDEN') || opts.fallbackNamespace === undefined) throw err;
      scope = `namespace ${opts.fallbackNamespace}`;
      narrowed = `listing pods in all namespaces is forbidden: looked only in namespace ${opts.fallbackNamespace} (use -n NS for others)`;
      pods = (await listIn(opts.fallbackNamespace)).items;
    }
  }
  const deleted: string[] = [];
  const left: LeftPod[] = [];
  await Promise.all(
    pods.map(async (p) => {
      const namespace = p.metadata?.namespace ?? '';
      const name = p.metadata?.name ?? '';
      try {
        await deletePod(api, namespace, name);
        deleted.push(`${namespace}/${name}`);
      } catch (err) {
        left.push({ namespace, name, reason: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  return { scope, ...(narrowed ? { narrowed } : {}), deleted: deleted.sort(), left: left.sort((a, b) => compareText(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`)) };
}

/** Deletes every pod the tool created (label managed-by=kubectl-netdebug) in one namespace or all; returns their names. */
export async function cleanupAll(kc: KubeConfig, opts: { namespace?: string; allNamespaces?: boolean; countRequest?: () => void }): Promise<string[]> {
  const api: KubeApi = createKubeApi(kc, opts.countRequest ? { countRequest: opts.countRequest } : {});
  const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
  const pods = opts.allNamespaces
    ? await api.call({ verb: 'list', resource: 'pods' }, () => api.core.listPodForAllNamespaces({ labelSelector }))
    : await api.call({ verb: 'list', resource: 'pods', namespace: opts.namespace ?? 'default' }, () =>
        api.core.listNamespacedPod({ namespace: opts.namespace ?? 'default', labelSelector }),
      );
  const deleted: string[] = [];
  await Promise.all(
    pods.items.map(async (p) => {
      const namespace = p.metadata?.namespace ?? '';
      const name = p.metadata?.name ?? '';
      try {
        await api.call({ verb: 'delete', resource: 'pods', namespace, name }, () => api.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }));
        deleted.push(`${namespace}/${name}`);
      } catch (err) {
        if (!(err instanceof NetdebugError && err.code === 'TARGET_NOT_FOUND')) throw err;
      }
    }),
  );
  return deleted.sort();
}

/** The kubectl commands that delete the pods left behind, one per namespace. */
export function deleteCommands(left: readonly LeftPod[], context?: string): string[] {
  const byNs = new Map<string, string[]>();
  for (const p of left) byNs.set(p.namespace, [...(byNs.get(p.namespace) ?? []), p.name]);
  return [...byNs].map(([ns, names]) => `kubectl delete pod -n ${ns} ${names.join(' ')}${context ? ` --context ${context}` : ''}`);
}
