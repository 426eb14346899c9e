/**
 * NodeLocal DNSCache with an IPv6 cluster DNS ([IPv6, IPv4]): every node's cache listens on fd00::10, kubelet writes
 * it into pods' resolv.conf, it forwards cluster names to kube-dns-upstream's IPv6 ClusterIP, and node-local-dns-down
 * stops one node's cache while its pod stays Ready.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipLabSuite, startTestLab, type TestLab } from './harness.ts';

const skip = skipLabSuite('NodeLocal DNSCache on an IPv6 cluster DNS');

const json = <T = any>(text: string): T => JSON.parse(text) as T;

/** The resolv.conf kubelet writes for a ClusterFirst pod of `ns`. */
const resolvConf = (ns: string, nameserver: string): string =>
  `search ${ns}.svc.cluster.local svc.cluster.local cluster.local\nnameserver ${nameserver}\noptions ndots:5\n`;

/** Asks until the answer comes (the lab's controllers program the upstream's Service rules after `lab up`). */
async function digUntil(lab: TestLab, pod: string, args: string[], want: string): Promise<string> {
  let answer = '';
  for (let i = 0; i < 10 && answer !== want; i += 1) answer = (await lab.exec(pod, ['dig', '+short', '+time=2', '+tries=2', ...args])).stdout;
  return answer;
}

describe.skipIf(skip)('NodeLocal DNSCache on fd00::10 (scenarios/dual-stack-ipv6-node-local-dns.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('dual-stack-ipv6-node-local-dns');
  }, 120_000);
  afterAll(async () => lab?.down(), 60_000);

  it('gives kube-dns-upstream an IPv6 ClusterIP, like kube-dns, with IPv6 endpoints', async () => {
    const upstream = json((await lab.kubectl(['get', 'svc', '-n', 'kube-system', 'kube-dns-upstream', '-o', 'json'])).stdout);
    expect(upstream.spec.ipFamilies).toEqual(['IPv6']);
    expect(upstream.spec.ipFamilyPolicy).toBe('SingleStack');
    expect(upstream.spec.clusterIP).toMatch(/^fd00:10:96::[0-9a-f]+$/);
    expect(upstream.spec.clusterIPs).toEqual([upstream.spec.clusterIP]);
    const slices = json((await lab.kubectl(['get', 'endpointslices', '-n', 'kube-system', '-l', 'kubernetes.io/service-name=kube-dns-upstream', '-o', 'json'])).stdout).items;
    expect(slices.map((s: any) => s.addressType)).toEqual(['IPv6']);
  });

  it('points every pod at fd00::10, where each node’s cache answers AAAA and A through kube-dns-upstream', async () => {
    const web = json((await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'json'])).stdout);
    const [v6, v4] = web.spec.clusterIPs as string[];
    expect(v6).toMatch(/^fd00:10:96::/);
    expect(v4).toMatch(/^10\.96\./);
    for (const pod of ['default/client', 'shop/web-1']) {
      const conf = await lab.exec(pod, ['cat', '/etc/resolv.conf']);
      expect(conf.stdout, conf.stderr).toBe(resolvConf(pod.split('/')[0]!, 'fd00::10'));
      expect(await digUntil(lab, pod, ['+search', '-t', 'AAAA', 'web.shop'], `${v6}\n`)).toBe(`${v6}\n`);
      expect(await digUntil(lab, pod, ['+search', 'web.shop'], `${v4}\n`)).toBe(`${v4}\n`);
      // The answer comes from the cache's address itself.
      const full = await lab.exec(pod, ['dig', '+time=2', '+tries=2', '-t', 'AAAA', 'web.shop.svc.cluster.local']);
      expect(full.stdout).toContain(';; SERVER: fd00::10#53(fd00::10)');
    }
    for (const node of ['node-1', 'node-2']) {
      const cache = json((await lab.kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=node-local-dns', '--field-selector', `spec.nodeName=${node}`, '-o', 'json'])).stdout).items[0];
      const link = await lab.exec(`kube-system/${cache.metadata.name}`, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'nodelocaldns']);
      expect(link.stdout).toMatch(/^\d+: nodelocaldns\s+inet6 fd00::10\/128 scope global/);
      const raw = await lab.exec(`kube-system/${cache.metadata.name}`, ['ip6tables', '-t', 'raw', '-S', 'PREROUTING']);
      expect(raw.stdout).toContain('-A PREROUTING -d fd00::10/128 -p udp -m udp --dport 53 -j NOTRACK\n');
      expect(raw.stdout).toContain('-A PREROUTING -d fd00::10/128 -p tcp -m tcp --dport 53 -j NOTRACK\n');
    }
  });
});

describe.skipIf(skip)('node-local-dns-down on fd00::10 (scenarios/dual-stack-ipv6-node-local-dns-down.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('dual-stack-ipv6-node-local-dns-down');
  }, 120_000);
  afterAll(async () => lab?.down(), 60_000);

  it('stops name resolution on node-1 only, while its cache pod stays Ready and CoreDNS answers over IPv6', async () => {
    const web = json((await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'json'])).stdout);
    const [v6] = web.spec.clusterIPs as string[];
    const broken = await lab.exec('default/client', ['dig', '+time=1', '+tries=1', '+search', '-t', 'AAAA', 'web.shop']);
    expect(broken.stdout).toContain(';; communications error to fd00::10#53: connection refused');
    expect(broken.stdout).toContain(';; no servers could be reached');
    expect(await digUntil(lab, 'shop/web-1', ['+search', '-t', 'AAAA', 'web.shop'], `${v6}\n`)).toBe(`${v6}\n`);
    expect((await lab.exec('default/client', ['dig', '+short', '+time=2', '+tries=2', '-t', 'AAAA', '@fd00:10:96::a', 'web.shop.svc.cluster.local'])).stdout).toBe(`${v6}\n`);
    const cache = json((await lab.kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=node-local-dns', '--field-selector', 'spec.nodeName=node-1', '-o', 'json'])).stdout).items[0];
    expect(cache.status.conditions.find((c: any) => c.type === 'Ready').status).toBe('True');
    expect(cache.status.phase).toBe('Running');
  });
});
