/**
 * The `spec.cluster` proxy settings on the real kernel: every combination of kube-proxy mode (iptables, nftables),
 * iptables backend (nft, legacy) and FORWARD policy (ACCEPT, DROP) comes up healthy on a 3-node data plane; its rules
 * live where the settings say; forward-policy-drop and kube-proxy-rules-missing break and repair; internalTrafficPolicy
 * Local drops on a node without a local endpoint. Then the pure renderers against upstream's own expected output.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planNodeNet } from './dataplane/addressing.ts';
import { getIptablesTools, isFirstShape, renderFlannelRules, type ProxySettings } from './dataplane/cluster-rules.ts';
import { Dataplane } from './dataplane/dataplane.ts';
import { getLocalServiceChainName, getServiceChainName, renderKubeProxyHooks, renderKubeProxyRules, type ServiceRules } from './dataplane/kube-proxy.ts';
import { getNftEndpointChain, getNftServicePortBase, hashAndTruncate, renderNftablesProxy } from './dataplane/kube-proxy-nft.ts';
import { createExecRunner, inNetns } from './dataplane/runner.ts';
import { buildKubeProxyObjects, servesKubeProxy } from './kube-proxy-objects.ts';
import { DEFAULT_CLUSTER, type NodeNet, type PodNet, type ScenarioCluster, type ScenarioNode } from './model.ts';

const canRunLab = process.platform === 'linux' && process.getuid?.() === 0;
if (!canRunLab) {
  if (process.env.CI === 'true') throw new Error('dataplane-proxies.test.ts needs root on Linux in CI');
  console.warn('\n!!! SKIPPING the kernel part of dataplane-proxies.test.ts: it needs root on Linux (network namespaces) !!!\n');
}

const runner = createExecRunner();
const RESOLV = 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n';

/** Every combination that exists in the field (the nftables proxy writes no iptables, but flannel's and policy rules still use the backend). */
const COMBOS: ProxySettings[] = (['iptables', 'nftables'] as const).flatMap((serviceProxy) =>
  (['nft', 'legacy'] as const).flatMap((iptablesBackend) =>
    (['ACCEPT', 'DROP'] as const).map((forwardPolicy) => ({ network: 'flannel' as const, serviceProxy, iptablesBackend, forwardPolicy })),
  ),
);

/** True when `nc -z` from netns reaches ip:port within 1 s. */
async function canConnect(netns: string, ip: string, port: number): Promise<boolean> {
  const r = await runner.run(inNetns(netns, ['nc', '-z', '-w', '1', ip, String(port)]), { allowFailure: true });
  return r.code === 0;
}

/** The A records dig returns for name through the kube-dns ClusterIP. */
async function resolve(netns: string, name: string): Promise<string[]> {
  const r = await runner.run(inNetns(netns, ['dig', '+short', '+time=1', '+tries=1', '@10.96.0.10', name]), { allowFailure: true });
  return r.code === 0 ? r.stdout.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l)) : [];
}

/** Runs a command in netns and returns its stdout. */
async function out(netns: string, argv: string[]): Promise<string> {
  return (await runner.run(inNetns(netns, argv), { allowFailure: true })).stdout;
}

describe.skipIf(!canRunLab).each(COMBOS.map((c, i) => ({ ...c, i })))(
  'proxy $serviceProxy, backend $iptablesBackend, FORWARD $forwardPolicy',
  ({ i, ...cluster }) => {
    const labId = `px${process.pid.toString(36)}${i}`;
    const prefix = `nd${labId}-`;
    const tools = getIptablesTools(cluster.iptablesBackend);
    const other = getIptablesTools(cluster.iptablesBackend === 'nft' ? 'legacy' : 'nft');
    let stateDir = '';
    let dp: Dataplane;
    const nodes: NodeNet[] = [];
    const pods: Record<string, PodNet> = {};

    /** remote: backend on node-2; near: backend on node-1 (the client's node); local: internalTrafficPolicy Local on node-2. */
    function services(): ServiceRules[] {
      const ep = (p: PodNet) => ({ ip: p.ip, ready: true, ports: { http: 8080 }, nodeName: p.node });
      const http = [{ name: 'http', port: 80, protocol: 'TCP' as const }];
      return [
        { namespace: 'default', name: 'remote', clusterIP: '10.96.0.21', ports: http, endpoints: [ep(pods.web!)] },
        { namespace: 'default', name: 'near', clusterIP: '10.96.0.20', ports: http, endpoints: [ep(pods.near!)] },
        { namespace: 'default', name: 'local', clusterIP: '10.96.0.22', ports: http, endpoints: [ep(pods.web!)], internalTrafficPolicy: 'Local' },
        {
          namespace: 'kube-system',
          name: 'kube-dns',
          clusterIP: '10.96.0.10',
          ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }],
          endpoints: [{ ip: pods.dns!.ip, ready: true, ports: { dns: 53, 'dns-tcp': 53 }, nodeName: pods.dns!.node }],
        },
      ];
    }

    beforeAll(async () => {
      stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndlab-px-'));
      dp = new Dataplane({ labId, runner, stateDir, cluster });
      const started = Date.now();
      for (const index of [1, 2, 3]) nodes.push(planNodeNet(labId, { name: `node-${index}`, index, podCIDR: `10.244.${index}.0/24` }));
      await dp.createUnderlay();
      await Promise.all(nodes.map((n) => dp.addNode(n)));
      await dp.connectNodes(nodes);
      const specs = [
        { key: 'default/client', node: 'node-1', ip: '10.244.1.10' },
        { key: 'default/near', node: 'node-1', ip: '10.244.1.11' },
        { key: 'default/web', node: 'node-2', ip: '10.244.2.10' },
        { key: 'default/peer', node: 'node-2', ip: '10.244.2.11' },
        { key: 'kube-system/dns', node: 'node-2', ip: '10.244.2.53' },
      ];
      for (const p of await Promise.all(specs.map((s) => dp.addPod({ ...s, hostNetwork: false }, { resolvConf: RESOLV })))) pods[p.key.split('/')[1]!] = p;
      await Promise.all([pods.near!, pods.web!].map((p) => dp.startResponder(p, 8080)));
      await dp.startDnsServer(pods.dns!, [{ name: 'remote.default.svc.cluster.local', ips: ['10.96.0.21'] }]);
      await dp.applyServiceRulesEverywhere(services());
      console.log(`${labId}: 3 nodes, 5 pods, DNS, 4 services built in ${Date.now() - started} ms`);
    });

    afterAll(async () => {
      await dp?.teardown();
      const left = (await runner.run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(prefix));
      fs.rmSync(stateDir, { recursive: true, force: true });
      expect(left).toEqual([]);
    });

    it('is healthy: pod→pod, pod→ClusterIP, pod→DNS and node→pod, same-node and cross-node', async () => {
      const [n1, n2, n3] = nodes as [NodeNet, NodeNet, NodeNet];
      const checks = [
        ['same-node pod→pod', pods.client!.netns, pods.near!.ip, 8080],
        ['cross-node pod→pod', pods.client!.netns, pods.web!.ip, 8080],
        ['pod→ClusterIP, same-node backend', pods.client!.netns, '10.96.0.20', 80],
        ['pod→ClusterIP, cross-node backend', pods.client!.netns, '10.96.0.21', 80],
        ['pod→kube-dns over TCP, cross-node', pods.client!.netns, '10.96.0.10', 53],
        ['pod→kube-dns over TCP, same-node', pods.peer!.netns, '10.96.0.10', 53],
        ['node→its own pod', n2.netns, pods.web!.ip, 8080],
        ['node→remote pod', n3.netns, pods.web!.ip, 8080],
        ['node→ClusterIP', n3.netns, '10.96.0.21', 80],
      ] as const;
      const results = await Promise.all(checks.map(async ([name, from, ip, port]) => [name, await canConnect(from, ip, port)] as const));
      expect(results).toEqual(checks.map(([name]) => [name, true]));
      expect(await resolve(pods.client!.netns, 'remote.default.svc.cluster.local')).toEqual(['10.96.0.21']);
      expect(await resolve(pods.peer!.netns, 'remote.default.svc.cluster.local')).toEqual(['10.96.0.21']);
      expect(await canConnect(n1.netns, pods.near!.ip, 8080)).toBe(true);
    });

    it('writes its rules where the settings say', async () => {
      const n1 = nodes[0]!;
      const mine = await out(n1.netns, [tools.save]);
      const theirs = await out(n1.netns, [other.save]);
      // The other backend holds no rule at all (only its empty tables, if any).
      expect(theirs.split('\n').filter((l) => l.startsWith('-A '))).toEqual([]);
      expect(mine).toMatch(new RegExp(`^:FORWARD ${cluster.forwardPolicy} `, 'm'));
      const kubeProxyTable = await runner.run(inNetns(n1.netns, ['nft', 'list', 'table', 'ip', 'kube-proxy']), { allowFailure: true });
      if (cluster.serviceProxy === 'iptables') {
        expect(mine).toContain(`-A KUBE-SERVICES -d 10.96.0.21/32 -p tcp -m tcp --dport 80 -m comment --comment "default/remote:http cluster IP" -j ${getServiceChainName('default/remote:http', 'tcp')}`);
        expect(kubeProxyTable.code).not.toBe(0);
      } else {
        // nftables mode: no KUBE-* chain in any backend, the services in table ip kube-proxy.
        expect(`${mine}${theirs}`).not.toMatch(/KUBE-/);
        expect(kubeProxyTable.stdout).toContain(`service-${getNftServicePortBase({ namespace: 'default', name: 'remote' }, 'tcp', 'http')}`);
        expect(kubeProxyTable.stdout).toMatch(/10\.96\.0\.21 \. tcp \. 80 : goto service-\w{8}-default\/remote\/tcp\/http/);
      }
      if (isFirstShape(cluster)) {
        expect(mine).not.toMatch(/FLANNEL-|KUBE-FORWARD/);
      } else {
        expect(mine).toContain('-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
        expect(mine).toContain('-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN');
        expect(mine.includes('-A KUBE-FORWARD')).toBe(cluster.serviceProxy === 'iptables');
      }
    });

    it('forward-policy-drop: forwarded pod traffic into node-2 is dropped, and repaired on revert', async () => {
      const fault = { type: 'forward-policy-drop' as const, node: 'node-2' };
      await dp.applyFault(fault);
      try {
        expect(await canConnect(pods.client!.netns, pods.web!.ip, 8080)).toBe(false);
        expect(await canConnect(pods.client!.netns, '10.96.0.21', 80)).toBe(false);
        const forward = await out(nodes[1]!.netns, [tools.iptables, '-S']);
        expect(forward).toContain('-P FORWARD DROP');
        expect(forward).not.toMatch(/-A (FLANNEL-FWD|KUBE-FORWARD) .*-j ACCEPT/);
        expect(await canConnect(pods.client!.netns, pods.near!.ip, 8080)).toBe(true); // node-1 is untouched
      } finally {
        await dp.revertFault(fault);
      }
      expect(await canConnect(pods.client!.netns, pods.web!.ip, 8080)).toBe(true);
      expect(await canConnect(pods.client!.netns, '10.96.0.21', 80)).toBe(true);
      expect(await out(nodes[1]!.netns, [tools.iptables, '-S', 'FORWARD'])).toContain(`-P FORWARD ${cluster.forwardPolicy}`);
    });

    it('kube-proxy-rules-missing: node-1 loses one Service from its proxy; reverting brings it back', async () => {
      const fault = { type: 'kube-proxy-rules-missing' as const, node: 'node-1', service: 'default/remote' };
      await dp.applyFault(fault);
      try {
        expect(await canConnect(pods.client!.netns, '10.96.0.21', 80)).toBe(false);
        expect(await canConnect(pods.client!.netns, pods.web!.ip, 8080)).toBe(true);
        expect(await canConnect(pods.client!.netns, '10.96.0.20', 80)).toBe(true);
        expect(await canConnect(pods.peer!.netns, '10.96.0.21', 80)).toBe(true); // node-2 still has it
        const rules = cluster.serviceProxy === 'iptables' ? await out(nodes[0]!.netns, [tools.save]) : await out(nodes[0]!.netns, ['nft', 'list', 'table', 'ip', 'kube-proxy']);
        expect(rules).not.toContain('default/remote');
        expect(rules).toContain('default/near');
      } finally {
        await dp.revertFault(fault);
      }
      expect(await canConnect(pods.client!.netns, '10.96.0.21', 80)).toBe(true);
    });

    it('overlay-blocked: its INPUT rule goes to the cluster backend, breaks the overlay into node-2, and goes away on revert', async () => {
      const fault = { type: 'overlay-blocked' as const, node: 'node-2' };
      await dp.applyFault(fault);
      try {
        expect(await canConnect(pods.client!.netns, pods.web!.ip, 8080)).toBe(false);
        expect(await out(nodes[1]!.netns, [tools.save, '-t', 'filter'])).toContain('-A INPUT -p udp -m udp --dport 8472 -m comment --comment netdebug-lab-fault -j DROP');
        expect(await out(nodes[1]!.netns, [other.save, '-t', 'filter'])).not.toContain('netdebug-lab-fault');
      } finally {
        await dp.revertFault(fault);
      }
      expect(await canConnect(pods.client!.netns, pods.web!.ip, 8080)).toBe(true);
    });

    it('internalTrafficPolicy Local: dropped from a node without a local endpoint, served on the node with one', async () => {
      expect(await canConnect(pods.client!.netns, '10.96.0.22', 80)).toBe(false);
      expect(await canConnect(nodes[2]!.netns, '10.96.0.22', 80)).toBe(false);
      expect(await canConnect(pods.peer!.netns, '10.96.0.22', 80)).toBe(true);
      expect(await canConnect(nodes[1]!.netns, '10.96.0.22', 80)).toBe(true);
      if (cluster.serviceProxy === 'iptables') {
        expect(await out(nodes[0]!.netns, [tools.save, '-t', 'filter'])).toContain(
          '-A KUBE-SERVICES -d 10.96.0.22/32 -p tcp -m tcp --dport 80 -m comment --comment "default/local:http has no local endpoints" -j DROP',
        );
        expect(await out(nodes[1]!.netns, [tools.save, '-t', 'nat'])).toContain(`-j ${getLocalServiceChainName('default/local:http', 'tcp')}`);
      } else {
        expect(await out(nodes[0]!.netns, ['nft', 'list', 'map', 'ip', 'kube-proxy', 'no-endpoint-services'])).toContain('10.96.0.22 . tcp . 80 comment "default/local:http" : drop');
        expect(await out(nodes[1]!.netns, ['nft', 'list', 'map', 'ip', 'kube-proxy', 'service-ips'])).toMatch(/10\.96\.0\.22 \. tcp \. 80 : goto local-\w{8}-default\/local\/tcp\/http/);
      }
    });

    // Only legacy clusters have an alternatives directory (declared for them alone, so nothing is reported skipped).
    if (cluster.iptablesBackend === 'legacy') it('legacy: the node alternatives directory makes `iptables` the legacy variant', async () => {
      const dir = dp.execPathDir();
      expect(dir).toBeDefined();
      const r = await runner.run(['env', `PATH=${dir}:/usr/sbin:/usr/bin:/sbin:/bin`, 'ip', 'netns', 'exec', nodes[0]!.netns, 'iptables', '-V']);
      expect(r.stdout).toMatch(/^iptables v[\d.]+ \(legacy\)/);
      const save = await runner.run(['env', `PATH=${dir}:/usr/sbin:/usr/bin:/sbin:/bin`, 'ip', 'netns', 'exec', nodes[0]!.netns, 'iptables-save']);
      expect(save.stdout).toContain('FLANNEL-FWD');
    });
    else it('nft: no alternatives directory, `iptables` stays the host default', () => expect(dp.execPathDir()).toBeUndefined());
  },
);

describe('kube-proxy nftables renderer (pkg/proxy/nftables)', () => {
  it('names chains as upstream: proxier_test.go expects ULMVA6XW-ns1/svc1/tcp/p80 and 5OJB2KTY-...__10.180.0.1/80', () => {
    expect(getNftServicePortBase({ namespace: 'ns1', name: 'svc1' }, 'TCP', 'p80')).toBe('ULMVA6XW-ns1/svc1/tcp/p80');
    expect(getNftEndpointChain({ namespace: 'ns1', name: 'svc1' }, 'TCP', 'p80', '10.180.0.1', 80)).toBe('endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
    expect(hashAndTruncate('x'.repeat(300))).toHaveLength(240);
  });

  const svc1: ServiceRules = {
    namespace: 'ns1',
    name: 'svc1',
    clusterIP: '172.30.0.41',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
    endpoints: [{ ip: '10.180.0.1', ready: true, ports: { p80: 80 }, nodeName: 'node-2' }],
  };
  const input = { clusterCIDR: '10.0.0.0/8', serviceCIDR: '172.30.0.0/16', nodeIP: '192.168.0.2', nodeName: 'node-1' };

  it("writes svc1's rules as TestOverallNFTablesRules expects them", () => {
    const text = renderNftablesProxy({ ...input, services: [svc1] });
    for (const line of [
      'add chain ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80',
      'add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 }',
      'add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 ip saddr 10.180.0.1 jump mark-for-masquerade',
      'add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 meta l4proto tcp dnat to 10.180.0.1:80',
      'add element ip kube-proxy cluster-ips { 172.30.0.41 }',
      'add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }',
      'add rule ip kube-proxy cluster-ips-check ip daddr { 172.30.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"',
      'add rule ip kube-proxy masquerading masquerade fully-random',
      'add element ip kube-proxy nodeport-ips { 192.168.0.2 }',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
    expect(text).toContain('service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade');
  });

  it('rejects a Service without endpoints, drops internalTrafficPolicy Local without a local one, and omits faulted Services', () => {
    const empty = { ...svc1, name: 'svc6', clusterIP: '172.30.0.46', endpoints: [] };
    const local = { ...svc1, internalTrafficPolicy: 'Local' as const };
    expect(renderNftablesProxy({ ...input, services: [empty] })).toContain('add element ip kube-proxy no-endpoint-services { 172.30.0.46 . tcp . 80 comment "ns1/svc6:p80" : goto reject-chain }');
    expect(renderNftablesProxy({ ...input, services: [local] })).toContain('no-endpoint-services { 172.30.0.41 . tcp . 80 comment "ns1/svc1:p80" : drop }');
    const onNode2 = renderNftablesProxy({ ...input, nodeName: 'node-2', services: [local] });
    expect(onNode2).toContain('service-ips { 172.30.0.41 . tcp . 80 : goto local-ULMVA6XW-ns1/svc1/tcp/p80 }');
    expect(onNode2).not.toContain('service-ULMVA6XW');
    const omitted = renderNftablesProxy({ ...input, services: [svc1], omit: ['ns1/svc1'] });
    expect(omitted).not.toContain('svc1');
    expect(omitted).toContain('add table ip kube-proxy { comment "rules for kube-proxy" ; }');
  });
});

describe('kube-proxy iptables renderer: internalTrafficPolicy Local and KUBE-FORWARD', () => {
  const local: ServiceRules = {
    namespace: 'ns1',
    name: 'svc1',
    clusterIP: '172.30.0.41',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
    endpoints: [{ ip: '10.180.0.1', ready: true, ports: { p80: 80 }, nodeName: 'node-2' }],
    internalTrafficPolicy: 'Local',
  };

  it('routes through KUBE-SVL on the endpoint node and DROPs with "has no local endpoints" elsewhere', () => {
    const svl = getLocalServiceChainName('ns1/svc1:p80', 'tcp');
    expect(svl).toBe(getServiceChainName('ns1/svc1:p80', 'tcp').replace('KUBE-SVC-', 'KUBE-SVL-'));
    const there = renderKubeProxyRules({ services: [local], clusterCIDR: '10.0.0.0/8', nodeName: 'node-2' });
    expect(there.text).toContain(`-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m tcp --dport 80 -m comment --comment "ns1/svc1:p80 cluster IP" -j ${svl}`);
    expect(there.text).not.toContain('KUBE-SVC-');
    const elsewhere = renderKubeProxyRules({ services: [local], clusterCIDR: '10.0.0.0/8', nodeName: 'node-1' });
    expect(elsewhere.text).toContain('-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m tcp --dport 80 -m comment --comment "ns1/svc1:p80 has no local endpoints" -j DROP');
    expect(elsewhere.chains).toEqual([]);
  });

  it('installs KUBE-FORWARD only when asked, as proxier.go writes it', () => {
    expect(renderKubeProxyHooks()).not.toContain('KUBE-FORWARD');
    const hooks = renderKubeProxyHooks({ forward: true });
    expect(hooks).toContain('-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD');
    expect(hooks).toContain('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT');
    expect(hooks).toContain('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  });

  it("renders flannel's FLANNEL-FWD and FLANNEL-POSTRTG as iptables.go forwardRules/masqRules do", () => {
    const text = renderFlannelRules('10.244.0.0/16', '10.244.1.0/24');
    expect(text).toContain('-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
    expect(text).toContain('-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully');
  });
});

describe('kube-proxy in the API', () => {
  const nodes: ScenarioNode[] = [1, 2].map((index) => ({ name: `node-${index}`, index, podCIDR: `10.244.${index}.0/24`, ready: true, labels: {} }));
  const opts = { now: new Date('2026-01-01T00:00:00Z'), uid: () => 'uid' };
  const cluster = (c: Partial<ScenarioCluster>): ScenarioCluster => ({ ...(structuredClone(DEFAULT_CLUSTER) as ScenarioCluster), ...c });

  it('serves the DaemonSet, one pod per node and the ConfigMap with the real mode', () => {
    for (const mode of ['iptables', 'nftables'] as const) {
      const objs = buildKubeProxyObjects(cluster({ serviceProxy: mode, forwardPolicy: 'DROP' }), nodes, opts);
      expect(objs.workloads.map((w) => [w.kind, w.metadata.namespace, w.metadata.name])).toEqual([['DaemonSet', 'kube-system', 'kube-proxy']]);
      expect(objs.pods.map((p) => [p.spec.nodeName, p.spec.hostNetwork, p.metadata.labels?.['k8s-app'], p.status?.podIP])).toEqual([
        ['node-1', true, 'kube-proxy', '172.31.0.11'],
        ['node-2', true, 'kube-proxy', '172.31.0.12'],
      ]);
      const data = (objs.configMaps[0] as unknown as { data: Record<string, string> }).data;
      expect(data['config.conf']).toMatch(new RegExp(`^mode: ${mode}$`, 'm'));
      expect(data['config.conf']).toMatch(/^kind: KubeProxyConfiguration$/m);
    }
  });

  it('leaves the API of the first cluster shape as it was, and has no kube-proxy where Cilium replaces it', () => {
    expect(servesKubeProxy(cluster({}))).toBe(false);
    expect(buildKubeProxyObjects(cluster({}), nodes, opts)).toEqual({ configMaps: [], workloads: [], pods: [] });
    expect(servesKubeProxy(cluster({ network: 'cilium', serviceProxy: 'cilium' }))).toBe(false);
    expect(servesKubeProxy(cluster({ iptablesBackend: 'legacy' }))).toBe(true);
  });
});

describe('captured fixtures (test/unit/fixtures-proxies, written by its capture.ts from the example scenarios)', () => {
  const read = (file: string): string => fs.readFileSync(new URL(`../unit/fixtures-proxies/${file}.txt`, import.meta.url), 'utf8');

  it('legacy backend: iptables-legacy-save holds every rule, iptables-nft-save only warns that legacy tables exist', () => {
    const legacy = read('healthy-legacy-iptables/iptables-legacy-save');
    for (const s of [':KUBE-SERVICES', '-A KUBE-FORWARD', '-A FLANNEL-FWD', '-A FLANNEL-POSTRTG', '-j DNAT --to-destination']) expect(legacy).toContain(s);
    expect(legacy).not.toContain('(nf_tables)');
    expect(read('healthy-legacy-iptables/iptables-nft-save').split('\n').slice(2).join('\n')).toBe('# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n');
  });

  it('nftables mode: table ip kube-proxy in the ruleset, no KUBE-* in either iptables backend', () => {
    const ruleset = read('healthy-nftables/nft-list-ruleset');
    expect(ruleset).toContain('table ip kube-proxy {');
    expect(ruleset).toMatch(/map service-ips \{[^}]*elements = \{[^}]*: goto service-[A-Z2-7]{8}-shop\/web\/tcp\/http/);
    expect(ruleset).not.toContain('KUBE-');
    expect(read('healthy-nftables/iptables-nft-save')).not.toContain('KUBE-');
    expect(read('healthy-nftables/iptables-nft-save')).toContain('-A FLANNEL-FWD -s 10.244.0.0/16');
  });

  it('FORWARD DROP: the policy with its accept rules, and without them under the fault', () => {
    expect(read('healthy-forward-drop/iptables-nft-save')).toMatch(/^:FORWARD DROP \[\d+:\d+\]$/m);
    expect(read('healthy-forward-drop/iptables-nft-save')).toContain('-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
    const broken = read('forward-policy-drop-with-accept-rules/iptables-nft-save-node-2');
    expect(broken).toMatch(/^:FORWARD DROP /m);
    expect(broken).not.toMatch(/^-A (FLANNEL-FWD|KUBE-FORWARD) /m);
  });
});
