/**
 * Writes the kubeconfig that points kubectl and client libraries at a lab API server.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

/** What a lab kubeconfig contains. */
export interface KubeconfigParams {
  server: string;
  caCert: string;
  token: string;
  contextName: string;
  /** Default namespace of the context (default: "default"). */
  namespace?: string;
}

/** Renders a kubeconfig with one cluster, user and context, all named contextName. */
function renderKubeconfig(p: KubeconfigParams): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: p.contextName, cluster: { server: p.server, 'certificate-authority-data': Buffer.from(p.caCert).toString('base64') } }],
    users: [{ name: p.contextName, user: { token: p.token } }],
    contexts: [{ name: p.contextName, context: { cluster: p.contextName, user: p.contextName, namespace: p.namespace ?? 'default' } }],
    'current-context': p.contextName,
    preferences: {},
  });
}

/** Writes a kubeconfig file (mode 0600) for a lab API server. */
export async function writeKubeconfig(path: string, p: KubeconfigParams): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderKubeconfig(p), { mode: 0o600 });
}
