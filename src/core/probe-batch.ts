/**
 * Batched probes: the probes of one location run in ONE exec, a POSIX `sh -c` script that starts every probe's own argv
 * concurrently and prints, as each one ends, a delimited record with its exit code and its stdout and stderr (framed by
 * byte counts, so any output, escape sequences and NULs included, comes back exactly). The parsers of parse.ts then read
 * each probe's own output as if it had run alone. Pure: building the script and reading the stream are both here.
 */

import { shellQuote } from './shell-quote.ts';

/** The exit code of a batch script that found no writable temporary directory (nothing ran: run the probes one by one). */
export const BATCH_NO_TMPDIR_EXIT = 97;

/** Quotes one word for a POSIX shell (moved to shell-quote.ts; kept here for existing importers). */
export { shellQuote };

/**
 * The argv of a batch: `sh -c SCRIPT netdebug-batch MARK COUNT`. Probe i's argv is quoted into the script; its stdout
 * and stderr go to files in a private temporary directory (removed on exit); when it ends its index and exit code are
 * queued on a FIFO, and the script prints, in the order the probes end,
 * `MARK INDEX EXIT STDOUT-BYTES STDERR-BYTES\n` followed by exactly those bytes of stdout, then of stderr.
 */
export function buildBatchCommand(commands: readonly (readonly string[])[], mark: string): string[] {
  if (!/^[A-Za-z0-9-]+$/.test(mark)) throw new Error(`unsafe batch mark ${JSON.stringify(mark)}`);
  const lines = [
    'm=$1; n=$2',
    `d=$(mktemp -d 2>/dev/null || mktemp -d -p /dev/shm 2>/dev/null) || exit ${BATCH_NO_TMPDIR_EXIT}`,
    `trap 'rm -rf "$d"' EXIT`,
    `mkfifo "$d/q" || exit ${BATCH_NO_TMPDIR_EXIT}`,
    'exec 3<>"$d/q"',
    ...commands.map((argv, i) => `{ ${argv.map(shellQuote).join(' ')} >"$d/${i}.o" 2>"$d/${i}.e" </dev/null; echo "${i} $?" >&3; } &`),
    'k=0',
    'while [ "$k" -lt "$n" ]; do',
    '  read -r i c <&3 || exit 98',
    `  printf '%s %s %s %s %s\\n' "$m" "$i" "$c" $(wc -c <"$d/$i.o") $(wc -c <"$d/$i.e")`,
    '  cat "$d/$i.o" "$d/$i.e"',
    '  k=$((k+1))',
    'done',
  ];
  return ['sh', '-c', lines.join('\n'), 'netdebug-batch', mark, String(commands.length)];
}

/** One probe's outcome as the batch printed it. */
export interface BatchRecord {
  index: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Reads a batch's stdout as it streams in: `push` takes each chunk and returns the records completed by it. Bytes that
 * are not a record (the format was not followed) are kept in `garbage()` for the error message, never thrown.
 */
export class BatchRecordReader {
  private buf: Buffer = Buffer.alloc(0);
  private junk = '';
  private readonly header: RegExp;

  constructor(mark: string) {
    this.header = new RegExp(`^${mark} (\\d+) (\\d+) +(\\d+) +(\\d+)$`);
  }

  /** Feeds a chunk; returns every record it completed, in order. */
  push(chunk: Buffer): BatchRecord[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: BatchRecord[] = [];
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) return out;
      const line = this.buf.subarray(0, nl).toString('utf8');
      const m = this.header.exec(line);
      if (!m) {
        this.junk += `${line}\n`;
        this.buf = this.buf.subarray(nl + 1);
        continue;
      }
      const outBytes = Number(m[3]);
      const errBytes = Number(m[4]);
      const end = nl + 1 + outBytes + errBytes;
      if (this.buf.length < end) return out;
      out.push({
        index: Number(m[1]),
        exitCode: Number(m[2]),
        stdout: this.buf.subarray(nl + 1, nl + 1 + outBytes).toString('utf8'),
        stderr: this.buf.subarray(nl + 1 + outBytes, end).toString('utf8'),
      });
      this.buf = this.buf.subarray(end);
    }
  }

  /** What arrived that was not part of a record (including an unfinished tail). */
  garbage(): string {
    return `${this.junk}${this.buf.toString('utf8')}`;
  }
}
