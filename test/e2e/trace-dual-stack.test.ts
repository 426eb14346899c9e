/**
 * End to end, the hop-by-hop trace of an IPv6 flow (issue 14 on dual-stack): the BUILT executable through the real
 * kubectl with `--trace` on the dual-stack flannel lab with each IPv6-only fault twin (test/e2e/scenarios/
 * dual-stack-ipv6-*.yaml), on dual-stack calico-vxlan (IPv6 overlay blocked, block route missing) and on dual-stack
 * cilium (IPv6 FORWARD drop, routes missing). IPv4 still connects, so the failed IPv6 probe is the one traced, over
 * cni0 and flannel-v6.1 (or the cali veth and vxlan-v6.calico) and the nodes' IPv6 underlay, or inside cilium_vxlan over
 * their IPv4 one; its last hop that saw the SYN and the first that did not must be where the fault is, and
 * no capture is left running. The IPv6 VXLAN filter is also run by tcpdump itself over a real flannel-v6.1 capture.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin, pluginEnv } from './plugin.ts';
import { run, scenarioPath, skipLabSuite, startTestLab, type TestLab } from '../lab/harness.ts';
import { encapsulatedFilter, type TraceFlow } from '../../src/core/trace-plan.ts';

const skip = skipLabSuite('e2e trace dual-stack');

/** A scenario of this suite's own (test/e2e/scenarios/). */
const own = (name: string): string => fileURLToPath(new URL(`./scenarios/${name}.yaml`, import.meta.url));

interface Walk {
  packet?: string;
  lastSeen?: string;
  firstMissing?: string;
}
interface Trace {
  id: string;
  probe: string;
  hops: { id: string; capture: { kind: string; device?: string; reason?: string }; forward: string[]; lines: string[] }[];
  forward: Walk;
  localized?: string;
}
interface Report {
  verdict: { cause: string; family?: string };
  trace?: Trace;
}

/** One IPv6 fault, and where the trace must stop. */
interface Row {
  scenario: string;
  cause: string;
  forward: Walk;
  localized: RegExp;
  /** Where the source pod's SYN goes, as its capture line prints it (the destination pod's port 8080 when absent). */
  synTo?: RegExp;
  /** The probe traced (the pod-IP one when absent). */
  probe?: RegExp;
  /** A hop that cannot be captured here, and why. */
  notCaptured?: { id: string; reason: RegExp };
  /** The hops in path order (flannel's when absent). */
  hops?: (string | RegExp)[];
  /** A shipped lab scenario with this IPv6 fault added (one backend, web-1 on node-2), written to a temporary file. */
  overlay?: { base: string; fault: Record<string, unknown> };
}

const FLANNEL_HOPS: (string | RegExp)[] = [
  'source-pod/eth0',
  /^node-1\/veth:fd00:10:244:1::/,
  'node-1/cni0',
  'node-1/flannel-v6.1',
  'node-1/underlay',
  'node-2/underlay',
  'node-2/flannel-v6.1',
  'node-2/cni0',
  'node-2/veth:fd00:10:244:2::2',
  'destination-pod/eth0',
];
const CALICO_HOPS: (string | RegExp)[] = [
  'source-pod/eth0',
  /^node-1\/veth:fd00:10:244:1::/,
  'node-1/vxlan-v6.calico',
  'node-1/underlay',
  'node-2/underlay',
  'node-2/vxlan-v6.calico',
  /^node-2\/veth:fd00:10:244:2::/,
  'destination-pod/eth0',
];

const CILIUM_HOPS: (string | RegExp)[] = [
  'source-pod/eth0',
  'node-1/veth:fd00:10:244:1::3',
  'node-1/cilium_vxlan',
  'node-1/underlay',
  'node-2/underlay',
  'node-2/cilium_vxlan',
  'node-2/veth:fd00:10:244:2::2',
  'destination-pod/eth0',
];

const rows: Row[] = [
  // ip6tables FORWARD policy DROP on node-2: the decapsulated SYN leaves flannel-v6.1 and is never routed onto cni0.
  {
    scenario: 'dual-stack-ipv6-forward-policy-drop',
    cause: 'NODE_FORWARD_DROP',
    forward: { packet: 'syn', lastSeen: 'node-2/flannel-v6.1', firstMissing: 'node-2/cni0' },
    localized: /inside node-2, between its flannel-v6\.1 and cni0/,
  },
  // flannel-v6.1's VXLAN (UDP 8472 over IPv6) dropped into node-2: seen on node-2's eth0, never on its flannel-v6.1.
  {
    scenario: 'dual-stack-ipv6-overlay-blocked',
    cause: 'OVERLAY_BLOCKED',
    forward: { packet: 'syn', lastSeen: 'node-2/underlay', firstMissing: 'node-2/flannel-v6.1' },
    localized: /inside node-2, between its eth0 and flannel-v6\.1/,
  },
  // node-1 lost its IPv6 route to node-2's pods: the SYN comes up cni0 and never goes down flannel-v6.1.
  {
    scenario: 'dual-stack-ipv6-pod-route-missing',
    cause: 'NODE_ROUTE_MISSING',
    forward: { packet: 'syn', lastSeen: 'node-1/cni0', firstMissing: 'node-1/flannel-v6.1' },
    localized: /inside node-1, between its cni0 and flannel-v6\.1/,
  },
  // node-2's IPv6 neighbor entry for web-1 names a MAC no bridge port has: its port cannot be found, and the SYN leaves
  // cni0 addressed to that MAC, which the pod (capturing only its own frames) never receives.
  {
    scenario: 'dual-stack-ipv6-neighbor-stale',
    cause: 'NODE_NEIGHBOR_STALE',
    forward: { packet: 'syn', lastSeen: 'node-2/cni0', firstMissing: 'destination-pod/eth0' },
    localized: /^SYN leaves node-2's cni0, never reaches the destination pod's eth0: between the pod and node-2$/,
    notCaptured: { id: 'node-2/veth:fd00:10:244:2::2', reason: /no port of cni0 has learnt ([0-9a-f]{2}:){5}[0-9a-f]{2}, the MAC of the node's neighbor entry for fd00:10:244:2::2$/ },
  },
  // No IPv6 DNAT on node-1: the SYN to the IPv6 ClusterIP comes up cni0 and never leaves towards a backend.
  {
    scenario: 'dual-stack-ipv6-kube-proxy-rules-missing',
    cause: 'SERVICE_PROXY_RULES_MISSING',
    probe: /^cluster-ip:fd00:10:96::/,
    synTo: /fd00:10:96::[0-9a-f]+\.80/,
    forward: { packet: 'syn', lastSeen: 'node-1/cni0', firstMissing: 'node-1/flannel-v6.1' },
    localized: /inside node-1, between its cni0 and flannel-v6\.1/,
  },
  // calico-vxlan: vxlan-v6.calico (UDP 4789 over IPv6) dropped into node-2.
  {
    scenario: 'dual-stack-calico-vxlan-ipv6-overlay-blocked',
    overlay: { base: 'dual-stack-calico-vxlan', fault: { type: 'overlay-blocked', node: 'node-2', family: 'IPv6' } },
    cause: 'OVERLAY_BLOCKED',
    forward: { packet: 'syn', lastSeen: 'node-2/underlay', firstMissing: 'node-2/vxlan-v6.calico' },
    localized: /inside node-2, between its eth0 and vxlan-v6\.calico/,
    hops: CALICO_HOPS,
  },
  // calico-vxlan: node-1 lost its IPv6 block route to node-2: the SYN leaves the pod's cali veth and never goes down the tunnel.
  {
    scenario: 'dual-stack-calico-vxlan-ipv6-pod-route-missing',
    overlay: { base: 'dual-stack-calico-vxlan', fault: { type: 'pod-route-missing', node: 'node-1', toNode: 'node-2', family: 'IPv6' } },
    cause: 'NODE_ROUTE_MISSING',
    forward: { packet: 'syn', lastSeen: expect.stringMatching(/^node-1\/veth:fd00:10:244:1::/) as unknown as string, firstMissing: 'node-1/vxlan-v6.calico' },
    localized: /inside node-1, between its cali[0-9a-f]+ and vxlan-v6\.calico/,
    hops: CALICO_HOPS,
  },
  // cilium: IPv6 inside cilium_vxlan over the nodes' IPv4 addresses (the underlay hops match the inner IPv6 header
  // from UDP); ip6tables FORWARD DROP on node-2: decapsulated, never handed to the pod's lxc port.
  {
    scenario: 'dual-stack-cilium-ipv6-forward-policy-drop',
    overlay: { base: 'dual-stack-cilium', fault: { type: 'forward-policy-drop', node: 'node-2', family: 'IPv6' } },
    cause: 'NODE_FORWARD_DROP',
    forward: { packet: 'syn', lastSeen: 'node-2/cilium_vxlan', firstMissing: 'node-2/veth:fd00:10:244:2::2' },
    localized: /inside node-2, between its cilium_vxlan and lxc[0-9a-f]+/,
    hops: CILIUM_HOPS,
  },
  // cilium: node-1 lost its IPv6 routes to node-2's pods: the SYN comes in the pod's lxc port, never goes into cilium_vxlan.
  {
    scenario: 'dual-stack-cilium-ipv6-pod-route-missing',
    overlay: { base: 'dual-stack-cilium', fault: { type: 'pod-route-missing', node: 'node-1', toNode: 'node-2', family: 'IPv6' } },
    cause: 'NODE_ROUTE_MISSING',
    forward: { packet: 'syn', lastSeen: 'node-1/veth:fd00:10:244:1::3', firstMissing: 'node-1/cilium_vxlan' },
    localized: /inside node-1, between its lxc[0-9a-f]+ and cilium_vxlan/,
    hops: CILIUM_HOPS,
  },
];

/** The scenario file a row starts: its own, or the base lab scenario with the fault added and web-2 left out. */
function scenarioOf(row: Row, dir: string): string {
  if (!row.overlay) return own(row.scenario);
  const doc = parse(readFileSync(scenarioPath(row.overlay.base), 'utf8')) as { metadata: { name: string }; spec: { pods: { name: string }[]; faults?: unknown[] } };
  doc.metadata.name = row.scenario;
  doc.spec.pods = doc.spec.pods.filter((p) => p.name !== 'web-2');
  doc.spec.faults = [...(doc.spec.faults ?? []), row.overlay.fault];
  const path = join(dir, `${row.scenario}.yaml`);
  writeFileSync(path, stringify(doc));
  return path;
}
async function traced(lab: TestLab): Promise<{ report: Report; stderr: string }> {
  const env = pluginEnv(lab.kubeconfig, { NO_COLOR: '1' });
  const res = await run('kubectl', ['netdebug', 'default/client', 'shop/svc/web', '--trace', '-o', 'json'], { env, timeoutMs: 120_000 });
  return { report: JSON.parse(res.stdout) as Report, stderr: res.stderr };
}

describe.skipIf(skip)('kubectl netdebug --trace end to end on dual-stack flannel (IPv6 faults)', () => {
  beforeAll(buildPlugin, 120_000);

  it.each(rows)('$scenario: the IPv6 trace stops where the fault is', async (row) => {
    const dir = mkdtempSync(join(tmpdir(), 'netdebug-trace6-'));
    const lab = await startTestLab(scenarioOf(row, dir));
    try {
      const { report, stderr } = await traced(lab);
      const t = report.trace;
      expect(t, stderr).toBeDefined();
      if (!t) return;
      expect(report.verdict.cause, stderr).toBe(row.cause);
      expect(report.verdict.family).toBe('IPv6');
      // The failed IPv6 probe is the one traced (IPv4 connects), from the pod's IPv6 address.
      expect(t.probe).toMatch(row.probe ?? /^pod-ip:fd00:10:244:2::/);
      expect(t.forward, JSON.stringify(t.hops, null, 1)).toEqual(row.forward);
      expect(t.localized ?? '').toMatch(row.localized);
      const hops = row.hops ?? FLANNEL_HOPS;
      expect(t.hops.map((h) => h.id)).toEqual(hops.map((h) => (typeof h === 'string' ? h : expect.stringMatching(h))));
      expect(t.hops[0]).toMatchObject({ capture: { kind: 'captured', device: 'eth0' } });
      const synTo = (row.synTo ?? /fd00:10:244:2::[0-9a-f]+\.8080/).source;
      expect(t.hops[0]?.lines.join('\n')).toMatch(new RegExp(`ethertype IPv6 .* fd00:10:244:1::[0-9a-f]+\\.\\d+ > ${synTo}: Flags \\[S\\]`));
      if (row.notCaptured) {
        const hop = t.hops.find((h) => h.id === row.notCaptured?.id);
        expect(hop?.capture.kind).toBe('not-captured');
        expect(hop?.capture.reason).toMatch(row.notCaptured.reason);
      }
      // Every hop up to the fault captured: the IPv6 tunnel device and the IPv6 underlay exist and were found.
      for (const h of t.hops.slice(0, t.hops.findIndex((x) => x.id === t.forward.firstMissing) + 1)) if (h.id !== row.notCaptured?.id) expect(h.capture.kind, h.id).toBe('captured');
      // Nothing of the trace is left.
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
      expect(left).toMatchObject({ code: 0, stdout: '' });
      const tcpdumps = await run('sh', ['-c', `for ns in $(ip netns list | awk '{print $1}' | grep '^nd${lab.rec.labId}-'); do ip netns pids "$ns"; done | xargs -r -n1 sh -c 'cat /proc/$0/comm 2>/dev/null' | grep -c '^tcpdump$' || true`]);
      expect(tcpdumps.stdout.trim()).toBe('0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await lab.down();
    }
  });

  it("the IPv6 VXLAN filter, run by tcpdump over a real flannel-v6.1 underlay capture, keeps the flow's packets and only them", async () => {
    const pcap = fileURLToPath(new URL('../unit/trace-fixtures/dual-stack-v6-node-1_underlay.pcap', import.meta.url));
    const flow: TraceFlow = { protocol: 'TCP', source: 'fd00:10:244:1::3', destination: { ip: 'fd00:10:244:2::2', port: 8080 }, translated: [] };
    const count = async (filter: string): Promise<number> => {
      const r = await run('tcpdump', ['-nn', '-tt', '-r', pcap, filter]);
      expect(r.code, r.stderr).toBe(0);
      // One packet per timestamped line (tcpdump prints the VXLAN packet's inner frame on a line of its own).
      return r.stdout.split('\n').filter((l) => /^\d+\.\d+ /.test(l)).length;
    };
    expect(await count('')).toBe(6);
    expect(await count(encapsulatedFilter(flow, 8472, 'IPv6'))).toBe(6);
    expect(await count(encapsulatedFilter({ ...flow, source: 'fd00:10:244:1::4' }, 8472, 'IPv6'))).toBe(0);
    expect(await count(encapsulatedFilter(flow, 4789, 'IPv6'))).toBe(0);
  });
});
