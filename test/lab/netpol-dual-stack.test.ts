/**
 * NetworkPolicies on the lab's dual-stack clusters (flannel, calico-vxlan, calico-bgp, cilium), created through the API
 * at runtime with real kubectl: the policy agent enforces each one for IPv4 and IPv6 alike (its ip6tables twin), a pod
 * selector peer stands for both of a pod's addresses, and an ipBlock admits only addresses of its own family.
 */
import { describe, expect, it } from 'vitest';
import { skipLabSuite, startTestLab, type TestLab } from './harness.ts';

const skip = skipLabSuite('lab NetworkPolicy on dual-stack clusters');

/** Whether a TCP connection from a pod (ns/name) to ip:port succeeds within 1 s. */
async function connects(lab: TestLab, from: string, ip: string, port: number): Promise<boolean> {
  return (await lab.exec(from, ['nc', '-z', '-w', '1', ip, String(port)])).code === 0;
}

/** Probes until the connection's outcome is `want` (the agent applies a change asynchronously); returns the last outcome. */
async function until(lab: TestLab, from: string, ip: string, port: number, want: boolean): Promise<boolean> {
  let got = !want;
  for (let i = 0; i < 40 && got !== want; i++) got = await connects(lab, from, ip, port);
  return got;
}

/** The IPv4 and IPv6 address of a pod (ns/name), from its status.podIPs. */
async function podIPs(lab: TestLab, pod: string): Promise<{ v4: string; v6: string }> {
  const [ns, name] = pod.split('/') as [string, string];
  const ips = (await lab.kubectl(['get', 'pod', '-n', ns, name, '-o', 'jsonpath={.status.podIPs[*].ip}'])).stdout.split(' ');
  const v4 = ips.find((ip) => !ip.includes(':'));
  const v6 = ips.find((ip) => ip.includes(':'));
  if (v4 === undefined || v6 === undefined) throw new Error(`${pod} has no address of both families: ${ips.join(' ')}`);
  return { v4, v6 };
}

/** Creates or replaces shop/web-ingress, the policy isolating app=web for ingress with the given peers. */
async function applyPolicy(lab: TestLab, from: unknown[]): Promise<void> {
  const policy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web-ingress', namespace: 'shop' },
    spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from }] },
  };
  await lab.kubectl(['delete', 'networkpolicy', '-n', 'shop', 'web-ingress', '--ignore-not-found']);
  const res = await lab.kubectl(['create', '--validate=false', '-f', '-'], { input: JSON.stringify(policy) });
  expect(res.code, res.stderr).toBe(0);
}

describe.skipIf(skip)('NetworkPolicy enforcement for both families on dual-stack labs', () => {
  it.each(['dual-stack', 'dual-stack-calico-vxlan', 'dual-stack-calico-bgp', 'dual-stack-cilium'])('%s', async (scenario) => {
    const lab = await startTestLab(scenario);
    try {
      const client = await podIPs(lab, 'default/client');
      // web-1 is on node-2 (cross-node), web-2 on node-1 next to the client (same node).
      for (const web of ['shop/web-1', 'shop/web-2']) {
        const dst = await podIPs(lab, web);
        expect({ web, v4: await connects(lab, 'default/client', dst.v4, 8080), v6: await connects(lab, 'default/client', dst.v6, 8080) }).toEqual({ web, v4: true, v6: true });
      }
      const web1 = await podIPs(lab, 'shop/web-1');
      const web2 = await podIPs(lab, 'shop/web-2');

      // Only pods of shop: default/client is refused over both families, on both nodes.
      await applyPolicy(lab, [{ podSelector: {} }]);
      expect(await until(lab, 'default/client', web1.v6, 8080, false)).toBe(false);
      expect(await until(lab, 'default/client', web2.v6, 8080, false)).toBe(false);
      expect(await connects(lab, 'default/client', web1.v4, 8080)).toBe(false);
      expect(await connects(lab, 'default/client', web2.v4, 8080)).toBe(false);
      // A pod selector peer stands for both addresses of the pod: web-2 (shop) reaches web-1 over both.
      expect(await connects(lab, 'shop/web-2', web1.v4, 8080)).toBe(true);
      expect(await connects(lab, 'shop/web-2', web1.v6, 8080)).toBe(true);

      // An IPv6 ipBlock holding the client's IPv6 address admits it over IPv6 only.
      await applyPolicy(lab, [{ ipBlock: { cidr: `${client.v6}/128` } }]);
      expect(await until(lab, 'default/client', web1.v6, 8080, true)).toBe(true);
      expect(await connects(lab, 'default/client', web1.v4, 8080)).toBe(false);

      // An IPv4 ipBlock holding the client's IPv4 address admits it over IPv4 only.
      await applyPolicy(lab, [{ ipBlock: { cidr: `${client.v4}/32` } }]);
      expect(await until(lab, 'default/client', web1.v4, 8080, true)).toBe(true);
      expect(await connects(lab, 'default/client', web1.v6, 8080)).toBe(false);
    } finally {
      await lab.down();
    }
  }, 600_000);
});
