/**
 * Keeps the machine's cores busy while tests run, to prove they hold on a loaded machine (issue 15): one spinning child
 * process per core, each bounded (it exits by itself after `maxMs`, even if whoever started it dies) and stopped by the
 * PID recorded when it was started, never by name.
 *
 *   node test/load/busy-cores.ts [--cores N] [--max-seconds S] -- COMMAND ARGS...   runs COMMAND with the cores busy,
 *                                                                                  exits with its exit code
 * Or from code: `const busy = startBusyCores(); ... await busy.stop();`
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Spinning children, by the PIDs recorded at their start. */
export interface BusyCores {
  pids: readonly number[];
  /** Kills exactly these children (SIGKILL by PID) and waits until they are gone. */
  stop(): Promise<void>;
}

/** Busy-loops `cores` children (default: every core) for at most `maxMs` each (default 10 minutes). */
export function startBusyCores(opts: { cores?: number; maxMs?: number } = {}): BusyCores {
  const cores = opts.cores ?? availableParallelism();
  const maxMs = opts.maxMs ?? 600_000;
  // The bound lives in the child: a spin that checks the clock, so it ends even if this process is killed first.
  const spin = `const end = Date.now() + ${Math.max(1, Math.floor(maxMs))}; let x = 0; while (Date.now() < end) x = (x + 1) % 1e9;`;
  const children: ChildProcess[] = Array.from({ length: cores }, () => spawn(process.execPath, ['-e', spin], { stdio: 'ignore' }));
  const exited = children.map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))));
  const pids = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
  return {
    pids,
    async stop() {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already ended at its bound */
        }
      }
      await Promise.all(exited);
    },
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { cores: { type: 'string' }, 'max-seconds': { type: 'string' } }, allowPositionals: true });
  const [command, ...args] = positionals;
  if (!command) {
    console.error('usage: node test/load/busy-cores.ts [--cores N] [--max-seconds S] -- COMMAND ARGS...');
    return 2;
  }
  const busy = startBusyCores({
    ...(values.cores ? { cores: Number(values.cores) } : {}),
    ...(values['max-seconds'] ? { maxMs: Number(values['max-seconds']) * 1000 } : {}),
  });
  console.error(`busy-cores: ${busy.pids.length} spinning children (PIDs ${busy.pids.join(', ')}) while: ${[command, ...args].join(' ')}`);
  try {
    const child = spawn(command, args, { stdio: 'inherit' });
    return await new Promise<number>((resolve) => {
      child.on('error', (err) => {
        console.error(`busy-cores: ${err.message}`);
        resolve(127);
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  } finally {
    await busy.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main();
