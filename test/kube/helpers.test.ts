import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetdebugError } from '../../src/core/errors.ts';
import { endpointsFromSlices, formatSelector, pickServicePort, policyFromApi, workloadOf } from '../../src/kube/cluster.ts';
import { loadKubeConfig } from '../../src/kube/config.ts';
import { exitCodeOfStatus, nodePodName } from '../../src/kube/prober.ts';
import { editDistance, suggestNames } from '../../src/kube/suggest.ts';
import { mapApiError } from '../../src/kube/api.ts';
import { ApiException } from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';

describe('suggestNames', () => {
  it.each([
    { name: 'one typo', wanted: 'clinet', candidates: ['client', 'web-1', 'web-2'], expected: ['client'] },
    { name: 'prefix', wanted: 'web', candidates: ['web-1', 'web-2', 'database'], expected: ['web-1', 'web-2'] },
    { name: 'nothing close', wanted: 'payments', candidates: ['client', 'web-1'], expected: [] },
    { name: 'closest first, at most 3', wanted: 'web-9', candidates: ['web-10', 'web-1', 'web-2', 'web-3', 'web-4'], expected: ['web-1', 'web-2', 'web-3'] },
    { name: 'distance 4 is too far', wanted: 'abcdefgh', candidates: ['abcdwxyz'], expected: [] },
  ])('$name', ({ wanted, candidates, expected }) => {
    expect(suggestNames(wanted, candidates)).toEqual(expected);
  });
  it('editDistance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('pickServicePort', () => {
  const svc = { namespace: 'shop', name: 'web', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' as const }, { name: 'metrics', port: 9100, targetPort: 9100, protocol: 'TCP' as const }] };
  it.each([
    { name: 'by number', ref: { kind: 'number' as const, number: 9100 }, port: 9100 },
    { name: 'by name', ref: { kind: 'name' as const, name: 'http' }, port: 80 },
  ])('$name', ({ ref, port }) => {
    expect(pickServicePort(svc, ref).port).toBe(port);
  });
  it('omitted with several ports: AMBIGUOUS_PORT listing them', () => {
    const err = (() => { try { pickServicePort(svc, undefined); } catch (e) { return e; } })() as NetdebugError;
    expect(err.code).toBe('AMBIGUOUS_PORT');
    expect(err.message).toContain('http:80/TCP, metrics:9100/TCP');
    expect(err.exitCode).toBe(2);
  });
  it('omitted with one port: that port', () => {
    expect(pickServicePort({ ...svc, ports: [svc.ports[0]!] }, undefined).name).toBe('http');
  });
  it('unknown port: PORT_NOT_FOUND', () => {
    expect(() => pickServicePort(svc, { kind: 'number', number: 81 })).toThrow(/has no port 81 \(ports: http:80\/TCP/);
  });
});

describe('endpointsFromSlices', () => {
  const port = { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' as const };
  it('unions slices, defaults conditions, skips slices without the port', () => {
    const eps = endpointsFromSlices(
      [
        { addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: ['10.0.0.1'], nodeName: 'n1', targetRef: { kind: 'Pod', name: 'a', namespace: 'shop' } }] },
        { addressType: 'IPv4', ports: [{ name: 'http', port: 8081, protocol: 'TCP' }], endpoints: [{ addresses: ['10.0.0.2'], conditions: { ready: false } }] },
        { addressType: 'IPv4', ports: [], endpoints: [{ addresses: ['10.0.0.3'] }] },
      ],
      port,
    );
    expect(eps).toEqual([
      { ip: '10.0.0.1', port: 8080, ready: true, serving: true, terminating: false, node: 'n1', pod: { namespace: 'shop', name: 'a' } },
      { ip: '10.0.0.2', port: 8081, ready: false, serving: false, terminating: false },
    ]);
  });
});

describe('formatSelector', () => {
  it.each([
    { name: 'matchLabels', sel: { matchLabels: { app: 'web', tier: 'be' } }, text: 'app=web,tier=be' },
    { name: 'expressions', sel: { matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 'y'] }, { key: 'b', operator: 'Exists' }, { key: 'c', operator: 'DoesNotExist' }] }, text: 'a in (x,y),b,!c' },
    { name: 'empty', sel: {}, text: '' },
  ])('$name', ({ sel, text }) => {
    expect(formatSelector(sel)).toBe(text);
  });
});

describe('exitCodeOfStatus', () => {
  it.each([
    { name: 'success', status: { status: 'Success' }, code: 0 },
    { name: 'non-zero', status: { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } }, code: 3 },
    { name: 'failure without code', status: { status: 'Failure', message: 'boom' }, code: null },
  ])('$name', ({ status, code }) => {
    expect(exitCodeOfStatus(status)).toBe(code);
  });
});

describe('nodePodName', () => {
  it.each([
    { name: 'host', node: 'node-1', host: true, re: /^netdebug-node-1-host-[a-z0-9]{5}$/ },
    { name: 'pod', node: 'node-2', host: false, re: /^netdebug-node-2-pod-[a-z0-9]{5}$/ },
    { name: 'long node names are cut to 63', node: 'ip-10-0-0-1.eu-west-1.compute.internal.example.very-long-name', host: true, re: /^netdebug-[a-z0-9-]+-host-[a-z0-9]{5}$/ },
  ])('$name', ({ node, host, re }) => {
    const n = nodePodName(node, host);
    expect(n).toMatch(re);
    expect(n.length).toBeLessThanOrEqual(63);
  });
});

describe('mapApiError', () => {
  it.each([
    { name: '403 names verb, resource and RBAC', err: new ApiException(403, 'Forbidden', JSON.stringify({ message: 'pods is forbidden: User "u" cannot list resource "pods"' }), {}), code: 'FORBIDDEN', exit: 3, msg: /not allowed to list pods in namespace "shop"/, hint: /verb "list" on "pods"/ },
    { name: '404', err: new ApiException(404, 'NotFound', { message: 'pods "x" not found' }, {}), code: 'TARGET_NOT_FOUND', exit: 2, msg: /not found/ },
    { name: 'connection refused', err: Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), code: 'API_UNREACHABLE', exit: 3, msg: /https:\/\/10\.0\.0\.1:6443/ },
    {
      name: 'TLS verification failure shows the certificate problem, not just "fetch failed"',
      err: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }) }),
      code: 'API_UNREACHABLE', exit: 3, msg: /could not verify the API server at https:\/\/10\.0\.0\.1:6443 \(list pods in namespace "shop"\): self-signed certificate in certificate chain/, hint: /--certificate-authority/,
    },
    { name: 'the OS connect timeout keeps its cause, with no --request-timeout hint', err: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:6443'), { code: 'ETIMEDOUT' }) }), code: 'API_UNREACHABLE', exit: 3, msg: /fetch failed \(connect ETIMEDOUT 10\.0\.0\.1:6443\)/, hint: /^check the cluster is up/ },
    { name: 'our own --request-timeout names the flag', err: Object.assign(new Error('request timed out after 5 ms'), { code: 'ETIMEDOUT' }), code: 'API_UNREACHABLE', exit: 3, msg: /request timed out after 5 ms/, hint: /within --request-timeout/ },
    { name: 'an expired certificate points at the clock', err: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }) }), code: 'API_UNREACHABLE', exit: 3, msg: /could not verify .*: certificate has expired/, hint: /clock/ },
    { name: 'a certificate for another name points at the server URL', err: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }) }), code: 'API_UNREACHABLE', exit: 3, msg: /does not match/, hint: /server URL/ },
    { name: '500', err: new ApiException(500, 'x', { message: 'etcd down' }, {}), code: 'API_ERROR', exit: 3, msg: /etcd down/ },
  ])('$name', ({ err, code, exit, msg, hint }) => {
    const mapped = mapApiError(err, { verb: 'list', resource: 'pods', namespace: 'shop' }, 'https://10.0.0.1:6443');
    expect(mapped.code).toBe(code);
    expect(mapped.exitCode).toBe(exit);
    expect(mapped.message).toMatch(msg);
    if (hint) expect(mapped.hint).toMatch(hint);
  });
});

describe('loadKubeConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netdebug-kc-'));
  const file = (name: string, ctx: string, ns?: string) => {
    const path = join(dir, name);
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', `current-context: ${ctx}`,
      `clusters: [{name: c-${ctx}, cluster: {server: "https://${ctx}.example:6443"}}]`,
      `users: [{name: u-${ctx}, user: {token: t}}]`,
      `contexts: [{name: ${ctx}, context: {cluster: c-${ctx}, user: u-${ctx}${ns ? `, namespace: ${ns}` : ''}}}]`,
    ].join('\n'));
    return path;
  };
  const a = file('a.yaml', 'alpha', 'shop');
  const b = file('b.yaml', 'beta');

  it('KUBECONFIG with two files: the first file sets the context, both contexts exist', () => {
    const { kc, namespace, context } = loadKubeConfig({}, { KUBECONFIG: `${a}:${b}` });
    expect(context).toBe('alpha');
    expect(namespace).toBe('shop');
    expect(kc.getContexts().map((c) => c.name).sort()).toEqual(['alpha', 'beta']);
  });
  it('KUBECONFIG with two files: a current context only the second file sets is used', () => {
    const noCtx = join(dir, 'no-ctx.yaml');
    writeFileSync(noCtx, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
    expect(loadKubeConfig({}, { KUBECONFIG: `${noCtx}:${b}` }).context).toBe('beta');
  });
  it('KUBECONFIG with the same names in two files: the first file wins, as in kubectl', () => {
    const a2 = join(dir, 'a2.yaml');
    writeFileSync(a2, readFileSync(a, 'utf8').replace('https://alpha.example:6443', 'https://other.example:6443'));
    const { kc, context } = loadKubeConfig({}, { KUBECONFIG: `${a}:${a2}` });
    expect(context).toBe('alpha');
    expect(kc.getCurrentCluster()?.server).toBe('https://alpha.example:6443');
  });
  it('--context switches and the namespace defaults to "default"', () => {
    const { kc, namespace, context } = loadKubeConfig({ context: 'beta' }, { KUBECONFIG: `${a}:${b}` });
    expect(context).toBe('beta');
    expect(namespace).toBe('default');
    expect(kc.getCurrentCluster()?.server).toBe('https://beta.example:6443');
  });
  it('--kubeconfig wins over KUBECONFIG; -n wins over the context', () => {
    const { namespace, context } = loadKubeConfig({ kubeconfig: b, namespace: 'x' }, { KUBECONFIG: a });
    expect([context, namespace]).toEqual(['beta', 'x']);
  });
  it('--cluster and --user override the context', () => {
    const { kc } = loadKubeConfig({ cluster: 'c-beta', user: 'u-beta' }, { KUBECONFIG: `${a}:${b}` });
    expect(kc.getCurrentCluster()?.server).toBe('https://beta.example:6443');
    expect(kc.getCurrentUser()?.name).toBe('u-beta');
  });
  it.each([
    { name: 'no file', env: { KUBECONFIG: join(dir, 'missing.yaml') }, flags: {}, code: 'NO_KUBECONFIG' },
    { name: 'unknown context', env: { KUBECONFIG: a }, flags: { context: 'gamma' }, code: 'NO_CONTEXT' },
  ])('$name', ({ env, flags, code }) => {
    const err = (() => { try { loadKubeConfig(flags, env); } catch (e) { return e; } })() as NetdebugError;
    expect(err).toBeInstanceOf(NetdebugError);
    expect(err.code).toBe(code);
    expect(err.hint).toBeTruthy();
  });
  it('no current context: NO_CONTEXT', () => {
    const path = join(dir, 'noctx.yaml');
    writeFileSync(path, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
    expect(() => loadKubeConfig({}, { KUBECONFIG: path })).toThrow(/no current context/);
  });
});

describe('policyFromApi', () => {
  // The wire JSON of a policy; the client turns it into its typed model (ingress `from` becomes `_from`) on every list.
  const wire = {
    metadata: { name: 'web-allow', namespace: 'shop' },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { role: 'client' } }, namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['front'] }] } }, { ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.1.0/24'] } }],
          ports: [{ protocol: 'TCP', port: 8080, endPort: 8090 }, { port: 'http' }],
        },
      ],
      egress: [{ to: [{ namespaceSelector: {} }], ports: [{ protocol: 'UDP', port: 53 }] }],
    },
  };

  it('gives the evaluator the API shape: from, to and ports survive the client model', () => {
    const typed = ObjectSerializer.deserialize(wire, 'V1NetworkPolicy');
    expect(typed.spec.ingress[0]).toHaveProperty('_from');
    expect(policyFromApi(typed)).toEqual(wire);
  });

  it('treats a policy without a spec as selecting every pod', () => {
    expect(policyFromApi({ metadata: { name: 'p', namespace: 'shop' } })).toEqual({ metadata: { name: 'p', namespace: 'shop' }, spec: { podSelector: {} } });
  });
});

describe('workloadOf', () => {
  const owned = (kind: string, name: string, labels: Record<string, string> = {}) => ({
    metadata: { name: 'p', labels, ownerReferences: [{ apiVersion: 'apps/v1', kind, name, uid: 'u', controller: true }] },
  });
  it.each([
    { name: "a ReplicaSet stands for its Deployment (the name less the pod's pod-template-hash)", pod: owned('ReplicaSet', 'coredns-6f6b679f8f', { 'pod-template-hash': '6f6b679f8f' }), expected: { kind: 'Deployment', name: 'coredns' } },
    { name: 'a ReplicaSet without the hash label loses its last segment', pod: owned('ReplicaSet', 'rke2-coredns-rke2-coredns-7d8b6f7c9'), expected: { kind: 'Deployment', name: 'rke2-coredns-rke2-coredns' } },
    { name: "OpenShift's DaemonSet", pod: owned('DaemonSet', 'dns-default'), expected: { kind: 'DaemonSet', name: 'dns-default' } },
    { name: 'a Deployment owning its pods directly (the lab)', pod: owned('Deployment', 'coredns'), expected: { kind: 'Deployment', name: 'coredns' } },
    { name: 'a Job is no workload a DNS runs as', pod: owned('Job', 'x'), expected: undefined },
    { name: 'no owner', pod: { metadata: { name: 'p' } }, expected: undefined },
  ])('$name', ({ pod, expected }) => {
    expect(workloadOf(pod)).toEqual(expected);
  });
});
