/**
 * Dual-stack end to end: the real plugin (src/main.ts in a child process) against the fake API server made dual-stack
 * (pods with `podIPs`, Service default/web with `clusterIPs` and `ipFamilies`, an EndpointSlice of addressType IPv6,
 * nodes with an InternalIP of each family), each probe answered by its command as a node would answer it. The ladder
 * runs once per family, a fault in IPv6 alone is named with its family, and `--family` narrows or refuses.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeApiServer, type ExecCall, type ExecReply } from './fake-api-server.ts';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const TARGETS = ['default/client', 'default/svc/web:80'];
const WEB1_V6 = 'fd00:10:244:2::7';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

let fakes: FakeApiServer[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  fakes = [];
});

async function dualStackFake(answer: (call: ExecCall) => ExecReply | undefined = () => undefined): Promise<FakeApiServer> {
  const f = await new FakeApiServer().start();
  fakes.push(f);
  f.makeDualStack();
  f.execAnswer = (call) => answer(call) ?? healthyNode(call);
  return f;
}

function runPlugin(f: FakeApiServer, args: string[]): Promise<Ran> {
  const child = spawn(process.execPath, [main, ...args], {
    env: { PATH: process.env.PATH, HOME: tmpdir(), KUBECONFIG: f.kubeconfig, CI: 'true', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += String(b)));
  child.stderr.on('data', (b: Buffer) => (stderr += String(b)));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** dig's answer to one query, as dig prints it. */
function dig(name: string, type: 'A' | 'AAAA', address: string): string {
  return [
    `; <<>> DiG 9.18.27 <<>> ${name}`,
    ';; global options: +cmd',
    ';; Got answer:',
    ';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242',
    ';; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1',
    '',
    ';; ANSWER SECTION:',
    `${name}. 30 IN ${type} ${address}`,
    '',
    ';; Query time: 1 msec',
    '',
  ].join('\n');
}

/** A FORWARD dump of a section script: the backend's tools fenced, the chain accepting. */
function forwardDump(tool: 'iptables' | 'ip6tables'): string {
  return [
    `== netdebug: ${tool}-nft-save`,
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    'COMMIT',
    '== netdebug exit 0',
    `== netdebug: ${tool}-legacy-save`,
    '== netdebug exit 0',
    '',
  ].join('\n');
}

/** How a healthy dual-stack node answers each of the plugin's probes. */
function healthyNode(call: ExecCall): ExecReply {
  const c = call.command;
  let m: RegExpExecArray | null;
  if ((m = /^nc (?:-6 )?-z -v -w \d+ (\S+) (\d+)$/.exec(c))) return { stdout: '', stderr: `Connection to ${m[1]} ${m[2]} port [tcp/*] succeeded!\n`, exit: 0 };
  if (c.startsWith('dig ')) {
    const aaaa = / -t AAAA /.test(c);
    const name = c.split(' ').at(-1) ?? '';
    return { stdout: dig(name.includes('.svc.') ? name : `${name}.svc.cluster.local`, aaaa ? 'AAAA' : 'A', aaaa ? 'fd00:10:96::1' : '10.96.1.1'), exit: 0 };
  }
  if (c === 'cat /etc/resolv.conf') return { stdout: 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n', exit: 0 };
  if (c.startsWith('sysctl -n ')) return { stdout: '1\n', exit: 0 };
  if (c.includes('ip6tables-nft-save')) return { stdout: forwardDump('ip6tables'), exit: 0 };
  if (c.includes('iptables-nft-save')) return { stdout: forwardDump('iptables'), exit: 0 };
  if ((m = /^ip -6 route list match (\S+)$/.exec(c))) {
    const net = m[1]?.startsWith('fd00:10:244:2:') ? 'fd00:10:244:2::/64' : 'fd00:10:244:1::/64';
    return { stdout: `${net} via fd00:172:18::${net.includes(':2::') ? 3 : 2} dev eth0 metric 1024 pref medium\n`, exit: 0 };
  }
  if ((m = /^ip -4 route list match (\S+)$/.exec(c))) {
    const third = m[1]?.split('.')[2];
    return { stdout: `10.244.${third}.0/24 via 10.244.${third}.0 dev flannel.1 onlink\n`, exit: 0 };
  }
  if (c.startsWith('ip -o -d link show')) {
    return { stdout: '2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \\    link/ether 02:42:ac:12:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0 promiscuity 0 \\    veth \n', exit: 0 };
  }
  if ((m = /(?:ip neigh show|sh) .*?(10\.244\.\d+\.\d+)$/.exec(c))) return { stdout: `${m[1]} dev cni0 lladdr 0a:58:0a:f4:02:07 REACHABLE\n`, exit: 0 };
  if (c.includes('path-mtu')) {
    return { stdout: 'path-mtu: dev flannel.1 mtu 1450\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\npath-mtu: full exit 0\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\npath-mtu: small exit 0\n', exit: 0 };
  }
  if (c.startsWith('ping ')) return { stdout: '50 packets transmitted, 50 received, 0% packet loss, time 490ms\nrtt min/avg/max/mdev = 0.050/0.080/0.200/0.020 ms\n', exit: 0 };
  return { stdout: '', stderr: `sh: ${c.split(' ')[0] ?? ''}: not found\n`, exit: 127 };
}

interface JsonReport {
  verdict: { status: string; cause: string; node?: string; family?: string; summary: string; hints: string[] };
  findings: { cause: string; family?: string }[];
  families?: string[];
  source: { ip: string; ips?: string[] };
  destination: { clusterIP?: string; clusterIPs?: string[]; endpoints?: { ip: string }[] };
  rungs: { id: string; status: string; probes: { id: string; target: string; family?: string; observation: { kind: string } }[] }[];
}

const probesOf = (r: JsonReport, rung: string) => r.rungs.find((g) => g.id === rung)?.probes ?? [];

describe('dual-stack Service against the fake API server', () => {
  it('healthy: every rung runs in IPv4 and IPv6, exit 0, the probes tagged with their family', async () => {
    const f = await dualStackFake();
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.verdict).toMatchObject({ status: 'healthy', cause: 'HEALTHY' });
    expect(report.families).toEqual(['IPv4', 'IPv6']);
    expect(report.destination.endpoints?.map((e) => e.ip)).toEqual(['10.244.2.7', WEB1_V6]);
    expect(report.destination).toMatchObject({ clusterIP: '10.96.1.1', clusterIPs: ['10.96.1.1', 'fd00:10:96::1'] });
    expect(report.source).toMatchObject({ ip: '10.244.1.5', ips: ['10.244.1.5', 'fd00:10:244:1::5'] });
    expect(probesOf(report, 'cluster-ip').map((p) => `${p.family} ${p.target}`)).toEqual(['IPv4 10.96.1.1:80', 'IPv6 [fd00:10:96::1]:80']);
    expect(probesOf(report, 'pod-ip').map((p) => `${p.family} ${p.target}`)).toEqual(['IPv4 10.244.2.7:8080', `IPv6 [${WEB1_V6}]:8080`]);
    expect(probesOf(report, 'same-node').map((p) => p.family)).toEqual(['IPv4', 'IPv6']);
    // A and AAAA lookups, planned again from the source's resolv.conf.
    expect(probesOf(report, 'dns').filter((p) => p.family === 'IPv6').map((p) => p.id)).toContain('dns:search:web.default:AAAA');
    for (const rung of report.rungs) expect(rung.status, rung.id).toBe('passed');
  }, 60_000);

  it('the text report shows each rung per family and every address of the Service', async () => {
    const f = await dualStackFake();
    const r = await runPlugin(f, [...TARGETS, '-o', 'text']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('service default/web, 10.96.1.1:80 (also fd00:10:96::1)');
    expect(r.stdout).toMatch(/pod-ip .*\(IPv4 ✓ 1\/1 · IPv6 ✓ 1\/1\)/);
    expect(r.stdout).toMatch(/node-2 .*net\.ipv6\.conf\.all\.forwarding.* \[IPv6\]/);
    expect(r.stdout).toMatch(/node-2 +FORWARD policy ACCEPT; this flow is accepted \(ip6tables-nft\) \[IPv6\]/);
    expect(r.stdout).toMatch(/node-2 +FORWARD policy ACCEPT; this flow is accepted \(iptables-nft\) \[IPv4\]/);
  }, 60_000);

  it('IPv6 forwarding off on node-2: NODE_IP_FORWARD_DISABLED on node-2 named IPv6, exit 1', async () => {
    const f = await dualStackFake((call) => {
      if (call.node === 'node-2' && call.command === 'sysctl -n net.ipv6.conf.all.forwarding') return { stdout: '0\n', exit: 0 };
      // node-2 no longer forwards IPv6 to its pods: IPv6 connections from anywhere else time out.
      if (call.node !== 'node-2' && call.command.startsWith('nc -6 ')) {
        const [, host, port] = / (\S+) (\d+)$/.exec(call.command) ?? [];
        return { stdout: '', stderr: `nc: connect to ${host} port ${port} (tcp) timed out: Operation now in progress\n`, exit: 1 };
      }
      return undefined;
    });
    const r = await runPlugin(f, [...TARGETS, '-o', 'json']);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.verdict).toMatchObject({ status: 'broken', cause: 'NODE_IP_FORWARD_DISABLED', node: 'node-2', family: 'IPv6' });
    expect(report.verdict.summary).toMatch(/^IPv6: IPv6 forwarding is off on node node-2/);
    expect(report.verdict.hints[0]).toBe('on node node-2: sysctl -w net.ipv6.conf.all.forwarding=1');
    // The IPv4 ladder passed: nothing is said of IPv4.
    expect(report.findings.some((x) => x.family === 'IPv4')).toBe(false);
    expect(probesOf(report, 'pod-ip').map((p) => `${p.family} ${p.observation.kind}`)).toEqual(['IPv4 connected', 'IPv6 timeout']);
  }, 60_000);

  it('--family IPv6 runs the IPv6 ladder alone', async () => {
    const f = await dualStackFake();
    const r = await runPlugin(f, [...TARGETS, '-o', 'json', '--family', 'IPv6']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.families).toEqual(['IPv6']);
    expect(probesOf(report, 'pod-ip').map((p) => p.target)).toEqual([`[${WEB1_V6}]:8080`]);
    expect(probesOf(report, 'cluster-ip').map((p) => p.target)).toEqual(['[fd00:10:96::1]:80']);
    expect(f.log.filter((l) => l.method === 'EXEC').length).toBeGreaterThan(0);
  }, 60_000);

  it('--family IPv6 against a single-stack Service: a usage error with a hint, exit 2, no debug pod made', async () => {
    const f = await new FakeApiServer().start();
    fakes.push(f);
    const r = await runPlugin(f, [...TARGETS, '--family', 'IPv6']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--family IPv6: Service default/web has no IPv6 address (its family is IPv4)');
    expect(r.stderr).toContain('--family IPv4');
    // Nothing was created or changed (the preflight's access reviews, which start beside resolution, are reads).
    expect(f.log.filter((l) => (l.method === 'POST' || l.method === 'PATCH') && !l.path.startsWith('/apis/authorization.k8s.io/'))).toEqual([]);
  }, 60_000);

  it('an IPv6 address in brackets is a destination of its own: the ladder runs in IPv6', async () => {
    const f = await dualStackFake();
    const r = await runPlugin(f, ['default/client', `[${WEB1_V6}]:8080`, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.families).toEqual(['IPv6']);
    expect(probesOf(report, 'pod-ip').map((p) => `${p.target} ${p.observation.kind}`)).toEqual([`[${WEB1_V6}]:8080 connected`]);
  }, 60_000);
});
