/**
 * The RBAC preflight and `kubectl netdebug rbac` against the lab's RBAC: denying each right the printed manifests grant
 * makes the access-review preflight name exactly that right, and a run's rights are asked for in its namespaces.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeKubelet } from '../lab/api/fake-kubelet.ts';
import { startApiServer } from '../lab/api/server.ts';
import { ObjectStore } from '../lab/api/store.ts';
import { generateTls, type LabTls } from '../lab/api/tls.ts';
import type { ScenarioRbacDeny } from '../lab/model.ts';
import { formatRight, manifestRights, rbacManifests, runRights, type Right } from '../../src/core/rbac.ts';
import { createKubeApi } from '../../src/kube/api.ts';
import { missingRights, missingRightsByRules, ruleGrants } from '../../src/kube/lockdown.ts';
import { parseCli } from '../../src/cli.ts';

const TOKEN = 'rbac-test-token';
let dir: string;
let tls: LabTls;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netdebug-rbac-'));
  tls = await generateTls(join(dir, 'tls'));
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts the lab's API server with these deny rules, runs fn with a client of it, stops it. */
async function withServer<T>(deny: ScenarioRbacDeny[], fn: (kc: KubeConfig) => Promise<T>): Promise<T> {
  const server = await startApiServer({ store: new ObjectStore(), kubelet: createFakeKubelet(), token: TOKEN, tls, rbacDeny: deny });
  try {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'lab', server: server.url, caData: Buffer.from(tls.caCert).toString('base64') }],
      users: [{ name: 'lab', token: TOKEN }],
      contexts: [{ name: 'lab', cluster: 'lab', user: 'lab' }],
      currentContext: 'lab',
    });
    return await fn(kc);
  } finally {
    await server.close();
  }
}

const asDeny = (r: Right): ScenarioRbacDeny => ({ verb: r.verb, resource: r.resource, ...(r.subresource ? { subresource: r.subresource } : {}), ...(r.namespace ? { namespace: r.namespace } : {}) });

describe('kubectl netdebug rbac', () => {
  it('prints a ClusterRole of reads, a ClusterRole for source pods, a Role in the node namespace and their bindings', async () => {
    const cmd = await parseCli(['rbac', '--node-namespace', 'netdebug'], { stdoutIsTTY: false, ci: false });
    expect(cmd.kind).toBe('print');
    const text = cmd.kind === 'print' ? cmd.text : '';
    expect(text).toBe(rbacManifests({ nodeNamespace: 'netdebug' }));
    const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string }; rules?: { resources: string[]; verbs: string[] }[] });
    expect(docs.map((d) => `${d.kind} ${d.metadata.namespace ?? ''}/${d.metadata.name}`)).toEqual([
      'ClusterRole /kubectl-netdebug-read',
      'ClusterRoleBinding /kubectl-netdebug-read',
      'ClusterRole /kubectl-netdebug-source',
      'RoleBinding default/kubectl-netdebug-source',
      'Role netdebug/kubectl-netdebug-node-pods',
      'RoleBinding netdebug/kubectl-netdebug-node-pods',
      'Role kube-system/kubectl-netdebug-datapath',
      'RoleBinding kube-system/kubectl-netdebug-datapath',
    ]);
    // Node debug pods are created and deleted only in the node namespace: no ClusterRole grants that.
    const clusterWide = docs.filter((d) => d.kind === 'ClusterRole').flatMap((d) => d.rules ?? []);
    expect(clusterWide.some((r) => r.resources.includes('pods') && r.verbs.some((v) => v === 'create' || v === 'delete'))).toBe(false);
    // Every right a run's preflight asks for is in the manifests.
    const granted = new Set(manifestRights().map((r) => formatRight(r)));
    for (const r of runRights({ sourceNamespace: 'shop', nodeNamespace: 'netdebug' })) expect(granted).toContain(formatRight({ ...r, namespace: undefined } as Right));
  });

  it('with nothing denied, the preflight finds nothing missing', async () => {
    const res = await withServer([], (kc) => missingRights(createKubeApi(kc), manifestRights()));
    expect(res).toEqual({ missing: [], unknown: [] });
  }, 30_000);

  it.each(manifestRights().map((r) => ({ name: formatRight(r), r })))('denying $name: the preflight names exactly that right', async ({ r }) => {
    const res = await withServer([asDeny(r)], (kc) => missingRights(createKubeApi(kc), manifestRights()));
    expect(res.missing.map(formatRight)).toEqual([formatRight(r)]);
  }, 30_000);

  it('a run asks in its own namespaces: create pods denied only in the node namespace is named with it, nothing else', async () => {
    const deny = { verb: 'create', resource: 'pods', namespace: 'netdebug' };
    const res = await withServer([deny], (kc) => missingRights(createKubeApi(kc), runRights({ sourceNamespace: 'shop', nodeNamespace: 'netdebug' })));
    expect(res.missing.map((m) => `${formatRight(m)}: ${m.why}`)).toEqual(['create pods in namespace netdebug: create node debug pods']);
  }, 30_000);

  it('by rules (one SelfSubjectRulesReview per namespace): each right a run needs, denied, is named exactly; one request per namespace', async () => {
    const rights = runRights({ sourceNamespace: 'shop', nodeNamespace: 'netdebug' });
    for (const r of rights) {
      const res = await withServer([asDeny(r)], async (kc) => {
        let requests = 0;
        const found = await missingRightsByRules(createKubeApi(kc, { countRequest: () => void requests++ }), rights);
        return { ...found, requests };
      });
      expect(res).toEqual({ missing: [r], unknown: [], requests: 2 });
    }
    const none = await withServer([], (kc) => missingRightsByRules(createKubeApi(kc), rights));
    expect(none).toEqual({ missing: [], unknown: [] });
  }, 60_000);

  it('RBAC rule matching: stars, subresources, and rules limited to resourceNames grant nothing in general', () => {
    const exec: Right = { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: 'x' };
    expect(ruleGrants({ verbs: ['*'], apiGroups: [''], resources: ['pods/exec'] }, exec)).toBe(true);
    expect(ruleGrants({ verbs: ['create'], apiGroups: ['*'], resources: ['*'] }, exec)).toBe(true);
    expect(ruleGrants({ verbs: ['create'], apiGroups: [''], resources: ['*/exec'] }, exec)).toBe(true);
    expect(ruleGrants({ verbs: ['create'], apiGroups: [''], resources: ['pods/*'] }, exec)).toBe(true);
    expect(ruleGrants({ verbs: ['create'], apiGroups: [''], resources: ['pods'] }, exec)).toBe(false);
    expect(ruleGrants({ verbs: ['get'], apiGroups: [''], resources: ['pods/exec'] }, exec)).toBe(false);
    expect(ruleGrants({ verbs: ['create'], apiGroups: ['apps'], resources: ['pods/exec'] }, exec)).toBe(false);
    expect(ruleGrants({ verbs: ['create'], apiGroups: [''], resources: ['pods/exec'], resourceNames: ['one'] }, exec)).toBe(false);
  });

  it('each right a run needs, denied, is named with its verb, resource and namespace', async () => {
    const rights = runRights({ sourceNamespace: 'shop', nodeNamespace: 'netdebug' });
    expect(rights.map(formatRight)).toEqual([
      'patch pods/ephemeralcontainers in namespace shop',
      'create pods/exec in namespace shop',
      'create pods in namespace netdebug',
      'delete pods in namespace netdebug',
      'create pods/exec in namespace netdebug',
    ]);
    for (const r of rights) {
      const res = await withServer([asDeny(r)], (kc) => missingRights(createKubeApi(kc), rights));
      expect(res.missing.map(formatRight)).toEqual([formatRight(r)]);
    }
  }, 60_000);
});
