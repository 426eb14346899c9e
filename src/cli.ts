/**
 * The command line: yargs parses argv, and every flag is converted here, once, into a typed options object (durations
 * in milliseconds, output mode decided, target syntax checked). Nothing past this file sees a flag string.
 */
import type { KubeFlags } from './kube/config.ts';
import yargs from 'yargs';
import type { IPFamily } from './core/address.ts';
import { NetdebugError } from './core/errors.ts';
import { parseTargetArg, type ParsedTarget } from './core/target.ts';
import { completionScript, SHELLS, type Shell } from './completion.ts';
import pkg from '../package.json' with { type: 'json' };

import { DEFAULT_IMAGE, DEFAULT_NODE_NAMESPACE, MAX_SAMPLES, OUTPUT_MODES, type OutputMode } from './defaults.ts';
import { rbacManifests } from './core/rbac.ts';
import { FLAGS, flagsOfGroup, type FlagSpec } from './flags.ts';

export { DEFAULT_IMAGE, OUTPUT_MODES, type OutputMode };
/** The plugin version, from package.json. */
export const VERSION: string = pkg.version;

/** The kubectl connection flags, typed: exactly what src/kube/config.ts reads. */
export type ConnectionFlags = KubeFlags;

/** `kubectl netdebug SRC DST`: the typed options. Targets are parsed; their default namespace comes from the kubeconfig. */
export interface DiagnoseOptions {
  source: ParsedTarget;
  destination: ParsedTarget;
  output: OutputMode;
  image: string;
  timeoutMs: number;
  /** `--samples N`: how many times each DNS lookup and TCP probe runs; absent means the defaults (DEFAULT_DNS_SAMPLES for DNS, 1 for TCP). */
  samples?: number;
  /** `--family IPv4|IPv6`: run the ladder for this address family alone; absent means every family the destination has. */
  family?: IPFamily;
  keep: boolean;
  /** `--trace` (always) or `--no-trace` (never); absent: trace only when the verdict is uncertain. */
  trace?: 'always' | 'never';
  /** `--capture-dir DIR`: one pcap per traced hop (implies --trace). */
  captureDir?: string;
  /** `-o tui`: quit as soon as the verdict is shown instead of staying open for drilling. */
  exitOnVerdict?: boolean;
  /** --node-namespace, when given (else DEFAULT_NODE_NAMESPACE). */
  nodeNamespace?: string;
  /** --pull-timeout, when given (else DEFAULT_PULL_TIMEOUT). */
  pullTimeoutMs?: number;
  connection: ConnectionFlags;
}

/** `kubectl netdebug cleanup`: the typed options. */
export interface CleanupOptions {
  allNamespaces: boolean;
  connection: ConnectionFlags;
}

/** What the command line asked for: a diagnosis, a cleanup, or text to print (help, version) and exit 0. */
export type CliCommand =
  | { kind: 'diagnose'; options: DiagnoseOptions }
  | { kind: 'cleanup'; options: CleanupOptions }
  | { kind: 'print'; text: string };

/** The environment the CLI decides defaults from. */
export interface CliEnv {
  /** Whether stdout is a terminal (tui by default there). */
  stdoutIsTTY: boolean;
  /** Whether we run in CI (never tui there). */
  ci: boolean;
}

/** The longest `--timeout` a probe may have (each probe waits this long at most; longer is a typo, not a wish). */
export const MAX_PROBE_TIMEOUT_MS = 5 * 60_000;
/** The longest `--request-timeout` (kubectl allows any, but Node timers overflow past 2^31-1 ms into "now"). */
export const MAX_REQUEST_TIMEOUT_MS = 60 * 60_000;
/** The longest `--pull-timeout`: an hour (the node debug pods' own deadline is shorter than that anyway). */
export const MAX_PULL_TIMEOUT_MS = 60 * 60_000;

/**
 * Parses a duration: `500ms`, `2s`, `1.5s`, `1m`, `1h`, or a bare number of seconds (as kubectl's --request-timeout).
 * Throws NetdebugError USAGE naming the flag, also when it is longer than `maxMs`.
 */
export function parseDuration(text: string, flag: string, maxMs?: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) {
    throw new NetdebugError('USAGE', `invalid ${flag} "${text}": expected a duration like 500ms, 2s or 1m`, { hint: `e.g. ${flag}=2s` });
  }
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  const ms = Math.round(n * factor);
  if (maxMs !== undefined && !(ms <= maxMs)) {
    throw new NetdebugError('USAGE', `${flag} ${text} is too long: at most ${formatLimit(maxMs)}`, { hint: `e.g. ${flag}=${formatLimit(Math.min(maxMs, 30_000))}` });
  }
  return ms;
}

/** A limit in the unit a user would type: 5m, 1h, 30s. */
function formatLimit(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const EXAMPLES: [string, string][] = [
  ['kubectl netdebug client web:80', 'from pod client to Service (or pod) web, port 80, in the current namespace'],
  ['kubectl netdebug -n shop deploy/frontend svc/checkout:http', 'from a ready pod of a Deployment to a named Service port'],
  ['kubectl netdebug front/pod/client shop/svc/web -o json', 'across namespaces, as JSON for scripts'],
  ['kubectl netdebug pod/client node/node-2:10250', 'from a pod to a node port'],
  ['kubectl netdebug node/node-1 10.96.0.10:53', 'from a node (hostNetwork) to an address'],
  ['kubectl netdebug cleanup -A', 'delete every pod netdebug left behind, in all namespaces'],
  ['kubectl netdebug rbac --node-namespace netdebug', 'print the Roles and ClusterRoles a cluster admin grants for netdebug'],
];

/** Parses argv (without node and script) into a CliCommand; throws NetdebugError USAGE/INVALID_TARGET (exit 2). */
export async function parseCli(argv: string[], env: CliEnv): Promise<CliCommand> {
  let command: CliCommand | undefined;
  const parser = yargs()
    .scriptName('kubectl netdebug')
    .usage('Usage: kubectl netdebug SRC DST [flags]\n       kubectl netdebug cleanup [-n NS | -A]\n       kubectl netdebug rbac [--node-namespace NS]\n\nFind where traffic from SRC to DST breaks: DNS, Service, kube-proxy, NetworkPolicy, node or overlay.\nTargets: [[NAMESPACE/]KIND/]NAME[:PORT], KIND one of pod|po, service|svc, node|no, deployment|deploy, statefulset|sts, daemonset|ds; DST may also be an IP or a host name.')
    .command(
      '$0 <source> <destination>',
      false,
      (y) =>
        y
          .positional('source', { type: 'string', describe: 'where traffic starts: a pod, workload or node' })
          .positional('destination', { type: 'string', describe: 'where it should arrive: pod, Service, node or address, with :PORT' }),
      (a) => {
        command = { kind: 'diagnose', options: toDiagnoseOptions(a, env) };
      },
    )
    .command(
      'cleanup',
      'delete every pod netdebug created (by its labels)',
      (y) => y.options(yargsOptions(FLAGS.filter((f) => f.cleanupOnly === true))),
      (a) => {
        command = { kind: 'cleanup', options: { allNamespaces: a['all-namespaces'] === true, connection: toConnectionFlags(a) } };
      },
    )
    .command(
      'rbac',
      'print the minimal Role and ClusterRole manifests netdebug needs (for a cluster admin to apply)',
      (y) => y,
      (a) => {
        command = { kind: 'print', text: rbacManifests({ nodeNamespace: nodeNamespaceOf(a) ?? DEFAULT_NODE_NAMESPACE }) };
      },
    )
    .command(
      'completion <shell>',
      'print a completion script for kubectl-netdebug (bash, zsh, fish)',
      (y) => y.positional('shell', { type: 'string', choices: SHELLS }),
      (a) => {
        command = { kind: 'print', text: completionScript(a.shell as Shell) };
      },
    )
    .options(yargsOptions(FLAGS.filter((f) => !f.cleanupOnly)))
    .group(flagsOfGroup('Flags:', { cleanup: false }), 'Flags:')
    .group(flagsOfGroup('Connection:', { cleanup: false }), 'Connection:')
    .example(EXAMPLES)
    .help('help')
    .alias('help', 'h')
    .version('version', 'show the version', VERSION)
    .strict()
    .exitProcess(false)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err instanceof NetdebugError) throw err;
      if (argv[0] === 'completion') {
        // yargs counts the missing <shell> as missing SRC DST of the default command.
        throw new NetdebugError('USAGE', argv.length < 2 ? `completion needs a shell: ${SHELLS.join(', ')}` : msg || 'invalid completion command', {
          hint: 'e.g. source <(kubectl netdebug completion bash)',
        });
      }
      const got = /^Not enough non-option arguments: got (\d+)/.exec(msg ?? '')?.[1];
      const message = got !== undefined ? `expected SRC and DST, got ${got} argument${got === '1' ? '' : 's'}` : msg || err?.message || 'invalid command line';
      throw new NetdebugError('USAGE', message, { hint: 'run `kubectl netdebug --help` for usage and examples' });
    });

  let printed: string | undefined;
  await parser.parseAsync(argv, {}, (err, _args, output) => {
    if (err) throw err;
    if (output) printed = output;
  });
  if (printed !== undefined) return { kind: 'print', text: printed.endsWith('\n') ? printed : `${printed}\n` };
  if (!command) throw new NetdebugError('USAGE', 'missing SRC and DST', { hint: 'run `kubectl netdebug --help` for usage and examples' });
  return command;
}

/** The yargs option definitions of some flags of the table. */
function yargsOptions(flags: readonly FlagSpec[]): Record<string, { alias?: string; type: 'string' | 'boolean'; describe: string; default?: string | boolean; choices?: readonly string[] }> {
  return Object.fromEntries(
    flags.map((f) => [
      f.name,
      {
        type: f.type,
        describe: f.describe,
        ...(f.alias !== undefined ? { alias: f.alias } : {}),
        ...(f.default !== undefined ? { default: f.default } : {}),
        ...(f.choices !== undefined ? { choices: f.choices } : {}),
      },
    ]),
  );
}

type RawArgs = Record<string, unknown>;

function str(a: RawArgs, key: string): string | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new NetdebugError('USAGE', `--${key} takes a single value`, { hint: `give --${key} once` });
  return v;
}

function toConnectionFlags(a: RawArgs): ConnectionFlags {
  const flags: ConnectionFlags = {};
  const set = <K extends keyof ConnectionFlags>(k: K, v: ConnectionFlags[K] | undefined): void => {
    if (v !== undefined) flags[k] = v;
  };
  set('kubeconfig', str(a, 'kubeconfig'));
  set('context', str(a, 'context'));
  set('cluster', str(a, 'cluster'));
  set('user', str(a, 'user'));
  set('namespace', str(a, 'namespace'));
  set('server', str(a, 'server'));
  set('token', str(a, 'token'));
  set('as', str(a, 'as'));
  set('certificateAuthority', str(a, 'certificate-authority'));
  // One value per --as-group, repeated as in kubectl (yargs' array: true would also swallow the SRC and DST after it).
  const groups = a['as-group'];
  if (groups !== undefined) flags.asGroups = [groups].flat().map(String);
  if (a['insecure-skip-tls-verify'] === true) flags.insecureSkipTlsVerify = true;
  const rt = str(a, 'request-timeout');
  if (rt !== undefined) {
    // 0 stays: it means "no timeout" (as in kubectl), unlike an absent flag, which gets the documented default.
    flags.requestTimeoutMs = parseDuration(rt, '--request-timeout', MAX_REQUEST_TIMEOUT_MS);
  }
  if (flags.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(flags.namespace)) {
    throw new NetdebugError('USAGE', `invalid --namespace "${flags.namespace}": not a DNS-1123 label`, { hint: 'namespaces are lower case letters, digits and -' });
  }
  return flags;
}

/** Parses `--samples`: a whole number from 1 to MAX_SAMPLES, or undefined when the flag is absent. */
export function parseSamples(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_SAMPLES) {
    throw new NetdebugError('USAGE', `invalid --samples "${text}": a whole number from 1 to ${MAX_SAMPLES}`, { hint: 'e.g. --samples 20' });
  }
  return n;
}

/** Parses `--family`: IPv4 or IPv6 (any case, or 4 / 6), or undefined when the flag is absent. */
export function parseFamily(text: string | undefined): IPFamily | undefined {
  if (text === undefined) return undefined;
  const t = text.trim().toLowerCase();
  if (t === 'ipv4' || t === '4') return 'IPv4';
  if (t === 'ipv6' || t === '6') return 'IPv6';
  throw new NetdebugError('USAGE', `invalid --family "${text}": IPv4 or IPv6`, { hint: 'e.g. --family IPv6, or leave it out to test every family the destination has' });
}

function toDiagnoseOptions(a: RawArgs, env: CliEnv): DiagnoseOptions {
  const connection = toConnectionFlags(a);
  // Parsed once, now, so syntax errors surface before any kubeconfig is read; main completes the default namespace.
  const source = parseTargetArg(String(a.source), 'source', connection.namespace);
  const destination = parseTargetArg(String(a.destination), 'destination', connection.namespace);
  const timeoutMs = parseDuration(str(a, 'timeout') ?? '2s', '--timeout', MAX_PROBE_TIMEOUT_MS);
  if (timeoutMs < 100) throw new NetdebugError('USAGE', `--timeout ${String(a.timeout)} is too short: probes need at least 100ms`, { hint: 'e.g. --timeout=2s' });
  const image = str(a, 'image') ?? DEFAULT_IMAGE;
  if (image.trim() === '' || /\s/.test(image)) throw new NetdebugError('USAGE', `invalid --image "${image}"`, { hint: `e.g. --image=${DEFAULT_IMAGE}` });
  const output = (str(a, 'output') as OutputMode | undefined) ?? (env.stdoutIsTTY && !env.ci ? 'tui' : 'text');
  const samples = parseSamples(str(a, 'samples'));
  const family = parseFamily(str(a, 'family'));
  const nodeNamespace = nodeNamespaceOf(a);
  const pull = str(a, 'pull-timeout');
  const pullTimeoutMs = pull === undefined ? undefined : parseDuration(pull, '--pull-timeout', MAX_PULL_TIMEOUT_MS);
  if (pullTimeoutMs !== undefined && pullTimeoutMs < 1000) throw new NetdebugError('USAGE', `--pull-timeout ${pull} is too short: a pull takes at least a second`, { hint: 'e.g. --pull-timeout=5m' });
  return {
    source,
    destination,
    output,
    image,
    timeoutMs,
    ...(samples !== undefined ? { samples } : {}),
    ...(family !== undefined ? { family } : {}),
    keep: a.keep === true,
    ...traceOptionsOf(a),
    ...(a['exit-on-verdict'] === true ? { exitOnVerdict: true } : {}),
    ...(nodeNamespace !== undefined ? { nodeNamespace } : {}),
    ...(pullTimeoutMs !== undefined ? { pullTimeoutMs } : {}),
    connection,
  };
}

/** --trace / --no-trace and --capture-dir (which implies --trace, and cannot go with --no-trace). */
function traceOptionsOf(a: RawArgs): { trace?: 'always' | 'never'; captureDir?: string } {
  const dir = str(a, 'capture-dir');
  if (dir !== undefined && dir.trim() === '') throw new NetdebugError('USAGE', '--capture-dir needs a directory', { hint: 'e.g. --capture-dir ./captures' });
  if (dir !== undefined && a.trace === false) throw new NetdebugError('USAGE', '--capture-dir saves the trace, which --no-trace turns off', { hint: 'drop one of them' });
  const trace = a.trace === true || dir !== undefined ? 'always' : a.trace === false ? 'never' : undefined;
  return { ...(trace ? { trace } : {}), ...(dir !== undefined ? { captureDir: dir } : {}) };
}

/** --node-namespace, checked (a DNS-1123 label), or undefined when not given. */
function nodeNamespaceOf(a: RawArgs): string | undefined {
  const ns = str(a, 'node-namespace');
  if (ns !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) {
    throw new NetdebugError('USAGE', `invalid --node-namespace "${ns}": not a DNS-1123 label`, { hint: 'namespaces are lower case letters, digits and -' });
  }
  return ns;
}
