import { describe, expect, it } from 'vitest';
import { buildReport, exitCodeForVerdict, type Finding } from '../../src/core/model.ts';
import { decideVerdict, rankFindings } from '../../src/core/diagnose/index.ts';
import { CASES, clusterIp, dnsSearch, forward, healthyData, input, notRun, onlyDefault, podIp, routeCheck, sameNode, sysctl, targets } from './verdict-cases.ts';

const ok = { kind: 'connected' } as const;
const timeout = { kind: 'timeout' } as const;

describe('decideVerdict', () => {
  it.each(CASES)('$name', (c) => {
    const out = decideVerdict(c.in);
    const v = out.verdict;
    expect({ cause: v.cause, component: v.component, status: v.status }).toEqual({ cause: c.cause, component: c.component, status: c.status });
    expect(v.node).toBe(c.node);
    expect(v.object).toBe(c.object);
    expect(exitCodeForVerdict(v)).toBe(c.exit);
    expect(out.findings[0]).toBe(v);
    for (const cause of c.absent ?? []) expect(out.findings.map((f) => f.cause)).not.toContain(cause);
    for (const cause of c.present ?? []) expect(out.findings.map((f) => f.cause)).toContain(cause);
    if (v.status !== 'healthy') expect(v.hints.length).toBeGreaterThan(0);
    expect(v.evidence.length).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });

  it('gives concrete commands for the node at fault', () => {
    const out = decideVerdict(input({ observations: [podIp(timeout)], nodeChecks: [sysctl('node-1', 'net.ipv4.ip_forward', '0')] }));
    expect(out.verdict.hints[0]).toBe('on node node-1: sysctl -w net.ipv4.ip_forward=1');
    expect(out.verdict.evidence).toContain('explains: source pod → 10.244.2.7:8080: timed out');
  });

  it('NODE_ROUTE_MISSING explains the timeouts and names the pod CIDR to restore', () => {
    const out = decideVerdict(input({
      observations: [clusterIp(timeout), podIp(timeout), sameNode(ok)],
      nodeChecks: [routeCheck('node-1', '10.244.2.7', onlyDefault)],
      nodes: [{ name: 'node-1', podCIDR: '10.244.1.0/24' }, { name: 'node-2', podCIDR: '10.244.2.0/24' }],
    }));
    expect(out.verdict.cause).toBe('NODE_ROUTE_MISSING');
    expect(out.verdict.evidence).toEqual([
      'node node-1 (hostNetwork) → route to 10.244.2.7: no route: only the default route matches (via 172.31.0.1 dev eth0)',
      'explains: source pod → 10.96.1.1:80: timed out',
      'explains: source pod → 10.244.2.7:8080: timed out',
    ]);
    expect(out.verdict.hints).toEqual([
      'on node node-1: ip -4 route list match 10.244.2.7; ip -4 route show',
      "restart the CNI agent on node-1 (e.g. delete its flannel or calico-node pod) so it restores its route to 10.244.2.0/24, node node-2's pod CIDR",
    ]);
  });

  it.each([
    { name: "names the node's pod CIDR when the API gave it", nodes: [{ name: 'node-2', podCIDR: '10.244.2.0/24' }], cidr: '10.244.2.0/24' },
    { name: 'says <pod CIDR> when it is unknown', nodes: [{ name: 'node-1', podCIDR: '10.244.1.0/24' }], cidr: '<pod CIDR>' },
  ])('FORWARD DROP hint $name', ({ nodes, cidr }) => {
    const out = decideVerdict(input({ observations: [clusterIp(timeout), podIp(timeout), sameNode(ok)], nodeChecks: [forward('node-2', 'DROP')], nodes }));
    expect(out.verdict.cause).toBe('NODE_FORWARD_DROP');
    expect(out.verdict.hints[1]).toBe(`on node node-2: iptables -P FORWARD ACCEPT, or accept its pods' traffic: iptables -I FORWARD -s ${cidr} -j ACCEPT; iptables -I FORWARD -d ${cidr} -j ACCEPT`);
  });

  it('summarises rungs: passed, failed, error, skipped', () => {
    const out = decideVerdict(input({ observations: [dnsSearch({ kind: 'resolved', ips: ['10.96.1.1'] }), clusterIp(timeout), notRun('pod-ip', 'exec forbidden')] }));
    expect(out.rungs.map((r) => [r.id, r.status])).toEqual([
      ['dns', 'passed'],
      ['cluster-ip', 'failed'],
      ['pod-ip', 'error'],
      ['same-node', 'skipped'],
      ['node-origin', 'skipped'],
    ]);
    expect(out.rungs[1]?.summary).toBe('1/1 failed: 10.96.1.1:80 timed out');
    expect(out.rungs[2]?.summary).toBe('could not run: exec forbidden');
    expect(out.rungs[1]?.probes[0]).toMatchObject({ target: '10.96.1.1:80', where: 'source pod', observation: timeout });
  });
});

describe('rankFindings', () => {
  it('orders by status, then root-cause rank, then input order', () => {
    const f = (cause: Finding['cause'], status: Finding['status']): Finding => ({ cause, status, component: 'node', summary: cause, evidence: [], hints: [] });
    const ranked = rankFindings([f('DNS_SERVER_UNRESPONSIVE', 'broken'), f('HEALTHY', 'healthy'), f('DESTINATION_NOT_LISTENING', 'degraded'), f('NODE_IP_FORWARD_DISABLED', 'broken')]);
    expect(ranked.map((x) => x.cause)).toEqual(['NODE_IP_FORWARD_DISABLED', 'DNS_SERVER_UNRESPONSIVE', 'DESTINATION_NOT_LISTENING', 'HEALTHY']);
  });
});

describe('DNS findings name the DNS the source uses', () => {
  const byName = (part: string) => {
    const c = CASES.find((x) => x.name.includes(part));
    if (!c) throw new Error(`no case ${part}`);
    return decideVerdict(c.in).verdict;
  };

  it("names OpenShift's Service and DaemonSet in the summary and fix", () => {
    const v = byName("OpenShift's layout");
    expect(v.summary).toBe('the DNS pods of openshift-dns/dns-default are Ready but nothing listens on their DNS port');
    expect(v.hints).toEqual(['kubectl -n openshift-dns logs -l dns.operator.openshift.io/daemonset-dns=default', 'kubectl -n openshift-dns rollout restart daemonset/dns-default']);
    expect(v.evidence).toContain('source pod → web.shop.svc.cluster.local @10.244.1.2#5353: no DNS server listening (port 5353 closed)');
  });

  it('keeps kube-system/kube-dns and deployment/coredns when the DNS was not identified', () => {
    const v = byName('the Ready DNS pod refuses its DNS port');
    expect(v.summary).toBe('the DNS pods of kube-system/kube-dns are Ready but nothing listens on their DNS port');
    expect(v.hints).toEqual(['kubectl -n kube-system logs -l k8s-app=kube-dns', 'kubectl -n kube-system rollout restart deployment/coredns']);
  });

  it("cites the source's resolv.conf (search path, ndots) when the search path is what fails", () => {
    const v = byName('the search path misses, a DNS pod answers');
    expect(v.evidence).toEqual([
      'source pod → web.shop.svc.cluster.local (search path): NXDOMAIN',
      'source pod → web.shop.svc.cluster.local @10.244.2.3: resolved 10.96.1.1',
      'source pod → /etc/resolv.conf: nameserver 10.96.0.10, search front.svc.cluster.local svc.cluster.local cluster.local, ndots 5',
    ]);
  });

  it("names the failing node-local-dns pod, the cache's node and the upstream that answered", () => {
    const v = byName('lookups through 169.254.20.10 are refused');
    expect(v.summary).toBe('the NodeLocal DNSCache on node node-1 (169.254.20.10) does not answer, while the cluster DNS kube-system/kube-dns-upstream answers directly');
    expect(v.hints).toEqual([
      "kubectl -n kube-system logs node-local-dns-aaaaa (node-cache's own errors)",
      'kubectl -n kube-system delete pod node-local-dns-aaaaa (the DaemonSet node-local-dns recreates it on node node-1)',
    ]);
    expect(v.evidence).toEqual([
      "the source's resolv.conf names nameserver 169.254.20.10 (NodeLocal DNSCache)",
      'source pod → web.shop.svc.cluster.local (search path): no DNS server listening (port 53 closed)',
      'source pod → web.shop.svc.cluster.local @169.254.20.10: no DNS server listening (port 53 closed)',
      'source pod → web.shop.svc.cluster.local @10.244.2.3: resolved 10.96.1.1',
    ]);
  });
});

describe('buildReport', () => {
  it('has the output contract shape', () => {
    const out = decideVerdict(input({ observations: healthyData() }));
    const report = buildReport({ targets, rungs: out.rungs, findings: out.findings, verdict: out.verdict, stats: { wallMs: 1200, apiRequests: 14, execs: 9 } });
    expect(Object.keys(report)).toEqual(['apiVersion', 'kind', 'source', 'destination', 'rungs', 'findings', 'verdict', 'stats']);
    expect(report.source).toEqual({ kind: 'pod', namespace: 'front', name: 'client', node: 'node-1', ip: '10.244.1.5' });
    expect(report.destination).toEqual({
      kind: 'service', namespace: 'shop', name: 'web', clusterIP: '10.96.1.1', port: 80, targetPort: 'http', protocol: 'TCP',
      endpoints: [{ ip: '10.244.2.7', port: 8080, ready: true, node: 'node-2', pod: 'shop/web-1' }],
    });
    expect(report.verdict.status).toBe('healthy');
  });
});
