/**
 * End to end on the lab's service-proxy, iptables-backend and FORWARD shapes (spec.cluster, test/lab/README.md): the
 * BUILT executable runs through the real kubectl, once with `-o json` (verdict, exit code, and the datapath the run
 * detected) and once with `-o text`, whose node checks must carry no ✗ or ! mark on a healthy cluster.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin, nodeCheckLines, pluginEnv } from './plugin.ts';
import { run, skipLabSuite, startTestLab } from '../lab/harness.ts';

const skip = skipLabSuite('e2e diagnose proxies');

interface Row {
  name: string;
  scenario: string;
  src: string;
  dst: string;
  exit: 0 | 1;
  verdict: { status: string; cause: string; component: string; node?: string; object?: string };
  /** The datapath the JSON report must show. */
  datapath: { serviceProxy: string; iptablesBackend: string };
}

const healthy = { status: 'healthy', cause: 'HEALTHY', component: 'none' };
const own = (name: string): string => fileURLToPath(new URL(`./scenarios/${name}.yaml`, import.meta.url));
const client = { src: 'default/client', dst: 'shop/svc/web' };

const rows: Row[] = [
  { name: 'healthy, kube-proxy nftables mode', scenario: 'healthy-nftables', ...client, exit: 0, verdict: healthy, datapath: { serviceProxy: 'nftables', iptablesBackend: 'nft' } },
  { name: 'healthy, every rule in the legacy iptables backend', scenario: 'healthy-legacy-iptables', ...client, exit: 0, verdict: healthy, datapath: { serviceProxy: 'iptables', iptablesBackend: 'legacy' } },
  { name: "healthy, FORWARD policy DROP with flannel's and kube-proxy's accept rules", scenario: 'healthy-forward-drop', ...client, exit: 0, verdict: healthy, datapath: { serviceProxy: 'iptables', iptablesBackend: 'nft' } },
  {
    name: "kube-proxy nftables mode, node-1's table lacks the Service",
    scenario: 'kube-proxy-rules-missing-nftables',
    ...client,
    exit: 1,
    verdict: { status: 'broken', cause: 'SERVICE_PROXY_RULES_MISSING', component: 'kube-proxy', node: 'node-1' },
    datapath: { serviceProxy: 'nftables', iptablesBackend: 'nft' },
  },
  {
    name: "FORWARD policy DROP, node-2's accept rules gone",
    scenario: 'forward-policy-drop-with-accept-rules',
    ...client,
    exit: 1,
    verdict: { status: 'broken', cause: 'NODE_FORWARD_DROP', component: 'node', node: 'node-2' },
    datapath: { serviceProxy: 'iptables', iptablesBackend: 'nft' },
  },
  {
    name: 'internalTrafficPolicy Local from node-1, which has no local endpoint',
    scenario: 'internal-traffic-local',
    ...client,
    exit: 1,
    verdict: { status: 'broken', cause: 'SERVICE_NO_LOCAL_ENDPOINTS', component: 'service', node: 'node-1', object: 'Service/shop/web' },
    // A first-shape cluster: no kube-proxy in the API, its rules found on the node.
    datapath: { serviceProxy: 'iptables', iptablesBackend: 'nft' },
  },
  {
    name: 'internalTrafficPolicy Local from node-2, which has one (the backend itself)',
    scenario: 'internal-traffic-local',
    src: 'shop/web-1',
    dst: 'shop/svc/web',
    exit: 0,
    verdict: healthy,
    datapath: { serviceProxy: 'iptables', iptablesBackend: 'nft' },
  },
  {
    name: 'internalTrafficPolicy Local in nftables mode, from node-1 (a drop in no-endpoint-services)',
    scenario: own('internal-traffic-local-nftables'),
    ...client,
    exit: 1,
    verdict: { status: 'broken', cause: 'SERVICE_NO_LOCAL_ENDPOINTS', component: 'service', node: 'node-1', object: 'Service/shop/web' },
    datapath: { serviceProxy: 'nftables', iptablesBackend: 'nft' },
  },
];


describe.skipIf(skip)('kubectl netdebug end to end on service proxies, iptables backends and FORWARD policies', () => {
  beforeAll(buildPlugin, 120_000);

  it.each(rows)('$name', async (row) => {
    const lab = await startTestLab(row.scenario);
    try {
      const env = pluginEnv(lab.kubeconfig, { NO_COLOR: '1' });
      const res = await run('kubectl', ['netdebug', row.src, row.dst, '-o', 'json'], { env, timeoutMs: 60_000 });
      const report = JSON.parse(res.stdout) as { verdict: Record<string, unknown>; datapath?: { serviceProxy: string; iptablesBackend: string } };
      const v = report.verdict;
      expect(res.code, res.stderr).toBe(row.exit);
      expect({ status: v.status, cause: v.cause, component: v.component, node: v.node, object: v.object }, String(v.summary)).toEqual({ node: undefined, object: undefined, ...row.verdict });
      expect({ serviceProxy: report.datapath?.serviceProxy, iptablesBackend: report.datapath?.iptablesBackend }).toEqual(row.datapath);

      const text = await run('kubectl', ['netdebug', row.src, row.dst, '-o', 'text'], { env, timeoutMs: 60_000 });
      expect(text.code, text.stderr).toBe(row.exit);
      const checks = nodeCheckLines(text.stdout);
      expect(checks.length, text.stdout).toBeGreaterThan(0);
      if (row.exit === 0) {
        // No red mark and no warning on a healthy cluster: every node check reads ✓ (or · for evidence).
        expect(checks.filter((l) => /^\s+[✗!]/.test(l)), text.stdout).toEqual([]);
      } else {
        // The cause's own check is the one marked ✗ on its node, when a node check names it.
        const marked = checks.filter((l) => /^\s+✗/.test(l));
        if (row.verdict.cause !== 'SERVICE_NO_LOCAL_ENDPOINTS') expect(marked.every((l) => l.includes(row.verdict.node ?? '')), text.stdout).toBe(true);
        expect(marked.length, text.stdout).toBeLessThanOrEqual(1);
      }
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
      expect(left).toMatchObject({ code: 0, stdout: '' });
    } finally {
      await lab.down();
    }
  });
});
