/**
 * Each pod network through the whole lab (`lab up` of test/lab/scenarios/healthy-<network>.yaml and real kubectl 1.32):
 * up in under 5 s, the network's system pods as its installer lays them out, get/describe/exec/debug working, healthy
 * traffic (pod to pod on the same and another node, DNS and ClusterIP, node to pod); then every example fault scenario
 * of the network (<network>-<fault>.yaml) observed broken next to a path that still works.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipLabSuite, startTestLab, type CommandResult, type TestLab } from './harness.ts';
import { ALL_FAULT_TYPES } from './model.ts';

const skip = skipLabSuite('lab pod networks');

const NETWORKS = [
  { network: 'calico-vxlan', agent: { namespace: 'calico-system', label: 'k8s-app=calico-node' }, veth: /^cali[0-9a-f]{11}$/ },
  { network: 'calico-bgp', agent: { namespace: 'calico-system', label: 'k8s-app=calico-node' }, veth: /^cali[0-9a-f]{11}$/ },
  { network: 'cloud-routed', agent: { namespace: 'kube-system', label: 'k8s-app=aws-node' }, veth: /^eni[0-9a-f]{11}$/ },
  { network: 'cilium', agent: { namespace: 'kube-system', label: 'k8s-app=cilium' }, veth: /^lxc[0-9a-f]{12}$/ },
] as const;

const tcp = (lab: TestLab, from: string, ip: string, port: number): Promise<CommandResult> => lab.exec(from, ['nc', '-z', '-w', '1', ip, String(port)]);

/** The IP of a pod (ns/name). */
async function podIP(lab: TestLab, pod: string): Promise<string> {
  const [ns, name] = pod.split('/') as [string, string];
  return (await lab.kubectl(['get', 'pod', '-n', ns, name, '-o', 'jsonpath={.status.podIP}'])).stdout;
}

/** The network agent's pod on a node (hostNetwork, so exec into it runs in the node's namespace). */
async function agentOn(lab: TestLab, agent: { namespace: string; label: string }, node: string): Promise<string> {
  const r = await lab.kubectl(['get', 'pods', '-n', agent.namespace, '-l', agent.label, '--field-selector', `spec.nodeName=${node}`, '-o', 'jsonpath={.items[0].metadata.name}']);
  expect(r.stdout).not.toBe('');
  return `${agent.namespace}/${r.stdout}`;
}

describe.skipIf(skip).each(NETWORKS)('lab on $network', ({ network, agent, veth }) => {
  let lab: TestLab;
  let upMs = 0;
  beforeAll(async () => {
    const t0 = Date.now();
    lab = await startTestLab(`healthy-${network}`);
    upMs = Date.now() - t0;
  });
  afterAll(async () => lab?.down());

  it('comes up in under 5 s', () => {
    expect(upMs).toBeLessThan(5000);
  });

  it('serves the network\'s system pods as its installer lays them out', async () => {
    const pods = JSON.parse((await lab.kubectl(['get', 'pods', '-A', '-o', 'json'])).stdout) as { items: { metadata: { namespace: string; name: string; labels: Record<string, string> }; spec: { nodeName: string; hostNetwork?: boolean }; status: { phase: string } }[] };
    const [key, value] = agent.label.split('=') as [string, string];
    const agents = pods.items.filter((p) => p.metadata.namespace === agent.namespace && p.metadata.labels[key] === value);
    expect(agents.map((p) => p.spec.nodeName).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    expect(agents.every((p) => p.spec.hostNetwork === true && p.status.phase === 'Running')).toBe(true);
    const ds = await lab.kubectl(['get', 'daemonset', '-n', agent.namespace, agent.label.split('=')[1]!, '-o', 'jsonpath={.status.numberReady}']);
    expect(ds.stdout).toBe('3');
    if (network.startsWith('calico')) {
      const deploys = (await lab.kubectl(['get', 'deployments', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}'])).stdout.split('\n');
      expect(deploys).toEqual(expect.arrayContaining(['tigera-operator/tigera-operator', 'calico-system/calico-typha', 'calico-system/calico-kube-controllers']));
      // calico-kube-controllers runs on the pod network, with an address from a node's block.
      const kc = pods.items.find((p) => p.metadata.labels['k8s-app'] === 'calico-kube-controllers');
      expect(kc?.spec.hostNetwork ?? false).toBe(false);
    } else {
      expect(pods.items.some((p) => p.metadata.namespace === 'calico-system')).toBe(false);
    }
    if (network === 'cilium') {
      const op = await lab.kubectl(['get', 'deployment', '-n', 'kube-system', 'cilium-operator', '-o', 'jsonpath={.status.readyReplicas}']);
      expect(op.stdout).toBe('1');
    }
  });

  it('real kubectl: get -o wide, describe, exec and debug --profile=netadmin work on this network', async () => {
    const ip = await podIP(lab, 'default/client');
    expect((await lab.kubectl(['get', 'pods', '-A', '-o', 'wide'])).stdout).toContain(ip);
    const describe = await lab.kubectl(['describe', 'pod', 'client']);
    expect(describe.code).toBe(0);
    expect(describe.stdout).toMatch(new RegExp(`IP:\\s+${ip.replace(/\./g, '\\.')}`));
    const addr = await lab.exec('default/client', ['ip', '-4', 'addr', 'show', 'eth0']);
    expect(addr.stdout).toContain(`inet ${ip}/32`);
    const dbg = await lab.kubectl(['debug', 'client', '--image=netbox', '--profile=netadmin', '--container=probe', '--', 'sleep', '60'], { timeoutMs: 20_000 });
    expect(dbg.code).toBe(0);
    const inside = await lab.exec('default/client', ['ip', 'route'], 'probe');
    // Cilium's pods route via the node's router address on cilium_host, with the tunnel's route MTU.
    expect(inside.stdout).toMatch(network === 'cilium' ? /^default via 10\.244\.1\.1 dev eth0 mtu 1450/m : /^default via 169\.254\.1\.1 dev eth0/m);
  });

  if (network === 'cilium') {
    it('kubectl exec into the cilium agent: cilium-dbg service list shows every ClusterIP frontend with its ready backends', async () => {
      const pod = await agentOn(lab, agent, 'node-1');
      const r = await lab.exec(pod, ['cilium-dbg', 'service', 'list'], 'cilium-agent');
      expect(r.code).toBe(0);
      const svc = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
      const ips = (await lab.kubectl(['get', 'pods', '-n', 'shop', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.podIP}'])).stdout.split(' ');
      const lines = r.stdout.split('\n');
      expect(lines[0]).toMatch(/^ID {3}Frontend {2,}Service Type {3}Backend$/);
      const row = lines.findIndex((l) => l.includes(` ${svc}:80/TCP `));
      expect(lines[row]).toMatch(new RegExp(`^\\d+ +${svc.replace(/\./g, '\\.')}:80/TCP +ClusterIP +1 => [\\d.]+:8080/TCP \\(active\\)$`));
      const backends = lines.slice(row, row + 3).map((l) => /\d => ([\d.]+):8080\/TCP \(active\)$/.exec(l)?.[1]);
      expect(backends.sort()).toEqual([...ips].sort());
      expect(r.stdout).toMatch(/ 10\.96\.0\.10:53\/UDP +ClusterIP +1 => [\d.]+:53\/UDP \(active\)/);
      // With kube-proxy in place the agent says so.
      expect((await lab.exec(pod, ['cilium-dbg', 'status'], 'cilium-agent')).stdout).toContain('KubeProxyReplacement:    False\n');
    });
  }

  it('healthy: pod to pod (same and other node), DNS + ClusterIP, node to pod', async () => {
    const [web1, web2] = [await podIP(lab, 'shop/web-1'), await podIP(lab, 'shop/web-2')];
    expect((await tcp(lab, 'default/client', web1, 8080)).code).toBe(0); // cross-node
    expect((await tcp(lab, 'default/client', web2, 8080)).code).toBe(0); // same node
    const svc = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    expect((await lab.exec('default/client', ['dig', '+short', '+time=1', '+tries=1', 'web.shop.svc.cluster.local'])).stdout.trim()).toBe(svc);
    expect((await lab.exec('default/client', ['curl', '-s', '-m', '2', 'http://web.shop/'])).stdout).toMatch(/^shop\/web-[123]/);
    const node2 = await agentOn(lab, agent, 'node-2');
    expect((await tcp(lab, node2, web2, 8080)).code).toBe(0); // node-2 to a pod on node-1
    expect((await tcp(lab, node2, web1, 8080)).code).toBe(0); // node-2 to its own pod
    // The agent pod sees the node's own devices: the pod's host veth as the network names it.
    const route = await lab.exec(node2, ['ip', '-4', 'route', 'get', web1]);
    expect(route.stdout.split(/\s+/)[2]).toMatch(veth);
  });
});

describe.skipIf(skip)('lab on cilium with its kube-proxy replacement (serviceProxy: cilium)', () => {
  const agent = { namespace: 'kube-system', label: 'k8s-app=cilium' };
  let lab: TestLab;
  let upMs = 0;
  beforeAll(async () => {
    const t0 = Date.now();
    lab = await startTestLab('healthy-cilium-kpr');
    upMs = Date.now() - t0;
  });
  afterAll(async () => lab?.down());

  it('comes up in under 5 s with no kube-proxy rule anywhere: no KUBE-* chain, no kube-proxy table, on any node', async () => {
    expect(upMs).toBeLessThan(5000);
    for (const node of ['node-1', 'node-2', 'node-3']) {
      const pod = await agentOn(lab, agent, node);
      const rules = await lab.exec(pod, ['iptables-save']);
      expect(rules.code).toBe(0);
      expect(rules.stdout).not.toMatch(/KUBE-/);
      expect(rules.stdout).toContain('cilium-feeder: CILIUM_FORWARD');
      expect((await lab.exec(pod, ['nft', 'list', 'tables'])).stdout).not.toMatch(/kube-proxy/);
    }
  });

  it('translates Services at the pods and the nodes: ClusterIP, a pod to its own Service, DNS, node to ClusterIP', async () => {
    const svc = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    for (let i = 0; i < 6; i++) expect((await tcp(lab, 'default/client', svc, 80)).code).toBe(0);
    for (let i = 0; i < 6; i++) expect((await tcp(lab, 'shop/web-2', svc, 80)).code).toBe(0);
    expect((await lab.exec('default/client', ['dig', '+short', '+time=1', '+tries=1', 'web.shop.svc.cluster.local'])).stdout.trim()).toBe(svc);
    expect((await tcp(lab, await agentOn(lab, agent, 'node-2'), svc, 80)).code).toBe(0);
    const r = await lab.exec(await agentOn(lab, agent, 'node-2'), ['cilium-dbg', 'service', 'list'], 'cilium-agent');
    expect(r.stdout).toContain(` ${svc}:80/TCP `);
  });

  it('cilium-dbg status and bpf lb list in the agent report the replacement and the lab\'s backends', async () => {
    const pod = await agentOn(lab, agent, 'node-1');
    const status = await lab.exec(pod, ['cilium-dbg', 'status'], 'cilium-agent');
    expect(status.stdout).toContain('KubeProxyReplacement:    True   [eth0   172.31.0.11 (Direct Routing)]');
    expect(status.stdout).toContain('Routing:                 Network: Tunnel [vxlan]   Host: Legacy');
    expect(status.stdout).toMatch(/^Cluster health: {10}3\/3 reachable$/m);
    const svc = (await lab.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    const ips = (await lab.kubectl(['get', 'pods', '-n', 'shop', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.podIP}'])).stdout.split(' ');
    const lb = (await lab.exec(pod, ['cilium-dbg', 'bpf', 'lb', 'list'], 'cilium-agent')).stdout;
    const backends = lb.split('\n').filter((l) => l.startsWith(`${svc}:80/TCP (`) && !l.includes(' (0) ')).map((l) => /\s([\d.]+):8080\/TCP /.exec(l)?.[1]);
    expect(backends.sort()).toEqual([...ips].sort());
  });

  it('kube-proxy-rules-missing takes the Service out of that node\'s translation and out of its agent\'s service list', async () => {
    const faulty = await startTestLab('cilium-kpr-kube-proxy-rules-missing');
    try {
      const svc = (await faulty.kubectl(['get', 'svc', '-n', 'shop', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
      expect((await tcp(faulty, 'default/client', svc, 80)).code).not.toBe(0);
      expect((await tcp(faulty, 'default/client', await podIP(faulty, 'shop/web-1'), 8080)).code).toBe(0);
      expect((await tcp(faulty, 'shop/web-1', svc, 80)).code).toBe(0); // node-2 still translates it
      const on1 = await faulty.exec(await agentOn(faulty, agent, 'node-1'), ['cilium-dbg', 'service', 'list'], 'cilium-agent');
      const on2 = await faulty.exec(await agentOn(faulty, agent, 'node-2'), ['cilium-dbg', 'service', 'list'], 'cilium-agent');
      expect(on1.stdout).not.toContain(` ${svc}:80/TCP `);
      expect(on1.stdout).toContain(' 10.96.0.10:53/UDP ');
      expect(on2.stdout).toContain(` ${svc}:80/TCP `);
    } finally {
      await faulty.down();
    }
  });
});

/** What each example fault scenario breaks and what keeps working, observed through kubectl. */
const OBSERVE: Record<string, (lab: TestLab, agent: { namespace: string; label: string }) => Promise<void>> = {
  'ip-forward-off': async (lab, agent) => {
    const web1 = await podIP(lab, 'shop/web-1');
    const node2 = await agentOn(lab, agent, 'node-2');
    expect((await tcp(lab, 'default/client', web1, 8080)).code).not.toBe(0);
    expect((await lab.exec(node2, ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('0');
    // On Calico the pods lose their gateway as well: the kernel answers proxy ARP for 169.254.1.1 only on an interface
    // that forwards. The AWS VPC CNI's permanent neighbor entry needs no ARP, and Cilium's gateway is a node address
    // (answered without proxy ARP), so there the node still reaches its pod.
    expect((await tcp(lab, node2, web1, 8080)).code === 0).toBe(agent.namespace !== 'calico-system');
    expect((await tcp(lab, 'default/client', await podIP(lab, 'shop/web-3'), 8080)).code).toBe(0);
  },
  'forward-policy-drop': async (lab, agent) => {
    const node2 = await agentOn(lab, agent, 'node-2');
    expect((await tcp(lab, 'default/client', await podIP(lab, 'shop/web-1'), 8080)).code).not.toBe(0);
    expect((await lab.exec(node2, ['iptables', '-S', 'FORWARD'])).stdout).toContain('-P FORWARD DROP');
    expect((await tcp(lab, node2, await podIP(lab, 'shop/web-2'), 8080)).code).toBe(0); // node-2's own traffic
  },
  'overlay-blocked': async (lab) => {
    expect((await tcp(lab, 'default/client', await podIP(lab, 'shop/web-1'), 8080)).code).not.toBe(0);
    expect((await tcp(lab, 'default/client', await podIP(lab, 'shop/web-3'), 8080)).code).toBe(0);
  },
  'overlay-lossy': async (lab) => {
    const r = await lab.exec('default/client', ['ping', '-q', '-n', '-c', '50', '-i', '0.01', '-W', '1', await podIP(lab, 'shop/web-1')]);
    const received = Number(/50 packets transmitted, (\d+) received/.exec(r.stdout)?.[1] ?? -1);
    expect(received).toBeLessThan(46);
    expect(received).toBeGreaterThan(10);
  },
  'mtu-mismatch': async (lab) => {
    const client = await podIP(lab, 'default/client');
    const mtu = Number((await lab.exec('shop/web-1', ['cat', '/sys/class/net/eth0/mtu'])).stdout.trim());
    expect(mtu).toBe(1500);
    // No route MTU holds the packet back either (Cilium's default route carries one; the fault raised it to 1500).
    expect((await lab.exec('shop/web-1', ['ip', 'route', 'show', 'default'])).stdout).not.toMatch(/mtu 14\d\d/);
    expect((await lab.exec('shop/web-1', ['ping', '-M', 'do', '-s', '56', '-c', '1', '-W', '1', client])).code).toBe(0);
    const full = await lab.exec('shop/web-1', ['ping', '-M', 'do', '-s', String(mtu - 28), '-c', '1', '-W', '1', client]);
    expect(full.stdout).toMatch(/1 packets transmitted, 0 received, 100% packet loss/);
    expect(`${full.stdout}${full.stderr}`).not.toMatch(/message too long|local error|errors/);
  },
  'neighbor-stale': async (lab, agent) => {
    const web1 = await podIP(lab, 'shop/web-1');
    const node2 = await agentOn(lab, agent, 'node-2');
    expect((await tcp(lab, node2, web1, 8080)).code).not.toBe(0);
    expect((await lab.exec(node2, ['ip', 'neigh', 'show', web1])).stdout).toMatch(/lladdr 02:00:5e:00:de:ad PERMANENT/);
    expect((await tcp(lab, 'default/client', await podIP(lab, 'shop/web-3'), 8080)).code).toBe(0);
  },
  'pod-route-missing': async (lab, agent) => {
    const web1 = await podIP(lab, 'shop/web-1');
    expect((await tcp(lab, 'default/client', web1, 8080)).code).not.toBe(0);
    expect((await tcp(lab, 'default/client', await podIP(lab, 'shop/web-3'), 8080)).code).toBe(0);
    const route = await lab.exec(await agentOn(lab, agent, 'node-1'), ['ip', '-4', 'route', 'get', web1]);
    expect(route.stdout).toMatch(/via 172\.31\.0\.1 dev eth0/);
  },
  'underlay-blocked': async (lab, agent) => {
    const web1 = await podIP(lab, 'shop/web-1');
    expect((await tcp(lab, 'default/client', web1, 8080)).code).not.toBe(0);
    expect((await tcp(lab, 'default/client', await podIP(lab, 'shop/web-3'), 8080)).code).toBe(0);
    expect((await tcp(lab, await agentOn(lab, agent, 'node-2'), web1, 8080)).code).toBe(0);
  },
};

const files = readdirSync(new URL('./scenarios/', import.meta.url)).filter((f) => f.endsWith('.yaml'));
const cases = NETWORKS.flatMap(({ network, agent }) =>
  files.flatMap((f) => {
    const fault = ALL_FAULT_TYPES.find((t) => f === `${network}-${t}.yaml`);
    return fault === undefined ? [] : [{ scenario: f.replace(/\.yaml$/, ''), fault, agent }];
  }),
);

describe.skipIf(skip)('fault catalog on each pod network', () => {
  it('has an example scenario for every fault each network can have', () => {
    expect(cases.map((c) => c.scenario).sort()).toEqual([
      'calico-bgp-forward-policy-drop',
      'calico-bgp-ip-forward-off',
      'calico-bgp-neighbor-stale',
      'calico-bgp-pod-route-missing',
      'calico-bgp-underlay-blocked',
      'calico-vxlan-forward-policy-drop',
      'calico-vxlan-ip-forward-off',
      'calico-vxlan-mtu-mismatch',
      'calico-vxlan-neighbor-stale',
      'calico-vxlan-overlay-blocked',
      'calico-vxlan-overlay-lossy',
      'calico-vxlan-pod-route-missing',
      'cloud-routed-forward-policy-drop',
      'cloud-routed-ip-forward-off',
      'cloud-routed-neighbor-stale',
      'cloud-routed-underlay-blocked',
      'cilium-forward-policy-drop',
      'cilium-ip-forward-off',
      'cilium-mtu-mismatch',
      'cilium-neighbor-stale',
      'cilium-overlay-blocked',
      'cilium-overlay-lossy',
      'cilium-pod-route-missing',
    ].sort());
  });

  it.each(cases)('$scenario: broken as the fault says, the rest still works', async ({ scenario, fault, agent }) => {
    const observe = OBSERVE[fault];
    if (observe === undefined) throw new Error(`no observation for ${fault}`);
    const lab = await startTestLab(scenario);
    try {
      await observe(lab, agent);
    } finally {
      await lab.down();
    }
  });
});
