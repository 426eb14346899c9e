/**
 * The README's first set-up command, `npm run demo`, as a user runs it (stdout not a terminal, so the text reporter):
 * it builds, boots the broken default lab, diagnoses it through the real kubectl, and tears the lab down.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run, skipLabSuite } from '../lab/harness.ts';
import { readLabRecord } from '../lab/registry.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const skip = skipLabSuite('npm run demo');

describe.skipIf(skip)('npm run demo', () => {
  it('diagnoses the broken default lab (ip_forward off on node-2) and leaves no lab behind', async () => {
    const res = await run('npm', ['run', '-s', 'demo'], { timeoutMs: 120_000, env: { ...process.env, NO_COLOR: '1' } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('Verdict  ✗ BROKEN  NODE_IP_FORWARD_DISABLED (node)');
    expect(res.stdout).toContain('  where:  node node-2');
    expect(res.stdout).toContain('    - on node node-2: sysctl -w net.ipv4.ip_forward=1');
    expect(res.stderr).toContain('kubectl netdebug exited with 1');
    const labId = /lab ([0-9a-f]+) is up/.exec(res.stderr)?.[1];
    expect(labId, res.stderr).toBeDefined();
    expect(res.stderr).toContain(`tearing lab ${labId} down`);
    expect(readLabRecord(labId as string)).toBeUndefined();
    const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(netns).not.toContain(`nd${labId as string}-`);
  }, 180_000);
});
