/**
 * The IPv6 node checks' parsers on real outputs: a network namespace of this test's own (`nd-test-<pid>-v6`, a veth
 * pair with IPv6 addresses, both ends inside it: no link to the host's network) is set up as a dual-stack node would be (routes to another
 * node's IPv6 pod range, an unreachable range, a default route, ip6tables' FORWARD policy DROP with an accept rule for
 * the pod range), and the plugin's own commands (buildProbeCommand) run in it; what they print is parsed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeAction } from '../../src/core/model.ts';
import { buildProbeCommand, parseProbeOutput, type RawOutput } from '../../src/core/parse.ts';
import { readIptablesBoth } from '../../src/core/parse-proxy.ts';
import { IPV6_FORWARDING } from '../../src/core/plan.ts';

const run = promisify(execFile);
const NS = `nd-test-${process.pid}-v6`;

/** Runs argv inside the test's namespace; never throws (the exit code is part of the output). */
async function inNs(argv: readonly string[]): Promise<RawOutput> {
  try {
    const r = await run('ip', ['netns', 'exec', NS, ...argv], { timeout: 30_000 });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number | string };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', exitCode: typeof e.code === 'number' ? e.code : null };
  }
}

/** Runs setup commands in the namespace, failing the test on any error. */
async function setup(...argvs: string[][]): Promise<void> {
  for (const argv of argvs) {
    const r = await inNs(argv);
    if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.stdout}`);
  }
}

/** Runs the plugin's own command for an action in the namespace and parses what it printed. */
async function probe(action: ProbeAction) {
  const raw = await inNs(buildProbeCommand(action, 2000));
  return { raw, observation: parseProbeOutput(action, raw) };
}

beforeAll(async () => {
  await run('ip', ['netns', 'add', NS]);
  await setup(
    ['ip', 'link', 'set', 'lo', 'up'],
    ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0'],
    ['ip', 'link', 'set', 'peer0', 'up'],
    ['ip', 'link', 'set', 'eth0', 'up'],
    ['ip', '-6', 'addr', 'add', 'fd00:172:18::2/64', 'dev', 'eth0', 'nodad'],
    // node-2's IPv6 pod range through node-2, as a host-gw / BGP network routes it; a range routed nowhere; the default.
    ['ip', '-6', 'route', 'add', 'fd00:10:244:2::/64', 'via', 'fd00:172:18::3', 'dev', 'eth0'],
    ['ip', '-6', 'route', 'add', 'unreachable', 'fd00:10:244:9::/64'],
    ['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:172:18::1', 'dev', 'eth0'],
    ['ip6tables-nft', '-P', 'FORWARD', 'DROP'],
    ['ip6tables-nft', '-A', 'FORWARD', '-s', 'fd00:10:244::/56', '-j', 'ACCEPT'],
    ['ip6tables-nft', '-A', 'FORWARD', '-d', 'fd00:10:244::/56', '-j', 'ACCEPT'],
  );
}, 60_000);

afterAll(async () => {
  await run('ip', ['netns', 'del', NS]).catch(() => undefined);
});

describe('IPv6 node checks on real outputs', () => {
  it('ip -6 route list match: the pod range through the peer node', async () => {
    const { raw, observation } = await probe({ tool: 'route-match', address: 'fd00:10:244:2::7' });
    expect(raw.stdout).toMatch(/^fd00:10:244:2::\/64 via fd00:172:18::3 dev eth0 metric 1024 pref medium$/m);
    expect(observation).toEqual({ kind: 'route', present: true, route: 'fd00:10:244:2::/64', dev: 'eth0', via: 'fd00:172:18::3' });
  });

  it('ip -6 route list match: only the default route, and an unreachable range', async () => {
    const def = await probe({ tool: 'route-match', address: 'fd00:10:244:5::3' });
    expect(def.raw.stdout).toMatch(/^default via fd00:172:18::1 dev eth0 metric 1024 pref medium$/m);
    expect(def.observation).toEqual({ kind: 'route', present: false, route: 'default', dev: 'eth0', via: 'fd00:172:18::1' });
    const dead = await probe({ tool: 'route-match', address: 'fd00:10:244:9::3' });
    expect(dead.raw.stdout).toMatch(/^unreachable fd00:10:244:9::\/64 dev lo metric 1024 pref medium$/m);
    expect(dead.observation).toMatchObject({ kind: 'route', present: false, route: 'fd00:10:244:9::/64', error: 'unreachable route fd00:10:244:9::/64' });
  });

  it('sysctl -n net.ipv6.conf.all.forwarding: 0 in a new namespace, 1 once set', async () => {
    expect((await probe({ tool: 'sysctl', key: IPV6_FORWARDING })).observation).toEqual({ kind: 'sysctl', key: IPV6_FORWARDING, value: '0' });
    await setup(['sysctl', '-q', '-w', `${IPV6_FORWARDING}=1`]);
    expect((await probe({ tool: 'sysctl', key: IPV6_FORWARDING })).observation).toEqual({ kind: 'sysctl', key: IPV6_FORWARDING, value: '1' });
  });

  it("ip6tables' FORWARD chain walked for an IPv6 flow: the pod range's rule accepts, any other address meets the DROP policy", async () => {
    const pods = await probe({ tool: 'forward-policy', flow: { from: 'fd00:10:244:1::5', to: ['fd00:10:244:2::7'] } });
    // ip6tables-save prints the rules as the kernel holds them.
    const dump = readIptablesBoth(pods.raw.stdout).find((d) => d.backend === 'nft');
    expect(dump?.tables.get('filter')?.policies.get('FORWARD')).toBe('DROP');
    expect(dump?.tables.get('filter')?.rules).toEqual(['-A FORWARD -s fd00:10:244::/56 -j ACCEPT', '-A FORWARD -d fd00:10:244::/56 -j ACCEPT']);
    expect(pods.observation).toMatchObject({ kind: 'forward-policy', policy: 'DROP', verdict: 'accept', backend: 'nft' });
    const other = await probe({ tool: 'forward-policy', flow: { from: 'fd00:99::5', to: ['fd00:98::7'] } });
    expect(other.observation).toEqual({ kind: 'forward-policy', policy: 'DROP', verdict: 'drop', backend: 'nft', decidedBy: '-P FORWARD DROP' });
  });
});
