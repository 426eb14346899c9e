/**
 * A test-only KubeletBackend that runs exec commands as plain host processes, for exercising the API server alone.
 */
import { spawn } from 'node:child_process';
import { LabApiError, type ExecProcess, type ExecRequest, type KubeletBackend } from '../model.ts';
import type { ObjectStore } from './store.ts';

/** Creates a fake kubelet over a store: checks the pod and container exist, then spawns the argv on the host. */
export function createFakeKubelet(store: ObjectStore, logs: (ns: string, pod: string) => string = () => 'log line\n'): KubeletBackend & { execs: ExecRequest[] } {
  const execs: ExecRequest[] = [];
  return {
    execs,
    async exec(req: ExecRequest): Promise<ExecProcess> {
      const pod = store.get('pods', req.namespace, req.pod);
      if (!pod) throw new LabApiError(404, 'NotFound', `pods "${req.pod}" not found`);
      const spec = (pod['spec'] ?? {}) as { containers?: { name: string }[]; ephemeralContainers?: { name: string }[] };
      const names = [...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])].map((c) => c.name);
      if (req.container !== undefined && !names.includes(req.container)) {
        throw new LabApiError(400, 'BadRequest', `container ${req.container} is not valid for pod ${req.pod}`);
      }
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
      if (!store.get('pods', namespace, pod)) throw new LabApiError(404, 'NotFound', `pods "${pod}" not found`);
      return logs(namespace, pod);
    },
  };
}
