/**
 * The plugin's error type and the one function that maps any thrown value to what the user sees and the exit code.
 */

/** Stable error codes (part of the output contract: never rename one), with the exit code each maps to. */
export const ERROR_EXIT_CODES = {
  USAGE: 2,
  INVALID_TARGET: 2,
  TARGET_NOT_FOUND: 2,
  PORT_NOT_FOUND: 2,
  AMBIGUOUS_PORT: 2,
  UNSUPPORTED_TARGET: 2,
  SOURCE_NOT_RUNNING: 2,
  NO_KUBECONFIG: 2,
  NO_CONTEXT: 2,
  FORBIDDEN: 3,
  UNAUTHORIZED: 3,
  API_UNREACHABLE: 3,
  API_ERROR: 3,
  EPHEMERAL_CONTAINERS_DISABLED: 3,
  PROBE_FAILED: 3,
  TIMEOUT: 3,
  CREDENTIALS_TIMEOUT: 3,
  INTERNAL: 3,
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_EXIT_CODES;

/** An error the plugin expects and can explain: a stable code, what was being attempted, and what to do about it. */
export class NetdebugError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Something the user can act on, e.g. a command to run; absent when there is nothing useful to say. */
  readonly hint: string | undefined;

  /** Creates an error; `message` should say what was being attempted and what went wrong. */
  constructor(code: ErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NetdebugError';
    this.code = code;
    this.hint = options?.hint;
  }

  /** The process exit code for this error (2 usage/target problems, 3 could not diagnose). */
  get exitCode(): 2 | 3 {
    return ERROR_EXIT_CODES[this.code];
  }
}

/** What an error looks like to the user and the shell. */
export interface DescribedError {
  code: ErrorCode;
  message: string;
  hint?: string;
  exitCode: 2 | 3;
}

/** Maps anything thrown to a code, a message, an optional hint and an exit code; unknown errors become INTERNAL (3). */
export function describeError(err: unknown): DescribedError {
  if (err instanceof NetdebugError) {
    return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.exitCode };
  }
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : safeStringify(err);
  return {
    code: 'INTERNAL',
    message: `unexpected error: ${message || 'no message'}`,
    hint: 'this is a bug in kubectl-netdebug; please report it with the command you ran',
    exitCode: 3,
  };
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
