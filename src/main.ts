/**
 * The composition root: parses argv, loads the kubeconfig, builds the real Cluster and Prober from src/kube, wires the
 * reporters, runs the diagnosis and sets the exit code. The only module that touches process state.
 */
// Only what every command needs is imported statically: `--version` and `--help` start faster when the diagnosis,
// the reporters, the Kubernetes client and the TUI are loaded (dynamic import) by the commands that use them.
import { parseCli, type CleanupOptions, type DiagnoseOptions } from './cli.ts';
import { describeError } from './core/errors.ts';
import { EXIT_DEBUG_PODS_LEFT, exitCodeForVerdict, type RunEvent } from './core/model.ts';
import { redactCredentials, sanitizeDeep, stripControl } from './core/sanitize.ts';
import { completeTarget } from './core/target.ts';
import { TRACE_CAPTURE_NEED } from './core/trace-select.ts';
import type { CleanupReport, Cluster, LeftPod, Prober } from './ports.ts';
import type { OutputStream, Reporter } from './report/reporter.ts';
import { DEFAULT_DNS_SAMPLES, DEFAULT_NODE_NAMESPACE, DEFAULT_PULL_TIMEOUT } from './defaults.ts';
import { parseDuration } from './cli.ts';

/** The process streams and environment main works with (swappable in tests). */
export interface MainIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
}

/** How long a node debug pod may take to come up before its probes count as could-not-run. */
const PREPARE_TIMEOUT_MS = 30_000;
/** How long a signal handler waits for cleanup before exiting anyway. */
const SIGNAL_CLEANUP_MS = 10_000;
/** The bound on each API request when --request-timeout is not given (`--request-timeout 0` means none, as kubectl). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Text for a terminal: control characters from the cluster stripped, passwords in URLs redacted. */
function forTerminal(text: string): string {
  return redactCredentials(stripControl(text));
}

/** A reporter that sees every event with its strings made safe for a terminal (text and TUI; never JSON). */
function sanitizing(reporter: Reporter): Reporter {
  return {
    ...(reporter.onEvent ? { onEvent: (e: RunEvent) => reporter.onEvent?.(sanitizeDeep(e)) } : {}),
    ...(reporter.finish ? { finish: () => reporter.finish?.() } : {}),
  };
}

/** Says on stderr which debug pods could not be deleted, and the commands that delete them. */
function reportLeftovers(left: readonly LeftPod[], stderr: MainIo['stderr'], context: string | undefined, deleteCommands: (l: readonly LeftPod[], c?: string) => string[]): void {
  if (left.length === 0) return;
  const lines = [`error: could not delete ${left.length} debug pod(s); they are still in the cluster:`];
  for (const p of left) lines.push(`  ${p.namespace}/${p.name}: ${p.reason}`);
  lines.push('  delete them with:');
  for (const c of deleteCommands(left, context)) lines.push(`    ${c}`);
  stderr.write(`${forTerminal(lines.join('\n'))}\n`);
}

/** Whether we run in CI, where the terminal UI never starts (as Ink decides too). */
function isCi(env: NodeJS.ProcessEnv): boolean {
  return env.CI === 'true' || env.CI === '1';
}

/** Runs the plugin on argv (without node and script), sets process.exitCode and returns it. */
export async function run(argv: string[] = process.argv.slice(2), io: MainIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let code: number;
  if (argv[0] === '__complete') {
    // The hidden mode behind kubectl_complete-netdebug (kubectl >= 1.26 plugin completion) and the shell scripts.
    const { runComplete } = await import('./completion.ts');
    code = await runComplete(argv.slice(1), io.stdout, io.env);
    process.exitCode = code;
    return code;
  }
  try {
    const command = await parseCli(argv, { stdoutIsTTY: io.stdout.isTTY === true, ci: isCi(io.env) });
    switch (command.kind) {
      case 'print':
        io.stdout.write(command.text);
        code = 0;
        break;
      case 'cleanup':
        code = await runCleanup(command.options, io);
        break;
      case 'diagnose':
        code = await runDiagnose(command.options, io);
        break;
      default: {
        const never: never = command;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  } catch (err) {
    const d = describeError(err);
    io.stderr.write(forTerminal(`error: ${d.message}\n${d.hint ? `  hint: ${d.hint}\n` : ''}`));
    code = d.exitCode;
  }
  process.exitCode = code;
  return code;
}

async function runCleanup(options: CleanupOptions, io: MainIo): Promise<number> {
  const { loadKubeConfig } = await import('./kube/config.ts');
  const { cleanupDebugPods, deleteCommands } = await import('./kube/prober.ts');
  const loaded = loadKubeConfig(options.connection);
  const requestTimeoutMs = options.connection.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // -n NS: that namespace; -A or neither: every namespace (debug pods go to the source pod's namespace, whichever it was).
  const explicit = options.allNamespaces ? undefined : options.connection.namespace;
  const result = await cleanupDebugPods(loaded.kc, {
    ...(explicit !== undefined ? { namespace: explicit } : { fallbackNamespace: loaded.namespace }),
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
  });
  if (result.narrowed) io.stderr.write(`note: ${result.narrowed}\n`);
  const { deleted, scope } = result;
  if (deleted.length > 0 || result.left.length === 0) {
    io.stdout.write(forTerminal(deleted.length === 0 ? `no netdebug pods in ${scope}\n` : `deleted ${deleted.length} netdebug pod(s) in ${scope}: ${deleted.join(', ')}\n`));
  }
  reportLeftovers(result.left, io.stderr, options.connection.context, deleteCommands);
  return result.left.length > 0 ? EXIT_DEBUG_PODS_LEFT : 0;
}

async function runDiagnose(options: DiagnoseOptions, io: MainIo): Promise<number> {
  // What the first requests need is loaded first; the rest loads while they are on their way (see `resolving`).
  const [{ loadKubeConfig, OVERRIDE_CONTEXT }, { createCluster }, { createKubeApi }, { createSharedReads }, { createPreconnector, DEFAULT_UPGRADE_TIMEOUT_MS }, { pullProgress }] = await Promise.all([
    import('./kube/config.ts'),
    import('./kube/cluster.ts'),
    import('./kube/api.ts'),
    import('./kube/shared-reads.ts'),
    import('./kube/preconnect.ts'),
    import('./kube/debug-containers.ts'),
  ]);
  const loaded = loadKubeConfig(options.connection);
  const requestTimeoutMs = options.connection.requestTimeoutMs ?? loaded.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // The connections opened ahead (preconnect.ts). First the API requests' own, now: its handshakes run while the rest of
  // the client loads (the Kubernetes client's HTTP library is loaded by its first request, build.ts), and the requests'
  // pool takes it. Then the prober's, one per debug container it creates, and a spare opened below for the first exec
  // into a container with none (the netdebug container an earlier run left in the source pod, reused at once: its exec
  // would otherwise pay its own handshakes).
  const preconnector = createPreconnector(loaded.kc, { connectTimeoutMs: requestTimeoutMs || DEFAULT_UPGRADE_TIMEOUT_MS });
  loaded.kc.apiConnection = (host, port) => preconnector.takeApi(host, port);
  preconnector.openApi();
  // One turn of the event loop, so its TCP connect is sent now (Node sends it from a nextTick, which would otherwise
  // wait for the ~0.1 s of loading and request building that follow).
  await new Promise<void>((resolve) => setImmediate(resolve));
  const namespace = options.connection.namespace ?? loaded.namespace;
  const source = completeTarget(options.source, namespace);
  const destination = completeTarget(options.destination, namespace);

  let requests = 0;
  const countRequest = (): void => void (requests += 1);
  const nodeNamespace = options.nodeNamespace ?? DEFAULT_NODE_NAMESPACE;
  // Namespaces and rules reviews that resolution and the preflight share. The preflight's start with resolution's first
  // reads: a pod or workload source runs in the namespace it is named with, node pods go to nodeNamespace (a node source
  // has no namespace of its own), so they add no round trip before the debug pods are created.
  const shared = createSharedReads(createKubeApi(loaded.kc, { countRequest, ...(requestTimeoutMs ? { requestTimeoutMs } : {}) }));
  const real = createCluster(loaded.kc, {
    namespace,
    context: loaded.context,
    countRequest,
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
    shared,
  });
  let prober: Prober | undefined;
  let reporters: Reporter[] = [];
  // From the first request on, a signal or a crash ends the run through the cleanup; exiting also kills a credential
  // plugin still running (config.ts).
  const removeHandlers = installSignalHandlers(() => prober);
  try {
    shared.prefetch(source.kind === 'pod' || source.kind === 'workload' ? [source.namespace, nodeNamespace] : [nodeNamespace]);
    if (source.kind === 'pod' || source.kind === 'workload') preconnector.openSpare();
    // Resolution's first round of reads goes out now, and the code the rest of the run needs loads while it is on its way;
    // runDiagnosis takes this resolution instead of starting another (its failure is handled there, awaited).
    const resolving = real.resolve(source, destination);
    resolving.catch(() => undefined);
    const [
      { createProber, DEADLINE_SECONDS },
      { randomBytes },
      { runDiagnosis },
      { createJsonReporter, createNdjsonReporter },
      { dispatchEvent, shouldUseColor },
      { createTextReporter },
      { guardProber, runPreflight, settingsOf },
    ] = await Promise.all([
      import('./kube/prober.ts'),
      import('node:crypto'),
      import('./run.ts'),
      import('./report/json.ts'),
      import('./report/reporter.ts'),
      import('./report/text.ts'),
      import('./kube/lockdown.ts'),
    ]);
    // One counter for the cluster and the prober, so stats.apiRequests is the whole run's cost.
    const cluster: Cluster = { resolve: (s, d) => (s === source && d === destination ? resolving : real.resolve(s, d)), apiRequests: () => requests };
    const runId = randomBytes(4).toString('hex');

    // Ink only on a real terminal outside CI; `-o tui` into a pipe renders as text.
    const interactive = options.output === 'tui' && io.stdout.isTTY === true && !isCi(io.env);
    reporters =
      options.output === 'json'
        ? [createJsonReporter(io.stdout)]
        : options.output === 'ndjson'
          ? [createNdjsonReporter(io.stdout)]
          : interactive
          ? [
              (await import('./tui/app.tsx')).createTuiReporter({
                color: shouldUseColor(io.stdout, io.env),
                exitOnVerdict: options.exitOnVerdict === true,
                context: loaded.context,
                // Ink holds the terminal in raw mode, so Ctrl-C arrives as a key: raise the real signal for the cleanup below.
                onInterrupt: () => void process.kill(process.pid, 'SIGINT'),
              }),
            ]
          : [createTextReporter(io.stdout, { color: shouldUseColor(io.stdout, io.env) })];
    // Only JSON keeps the cluster's exact strings; what reaches a terminal has its control characters stripped.
    const shown = options.output === 'json' || options.output === 'ndjson' ? reporters : reporters.map(sanitizing);
    // Cleanup progress, for a person watching stderr (not while the TUI owns the terminal).
    const progress = io.stderr.isTTY === true && !interactive;
    // What the preflight decided and image pulls: on stderr whenever the TUI does not own the terminal (a log too).
    const say = (line: string): void => {
      if (!interactive) io.stderr.write(`${forTerminal(line)}\n`);
    };
    const pullLines = new Set<string>();
    const pullTimeoutMs = options.pullTimeoutMs ?? parseDuration(DEFAULT_PULL_TIMEOUT, '--pull-timeout');
    if (progress && options.nodeNamespace === undefined && [source, destination].some((t) => 'namespace' in t && t.namespace === nodeNamespace)) {
      say(`note: node debug pods (if any) go to namespace ${nodeNamespace}, which a target is in too (--node-namespace to choose another)`);
    }
    let exitCode: number | undefined;
    const emit = async (e: RunEvent): Promise<void> => {
      if (e.type === 'run-finished') exitCode = e.exitCode;
      await dispatchEvent(shown, e);
    };

    const report = await runDiagnosis({
      runId,
      source,
      destination,
      cluster,
      makeProber: (facts, plan) => {
        const src = facts.targets.source;
        const sourcePod = src.kind === 'pod' ? real.sourcePod(src.namespace, src.name) : undefined;
        // One preflight, before anything is created: Pod Security levels, runAsNonRoot, nodes, RBAC rights.
        const probes = [...plan.rungs.flatMap((r) => r.probes), ...plan.nodeChecks];
        let preflight: ReturnType<typeof runPreflight> | undefined;
        const once = (): ReturnType<typeof runPreflight> =>
          (preflight ??= runPreflight(loaded.kc, facts, probes, {
            nodeNamespace,
            countRequest,
            shared,
            ...(sourcePod ? { sourcePod } : {}),
            ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
            // --trace captures with tcpdump in the source pod's debug container too (a packet socket: CAP_NET_RAW).
            ...(options.trace === 'always' && src.kind === 'pod' ? { extraNeeds: [TRACE_CAPTURE_NEED] } : {}),
          }));
        const inner = createProber(loaded.kc, facts, {
          image: options.image,
          preconnector,
          ...(sourcePod ? { sourcePod } : {}),
          runId,
          keep: options.keep,
          timeoutMs: PREPARE_TIMEOUT_MS,
          namespace: nodeNamespace,
          pullTimeoutMs,
          settings: async (where) => settingsOf(await once(), where),
          countRequest,
          ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
          onEvent: (ev) => {
            if (ev.type === 'location-pulling') {
              // Pods on one node share its pull: one line per node and moment, not one per pod.
              const line = `pull: ${pullProgress(ev.node, ev.image, ev.elapsedMs, ev.message)}`;
              if (!pullLines.has(line)) say(line);
              pullLines.add(line);
            }
            if (ev.type === 'location-failed') say(`could not prepare ${ev.key}: ${ev.reason}`);
            if (!progress) return;
            if (ev.type === 'cleanup-started') io.stderr.write(`cleanup: deleting ${ev.pods.length} debug pod(s)…\n`);
            if (ev.type === 'cleanup-finished') io.stderr.write(`cleanup: deleted ${ev.report.deleted.length} debug pod(s)${ev.report.left.length ? `, ${ev.report.left.length} left` : ''}\n`);
          },
        });
        prober = guardProber(inner, once, (ev) => {
          switch (ev.type) {
            case 'rights-missing':
              for (const r of ev.rights) say(`preflight: missing RBAC right: ${r}`);
              say('  hint: a cluster admin can grant what netdebug needs: kubectl netdebug rbac');
              break;
            case 'location-refused':
              say(`preflight: not probing from ${ev.key}: ${ev.reason}`);
              break;
            case 'probes-skipped':
              for (const p of ev.probes) say(`preflight: skipped ${p.id}: ${p.reason}`);
              break;
            case 'preflight-note':
              // What the preflight could not read changes nothing it decided: for a person watching, not for logs.
              if (progress) say(`preflight: ${ev.text}`);
              break;
            default: {
              const never: never = ev;
              throw new Error(`unknown preflight event ${JSON.stringify(never)}`);
            }
          }
        });
        return prober;
      },
      opts: {
        timeoutMs: options.timeoutMs,
        debugNamespace: nodeNamespace,
        ...(options.trace ? { trace: options.trace } : {}),
        ...(options.captureDir !== undefined ? { captureDir: options.captureDir } : {}),
        samples: options.samples !== undefined ? { dns: options.samples, tcp: options.samples } : { dns: DEFAULT_DNS_SAMPLES, tcp: 1 },
        ...(options.family !== undefined ? { family: options.family } : {}),
        // The commands that repeat each probe name the context this run used, so they reach the same cluster later.
        repeat: {
          connection: { ...options.connection, ...(loaded.context !== OVERRIDE_CONTEXT ? { context: loaded.context } : {}) },
          image: options.image,
          keep: options.keep,
          podDeadlineSeconds: DEADLINE_SECONDS,
        },
      },
      emit,
      clock: { now: () => Date.now() },
    });
    return exitCode ?? exitCodeForVerdict(report.verdict);
  } finally {
    for (const r of reporters) await r.finish?.();
    // run.ts has cleaned up already (the same promise): say what it could not delete.
    const cleaned: CleanupReport | void = await prober?.cleanup();
    if (cleaned) reportLeftovers(cleaned.left, io.stderr, options.connection.context, (await import('./kube/prober.ts')).deleteCommands);
    // Connections opened ahead that no exec took (the prober's cleanup closed its own; a run that ended before it had one).
    preconnector.closeAll();
    removeHandlers();
  }
}

/** Signals closer together than this are one event (see installSignalHandlers). */
const SIGNAL_COALESCE_MS = 500;

/** The signals that end a run, with the words said and the exit code (128 + the signal number, as shells report). */
const ENDING_SIGNALS = {
  SIGINT: { says: 'interrupted', code: 130 },
  SIGTERM: { says: 'terminated', code: 143 },
  SIGHUP: { says: 'hung up', code: 129 },
} as const;
type EndingSignal = keyof typeof ENDING_SIGNALS;

/**
 * On SIGINT/SIGTERM/SIGHUP, on a crash (an uncaught exception or unhandled rejection anywhere, e.g. in an exec
 * stream's handler) and on a stall (the event loop empty before the run ended): clean up the prober's pods (bounded),
 * then exit 130/143/129, or 3 after a crash or a stall; a later signal
 * exits at once. One Ctrl-C or one `kill` of a process group can reach us twice (directly and forwarded by the launcher
 * re-running us on a newer Node), so a repeat within SIGNAL_COALESCE_MS counts as the same signal, not as insistence.
 */
export function installSignalHandlers(currentProber: () => Prober | undefined): () => void {
  let firstAt: number | undefined;
  const cleanupThenExit = (code: number): void => {
    const prober = currentProber();
    const cleanup = prober ? prober.cleanup() : Promise.resolve();
    const timer = new Promise<void>((r) => setTimeout(r, SIGNAL_CLEANUP_MS).unref());
    void Promise.race([cleanup.catch(() => undefined), timer]).then(() => process.exit(code));
  };
  const handle = (signal: EndingSignal): void => {
    const { says, code } = ENDING_SIGNALS[signal];
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < SIGNAL_COALESCE_MS) return;
      process.exit(code);
    }
    firstAt = Date.now();
    process.stderr.write(`\n${says}: cleaning up debug pods (again to skip)\n`);
    cleanupThenExit(code);
  };
  const onCrash = (err: unknown): void => {
    // Once ending (a signal or an earlier crash), later errors are its echoes: the first one said what happened.
    if (firstAt !== undefined) return;
    firstAt = Date.now();
    const d = describeError(err);
    process.stderr.write(forTerminal(`error: ${d.message}\n${d.hint ? `  hint: ${d.hint}\n` : ''}`));
    process.stderr.write('cleaning up debug pods\n');
    cleanupThenExit(3);
  };
  // Node ends a process whose event loop has nothing left to do, even with the run's promises unsettled: exit 0 with
  // half a report, the worst answer a diagnosis can give. Were that ever to happen (it did once: a wait on a connection
  // nothing kept alive), it ends as a crash does instead: said, cleaned up, exit 3.
  const onStall = (): void => {
    if (firstAt !== undefined) return;
    firstAt = Date.now();
    process.stderr.write('error: internal error: the run stopped with work unfinished and nothing left to wait for (a bug: please report it)\ncleaning up debug pods\n');
    cleanupThenExit(3);
  };
  const handlers = (Object.keys(ENDING_SIGNALS) as EndingSignal[]).map((signal) => [signal, () => handle(signal)] as const);
  for (const [signal, h] of handlers) process.on(signal, h);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  process.on('beforeExit', onStall);
  return () => {
    for (const [signal, h] of handlers) process.off(signal, h);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    process.off('beforeExit', onStall);
  };
}

if (import.meta.main) await run();
