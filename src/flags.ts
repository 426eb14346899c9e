/**
 * The one table of command-line flags: yargs is built from it (cli.ts) and tab completion reads it (completion.ts), so a
 * flag added here is parsed, shown in --help and completed, with its candidate values, in one step.
 */
import { DEFAULT_DNS_SAMPLES, DEFAULT_IMAGE, DEFAULT_NODE_NAMESPACE, DEFAULT_PULL_TIMEOUT, MAX_SAMPLES, OUTPUT_MODES } from './defaults.ts';

/** Where completion takes a value flag's candidates from: fixed values, the cluster, the kubeconfig, or the shell's file completion. */
export type FlagValues = { kind: 'fixed'; values: readonly string[] } | { kind: 'namespaces' } | { kind: 'contexts' } | { kind: 'file' } | { kind: 'free' };

/** One flag: its long name, short alias, type, help group and text, and where completion gets its values. */
export interface FlagSpec {
  name: string;
  alias?: string;
  type: 'string' | 'boolean';
  group: 'Flags:' | 'Connection:';
  describe: string;
  default?: string | boolean;
  choices?: readonly string[];
  /** For string flags: the candidates completion offers. */
  values?: FlagValues;
  /** Only the `cleanup` command takes it. */
  cleanupOnly?: boolean;
}

/** Typical values of the duration flags (any duration is accepted; these are the ones worth a Tab). */
const PROBE_TIMEOUTS = ['1s', '2s', '5s', '10s'];
const REQUEST_TIMEOUTS = ['0', '5s', '30s', '1m'];
/** Typical values of --samples. */
const SAMPLE_COUNTS = ['1', '5', '20', '50'];
const PULL_TIMEOUTS = ['1m', '5m', '10m'];

/** Every flag of `kubectl netdebug`, in --help order. */
export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'output',
    alias: 'o',
    type: 'string',
    group: 'Flags:',
    choices: OUTPUT_MODES,
    describe: 'output format: tui, text, json (one Report) or ndjson (every event, streamed); default tui on a terminal, text otherwise',
    values: { kind: 'fixed', values: OUTPUT_MODES },
  },
  {
    name: 'image',
    type: 'string',
    group: 'Flags:',
    default: DEFAULT_IMAGE,
    describe: 'netbox image for the probe containers (default pinned by digest; a mirror for air-gapped clusters)',
    values: { kind: 'fixed', values: [DEFAULT_IMAGE] },
  },
  {
    name: 'node-namespace',
    type: 'string',
    group: 'Flags:',
    describe: `namespace of the node debug pods; hostNetwork, so it must allow privileged pods (default: ${DEFAULT_NODE_NAMESPACE})`,
    values: { kind: 'namespaces' },
  },
  {
    name: 'pull-timeout',
    type: 'string',
    group: 'Flags:',
    describe: `how long the debug image may take to pull on a node (default: ${DEFAULT_PULL_TIMEOUT}, a cold ~200 MB pull on a slow link)`,
    values: { kind: 'fixed', values: PULL_TIMEOUTS },
  },
  { name: 'timeout', type: 'string', group: 'Flags:', default: '2s', describe: 'timeout of each probe (500ms, 2s, 1m)', values: { kind: 'fixed', values: PROBE_TIMEOUTS } },
  {
    name: 'samples',
    type: 'string',
    group: 'Flags:',
    describe: `run the DNS lookups and the TCP probes N times each (1-${MAX_SAMPLES}), for faults that come and go; default ${DEFAULT_DNS_SAMPLES} for DNS, 1 for TCP`,
    values: { kind: 'fixed', values: SAMPLE_COUNTS },
  },
  {
    name: 'family',
    type: 'string',
    group: 'Flags:',
    describe:
      'address family to test: IPv4 or IPv6. Default: every family the destination has (a dual-stack Service, pod or node runs the ladder once per family, and a fault in one family is named with it); a family the destination lacks is a usage error',
    values: { kind: 'fixed', values: ['IPv4', 'IPv6'] },
  },
  {
    name: 'trace',
    type: 'boolean',
    group: 'Flags:',
    describe: 'capture the probe hop by hop (tcpdump at the pod, veth, bridge, tunnel, underlay) even when the verdict is certain; --no-trace never (default: only when the verdict is uncertain)',
  },
  { name: 'capture-dir', type: 'string', group: 'Flags:', describe: 'save one pcap per traced hop in DIR (implies --trace)', values: { kind: 'file' } },
  { name: 'keep', type: 'boolean', group: 'Flags:', default: false, describe: 'leave the node debug pods for inspection' },
  { name: 'exit-on-verdict', type: 'boolean', group: 'Flags:', default: false, describe: 'tui: exit once the verdict is shown' },
  { name: 'namespace', alias: 'n', type: 'string', group: 'Flags:', describe: "default namespace of both targets (default: the context's)", values: { kind: 'namespaces' } },
  { name: 'all-namespaces', alias: 'A', type: 'boolean', group: 'Flags:', default: false, describe: 'in every namespace', cleanupOnly: true },
  { name: 'kubeconfig', type: 'string', group: 'Connection:', describe: 'path to the kubeconfig file', values: { kind: 'file' } },
  { name: 'context', type: 'string', group: 'Connection:', describe: 'kubeconfig context to use', values: { kind: 'contexts' } },
  { name: 'cluster', type: 'string', group: 'Connection:', describe: 'kubeconfig cluster to use', values: { kind: 'free' } },
  { name: 'user', type: 'string', group: 'Connection:', describe: 'kubeconfig user to use', values: { kind: 'free' } },
  { name: 'server', alias: 's', type: 'string', group: 'Connection:', describe: 'address of the Kubernetes API server', values: { kind: 'free' } },
  { name: 'token', type: 'string', group: 'Connection:', describe: 'bearer token for the API server', values: { kind: 'free' } },
  { name: 'as', type: 'string', group: 'Connection:', describe: 'user to impersonate', values: { kind: 'free' } },
  { name: 'as-group', type: 'string', group: 'Connection:', describe: 'group to impersonate, with --as (repeatable)', values: { kind: 'free' } },
  { name: 'certificate-authority', type: 'string', group: 'Connection:', describe: 'path to a CA certificate file', values: { kind: 'file' } },
  { name: 'insecure-skip-tls-verify', type: 'boolean', group: 'Connection:', describe: 'do not verify the server certificate (insecure)' },
  {
    name: 'request-timeout',
    type: 'string',
    group: 'Connection:',
    describe: 'timeout of each API request (0 = none; 30s, 1m)',
    values: { kind: 'fixed', values: REQUEST_TIMEOUTS },
  },
];

/** The flags yargs adds itself, which completion offers too. */
export const BUILTIN_FLAGS = ['help', 'version'] as const;

/** The flags in one help group, by name (plus yargs' own help and version under Flags:). */
export function flagsOfGroup(group: FlagSpec['group'], opts: { cleanup: boolean }): string[] {
  const own = FLAGS.filter((f) => f.group === group && (opts.cleanup || !f.cleanupOnly)).map((f) => f.name);
  return group === 'Flags:' ? [...own, ...BUILTIN_FLAGS] : own;
}
