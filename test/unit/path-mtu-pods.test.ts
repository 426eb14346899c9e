/**
 * The path MTU probe's pod-MTU line and how a refused full-size ping reads with it. The output below is the probe script
 * run in a dual-stack calico-vxlan lab node (node-1) towards a pod on node-2: vxlan.calico is 1450, the pods' veths are
 * 1430 (felix gives pods the smaller MTU of both tunnels), so the remote node answers "frag needed, mtu 1430" and the
 * kernel refuses the 1450-byte ping from then on. It was captured before the script sent its pings at once and moved
 * the pods line after them: the parser reads that line wherever it comes after the first one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { judgeNodeCheck, routeMtuByDesign } from '../../src/core/node-checks.ts';
import { describeObservation } from '../../src/core/diagnose/describe.ts';
import { buildProbeCommand, parseProbeOutput, PATH_MTU_SCRIPT, type RawOutput } from '../../src/core/parse.ts';
import { PATH_MTU6_SCRIPT } from '../../src/core/parse-ipv6.ts';
import type { ProbeAction } from '../../src/core/model.ts';

const captured = `path-mtu: dev vxlan.calico mtu 1450
path-mtu: pods mtu 1430
PING 192.168.149.130 (192.168.149.130) 1422(1450) bytes of data.
ping: local error: message too long, mtu=1430

--- 192.168.149.130 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms

path-mtu: full exit 1
PING 192.168.149.130 (192.168.149.130) 56(84) bytes of data.
64 bytes from 192.168.149.130: icmp_seq=1 ttl=63 time=0.187 ms

--- 192.168.149.130 ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 0.187/0.187/0.187/0.000 ms
path-mtu: small exit 0
`;
const action: ProbeAction = { tool: 'path-mtu', address: '192.168.149.130' };

/** A captured fixture's output (after its `# cmd:` / `# exit:` header), as parse.test.ts reads them. */
function loadFixture(tool: string, name: string): RawOutput {
  const text = readFileSync(new URL(`./fixtures/${tool}/${name}.txt`, import.meta.url), 'utf8');
  return { stdout: text.replace(/^(# (cmd|exit): .*\n)+/, ''), stderr: '', exitCode: 0 };
}

describe('path MTU and the MTU of the node\'s pods', () => {
  it('both scripts print the pods\' largest veth MTU, leaving out the default route\'s device (a node whose uplink is a veth)', () => {
    for (const script of [PATH_MTU_SCRIPT, PATH_MTU6_SCRIPT]) {
      expect(script).toContain('ip -o link show type veth');
      expect(script).toContain('ip -o route show default');
      expect(script).toContain('path-mtu: pods mtu');
    }
    expect(buildProbeCommand(action, 2000)).toEqual(['sh', '-c', PATH_MTU_SCRIPT, 'sh', '192.168.149.130', '1']);
  });

  it('a full-size ping refused at a told MTU that carries the node\'s pods reads ok, and says so', () => {
    const obs = parseProbeOutput(action, { stdout: captured, stderr: '', exitCode: 0 });
    expect(obs).toEqual({ kind: 'mtu', size: 1422, passed: false, mtu: 1430, dev: 'vxlan.calico', smallPassed: true, podMtu: 1430, deviceMtu: 1450 });
    expect(judgeNodeCheck(obs, 'calico-vxlan')).toBe('ok');
    expect(describeObservation(obs, action)).toMatch(/refused at path MTU 1430, which carries the node's pods \(mtu 1430\)/);
  });

  it('pods bigger than the told MTU, or no pods line (an older capture), read as the fault they always were', () => {
    const bigger = captured.replace('pods mtu 1430', 'pods mtu 1450');
    expect(judgeNodeCheck(parseProbeOutput(action, { stdout: bigger, stderr: '', exitCode: 0 }), 'calico-vxlan')).toBe('fail');
    const without = captured.replace('path-mtu: pods mtu 1430\n', '');
    const obs = parseProbeOutput(action, { stdout: without, stderr: '', exitCode: 0 });
    expect(obs).not.toHaveProperty('podMtu');
    expect(judgeNodeCheck(obs, 'calico-vxlan')).toBe('fail');
  });

  it('a full-size ping lost without a word (the lab\'s mtu-mismatch: pods at 1500 on a 1500 flannel.1) is the fault, whatever the pods\' MTU', () => {
    const obs = parseProbeOutput({ tool: 'path-mtu', address: '10.244.1.3' }, loadFixture('ping', 'mtu-mismatch-n2-to-n1-pod'));
    expect(obs).toEqual({ kind: 'mtu', size: 1472, passed: false, mtu: 1500, dev: 'flannel.1', smallPassed: true, podMtu: 1500, deviceMtu: 1500 });
    expect(judgeNodeCheck(obs, 'flannel')).toBe('fail');
  });

  it('IPv6 on Cilium: the 1452-byte payload (cilium_vxlan 1500 minus IPv6\'s 48 header bytes) refused by the route\'s mtu 1450 is by design, judged on the device MTU the probe read', () => {
    const obs = { kind: 'mtu' as const, size: 1452, passed: false, mtu: 1450, dev: 'cilium_vxlan', smallPassed: true, deviceMtu: 1500 };
    expect(routeMtuByDesign(obs, 'cilium')).toBe(true);
    expect(judgeNodeCheck(obs, 'cilium')).toBe('ok');
    // Without the device MTU, IPv4's 28 header bytes would put the device at 1480 and read the same refusal as a fault.
    const { deviceMtu: _, ...older } = obs;
    expect(routeMtuByDesign(older, 'cilium')).toBe(false);
  });
});
