/**
 * The cluster shapes people run, crossed: each pod network with each service proxy, iptables backend and FORWARD
 * policy that exists in the field comes up healthy through `lab up` (pod→pod same-node and cross-node, pod→ClusterIP,
 * pod→DNS, node→pod, node→ClusterIP). CI runs a covering subset (every network, proxy, backend and policy at least
 * once, and every network with its least default shape); `LAB_MATRIX=full` runs the whole matrix
 * (`npm run test:matrix`, documented in test/lab/README.md). The flannel row of the matrix is dataplane-proxies.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { run, scenarioPath, skipLabSuite, startTestLab, type TestLab } from './harness.ts';

const skip = skipLabSuite('lab matrix');

type Network = 'calico-vxlan' | 'calico-bgp' | 'cloud-routed' | 'cilium';
interface Combo {
  network: Network;
  serviceProxy: 'iptables' | 'nftables' | 'cilium';
  iptablesBackend: 'nft' | 'legacy';
  forwardPolicy: 'ACCEPT' | 'DROP';
}

/**
 * Whether a shape exists in the field (and so in the lab): Cilium's replacement only with Cilium, whose forwarding never
 * crosses FORWARD; no FORWARD DROP on cloud-routed nodes (the VPC CNI writes no accept rule and EKS nodes run ACCEPT).
 */
function exists(c: Combo): boolean {
  if (c.serviceProxy === 'cilium' && c.network !== 'cilium') return false;
  if ((c.network === 'cilium' || c.network === 'cloud-routed') && c.forwardPolicy === 'DROP') return false;
  return true;
}

const NETWORKS: Network[] = ['calico-vxlan', 'calico-bgp', 'cloud-routed', 'cilium'];
const FULL: Combo[] = NETWORKS.flatMap((network) =>
  (['iptables', 'nftables', 'cilium'] as const).flatMap((serviceProxy) =>
    (['nft', 'legacy'] as const).flatMap((iptablesBackend) => (['ACCEPT', 'DROP'] as const).map((forwardPolicy) => ({ network, serviceProxy, iptablesBackend, forwardPolicy }))),
  ),
).filter(exists);

/** Every network with the shape furthest from the lab's default, which also covers every proxy, backend and policy. */
const COVERING: Combo[] = [
  { network: 'calico-vxlan', serviceProxy: 'nftables', iptablesBackend: 'legacy', forwardPolicy: 'DROP' },
  { network: 'calico-bgp', serviceProxy: 'iptables', iptablesBackend: 'legacy', forwardPolicy: 'DROP' },
  { network: 'cloud-routed', serviceProxy: 'nftables', iptablesBackend: 'nft', forwardPolicy: 'ACCEPT' },
  { network: 'cilium', serviceProxy: 'cilium', iptablesBackend: 'legacy', forwardPolicy: 'ACCEPT' },
  { network: 'cilium', serviceProxy: 'nftables', iptablesBackend: 'nft', forwardPolicy: 'ACCEPT' },
];

const COMBOS = process.env.LAB_MATRIX === 'full' ? FULL : COVERING;
const dir = mkdtempSync(join(tmpdir(), 'lab-matrix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The healthy scenario of the combo's network with the combo's cluster settings, written to a file of its own. */
function scenarioFor(c: Combo): string {
  const doc = parse(readFileSync(scenarioPath(c.network === 'cilium' ? 'healthy-cilium' : `healthy-${c.network}`), 'utf8')) as { metadata: { name: string }; spec: { cluster?: Record<string, unknown> } };
  doc.metadata.name = `matrix-${c.network}-${c.serviceProxy}-${c.iptablesBackend}-${c.forwardPolicy.toLowerCase()}`;
  doc.spec.cluster = { ...(doc.spec.cluster ?? {}), ...c };
  const path = join(dir, `${doc.metadata.name}.yaml`);
  writeFileSync(path, stringify(doc));
  return path;
}

/** Whether `nc -z` from a pod reaches ip:port (a few tries: a loaded machine may lose the first SYN's timer). */
async function podConnects(lab: TestLab, pod: string, ip: string, port: number): Promise<boolean> {
  for (let i = 0; i < 3; i += 1) if ((await lab.exec(pod, ['nc', '-z', '-w', '2', ip, String(port)])).code === 0) return true;
  return false;
}

/** Whether `nc -z` from a node's own network namespace reaches ip:port. */
async function nodeConnects(lab: TestLab, node: number, ip: string, port: number): Promise<boolean> {
  for (let i = 0; i < 3; i += 1) if ((await run('ip', ['netns', 'exec', `nd${lab.rec.labId}-n${node}`, 'nc', '-z', '-w', '2', ip, String(port)])).code === 0) return true;
  return false;
}

describe.skipIf(skip).each(COMBOS)('$network, proxy $serviceProxy, backend $iptablesBackend, FORWARD $forwardPolicy', (combo) => {
  it('comes up healthy: pod→pod, pod→ClusterIP, pod→DNS, node→pod and node→ClusterIP, same-node and cross-node', async () => {
    const lab = await startTestLab(scenarioFor(combo));
    try {
      const jsonpath = async (args: string[]): Promise<string> => (await lab.kubectl([...args, '-o', 'jsonpath={.items[*].status.podIP}{.spec.clusterIP}'])).stdout.trim();
      const [web1, web2, clusterIP] = await Promise.all([
        jsonpath(['get', 'pods', '-n', 'shop', '--field-selector', 'metadata.name=web-1']),
        jsonpath(['get', 'pods', '-n', 'shop', '--field-selector', 'metadata.name=web-2']),
        jsonpath(['get', 'svc', '-n', 'shop', 'web']),
      ]);
      const checks: [string, Promise<boolean>][] = [
        ['pod→pod cross-node', podConnects(lab, 'default/client', web1, 8080)],
        ['pod→pod same-node', podConnects(lab, 'default/client', web2, 8080)],
        ['pod→ClusterIP', podConnects(lab, 'default/client', clusterIP, 80)],
        ['node→its own pod', nodeConnects(lab, 2, web1, 8080)],
        ['node→a remote pod', nodeConnects(lab, 3, web1, 8080)],
        ['node→ClusterIP', nodeConnects(lab, 3, clusterIP, 80)],
      ];
      const results = await Promise.all(checks.map(async ([name, ok]) => [name, await ok] as const));
      expect(results).toEqual(checks.map(([name]) => [name, true]));
      const dig = await lab.exec('default/client', ['dig', '+short', '+time=2', '+tries=3', 'web.shop.svc.cluster.local']);
      expect(dig.stdout.trim()).toBe(clusterIP);
    } finally {
      await lab.down();
    }
  });
});
