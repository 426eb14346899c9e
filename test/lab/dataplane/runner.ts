/**
 * The data plane's command seam: a CommandRunner over child_process.execFile (never a shell) and helpers that batch many
 * `ip`/`bridge` commands for one namespace into a single process, so building a lab stays fast.
 */
import { execFile } from 'node:child_process';
import type { CommandRunner } from '../model.ts';

/** Thrown when a command exits non-zero (or cannot start); carries the argv, the exit code and stderr. */
export class CommandError extends Error {
  readonly code = 'COMMAND_FAILED';
  readonly argv: string[];
  readonly exitCode: number;
  readonly stderr: string;
  constructor(argv: string[], exitCode: number, stderr: string, input?: string) {
    const shown = argv.map((a) => (/^[\w./:=@%+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
    const batch = input !== undefined && input.length < 4000 ? `\nstdin was:\n${input}` : '';
    super(`command failed with exit code ${exitCode}: ${shown}\n${stderr.trim() || '(no stderr)'}${batch}`);
    this.name = 'CommandError';
    this.argv = argv;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Options of the exec runner. */
export interface ExecRunnerOptions {
  /** Kill a command that runs longer than this (ms); default 30 s. */
  timeoutMs?: number;
  /** Called with every argv before it runs (for tracing). */
  onCommand?: (argv: string[]) => void;
}

/** Creates a CommandRunner that runs argv[0] directly with execFile (no shell) and rejects with CommandError on failure. */
export function createExecRunner(options: ExecRunnerOptions = {}): CommandRunner {
  const timeout = options.timeoutMs ?? 30_000;
  return {
    run(argv, opts = {}) {
      const [file, ...args] = argv;
      if (file === undefined) return Promise.reject(new Error('CommandRunner.run: empty argv'));
      options.onCommand?.(argv);
      return new Promise((resolve, reject) => {
        const child = execFile(
          file,
          args,
          { encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 },
          (err, stdout, stderr) => {
            if (!err) return resolve({ code: 0, stdout, stderr });
            const e = err as NodeJS.ErrnoException & { code?: number | string };
            // A spawn failure (ENOENT) has a string code; a non-zero exit has a numeric one.
            const code = typeof e.code === 'number' ? e.code : 127;
            const errText = typeof e.code === 'string' ? `${stderr}${e.message}` : stderr;
            if (opts.allowFailure && typeof e.code === 'number') return resolve({ code, stdout, stderr });
            reject(new CommandError(argv, code, errText || e.message, opts.input));
          },
        );
        // A command that exits without reading its input must not crash the caller with EPIPE; its exit code tells.
        child.stdin?.on('error', () => undefined);
        if (opts.input !== undefined) child.stdin?.end(opts.input);
        else child.stdin?.end();
      });
    },
  };
}

/** Runs one `ip` command per line inside netns (or the current namespace when undefined) in a single `ip -batch -`. */
export async function runIpBatch(runner: CommandRunner, netns: string | undefined, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const { v4, v6 } = splitFamilyLines(lines);
  const argv = (family: string[]): string[] => (netns === undefined ? ['ip', ...family, '-batch', '-'] : ['ip', ...family, '-n', netns, '-batch', '-']);
  if (v4.length > 0) await runner.run(argv([]), { input: `${v4.join('\n')}\n` });
  if (v6.length > 0) await runner.run(argv(['-6']), { input: `${v6.join('\n')}\n` });
}

/**
 * Splits batch lines into plain ones and those written `-6 <command>`: `ip -batch` takes no global options per line,
 * and a command without an address (`rule add iif X lookup T`) is IPv4 unless ip runs with -6.
 */
export function splitFamilyLines(lines: string[]): { v4: string[]; v6: string[] } {
  const v6 = lines.filter((l) => l.startsWith('-6 ')).map((l) => l.slice(3));
  return { v4: lines.filter((l) => !l.startsWith('-6 ')), v6 };
}

/** Runs one `bridge` command per line inside netns in a single `bridge -batch -`. */
export async function runBridgeBatch(runner: CommandRunner, netns: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await runner.run(['bridge', '-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

/** Returns the argv that runs argv inside netns via `ip netns exec`. */
export function inNetns(netns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', netns, ...argv];
}

/** Sets sysctls inside netns with one `sysctl -w` process. */
export async function setSysctls(runner: CommandRunner, netns: string, values: Record<string, string | number>): Promise<void> {
  const pairs = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (pairs.length === 0) return;
  await runner.run(inNetns(netns, ['sysctl', '-q', '-w', ...pairs]));
}

/**
 * Feeds rules to `iptables-restore --noflush` inside netns (only the chains the text declares are replaced); `restore`
 * names the backend's program (`iptables-legacy-restore` for the legacy x_tables).
 */
export async function restoreIptables(runner: CommandRunner, netns: string, rules: string, restore = 'iptables-restore'): Promise<void> {
  await runner.run(inNetns(netns, [restore, '--noflush']), { input: rules });
}
