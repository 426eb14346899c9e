/**
 * Runs once before any test file. On every machine it first checks the commands no Debian package here provides
 * (kubectl) and fails the run at once, naming them, when one is missing. Then, on a machine that can run labs (Linux,
 * root), it installs the Debian packages the lab and the test suites need, so that no suite races another's apt-get or
 * starts before the tools it runs exist. Elsewhere it installs nothing; each lab suite then skips loudly (or fails, in
 * CI) by itself.
 */
import { canRunLab } from './lab/harness.ts';
import { ensureMachineReady, REQUIRED_TOOLS, requireUnpackagedTools, TEST_TOOLS } from './lab/preflight.ts';

/** vitest's global setup hook: prepares the machine for the lab suites. */
export default function prepareMachine(): void {
  requireUnpackagedTools();
  if (!canRunLab) return;
  ensureMachineReady((line) => process.stderr.write(`test setup: ${line}\n`), [...REQUIRED_TOOLS, ...TEST_TOOLS]);
}
