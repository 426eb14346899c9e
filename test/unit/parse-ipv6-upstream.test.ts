/**
 * The IPv6 NAT check on kube-proxy's own IPv6 ruleset: the nftables rules of kubernetes' TestTracePacketV6
 * (test/unit/fixtures-ipv6/upstream-nftables-trace-packet-v6.nft, quoted as data) are loaded with `nft -f` into a
 * network namespace of this test's own (`nd-test-<pid>-v6up`, no interface but lo: nothing reaches the host), then the
 * plugin's own command lists them and the parser reads the Service the upstream test sends a packet to.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeAction } from '../../src/core/model.ts';
import { buildProbeCommand, parseProbeOutput, type RawOutput } from '../../src/core/parse.ts';

const run = promisify(execFile);
const NS = `nd-test-${process.pid}-v6up`;
const RULESET = fileURLToPath(new URL('./fixtures-ipv6/upstream-nftables-trace-packet-v6.nft', import.meta.url));
const canRun = process.platform === 'linux' && process.getuid?.() === 0;
if (!canRun && process.env.CI === 'true') throw new Error('parse-ipv6-upstream.test.ts needs root on Linux in CI');

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

describe.skipIf(!canRun)("the IPv6 NAT check on kubernetes' own IPv6 nftables ruleset", () => {
  beforeAll(async () => {
    await run('ip', ['netns', 'add', NS]);
    const loaded = await inNs(['nft', '-f', RULESET]);
    if (loaded.exitCode !== 0) throw new Error(`nft -f: ${loaded.stderr}`);
  }, 60_000);

  afterAll(async () => {
    await run('ip', ['netns', 'del', NS]).catch(() => undefined);
  });

  const nat = (clusterIP: string, port = 80): ProbeAction => ({ tool: 'nat-rules', clusterIP, port, protocol: 'TCP', proxy: 'nftables' });

  it("svc1's IPv6 ClusterIP leads to the two endpoints upstream's packet-flow test expects", async () => {
    const action = nat('fd00:172:30::41');
    const raw = await inNs(buildProbeCommand(action, 2000));
    // As the kernel lists the map: the IPv6 key with its own colons, then ` : goto`.
    expect(raw.stdout).toMatch(/elements = \{ fd00:172:30::41 \. tcp \. 80 : goto service-ULMVA6XW-ns1\/svc1\/tcp\/p80 \}/);
    const obs = parseProbeOutput(action, raw);
    expect(obs).toMatchObject({ kind: 'nat-rules', present: true, proxy: 'nftables' });
    // Upstream: output := "[fd00:10:180::1]:80, [fd00:10:180::2:1]:80" (the numgen vmap's order).
    expect(obs.kind === 'nat-rules' ? obs.endpoints.join(', ') : '').toBe('[fd00:10:180::1]:80, [fd00:10:180::2:1]:80');
  });

  it('another port or ClusterIP is not there: a missing rule', async () => {
    for (const action of [nat('fd00:172:30::41', 443), nat('fd00:172:30::42')]) {
      expect(parseProbeOutput(action, await inNs(buildProbeCommand(action, 2000)))).toMatchObject({ kind: 'nat-rules', present: false, proxy: 'nftables' });
    }
  });
});
