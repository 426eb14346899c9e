/** kubectl's connection flags that rewrite the kubeconfig: impersonation, CA file, and the one that is refused. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'netdebug-kc-'));
const file = join(dir, 'config');
writeFileSync(
  file,
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: c1, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: "Zm9v"}}]',
    'users: [{name: u1, user: {token: t1}}]',
    'contexts: [{name: ctx1, context: {cluster: c1, user: u1, namespace: shop}}]',
    'current-context: ctx1',
  ].join('\n'),
);

describe('connection flags', () => {
  it('--as impersonates a user and keeps the kubeconfig user\'s credentials', () => {
    const { kc, namespace } = loadKubeConfig({ kubeconfig: file, as: 'jane' });
    expect(kc.getCurrentUser()?.impersonateUser).toBe('jane');
    expect(kc.getCurrentUser()?.token).toBe('t1');
    expect(namespace).toBe('shop');
  });

  it('--certificate-authority replaces the cluster CA', () => {
    const { kc } = loadKubeConfig({ kubeconfig: file, certificateAuthority: '/etc/ca.pem' });
    expect(kc.getCurrentCluster()?.caFile).toBe('/etc/ca.pem');
    expect(kc.getCurrentCluster()?.caData).toBeUndefined();
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('--as-group is refused with a usage error instead of being ignored', () => {
    expect(() => loadKubeConfig({ kubeconfig: file, asGroups: ['admins'] })).toThrow(/--as-group is not supported/);
  });
});
