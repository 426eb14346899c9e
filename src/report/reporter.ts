/**
 * The Reporter interface: optional hooks the CLI calls with every RunEvent and once at the end. A reporter writes to
 * the stream it was given and never decides the exit code.
 */
import type { RunEvent } from '../core/model.ts';

/** A sink for output (process.stdout or a test buffer). */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** Hooks called in event order; each may be async and is awaited before the next event. */
export interface Reporter {
  /** Called with every event as the run emits it. */
  onEvent?(event: RunEvent): void | Promise<void>;
  /** Called once after the run finished (or failed), to flush anything buffered. */
  finish?(): void | Promise<void>;
}

/** Decides once whether to write ANSI colour: only on a TTY, never with NO_COLOR set or TERM=dumb. */
export function shouldUseColor(stream: OutputStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** Sends an event to every reporter in turn, awaiting each hook. */
export async function dispatchEvent(reporters: Reporter[], event: RunEvent): Promise<void> {
  for (const r of reporters) await r.onEvent?.(event);
}
