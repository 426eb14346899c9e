/**
 * The composition root: parses argv, loads the kubeconfig, builds the real Cluster and Prober from src/kube, wires the
 * reporters, runs the diagnosis and sets the exit code. The only module that touches process state.
 */
// Only what every command needs is imported statically: `--version` and `--help` start faster when the diagnosis,
// the reporters, the Kubernetes client and the TUI are loaded (dynamic import) by the commands that use them.
import { parseCli, type CleanupOptions, type DiagnoseOptions } from './cli.ts';
import { describeError } from './core/errors.ts';
import type { RunEvent } from './core/model.ts';
import { parseTarget } from './core/target.ts';
import type { Cluster, Prober } from './ports.ts';
import type { OutputStream, Reporter } from './report/reporter.ts';

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
    io.stderr.write(`error: ${d.message}\n${d.hint ? `  hint: ${d.hint}\n` : ''}`);
    code = d.exitCode;
  }
  process.exitCode = code;
  return code;
}

async function runCleanup(options: CleanupOptions, io: MainIo): Promise<number> {
  const { loadKubeConfig } = await import('./kube/config.ts');
  const { cleanupAll } = await import('./kube/prober.ts');
  const loaded = loadKubeConfig(options.connection);
  const namespace = options.connection.namespace ?? loaded.namespace;
  const deleted = await cleanupAll(loaded.kc, options.allNamespaces ? { allNamespaces: true } : { namespace });
  const scope = options.allNamespaces ? 'all namespaces' : `namespace ${namespace}`;
  io.stdout.write(deleted.length === 0 ? `no netdebug pods in ${scope}\n` : `deleted ${deleted.length} netdebug pod(s) in ${scope}: ${deleted.join(', ')}\n`);
  return 0;
}

async function runDiagnose(options: DiagnoseOptions, io: MainIo): Promise<number> {
  const { loadKubeConfig } = await import('./kube/config.ts');
  const { createCluster } = await import('./kube/cluster.ts');
  const { createProber } = await import('./kube/prober.ts');
  const { randomBytes } = await import('node:crypto');
  const { exitCodeForVerdict } = await import('./core/model.ts');
  const { runDiagnosis } = await import('./run.ts');
  const { createJsonReporter, createNdjsonReporter } = await import('./report/json.ts');
  const { dispatchEvent, shouldUseColor } = await import('./report/reporter.ts');
  const { createTextReporter } = await import('./report/text.ts');
  const loaded = loadKubeConfig(options.connection);
  const namespace = options.connection.namespace ?? loaded.namespace;
  const source = parseTarget(options.source, 'source', namespace);
  const destination = parseTarget(options.destination, 'destination', namespace);

  let requests = 0;
  const countRequest = (): void => void (requests += 1);
  const requestTimeoutMs = options.connection.requestTimeoutMs ?? loaded.requestTimeoutMs;
  const real = createCluster(loaded.kc, {
    namespace,
    context: loaded.context,
    countRequest,
    ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
  });
  // One counter for the cluster and the prober, so stats.apiRequests is the whole run's cost.
  const cluster: Cluster = { resolve: (s, d) => real.resolve(s, d), apiRequests: () => requests };
  const runId = randomBytes(4).toString('hex');
  let prober: Prober | undefined;

  // Ink only on a real terminal outside CI; `-o tui` into a pipe renders as text.
  const interactive = options.output === 'tui' && io.stdout.isTTY === true && !isCi(io.env);
  const reporters: Reporter[] =
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
  let exitCode: number | undefined;
  const emit = async (e: RunEvent): Promise<void> => {
    if (e.type === 'run-finished') exitCode = e.exitCode;
    await dispatchEvent(reporters, e);
  };

  const removeHandlers = installSignalHandlers(() => prober);
  try {
    const report = await runDiagnosis({
      runId,
      source,
      destination,
      cluster,
      makeProber: (facts) => {
        prober = createProber(loaded.kc, facts, { image: options.image, runId, keep: options.keep, timeoutMs: PREPARE_TIMEOUT_MS, countRequest });
        return prober;
      },
      opts: { timeoutMs: options.timeoutMs },
      emit,
      clock: { now: () => Date.now() },
    });
    return exitCode ?? exitCodeForVerdict(report.verdict);
  } finally {
    for (const r of reporters) await r.finish?.();
    removeHandlers();
  }
}

/** Signals closer together than this are one event (see installSignalHandlers). */
const SIGNAL_COALESCE_MS = 500;

/**
 * On SIGINT/SIGTERM: clean up the prober's pods, then exit 130/143; a later signal exits at once. One Ctrl-C or one
 * `kill` of a process group can reach us twice (directly and forwarded by the launcher re-running us on a newer Node),
 * so a repeat within SIGNAL_COALESCE_MS counts as the same signal, not as the user insisting.
 */
function installSignalHandlers(currentProber: () => Prober | undefined): () => void {
  let firstAt: number | undefined;
  const handle = (signal: 'SIGINT' | 'SIGTERM'): void => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < SIGNAL_COALESCE_MS) return;
      process.exit(code);
    }
    firstAt = Date.now();
    process.stderr.write(`\n${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: cleaning up debug pods (again to skip)\n`);
    const prober = currentProber();
    const cleanup = prober ? prober.cleanup() : Promise.resolve();
    const timer = new Promise<void>((r) => setTimeout(r, SIGNAL_CLEANUP_MS).unref());
    void Promise.race([cleanup.catch(() => undefined), timer]).then(() => process.exit(code));
  };
  const onInt = (): void => handle('SIGINT');
  const onTerm = (): void => handle('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}

if (import.meta.main) await run();
