/**
 * The test harness's `kubectl exec` (TestLab.exec): kubectl 1.32's WebSocket client can drop a command's first stdout
 * frames and says so on stderr; the harness then runs the command again (bounded), so a lab test reads the command's
 * output, not kubectl's loss. Runs without a lab: kubectl is a fake here.
 */
import { describe, expect, it } from 'vitest';
import { execAgainIfDropped, KUBECTL_DROPPED_OUTPUT, type CommandResult } from './harness.ts';

/** kubectl's stderr when it dropped stdout, as captured in CI (lab-cluster-dns test, busy cores). */
const DROPPED = 'E1206 19:54:36.370673   30118 websocket.go:296] Unknown stream id 1, discarding message\n';

function fakeKubectl(results: CommandResult[]): { kubectl: (args: string[]) => Promise<CommandResult>; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    kubectl: async (args) => {
      calls.push(args);
      return results[Math.min(calls.length, results.length) - 1]!;
    },
  };
}

describe('lab.exec and kubectl dropping output', () => {
  it("recognizes kubectl's message, and only it", () => {
    expect(KUBECTL_DROPPED_OUTPUT.test(DROPPED)).toBe(true);
    expect(KUBECTL_DROPPED_OUTPUT.test('error: unable to upgrade connection: container not found ("netdebug")\n')).toBe(false);
  });

  it('runs the command again when kubectl dropped its output, and returns the run that kept it', async () => {
    const { kubectl, calls } = fakeKubectl([
      { code: 0, stdout: '', stderr: DROPPED },
      { code: 0, stdout: 'nameserver 169.254.20.10\n', stderr: '' },
    ]);
    const args = ['exec', '-n', 'default', 'client', '--', 'cat', '/etc/resolv.conf'];
    expect(await execAgainIfDropped(kubectl, args)).toEqual({ code: 0, stdout: 'nameserver 169.254.20.10\n', stderr: '' });
    expect(calls).toEqual([args, args]);
  });

  it('runs a command once when kubectl lost nothing, whatever its exit', async () => {
    const failed = { code: 1, stdout: '', stderr: 'command terminated with exit code 1\n' };
    const { kubectl, calls } = fakeKubectl([failed]);
    expect(await execAgainIfDropped(kubectl, ['exec', '--', 'false'])).toEqual(failed);
    expect(calls).toHaveLength(1);
  });

  it('gives up after a bounded number of tries, returning the last', async () => {
    const { kubectl, calls } = fakeKubectl([{ code: 0, stdout: '', stderr: DROPPED }]);
    expect((await execAgainIfDropped(kubectl, ['exec', '--', 'iptables', '-S'], 4)).stderr).toBe(DROPPED);
    expect(calls).toHaveLength(4);
  });
});
