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
  return ['sh', '-c', batchScript(commands, mark, false), 'netdebug-batch', mark, String(commands.length)];
}

/**
 * The batch script. With `toFifo` it takes a third argument, a FIFO: every probe starts first, then the script opens
 * the FIFO for writing (which waits until a reader opens it) and prints the records there; a failure before the
 * probes start is said in the FIFO as `MARK exit CODE`, so its reader never waits for records that cannot come.
 */
function batchScript(commands: readonly (readonly string[])[], mark: string, toFifo: boolean): string {
  if (!/^[A-Za-z0-9-]+$/.test(mark)) throw new Error(`unsafe batch mark ${JSON.stringify(mark)}`);
  const fail = (code: number): string => (toFifo ? `{ exec >"$f"; printf '%s exit %s\\n' "$m" ${code}; exit ${code}; }` : `exit ${code}`);
  const lines = [
    toFifo ? 'm=$1; n=$2; f=$3' : 'm=$1; n=$2',
    `d=$(mktemp -d 2>/dev/null || mktemp -d -p /dev/shm 2>/dev/null) || ${fail(BATCH_NO_TMPDIR_EXIT)}`,
    `trap 'rm -rf "$d"' EXIT`,
    `mkfifo "$d/q" || ${fail(BATCH_NO_TMPDIR_EXIT)}`,
    'exec 3<>"$d/q"',
    ...commands.map((argv, i) => `{ ${argv.map(shellQuote).join(' ')} >"$d/${i}.o" 2>"$d/${i}.e" </dev/null; echo "${i} $?" >&3; } &`),
    ...(toFifo ? ['exec >"$f"'] : []),
    'k=0',
    'while [ "$k" -lt "$n" ]; do',
    '  read -r i c <&3 || exit 98',
    `  printf '%s %s %s %s %s\\n' "$m" "$i" "$c" $(wc -c <"$d/$i.o") $(wc -c <"$d/$i.e")`,
    '  cat "$d/$i.o" "$d/$i.e"',
    '  k=$((k+1))',
    'done',
  ];
  return lines.join('\n');
}

/**
 * The command of a debug container whose probes start with it (a node debug pod's): the batch of `commands` starts at
 * once, in the background, and the container then sleeps as one without probes does (DEBUG_COMMAND), so later execs
 * (and `--keep`) find it running. The records wait in a FIFO, $TMPDIR/netdebug-MARK/out ($TMPDIR is /tmp unless set;
 * /dev/shm where that cannot be written), until buildPrelaunchReadCommand's exec reads them; that exec, sent once the
 * container runs, then costs the probes nothing: they have been running since the container started. No FIFO can be
 * made: nothing runs, and the read says so (exit PRELAUNCH_MISSING_EXIT).
 */
export function buildPrelaunchCommand(commands: readonly (readonly string[])[], mark: string): string[] {
  const lines = [
    'm=$1; n=$2; s=$3',
    // The FIFO first: the read may come as soon as the container runs.
    'o=${TMPDIR:-/tmp}/netdebug-$m; mkdir -m 700 "$o" 2>/dev/null || { o=/dev/shm/netdebug-$m; mkdir -m 700 "$o" 2>/dev/null; } || exec sleep infinity',
    'mkfifo "$o/out" || exec sleep infinity',
    // The directory goes once every record has been read; the container's own sleep stays.
    '{ sh -c "$s" netdebug-batch "$m" "$n" "$o/out"; rm -rf "$o"; } </dev/null >/dev/null 2>&1 &',
    'exec sleep infinity',
  ];
  return ['sh', '-c', lines.join('\n'), 'netdebug-prelaunch', mark, String(commands.length), batchScript(commands, mark, true)];
}

/** The exit code of a prelaunch read that found no FIFO (the container did not start the batch): run it as usual. */
export const PRELAUNCH_MISSING_EXIT = 96;

/**
 * The exec that reads a prelaunched batch's records as they come, ending when the batch has printed its last one (or
 * said why it could not run: `MARK exit CODE`). The container makes the FIFO first thing, but the read may still come
 * first: it looks for it every 50 ms (every second where `sleep` takes whole seconds only) for about 5 s, then exits
 * PRELAUNCH_MISSING_EXIT (the container did not start the batch: an image whose command is not run, say).
 */
export function buildPrelaunchReadCommand(mark: string): string[] {
  if (!/^[A-Za-z0-9-]+$/.test(mark)) throw new Error(`unsafe batch mark ${JSON.stringify(mark)}`);
  const lines = [
    'm=$1; i=0',
    'while :; do',
    '  for o in "${TMPDIR:-/tmp}/netdebug-$m" /dev/shm/netdebug-$m; do [ -p "$o/out" ] && exec cat "$o/out"; done',
    `  [ "$i" -ge 100 ] && exit ${PRELAUNCH_MISSING_EXIT}`,
    '  sleep 0.05 2>/dev/null && i=$((i+1)) || { sleep 1; i=$((i+20)); }',
    'done',
  ];
  return ['sh', '-c', lines.join('\n'), 'netdebug-read', mark];
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
  private readonly exitLine: RegExp;
  private said: number | undefined;

  constructor(mark: string) {
    this.header = new RegExp(`^${mark} (\\d+) (\\d+) +(\\d+) +(\\d+)$`);
    this.exitLine = new RegExp(`^${mark} exit (\\d+)$`);
  }

  /** The exit code a prelaunched batch said it ended with before running anything (`MARK exit CODE`), if it did. */
  exitCode(): number | undefined {
    return this.said;
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
        const exit = this.exitLine.exec(line);
        if (exit) this.said = Number(exit[1]);
        else this.junk += `${line}\n`;
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
