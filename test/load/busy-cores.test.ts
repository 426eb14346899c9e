/** The load helper: its children really spin, end by themselves at their bound, and stop() kills exactly them. */
import { describe, expect, it } from 'vitest';
import { startBusyCores } from './busy-cores.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** CPU time (user + system, in clock ticks) a process has used, from /proc. */
const cpuTicks = async (pid: number): Promise<number> => {
  const { readFileSync } = await import('node:fs');
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
};

describe.skipIf(process.platform !== 'linux')('busy cores', () => {
  it('spins one child per core asked for, and stop() kills exactly those PIDs', async () => {
    const busy = startBusyCores({ cores: 2, maxMs: 60_000 });
    try {
      expect(busy.pids).toHaveLength(2);
      for (const pid of busy.pids) expect(alive(pid)).toBe(true);
      // They burn CPU: wait until each has used some, rather than sleeping a fixed time.
      await expect.poll(async () => Math.min(...(await Promise.all(busy.pids.map(cpuTicks)))), { timeout: 20_000 }).toBeGreaterThan(5);
    } finally {
      await busy.stop();
    }
    for (const pid of busy.pids) expect(alive(pid)).toBe(false);
  });

  it('a child ends by itself at its bound', async () => {
    const busy = startBusyCores({ cores: 1, maxMs: 300 });
    await expect.poll(() => busy.pids.every((pid) => !alive(pid)), { timeout: 20_000 }).toBe(true);
    await busy.stop();
  });
});
