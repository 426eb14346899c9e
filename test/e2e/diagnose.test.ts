/**
 * End to end: for each scenario (healthy or with one fault from the catalog) a lab is started, the BUILT executable runs
 * through the real kubectl (`kubectl netdebug SRC DST -o json`), and the report must name the expected cause, component
 * and node/object with the right exit code, and leave no debug pod behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, skipLabSuite, startTestLab } from '../lab/harness.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const skip = skipLabSuite('e2e diagnose');

/** The verdict fields a row pins down; node/object undefined means the verdict must not name one. */
interface Expected {
  status: 'healthy' | 'broken';
  cause: string;
  component: string;
  node?: string;
  object?: string | ReturnType<typeof expect.stringMatching>;
}

interface Row {
  name: string;
  /** A scenario shipped in test/lab/scenarios, or a path. */
  scenario: string;
  src: string;
  dst: string;
  exit: 0 | 1;
  verdict: Expected;
  /** Also check issue 3's budget: at most 60 API requests and under 3 s wall. */
  budget?: boolean;
}

const healthy: Expected = { status: 'healthy', cause: 'HEALTHY', component: 'none' };
const own = (name: string): string => fileURLToPath(new URL(`./scenarios/${name}.yaml`, import.meta.url));

const rows: Row[] = [
  { name: 'healthy 2 nodes: pod → svc', scenario: 'healthy-2-nodes', src: 'default/client', dst: 'shop/svc/web', exit: 0, verdict: healthy, budget: true },
  { name: 'healthy 2 nodes: pod → pod across namespaces and nodes', scenario: 'healthy-2-nodes', src: 'default/client', dst: 'shop/pod/web-1:8080', exit: 0, verdict: healthy },
  { name: 'healthy 2 nodes: pod → node (hostNetwork listener)', scenario: own('healthy-host-listener'), src: 'default/client', dst: 'node/node-2:9100', exit: 0, verdict: healthy },
  { name: 'healthy 3 nodes: pod → svc across nodes', scenario: 'healthy-3-nodes', src: 'default/client', dst: 'shop/svc/web', exit: 0, verdict: healthy },
  { name: 'healthy 3 nodes: pod → named port of a multi-port svc', scenario: 'healthy-3-nodes', src: 'default/client', dst: 'payments/svc/api:grpc', exit: 0, verdict: healthy },
  {
    name: 'ip_forward off on the destination node',
    scenario: 'ip-forward-off', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'NODE_IP_FORWARD_DISABLED', component: 'node', node: 'node-2' },
  },
  {
    name: 'FORWARD policy DROP on the destination node',
    scenario: 'forward-policy-drop', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'NODE_FORWARD_DROP', component: 'node', node: 'node-2' },
  },
  {
    name: 'VXLAN blocked between healthy nodes',
    scenario: 'overlay-blocked', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'OVERLAY_BLOCKED', component: 'overlay' },
  },
  {
    name: 'kube-proxy rules missing on the source node',
    scenario: 'kube-proxy-rules-missing', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'SERVICE_PROXY_RULES_MISSING', component: 'kube-proxy', node: 'node-1' },
  },
  {
    name: 'bridge-nf-call-iptables off on the source node',
    scenario: 'bridge-nf-off', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'NODE_BRIDGE_NF_DISABLED', component: 'node', node: 'node-1' },
  },
  {
    name: 'DNS pod Ready but its server is down',
    scenario: 'dns-server-down', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns', object: expect.stringMatching(/^Pod\/kube-system\/coredns-/) },
  },
  {
    name: 'kube-dns without ready endpoints',
    scenario: 'dns-no-endpoints', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'DNS_NO_ENDPOINTS', component: 'dns', object: 'Service/kube-system/kube-dns' },
  },
  {
    name: 'the destination pod does not listen',
    scenario: 'app-not-listening', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'DESTINATION_NOT_LISTENING', component: 'destination', object: 'Pod/shop/web-1' },
  },
  {
    name: 'a wrong neighbor entry for the pod on its node',
    scenario: 'neighbor-stale', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'NODE_NEIGHBOR_STALE', component: 'node', node: 'node-2' },
  },
  {
    name: 'the Service selector matches no pods',
    scenario: 'service-no-endpoints', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'SERVICE_NO_ENDPOINTS', component: 'service', object: 'Service/shop/web' },
  },
  {
    name: 'the Service pods match but none is ready',
    scenario: 'service-not-ready', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'SERVICE_NO_READY_ENDPOINTS', component: 'service', object: 'Service/shop/web' },
  },
  {
    name: 'the Service targetPort is no port the pods listen on',
    scenario: 'service-target-port-mismatch', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'SERVICE_TARGET_PORT_MISMATCH', component: 'service', object: 'Service/shop/web' },
  },
  {
    name: 'a NetworkPolicy admits only its own namespace',
    scenario: 'network-policy-deny', src: 'default/client', dst: 'shop/svc/web', exit: 1,
    verdict: { status: 'broken', cause: 'NETWORK_POLICY_DENY', component: 'network-policy', object: 'NetworkPolicy/shop/web-allow-shop-only' },
  },
];

describe.skipIf(skip)('kubectl netdebug end to end in the lab', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' });
    expect(existsSync(`${repo}/dist/kubectl-netdebug.mjs`)).toBe(true);
  }, 120_000);

  it.each(rows)('$name', async (row) => {
    const lab = await startTestLab(row.scenario);
    try {
      const env = { ...process.env, KUBECONFIG: lab.kubeconfig, PATH: `${repo}/bin:${process.env.PATH ?? ''}` };
      const res = await run('kubectl', ['netdebug', row.src, row.dst, '-o', 'json'], { env, timeoutMs: 30_000 });
      // JSON.parse rejects anything after the first value, so this also proves stdout holds exactly one object.
      const report = JSON.parse(res.stdout) as {
        apiVersion: string;
        kind: string;
        verdict: Record<string, unknown>;
        stats: { wallMs: number; apiRequests: number; execs: number };
      };
      const v = report.verdict;
      expect({ code: res.code, apiVersion: report.apiVersion, kind: report.kind }, res.stderr).toEqual({ code: row.exit, apiVersion: 'netdebug.dev/v1', kind: 'Report' });
      expect({ status: v.status, cause: v.cause, component: v.component, node: v.node, object: v.object }, String(v.summary)).toEqual({
        node: undefined,
        object: undefined,
        ...row.verdict,
      });
      if (row.budget) {
        expect(report.stats.apiRequests).toBeLessThanOrEqual(60);
        expect(report.stats.wallMs).toBeLessThan(3000);
      }
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
      expect(left).toMatchObject({ code: 0, stdout: '' });
    } finally {
      await lab.down();
    }
  });
});
