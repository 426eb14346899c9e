/**
 * Every fault of the catalog, reproduced by `lab up` and observed from inside the lab through real kubectl, next to the
 * same check passing on the healthy scenario. Node-origin checks run from hostNetwork pods created through the API,
 * which also proves the kubelet realizes API-created pods.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipLabSuite, startTestLab, type CommandResult, type TestLab } from './harness.ts';

const skip = skipLabSuite('lab fault catalog');

// Fixed by the scenarios: node-1 pods are 10.244.1.x, node-2 pods 10.244.2.x; the DNS pod is the first on node-1.
const WEB1 = '10.244.2.2'; // shop/web-1 on node-2 in every fault scenario that has it
const WEB = 'web.shop.svc.cluster.local';

/** Creates a pod through the API (hostNetwork on a node, or a plain pod) and returns its ns/name. */
async function createPod(lab: TestLab, name: string, node: string, hostNetwork: boolean, extra: Record<string, unknown> = {}): Promise<string> {
  const manifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { role: 'probe' } },
    spec: { nodeName: node, hostNetwork, containers: [{ name: 'probe', image: 'netbox', command: ['sleep', '600'] }], ...extra },
  };
  const r = await lab.kubectl(['create', '--validate=false', '-f', '-'], { input: JSON.stringify(manifest) });
  expect(r.stderr).toBe('');
  for (let i = 0; i < 100; i++) {
    const ip = await lab.kubectl(['get', 'pod', '-n', 'default', name, '-o', 'jsonpath={.status.podIP}']);
    if (ip.stdout !== '') return `default/${name}`;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`pod ${name} never got an IP`);
}

const tcp = (lab: TestLab, from: string, ip: string, port: number): Promise<CommandResult> => lab.exec(from, ['nc', '-z', '-v', '-w', '1', ip, String(port)]);
const dig = (lab: TestLab, from: string, name: string): Promise<CommandResult> => lab.exec(from, ['dig', '+time=1', '+tries=1', '+short', name]);
const ping = (lab: TestLab, from: string, ip: string, size: number): Promise<CommandResult> =>
  lab.exec(from, ['ping', '-M', 'do', '-s', String(size), '-c', '1', '-W', '1', ip]);

describe.skipIf(skip)('lab fault catalog', () => {
  let healthy: TestLab;
  let clusterIP: string;
  beforeAll(async () => {
    healthy = await startTestLab('healthy-2-nodes');
    clusterIP = (await healthy.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    await createPod(healthy, 'node2-host', 'node-2', true);
    await createPod(healthy, 'node2-pod', 'node-2', false);
  });
  afterAll(async () => healthy?.down());

  it('healthy: the checks every fault breaks all pass', async () => {
    expect((await tcp(healthy, 'default/client', WEB1, 8080)).code).toBe(0); // cross-node pod to pod
    expect((await tcp(healthy, 'default/client', clusterIP, 80)).code).toBe(0); // ClusterIP
    expect((await tcp(healthy, 'default/node2-host', WEB1, 8080)).code).toBe(0); // node-origin
    expect((await tcp(healthy, 'default/node2-pod', WEB1, 8080)).code).toBe(0); // same-node
    expect((await dig(healthy, 'default/client', WEB)).stdout.trim()).toBe(clusterIP);
    expect((await ping(healthy, 'default/node2-host', '10.244.1.0', 1422)).code).toBe(0); // full 1450-byte overlay MTU
    const curl = await healthy.exec('default/client', ['curl', '-s', '-m', '2', `http://web.shop/`]);
    expect(curl.stdout).toMatch(/^shop\/web-[12]/);
  });

  it('the kubelet ends a pod at its activeDeadlineSeconds: phase Failed, network gone', async () => {
    const pod = await createPod(healthy, 'short-lived', 'node-2', false, { activeDeadlineSeconds: 1 });
    const ip = (await healthy.kubectl(['get', 'pod', 'short-lived', '-o', 'jsonpath={.status.podIP}'])).stdout;
    expect((await tcp(healthy, pod, WEB1, 8080)).code).toBe(0);
    let phase = '';
    for (let i = 0; i < 60 && phase !== 'Failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      phase = (await healthy.kubectl(['get', 'pod', 'short-lived', '-o', 'jsonpath={.status.phase}/{.status.reason}'])).stdout;
      if (phase.startsWith('Failed')) phase = 'Failed';
    }
    expect(phase).toBe('Failed');
    expect((await healthy.kubectl(['get', 'pod', 'short-lived', '-o', 'jsonpath={.status.reason}'])).stdout).toBe('DeadlineExceeded');
    const exec = await healthy.exec(pod, ['true']);
    expect(exec.code).not.toBe(0);
    // Its address no longer answers from the node (the namespace and veth are gone).
    expect((await healthy.exec('default/node2-host', ['ping', '-c', '1', '-W', '1', ip])).code).not.toBe(0);
  });

  /** Starts a fault scenario for one test and always tears it down. */
  async function withFault(name: string, body: (lab: TestLab) => Promise<void>): Promise<void> {
    const lab = await startTestLab(name);
    try {
      await body(lab);
    } finally {
      await lab.down();
    }
  }

  it('ip-forward-off: cross-node pod traffic fails while the node still reaches its local pod', () =>
    withFault('ip-forward-off', async (lab) => {
      await createPod(lab, 'node2-host', 'node-2', true);
      expect((await tcp(lab, 'default/client', WEB1, 8080)).code).not.toBe(0);
      expect((await tcp(lab, 'default/node2-host', WEB1, 8080)).code).toBe(0);
      expect((await lab.exec('default/node2-host', ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('0');
    }));

  it('forward-policy-drop: forwarded pod traffic is dropped while node-origin traffic passes', () =>
    withFault('forward-policy-drop', async (lab) => {
      await createPod(lab, 'node2-host', 'node-2', true);
      expect((await tcp(lab, 'default/client', WEB1, 8080)).code).not.toBe(0);
      expect((await tcp(lab, 'default/node2-host', WEB1, 8080)).code).toBe(0);
      expect((await lab.exec('default/node2-host', ['iptables', '-S', 'FORWARD'])).stdout).toContain('-P FORWARD DROP');
    }));

  it('overlay-blocked: VXLAN into the node is dropped; the node itself still reaches its pod', () =>
    withFault('overlay-blocked', async (lab) => {
      await createPod(lab, 'node2-host', 'node-2', true);
      expect((await tcp(lab, 'default/client', WEB1, 8080)).code).not.toBe(0);
      expect((await tcp(lab, 'default/node2-host', WEB1, 8080)).code).toBe(0);
    }));

  it('pod-route-missing: the node has no route to the other pod CIDR', () =>
    withFault('pod-route-missing', async (lab) => {
      await createPod(lab, 'node1-host', 'node-1', true);
      expect((await tcp(lab, 'default/client', WEB1, 8080)).code).not.toBe(0);
      const route = await lab.exec('default/node1-host', ['ip', '-4', 'route', 'get', WEB1]);
      expect(route.stdout).not.toContain('flannel.1');
    }));

  it('kube-proxy-rules-missing: the ClusterIP fails while the PodIP works', () =>
    withFault('kube-proxy-rules-missing', async (lab) => {
      const ip = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
      expect((await tcp(lab, 'default/client', ip, 80)).code).not.toBe(0);
      expect((await tcp(lab, 'default/client', WEB1, 8080)).code).toBe(0);
    }));

  it('bridge-nf-off: a ClusterIP whose backend is on the client\'s own node fails; the PodIP works', () =>
    withFault('bridge-nf-off', async (lab) => {
      const ip = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
      const web2 = (await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-2', '-o', 'jsonpath={.status.podIP}'])).stdout;
      expect((await tcp(lab, 'default/client', ip, 80)).code).not.toBe(0);
      expect((await tcp(lab, 'default/client', web2, 8080)).code).toBe(0);
    }));

  it('dns-server-down: queries time out while the DNS pod stays Ready', () =>
    withFault('dns-server-down', async (lab) => {
      const r = await lab.exec('default/client', ['dig', '+time=1', '+tries=1', WEB]);
      expect(r.stdout).toMatch(/timed out|no servers could be reached/);
      const ready = await lab.kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '-o', 'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}']);
      expect(ready.stdout).toBe('True');
    }));

  it('dns-no-endpoints: the kube-dns slice has no ready endpoint and queries fail', () =>
    withFault('dns-no-endpoints', async (lab) => {
      const slices = await lab.kubectl(['get', 'endpointslices', '-n', 'kube-system', '-l', 'kubernetes.io/service-name=kube-dns', '-o', 'json']);
      const eps = (JSON.parse(slices.stdout).items as Array<{ endpoints?: Array<{ conditions?: { ready?: boolean } }> }>).flatMap((s) => s.endpoints ?? []);
      expect(eps.length).toBeGreaterThan(0);
      expect(eps.every((e) => e.conditions?.ready === false)).toBe(true);
      const r = await lab.exec('default/client', ['dig', '+time=1', '+tries=1', WEB]);
      expect(r.stdout).not.toMatch(/status: NOERROR/);
    }));

  it('app-not-listening: the pod refuses the port while staying Ready', () =>
    withFault('app-not-listening', async (lab) => {
      const r = await tcp(lab, 'default/client', WEB1, 8080);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/refused/);
      const ready = await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      expect(ready.stdout).toBe('True');
    }));

  it('mtu-mismatch: small pings cross the overlay, full-size don\'t-fragment pings do not', () =>
    withFault('mtu-mismatch', async (lab) => {
      await createPod(lab, 'node2-host', 'node-2', true);
      expect((await ping(lab, 'default/node2-host', '10.244.1.0', 56)).code).toBe(0);
      expect((await ping(lab, 'default/node2-host', '10.244.1.0', 1472)).code).not.toBe(0);
    }));

  it('network-policy-deny: the policy admits only shop pods, so client is dropped while a shop pod gets in', () =>
    withFault('network-policy-deny', async (lab) => {
      const web = (await lab.kubectl(['get', 'pod', '-n', 'shop', '-l', 'app=web', '-o', 'jsonpath={.items[0].status.podIP}'])).stdout;
      expect((await tcp(lab, 'default/client', web, 8080)).code).not.toBe(0);
      const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shopper', namespace: 'shop' }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'netbox' }] } };
      expect((await lab.kubectl(['create', '--validate=false', '-f', '-'], { input: JSON.stringify(manifest) })).code).toBe(0);
      let ok = 1;
      for (let i = 0; i < 20 && ok !== 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ok = (await tcp(lab, 'shop/shopper', web, 8080)).code;
      }
      expect(ok).toBe(0);
    }));

  it('dns-record-missing: the Service name is NXDOMAIN while the Service, its endpoints and its IPs work', () =>
    withFault('dns-record-missing', async (lab) => {
      const ip = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
      expect(ip).toMatch(/^10\.96\./);
      const slice = await lab.kubectl(['get', 'endpointslices', '-n', 'shop', '-l', 'kubernetes.io/service-name=web', '-o', 'jsonpath={.items[*].endpoints[*].addresses[0]}']);
      expect(slice.stdout.split(' ')).toContain(WEB1);
      const full = await lab.exec('default/client', ['dig', '+time=1', '+tries=1', WEB]);
      expect(full.stdout).toMatch(/status: NXDOMAIN/);
      expect((await dig(lab, 'default/client', WEB)).stdout.trim()).toBe('');
      // Only that record is gone: the DNS server answers for the others.
      expect((await dig(lab, 'default/client', 'kube-dns.kube-system.svc.cluster.local')).stdout.trim()).toBe('10.96.0.10');
      expect((await tcp(lab, 'default/client', ip, 80)).code).toBe(0);
      expect((await tcp(lab, 'default/client', WEB1, 8080)).code).toBe(0);
    }));

  it('neighbor-stale: node-origin and cross-node traffic to the pod fail, same-node pod traffic works', () =>
    withFault('neighbor-stale', async (lab) => {
      await createPod(lab, 'node2-host', 'node-2', true);
      await createPod(lab, 'node2-pod', 'node-2', false);
      expect((await tcp(lab, 'default/node2-host', WEB1, 8080)).code).not.toBe(0);
      expect((await tcp(lab, 'default/client', WEB1, 8080)).code).not.toBe(0);
      expect((await tcp(lab, 'default/node2-pod', WEB1, 8080)).code).toBe(0);
      expect((await lab.exec('default/node2-host', ['ip', 'neigh', 'show', WEB1])).stdout).toContain('PERMANENT');
    }));
});
