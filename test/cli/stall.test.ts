/**
 * A run whose event loop empties before it ends (every promise left waiting on something nothing keeps alive) must not
 * end as Node would end it, with exit 0 and half a report: main.ts's handlers say so and exit 3, as after a crash.
 * Once the run has ended (the handlers removed), the process ends as usual.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));

function node(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

const imported = `import { installSignalHandlers } from ${JSON.stringify(join(repo, 'src/main.ts'))};`;

describe('a run that stalls', () => {
  it('ends with exit 3 and says it is a bug, not exit 0 with half a report', async () => {
    const r = await node(`${imported}\ninstallSignalHandlers(() => undefined);\nnew Promise(() => {}).then(() => console.log('never'));\nconsole.log('half a report');`);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('half a report\n');
    expect(r.stderr).toContain('error: internal error: the run stopped with work unfinished and nothing left to wait for (a bug: please report it)');
  });

  it('a run that ended (its handlers removed) exits as usual', async () => {
    const r = await node(`${imported}\nconst remove = installSignalHandlers(() => undefined);\nconsole.log('whole report');\nremove();`);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: 'whole report\n', stderr: '' });
  });
});
