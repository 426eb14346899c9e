/**
 * End to end on every pod network the lab builds (spec.cluster.network, test/lab/README.md): the BUILT executable runs
 * through the real kubectl, once with `-o json` (verdict, exit code, and the network the run detected) and once with
 * `-o text`, whose node checks must carry no ✗ or ! mark on a healthy cluster, each judged for its own network.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin, nodeCheckLines, pluginEnv } from './plugin.ts';
import { run, skipLabSuite, startTestLab } from '../lab/harness.ts';

const skip = skipLabSuite('e2e diagnose networks');

interface Row {
  name: string;
  scenario: string;
  exit: 0 | 1;
  verdict: { status: string; cause: string; component: string; node?: string; object?: string };
  /** The pod network the JSON report's datapath must name. */
  network: string;
  /** The service proxy it must name, when the row is about it. */
  serviceProxy?: string;
}

const healthy = { status: 'healthy', cause: 'HEALTHY', component: 'none' };
const client = { src: 'default/client', dst: 'shop/svc/web' };

const rows: Row[] = [
  { name: 'healthy calico-vxlan', scenario: 'healthy-calico-vxlan', exit: 0, verdict: healthy, network: 'calico-vxlan' },
  { name: 'healthy cloud-routed', scenario: 'healthy-cloud-routed', exit: 0, verdict: healthy, network: 'cloud-routed' },
  { name: 'healthy calico-bgp', scenario: 'healthy-calico-bgp', exit: 0, verdict: healthy, network: 'calico-bgp' },
  { name: 'healthy cilium (kube-proxy)', scenario: 'healthy-cilium', exit: 0, verdict: healthy, network: 'cilium' },
  { name: 'healthy cilium replacing kube-proxy', scenario: 'healthy-cilium-kpr', exit: 0, verdict: healthy, network: 'cilium', serviceProxy: 'cilium' },
  { name: 'cloud-routed, underlay-blocked to node-2', scenario: 'cloud-routed-underlay-blocked', exit: 1, verdict: { status: 'degraded', cause: 'UNDERLAY_BLOCKED', component: 'network', node: 'node-2' }, network: 'cloud-routed' },
  { name: 'cloud-routed, neighbor-stale on node-2', scenario: 'cloud-routed-neighbor-stale', exit: 1, verdict: { status: 'broken', cause: 'NODE_NEIGHBOR_STALE', component: 'node', node: 'node-2' }, network: 'cloud-routed' },
  { name: 'calico-vxlan, overlay-blocked on node-2', scenario: 'calico-vxlan-overlay-blocked', exit: 1, verdict: { status: 'degraded', cause: 'OVERLAY_BLOCKED', component: 'overlay' }, network: 'calico-vxlan' },
  { name: 'calico-vxlan, neighbor-stale on node-2', scenario: 'calico-vxlan-neighbor-stale', exit: 1, verdict: { status: 'broken', cause: 'NODE_NEIGHBOR_STALE', component: 'node', node: 'node-2' }, network: 'calico-vxlan' },
  { name: 'calico-bgp, underlay-blocked to node-2', scenario: 'calico-bgp-underlay-blocked', exit: 1, verdict: { status: 'degraded', cause: 'UNDERLAY_BLOCKED', component: 'network', node: 'node-2' }, network: 'calico-bgp' },
  { name: 'cilium, mtu-mismatch on node-2 (its route MTU raised to the path MTU)', scenario: 'cilium-mtu-mismatch', exit: 1, verdict: { status: 'broken', cause: 'PATH_MTU_MISMATCH', component: 'overlay', node: 'node-2' }, network: 'cilium' },
  // The node faults every network can have, named on the node that has them.
  ...(['calico-vxlan', 'calico-bgp', 'cloud-routed', 'cilium'] as const).flatMap((network): Row[] => [
    { name: `${network}, ip-forward-off on node-2`, scenario: `${network}-ip-forward-off`, exit: 1, verdict: { status: 'broken', cause: 'NODE_IP_FORWARD_DISABLED', component: 'node', node: 'node-2' }, network },
    { name: `${network}, forward-policy-drop on node-2`, scenario: `${network}-forward-policy-drop`, exit: 1, verdict: { status: 'broken', cause: 'NODE_FORWARD_DROP', component: 'node', node: 'node-2' }, network },
  ]),
  ...(['calico-bgp', 'cilium'] as const).map((network): Row => ({
    name: `${network}, neighbor-stale on node-2`,
    scenario: `${network}-neighbor-stale`,
    exit: 1,
    verdict: { status: 'broken', cause: 'NODE_NEIGHBOR_STALE', component: 'node', node: 'node-2' },
    network,
  })),
  ...(['calico-vxlan', 'calico-bgp', 'cilium'] as const).map((network): Row => ({
    name: `${network}, pod-route-missing on node-1 towards node-2`,
    scenario: `${network}-pod-route-missing`,
    exit: 1,
    verdict: { status: 'broken', cause: 'NODE_ROUTE_MISSING', component: 'node', node: 'node-1' },
    network,
  })),
  { name: 'calico-vxlan, mtu-mismatch on node-2', scenario: 'calico-vxlan-mtu-mismatch', exit: 1, verdict: { status: 'broken', cause: 'PATH_MTU_MISMATCH', component: 'overlay', node: 'node-2' }, network: 'calico-vxlan' },
  { name: 'cilium, overlay-blocked on node-2', scenario: 'cilium-overlay-blocked', exit: 1, verdict: { status: 'degraded', cause: 'OVERLAY_BLOCKED', component: 'overlay' }, network: 'cilium' },
  ...(['calico-vxlan', 'cilium'] as const).map((network): Row => ({
    name: `${network}, overlay-lossy into node-2`,
    scenario: `${network}-overlay-lossy`,
    exit: 1,
    verdict: { status: 'degraded', cause: 'OVERLAY_PACKET_LOSS', component: 'overlay', node: 'node-1' },
    network,
  })),
];


describe.skipIf(skip)('kubectl netdebug end to end on each pod network', () => {
  beforeAll(buildPlugin, 120_000);

  it.each(rows)('$name', async (row) => {
    const lab = await startTestLab(row.scenario);
    try {
      const env = pluginEnv(lab.kubeconfig, { NO_COLOR: '1' });
      const res = await run('kubectl', ['netdebug', client.src, client.dst, '-o', 'json'], { env, timeoutMs: 60_000 });
      const report = JSON.parse(res.stdout) as { verdict: Record<string, unknown>; datapath?: { network: string } };
      const v = report.verdict;
      expect(res.code, res.stderr).toBe(row.exit);
      expect({ status: v.status, cause: v.cause, component: v.component, node: v.node, object: v.object }, String(v.summary)).toEqual({ node: undefined, object: undefined, ...row.verdict });
      expect(report.datapath?.network).toBe(row.network);
      if (row.serviceProxy) expect((report.datapath as { serviceProxy?: string } | undefined)?.serviceProxy).toBe(row.serviceProxy);

      const text = await run('kubectl', ['netdebug', client.src, client.dst, '-o', 'text'], { env, timeoutMs: 60_000 });
      expect(text.code, text.stderr).toBe(row.exit);
      const checks = nodeCheckLines(text.stdout);
      expect(checks.length, text.stdout).toBeGreaterThan(0);
      if (row.exit === 0) {
        // No red mark and no warning on a healthy cluster: every node check reads ✓ (or · for evidence).
        expect(checks.filter((l) => /^\s+[✗!]/.test(l)), text.stdout).toEqual([]);
      } else {
        // The cause's own check is the one marked ✗ on its node, when a node check names it.
        const marked = checks.filter((l) => /^\s+✗/.test(l));
        expect(marked.every((l) => l.includes(row.verdict.node ?? '')), text.stdout).toBe(true);
        expect(marked.length, text.stdout).toBeLessThanOrEqual(1);
      }
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
      expect(left).toMatchObject({ code: 0, stdout: '' });
    } finally {
      await lab.down();
    }
  });
});
