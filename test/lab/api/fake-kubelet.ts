/**
 * A test-only KubeletBackend that runs exec commands as plain host processes, for exercising the API server alone.
 */
import { spawn } from 'node:child_process';
import type { ExecProcess, ExecRequest, KubeletBackend } from '../model.ts';

/**
 * Creates a fake kubelet that spawns each exec's argv on the host and records it; the API server has already checked
 * that the pod and container exist.
 */
export function createFakeKubelet(logs: (ns: string, pod: string) => string = () => 'log line\n'): KubeletBackend & { execs: ExecRequest[] } {
  const execs: ExecRequest[] = [];
  return {
    execs,
    async exec(req: ExecRequest): Promise<ExecProcess> {
      execs.push(req);
      const [cmd = 'true', ...args] = req.command;
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      if (!req.stdin) child.stdin.end();
      const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.on('error', () => resolve({ exitCode: 127, signal: null }));
        child.on('exit', (exitCode, signal) => resolve({ exitCode, signal }));
      });
      return {
        stdin: req.stdin ? child.stdin : null,
        stdout: child.stdout,
        stderr: child.stderr,
        exited,
        resize: () => undefined,
        kill: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        },
      };
    },
    async logs(namespace: string, pod: string): Promise<string> {
      return logs(namespace, pod);
    },
  };
}
