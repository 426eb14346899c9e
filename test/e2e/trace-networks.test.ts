/**
 * End to end, the hop-by-hop trace on every other pod network of the lab (issue 14; flannel is test/e2e/trace.test.ts):
 * `--trace` on each fault the network can have on the path, and the trace's last hop that saw the request and the first
 * that did not must be where the fault is. Hop ids are compared with the pod's address left out of the veth's
 * (`node-2/veth:192.168.149.130` reads `node-2/veth`), since each network numbers its pods its own way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin, pluginEnv } from './plugin.ts';
import { run, skipLabSuite, startTestLab } from '../lab/harness.ts';

const skip = skipLabSuite('e2e trace on each network');

interface Walk {
  packet?: string;
  lastSeen?: string;
  firstMissing?: string;
}
interface Report {
  verdict: { cause: string };
  trace?: { probe: string; forward: Walk; reverse: Walk; localized?: string; hops: { id: string; capture: { kind: string } }[] };
}

interface Row {
  scenario: string;
  cause: string;
  forward: Walk;
  reverse?: Walk;
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
    // The handshake's small packets pass every hop both ways: the MTU fault bites full-size packets only.
    rows.push({ scenario: `${network}-mtu-mismatch`, cause: 'PATH_MTU_MISMATCH', forward: { packet: 'syn', lastSeen: 'destination-pod/eth0' }, reverse: { packet: 'syn-ack', lastSeen: 'source-pod/eth0' } });
  } else {
    rows.push({ scenario: `${network}-underlay-blocked`, cause: 'UNDERLAY_BLOCKED', forward: { packet: 'syn', lastSeen: 'node-1/underlay', firstMissing: 'node-2/underlay' }, reverse: {} });
    if (network === 'calico-bgp') rows.push({ scenario: `${network}-pod-route-missing`, cause: 'NODE_ROUTE_MISSING', forward: { packet: 'syn', lastSeen: 'node-1/veth', firstMissing: 'node-1/underlay' } });
  }
  return rows;
}

const rows = (['calico-vxlan', 'calico-bgp', 'cilium', 'cloud-routed'] as const).flatMap(rowsOf);

/** A walk with the pod addresses left out of the veth hops' ids. */
const plain = (w: Walk): Walk => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, String(v).replace(/\/veth:.*$/, '/veth')])) as Walk;

describe.skipIf(skip)('kubectl netdebug --trace end to end on calico-vxlan, calico-bgp, cilium and cloud-routed', () => {
  beforeAll(buildPlugin, 120_000);

  it.each(rows)('$scenario: the trace stops where the fault is', async (row) => {
    const lab = await startTestLab(row.scenario);
    try {
      const env = pluginEnv(lab.kubeconfig, { NO_COLOR: '1' });
      const res = await run('kubectl', ['netdebug', 'default/client', 'shop/svc/web', '--trace', '-o', 'json'], { env, timeoutMs: 120_000 });
      const report = JSON.parse(res.stdout) as Report;
      const t = report.trace;
      expect(t, res.stderr).toBeDefined();
      if (!t) return;
      expect(report.verdict.cause, res.stderr).toBe(row.cause);
      expect(t.probe).toMatch(/^pod-ip:/);
      const hops = JSON.stringify(t.hops, null, 1);
      expect(plain(t.forward), hops).toEqual(row.forward);
      if (row.reverse) expect(plain(t.reverse), hops).toEqual(row.reverse);
      // Every hop of the path was captured (the routed veths are found from the pod's route), the destination pod last.
      expect(t.hops.at(-1)?.id).toBe('destination-pod/eth0');
      expect(t.hops.filter((h) => h.capture.kind !== 'captured').map((h) => h.id), hops).toEqual([]);
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
      expect(left).toMatchObject({ code: 0, stdout: '' });
    } finally {
      await lab.down();
    }
  });
});
