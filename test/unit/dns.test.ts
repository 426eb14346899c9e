import { describe, expect, it } from 'vitest';
import {
  isNodeLocalDnsAddress,
  clusterDomainOf,
  describeDnsResolution,
  dnsServerOf,
  identifyDns,
  planDnsLookups,
  withClusterDomain,
  type ResolvConf,
} from '../../src/core/dns.ts';
import type { ClusterFacts, DnsFacts, DnsServiceFacts } from '../../src/core/facts.ts';
import type { ProbeSpec } from '../../src/core/model.ts';
import { buildFacts, clientPod } from '../cli/fakes.ts';

const opts = { timeoutMs: 2000 };
const conf = (nameserver: string, domain = 'cluster.local', ns = 'front'): ResolvConf => ({
  nameservers: [nameserver],
  search: [`${ns}.svc.${domain}`, `svc.${domain}`, domain],
  ndots: 5,
});
const pod = (namespace: string, name: string, ip: string, node: string, ready = true) => ({ namespace, name, ip, node, ready });
const kubeDns: DnsServiceFacts = {
  namespace: 'kube-system',
  name: 'kube-dns',
  clusterIP: '10.96.0.10',
  pods: [pod('kube-system', 'coredns-6f6b679f8f-k8x2q', '10.244.1.2', 'node-1')],
  readyEndpoints: 1,
  selector: 'k8s-app=kube-dns',
  workload: { kind: 'Deployment', name: 'coredns' },
};
const upstream: DnsServiceFacts = { ...kubeDns, name: 'kube-dns-upstream', clusterIP: '10.96.0.3' };
const openshift: DnsServiceFacts = {
  namespace: 'openshift-dns',
  name: 'dns-default',
  clusterIP: '172.30.0.10',
  podPort: 5353,
  pods: [pod('openshift-dns', 'dns-default-abcde', '10.244.1.2', 'node-1'), pod('openshift-dns', 'dns-default-fghij', '10.244.2.2', 'node-2', false)],
  readyEndpoints: 1,
  selector: 'dns.operator.openshift.io/daemonset-dns=default',
  workload: { kind: 'DaemonSet', name: 'dns-default' },
};
const rke2: DnsServiceFacts = { ...kubeDns, name: 'rke2-coredns-rke2-coredns', clusterIP: '10.43.0.10', workload: { kind: 'Deployment', name: 'rke2-coredns-rke2-coredns' } };
const nodeLocal = { pods: [pod('kube-system', 'node-local-dns-aaaaa', '172.31.0.11', 'node-1'), pod('kube-system', 'node-local-dns-bbbbb', '172.31.0.12', 'node-2')] };

function factsWith(dns: Partial<DnsFacts>): ClusterFacts {
  const base = buildFacts();
  return { ...base, dns: { ...base.dns, ...dns } };
}
const show = (p: ProbeSpec): string => (p.action.tool === 'dns-lookup' ? `${p.action.name}${p.action.server ? ` @${p.action.server}${p.action.port ? `#${p.action.port}` : ''}` : ''}` : p.action.tool);

describe('clusterDomainOf', () => {
  it.each([
    { search: ['front.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ns: 'front', domain: 'cluster.local' },
    { search: ['front.svc.corp.example', 'svc.corp.example', 'corp.example'], ns: 'front', domain: 'corp.example' },
    // Extra search domains (dnsConfig, the node's own) may come first: the pod's own `<ns>.svc.` entry decides.
    { search: ['ec2.internal', 'front.svc.k8s.internal', 'svc.k8s.internal'], ns: 'front', domain: 'k8s.internal' },
    { search: ['svc.cluster.local', 'cluster.local'], ns: 'front', domain: 'cluster.local' },
    { search: ['ec2.internal'], ns: 'front', domain: undefined },
    { search: [], ns: 'front', domain: undefined },
  ])('$search → $domain', ({ search, ns, domain }) => {
    expect(clusterDomainOf(search, ns)).toBe(domain);
  });
});

describe('identifyDns and planDnsLookups', () => {
  it('matches the nameserver to kube-dns by ClusterIP and asks its pods directly', () => {
    const facts = factsWith({ services: [kubeDns] });
    const res = identifyDns(facts, conf('10.96.0.10'));
    expect(res).toMatchObject({ nameserver: '10.96.0.10', domain: 'cluster.local', service: { name: 'kube-dns' }, unsure: [] });
    expect(describeDnsResolution(res)).toBe('kube-system/kube-dns');
    expect(planDnsLookups(facts, res, opts).map(show)).toEqual(['web.shop', 'web.shop.svc.cluster.local @10.244.1.2']);
  });

  it("finds RKE2's Service by ClusterIP among several well-known ones", () => {
    const facts = factsWith({ services: [kubeDns, rke2] });
    const res = identifyDns(facts, conf('10.43.0.10'));
    expect(describeDnsResolution(res)).toBe('kube-system/rke2-coredns-rke2-coredns');
    expect(dnsServerOf(res)).toEqual({ namespace: 'kube-system', name: 'rke2-coredns-rke2-coredns', selector: 'k8s-app=kube-dns', workload: { kind: 'Deployment', name: 'rke2-coredns-rke2-coredns' } });
  });

  it("asks OpenShift's ready DaemonSet pods on their own port (5353), in the domain of the search path", () => {
    const facts = factsWith({ services: [openshift] });
    const res = identifyDns(facts, conf('172.30.0.10', 'corp.example'));
    expect(res.domain).toBe('corp.example');
    const probes = planDnsLookups(facts, res, opts);
    expect(probes.map(show)).toEqual(['web.shop', 'web.shop.svc.corp.example @10.244.1.2#5353']);
    expect(probes[1]?.command).toEqual(['dig', '@10.244.1.2', '-p', '5353', '+time=2', '+tries=1', 'web.shop.svc.corp.example']);
    expect(probes[1]?.about).toEqual({ kind: 'Pod', namespace: 'openshift-dns', name: 'dns-default-abcde' });
    expect(dnsServerOf(res).workload).toEqual({ kind: 'DaemonSet', name: 'dns-default' });
  });

  it('builds the destination name in the cluster domain', () => {
    const facts = buildFacts();
    const t = withClusterDomain(facts.targets, 'corp.example');
    expect(t.destination.kind === 'service' && t.destination.dnsName).toBe('web.shop.svc.corp.example');
    expect(withClusterDomain(facts.targets, undefined)).toBe(facts.targets);
  });

  it("resolves 169.254.20.10 to NodeLocal DNSCache on the source's node, with kube-dns-upstream behind it", () => {
    const facts = factsWith({ services: [kubeDns, upstream], nodeLocal });
    const res = identifyDns(facts, conf('169.254.20.10'));
    expect(res.nodeLocal).toEqual({ address: '169.254.20.10', node: clientPod.kind === 'pod' ? clientPod.node : '', pod: { kind: 'Pod', namespace: 'kube-system', name: 'node-local-dns-aaaaa' } });
    expect(res.service?.name).toBe('kube-dns-upstream');
    expect(describeDnsResolution(res)).toBe('kube-system/kube-dns-upstream via NodeLocal DNSCache 169.254.20.10');
    const probes = planDnsLookups(facts, res, opts);
    expect(probes.map(show)).toEqual(['web.shop', 'web.shop.svc.cluster.local @169.254.20.10', 'web.shop.svc.cluster.local @10.244.1.2']);
    expect(probes[1]?.about).toEqual({ kind: 'Pod', namespace: 'kube-system', name: 'node-local-dns-aaaaa' });
  });

  it("resolves fd00::10 (an IPv6 cluster DNS) to NodeLocal DNSCache on the source's node, and asks it directly", () => {
    const facts = factsWith({ services: [kubeDns, upstream], nodeLocal });
    const res = identifyDns(facts, conf('fd00::10'));
    expect(res.nodeLocal).toEqual({ address: 'fd00::10', node: clientPod.kind === 'pod' ? clientPod.node : '', pod: { kind: 'Pod', namespace: 'kube-system', name: 'node-local-dns-aaaaa' } });
    expect(res.service?.name).toBe('kube-dns-upstream');
    expect(res.unsure).toEqual([]);
    expect(describeDnsResolution(res)).toBe('kube-system/kube-dns-upstream via NodeLocal DNSCache fd00::10');
    const probes = planDnsLookups(facts, res, opts);
    expect(probes.map(show)).toEqual(['web.shop', 'web.shop.svc.cluster.local @fd00::10', 'web.shop.svc.cluster.local @10.244.1.2']);
    expect(probes[1]?.about).toEqual({ kind: 'Pod', namespace: 'kube-system', name: 'node-local-dns-aaaaa' });
    expect(isNodeLocalDnsAddress('FD00::10')).toBe(true);
    expect(isNodeLocalDnsAddress('fd00::a')).toBe(false);
  });

  it('says so when no node-local-dns pod runs on the source node, and falls back to kube-dns as the upstream', () => {
    const facts = factsWith({ services: [kubeDns], nodeLocal: { pods: [] } });
    const res = identifyDns(facts, conf('169.254.20.10'));
    expect(res.service?.name).toBe('kube-dns');
    expect(res.nodeLocal?.pod).toBeUndefined();
    expect(res.unsure).toEqual(['no node-local-dns pod found on node node-1 (DaemonSet kube-system/node-local-dns)']);
  });

  it('says it cannot identify a nameserver that is none of the Services found, and asks that server directly', () => {
    const facts = factsWith({ services: [kubeDns] });
    const res = identifyDns(facts, conf('10.100.0.53'));
    expect(res.service).toBeUndefined();
    expect(describeDnsResolution(res)).toBeUndefined();
    expect(res.unsure).toEqual(["the source's nameserver 10.100.0.53 is none of the DNS Services found (kube-system/kube-dns 10.96.0.10)"]);
    expect(dnsServerOf(res)).toMatchObject({ namespace: 'kube-system', name: 'kube-dns' });
    expect(planDnsLookups(facts, res, opts).map(show)).toEqual(['web.shop', 'web.shop.svc.cluster.local @10.100.0.53']);
  });

  it('asks an unidentified IPv6 nameserver only through the search path (the probe tools take IPv4 servers)', () => {
    const facts = factsWith({ services: [kubeDns] });
    const res = identifyDns(facts, { nameservers: ['2001:db8:30::a'], search: ['front.svc.cluster-domain.example', 'svc.cluster-domain.example'], ndots: 5 });
    expect(res.domain).toBe('cluster-domain.example');
    expect(planDnsLookups(facts, res, opts).map(show)).toEqual(['web.shop']);
  });

  it('says so when the search path names no cluster domain, and keeps the name the API gave', () => {
    const facts = factsWith({ services: [kubeDns] });
    const res = identifyDns(facts, { nameservers: ['10.96.0.10'], search: ['ec2.internal'] });
    expect(res.domain).toBeUndefined();
    expect(res.unsure).toEqual(["the source's search path (ec2.internal) names no cluster domain (<namespace>.svc.<domain>)"]);
    expect(planDnsLookups(facts, res, opts).map(show)).toEqual(['web.shop', 'web.shop.svc.cluster.local @10.244.1.2']);
  });

  it('reads facts without the well-known Services (older adapters) as kube-system/kube-dns', () => {
    const res = identifyDns(buildFacts(), conf('10.96.0.10'));
    expect(res.service).toMatchObject({ namespace: 'kube-system', name: 'kube-dns', clusterIP: '10.96.0.10' });
    expect(planDnsLookups(buildFacts(), res, { timeoutMs: 2000, maxEndpoints: 1 }).map(show)).toEqual(['web.shop', 'web.shop.svc.cluster.local @10.244.1.3']);
  });

  it('passes on what the API could not read as unsure', () => {
    const facts = factsWith({ services: [], unreadable: ['Service openshift-dns/dns-default: forbidden'] });
    expect(identifyDns(facts, conf('172.30.0.10')).unsure).toEqual([
      'could not read Service openshift-dns/dns-default: forbidden',
      "the source's nameserver 172.30.0.10 is none of the DNS Services found (none of the well-known names exists)",
    ]);
  });
});
