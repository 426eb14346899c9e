/** What the lab end-to-end suites share: the built plugin, the environment that puts it on kubectl's PATH, report parsing. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (no trailing slash). */
export const repo = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** Builds dist/ once for a suite (kubectl runs `bin/kubectl-netdebug`, which loads it); throws when the build is missing. */
export function buildPlugin(): void {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' });
  if (!existsSync(`${repo}/dist/kubectl-netdebug.mjs`)) throw new Error('npm run build left no dist/kubectl-netdebug.mjs');
}

/** The environment in which `kubectl netdebug` is this checkout's plugin, talking to the given kubeconfig. */
export function pluginEnv(kubeconfig: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: kubeconfig, PATH: `${repo}/bin:${process.env.PATH ?? ''}`, ...extra };
}

/** The node-check lines of a text report (between "Node checks" and the next heading). */
export function nodeCheckLines(text: string): string[] {
  const start = text.indexOf('\nNode checks\n');
  if (start < 0) return [];
  const rest = text.slice(start + '\nNode checks\n'.length);
  return rest.slice(0, rest.search(/\n\S/) + 1).split('\n').filter((l) => l.trim() !== '');
}
