/**
 * Re-records test/tui/fixtures/*.ndjson from real lab runs: for each recorded scenario, `lab up`, run the built
 * executable with `-o ndjson` (default/client → shop/svc/web), save the event stream, `lab down`.
 * Run as root after `npm run build`: `node test/tui/record-fixtures.ts [scenario...]`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run, startTestLab } from '../lab/harness.ts';
import { RECORDED } from './fixtures.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const names = process.argv.length > 2 ? process.argv.slice(2) : [...RECORDED];
for (const name of names) {
  const lab = await startTestLab(name);
  try {
    const env = { ...process.env, KUBECONFIG: lab.kubeconfig, PATH: `${repo}/bin:${process.env.PATH ?? ''}` };
    const res = await run('kubectl', ['netdebug', 'default/client', 'shop/svc/web', '-o', 'ndjson'], { env, timeoutMs: 60_000 });
    if (res.code !== 0 && res.code !== 1) throw new Error(`${name}: exit ${res.code}: ${res.stderr}`);
    writeFileSync(new URL(`./fixtures/${name}.ndjson`, import.meta.url), res.stdout);
    process.stderr.write(`recorded ${name} (exit ${res.code})\n`);
  } finally {
    await lab.down();
  }
}
