import { describe, expect, it } from 'vitest';
import { computeEndpoints, computeEndpointSlices, ENDPOINTSLICE_CONTROLLER, findPort } from './endpoints.ts';
import type { KubeContainerPort, KubeNode, KubePod, KubeService } from './objects.ts';

interface PodSpec {
  name: string;
  ip?: string;
  ns?: string;
  labels?: Record<string, string>;
  ready?: boolean;
  phase?: string;
  deleting?: boolean;
  ports?: KubeContainerPort[];
  node?: string;
}

function pod(p: PodSpec): KubePod {
  const out: KubePod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.ns ?? 'shop', uid: `uid-${p.name}`, labels: p.labels ?? { app: 'web' }, creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { nodeName: p.node ?? 'node-1', containers: [{ name: 'app', ports: p.ports ?? [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    status: {
      phase: p.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: p.ready === false ? 'False' : 'True' }],
      ...(p.ip === undefined ? {} : { podIP: p.ip, podIPs: [{ ip: p.ip }] }),
    },
  };
  if (p.deleting) out.metadata.deletionTimestamp = '2025-01-01T00:01:00Z';
  return out;
}

function service(spec: Partial<KubeService['spec']> = {}): KubeService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-svc', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.2', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], ...spec },
  };
}

const nodes: KubeNode[] = [];

/** Slices reduced to what the rules decide: ports and (pod, ready, serving, terminating) per endpoint. */
function summary(svc: KubeService, pods: KubePod[]) {
  return computeEndpointSlices(svc, pods, nodes).map((s) => ({
    ports: s.ports.map((p) => `${p.name}:${p.port}/${p.protocol}`),
    endpoints: s.endpoints.map((e) => `${e.targetRef.name}@${e.addresses.join(',')} r=${e.conditions.ready} s=${e.conditions.serving} t=${e.conditions.terminating}`),
  }));
}

describe('computeEndpointSlices', () => {
  it.each([
    {
      name: 'selector matching none gives one empty placeholder slice',
      svc: service({ selector: { app: 'nothing' } }),
      pods: [pod({ name: 'web-1', ip: '10.244.1.2' })],
      want: [{ ports: [], endpoints: [] }],
    },
    {
      name: 'ready pod',
      svc: service(),
      pods: [pod({ name: 'web-1', ip: '10.244.1.2' })],
      want: [{ ports: ['http:8080/TCP'], endpoints: ['web-1@10.244.1.2 r=true s=true t=false'] }],
    },
    {
      name: 'not-ready pod is listed with ready and serving false',
      svc: service(),
      pods: [pod({ name: 'web-1', ip: '10.244.1.2', ready: false })],
      want: [{ ports: ['http:8080/TCP'], endpoints: ['web-1@10.244.1.2 r=false s=false t=false'] }],
    },
    {
      name: 'terminating ready pod: ready false, serving true, terminating true',
      svc: service(),
      pods: [pod({ name: 'web-1', ip: '10.244.1.2', deleting: true })],
      want: [{ ports: ['http:8080/TCP'], endpoints: ['web-1@10.244.1.2 r=false s=true t=true'] }],
    },
    {
      name: 'publishNotReadyAddresses makes a not-ready pod ready',
      svc: service({ publishNotReadyAddresses: true }),
      pods: [pod({ name: 'web-1', ip: '10.244.1.2', ready: false })],
      want: [{ ports: ['http:8080/TCP'], endpoints: ['web-1@10.244.1.2 r=true s=false t=false'] }],
    },
    {
      name: 'named port resolved per pod: two port mappings give two slices',
      svc: service(),
      pods: [
        pod({ name: 'web-1', ip: '10.244.1.2' }),
        pod({ name: 'web-2', ip: '10.244.2.2', ports: [{ name: 'http', containerPort: 9090, protocol: 'TCP' }] }),
        pod({ name: 'web-3', ip: '10.244.2.3' }),
      ],
      want: [
        { ports: ['http:8080/TCP'], endpoints: ['web-1@10.244.1.2 r=true s=true t=false', 'web-3@10.244.2.3 r=true s=true t=false'] },
        { ports: ['http:9090/TCP'], endpoints: ['web-2@10.244.2.2 r=true s=true t=false'] },
      ],
    },
    {
      name: 'pod lacking the named port is left out of the slice with that port',
      svc: service(),
      pods: [pod({ name: 'web-1', ip: '10.244.1.2' }), pod({ name: 'web-2', ip: '10.244.2.2', ports: [{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }] })],
      want: [
        { ports: ['http:8080/TCP'], endpoints: ['web-1@10.244.1.2 r=true s=true t=false'] },
        { ports: [], endpoints: ['web-2@10.244.2.2 r=true s=true t=false'] },
      ],
    },
    {
      name: 'named port must match the protocol too',
      svc: service({ ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'UDP' }] }),
      pods: [pod({ name: 'web-1', ip: '10.244.1.2' })],
      want: [{ ports: [], endpoints: ['web-1@10.244.1.2 r=true s=true t=false'] }],
    },
    {
      name: 'numeric targetPort is used as is, even if the pod does not declare it',
      svc: service({ ports: [{ name: 'http', port: 80, targetPort: 9999, protocol: 'TCP' }] }),
      pods: [pod({ name: 'web-1', ip: '10.244.1.2' })],
      want: [{ ports: ['http:9999/TCP'], endpoints: ['web-1@10.244.1.2 r=true s=true t=false'] }],
    },
    {
      name: 'terminal pods and pods without IP are skipped',
      svc: service(),
      pods: [
        pod({ name: 'done', ip: '10.244.1.5', phase: 'Succeeded' }),
        pod({ name: 'failed', ip: '10.244.1.6', phase: 'Failed' }),
        pod({ name: 'pending' }),
        pod({ name: 'web-1', ip: '10.244.1.2' }),
      ],
      want: [{ ports: ['http:8080/TCP'], endpoints: ['web-1@10.244.1.2 r=true s=true t=false'] }],
    },
    {
      name: 'pods of other namespaces or labels are not selected',
      svc: service(),
      pods: [pod({ name: 'other-ns', ns: 'default', ip: '10.244.1.3' }), pod({ name: 'other-app', labels: { app: 'api' }, ip: '10.244.1.4' }), pod({ name: 'web-1', ip: '10.244.1.2' })],
      want: [{ ports: ['http:8080/TCP'], endpoints: ['web-1@10.244.1.2 r=true s=true t=false'] }],
    },
    {
      name: 'headless service without ports lists its pods',
      svc: service({ clusterIP: 'None', ports: [] }),
      pods: [pod({ name: 'web-1', ip: '10.244.1.2' })],
      want: [{ ports: [], endpoints: ['web-1@10.244.1.2 r=true s=true t=false'] }],
    },
  ])('$name', ({ svc, pods, want }) => {
    expect(summary(svc, pods)).toEqual(want);
  });

  it('makes no slices for a service without selector or an ExternalName service', () => {
    const pods = [pod({ name: 'web-1', ip: '10.244.1.2' })];
    const noSelector = service();
    delete noSelector.spec.selector;
    expect(computeEndpointSlices(noSelector, pods, nodes)).toEqual([]);
    expect(computeEndpointSlices(service({ type: 'ExternalName', externalName: 'example.com' }), pods, nodes)).toEqual([]);
  });

  it('writes the full slice as the controller does: labels, owner, endpoint fields, stable name', () => {
    const svc = service({ clusterIP: 'None' });
    svc.metadata.labels = { team: 'shop' };
    const zoned: KubeNode[] = [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', uid: 'n1', creationTimestamp: '', labels: { 'topology.kubernetes.io/zone': 'a' } }, spec: { podCIDR: '10.244.1.0/24', podCIDRs: [] }, status: { addresses: [], conditions: [] } }];
    const pods = [pod({ name: 'web-1', ip: '10.244.1.2' })];
    const [slice, ...rest] = computeEndpointSlices(svc, pods, zoned);
    expect(rest).toEqual([]);
    expect(slice).toEqual({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: expect.stringMatching(/^web-[a-z0-9]{5}$/),
        generateName: 'web-',
        namespace: 'shop',
        labels: { team: 'shop', 'service.kubernetes.io/headless': '', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': ENDPOINTSLICE_CONTROLLER },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-svc', controller: true, blockOwnerDeletion: true }],
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.2'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1', zone: 'a', targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'uid-web-1' } }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
    expect(computeEndpointSlices(svc, pods, zoned)[0]?.metadata.name).toBe(slice?.metadata.name);
    const other = computeEndpointSlices(svc, [pod({ name: 'web-1', ip: '10.244.1.2', ports: [{ name: 'http', containerPort: 81, protocol: 'TCP' }] })], zoned);
    expect(other[0]?.metadata.name).not.toBe(slice?.metadata.name);
  });

  it('splits more than 100 endpoints of one port set over several slices with distinct names', () => {
    const pods = Array.from({ length: 150 }, (_, i) => pod({ name: `web-${String(i).padStart(3, '0')}`, ip: `10.244.${1 + Math.floor(i / 200)}.${2 + i}` }));
    const slices = computeEndpointSlices(service(), pods, nodes);
    expect(slices.map((s) => s.endpoints.length)).toEqual([100, 50]);
    expect(new Set(slices.map((s) => s.metadata.name)).size).toBe(2);
  });
});

describe('computeEndpoints', () => {
  it('puts ready pods in addresses and not-ready ones in notReadyAddresses, grouped by resolved ports', () => {
    const ep = computeEndpoints(service(), [
      pod({ name: 'web-2', ip: '10.244.2.10', node: 'node-2' }),
      pod({ name: 'web-1', ip: '10.244.1.9' }),
      pod({ name: 'web-3', ip: '10.244.1.3', ready: false }),
      pod({ name: 'web-4', ip: '10.244.1.4', ports: [{ name: 'http', containerPort: 9090, protocol: 'TCP' }] }),
      pod({ name: 'noport', ip: '10.244.1.5', ports: [] }),
      pod({ name: 'gone', ip: '10.244.1.6', deleting: true }),
      pod({ name: 'done', ip: '10.244.1.7', phase: 'Succeeded' }),
    ]);
    expect(ep).toEqual({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'shop' },
      subsets: [
        {
          addresses: [
            { ip: '10.244.1.9', nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'uid-web-1' } },
            { ip: '10.244.2.10', nodeName: 'node-2', targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-2', uid: 'uid-web-2' } },
          ],
          notReadyAddresses: [{ ip: '10.244.1.3', nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-3', uid: 'uid-web-3' } }],
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
        {
          addresses: [{ ip: '10.244.1.4', nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-4', uid: 'uid-web-4' } }],
          ports: [{ name: 'http', port: 9090, protocol: 'TCP' }],
        },
      ],
    });
  });

  it('has no subsets when nothing matches, and is undefined without a selector', () => {
    expect(computeEndpoints(service({ selector: { app: 'none' } }), [pod({ name: 'web-1', ip: '10.244.1.2' })])?.subsets).toBeUndefined();
    const noSelector = service();
    delete noSelector.spec.selector;
    expect(computeEndpoints(noSelector, [])).toBeUndefined();
  });

  it('with publishNotReadyAddresses lists not-ready and terminating pods as ready addresses', () => {
    const ep = computeEndpoints(service({ publishNotReadyAddresses: true }), [pod({ name: 'a', ip: '10.244.1.2', ready: false }), pod({ name: 'b', ip: '10.244.1.3', deleting: true })]);
    expect(ep?.subsets?.[0]?.addresses?.map((a) => a.ip)).toEqual(['10.244.1.2', '10.244.1.3']);
    expect(ep?.subsets?.[0]?.notReadyAddresses).toBeUndefined();
  });

  it('headless service without ports lists addresses without ports and is labelled headless', () => {
    const ep = computeEndpoints(service({ clusterIP: 'None', ports: [] }), [pod({ name: 'a', ip: '10.244.1.2' })]);
    expect(ep?.metadata.labels).toEqual({ 'service.kubernetes.io/headless': '' });
    expect(ep?.subsets).toEqual([{ addresses: [{ ip: '10.244.1.2', nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'shop', name: 'a', uid: 'uid-a' } }] }]);
  });
});

describe('findPort', () => {
  it.each([
    { name: 'number', targetPort: 81, want: 81 },
    { name: 'numeric string', targetPort: '82', want: 82 },
    { name: 'defaults to port', targetPort: undefined, want: 80 },
    { name: 'named', targetPort: 'http', want: 8080 },
    { name: 'unknown name', targetPort: 'grpc', want: undefined },
  ])('$name', ({ targetPort, want }) => {
    const sp = targetPort === undefined ? { port: 80 } : { port: 80, targetPort };
    expect(findPort(pod({ name: 'p' }), sp)).toBe(want);
  });
});
