/**
 * mtu-mismatch with `family: IPv6` on the real kernel, on both dual-stack networks with an IPv6 tunnel (flannel's
 * flannel-v6.1, calico-vxlan's vxlan-v6.calico): the node's IPv6 tunnel claims 1500 over a jumbo eth0 while the
 * underlay carries 1500, so a full-size don't-fragment IPv6 ping from the node to a remote pod is lost, a small one
 * passes (flannel's pods, at 1450, lose their full-size IPv6 too), and IPv4 full-size pings still pass; repair restores 1430 and the full-size IPv6 ping passes again.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeNet, PodNet, ScenarioFault } from './model.ts';
import { planNodeNet } from './dataplane/addressing.ts';
import { planNodeNetV6, podIPv6For } from './dataplane/addressing-v6.ts';
import { Dataplane } from './dataplane/dataplane.ts';
import { inNetns } from './dataplane/runner.ts';
import { skipLabSuite } from './harness.ts';
import { runner, POD_RESOLV_CONF as RESOLV } from './kernel-kit.ts';

const skip = skipLabSuite('dataplane-mtu-mismatch-v6.test.ts');


/** True when one don't-fragment ping of `size` payload bytes from netns to ip gets its answer within 2 s. */
async function dfPing(netns: string, ip: string, size: number): Promise<boolean> {
  const family = ip.includes(':') ? '-6' : '-4';
  const r = await runner.run(inNetns(netns, ['ping', family, '-M', 'do', '-s', String(size), '-c', '1', '-W', '2', ip]), { allowFailure: true });
  return r.code === 0;
}

/** The MTU `ip link` shows for dev in netns. */
async function linkMTU(netns: string, dev: string): Promise<number> {
  const out = (await runner.run(inNetns(netns, ['ip', '-o', 'link', 'show', 'dev', dev]))).stdout;
  return Number(/ mtu (\d+) /.exec(out)?.[1]);
}

const NETWORKS = [
  { network: 'flannel', tag: 'mf', tunnel: 'flannel-v6.1', podMTU: 1450, podIPv6Lost: true, cidrs: ['10.244.1.0/24', '10.244.2.0/24'], ips: ['10.244.1.10', '10.244.2.10'] },
  { network: 'calico-vxlan', tag: 'mc', tunnel: 'vxlan-v6.calico', podMTU: 1430, podIPv6Lost: false, cidrs: ['192.168.14.64/26', '192.168.149.128/26'], ips: ['192.168.14.74', '192.168.149.138'] },
] as const;

describe.skipIf(skip).each(NETWORKS)('mtu-mismatch family IPv6 on dual-stack $network on the real kernel', ({ network, tag, tunnel, podMTU, podIPv6Lost, cidrs, ips }) => {
  const labId = `${tag}${process.pid.toString(36)}`;
  const prefix = `nd${labId}-`;
  let stateDir = '';
  let dp: Dataplane;
  let n1: NodeNet;
  let a1: PodNet;
  let b1: PodNet;
  const fault: ScenarioFault = { type: 'mtu-mismatch', node: 'node-1', family: 'IPv6' };

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `ndlab-${tag}-`));
    dp = new Dataplane({ labId, runner, stateDir, network, ipFamilies: ['IPv4', 'IPv6'] });
    n1 = { ...planNodeNet(labId, { name: 'node-1', index: 1, podCIDR: cidrs[0] }), v6: planNodeNetV6(1) };
    const n2: NodeNet = { ...planNodeNet(labId, { name: 'node-2', index: 2, podCIDR: cidrs[1] }), v6: planNodeNetV6(2) };
    await dp.createUnderlay();
    await Promise.all([dp.addNode(n1), dp.addNode(n2)]);
    await dp.connectNodes([n1, n2]);
    const pod = (key: string, node: NodeNet, ip: string) => dp.addPod({ key, node: node.name, ip, ip6: podIPv6For(ip, node.podCIDR, node.v6!.podCIDR), hostNetwork: false }, { resolvConf: RESOLV });
    [a1, b1] = await Promise.all([pod('default/a1', n1, ips[0]), pod('default/b1', n2, ips[1])]);
  });

  afterAll(async () => {
    await dp?.teardown();
    const left = (await runner.run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(prefix));
    fs.rmSync(stateDir, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it(`moves ${tunnel} to 1500 over a jumbo eth0: full-size IPv6 from the node is lost, small IPv6 and full-size IPv4 pass; repair heals`, async () => {
    // Healthy: the IPv6 tunnel's 1430 fits the 1500 path (1430 - 48 bytes of IPv6 + ICMPv6 headers).
    expect(await linkMTU(n1.netns, tunnel)).toBe(1430);
    expect(await dfPing(n1.netns, b1.ip6!, 1430 - 48)).toBe(true);
    await dp.applyFault(fault);
    try {
      expect(await linkMTU(n1.netns, 'eth0')).toBe(9000);
      expect(await linkMTU(n1.netns, tunnel)).toBe(1500);
      expect(await linkMTU(a1.netns, 'eth0')).toBe(podMTU);
      // The node's full-size IPv6 ping (its route's device MTU 1500) leaves without a local error and gets no answer.
      expect(await dfPing(n1.netns, b1.ip6!, 1500 - 48)).toBe(false);
      expect(await dfPing(n1.netns, b1.ip6!, 56)).toBe(true);
      // A pod's full-size IPv6 packet (its eth0 MTU, set when it was created) now fits the tunnel: flannel's 1450 does
      // not fit the path and is lost too, Calico's 1430 still fits.
      expect(await dfPing(a1.netns, b1.ip6!, podMTU - 48)).toBe(!podIPv6Lost);
      // IPv4 stays healthy: its tunnel's 1450 fits the path, from the node and at the pods' full size (Calico's
      // dual-stack pods are 1430, so the node's 1450-byte ping is told "frag needed" by the remote pod's veth).
      expect(await dfPing(n1.netns, b1.ip, podMTU - 28)).toBe(true);
      expect(await dfPing(a1.netns, b1.ip, podMTU - 28)).toBe(true);
      const counter = (await runner.run(inNetns(`nd${labId}-u`, ['nft', 'list', 'table', 'bridge', 'nd_mtu6_1']))).stdout;
      expect(counter).toMatch(/ip6 length > 1460 counter packets [1-9]\d* bytes \d+ drop/);
    } finally {
      await dp.revertFault(fault);
    }
    expect(await linkMTU(n1.netns, 'eth0')).toBe(1500);
    expect(await linkMTU(n1.netns, tunnel)).toBe(1430);
    expect(await linkMTU(a1.netns, 'eth0')).toBe(podMTU);
    expect(await dfPing(n1.netns, b1.ip6!, 1430 - 48)).toBe(true);
    expect(await dfPing(a1.netns, b1.ip6!, 1430 - 48)).toBe(true);
    const tables = (await runner.run(inNetns(`nd${labId}-u`, ['nft', 'list', 'tables']))).stdout;
    expect(tables).not.toMatch(/nd_mtu6_1/);
  });
});
