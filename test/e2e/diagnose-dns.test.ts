/**
 * End to end on the DNS layouts people run: RKE2's and OpenShift's DNS Services, NodeLocal DNSCache (healthy, and down on
 * the source's node) and a custom cluster domain, plus the DNS faults on the plain and the OpenShift layout. Each row
 * starts a lab, runs the BUILT executable through the real kubectl, and checks the verdict, the exit code, the DNS the
 * report's datapath names, and (for healthy rows) that the text report shows no failed check and no warning.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin, pluginEnv } from './plugin.ts';
import { run, skipLabSuite, startTestLab } from '../lab/harness.ts';

const skip = skipLabSuite('e2e diagnose DNS');
const own = (name: string): string => fileURLToPath(new URL(`./scenarios/${name}.yaml`, import.meta.url));

interface Row {
  name: string;
  /** A scenario shipped in test/lab/scenarios, or a path. */
  scenario: string;
  src: string;
  exit: 0 | 1;
  verdict: { status: string; cause: string; component: string; node?: string; object?: string | ReturnType<typeof expect.stringMatching> };
  /** What Report.datapath.dns must say. */
  dns: string;
  /** The name the DNS rung must have looked up directly (the destination's name in the cluster domain). */
  fullName?: string;
}

const healthy = { status: 'healthy', cause: 'HEALTHY', component: 'none' };
const rows: Row[] = [
  { name: 'RKE2: DNS Service kube-system/rke2-coredns-rke2-coredns', scenario: 'dns-rke2', src: 'default/client', exit: 0, verdict: healthy, dns: 'kube-system/rke2-coredns-rke2-coredns' },
  { name: 'OpenShift: DNS Service openshift-dns/dns-default, DaemonSet pods on 5353', scenario: 'dns-openshift', src: 'default/client', exit: 0, verdict: healthy, dns: 'openshift-dns/dns-default' },
  {
    name: 'NodeLocal DNSCache healthy',
    scenario: 'node-local-dns',
    src: 'default/client',
    exit: 0,
    verdict: healthy,
    dns: 'kube-system/kube-dns-upstream via NodeLocal DNSCache 169.254.20.10',
  },
  {
    name: 'a custom cluster domain (corp.example)',
    scenario: own('dns-custom-domain'),
    src: 'default/client',
    exit: 0,
    verdict: healthy,
    dns: 'kube-system/kube-dns',
    fullName: 'web.shop.svc.corp.example',
  },
  {
    name: "NodeLocal DNSCache down on the source's node (node-2) while CoreDNS answers",
    scenario: own('node-local-dns-down-node-2'),
    src: 'default/client',
    exit: 1,
    verdict: { status: 'broken', cause: 'NODE_LOCAL_DNS_DOWN', component: 'dns', node: 'node-2', object: expect.stringMatching(/^Pod\/kube-system\/node-local-dns-[a-z0-9]{5}$/) },
    dns: 'kube-system/kube-dns-upstream via NodeLocal DNSCache 169.254.20.10',
  },
  {
    name: "NodeLocal DNSCache down on another node (node-2): the source's own cache answers",
    scenario: 'node-local-dns-down',
    src: 'default/client',
    exit: 0,
    verdict: healthy,
    dns: 'kube-system/kube-dns-upstream via NodeLocal DNSCache 169.254.20.10',
  },
  {
    name: 'DNS pod Ready but its server is down',
    scenario: 'dns-server-down',
    src: 'default/client',
    exit: 1,
    verdict: { status: 'broken', cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns', object: expect.stringMatching(/^Pod\/kube-system\/coredns-/) },
    dns: 'kube-system/kube-dns',
  },
  {
    name: 'OpenShift: the dns-default servers are down while their pods stay Ready',
    scenario: own('dns-server-down-openshift'),
    src: 'default/client',
    exit: 1,
    verdict: { status: 'broken', cause: 'DNS_SERVER_UNRESPONSIVE', component: 'dns' },
    dns: 'openshift-dns/dns-default',
  },
  {
    name: 'kube-dns without ready endpoints',
    scenario: 'dns-no-endpoints',
    src: 'default/client',
    exit: 1,
    verdict: { status: 'broken', cause: 'DNS_NO_ENDPOINTS', component: 'dns', object: 'Service/kube-system/kube-dns' },
    dns: 'kube-system/kube-dns',
  },
  {
    name: 'the Service exists but DNS has no record for it',
    scenario: 'dns-record-missing',
    src: 'default/client',
    exit: 1,
    verdict: { status: 'broken', cause: 'DNS_NAME_NOT_FOUND', component: 'dns', object: 'Service/shop/web' },
    dns: 'kube-system/kube-dns',
  },
];

interface JsonReport {
  verdict: Record<string, unknown>;
  datapath?: { dns?: string; unsure: string[] };
  rungs: Array<{ id: string; probes: Array<{ target: string; observation: { kind: string } }> }>;
}

describe.skipIf(skip)('kubectl netdebug end to end on the DNS layouts', () => {
  beforeAll(buildPlugin, 120_000);

  it.each(rows)('$name', async (row) => {
    const lab = await startTestLab(row.scenario);
    try {
      const env = pluginEnv(lab.kubeconfig);
      const res = await run('kubectl', ['netdebug', row.src, 'shop/svc/web', '-o', 'json'], { env, timeoutMs: 30_000 });
      const report = JSON.parse(res.stdout) as JsonReport;
      const v = report.verdict;
      expect(res.code, res.stderr).toBe(row.exit);
      expect({ status: v.status, cause: v.cause, component: v.component, node: v.node, object: v.object }, String(v.summary)).toEqual({
        node: undefined,
        object: undefined,
        ...row.verdict,
      });
      expect(report.datapath?.dns).toBe(row.dns);
      // The source's resolv.conf was read first in the DNS rung.
      const dns = report.rungs.find((r) => r.id === 'dns');
      expect(dns?.probes[0]).toMatchObject({ target: '/etc/resolv.conf', observation: { kind: 'resolv-conf' } });
      if (row.fullName) {
        expect(dns?.probes.some((p) => p.target.startsWith(`${row.fullName} @`) && p.observation.kind === 'resolved')).toBe(true);
      }
      if (row.exit === 0) {
        const text = await run('kubectl', ['netdebug', row.src, 'shop/svc/web'], { env, timeoutMs: 30_000 });
        expect(text.code, text.stdout).toBe(0);
        expect(text.stdout).not.toContain('✗');
        // No line carries a warning (!) or could-not-tell (?) mark.
        expect(text.stdout.split('\n').filter((l) => /^\s*[!?] /.test(l)), text.stdout).toEqual([]);
      }
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
      expect(left).toMatchObject({ code: 0, stdout: '' });
    } finally {
      await lab.down();
    }
  });
});
