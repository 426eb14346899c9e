/**
 * How the node checks are judged on each pod network, on outputs captured from the lab's networks
 * (network-fixtures/<network>/, capture-lab.ts): the same observation is right on one network and a fault on another.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PodNetwork } from '../../src/core/datapath.ts';
import { networkTraits } from '../../src/core/datapath.ts';
import type { ProbeAction, ProbeObservation } from '../../src/core/model.ts';
import { judgeNodeCheck, routeMtuByDesign } from '../../src/core/node-checks.ts';
import { parseProbeOutput, type RawOutput } from '../../src/core/parse.ts';
import { decideVerdict } from '../../src/core/diagnose/index.ts';
import type { ResolvedTargets } from '../../src/core/model.ts';
import { planLadder } from '../../src/core/plan.ts';
import { buildFacts, clientPod, webService } from '../cli/fakes.ts';
import { CASES } from './verdict-cases.ts';

/** Loads network-fixtures/<network>/<name>.txt without its `# cmd:` / `# exit:` header. */
function load(network: string, name: string): RawOutput {
  const lines = readFileSync(new URL(`./network-fixtures/${network}/${name}.txt`, import.meta.url), 'utf8').split('\n');
  let exitCode = 0;
  while (lines[0] !== undefined && /^# (cmd|exit): /.test(lines[0])) {
    const header = lines.shift() as string;
    if (header.startsWith('# exit: ')) exitCode = Number(header.slice('# exit: '.length));
  }
  return { stdout: lines.join('\n'), stderr: '', exitCode };
}

/** The overlay-blocked case of the verdict table (cross-node fails, node-2 reaches its own pod, nodes healthy), network unset. */
const blockedInput = (CASES.find((c) => c.name.startsWith('OVERLAY_BLOCKED: cross-node fails')) as (typeof CASES)[number]).in;

const parsed = (network: string, file: string, action: ProbeAction): ProbeObservation => parseProbeOutput(action, load(network, file));

describe('node checks judged for their network', () => {
  it('cloud-routed: only the default route towards another node\'s pod is how the VPC routes it (ok), a missing route elsewhere', () => {
    const obs = parsed('cloud-routed', 'route-match-n2-remote-pod', { tool: 'route-match', address: '10.244.1.3' });
    expect(obs).toMatchObject({ kind: 'route', present: false, route: 'default' });
    expect(judgeNodeCheck(obs, 'cloud-routed')).toBe('ok');
    expect(judgeNodeCheck(obs, 'flannel')).toBe('fail');
    expect(judgeNodeCheck(obs, 'calico-bgp')).toBe('fail');
    // Unknown network: judged as before.
    expect(judgeNodeCheck(obs)).toBe('fail');
  });

  it('cloud-routed: an unreachable route is a fault even there', () => {
    const obs: ProbeObservation = { kind: 'route', present: false, route: '10.244.1.0/24', error: 'unreachable route 10.244.1.0/24' };
    expect(judgeNodeCheck(obs, 'cloud-routed')).toBe('fail');
  });

  it.each(['calico-vxlan', 'calico-bgp'])('%s: felix\'s PERMANENT entry for its own pod reads ok', (network) => {
    const obs = parsed(network, 'neighbor-n2-own-pod', { tool: 'neighbor', address: '192.168.149.130' });
    expect(obs).toMatchObject({ kind: 'neighbor', state: 'PERMANENT' });
    expect(judgeNodeCheck(obs, network as PodNetwork)).toBe('ok');
  });

  it('cilium: the routes towards other nodes\' pods carry mtu 1450 on 1500-byte devices (captured), so a full-size ping the route refuses is by design', () => {
    const route = load('cilium', 'route-match-n2-remote-pod').stdout;
    expect(route).toMatch(/ dev cilium_host .* mtu 1450/);
    const links = load('cilium', 'n2-ip-d-link').stdout;
    expect(links).toMatch(/cilium_vxlan: .* mtu 1500 /);
    // What the path MTU probe then reads: the size from cilium_vxlan's 1500, the kernel's local refusal at 1450.
    const refused: Extract<ProbeObservation, { kind: 'mtu' }> = { kind: 'mtu', size: 1472, passed: false, mtu: 1450, dev: 'cilium_vxlan', smallPassed: true };
    expect(routeMtuByDesign(refused, 'cilium')).toBe(true);
    expect(judgeNodeCheck(refused, 'cilium')).toBe('ok');
    // Elsewhere (flannel keeps its overhead in device MTUs) the same reading is the MTU fault it always was.
    expect(judgeNodeCheck(refused, 'flannel')).toBe('fail');
    // The fault itself: the route raised to 1500, the ping leaves the node and is dropped on the path.
    const dropped = { ...refused, mtu: 1500 };
    expect(routeMtuByDesign(dropped, 'cilium')).toBe(false);
    expect(judgeNodeCheck(dropped, 'cilium')).toBe('fail');
  });

  it('the networks without a bridge, and each tunnel\'s port for OVERLAY_BLOCKED\'s hint', () => {
    expect(networkTraits('flannel')).toMatchObject({ bridge: true, tunnel: { port: 'UDP 8472' } });
    expect(networkTraits('calico-vxlan')).toMatchObject({ bridge: false, tunnel: { device: 'vxlan.calico', port: 'UDP 4789' } });
    expect(networkTraits('cilium')).toMatchObject({ bridge: false, tunnel: { device: 'cilium_vxlan', port: 'UDP 8472' } });
    expect(networkTraits('calico-bgp').tunnel).toBeUndefined();
    expect(networkTraits('cloud-routed')).toMatchObject({ bridge: false, podRoutesOnNodes: false });
    expect(networkTraits('cloud-routed').tunnel).toBeUndefined();
  });
});

describe('the planner and the verdict on each network', () => {
  const self = { ...(clientPod as Extract<ResolvedTargets['source'], { kind: 'pod' }>), namespace: 'shop', name: 'web-1', node: 'node-2', ip: '10.244.2.7' };
  const checksOf = (daemonSets: string[]) => planLadder(buildFacts(self, webService, { datapath: { daemonSets, unreadable: [] } }), { timeoutMs: 2000 }).nodeChecks.map((c) => c.check);

  it('plans bridge-nf and hairpin on flannel (a bridge), neither on Calico, Cilium or cloud-routed (pods on their own veth)', () => {
    expect(checksOf(['kube-flannel/kube-flannel-ds'])).toEqual(expect.arrayContaining(['bridge-nf', 'hairpin']));
    for (const ds of ['calico-system/calico-node', 'kube-system/cilium', 'kube-system/aws-node']) {
      const checks = checksOf([ds]);
      expect(checks, ds).not.toContain('bridge-nf');
      expect(checks, ds).not.toContain('hairpin');
      expect(checks, ds).toContain('ip-forward');
    }
    // Without the API's datapath facts: as before.
    expect(planLadder(buildFacts(self, webService), { timeoutMs: 2000 }).nodeChecks.map((c) => c.check)).toEqual(expect.arrayContaining(['bridge-nf', 'hairpin']));
  });

  it.each([
    { network: 'calico-vxlan' as const, port: 'UDP 4789', dump: 'udp port 4789' },
    { network: 'cilium' as const, port: 'UDP 8472', dump: 'udp port 8472' },
    { network: 'flannel' as const, port: 'UDP 8472', dump: 'udp port 8472' },
  ])('OVERLAY_BLOCKED on $network names its tunnel port ($port)', ({ network, port, dump }) => {
    const out = decideVerdict({ ...blockedInput, network });
    expect(out.verdict.cause).toBe('OVERLAY_BLOCKED');
    expect(out.verdict.hints.join('\n')).toContain(`check that ${port}`);
    expect(out.verdict.hints.join('\n')).toContain(`tcpdump -ni any ${dump}`);
  });

  it('UNDERLAY_BLOCKED names the network between the nodes and node-2, whose pods cannot be reached', () => {
    const out = decideVerdict({ ...blockedInput, network: 'calico-bgp' });
    expect(out.verdict).toMatchObject({ cause: 'UNDERLAY_BLOCKED', component: 'network', node: 'node-2' });
    expect(out.verdict.hints.join('\n')).toMatch(/security groups/);
    expect(out.verdict.hints.join('\n')).toMatch(/source\/destination check/);
  });
});
