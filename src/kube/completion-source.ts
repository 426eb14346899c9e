/** Tab completion's view of the cluster: names of namespaces, pods, Services and their ports, nodes and workloads. */
import type { CompletionSource } from '../completion.ts';
import { createKubeApi } from './api.ts';
import { ImpersonatingKubeConfig, loadKubeConfig, type KubeFlags } from './config.ts';

/** The bound on each request of tab completion (and its credential plugin) unless --request-timeout says otherwise. */
const COMPLETION_TIMEOUT_MS = 5_000;

/** A CompletionSource backed by the cluster the words point at (same kubeconfig rules as the command). */
export async function createClusterSource(flags: KubeFlags, env: NodeJS.ProcessEnv): Promise<{ source: CompletionSource; namespace: string }> {
  const loaded = loadKubeConfig(flags, env);
  // Completion must stay snappy: a slow cluster (or credential plugin) gets no candidates rather than a hung shell.
  const requestTimeoutMs = flags.requestTimeoutMs || COMPLETION_TIMEOUT_MS;
  if (loaded.kc instanceof ImpersonatingKubeConfig) loaded.kc.credentialTimeoutMs = requestTimeoutMs;
  const api = createKubeApi(loaded.kc, { requestTimeoutMs, retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0 } });
  const names = (items: { metadata?: { name?: string } }[]): string[] => items.map((o) => o.metadata?.name ?? '').filter((n) => n !== '');
  const source: CompletionSource = {
    namespaces: async () => names((await api.call({ verb: 'list', resource: 'namespaces' }, () => api.core.listNamespace())).items),
    pods: async (namespace) => names((await api.call({ verb: 'list', resource: 'pods', namespace }, () => api.core.listNamespacedPod({ namespace }))).items),
    services: async (namespace) =>
      names((await api.call({ verb: 'list', resource: 'services', namespace }, () => api.core.listNamespacedService({ namespace }))).items),
    servicePorts: async (namespace, name) => {
      const svc = await api.call({ verb: 'get', resource: 'services', namespace, name }, () => api.core.readNamespacedService({ namespace, name }));
      return (svc.spec?.ports ?? []).map((p) => ({ port: p.port, ...(p.name ? { name: p.name } : {}) }));
    },
    nodes: async () => names((await api.call({ verb: 'list', resource: 'nodes' }, () => api.core.listNode())).items),
    workloads: async (kind, namespace) => {
      const info = { verb: 'list', group: 'apps', namespace };
      switch (kind) {
        case 'Deployment':
          return names((await api.call({ ...info, resource: 'deployments' }, () => api.apps.listNamespacedDeployment({ namespace }))).items);
        case 'StatefulSet':
          return names((await api.call({ ...info, resource: 'statefulsets' }, () => api.apps.listNamespacedStatefulSet({ namespace }))).items);
        case 'DaemonSet':
          return names((await api.call({ ...info, resource: 'daemonsets' }, () => api.apps.listNamespacedDaemonSet({ namespace }))).items);
        default: {
          const never: never = kind;
          throw new Error(`unknown workload kind ${String(never)}`);
        }
      }
    },
    contexts: () => loaded.kc.getContexts().map((c) => c.name),
  };
  return { source, namespace: loaded.namespace };
}
