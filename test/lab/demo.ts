/**
 * `npm run demo [-- <scenario>]`: boots a lab with a broken cluster (by default ip_forward switched off on the node
 * that hosts the web backend), runs `kubectl netdebug default/client shop/svc/web` through the real kubectl, shows the
 * diagnosis, and tears the lab down again, also on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downLabs, upLab } from './cli.ts';
import { scenarioPath } from './harness.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const arg = process.argv[2];
const scenario = arg ? (existsSync(arg) ? resolve(arg) : scenarioPath(arg)) : scenarioPath('ip-forward-off');
const say = (line: string): void => void process.stderr.write(`\x1b[1m» ${line}\x1b[0m\n`);

say(`booting the lab from ${scenario}`);
const rec = await upLab(scenario);
let done = false;
const down = async (): Promise<void> => {
  if (done) return;
  done = true;
  say(`tearing lab ${rec.labId} down`);
  await downLabs([rec.labId]);
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void down().then(() => process.exit(130)));

try {
  const args = ['netdebug', 'default/client', 'shop/svc/web', ...process.argv.slice(3)];
  say(`lab ${rec.labId} is up (${rec.name}); running: kubectl ${args.join(' ')}`);
  const code = await new Promise<number>((res) => {
    const child = spawn('kubectl', args, {
      stdio: 'inherit',
      env: { ...process.env, KUBECONFIG: rec.kubeconfig, PATH: `${root}/bin:${process.env.PATH ?? ''}` },
    });
    child.on('exit', (c) => res(c ?? 1));
  });
  say(`kubectl netdebug exited with ${code} (0 healthy, 1 fault found, 2 bad input, 3 could not diagnose)`);
  process.exitCode = code === 1 || code === 0 ? 0 : code;
} finally {
  await down();
}
