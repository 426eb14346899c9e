/**
 * End to end, the hop-by-hop trace (issue 14): the BUILT executable through the real kubectl with `--trace` on each
 * fault the lab injects on the path. The trace's last hop that saw the request and the first that did not must be where
 * the fault is; afterwards no tcpdump runs in any of the lab's network namespaces (the debug containers and node pods
 * exec there), no debug pod is left, and with `--capture-dir` every pcap opens with `tcpdump -r`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin, pluginEnv } from './plugin.ts';
import { run, skipLabSuite, startTestLab, type TestLab } from '../lab/harness.ts';
import { buildCaptureCommand, CaptureStreamReader, hopFilter, planTrace } from '../../src/core/trace-plan.ts';

const skip = skipLabSuite('e2e trace');

interface Walk {
  packet?: string;
  lastSeen?: string;
  firstMissing?: string;
}
interface Hop {
  id: string;
  capture: { kind: string; device?: string; reason?: string };
  forward: string[];
  reverse: string[];
  lines: string[];
  pcap?: string;
}
interface Trace {
  id: string;
  probe: string;
  reason: string;
  hops: Hop[];
  forward: Walk;
  reverse: Walk;
  localized?: string;
  node?: string;
  durationMs: number;
}
interface Report {
  verdict: { cause: string; node?: string; evidence: string[]; citations?: { probe: string; role: string }[] };
  trace?: Trace;
}

/** One fault on the path, and where the trace must stop. */
interface Row {
  scenario: string;
  /** The verdict the run keeps (the trace never overrides a certain finding). */
  cause: string;
  /** The probe traced. */
  probe: RegExp;
  forward: Walk;
  /** Checked only when given. */
  reverse?: Walk;
  localized: RegExp;
  /** A hop that cannot be captured here, and why. */
  notCaptured?: { id: string; reason: RegExp };
  /** The first and last hops of the path, when not the source pod's and the destination pod's eth0 (a node's ping). */
  ends?: { first: string; firstDevice: string; last: string };
}

/** How the first hop's capture lines show the packet followed. */
const LINE_OF: Record<string, RegExp> = { syn: /Flags \[S\]/, 'dns-query': / A\? /, 'icmp-echo': /ICMP echo request, .* length 1480/ };

const rows: Row[] = [
  // FORWARD DROP and ip_forward=0 on node-2: the decapsulated SYN leaves flannel.1 and is never routed onto cni0.
  ...(['forward-policy-drop', 'ip-forward-off'] as const).map((scenario): Row => ({
    scenario,
    cause: scenario === 'ip-forward-off' ? 'NODE_IP_FORWARD_DISABLED' : 'NODE_FORWARD_DROP',
    probe: /^pod-ip:/,
    forward: { packet: 'syn', lastSeen: 'node-2/flannel.1', firstMissing: 'node-2/cni0' },
    reverse: {},
    localized: /inside node-2, between its flannel\.1 and cni0/,
  })),
  // VXLAN dropped on its way into node-2 (INPUT): seen on node-2's eth0, never on its flannel.1.
  {
    scenario: 'overlay-blocked',
    cause: 'OVERLAY_BLOCKED',
    probe: /^pod-ip:/,
    forward: { packet: 'syn', lastSeen: 'node-2/underlay', firstMissing: 'node-2/flannel.1' },
    reverse: {},
    localized: /inside node-2, between its eth0 and flannel\.1/,
  },
  // node-1 lost its route to node-2's pods: the SYN comes up cni0 and never goes down flannel.1.
  {
    scenario: 'pod-route-missing',
    cause: 'NODE_ROUTE_MISSING',
    probe: /^pod-ip:/,
    forward: { packet: 'syn', lastSeen: 'node-1/cni0', firstMissing: 'node-1/flannel.1' },
    localized: /inside node-1, between its cni0 and flannel\.1/,
  },
  // The policy on web admits only shop's pods: node-2 drops the SYN in FORWARD between flannel.1 and cni0.
  {
    scenario: 'network-policy-deny',
    cause: 'NETWORK_POLICY_DENY',
    probe: /^pod-ip:/,
    forward: { packet: 'syn', lastSeen: 'node-2/flannel.1', firstMissing: 'node-2/cni0' },
    reverse: {},
    localized: /inside node-2, between its flannel\.1 and cni0/,
  },
  // No DNAT on node-1: the SYN to the ClusterIP comes up cni0 and never leaves towards a backend; node-1 answers ICMP.
  {
    scenario: 'kube-proxy-rules-missing',
    cause: 'SERVICE_PROXY_RULES_MISSING',
    probe: /^cluster-ip:/,
    forward: { packet: 'syn', lastSeen: 'node-1/cni0', firstMissing: 'node-1/flannel.1' },
    localized: /inside node-1, between its cni0 and flannel\.1/,
  },
  // node-2's neighbor entry for web-1 names a MAC no bridge port has: its port cannot be found, and the SYN leaves cni0
  // addressed to that MAC, which the pod (capturing only its own frames) never receives.
  {
    scenario: 'neighbor-stale',
    cause: 'NODE_NEIGHBOR_STALE',
    probe: /^pod-ip:/,
    forward: { packet: 'syn', lastSeen: 'node-2/cni0', firstMissing: 'destination-pod/eth0' },
    reverse: {},
    localized: /^SYN leaves node-2's cni0, never reaches the destination pod's eth0: between the pod and node-2$/,
    notCaptured: { id: 'node-2/veth:10.244.2.2', reason: /no port of cni0 has learnt ([0-9a-f]{2}:){5}[0-9a-f]{2}, the MAC of the node's neighbor entry for 10\.244\.2\.2$/ },
  },
  // The DNS server stopped (nothing listens on UDP 53): no TCP probe fails, so the failed lookup is traced; the query
  // reaches the DNS pod's own eth0 on node-1 and its ICMP port unreachable comes back all the way.
  {
    scenario: 'dns-server-down',
    cause: 'DNS_SERVER_UNRESPONSIVE',
    probe: /^dns:/,
    forward: { packet: 'dns-query', lastSeen: 'destination-pod/eth0' },
    reverse: { packet: 'icmp-unreachable', lastSeen: 'source-pod/eth0' },
    localized: /^DNS query reaches the destination pod's eth0, and ICMP unreachable comes back from the destination: it refuses the flow$/,
  },
  // MTU: the handshake's small packets pass every hop, so the failed path-MTU check's full-size ping is traced instead,
  // from node-2 (whose overlay MTU exceeds the path) to the client pod on node-1: its 1500-byte echo leaves node-2's
  // underlay inside VXLAN and the underlay drops it before node-1's.
  {
    scenario: 'mtu-mismatch',
    cause: 'PATH_MTU_MISMATCH',
    probe: /^node-checks:node-2:mtu:10\.244\.1\.\d+$/,
    forward: { packet: 'icmp-echo', lastSeen: 'node-2/underlay', firstMissing: 'node-1/underlay' },
    reverse: {},
    localized: /^the full-size ping \(1500 bytes, don't fragment\) from node-2 leaves node-2's eth0 \(underlay\), never reaches node-1's eth0 \(underlay\): between the nodes \(the underlay network\)$/,
    ends: { first: 'node-2/flannel.1', firstDevice: 'flannel.1', last: 'source-pod/eth0' },
  },
];

/** The processes running in every network namespace of a lab, as `netns pid comm` (a namespace deleted meanwhile has none listed). */
function labProcesses(lab: TestLab): string[] {
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`nd${lab.rec.labId}-`));
  expect(names.length).toBeGreaterThan(3);
  return names.flatMap((ns) => {
    const listed = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    return listed.status !== 0
      ? []
      : listed.stdout
          .split('\n')
          .filter((p) => p.trim() !== '')
          .flatMap((pid) => {
            const comm = readProc(pid, 'comm');
            return comm === undefined ? [] : [`${ns} ${pid} ${comm.trim()}`];
          });
  });
}

/** A file of /proc/PID, or undefined when the process ended. */
function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** The network namespace inode of a process (`/proc/PID/ns/net` reads `net:[INODE]`), or undefined when it ended. */
function netnsOf(pid: string): number | undefined {
  try {
    return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1]);
  } catch {
    return undefined;
  }
}

/**
 * The capture scripts and their tcpdumps still running in this lab (`sh -c … netdebug-trace MARK`, or a tcpdump writing
 * the script's `N.p`): in one of its network namespaces, or in a namespace no longer named at all (a debug pod's is
 * deleted with the pod, but a process in it would live on). Other labs' namespaces, and the machine's own, are not this
 * lab's: suites that run at the same time do not see each other's captures.
 */
function captureProcesses(lab: TestLab): string[] {
  // A namespace another suite's lab removes between the listing and its stat is skipped (seen under busy cores).
  const named = readdirSync('/run/netns').flatMap((name) => {
    try {
      return [{ name, ino: statSync(`/run/netns/${name}`).ino }];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  });
  const ours = new Set(named.filter((n) => n.name.startsWith(`nd${lab.rec.labId}-`)).map((n) => n.ino));
  const others = new Set([...named.filter((n) => !n.name.startsWith(`nd${lab.rec.labId}-`)).map((n) => n.ino), netnsOf('self')]);
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      const argv = (readProc(pid, 'cmdline') ?? '').split('\0');
      const capture = argv.includes('netdebug-trace') || (argv.some((a) => a.endsWith('tcpdump')) && argv.some((a) => /\/\d+\.p$/.test(a)));
      const ns = netnsOf(pid);
      return capture && ns !== undefined && (ours.has(ns) || !others.has(ns)) ? [`${pid} ${argv.join(' ').slice(0, 120)}`] : [];
    });
}

async function traced(lab: TestLab, extra: string[] = []): Promise<{ code: number; report: Report; stderr: string }> {
  const env = pluginEnv(lab.kubeconfig, { NO_COLOR: '1' });
  const res = await run('kubectl', ['netdebug', 'default/client', 'shop/svc/web', '--trace', '-o', 'json', ...extra], { env, timeoutMs: 120_000 });
  return { code: res.code, report: JSON.parse(res.stdout) as Report, stderr: res.stderr };
}

describe.skipIf(skip)('kubectl netdebug --trace end to end on flannel', () => {
  beforeAll(buildPlugin, 120_000);

  it.each(rows)('$scenario: the trace stops where the fault is', async (row) => {
    const lab = await startTestLab(row.scenario);
    try {
      const { report, stderr } = await traced(lab);
      const t = report.trace;
      expect(t, stderr).toBeDefined();
      if (!t) return;
      expect(report.verdict.cause, stderr).toBe(row.cause);
      expect(t.probe).toMatch(row.probe);
      expect(t.reason).toBe('asked');
      expect(t.forward, JSON.stringify(t.hops, null, 1)).toEqual(row.forward);
      if (row.reverse) expect(t.reverse, JSON.stringify(t.hops, null, 1)).toEqual(row.reverse);
      expect(t.localized ?? '').toMatch(row.localized);
      if (row.notCaptured) {
        const hop = t.hops.find((h) => h.id === row.notCaptured?.id);
        expect(hop?.capture.kind).toBe('not-captured');
        expect(hop?.capture.reason).toMatch(row.notCaptured.reason);
      }
      // The first hop (the source pod's own eth0, or the pinging node's tunnel) saw the request in every case, and every
      // hop listed what it captured.
      const ends = row.ends ?? { first: 'source-pod/eth0', firstDevice: 'eth0', last: 'destination-pod/eth0' };
      expect(t.hops[0]).toMatchObject({ id: ends.first, capture: { kind: 'captured', device: ends.firstDevice } });
      // --trace captures in the pod at the far end too (the destination pod's own ephemeral container), last on the path.
      expect(t.hops.at(-1)).toMatchObject({ id: ends.last, capture: { kind: 'captured', device: 'eth0' } });
      expect(t.hops[0]?.forward).toContain(row.forward.packet);
      expect(t.hops[0]?.lines.join('\n')).toMatch(LINE_OF[row.forward.packet ?? ''] ?? /^$/);
      // The trace is evidence of the verdict, cited by its id.
      if (t.localized) expect(report.verdict.citations).toContainEqual({ probe: t.id, role: 'reference' });
      // Nothing of the trace is left: no tcpdump in any namespace of the lab, no debug pod.
      expect(labProcesses(lab).filter((p) => / tcpdump$| timeout$/.test(p))).toEqual([]);
      expect(captureProcesses(lab)).toEqual([]);
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
      expect(left).toMatchObject({ code: 0, stdout: '' });
    } finally {
      await lab.down();
    }
  });

  it('--capture-dir: one pcap per captured hop, each opening with tcpdump -r and holding what the trace saw', async () => {
    const lab = await startTestLab('overlay-blocked');
    const dir = mkdtempSync(join(tmpdir(), 'netdebug-pcaps-'));
    try {
      const { report, stderr } = await traced(lab, ['--capture-dir', dir]);
      const t = report.trace;
      expect(t, stderr).toBeDefined();
      const captured = (t?.hops ?? []).filter((h) => h.capture.kind === 'captured');
      expect(captured.length).toBeGreaterThanOrEqual(8);
      expect(readdirSync(dir).sort()).toEqual(captured.map((h) => h.pcap).sort());
      for (const hop of captured) {
        const read = await run('tcpdump', ['-nn', '-r', join(dir, hop.pcap ?? '')]);
        expect(read.code, `${hop.id}: ${read.stderr}`).toBe(0);
        expect(read.stderr).toMatch(/reading from file .*link-type EN10MB/);
        const syns = read.stdout.split('\n').filter((l) => /Flags \[S\]/.test(l)).length;
        expect(syns > 0, `${hop.id}\n${read.stdout}`).toBe(hop.forward.includes('syn'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await lab.down();
    }
  });

  it('the capture script: listening only once tcpdump listens, stopped by PID on a word from stdin, bounded by timeout when its exec dies', async () => {
    const lab = await startTestLab('healthy-2-nodes');
    try {
      const plan = planTrace({
        network: 'flannel',
        probe: 'p',
        flow: { protocol: 'TCP', source: '10.244.1.3', destination: { ip: '10.244.2.2', port: 8080 }, translated: [] },
        source: { ip: '10.244.1.3', node: 'node-1' },
        destination: { ip: '10.244.2.2', node: 'node-2', name: 'shop/web-1' },
        nodeIPs: { 'node-1': '172.31.0.11', 'node-2': '172.31.0.12' },
      });
      const node1 = plan.hops.filter((h) => h.where.kind === 'node-pod' && h.where.node === 'node-1');
      const start = (bound: number) => {
        const mark = `nt-${bound}`;
        const argv = buildCaptureCommand(node1.map((hop) => ({ hop, filter: hopFilter(plan.flow, hop) })), mark, { pcap: false, boundSeconds: bound });
        // As the lab's kubelet runs an exec: in the node's network namespace.
        const child = spawn('ip', ['netns', 'exec', `nd${lab.rec.labId}-n1`, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
        const reader = new CaptureStreamReader(mark);
        const records: ReturnType<CaptureStreamReader['push']> = [];
        const listening = new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (c: Buffer) => {
            records.push(...reader.push(c));
            if (reader.listening) resolve();
          });
          child.on('close', () => reject(new Error('the capture script ended before it listened')));
        });
        const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
        const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
        return { child, records, listening, closed, exited };
      };

      const normal = start(30);
      await normal.listening;
      // Listening: one tcpdump per hop of node-1 runs (in the lab's namespace), under the script.
      expect(captureProcesses(lab).filter((p) => /^\d+ tcpdump /.test(p)).length).toBe(node1.length);
      normal.child.stdin.write('stop\n');
      await normal.closed;
      expect(normal.records.map((r) => r.index)).toEqual(node1.map((_, i) => i));
      expect(normal.records.every((r) => /listening on/.test(r.stderr))).toBe(true);
      expect(captureProcesses(lab)).toEqual([]);

      // The exec dies (the lab's kubelet SIGKILLs it when the stream closes): the tcpdumps live on only to their bound.
      const killed = start(2);
      await killed.listening;
      killed.child.kill('SIGKILL');
      await killed.exited;
      const orphans = captureProcesses(lab).filter((p) => /^\d+ tcpdump /.test(p));
      expect(orphans.length).toBeGreaterThan(0);
      const deadline = Date.now() + 30_000;
      while (captureProcesses(lab).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(captureProcesses(lab)).toEqual([]);
    } finally {
      await lab.down();
    }
  });
});
