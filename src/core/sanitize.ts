/**
 * Terminal hygiene: anything that came from the cluster (object names, probe output, API messages) may carry control
 * characters — ANSI escape sequences that recolour, move the cursor, retitle the window or hide text. Before such text
 * reaches a terminal these are stripped; JSON output keeps the exact data (JSON.stringify escapes them).
 */

/** A whole escape sequence: CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), or a two-character ESC sequence. */
const ESCAPE_SEQUENCE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u009b[0-?]*[ -/]*[@-~]|\u001b[ -~]?/g;
/** Any other C0 control (but tab and newline), DEL and the C1 controls. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The text with every escape sequence and control character removed (tab and newline stay). */
export function stripControl(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '');
}

/** A copy of a JSON-like value with every string (keys included) passed through stripControl. */
export function sanitizeDeep<T>(value: T): T {
  if (typeof value === 'string') return stripControl(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => sanitizeDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[stripControl(k)] = sanitizeDeep(v);
    return out as T;
  }
  return value;
}

/** A URL-bearing message with the password of any `scheme://user:password@` in it replaced by `xxxxx`. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*):[^/@\s]*@/gi, '$1:xxxxx@');
}
