/**
 * End to end, the hop-by-hop trace on every other pod network of the lab (issue 14; flannel is test/e2e/trace.test.ts):
 * `--trace` on each fault the network can have on the path, and the trace's last hop that saw the request and the first
 * that did not must be where the fault is. Hop ids are compared with the pod's address left out of the veth's
 * (`node-2/veth:192.168.149.130` reads `node-2/veth`), since each network numbers its pods its own way.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { buildPlugin, pluginEnv } from './plugin.ts';
import { run, scenarioPath, skipLabSuite, startTestLab } from '../lab/harness.ts';

const skip = skipLabSuite('e2e trace on each network');

interface Walk {
  packet?: string;
  lastSeen?: string;
  firstMissing?: string;
}
interface Report {
  verdict: { cause: string; evidence: string[] };
  trace?: { id: string; probe: string; flow: { destination: { ip: string; port: number } }; forward: Walk; reverse: Walk; localized?: string; hops: { id: string; capture: { kind: string }; lines: string[] }[] };
}

interface Row {
  scenario: string;
  cause: string;
  forward: Walk;
  reverse?: Walk;
  /** The probe traced (default: a pod-ip one). */
  probe?: RegExp;
  /** The last hop of the path (default: the destination pod's eth0). */
  last?: string;
  /**
   * A scenario built from another one with this network's cluster block overlaid (and a fault added), as
   * test/e2e/diagnose-matrix.test.ts builds its cases: for the faults no `<network>-<fault>.yaml` ships.
   */
  overlay?: { base: string; network: Network; add?: Record<string, unknown> };
  /** The SYN the last hop saw is still addressed to the ClusterIP (no DNAT on the way). */
  untranslated?: boolean;
  /** What the trace's sentence must say. */
  localized?: RegExp;
}

type Network = 'calico-vxlan' | 'calico-bgp' | 'cilium' | 'cloud-routed';
const TUNNEL: Record<Network, string | undefined> = { 'calico-vxlan': 'vxlan.calico', cilium: 'cilium_vxlan', 'calico-bgp': undefined, 'cloud-routed': undefined };

/** The rows of one network: each fault it can have on the path, and where the trace must stop. */
function rowsOf(network: Network): Row[] {
  const tunnel = TUNNEL[network];
  // Into node-2, the last device before the pod's veth: the tunnel on an overlay, the underlay otherwise.
  const arrival = tunnel ? `node-2/${tunnel}` : 'node-2/underlay';
  const rows: Row[] = [
    { scenario: `${network}-forward-policy-drop`, cause: 'NODE_FORWARD_DROP', forward: { packet: 'syn', lastSeen: arrival, firstMissing: 'node-2/veth' }, reverse: {} },
    { scenario: `${network}-ip-forward-off`, cause: 'NODE_IP_FORWARD_DISABLED', forward: { packet: 'syn', lastSeen: arrival, firstMissing: 'node-2/veth' }, reverse: {} },
    // A wrong permanent neighbor entry on the pod's routed veth: the SYN goes down the veth to a MAC the pod (capturing
    // only its own frames) does not have.
    { scenario: `${network}-neighbor-stale`, cause: 'NODE_NEIGHBOR_STALE', forward: { packet: 'syn', lastSeen: 'node-2/veth', firstMissing: 'destination-pod/eth0' }, reverse: {} },
  ];
  if (tunnel) {
    rows.push({ scenario: `${network}-overlay-blocked`, cause: 'OVERLAY_BLOCKED', forward: { packet: 'syn', lastSeen: 'node-2/underlay', firstMissing: `node-2/${tunnel}` }, reverse: {} });
    rows.push({ scenario: `${network}-pod-route-missing`, cause: 'NODE_ROUTE_MISSING', forward: { packet: 'syn', lastSeen: 'node-1/veth', firstMissing: `node-1/${tunnel}` } });
    // The handshake's small packets pass every hop: the failed path-MTU check's full-size ping from node-2 (whose overlay
    // MTU exceeds the path) to the client is traced, and the underlay drops it between node-2's eth0 and node-1's.
    rows.push({
      scenario: `${network}-mtu-mismatch`,
      cause: 'PATH_MTU_MISMATCH',
      probe: /^node-checks:node-2:mtu:/,
      forward: { packet: 'icmp-echo', lastSeen: 'node-2/underlay', firstMissing: 'node-1/underlay' },
      reverse: {},
      last: 'source-pod/eth0',
    });
  } else {
    rows.push({ scenario: `${network}-underlay-blocked`, cause: 'UNDERLAY_BLOCKED', forward: { packet: 'syn', lastSeen: 'node-1/underlay', firstMissing: 'node-2/underlay' }, reverse: {} });
    if (network === 'calico-bgp') rows.push({ scenario: `${network}-pod-route-missing`, cause: 'NODE_ROUTE_MISSING', forward: { packet: 'syn', lastSeen: 'node-1/veth', firstMissing: 'node-1/underlay' } });
  }
  // The policy on web admits only shop's pods: the node of the pod traced drops the SYN on its way into the pod's veth.
  rows.push({ scenario: `${network}-network-policy-deny`, overlay: { base: 'network-policy-deny', network }, cause: 'NETWORK_POLICY_DENY', forward: { packet: 'syn', lastSeen: arrival, firstMissing: 'node-2/veth' }, reverse: {} });
  // No DNAT for shop/web on node-1: the SYN to the ClusterIP comes up the client's veth untranslated and never reaches a
  // backend's node. On cloud-routed the node's default route is the underlay (the VPC's gateway, absent in the lab), so
  // the untranslated SYN leaves node-1's underlay towards it and never reaches node-2; elsewhere it never leaves node-1.
  rows.push({
    scenario: `${network}-kube-proxy-rules-missing`,
    overlay: { base: HEALTHY[network], network, add: { type: 'kube-proxy-rules-missing', node: 'node-1', service: 'shop/web' } },
    cause: 'SERVICE_PROXY_RULES_MISSING',
    probe: /^cluster-ip:/,
    forward:
      network === 'cloud-routed'
        ? { packet: 'syn', lastSeen: 'node-1/underlay', firstMissing: 'node-2/underlay' }
        : { packet: 'syn', lastSeen: 'node-1/veth', firstMissing: tunnel ? `node-1/${tunnel}` : 'node-1/underlay' },
    untranslated: true,
    // Seen leaving node-1's underlay still addressed to the ClusterIP: the trace names node-1's proxy, not the underlay.
    ...(network === 'cloud-routed'
      ? { localized: /^SYN to ClusterIP 10\.96\.\d+\.\d+:80 left node-1 untranslated \(seen on node-1's eth0 \(underlay\) still addressed to it\): node-1's service proxy has no rule for it$/ }
      : {}),
  });
  return rows;
}

/** The healthy scenario of each network. */
const HEALTHY: Record<Network, string> = { 'calico-vxlan': 'healthy-calico-vxlan', 'calico-bgp': 'healthy-calico-bgp', cilium: 'healthy-cilium', 'cloud-routed': 'healthy-cloud-routed' };

/** Where the overlaid scenarios are written (made on first use, removed after the suite). */
let dir: string | undefined;

/** The scenario a row starts: a shipped one, or its overlay written to a temporary file. */
function scenarioOf(row: Row): string {
  if (!row.overlay) return row.scenario;
  const doc = parse(readFileSync(scenarioPath(row.overlay.base), 'utf8')) as { metadata: { name: string }; spec: { cluster?: Record<string, unknown>; faults?: unknown[] } };
  doc.metadata.name = row.scenario;
  doc.spec.cluster = { ...(doc.spec.cluster ?? {}), network: row.overlay.network };
  if (row.overlay.add) doc.spec.faults = [...(doc.spec.faults ?? []), row.overlay.add];
  dir ??= mkdtempSync(join(tmpdir(), 'netdebug-trace-networks-'));
  const path = join(dir, `${row.scenario}.yaml`);
  writeFileSync(path, stringify(doc));
  return path;
}

const rows = (['calico-vxlan', 'calico-bgp', 'cilium', 'cloud-routed'] as const).flatMap(rowsOf);

/** A walk with the pod addresses left out of the veth hops' ids. */
const plain = (w: Walk): Walk => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, String(v).replace(/\/veth:.*$/, '/veth')])) as Walk;

describe.skipIf(skip)('kubectl netdebug --trace end to end on calico-vxlan, calico-bgp, cilium and cloud-routed', () => {
  beforeAll(buildPlugin, 120_000);
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it.each(rows)('$scenario: the trace stops where the fault is', async (row) => {
    const lab = await startTestLab(scenarioOf(row));
    try {
      const env = pluginEnv(lab.kubeconfig, { NO_COLOR: '1' });
      const res = await run('kubectl', ['netdebug', 'default/client', 'shop/svc/web', '--trace', '-o', 'json'], { env, timeoutMs: 120_000 });
      const report = JSON.parse(res.stdout) as Report;
      const t = report.trace;
      expect(t, res.stderr).toBeDefined();
      if (!t) return;
      expect(report.verdict.cause, res.stderr).toBe(row.cause);
      expect(t.probe).toMatch(row.probe ?? /^pod-ip:/);
      const hops = JSON.stringify(t.hops, null, 1);
      expect(plain(t.forward), hops).toEqual(row.forward);
      if (row.reverse) expect(plain(t.reverse), hops).toEqual(row.reverse);
      if (row.untranslated) {
        const { ip, port } = t.flow.destination;
        const last = t.hops.find((h) => h.id === t.forward.lastSeen);
        expect(last?.lines.some((l) => l.includes(` > ${ip}.${port}: Flags [S]`)), hops).toBe(true);
      }
      if (row.localized) {
        expect(t.localized, hops).toMatch(row.localized);
        expect(t.localized, hops).toContain(`ClusterIP ${t.flow.destination.ip}:${t.flow.destination.port} `);
        expect(report.verdict.evidence, hops).toContain(`trace (${t.id}): ${t.localized}`);
      }
      // Every hop of the path was captured (the routed veths are found from the pod's route), the far end's pod last.
      expect(t.hops.at(-1)?.id).toBe(row.last ?? 'destination-pod/eth0');
      expect(t.hops.filter((h) => h.capture.kind !== 'captured').map((h) => h.id), hops).toEqual([]);
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
      expect(left).toMatchObject({ code: 0, stdout: '' });
    } finally {
      await lab.down();
    }
  });
});
