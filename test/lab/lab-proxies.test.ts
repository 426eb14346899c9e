/**
 * The example scenarios of the `spec.cluster` proxy settings, brought up with `lab up` and observed through real
 * kubectl: kube-proxy's DaemonSet and ConfigMap in the API, its rules as a hostNetwork pod on the node reads them (the
 * node's `iptables` resolving to the legacy variant on a legacy cluster), healthy traffic, and the faults and
 * internalTrafficPolicy Local as the scenarios describe them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipLabSuite, startTestLab, type CommandResult, type TestLab } from './harness.ts';

const skip = skipLabSuite('lab proxy settings');

const tcp = (lab: TestLab, from: string, ip: string, port: number): Promise<CommandResult> => lab.exec(from, ['nc', '-z', '-w', '1', ip, String(port)]);

/** The ClusterIP of shop/<name>. */
async function clusterIP(lab: TestLab, name: string): Promise<string> {
  return (await lab.kubectl(['get', 'svc', '-n', 'shop', name, '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
}

/** The kube-proxy pod of a node, as `kube-system/<name>`. */
async function kubeProxyPod(lab: TestLab, node: string): Promise<string> {
  const r = await lab.kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-proxy', '--field-selector', `spec.nodeName=${node}`, '-o', 'jsonpath={.items[*].metadata.name}']);
  expect(r.stdout).toMatch(/^kube-proxy-[a-z0-9]{5}$/);
  return `kube-system/${r.stdout}`;
}

/** Creates a plain pod on a node through the API and waits for its IP; returns `default/<name>`. */
async function createPod(lab: TestLab, name: string, node: string, hostNetwork = false): Promise<string> {
  const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: node, hostNetwork, containers: [{ name: 'probe', image: 'netbox' }] } };
  expect((await lab.kubectl(['create', '--validate=false', '-f', '-'], { input: JSON.stringify(manifest) })).code).toBe(0);
  for (let i = 0; i < 100; i++) {
    if ((await lab.kubectl(['get', 'pod', name, '-o', 'jsonpath={.status.podIP}'])).stdout !== '') return `default/${name}`;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`pod ${name} never got an IP`);
}

/** Starts a scenario for one test and always tears it down by id. */
async function withLab(name: string, body: (lab: TestLab) => Promise<void>): Promise<void> {
  const lab = await startTestLab(name);
  try {
    await body(lab);
  } finally {
    await lab.down();
  }
}

/** The checks every healthy example passes: pod→pod, pod→ClusterIP and pod→DNS, same-node and cross-node. */
async function expectHealthy(lab: TestLab): Promise<void> {
  const web = await clusterIP(lab, 'web');
  const near = await clusterIP(lab, 'near');
  const web1 = (await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'jsonpath={.status.podIP}'])).stdout;
  expect((await tcp(lab, 'default/client', web1, 8080)).code).toBe(0); // cross-node pod→pod
  expect((await tcp(lab, 'default/client', web, 80)).code).toBe(0); // ClusterIP, backend on node-2
  expect((await tcp(lab, 'default/client', near, 80)).code).toBe(0); // ClusterIP, backend on node-1
  expect((await lab.exec('default/client', ['dig', '+short', '+time=1', '+tries=1', 'web.shop.svc.cluster.local'])).stdout.trim()).toBe(web);
}

describe.skipIf(skip)('lab proxy settings', () => {
  describe('healthy-nftables', () => {
    let lab: TestLab;
    let upMs = 0;
    beforeAll(async () => {
      const t0 = Date.now();
      lab = await startTestLab('healthy-nftables');
      upMs = Date.now() - t0;
    });
    afterAll(async () => lab?.down());

    it('comes up in under 5 s and is healthy', async () => {
      expect(upMs).toBeLessThan(5000);
      await expectHealthy(lab);
    });

    it('serves kube-proxy as kubeadm installs it, with mode: nftables', async () => {
      const ds = JSON.parse((await lab.kubectl(['get', 'ds', '-n', 'kube-system', 'kube-proxy', '-o', 'json'])).stdout) as { metadata: { labels: Record<string, string> }; spec: { template: { spec: { hostNetwork: boolean } } } };
      expect(ds.metadata.labels).toEqual({ 'k8s-app': 'kube-proxy' });
      expect(ds.spec.template.spec.hostNetwork).toBe(true);
      const nodes = (await lab.kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-proxy', '-o', 'jsonpath={.items[*].spec.nodeName}'])).stdout.split(' ').sort();
      expect(nodes).toEqual(['node-1', 'node-2', 'node-3']);
      const conf = (await lab.kubectl(['get', 'cm', '-n', 'kube-system', 'kube-proxy', '-o', 'jsonpath={.data.config\\.conf}'])).stdout;
      expect(conf).toMatch(/^mode: nftables$/m);
      expect((await lab.kubectl(['get', 'cm', '-n', 'kube-system'])).stdout).toMatch(/^kube-proxy\s+2\s+\S+$/m);
    });

    it('has table ip kube-proxy on the node and no KUBE-* iptables chain', async () => {
      const pod = await kubeProxyPod(lab, 'node-1');
      const web = await clusterIP(lab, 'web');
      const table = await lab.exec(pod, ['nft', 'list', 'table', 'ip', 'kube-proxy']);
      expect(table.stdout).toMatch(new RegExp(`${web.replace(/\./g, '\\.')} \\. tcp \\. 80 : goto service-[A-Z2-7]{8}-shop/web/tcp/http`));
      expect(table.stdout).toContain('chain endpoint-');
      const saved = await lab.exec(pod, ['sh', '-c', 'iptables-nft-save; iptables-legacy-save']);
      expect(saved.stdout).not.toContain('KUBE-');
      expect(saved.stdout).toContain('FLANNEL-FWD');
    });
  });

  it('healthy-legacy-iptables: every rule in the legacy x_tables, and the node’s `iptables` is the legacy variant', () =>
    withLab('healthy-legacy-iptables', async (lab) => {
      await expectHealthy(lab);
      const pod = await kubeProxyPod(lab, 'node-2');
      expect((await lab.exec(pod, ['iptables', '-V'])).stdout).toMatch(/^iptables v[\d.]+ \(legacy\)$/m);
      const legacy = (await lab.exec(pod, ['iptables-save'])).stdout;
      expect(legacy).toMatch(/^# Generated by iptables-save v[\d.]+ on /m);
      for (const chain of [':KUBE-SERVICES', ':KUBE-FORWARD', ':FLANNEL-FWD', ':FLANNEL-POSTRTG', '-A KUBE-SEP-']) expect(legacy).toContain(chain);
      expect((await lab.exec(pod, ['iptables-legacy-save'])).stdout).toContain(':KUBE-SERVICES');
      const nft = await lab.exec(pod, ['iptables-nft-save']);
      expect(nft.stdout).not.toMatch(/KUBE-|FLANNEL-/);
      // The NetworkPolicy agent writes its chains in the legacy backend too, and they enforce.
      const policy = {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'web-shop-only', namespace: 'shop' },
        spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
      };
      expect((await lab.kubectl(['create', '--validate=false', '-f', '-'], { input: JSON.stringify(policy) })).code).toBe(0);
      const web1 = (await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'jsonpath={.status.podIP}'])).stdout;
      let blocked = false;
      for (let i = 0; i < 20 && !blocked; i++) blocked = (await tcp(lab, 'default/client', web1, 8080)).code !== 0;
      expect(blocked).toBe(true);
      expect((await lab.exec(pod, ['iptables-save', '-t', 'filter'])).stdout).toContain('-A FORWARD -j NETPOL-FORWARD');
      expect((await lab.exec(pod, ['iptables-nft-save', '-t', 'filter'])).stdout).not.toContain('NETPOL');
      // A pod with its own network namespace is not the node: no alternatives there.
      expect((await lab.exec('default/client', ['iptables', '-V'])).stdout).toMatch(/\(nf_tables\)/);
      expect((await lab.kubectl(['get', 'cm', '-n', 'kube-system', 'kube-proxy', '-o', 'jsonpath={.data.config\\.conf}'])).stdout).toMatch(/^mode: iptables$/m);
    }));

  it('healthy-forward-drop: FORWARD policy DROP, the accept rules keep every path working', () =>
    withLab('healthy-forward-drop', async (lab) => {
      await expectHealthy(lab);
      const forward = (await lab.exec(await kubeProxyPod(lab, 'node-2'), ['iptables', '-S', 'FORWARD'])).stdout;
      expect(forward.split('\n')[0]).toBe('-P FORWARD DROP');
      expect(forward).toContain('-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD');
      expect(forward).toContain('-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD');
      const host3 = await createPod(lab, 'node3-host', 'node-3', true);
      const web1 = (await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'jsonpath={.status.podIP}'])).stdout;
      expect((await tcp(lab, host3, web1, 8080)).code).toBe(0); // node→remote pod
      expect((await tcp(lab, host3, await clusterIP(lab, 'web'), 80)).code).toBe(0); // node→ClusterIP
    }));

  it('forward-policy-drop-with-accept-rules: traffic forwarded into node-2 is dropped, node-1 still works', () =>
    withLab('forward-policy-drop-with-accept-rules', async (lab) => {
      const web1 = (await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'jsonpath={.status.podIP}'])).stdout;
      expect((await tcp(lab, 'default/client', web1, 8080)).code).not.toBe(0);
      expect((await tcp(lab, 'default/client', await clusterIP(lab, 'web'), 80)).code).not.toBe(0);
      expect((await tcp(lab, 'default/client', await clusterIP(lab, 'near'), 80)).code).toBe(0);
      const rules = (await lab.exec(await kubeProxyPod(lab, 'node-2'), ['iptables', '-S'])).stdout;
      expect(rules).toContain('-P FORWARD DROP');
      expect(rules).toContain('-N FLANNEL-FWD');
      expect(rules).not.toMatch(/-A (FLANNEL-FWD|KUBE-FORWARD) .*-j ACCEPT/);
    }));

  it('internal-traffic-local: dropped from node-1 and node-3, served on node-2', () =>
    withLab('internal-traffic-local', async (lab) => {
      const web = await clusterIP(lab, 'web');
      expect((await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.internalTrafficPolicy}'])).stdout).toBe('Local');
      expect((await tcp(lab, 'default/client', web, 80)).code).not.toBe(0);
      const on2 = await createPod(lab, 'on-node-2', 'node-2');
      const on3 = await createPod(lab, 'on-node-3', 'node-3');
      expect((await tcp(lab, on2, web, 80)).code).toBe(0);
      expect((await tcp(lab, on3, web, 80)).code).not.toBe(0);
      expect((await tcp(lab, 'default/client', await clusterIP(lab, 'near'), 80)).code).toBe(0);
    }));

  it('kube-proxy-rules-missing-nftables: node-1’s table lacks shop/web; its ClusterIP fails there, the pod IP works', () =>
    withLab('kube-proxy-rules-missing-nftables', async (lab) => {
      const web1 = (await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'jsonpath={.status.podIP}'])).stdout;
      expect((await tcp(lab, 'default/client', await clusterIP(lab, 'web'), 80)).code).not.toBe(0);
      expect((await tcp(lab, 'default/client', web1, 8080)).code).toBe(0);
      expect((await tcp(lab, 'default/client', await clusterIP(lab, 'near'), 80)).code).toBe(0);
      const table = (await lab.exec(await kubeProxyPod(lab, 'node-1'), ['nft', 'list', 'table', 'ip', 'kube-proxy'])).stdout;
      expect(table).not.toContain('shop/web');
      expect(table).toContain('shop/near');
    }));
});
