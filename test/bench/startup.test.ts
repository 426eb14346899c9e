/**
 * The startup benchmark (`npm run bench:startup`) as a smoke test: one timed run of every command, which all have to
 * exit 0 (and `--version` print the version), and a table with a row each. No time is asserted.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { median, renderTable } from './startup.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('the startup benchmark', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no values/);
  });

  it('renders medians against the reference row', () => {
    const table = renderTable(
      [
        { label: 'a', medianMs: 90, minMs: 80, maxMs: 120, runs: 3 },
        { label: 'ref', medianMs: 60, minMs: 55, maxMs: 70, runs: 3 },
      ],
      'ref',
    );
    expect(table.split('\n')).toEqual(['| command | median ms | min–max ms | vs ref |', '|---|---:|---:|---:|', '| a | 90 | 80–120 | 1.5× |', '| ref | 60 | 55–70 | 1.0× |']);
  });

  it('runs every command of a krew and an npm install once and prints the table', () => {
    const out = execFileSync(process.execPath, ['test/bench/startup.ts', '--runs', '1'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const rows = out.trim().split('\n').slice(2);
    const labels = rows.map((r) => r.split(' | ')[0]!.replace(/^\| /, ''));
    expect(labels).toEqual(
      expect.arrayContaining([
        'kubectl-netdebug --version (krew: single executable)',
        'kubectl-netdebug --help (krew: single executable)',
        'kubectl netdebug --version (krew, through kubectl)',
        `bin/kubectl-netdebug --version (npm, Node ${process.versions.node})`,
        'kubectl version --client',
      ]),
    );
    for (const r of rows) expect(r).toMatch(/^\| .+ \| \d+ \| \d+–\d+ \| \d+\.\d× \|$/);
  }, 300_000);
});
