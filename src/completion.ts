/**
 * Tab completion: the `__complete` protocol kubectl (≥ 1.26) speaks with `kubectl_complete-netdebug` (one candidate per
 * line, then `:<directive>`), candidates from the cluster (kinds, pods, services, nodes, a Service's ports, namespaces)
 * and flag values, plus the bash/zsh/fish scripts `kubectl netdebug completion SHELL` prints for `kubectl-netdebug`.
 */
import type { KubeFlags } from './kube/config.ts';
import { BUILTIN_FLAGS, FLAGS, type FlagValues } from './flags.ts';
import { KIND_ALIASES, type WorkloadKind } from './core/target.ts';

/** The shells `kubectl netdebug completion` writes scripts for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
/** A shell `kubectl netdebug completion` supports. */
export type Shell = (typeof SHELLS)[number];

/** Cobra's ShellCompDirective bits, which kubectl passes on to the shell. */
export const DIRECTIVE = { default: 0, error: 1, noSpace: 2, noFileComp: 4 } as const;

/** What the candidates come from: the cluster and the kubeconfig (swappable in tests). */
export interface CompletionSource {
  namespaces(): Promise<string[]>;
  pods(namespace: string): Promise<string[]>;
  services(namespace: string): Promise<string[]>;
  servicePorts(namespace: string, name: string): Promise<{ name?: string; port: number }[]>;
  nodes(): Promise<string[]>;
  workloads(kind: WorkloadKind, namespace: string): Promise<string[]>;
  contexts(): string[];
}

/** The candidates for the word under the cursor and the directive for the shell. */
export interface Completion {
  candidates: string[];
  directive: number;
}

/** Flags that take a value, by every spelling, mapped to their long name (from the flag table). */
const VALUE_FLAGS: Readonly<Record<string, string>> = Object.fromEntries(
  FLAGS.filter((f) => f.type === 'string').flatMap((f) => [[`--${f.name}`, f.name], ...(f.alias ? [[`-${f.alias}`, f.name]] : [])]),
);
const BOOLEAN_FLAGS = [...FLAGS.filter((f) => f.type === 'boolean').map((f) => `--${f.name}`), ...BUILTIN_FLAGS.map((f) => `--${f}`)];
const FLAG_VALUES: ReadonlyMap<string, FlagValues> = new Map(FLAGS.flatMap((f) => (f.values ? [[f.name, f.values] as const] : [])));
/** The kind prefixes offered for a target, in kubectl's short spelling. */
const KIND_PREFIXES = ['pod/', 'svc/', 'node/', 'deploy/', 'sts/', 'ds/'];

/** The words before the cursor, sorted into flags and positionals. */
export interface ScannedWords {
  /** Long flag name → last value given. */
  values: Map<string, string>;
  /** Every --as-group value, in order (the one repeatable value flag). */
  asGroups: string[];
  /** The boolean flags given (long names without dashes), e.g. insecure-skip-tls-verify. */
  switches: Set<string>;
  positionals: string[];
  /** A value flag that is the last word before the cursor: the cursor is on its value. */
  pendingFlag?: string;
}

/** Sorts the complete words (all but the one under the cursor) into flag values and positionals. */
export function scanWords(words: readonly string[]): ScannedWords {
  const values = new Map<string, string>();
  const asGroups: string[] = [];
  const switches = new Set<string>();
  const positionals: string[] = [];
  let pendingFlag: string | undefined;
  const set = (name: string, value: string): void => {
    if (name === 'as-group') asGroups.push(value);
    else values.set(name, value);
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    const eq = w.indexOf('=');
    if (w.startsWith('-') && eq > 0 && VALUE_FLAGS[w.slice(0, eq)]) {
      set(VALUE_FLAGS[w.slice(0, eq)] ?? '', w.slice(eq + 1));
    } else if (VALUE_FLAGS[w]) {
      const name = VALUE_FLAGS[w] ?? '';
      if (i + 1 < words.length) set(name, words[++i] ?? '');
      else pendingFlag = name;
    } else if (BOOLEAN_FLAGS.includes(w) || (eq > 0 && BOOLEAN_FLAGS.includes(w.slice(0, eq)))) {
      if (eq < 0 || w.slice(eq + 1) === 'true') switches.add(w.slice(2, eq < 0 ? undefined : eq));
    } else if (!w.startsWith('-') || w === '-') {
      positionals.push(w);
    }
  }
  return { values, asGroups, switches, positionals, ...(pendingFlag !== undefined ? { pendingFlag } : {}) };
}

/** The kubectl connection flags found among the words, for loading the same kubeconfig the command would. */
export function connectionFlagsOf(scanned: ScannedWords): KubeFlags {
  const flags: KubeFlags = {};
  const v = (name: string): string | undefined => scanned.values.get(name);
  const set = <K extends 'kubeconfig' | 'context' | 'cluster' | 'user' | 'namespace' | 'server' | 'token' | 'as' | 'certificateAuthority'>(
    k: K,
    value: string | undefined,
  ): void => {
    if (value !== undefined && value !== '') flags[k] = value;
  };
  set('kubeconfig', v('kubeconfig'));
  set('context', v('context'));
  set('cluster', v('cluster'));
  set('user', v('user'));
  set('namespace', v('namespace'));
  set('server', v('server'));
  set('token', v('token'));
  set('as', v('as'));
  set('certificateAuthority', v('certificate-authority'));
  if (scanned.switches.has('insecure-skip-tls-verify')) flags.insecureSkipTlsVerify = true;
  const groups = scanned.asGroups.filter((g) => g !== '');
  if (groups.length > 0) flags.asGroups = groups;
  // The same durations as the command (500ms, 2s, 1m, bare seconds); a malformed one is left to the command to refuse.
  const rt = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v('request-timeout')?.trim() ?? '');
  if (rt) {
    const ms = Math.round(Number(rt[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(rt[2] ?? 's') as 'ms' | 's' | 'm' | 'h']);
    if (ms <= 3_600_000) flags.requestTimeoutMs = ms;
  }
  return flags;
}

/**
 * Completes the last word of `words` (the words after `netdebug`; the last one is the partial word, possibly empty).
 * Never throws: when an API call fails the answer is no candidates with the error directive.
 */
export async function completeWords(words: readonly string[], source: CompletionSource, defaultNamespace: string): Promise<Completion> {
  const current = words.length > 0 ? (words[words.length - 1] ?? '') : '';
  const scanned = scanWords(words.slice(0, -1));
  const namespace = scanned.values.get('namespace') || defaultNamespace;
  try {
    if (scanned.pendingFlag !== undefined) return await completeFlagValue(scanned.pendingFlag, '', current, source);
    const eq = current.indexOf('=');
    if (current.startsWith('--') && eq > 0) {
      const name = VALUE_FLAGS[current.slice(0, eq)];
      if (name) return await completeFlagValue(name, current.slice(0, eq + 1), current.slice(eq + 1), source);
    }
    if (current.startsWith('-')) {
      const all = [...Object.keys(VALUE_FLAGS).filter((f) => f.startsWith('--')), ...BOOLEAN_FLAGS].sort();
      return { candidates: filterPrefix(all, current), directive: DIRECTIVE.noFileComp };
    }
    const [first] = scanned.positionals;
    if (first === 'cleanup' || first === 'rbac' || scanned.positionals.length >= 2) return { candidates: [], directive: DIRECTIVE.noFileComp };
    if (first === 'completion') return { candidates: filterPrefix(SHELLS, current), directive: DIRECTIVE.noFileComp };
    const role = scanned.positionals.length === 0 ? 'source' : 'destination';
    const candidates = await completeTarget(current, role, namespace, source);
    if (role === 'source' && current !== '' && !current.includes('/')) candidates.push(...filterPrefix(['cleanup', 'completion', 'rbac'], current));
    return withDirective(candidates);
  } catch {
    return { candidates: [], directive: DIRECTIVE.error };
  }
}

async function completeFlagValue(flag: string, prefix: string, partial: string, source: CompletionSource): Promise<Completion> {
  if (FLAG_VALUES.get(flag)?.kind === 'file') return { candidates: [], directive: DIRECTIVE.default };
  const values = await flagValues(flag, source);
  return { candidates: filterPrefix(values, partial).map((v) => prefix + v), directive: DIRECTIVE.noFileComp };
}

/** The candidate values of a value flag (none for free-form ones like --token). */
async function flagValues(flag: string, source: CompletionSource): Promise<readonly string[]> {
  const values = FLAG_VALUES.get(flag) ?? { kind: 'free' };
  switch (values.kind) {
    case 'fixed':
      return values.values;
    case 'namespaces':
      return source.namespaces();
    case 'contexts':
      return source.contexts();
    case 'file':
    case 'free':
      return [];
    default: {
      const never: never = values;
      throw new Error(`unknown flag values ${JSON.stringify(never)}`);
    }
  }
}

/** Candidates for a target word `[[NS/]KIND/]NAME[:PORT]`, all starting with `word`. */
async function completeTarget(word: string, role: 'source' | 'destination', namespace: string, source: CompletionSource): Promise<string[]> {
  const colon = word.indexOf(':');
  if (colon >= 0) {
    if (role === 'source') return [];
    const head = word.slice(0, colon);
    const svc = serviceOf(head, namespace);
    if (!svc) return [];
    const ports = await source.servicePorts(svc.namespace, svc.name);
    const names = ports.flatMap((p) => (p.name ? [p.name, String(p.port)] : [String(p.port)]));
    return filterPrefix(
      [...new Set(names)].map((p) => `${head}:${p}`),
      word,
    );
  }
  const parts = word.split('/');
  if (parts.length === 1) {
    const names = [...(await source.pods(namespace))];
    if (role === 'destination') names.push(...(await source.services(namespace)));
    return filterPrefix([...KIND_PREFIXES, ...new Set(names)], word);
  }
  if (parts.length === 2) {
    const [a = ''] = parts;
    const kind = KIND_ALIASES[a.toLowerCase()];
    if (kind) return filterPrefix((await namesOf(kind, namespace, source)).map((n) => `${a}/${n}`), word);
    const names = [...(await source.pods(a))];
    if (role === 'destination') names.push(...(await source.services(a)));
    return filterPrefix([...KIND_PREFIXES.filter((k) => k !== 'node/').map((k) => `${a}/${k}`), ...new Set(names.map((n) => `${a}/${n}`))], word);
  }
  if (parts.length === 3) {
    const [ns = '', k = ''] = parts;
    const kind = KIND_ALIASES[k.toLowerCase()];
    if (!kind || kind === 'node') return [];
    return filterPrefix((await namesOf(kind, ns, source)).map((n) => `${ns}/${k}/${n}`), word);
  }
  return [];
}

async function namesOf(kind: NonNullable<(typeof KIND_ALIASES)[string]>, namespace: string, source: CompletionSource): Promise<string[]> {
  switch (kind) {
    case 'pod':
      return source.pods(namespace);
    case 'service':
      return source.services(namespace);
    case 'node':
      return source.nodes();
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
      return source.workloads(kind, namespace);
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

/** The Service a `[[NS/]svc/]NAME` head names (a bare NAME may be one), or undefined for other kinds. */
function serviceOf(head: string, namespace: string): { namespace: string; name: string } | undefined {
  const parts = head.split('/');
  if (parts.length === 1) return { namespace, name: parts[0] ?? '' };
  if (parts.length === 2) {
    const [a = '', b = ''] = parts;
    const kind = KIND_ALIASES[a.toLowerCase()];
    if (kind === undefined) return { namespace: a, name: b };
    return kind === 'service' ? { namespace, name: b } : undefined;
  }
  if (parts.length === 3) {
    const [ns = '', k = '', name = ''] = parts;
    return KIND_ALIASES[k.toLowerCase()] === 'service' ? { namespace: ns, name } : undefined;
  }
  return undefined;
}

function filterPrefix(values: readonly string[], prefix: string): string[] {
  return values.filter((v) => v.startsWith(prefix));
}

/** No space after a completion that still needs more (a kind, a namespace), never file names. */
function withDirective(candidates: string[]): Completion {
  const open = candidates.length > 0 && candidates.every((c) => c.endsWith('/'));
  return { candidates, directive: DIRECTIVE.noFileComp | (open ? DIRECTIVE.noSpace : 0) };
}

/** Renders a completion the way kubectl reads it from `kubectl_complete-netdebug`: one candidate a line, then `:N`. */
export function formatCompletion(c: Completion): string {
  return `${c.candidates.map((x) => `${x}\n`).join('')}:${c.directive}\n`;
}

/** Answers `kubectl-netdebug __complete WORD…` (kubectl_complete-netdebug): writes the candidates, returns exit code 0. */
export async function runComplete(words: readonly string[], out: { write(s: string): unknown }, env: NodeJS.ProcessEnv): Promise<number> {
  const all = words.length === 0 ? [''] : words;
  let completion: Completion;
  try {
    const { createClusterSource } = await import('./kube/completion-source.ts');
    const { source, namespace } = await createClusterSource(connectionFlagsOf(scanWords(all.slice(0, -1))), env);
    completion = await completeWords(all, source, namespace);
  } catch {
    // No kubeconfig: flag names and values still complete.
    completion = await completeWords(all, OFFLINE_SOURCE, 'default');
  }
  out.write(formatCompletion(completion));
  return 0;
}

const none = async (): Promise<string[]> => [];
const OFFLINE_SOURCE: CompletionSource = {
  namespaces: none,
  pods: none,
  services: none,
  servicePorts: async () => [],
  nodes: none,
  workloads: none,
  contexts: () => [],
};

/** The script that makes SHELL complete the standalone `kubectl-netdebug` command through `__complete`. */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case 'bash':
      return BASH;
    case 'zsh':
      return ZSH;
    case 'fish':
      return FISH;
    default: {
      const never: never = shell;
      throw new Error(`unknown shell ${String(never)}`);
    }
  }
}

const HEADER = (shell: Shell, how: string): string =>
  `# ${shell} completion for kubectl-netdebug, from \`kubectl netdebug completion ${shell}\`.\n` +
  `# ${how}\n` +
  '# `kubectl netdebug <TAB>` itself completes through kubectl (>= 1.26) when kubectl_complete-netdebug is on PATH.\n';

const BASH = `${HEADER('bash', 'Load it with: source <(kubectl netdebug completion bash)')}
_kubectl_netdebug() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words=() line directive=0 out
  # bash splits words at ':' (COMP_WORDBREAKS); glue NAME:PORT back together.
  if declare -F _get_comp_words_by_ref >/dev/null; then _get_comp_words_by_ref -n : cur; fi
  words=("\${COMP_WORDS[@]:1:COMP_CWORD-1}")
  out=$(kubectl-netdebug __complete "\${words[@]}" "$cur" 2>/dev/null) || return 0
  COMPREPLY=()
  while IFS= read -r line; do
    case "$line" in
      :*) directive="\${line#:}" ;;
      '') ;;
      *) COMPREPLY+=("\${line%%$'\\t'*}") ;;
    esac
  done <<<"$out"
  if declare -F __ltrim_colon_completions >/dev/null; then __ltrim_colon_completions "$cur"; fi
  if (( directive & 2 )); then compopt -o nospace 2>/dev/null; fi
  if (( ! (directive & 4) )) && (( \${#COMPREPLY[@]} == 0 )); then compopt -o default 2>/dev/null; fi
  return 0
}
complete -F _kubectl_netdebug kubectl-netdebug
`;

const ZSH = `#compdef kubectl-netdebug
${HEADER('zsh', 'Load it with: source <(kubectl netdebug completion zsh)  (after compinit)')}
_kubectl_netdebug() {
  local -a lines candidates
  local directive=0 line
  lines=("\${(@f)$(kubectl-netdebug __complete "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null)}")
  for line in "\${lines[@]}"; do
    if [[ $line == :* ]]; then directive=\${line#:}; elif [[ -n $line ]]; then candidates+=("\${line%%$'\\t'*}"); fi
  done
  if (( \${#candidates} == 0 )) && (( ! (directive & 4) )); then _files; return; fi
  if (( directive & 2 )); then compadd -S '' -- "\${candidates[@]}"; else compadd -- "\${candidates[@]}"; fi
}
compdef _kubectl_netdebug kubectl-netdebug
`;

const FISH = `${HEADER('fish', 'Load it with: kubectl netdebug completion fish | source')}
function __kubectl_netdebug_complete
    set -l args (commandline -opc)
    set -e args[1]
    kubectl-netdebug __complete $args (commandline -ct) 2>/dev/null | string match -v -r '^:'
end
complete -c kubectl-netdebug -f -a '(__kubectl_netdebug_complete)'
`;
