/**
 * The JSON reporter: prints exactly one JSON object, the Report of the output contract, when the run finishes.
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
