/**
 * The JSON reporters: `-o json` prints exactly one JSON object, the Report of the output contract, when the run
 * finishes; `-o ndjson` streams every run event as one JSON line as it happens (the last one carries the Report).
 */
import type { RunEvent } from '../core/model.ts';
import type { OutputStream, Reporter } from './reporter.ts';

/** Creates the `-o json` reporter; it writes nothing until `run-finished`, then the Report and a newline. */
export function createJsonReporter(out: OutputStream): Reporter {
  return {
    onEvent(event: RunEvent) {
      if (event.type === 'run-finished') out.write(`${JSON.stringify(event.report, null, 2)}\n`);
    },
  };
}

/** Creates the `-o ndjson` reporter: one RunEvent per line, written as it happens. */
export function createNdjsonReporter(out: OutputStream): Reporter {
  return {
    onEvent(event: RunEvent) {
      out.write(`${JSON.stringify(event)}\n`);
    },
  };
}
