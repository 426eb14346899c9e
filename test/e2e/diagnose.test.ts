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
  status: 'healthy' | 'broken' | 'degraded';
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
/** A fault row: default/client → shop/svc/web, exit 1, a broken verdict with these fields. */
const broken = (name: string, scenario: string, verdict: Omit<Expected, 'status'>): Row => ({
  name,
  scenario,
  src: 'default/client',
  dst: 'shop/svc/web',
  exit: 1,
  verdict: { status: 'broken', ...verdict },
});

const rows: Row[] = [
  { name: 'healthy 2 nodes: pod → svc', scenario: 'healthy-2-nodes', src: 'default/client', dst: 'shop/svc/web', exit: 0, verdict: healthy, budget: true },
  { name: 'healthy 2 nodes: pod → pod across namespaces and nodes', scenario: 'healthy-2-nodes', src: 'default/client', dst: 'shop/pod/web-1:8080', exit: 0, verdict: healthy },
  { name: 'healthy 2 nodes: pod → node (hostNetwork listener)', scenario: own('healthy-host-listener'), src: 'default/client', dst: 'node/node-2:9100', exit: 0, verdict: healthy },
  { name: 'healthy 3 nodes: pod → svc across nodes', scenario: 'healthy-3-nodes', src: 'default/client', dst: 'shop/svc/web', exit: 0, verdict: healthy },
  { name: 'healthy 3 nodes: pod → named port of a multi-port svc', scenario: 'healthy-3-nodes', src: 'default/client', dst: 'payments/svc/api:grpc', exit: 0, verdict: healthy },
  { name: 'healthy 3 nodes: pod → headless svc (its pods tested directly, no ClusterIP)', scenario: 'healthy-3-nodes', src: 'default/client', dst: 'payments/svc/api-headless', exit: 0, verdict: healthy },
  {
    name: 'a headless Service whose pod does not listen',
    scenario: own('headless-not-listening'),
    src: 'default/client',
    dst: 'shop/svc/web-db',
    exit: 1,
    verdict: { status: 'broken', cause: 'DESTINATION_NOT_LISTENING', component: 'destination', object: 'Pod/shop/web-1' },
  },
  broken('ip_forward off on the destination node', 'ip-forward-off', { cause: 'NODE_IP_FORWARD_DISABLED', component: 'node', node: 'node-2' }),
  broken('ip_forward off on the source node, which also breaks its DNS', own('ip-forward-off-source'), { cause: 'NODE_IP_FORWARD_DISABLED', component: 'node', node: 'node-2' }),
  broken('FORWARD policy DROP on the destination node', 'forward-policy-drop', { cause: 'NODE_FORWARD_DROP', component: 'node', node: 'node-2' }),
  broken('VXLAN blocked between healthy nodes', 'overlay-blocked', { cause: 'OVERLAY_BLOCKED', component: 'overlay' }),
  broken('kube-proxy rules missing on the source node', 'kube-proxy-rules-missing', { cause: 'SERVICE_PROXY_RULES_MISSING', component: 'kube-proxy', node: 'node-1' }),
  broken('bridge-nf-call-iptables off on the source node', 'bridge-nf-off', { cause: 'NODE_BRIDGE_NF_DISABLED', component: 'node', node: 'node-1' }),
  broken('DNS pod Ready but its server is down', 'dns-server-down', { cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns', object: expect.stringMatching(/^Pod\/kube-system\/coredns-/) }),
  broken('kube-dns without ready endpoints', 'dns-no-endpoints', { cause: 'DNS_NO_ENDPOINTS', component: 'dns', object: 'Service/kube-system/kube-dns' }),
  broken('the destination pod does not listen', 'app-not-listening', { cause: 'DESTINATION_NOT_LISTENING', component: 'destination', object: 'Pod/shop/web-1' }),
  broken('a node without a route to the other pod CIDR', 'pod-route-missing', { cause: 'NODE_ROUTE_MISSING', component: 'node', node: 'node-1' }),
  broken("the destination node's overlay MTU exceeds the path", 'mtu-mismatch', { cause: 'PATH_MTU_MISMATCH', component: 'overlay', node: 'node-2' }),
  broken('a wrong neighbor entry for the pod on its node', 'neighbor-stale', { cause: 'NODE_NEIGHBOR_STALE', component: 'node', node: 'node-2' }),
  {
    name: 'a backend cannot reach its own Service: hairpin mode off on its bridge port',
    scenario: 'hairpin-off',
    src: 'shop/web-1',
    dst: 'shop/svc/web',
    exit: 1,
    verdict: { status: 'broken', cause: 'NODE_HAIRPIN_DISABLED', component: 'node', node: 'node-2', object: 'Pod/shop/web-1' },
  },
  {
    name: 'a lossy overlay: a third of the packets into node-2 dropped, connections still made',
    scenario: 'overlay-lossy',
    src: 'default/client',
    dst: 'shop/svc/web',
    exit: 1,
    verdict: { status: 'degraded', cause: 'OVERLAY_PACKET_LOSS', component: 'overlay', node: 'node-1' },
  },
  broken('the Service selector matches no pods', 'service-no-endpoints', { cause: 'SERVICE_NO_ENDPOINTS', component: 'service', object: 'Service/shop/web' }),
  broken('the Service pods match but none is ready', 'service-not-ready', { cause: 'SERVICE_NO_READY_ENDPOINTS', component: 'service', object: 'Service/shop/web' }),
  broken('the Service targetPort is no port the pods listen on', 'service-target-port-mismatch', { cause: 'SERVICE_TARGET_PORT_MISMATCH', component: 'service', object: 'Service/shop/web' }),
  broken('the Service exists but DNS has no record for it', 'dns-record-missing', { cause: 'DNS_NAME_NOT_FOUND', component: 'dns', object: 'Service/shop/web' }),
  broken('a NetworkPolicy admits only its own namespace', 'network-policy-deny', { cause: 'NETWORK_POLICY_DENY', component: 'network-policy', object: 'NetworkPolicy/shop/web-allow-shop-only' }),
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
