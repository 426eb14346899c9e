/**
 * The command a person pastes into a POSIX shell to repeat one probe by hand: `kubectl exec` into the very container
 * the probe ran in, with the probe's own argv (never the batch script it rode in) and the connection flags the run was
 * given, secrets left out. Node debug pods are deleted when the run ends, so their probes also say so and how to repeat
 * them anyway (`--keep`, or a fresh pod from `kubectl debug node/…`). Pure.
 */
import type { ProbeLocation } from './model.ts';
import { shellJoin } from './shell-quote.ts';

/** The container a location's probes were exec'd in. */
export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
}

/** How to repeat one probe: the command, and when it cannot be pasted as is, why and what to paste instead. */
export interface ProbeRepeat {
  /** `kubectl … exec -n NS POD -c CONTAINER -- ARGV…`, quoted for a POSIX shell. */
  command: string;
  /** When the command alone may not work: the pod is gone after the run, or a secret flag was left out. */
  note?: string;
  /** A command that repeats the probe from a fresh pod when the run's pod is gone (node probes on the host network). */
  alternative?: string;
}

/** The connection flags of a run as the CLI parsed them (the fields of kube/config.ts's flags that kubectl takes too). */
export interface RepeatConnection {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  server?: string;
  token?: string;
  as?: string;
  asGroups?: string[];
  certificateAuthority?: string;
  insecureSkipTlsVerify?: boolean;
}

/** Everything beyond the probe that its repeat command depends on. */
export interface RepeatSettings {
  connection: RepeatConnection;
  /** The debug image (for the `kubectl debug node/…` alternative). */
  image: string;
  /** `--keep`: node debug pods stay after the run. */
  keep: boolean;
  /** How long a node debug pod lives at most (its activeDeadlineSeconds), for the note. */
  podDeadlineSeconds: number;
}

/**
 * The kubectl global flags that reproduce the run's connection, in kubectl's spelling; `--token` is never written
 * (its value is a secret) and is named in `withheld` instead.
 */
export function kubectlConnectionArgs(c: RepeatConnection): { args: string[]; withheld: string[] } {
  const args: string[] = [];
  const add = (flag: string, value: string | undefined): void => {
    if (value !== undefined) args.push(`--${flag}=${value}`);
  };
  add('kubeconfig', c.kubeconfig);
  add('context', c.context);
  add('cluster', c.cluster);
  add('user', c.user);
  add('server', c.server);
  add('as', c.as);
  for (const g of c.asGroups ?? []) add('as-group', g);
  add('certificate-authority', c.certificateAuthority);
  if (c.insecureSkipTlsVerify === true) args.push('--insecure-skip-tls-verify');
  return { args, withheld: c.token !== undefined ? ['--token'] : [] };
}

/** The repeat command of a probe whose argv ran in `target` at `where`. */
export function repeatCommand(where: ProbeLocation, target: ExecTarget, argv: readonly string[], s: RepeatSettings): ProbeRepeat {
  const { args, withheld } = kubectlConnectionArgs(s.connection);
  const command = shellJoin(['kubectl', ...args, 'exec', '-n', target.namespace, target.pod, '-c', target.container, '--', ...argv]);
  const notes: string[] = [];
  let alternative: string | undefined;
  if (where.kind === 'node-pod') {
    if (s.keep) {
      notes.push(`pod ${target.namespace}/${target.pod} was kept (--keep) and ends by itself ${s.podDeadlineSeconds} s after it started; remove it sooner with: kubectl netdebug cleanup`);
    } else if (where.hostNetwork) {
      notes.push(`pod ${target.namespace}/${target.pod} was deleted when the run ended: rerun with --keep to paste this command, or repeat the probe from a new pod on the node's network (delete that pod afterwards)`);
      alternative = shellJoin(['kubectl', ...args, 'debug', `node/${where.node}`, '-n', target.namespace, '-i', '--profile=netadmin', `--image=${s.image}`, '--', ...argv]);
    } else {
      notes.push(`pod ${target.namespace}/${target.pod} was deleted when the run ended: rerun with --keep to paste this command`);
    }
  }
  if (withheld.length > 0) notes.push(`add your ${withheld.join(', ')} (not shown: it is a secret)`);
  return { command, ...(notes.length > 0 ? { note: notes.join('; ') } : {}), ...(alternative !== undefined ? { alternative } : {}) };
}
