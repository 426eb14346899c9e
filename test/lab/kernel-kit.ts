/**
 * What the kernel-level lab suites share (they build a Dataplane directly, without the API server): the command runner,
 * the resolv.conf their pods get, and the two checks they make from inside a namespace.
 */
import { createExecRunner, inNetns } from './dataplane/runner.ts';

/** Runs commands on this machine (as root, in the lab's namespaces through `ip netns exec`). */
export const runner = createExecRunner();

/** The resolv.conf kubelet writes for a pod in `default` with the cluster DNS at 10.96.0.10. */
export const POD_RESOLV_CONF = 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n';

/** True when `nc -z` from netns reaches ip:port within 1 s. */
export async function canConnect(netns: string, ip: string, port: number): Promise<boolean> {
  const r = await runner.run(inNetns(netns, ['nc', '-z', '-w', '1', ip, String(port)]), { allowFailure: true });
  return r.code === 0;
}

/** The stdout of argv run in netns (throws when it fails). */
export async function sh(netns: string, argv: string[]): Promise<string> {
  return (await runner.run(inNetns(netns, argv))).stdout;
}
