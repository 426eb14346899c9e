/**
 * The path MTU script itself, run by /bin/sh with `ip` and `ping` stand-ins first on PATH: its two pings run at once
 * (a blackholed path costs one wait, not two), and what it prints still reads as if they had run one after the other.
 * Each stand-in ping waits until the other one has started (or gives up after 10 s and says so), so a script that ran
 * them one after the other fails here by what it prints, not by how long it took. The pings' words are those of the
 * lab capture test/unit/fixtures/ping/mtu-mismatch-n2-to-n1-pod.txt (full size lost, 56 bytes answered).
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildProbeCommand, parseProbeOutput } from '../../src/core/parse.ts';

const IP_STAND_IN = `#!/bin/sh
case "$*" in
  *"route get "*) echo "$5 dev flannel.1 src 10.244.2.0 uid 0 \\    cache " ;;
  "-o link show dev flannel.1") echo '4: flannel.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN mode DEFAULT group default \\    link/ether 0e:1c:23:9a:47:10 brd ff:ff:ff:ff:ff:ff' ;;
  "-o route show default") echo 'default via 172.31.0.1 dev eth0 ' ;;
  "-o link show type veth") echo '5: veth0a1b2c3d@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master cni0 state UP mode DEFAULT group default \\    link/ether 6a:0b:39:55:10:21 brd ff:ff:ff:ff:ff:ff link-netns cni-1' ;;
esac
`;

// Records its start, waits for the other ping's, then answers as the lab did: the 56-byte ping passes at once, the full
// one is lost, and says so only once the small one has ended (as a lost ping waits), so output that escaped the small
// ping's pipe would come first.
const PING_STAND_IN = `#!/bin/sh
d=$(dirname "$0")
while [ $# -gt 1 ]; do [ "$1" = -s ] && size=$2; shift; done
: > "$d/started.$size"
n=0
while [ "$(ls "$d" | grep -c '^started\\.')" -lt 2 ]; do
  n=$((n+1)); [ "$n" -gt 200 ] && { echo "ping $size ran alone" >&2; exit 3; }
  sleep 0.05
done
echo "PING $1 ($1) $size($((size+\${HEADERS:-28}))) bytes of data."
if [ "$size" = 56 ]; then
  echo "64 bytes from $1: icmp_seq=1 ttl=63 time=0.157 ms"
  printf '\\n--- %s ping statistics ---\\n1 packets transmitted, 1 received, 0%% packet loss, time 0ms\\nrtt min/avg/max/mdev = 0.157/0.157/0.157/0.000 ms\\n' "$1"
  : > "$d/done.56"
  exit 0
fi
n=0
while [ ! -e "$d/done.56" ]; do n=$((n+1)); [ "$n" -gt 200 ] && break; sleep 0.05; done
printf '\\n--- %s ping statistics ---\\n1 packets transmitted, 0 received, 100%% packet loss, time 0ms\\n\\n' "$1"
exit 1
`;

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'netdebug-mtu-'));
  for (const [name, text] of [['ip', IP_STAND_IN], ['ping', PING_STAND_IN]] as const) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  }
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(argv: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(argv[0] as string, argv.slice(1), { env: { ...process.env, ...env, PATH: `${dir}:${process.env.PATH ?? ''}` }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 });
    });
  });
}

describe('the path MTU script', () => {
  it.each([
    ['IPv4', '10.244.1.3', 1472],
    ['IPv6', 'fd00:10:244:1::3', 1452],
  ])('%s: sends both pings at once and prints the full one first, then the small one, then the pods\' MTU', async (_family, address, size) => {
    const out = await run(buildProbeCommand({ tool: 'path-mtu', address }, 2000), size === 1452 ? { HEADERS: '48' } : {});
    expect(out.stdout).not.toMatch(/ran alone/);
    expect(readdirSync(dir).filter((f) => f.startsWith('started.')).sort()).toEqual([`started.${size}`, 'started.56']);
    const lines = out.stdout.split('\n');
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    expect(at(/^path-mtu: dev flannel\.1 mtu 1500$/)).toBe(0);
    expect(at(new RegExp(`${size}\\(1500\\) bytes of data`))).toBeLessThan(at(/^path-mtu: full exit 1$/));
    expect(at(/^path-mtu: full exit 1$/)).toBeLessThan(at(/ 56\(\d+\) bytes of data/));
    expect(at(/ 56\(\d+\) bytes of data/)).toBeLessThan(at(/^path-mtu: small exit 0$/));
    expect(at(/^path-mtu: small exit 0$/)).toBeLessThan(at(/^path-mtu: pods mtu 1500$/));
    expect(parseProbeOutput({ tool: 'path-mtu', address }, { stdout: out.stdout, stderr: out.stderr, exitCode: out.code })).toEqual({
      kind: 'mtu', size, passed: false, mtu: 1500, dev: 'flannel.1', smallPassed: true, podMtu: 1500, deviceMtu: 1500,
    });
  });

  it('keeps the small ping\'s error lines with its own output, not the full one\'s', async () => {
    // A small ping that fails with words on stderr (as ping does for "sendmsg: Operation not permitted").
    writeFileSync(join(dir, 'ping'), `${PING_STAND_IN.replace('if [ "$size" = 56 ]; then', 'if [ "$size" = 56 ]; then\n  echo "ping: sendmsg: Operation not permitted" >&2')}`);
    chmodSync(join(dir, 'ping'), 0o755);
    const out = await run(buildProbeCommand({ tool: 'path-mtu', address: '10.244.1.3' }, 2000));
    const text = out.stdout;
    expect(text.indexOf('sendmsg: Operation not permitted')).toBeGreaterThan(text.indexOf('path-mtu: full exit'));
    expect(text.indexOf('sendmsg: Operation not permitted')).toBeLessThan(text.indexOf('path-mtu: small exit'));
  });
});
