/**
 * The real-kernel data plane, built directly (no API server): two nodes, pods, Services, DNS, and every fault applied,
 * observed broken next to a check that still passes, reverted and observed fixed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeNet, PodNet, ScenarioFault } from './model.ts';
import { getPodMAC, planNodeNet } from './dataplane/addressing.ts';
import { Dataplane } from './dataplane/dataplane.ts';
import type { ServiceRules } from './dataplane/kube-proxy.ts';
import { CommandError, createExecRunner, inNetns } from './dataplane/runner.ts';

const canRunLab = process.platform === 'linux' && process.getuid?.() === 0;
if (!canRunLab) {
  if (process.env.CI === 'true') throw new Error('dataplane.test.ts needs root on Linux in CI');
  console.warn('\n!!! SKIPPING dataplane.test.ts: it needs root on Linux (network namespaces) !!!\n');
}

const runner = createExecRunner();
const labId = `dp${process.pid.toString(36)}`;
const prefix = `nd${labId}-`;
const RESOLV = 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n';

/** True when `nc -z` from netns reaches ip:port within 1 s. */
async function canConnect(netns: string, ip: string, port: number): Promise<boolean> {
  const r = await runner.run(inNetns(netns, ['nc', '-z', '-w', '1', ip, String(port)]), { allowFailure: true });
  return r.code === 0;
}

/** True when one ping of the given payload size (don't fragment) from netns gets an answer within 1 s. */
async function canPing(netns: string, ip: string, size = 56): Promise<boolean> {
  const r = await runner.run(inNetns(netns, ['ping', '-n', '-q', '-c', '1', '-W', '1', '-M', 'do', '-s', String(size), ip]), { allowFailure: true });
  return r.code === 0;
}

/** True when all of 50 quick pings (10 ms apart) from netns to ip are answered. */
async function burstAllAnswered(netns: string, ip: string): Promise<boolean> {
  const r = await runner.run(inNetns(netns, ['ping', '-q', '-n', '-c', '50', '-i', '0.01', '-W', '1', ip]), { allowFailure: true });
  return /50 packets transmitted, 50 received/.test(r.stdout);
}

/** The A records dig (using the namespace's resolv.conf, i.e. the kube-dns ClusterIP) returns for name. */
async function resolve(netns: string, name: string): Promise<string[]> {
  const r = await runner.run(inNetns(netns, ['dig', '+short', '+time=1', '+tries=1', name]), { allowFailure: true });
  return r.code === 0 ? r.stdout.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l)) : [];
}

/** True when all of 20 lookups of name from netns, sent at once, are answered (each `dig +time=2 +tries=1`). */
async function allLookupsAnswered(netns: string, name: string): Promise<boolean> {
  const script = `for i in $(seq 20); do (dig +short +time=2 +tries=1 ${name} >/dev/null 2>&1; echo "rc=$?") & done; wait`;
  const r = await runner.run(inNetns(netns, ['sh', '-c', script]), { allowFailure: true });
  const codes = r.stdout.split('\n').filter((l) => l.startsWith('rc='));
  return codes.length === 20 && codes.every((c) => c === 'rc=0');
}

async function readMtu(netns: string, dev: string): Promise<number> {
  const r = await runner.run(inNetns(netns, ['cat', `/sys/class/net/${dev}/mtu`]));
  return Number(r.stdout.trim());
}

describe.skipIf(!canRunLab)('Dataplane on the real kernel', () => {
  let stateDir = '';
  let dp: Dataplane;
  let n1: NodeNet;
  let n2: NodeNet;
  const pods: Record<string, PodNet> = {};
  let services: ServiceRules[] = [];
  let dnsReady = true;

  function renderServices(): ServiceRules[] {
    const ep = (p: PodNet, ready = true) => ({ ip: p.ip, ready, ports: { http: 8080 } });
    return [
      { namespace: 'default', name: 'local', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [ep(pods.a2!)] },
      { namespace: 'default', name: 'remote', clusterIP: '10.96.0.21', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [ep(pods.b1!)] },
      { namespace: 'default', name: 'self', clusterIP: '10.96.0.22', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [ep(pods.a1!)] },
      {
        namespace: 'default',
        name: 'both',
        clusterIP: '10.96.0.24',
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
        endpoints: [ep(pods.a2!), ep(pods.b1!)],
      },
      { namespace: 'default', name: 'empty', clusterIP: '10.96.0.23', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [ep(pods.b1!, false)] },
      {
        namespace: 'kube-system',
        name: 'kube-dns',
        clusterIP: '10.96.0.10',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
        endpoints: [{ ip: pods.dns!.ip, ready: dnsReady, ports: { dns: 53, 'dns-tcp': 53 } }],
      },
    ];
  }

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndlab-dp-'));
    dp = new Dataplane({ labId, runner, stateDir });
    const started = Date.now();
    n1 = planNodeNet(labId, { name: 'node-1', index: 1, podCIDR: '10.244.1.0/24' });
    n2 = planNodeNet(labId, { name: 'node-2', index: 2, podCIDR: '10.244.2.0/24' });
    await dp.createUnderlay();
    await Promise.all([dp.addNode(n1), dp.addNode(n2)]);
    await dp.connectNodes([n1, n2]);
    const specs = [
      { key: 'default/a1', node: 'node-1', ip: '10.244.1.10' },
      { key: 'default/a2', node: 'node-1', ip: '10.244.1.11' },
      { key: 'default/b1', node: 'node-2', ip: '10.244.2.10' },
      { key: 'kube-system/dns', node: 'node-2', ip: '10.244.2.53' },
    ];
    const added = await Promise.all(specs.map((s) => dp.addPod({ ...s, hostNetwork: false }, { resolvConf: RESOLV })));
    for (const p of added) pods[p.key.split('/')[1]!] = p;
    pods.host1 = await dp.addPod({ key: 'default/host1', node: 'node-1', ip: '', hostNetwork: true }, { resolvConf: RESOLV });
    await Promise.all([pods.a1!, pods.a2!, pods.b1!].map((p) => dp.startResponder(p, 8080)));
    await dp.startDnsServer(pods.dns!, [
      { name: 'local.default.svc.cluster.local', ips: ['10.96.0.20'] },
      { name: 'remote.default.svc.cluster.local', ips: ['10.96.0.21'] },
    ]);
    services = renderServices();
    await dp.applyServiceRulesEverywhere(services);
    console.log(`lab of 2 nodes, 5 pods, 4 responders, dnsmasq, 5 services built in ${Date.now() - started} ms`);
  });

  afterAll(async () => {
    await dp?.teardown();
    const left = (await runner.run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(prefix));
    const etc = fs.existsSync('/etc/netns') ? fs.readdirSync('/etc/netns').filter((d) => d.startsWith(prefix)) : [];
    fs.rmSync(stateDir, { recursive: true, force: true });
    expect(left).toEqual([]);
    expect(etc).toEqual([]);
  });

  describe('a healthy lab', () => {
    it.each([
      { name: 'same-node pod to pod', from: () => pods.a1!.netns, to: () => pods.a2!.ip, port: 8080 },
      { name: 'cross-node pod to pod', from: () => pods.a1!.netns, to: () => pods.b1!.ip, port: 8080 },
      { name: 'node to its local pod', from: () => n1.netns, to: () => pods.a1!.ip, port: 8080 },
      { name: 'node to a remote pod', from: () => n1.netns, to: () => pods.b1!.ip, port: 8080 },
      { name: 'pod to ClusterIP with a same-node backend', from: () => pods.a1!.netns, to: () => '10.96.0.20', port: 80 },
      { name: 'pod to ClusterIP with a remote backend', from: () => pods.a1!.netns, to: () => '10.96.0.21', port: 80 },
      { name: 'hairpin: pod to its own Service', from: () => pods.a1!.netns, to: () => '10.96.0.22', port: 80 },
      { name: 'node (hostNetwork) to a ClusterIP', from: () => pods.host1!.netns, to: () => '10.96.0.21', port: 80 },
      { name: 'pod to kube-dns ClusterIP over TCP', from: () => pods.b1!.netns, to: () => '10.96.0.10', port: 53 },
    ])('$name', async ({ from, to, port }) => {
      expect(await canConnect(from(), to(), port)).toBe(true);
    });

    it('the responder answers HTTP with its pod key, through the ClusterIP', async () => {
      const r = await runner.run(inNetns(pods.a1!.netns, ['curl', '-s', '--max-time', '2', 'http://10.96.0.21/']));
      expect(r.stdout.trim()).toBe('default/b1');
    });

    it('balances a ClusterIP over its ready endpoints at random', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 24 && seen.size < 2; i++) {
        seen.add((await runner.run(inNetns(pods.a1!.netns, ['curl', '-s', '--max-time', '2', 'http://10.96.0.24/']))).stdout.trim());
      }
      expect([...seen].sort()).toEqual(['default/a2', 'default/b1']);
    });

    it('a UDP responder echoes datagrams', async () => {
      await dp.startResponder(pods.b1!, 5353, 'UDP');
      const r = await runner.run(inNetns(pods.a1!.netns, ['nc', '-u', '-w', '1', pods.b1!.ip, '5353']), { input: 'ping-udp\n' });
      expect(r.stdout).toBe('ping-udp\n');
    });

    it("a pod's eth0 has the MAC derived from its IP (0a:58 + the address)", async () => {
      const r = await runner.run(inNetns(pods.a1!.netns, ['cat', '/sys/class/net/eth0/address']));
      expect(r.stdout.trim()).toBe(getPodMAC(pods.a1!.ip));
    });

    it('a hostNetwork pod uses its node namespace and address', () => {
      expect(pods.host1).toMatchObject({ netns: n1.netns, ip: n1.underlayIP });
    });

    it('a ClusterIP without ready endpoints is rejected at once (icmp port unreachable), not timed out', async () => {
      const t = Date.now();
      expect(await canConnect(pods.a1!.netns, '10.96.0.23', 80)).toBe(false);
      expect(Date.now() - t).toBeLessThan(500);
    });

    it('DNS: dig via the kube-dns ClusterIP resolves Service names, and record updates are served', async () => {
      expect(await resolve(pods.a1!.netns, 'remote.default.svc.cluster.local')).toEqual(['10.96.0.21']);
      await dp.updateDnsRecords([
        { name: 'remote.default.svc.cluster.local', ips: ['10.96.0.21'] },
        { name: 'headless.default.svc.cluster.local', ips: ['10.244.1.10', '10.244.2.10'] },
      ]);
      await expect.poll(async () => (await resolve(pods.a1!.netns, 'headless.default.svc.cluster.local')).sort()).toEqual(['10.244.1.10', '10.244.2.10']);
      expect(await resolve(pods.a1!.netns, 'local.default.svc.cluster.local')).toEqual([]);
    });

    it('re-applying Service rules replaces the previous KUBE-* content and keeps foreign rules', async () => {
      await runner.run(inNetns(n1.netns, ['iptables', '-N', 'NETPOL-TEST']));
      await runner.run(inNetns(n1.netns, ['iptables', '-A', 'FORWARD', '-j', 'NETPOL-TEST']));
      const without = services.filter((s) => s.name !== 'remote');
      await dp.applyServiceRules(n1, without);
      expect(await canConnect(pods.a1!.netns, '10.96.0.21', 80)).toBe(false);
      await dp.applyServiceRules(n1, services);
      expect(await canConnect(pods.a1!.netns, '10.96.0.21', 80)).toBe(true);
      const saved = (await runner.run(inNetns(n1.netns, ['iptables-save']))).stdout;
      expect(saved).toContain('-A FORWARD -j NETPOL-TEST');
      expect(saved.match(/^:KUBE-SVC-/gm)?.length).toBe(6);
      await runner.run(inNetns(n1.netns, ['iptables', '-D', 'FORWARD', '-j', 'NETPOL-TEST']));
      await runner.run(inNetns(n1.netns, ['iptables', '-X', 'NETPOL-TEST']));
    });
  });

  describe('faults', () => {
    interface FaultCase {
      name: string;
      fault: () => ScenarioFault;
      /** Passes when healthy, fails under the fault. */
      check: () => Promise<boolean>;
      /** Keeps passing under the fault (shows the fault is that narrow). */
      control: () => Promise<boolean>;
      /** For faults whose effect needs the caller (API readiness), done after applyFault / before revertFault. */
      caller?: (on: boolean) => Promise<void>;
    }
    const cases: FaultCase[] = [
      {
        name: 'ip-forward-off: cross-node pod traffic fails, the node still reaches its local pod',
        fault: () => ({ type: 'ip-forward-off', node: 'node-2' }),
        check: () => canConnect(pods.a1!.netns, pods.b1!.ip, 8080),
        control: () => canConnect(n2.netns, pods.b1!.ip, 8080),
      },
      {
        name: 'forward-policy-drop: cross-node pod traffic fails, the node still reaches its local pod',
        fault: () => ({ type: 'forward-policy-drop', node: 'node-2' }),
        check: () => canConnect(pods.a1!.netns, pods.b1!.ip, 8080),
        control: () => canConnect(n2.netns, pods.b1!.ip, 8080),
      },
      {
        name: 'overlay-blocked: traffic into node-2 over VXLAN fails, same-node traffic works',
        fault: () => ({ type: 'overlay-blocked', node: 'node-2' }),
        check: () => canConnect(pods.a1!.netns, pods.b1!.ip, 8080),
        control: () => canConnect(pods.a1!.netns, pods.a2!.ip, 8080),
      },
      {
        name: 'pod-route-missing: node-1 cannot reach node-2 pods, same-node traffic works',
        fault: () => ({ type: 'pod-route-missing', node: 'node-1', toNode: 'node-2' }),
        check: () => canConnect(pods.a1!.netns, pods.b1!.ip, 8080),
        control: () => canConnect(pods.a1!.netns, pods.a2!.ip, 8080),
      },
      {
        name: 'kube-proxy-rules-missing (all): the ClusterIP fails while the PodIP works',
        fault: () => ({ type: 'kube-proxy-rules-missing', node: 'node-1' }),
        check: () => canConnect(pods.a1!.netns, '10.96.0.21', 80),
        control: () => canConnect(pods.a1!.netns, pods.b1!.ip, 8080),
      },
      {
        name: 'kube-proxy-rules-missing (one service): that ClusterIP fails, another still works',
        fault: () => ({ type: 'kube-proxy-rules-missing', node: 'node-1', service: 'default/remote' }),
        check: () => canConnect(pods.a1!.netns, '10.96.0.21', 80),
        control: () => canConnect(pods.a1!.netns, '10.96.0.20', 80),
      },
      {
        name: 'bridge-nf-off: a ClusterIP with a same-node backend fails, the PodIP works',
        fault: () => ({ type: 'bridge-nf-off', node: 'node-1' }),
        check: () => canConnect(pods.a1!.netns, '10.96.0.20', 80),
        control: () => canConnect(pods.a1!.netns, pods.a2!.ip, 8080),
      },
      {
        name: 'dns-server-down: names stop resolving, the DNS pod address still answers ping',
        fault: () => ({ type: 'dns-server-down' }),
        check: async () => (await resolve(pods.a1!.netns, 'remote.default.svc.cluster.local')).length === 1,
        control: () => canPing(pods.a1!.netns, pods.dns!.ip),
      },
      {
        name: 'dns-no-endpoints: with the DNS pod not ready (caller re-renders) kube-dns is rejected, dnsmasq still answers on the pod IP',
        fault: () => ({ type: 'dns-no-endpoints' }),
        check: async () => (await resolve(pods.a1!.netns, 'remote.default.svc.cluster.local')).length === 1,
        control: () => canConnect(pods.a1!.netns, pods.dns!.ip, 53),
        caller: async (on) => {
          dnsReady = !on;
          services = renderServices();
          await dp.applyServiceRulesEverywhere(services);
        },
      },
      {
        name: 'app-not-listening: the pod port refuses, the pod still answers ping',
        fault: () => ({ type: 'app-not-listening', pod: 'default/b1', port: 8080 }),
        check: () => canConnect(pods.a1!.netns, pods.b1!.ip, 8080),
        control: () => canPing(pods.a1!.netns, pods.b1!.ip),
      },
      {
        name: 'mtu-mismatch: full-size DF pings across the overlay fail, small ones pass',
        fault: () => ({ type: 'mtu-mismatch', node: 'node-1' }),
        check: async () => canPing(pods.a1!.netns, pods.b1!.ip, (await readMtu(pods.a1!.netns, 'eth0')) - 28),
        control: () => canPing(pods.a1!.netns, pods.b1!.ip),
      },
      {
        name: 'overlay-lossy: a burst of pings into node-2 over VXLAN loses packets, same-node traffic loses none',
        fault: () => ({ type: 'overlay-lossy', node: 'node-2', percent: 30 }),
        check: () => burstAllAnswered(pods.a1!.netns, pods.b1!.ip),
        control: () => burstAllAnswered(pods.a1!.netns, pods.a2!.ip),
      },
      {
        // Half the DNS packets on node-1: a lookup from a1 passes only a quarter of the time, so of 20 some fail.
        name: 'dns-lossy: lookups from a pod on node-1 fail now and then, those from node-2 (the DNS pod\'s node) all answer',
        fault: () => ({ type: 'dns-lossy', node: 'node-1', percent: 50 }),
        check: () => allLookupsAnswered(pods.a1!.netns, 'remote.default.svc.cluster.local'),
        control: () => allLookupsAnswered(pods.b1!.netns, 'remote.default.svc.cluster.local'),
      },
      {
        name: 'hairpin-off: the pod cannot reach its own Service, another pod still can',
        fault: () => ({ type: 'hairpin-off', pod: 'default/a1' }),
        check: () => canConnect(pods.a1!.netns, '10.96.0.22', 80),
        control: () => canConnect(pods.a2!.netns, '10.96.0.22', 80),
      },
      {
        name: 'neighbor-stale: the node cannot reach the pod, a same-node pod still can',
        fault: () => ({ type: 'neighbor-stale', node: 'node-1', pod: 'default/a2' }),
        check: () => canConnect(n1.netns, pods.a2!.ip, 8080),
        control: () => canConnect(pods.a1!.netns, pods.a2!.ip, 8080),
      },
    ];

    it.each(cases)('$name', async ({ fault, check, control, caller }) => {
      expect(await check()).toBe(true);
      expect(await control()).toBe(true);
      await dp.applyFault(fault());
      await caller?.(true);
      expect(await check()).toBe(false);
      expect(await control()).toBe(true);
      await dp.revertFault(fault());
      await caller?.(false);
      expect(await check()).toBe(true);
    });

    it('kube-proxy-rules-missing survives the caller re-applying Service rules until reverted', async () => {
      const f: ScenarioFault = { type: 'kube-proxy-rules-missing', node: 'node-1', service: 'default/remote' };
      await dp.applyFault(f);
      try {
        await dp.applyServiceRules(n1, services);
        expect(await canConnect(pods.a1!.netns, '10.96.0.21', 80)).toBe(false);
        expect(await canConnect(pods.b1!.netns, '10.96.0.21', 80)).toBe(true);
      } finally {
        await dp.revertFault(f);
      }
      expect(await canConnect(pods.a1!.netns, '10.96.0.21', 80)).toBe(true);
    });

    it('neighbor-stale also breaks cross-node traffic to the pod', async () => {
      const f: ScenarioFault = { type: 'neighbor-stale', node: 'node-1', pod: 'default/a2' };
      await dp.applyFault(f);
      try {
        expect(await canConnect(pods.b1!.netns, pods.a2!.ip, 8080)).toBe(false);
      } finally {
        await dp.revertFault(f);
      }
      expect(await canConnect(pods.b1!.netns, pods.a2!.ip, 8080)).toBe(true);
    });

    it('mtu-mismatch: the pod MTU reads 1500 under the fault and 1450 after revert', async () => {
      const f: ScenarioFault = { type: 'mtu-mismatch', node: 'node-1' };
      await dp.applyFault(f);
      expect(await readMtu(pods.a1!.netns, 'eth0')).toBe(1500);
      await dp.revertFault(f);
      expect(await readMtu(pods.a1!.netns, 'eth0')).toBe(1450);
    });

    it('an unknown pod in a fault is a clear error', async () => {
      await expect(dp.applyFault({ type: 'app-not-listening', pod: 'default/nope' })).rejects.toThrow(/unknown pod "default\/nope"/);
    });
  });

  describe('processes and pods', () => {
    it('removePod deletes the namespace, its /etc/netns dir and its responder', async () => {
      const p = await dp.addPod({ key: 'default/tmp', node: 'node-2', ip: '10.244.2.99', hostNetwork: false }, { resolvConf: RESOLV });
      const h = await dp.startResponder(p, 9090);
      expect(fs.existsSync(`/etc/netns/${p.netns}/resolv.conf`)).toBe(true);
      expect(await canConnect(pods.a1!.netns, p.ip, 9090)).toBe(true);
      await dp.removePod(p);
      expect((await runner.run(['ip', 'netns', 'list'])).stdout).not.toContain(`${p.netns} `);
      expect(fs.existsSync(`/etc/netns/${p.netns}`)).toBe(false);
      expect(fs.existsSync(`/proc/${h.pid}`)).toBe(false);
    });

    it('teardownByState ends recorded processes and namespaces from another Dataplane instance', async () => {
      const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndlab-dp2-'));
      const other = new Dataplane({ labId: `${labId}x`, runner, stateDir: otherDir });
      await other.createUnderlay();
      const child = other.spawnIn(other.underlayNetns, ['sleep', '60'], { role: 'sleeper' });
      await Dataplane.teardownByState(otherDir, runner);
      await expect.poll(() => fs.existsSync(`/proc/${child.pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8'))).toBe(false);
      expect((await runner.run(['ip', 'netns', 'list'])).stdout).not.toContain(`nd${labId}x-`);
      await Dataplane.teardownByState(otherDir, runner);
      fs.rmSync(otherDir, { recursive: true, force: true });
    });

    it('a failing command reports argv, exit code and stderr', async () => {
      const err = await runner.run(['ip', '-n', `${prefix}nope`, 'link']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CommandError);
      expect((err as CommandError).exitCode).not.toBe(0);
      expect((err as CommandError).message).toMatch(/ip -n nd\w+-nope link/);
      expect((err as CommandError).stderr).toMatch(/No such file|Cannot open/);
    });
  });
});
