/**
 * The hop-by-hop trace's pure parts (issue 14): the hops each pod network has, the tcpdump filters, the capture
 * stream, tcpdump's text read from real lab captures (test/unit/trace-fixtures/, taken with the capture script's own
 * flags), the last-seen / first-missing walk with its sentence, and what a trace changes in a verdict.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Finding, ProbeResult, ProbeSpec } from '../../src/core/model.ts';
import { analyzeTrace, classifyHop, untranslatedService } from '../../src/core/trace-analysis.ts';
import { parseTcpdumpText } from '../../src/core/trace-parse.ts';
import { buildCaptureCommand, captureBoundSeconds, captureLocationKey, CaptureStreamReader, echoEncapsulatedFilter, echoInnerFilter, encapsulatedFilter, hopFilter, innerFilter, ipv4Hex, planEchoTrace, planTrace, type TraceFlow, type TracePlanInput } from '../../src/core/trace-plan.ts';
import { echoTracePlanFor, isUncertain, pickMtuCheck, pickTraceProbe, TRACE_CAPTURE_NEED, tracePlanFor, withTrace } from '../../src/core/trace-select.ts';
import { planPrivileges, type PrivilegeInput } from '../../src/core/privilege.ts';

const fixture = (name: string): string => readFileSync(new URL(`trace-fixtures/${name}`, import.meta.url), 'utf8');

const base: TracePlanInput = {
  network: 'flannel',
  probe: 'pod-ip:10.244.2.2:8080',
  flow: { protocol: 'TCP', source: '10.244.1.3', destination: { ip: '10.244.2.2', port: 8080 }, translated: [] },
  source: { ip: '10.244.1.3', node: 'node-1' },
  destination: { ip: '10.244.2.2', node: 'node-2', name: 'shop/web-1' },
  nodeIPs: { 'node-1': '172.31.0.11', 'node-2': '172.31.0.12' },
};

describe('planTrace: the hops of each network, in path order', () => {
  it('flannel across nodes: pod eth0, veth, cni0, flannel.1, underlay, then the same backwards on node-2', () => {
    const plan = planTrace(base);
    expect(plan.hops.map((h) => h.id)).toEqual([
      'source-pod/eth0',
      'node-1/veth:10.244.1.3',
      'node-1/cni0',
      'node-1/flannel.1',
      'node-1/underlay',
      'node-2/underlay',
      'node-2/flannel.1',
      'node-2/cni0',
      'node-2/veth:10.244.2.2',
    ]);
    expect(plan.hops.find((h) => h.id === 'node-1/underlay')).toMatchObject({ encapsulation: { port: 8472 }, device: { kind: 'route-to', address: '172.31.0.12' }, where: { kind: 'node-pod', node: 'node-1', hostNetwork: true } });
    expect(plan.hops.find((h) => h.id === 'node-2/underlay')?.device).toEqual({ kind: 'route-to', address: '172.31.0.11' });
    expect(plan.hops[0]?.where).toEqual({ kind: 'source-pod' });
    expect(plan.unreachable.map((u) => u.label)).toEqual(['shop/web-1 eth0']);
  });

  it('calico-vxlan: no bridge, vxlan.calico on UDP 4789', () => {
    const ids = planTrace({ ...base, network: 'calico-vxlan' }).hops.map((h) => h.id);
    expect(ids).toEqual(['source-pod/eth0', 'node-1/veth:10.244.1.3', 'node-1/vxlan.calico', 'node-1/underlay', 'node-2/underlay', 'node-2/vxlan.calico', 'node-2/veth:10.244.2.2']);
    expect(planTrace({ ...base, network: 'calico-vxlan' }).hops.find((h) => h.role === 'underlay')?.encapsulation).toEqual({ port: 4789 });
  });

  it('calico-bgp and cloud-routed: pod addresses cross the underlay unencapsulated', () => {
    for (const network of ['calico-bgp', 'cloud-routed'] as const) {
      const plan = planTrace({ ...base, network });
      expect(plan.hops.map((h) => h.role)).toEqual(['pod', 'veth', 'underlay', 'underlay', 'veth']);
      expect(plan.hops.some((h) => h.encapsulation)).toBe(false);
    }
  });

  it('cilium: cilium_vxlan on UDP 8472', () => {
    const plan = planTrace({ ...base, network: 'cilium' });
    expect(plan.hops.map((h) => h.id)).toContain('node-2/cilium_vxlan');
    expect(plan.hops.find((h) => h.role === 'underlay')?.encapsulation).toEqual({ port: 8472 });
  });

  it('same node: the two veths around the bridge, no tunnel or underlay', () => {
    const plan = planTrace({ ...base, destination: { ip: '10.244.1.2', node: 'node-1', name: 'kube-system/coredns' } });
    expect(plan.hops.map((h) => h.id)).toEqual(['source-pod/eth0', 'node-1/veth:10.244.1.3', 'node-1/cni0', 'node-1/veth:10.244.1.2']);
  });
});

describe('filters', () => {
  it('the inner flow: the protocol between the source and every far end, ICMP about the source', () => {
    const f = innerFilter({ ...base.flow, destination: { ip: '10.96.0.2', port: 80 }, translated: [{ ip: '10.244.2.2', port: 8080 }] });
    expect(f).toBe('(tcp and host 10.244.1.3 and ((host 10.96.0.2 and port 80) or (host 10.244.2.2 and port 8080))) or (icmp and host 10.244.1.3)');
  });

  it('the encapsulated flow: VXLAN on its port with the inner addresses at udp[42] and udp[46], both ways', () => {
    expect(ipv4Hex('10.244.1.3')).toBe('0x0af40103');
    expect(() => ipv4Hex('10.244.1')).toThrow();
    const f = encapsulatedFilter(base.flow, 8472);
    expect(f).toContain('udp dst port 8472');
    expect(f).toContain('(udp[42:4] = 0x0af40103 and udp[46:4] = 0x0af40202)');
    expect(f).toContain('(udp[42:4] = 0x0af40202 and udp[46:4] = 0x0af40103)');
    const plan = planTrace(base);
    expect(hopFilter(plan.flow, plan.hops[4] as (typeof plan.hops)[number])).toBe(f);
    expect(hopFilter(plan.flow, plan.hops[3] as (typeof plan.hops)[number])).toBe(innerFilter(base.flow));
  });
});

describe('the capture script and its stream', () => {
  it('starts each tcpdump bounded by timeout, waits for "listening on", stops on a line of stdin and kills by PID', () => {
    const plan = planTrace(base);
    const argv = buildCaptureCommand(plan.hops.slice(1, 5).map((hop) => ({ hop, filter: hopFilter(plan.flow, hop) })), 'nt-abc', { pcap: false, boundSeconds: captureBoundSeconds(2000) });
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv.slice(3)).toEqual(['netdebug-trace', 'nt-abc']);
    const script = argv[2] as string;
    expect(script).toMatch(/timeout 17 tcpdump -i "\$dev" -nn -U --immediate-mode/);
    expect(script).toContain('until grep -q "listening on"');
    expect(script).toContain('read -r _');
    expect(script).toContain('kill -TERM "$p"');
    expect(script).toContain('-T vxlan -r');
    expect(script).not.toMatch(/sleep [1-9]/);
    expect(() => buildCaptureCommand([], 'bad mark;', { pcap: false, boundSeconds: 1 })).toThrow();
  });

  it('reads the listening line, then records with text, stderr and pcap bytes, across chunk boundaries', () => {
    const r = new CaptureStreamReader('nt-1');
    const pcap = Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 0x0a, 0x00]);
    const body = Buffer.concat([
      Buffer.from('noise\nnt-1 listening\nnt-1 0 eth0 4 3 6\nabc\nerr'),
      pcap,
      Buffer.from('nt-1 1  0 5 0\nnone\n'),
    ]);
    const got = [...r.push(body.subarray(0, 20)), ...r.push(body.subarray(20, 31)), ...r.push(body.subarray(31))];
    expect(r.listening).toBe(true);
    expect(got.map((g) => ({ ...g, pcap: [...g.pcap] }))).toEqual([
      { index: 0, device: 'eth0', text: 'abc\n', stderr: 'err', pcap: [...pcap] },
      { index: 1, device: '', text: '', stderr: 'none\n', pcap: [] },
    ]);
  });
});

describe('parseTcpdumpText on lab captures', () => {
  it('a connection and DNS on one node: SYN, SYN-ACK, ACK, FIN, RST, DNS query and answers (NXDomain too)', () => {
    const kinds = parseTcpdumpText(fixture('tcp-dns-same-node.txt')).map((p) => `${p.src}:${p.srcPort}>${p.dst}:${p.dstPort} ${p.kind}`);
    expect(kinds).toEqual([
      '10.244.1.3:43842>10.244.1.2:53 syn',
      '10.244.1.2:53>10.244.1.3:43842 syn-ack',
      '10.244.1.3:43842>10.244.1.2:53 ack',
      '10.244.1.3:43842>10.244.1.2:53 fin',
      '10.244.1.2:53>10.244.1.3:43842 fin',
      '10.244.1.3:43842>10.244.1.2:53 ack',
      '10.244.1.3:56004>10.244.1.2:81 syn',
      '10.244.1.2:81>10.244.1.3:56004 rst',
      '10.244.1.3:36850>10.244.1.2:53 dns-query',
      '10.244.1.2:53>10.244.1.3:36850 dns-answer',
      '10.244.1.3:50133>10.244.1.2:53 dns-query',
      '10.244.1.2:53>10.244.1.3:50133 dns-answer',
    ]);
    expect(parseTcpdumpText(fixture('tcp-dns-same-node.txt'))[0]?.time).toBeCloseTo(1796540675.853005, 5);
  });

  it('VXLAN on the underlay (-T vxlan): the inner flow, with the outer addresses', () => {
    const packets = parseTcpdumpText(fixture('connected-node-2-underlay.txt'));
    expect(packets[0]).toMatchObject({ src: '10.244.1.3', dst: '10.244.2.2', dstPort: 8080, kind: 'syn', outer: { src: '172.31.0.11', dst: '172.31.0.12' } });
    expect(packets[1]).toMatchObject({ src: '10.244.2.2', dst: '10.244.1.3', kind: 'syn-ack', outer: { src: '172.31.0.12', dst: '172.31.0.11' } });
    expect(packets.length).toBe(parseTcpdumpText(fixture('connected-node-2-veth.txt')).length);
  });

  it('an empty capture is no packet', () => {
    expect(parseTcpdumpText(fixture('overlay-blocked-node-2_flannel.1.txt'))).toEqual([]);
  });
});

describe('analyzeTrace', () => {
  const plan = planTrace(base);
  const captured = (prefix: string) =>
    new Map(
      plan.hops.map((h) => {
        const text = fixture(`${prefix}${h.id.replace(/[^a-z0-9.-]+/gi, '_')}.txt`);
        return [h.id, { device: h.id.endsWith('underlay') ? 'eth0' : h.id.split('/')[1] as string, packets: parseTcpdumpText(text), lines: text.split('\n').filter((l) => l !== '') }];
      }),
    );

  it('overlay-blocked into node-2 (lab capture): the SYN reaches node-2 eth0 and never flannel.1, inside node-2', () => {
    const t = analyzeTrace(plan, captured('overlay-blocked-'), { reason: 'asked', outcome: 'timeout', durationMs: 2100 });
    expect(t.forward).toEqual({ packet: 'syn', lastSeen: 'node-2/underlay', firstMissing: 'node-2/flannel.1' });
    expect(t.reverse).toEqual({});
    expect(t.localized).toBe("SYN leaves node-2's eth0 (underlay), never reaches node-2's flannel.1: inside node-2, between its eth0 and flannel.1");
    expect(t.node).toBe('node-2');
    expect(t.id).toBe('trace:pod-ip:10.244.2.2:8080');
    expect(t.hops[0]?.forward).toEqual(['syn']);
  });

  it('a loss on the wire between the nodes, and one before the source pod even sends', () => {
    const caps = captured('overlay-blocked-');
    const empty = { device: 'eth0', packets: [], lines: [] };
    caps.set('node-2/underlay', empty);
    expect(analyzeTrace(plan, caps, { reason: 'asked', outcome: 'timeout', durationMs: 1 }).localized).toBe(
      "SYN leaves node-1's eth0 (underlay), never reaches node-2's eth0 (underlay): between the nodes (the underlay network)",
    );
    const none = new Map(plan.hops.map((h) => [h.id, empty]));
    const t = analyzeTrace(plan, none, { reason: 'asked', outcome: 'timeout', durationMs: 1 });
    expect(t.localized).toBeUndefined();
  });

  it('a hop not captured is skipped by the walk and shown as such', () => {
    const caps = captured('overlay-blocked-') as Map<string, unknown>;
    caps.set('node-2/flannel.1', { error: 'no such interface' });
    const t = analyzeTrace(plan, caps as never, { reason: 'asked', outcome: 'timeout', durationMs: 1 });
    expect(t.forward.firstMissing).toBe('node-2/cni0');
    expect(t.hops.find((h) => h.id === 'node-2/flannel.1')?.capture).toEqual({ kind: 'not-captured', reason: 'no such interface' });
  });

  it('a reply lost on the way back is localized on the reverse walk', () => {
    const syn = parseTcpdumpText(fixture('connected-node-2-veth.txt'));
    const synOnly = syn.filter((p) => p.src === '10.244.1.3');
    const caps = new Map(plan.hops.map((h) => [h.id, { device: 'x', packets: ['node-2/veth:10.244.2.2', 'node-2/cni0'].includes(h.id) ? syn : synOnly, lines: [] }]));
    const t = analyzeTrace(plan, caps, { reason: 'asked', outcome: 'timeout', durationMs: 1 });
    expect(t.forward).toEqual({ packet: 'syn', lastSeen: 'node-2/veth:10.244.2.2' });
    expect(t.reverse).toEqual({ packet: 'syn-ack', lastSeen: 'node-2/cni0', firstMissing: 'node-2/flannel.1' });
    expect(t.localized).toBe("SYN reaches the destination; the SYN-ACK leaves node-2's x, never reaches node-2's x: inside node-2, between its x and x");
  });

  it('classifies by direction: towards the destination, and back to the source', () => {
    expect(classifyHop(base.flow, parseTcpdumpText(fixture('refused-bridge.txt')))).toEqual({ forward: ['syn'], reverse: ['rst'] });
  });
});

describe('trace and verdict', () => {
  const finding = (cause: Finding['cause']): Finding => ({ status: 'broken', cause, component: 'network', summary: 's', evidence: ['e'], hints: ['h'] });
  const trace = analyzeTrace(planTrace(base), new Map(), { reason: 'uncertain-verdict', outcome: 'timeout', durationMs: 1 });
  const localized = { ...trace, localized: 'SYN leaves a, never reaches b: inside node-2', node: 'node-2' };

  it('an uncertain verdict (CONNECTION_FAILED) is localized: summary, node, evidence and a citation of the trace', () => {
    expect(isUncertain(finding('CONNECTION_FAILED'))).toBe(true);
    const v = withTrace(finding('CONNECTION_FAILED'), localized);
    expect(v).toMatchObject({ cause: 'CONNECTION_FAILED', node: 'node-2', summary: 's; the trace localizes it: SYN leaves a, never reaches b: inside node-2' });
    expect(v.evidence.at(-1)).toBe('trace (trace:pod-ip:10.244.2.2:8080): SYN leaves a, never reaches b: inside node-2');
    expect(v.citations).toEqual([{ probe: 'trace:pod-ip:10.244.2.2:8080', role: 'cause' }]);
  });

  it('a certain verdict is never overridden: it only gains the trace as reference evidence', () => {
    const certain = finding('OVERLAY_BLOCKED');
    expect(isUncertain(certain)).toBe(false);
    const v = withTrace(certain, localized);
    expect({ cause: v.cause, summary: v.summary, node: v.node, hints: v.hints }).toEqual({ cause: 'OVERLAY_BLOCKED', summary: 's', node: undefined, hints: ['h'] });
    expect(v.citations).toEqual([{ probe: 'trace:pod-ip:10.244.2.2:8080', role: 'reference' }]);
    expect(withTrace(certain, trace)).toBe(certain);
  });

  it('picks a failed TCP probe of the source pod, pod-ip before cluster-ip, never a later sample', () => {
    const r = (id: string, rung: ProbeSpec['rung'], kind: 'timeout' | 'connected', extra: Partial<ProbeSpec> = {}): ProbeResult => ({
      spec: { id, rung, where: { kind: 'source-pod' }, action: { tool: 'tcp-connect', host: '10.0.0.1', port: 80 }, command: [], timeoutMs: 1000, ...extra },
      observation: { kind },
      durationMs: 1,
    });
    expect(pickTraceProbe([r('c', 'cluster-ip', 'timeout'), r('p', 'pod-ip', 'timeout')])?.id).toBe('p');
    expect(pickTraceProbe([r('c', 'cluster-ip', 'timeout'), r('p', 'pod-ip', 'connected')])?.id).toBe('c');
    expect(pickTraceProbe([r('p#2', 'pod-ip', 'timeout', { sample: { index: 2, of: 2 } }), r('p', 'pod-ip', 'connected', { sample: { index: 1, of: 2 } })])?.id).toBe('p');
    expect(pickTraceProbe([r('n', 'node-origin', 'timeout', { where: { kind: 'node-pod', node: 'n', hostNetwork: true } })])).toBeUndefined();
  });
});

describe('a reply that starts mid-path', () => {
  it('an ICMP error from the source node (lab: kube-proxy-rules-missing) is walked back from that node, not from the destination', () => {
    const plan = planTrace(base);
    const icmp = { time: 1, src: '10.244.1.1', dst: '10.244.1.3', kind: 'icmp-unreachable' as const, line: '' };
    const syn = { time: 0, src: '10.244.1.3', dst: '10.244.2.2', srcPort: 1, dstPort: 8080, kind: 'syn' as const, line: '' };
    const near = ['source-pod/eth0', 'node-1/veth:10.244.1.3', 'node-1/cni0'];
    const caps = new Map(plan.hops.map((h) => [h.id, { device: 'd', packets: near.includes(h.id) ? [syn, icmp] : [], lines: [] }]));
    const t = analyzeTrace(plan, caps, { reason: 'asked', outcome: 'no-route', durationMs: 1 });
    expect(t.forward).toEqual({ packet: 'syn', lastSeen: 'node-1/cni0', firstMissing: 'node-1/flannel.1' });
    expect(t.reverse).toEqual({ packet: 'icmp-unreachable', lastSeen: 'source-pod/eth0' });
  });
});

describe('what --trace needs in the source pod', () => {
  const spec = (id: string, tool: 'dns' | 'tcp'): ProbeSpec => ({
    id,
    rung: tool === 'dns' ? 'dns' : 'pod-ip',
    where: { kind: 'source-pod' },
    action: tool === 'dns' ? { tool: 'dns-lookup', name: 'web' } : { tool: 'tcp-connect', host: '10.0.0.1', port: 80 },
    command: [],
    timeoutMs: 2000,
  });
  const input = (level: 'privileged' | 'baseline'): PrivilegeInput => ({
    source: { namespace: 'shop', level, podRunAsNonRoot: false, node: 'node-1' },
    nodeNamespace: { name: 'default', level: 'privileged' },
    nodes: [],
    extraNeeds: [TRACE_CAPTURE_NEED],
  });

  it('NET_RAW for tcpdump where the level allows it, else the capture is skipped with the reason', () => {
    const probes = [spec('dns', 'dns'), spec('tcp', 'tcp')];
    expect(planPrivileges(probes, input('privileged')).locations.get('source-pod')).toMatchObject({ securityContext: { capabilities: { drop: ['ALL'], add: ['NET_RAW'] } } });
    const baseline = planPrivileges(probes, input('baseline'));
    expect(baseline.skipped.get('trace:capture')).toBe('needs NET_RAW for tcpdump (the --trace capture), which Pod Security "baseline" (enforced in namespace shop) forbids');
    expect(baseline.skipped.has('tcp')).toBe(false);
  });
});

describe('a DNS lookup traced', () => {
  it('a lookup asked of the cluster DNS is followed as UDP to its pods, the one on another node chosen', () => {
    const facts = {
      targets: {
        source: { kind: 'pod' as const, namespace: 'default', name: 'client', node: 'node-1', ip: '10.244.1.3', labels: {}, hostNetwork: false },
        destination: { kind: 'address' as const, host: 'x', ips: [], port: 80, protocol: 'TCP' as const },
      },
      staticFindings: [],
      dns: {
        serviceIP: '10.96.0.10',
        pods: [
          { namespace: 'kube-system', name: 'coredns-a', ip: '10.244.1.2', node: 'node-1', ready: true },
          { namespace: 'kube-system', name: 'coredns-b', ip: '10.244.2.3', node: 'node-2', ready: true },
        ],
        readyEndpoints: 2,
      },
      nodes: [
        { name: 'node-1', ready: true, internalIP: '172.31.0.11' },
        { name: 'node-2', ready: true, internalIP: '172.31.0.12' },
      ],
      context: 'lab',
    };
    const spec: ProbeSpec = { id: 'dns:10.96.0.10:web', rung: 'dns', where: { kind: 'source-pod' }, action: { tool: 'dns-lookup', name: 'web', server: '10.96.0.10' }, command: [], timeoutMs: 2000 };
    const plan = tracePlanFor(facts, spec, 'flannel');
    expect(plan?.flow).toEqual({ protocol: 'UDP', source: '10.244.1.3', destination: { ip: '10.96.0.10', port: 53 }, translated: [{ ip: '10.244.1.2', port: 53 }, { ip: '10.244.2.3', port: 53 }] });
    expect(plan?.hops.at(-1)?.id).toBe('node-2/veth:10.244.2.3');
    expect(innerFilter(plan?.flow as TraceFlow)).toMatch(/^\(udp and host 10\.244\.1\.3 and/);
    // Asked of one DNS pod directly: that pod, no translation. A lookup through the search path cannot be traced.
    expect(tracePlanFor(facts, { ...spec, action: { tool: 'dns-lookup', name: 'web', server: '10.244.1.2' } }, 'flannel')?.hops.map((h) => h.id)).toEqual([
      'source-pod/eth0',
      'node-1/veth:10.244.1.3',
      'node-1/cni0',
      'node-1/veth:10.244.1.2',
    ]);
    expect(tracePlanFor(facts, { ...spec, action: { tool: 'dns-lookup', name: 'web' } }, 'flannel')).toBeUndefined();
  });

  it('a failed lookup is traced when no TCP probe failed; a failed TCP probe comes first', () => {
    const r = (id: string, action: ProbeSpec['action'], kind: 'timeout' | 'connected' | 'dns-timeout' | 'resolved'): ProbeResult => ({
      spec: { id, rung: action.tool === 'dns-lookup' ? 'dns' : 'pod-ip', where: { kind: 'source-pod' }, action, command: [], timeoutMs: 1000 },
      observation: kind === 'resolved' ? { kind, ips: [] } : { kind },
      durationMs: 1,
    });
    const dns = r('d', { tool: 'dns-lookup', name: 'web', server: '10.96.0.10' }, 'dns-timeout');
    expect(pickTraceProbe([r('p', { tool: 'tcp-connect', host: '10.0.0.1', port: 80 }, 'connected'), dns])?.id).toBe('d');
    expect(pickTraceProbe([r('p', { tool: 'tcp-connect', host: '10.0.0.1', port: 80 }, 'timeout'), dns])?.id).toBe('p');
    expect(pickTraceProbe([r('s', { tool: 'dns-lookup', name: 'web' }, 'dns-timeout')])).toBeUndefined();
  });

  it('a DNS query and its answer, by direction (lab capture)', () => {
    const flow: TraceFlow = { protocol: 'UDP', source: '10.244.1.3', destination: { ip: '10.244.1.2', port: 53 }, translated: [] };
    expect(classifyHop(flow, parseTcpdumpText(fixture('tcp-dns-same-node.txt')).filter((p) => p.kind.startsWith('dns')))).toEqual({ forward: ['dns-query'], reverse: ['dns-answer'] });
  });
});

describe('a destination that refuses', () => {
  it('a lookup of a stopped DNS server (lab capture): the query reaches the DNS pod, ICMP port unreachable comes back', () => {
    const packets = parseTcpdumpText(fixture('dns-server-down-source-pod_eth0.txt'));
    expect(packets.map((p) => p.kind)).toEqual(['dns-query', 'icmp-unreachable']);
    const plan = planTrace({ ...base, flow: { protocol: 'UDP', source: '10.244.1.3', destination: { ip: '10.244.1.2', port: 53 }, translated: [] }, destination: { ip: '10.244.1.2', node: 'node-1', name: 'kube-system/coredns' } });
    const t = analyzeTrace(plan, new Map(plan.hops.map((h) => [h.id, { device: h.id === 'node-1/veth:10.244.1.2' ? 'veth2' : 'x', packets, lines: [] }])), { reason: 'asked', outcome: 'refused', durationMs: 1 });
    expect(t.forward).toEqual({ packet: 'dns-query', lastSeen: 'node-1/veth:10.244.1.2' });
    expect(t.reverse).toEqual({ packet: 'icmp-unreachable', lastSeen: 'source-pod/eth0' });
    expect(t.localized).toBe("DNS query reaches node-1's veth2 (pod veth), and ICMP unreachable comes back from the destination: it refuses the flow");
  });
});

describe('fragmentation needed', () => {
  it('reads ICMP "need to frag" as tcpdump prints it (print-icmp.c: "%s unreachable - need to frag (mtu %d)"; the lab drops oversize VXLAN silently)', () => {
    const line = '1796540717.922343 36:c4:a0:d7:12:f1 > 0e:6e:62:00:00:01, ethertype IPv4 (0x0800), length 590: 172.31.0.12 > 10.244.1.3: ICMP 10.244.2.2 unreachable - need to frag (mtu 1450), length 556';
    const [p] = parseTcpdumpText(line);
    expect(p).toMatchObject({ src: '172.31.0.12', dst: '10.244.1.3', kind: 'icmp-frag-needed' });
    expect(classifyHop(base.flow, [p as NonNullable<typeof p>])).toEqual({ forward: [], reverse: ['icmp-frag-needed'] });
  });
});

/** The facts of a run from default/client on node-1 to pod shop/web-1 on node-2, at these addresses. */
function podToPodFacts(src: string, dst: string) {
  return {
    targets: {
      source: { kind: 'pod' as const, namespace: 'default', name: 'client', node: 'node-1', ip: src, labels: {}, hostNetwork: false },
      destination: { kind: 'pod' as const, namespace: 'shop', name: 'web-1', node: 'node-2', ip: dst, labels: {}, ready: true, hostNetwork: false, ports: [], port: 8080, protocol: 'TCP' as const },
    },
    staticFindings: [],
    dns: { pods: [], readyEndpoints: 0 },
    nodes: [],
    context: 'lab',
  };
}

describe('IPv6', () => {
  it('an IPv6 flow is traced only from a source with an IPv6 address (trace-ipv6.test.ts covers the rest)', () => {
    const facts = podToPodFacts('fd00:10:244:1::3', 'fd00:10:244:2::2');
    const spec: ProbeSpec = { id: 'pod-ip', rung: 'pod-ip', where: { kind: 'source-pod' }, action: { tool: 'tcp-connect', host: 'fd00:10:244:2::2', port: 8080 }, command: [], timeoutMs: 2000 };
    expect(tracePlanFor(facts, spec, 'flannel')?.flow.source).toBe('fd00:10:244:1::3');
    expect(tracePlanFor({ ...facts, targets: { ...facts.targets, source: { ...facts.targets.source, ip: '10.244.1.3' } } }, spec, 'flannel')).toBeUndefined();
  });
});

describe("the destination pod's own eth0 (asked for with --trace)", () => {
  it('is the last hop, captured from a target-pod location, only its own frames', () => {
    const plan = planTrace({ ...base, destinationPod: { namespace: 'shop', name: 'web-1' } });
    expect(plan.hops.at(-1)).toEqual({
      id: 'destination-pod/eth0',
      label: 'shop/web-1 eth0',
      role: 'pod',
      node: 'node-2',
      where: { kind: 'target-pod', namespace: 'shop', name: 'web-1' },
      device: { kind: 'name', name: 'eth0' },
      ownFramesOnly: true,
    });
    expect(plan.unreachable).toEqual([]);
    expect(captureLocationKey({ kind: 'target-pod', namespace: 'shop', name: 'web-1' })).toBe('target-pod:shop/web-1');
    expect(captureLocationKey({ kind: 'source-pod' })).toBe('source-pod');
    const script = buildCaptureCommand([{ hop: plan.hops.at(-1) as (typeof plan.hops)[number], filter: innerFilter(plan.flow) }], 'nt-x', { pcap: false, boundSeconds: 5 })[2] as string;
    expect(script).toContain(`f="ether host $(cat "/sys/class/net/$dev/address") and (${innerFilter(plan.flow)})"`);
    expect(script).toContain('"$f" >/dev/null');
  });

  it('a SYN that leaves the bridge and never reaches the pod is localized between the pod and its node', () => {
    const plan = planTrace({ ...base, destinationPod: { namespace: 'shop', name: 'web-1' } });
    const syn = parseTcpdumpText(fixture('overlay-blocked-node-1_cni0.txt')).map((p) => ({ ...p, dst: '10.244.2.2' }));
    const caps = new Map(plan.hops.map((h) => [h.id, { device: h.id === 'node-2/cni0' ? 'cni0' : 'x', packets: h.id === 'destination-pod/eth0' ? [] : syn, lines: [] }]));
    const t = analyzeTrace(plan, caps, { reason: 'asked', outcome: 'timeout', durationMs: 1 });
    expect(t.forward).toEqual({ packet: 'syn', lastSeen: 'node-2/veth:10.244.2.2', firstMissing: 'destination-pod/eth0' });
    expect(t.localized).toBe("SYN leaves node-2's x (pod veth), never reaches the destination pod's eth0: between the pod and node-2");
    expect(t.node).toBe('node-2');
  });

  it('tracePlanFor adds it only when asked, and never for a hostNetwork destination', () => {
    const facts = podToPodFacts('10.244.1.3', '10.244.2.2');
    const spec: ProbeSpec = { id: 'pod-ip', rung: 'pod-ip', where: { kind: 'source-pod' }, action: { tool: 'tcp-connect', host: '10.244.2.2', port: 8080 }, command: [], timeoutMs: 2000 };
    expect(tracePlanFor(facts, spec, 'flannel')?.hops.at(-1)?.id).toBe('node-2/veth:10.244.2.2');
    expect(tracePlanFor(facts, spec, 'flannel', { destinationPod: true })?.hops.at(-1)?.where).toEqual({ kind: 'target-pod', namespace: 'shop', name: 'web-1' });
    const host = { ...facts, targets: { ...facts.targets, destination: { ...facts.targets.destination, hostNetwork: true } } };
    expect(tracePlanFor(host, spec, 'flannel', { destinationPod: true })?.hops.some((h) => h.where.kind === 'target-pod')).toBe(false);
  });
});

describe('the full-size ping of a failed path-MTU check (PATH_MTU_MISMATCH)', () => {
  const facts = {
    targets: {
      source: { kind: 'pod' as const, namespace: 'default', name: 'client', node: 'node-1', ip: '10.244.1.3', labels: {}, hostNetwork: false },
      destination: { kind: 'pod' as const, namespace: 'shop', name: 'web-1', node: 'node-2', ip: '10.244.2.2', labels: {}, ready: true, hostNetwork: false, ports: [], port: 8080, protocol: 'TCP' as const },
    },
    staticFindings: [],
    dns: { pods: [], readyEndpoints: 0 },
    nodes: [
      { name: 'node-1', internalIP: '172.31.0.11' },
      { name: 'node-2', internalIP: '172.31.0.12' },
    ],
    context: 'lab',
  } as unknown as Parameters<typeof echoTracePlanFor>[0];
  const check = (node: string, address: string, passed: boolean): ProbeResult => ({
    spec: { id: `node-checks:${node}:mtu:${address}`, rung: 'node-checks', check: 'mtu', where: { kind: 'node-pod', node, hostNetwork: true }, action: { tool: 'path-mtu', address }, command: [], timeoutMs: 2000 },
    observation: { kind: 'mtu', size: 1472, passed, mtu: 1500, dev: 'flannel.1', smallPassed: true },
    durationMs: 1,
  });
  const failed = check('node-2', '10.244.1.3', false);
  const passed = check('node-1', '10.244.2.2', true);
  const verdict: Finding = {
    status: 'broken',
    cause: 'PATH_MTU_MISMATCH',
    component: 'overlay',
    summary: 's',
    evidence: [],
    hints: [],
    citations: [
      { probe: failed.spec.id, role: 'cause' },
      { probe: passed.spec.id, role: 'reference' },
    ],
  } as Finding;

  it('picks the check the verdict cites as its cause, and none for another verdict', () => {
    expect(pickMtuCheck(verdict, [passed, failed])).toBe(failed);
    expect(pickMtuCheck({ ...verdict, cause: 'CONNECTION_FAILED' }, [passed, failed])).toBeUndefined();
    expect(pickMtuCheck({ ...verdict, citations: [{ probe: passed.spec.id, role: 'cause' }] }, [passed, failed])).toBeUndefined();
    expect(pickMtuCheck(undefined, [failed])).toBeUndefined();
  });

  it("plans node-2's tunnel and underlay, then node-1's hops to the source pod, its own eth0 last (its debug container)", () => {
    const plan = echoTracePlanFor(facts, failed, 'flannel');
    expect(plan?.probe).toBe('node-checks:node-2:mtu:10.244.1.3');
    expect(plan?.flow).toEqual({ protocol: 'ICMP', source: '172.31.0.12', destination: { ip: '10.244.1.3', port: 0 }, translated: [], echo: { size: 1500, from: 'node-2' } });
    expect(plan?.hops.map((h) => h.id)).toEqual(['node-2/flannel.1', 'node-2/underlay', 'node-1/underlay', 'node-1/flannel.1', 'node-1/cni0', 'node-1/veth:10.244.1.3', 'source-pod/eth0']);
    expect(plan?.hops.at(-1)).toMatchObject({ where: { kind: 'source-pod' }, ownFramesOnly: true });
    // Towards the destination pod: its eth0 only when --trace gives it a debug container.
    const other = check('node-1', '10.244.2.2', false);
    expect(echoTracePlanFor(facts, other, 'calico-vxlan')?.hops.map((h) => h.id)).toEqual(['node-1/vxlan.calico', 'node-1/underlay', 'node-2/underlay', 'node-2/vxlan.calico', 'node-2/veth:10.244.2.2']);
    expect(echoTracePlanFor(facts, other, 'calico-vxlan', { destinationPod: true })?.hops.at(-1)).toMatchObject({ id: 'destination-pod/eth0', where: { kind: 'target-pod', namespace: 'shop', name: 'web-1' } });
    // An address that is no pod of the run, or one on the pinging node itself, is not traced.
    expect(echoTracePlanFor(facts, check('node-2', '10.244.9.9', false), 'flannel')).toBeUndefined();
    expect(echoTracePlanFor(facts, check('node-1', '10.244.1.3', false), 'flannel')).toBeUndefined();
  });

  it('filters ICMP echo of exactly that size, inner and inside VXLAN (the inner IPv4 total length at udp[32:2], protocol at udp[39])', () => {
    const flow = { protocol: 'ICMP' as const, source: '172.31.0.12', destination: { ip: '10.244.1.3', port: 0 }, translated: [], echo: { size: 1500, from: 'node-2' } };
    expect(echoInnerFilter(flow)).toBe('(icmp and host 10.244.1.3 and (icmp[0] = 8 or icmp[0] = 0) and ip[2:2] = 1500) or (icmp and icmp[0] = 3 and icmp[1] = 4)');
    expect(echoEncapsulatedFilter(flow, 8472)).toBe('(udp dst port 8472 and udp[39] = 1 and udp[32:2] = 1500 and (udp[42:4] = 0x0af40103 or udp[46:4] = 0x0af40103)) or (icmp and (icmp[0] = 3 or icmp[0] = 11))');
    const plan = echoTracePlanFor(facts, failed, 'flannel');
    const underlay = plan?.hops.find((h) => h.id === 'node-2/underlay');
    const tunnel = plan?.hops.find((h) => h.id === 'node-2/flannel.1');
    if (!plan || !underlay || !tunnel) throw new Error('no plan');
    expect(hopFilter(plan.flow, underlay)).toBe(echoEncapsulatedFilter(flow, 8472));
    expect(hopFilter(plan.flow, tunnel)).toBe(echoInnerFilter(flow));
  });

  it('mtu-mismatch on node-2 (lab capture): the 1500-byte echo leaves node-2 inside VXLAN and never reaches node-1: between the nodes', () => {
    const plan = echoTracePlanFor(facts, failed, 'flannel');
    if (!plan) throw new Error('no plan');
    const text: Record<string, string> = { 'node-2/flannel.1': fixture('mtu-mismatch-node-2_flannel.1.txt'), 'node-2/underlay': fixture('mtu-mismatch-node-2_underlay.txt') };
    const caps = new Map(plan.hops.map((h) => [h.id, { device: h.role === 'underlay' ? 'eth0' : h.id.split('/')[1] as string, packets: parseTcpdumpText(text[h.id] ?? ''), lines: [] }]));
    const t = analyzeTrace(plan, caps, { reason: 'asked', outcome: 'full-size ping lost', durationMs: 1 });
    expect(t.hops[1]?.forward).toEqual(['icmp-echo']);
    expect(t.forward).toEqual({ packet: 'icmp-echo', lastSeen: 'node-2/underlay', firstMissing: 'node-1/underlay' });
    expect(t.reverse).toEqual({});
    expect(t.localized).toBe("the full-size ping (1500 bytes, don't fragment) from node-2 leaves node-2's eth0 (underlay), never reaches node-1's eth0 (underlay): between the nodes (the underlay network)");
    expect(t.node).toBeUndefined();
    // A certain verdict only gains the trace as evidence.
    expect(withTrace(verdict, t)).toMatchObject({ cause: 'PATH_MTU_MISMATCH', summary: 's', citations: [...(verdict.citations ?? []), { probe: t.id, role: 'reference' }] });
  });

  it('an echo reply (the pod answered) is classified by direction and walked back', () => {
    const plan = echoTracePlanFor(facts, failed, 'flannel');
    if (!plan) throw new Error('no plan');
    const req = parseTcpdumpText(fixture('mtu-mismatch-node-2_flannel.1.txt'));
    const reply = parseTcpdumpText(fixture('mtu-mismatch-node-2_flannel.1.txt').replace('10.244.2.0 > 10.244.1.3: ICMP echo request', '10.244.1.3 > 10.244.2.0: ICMP echo reply'));
    expect(reply[0]).toMatchObject({ src: '10.244.1.3', kind: 'icmp-echo' });
    expect(classifyHop(plan.flow, [...req, ...reply])).toEqual({ forward: ['icmp-echo'], reverse: ['icmp-echo'] });
    // The reply is lost between node-1 and node-2's underlay on the way back.
    const back = new Set(['source-pod/eth0', 'node-1/veth:10.244.1.3', 'node-1/cni0', 'node-1/flannel.1', 'node-1/underlay']);
    const caps = new Map(plan.hops.map((h) => [h.id, { device: 'd', packets: back.has(h.id) ? [...req, ...reply] : req, lines: [] }]));
    const t = analyzeTrace(plan, caps, { reason: 'asked', outcome: 'full-size ping lost', durationMs: 1 });
    expect(t.forward).toEqual({ packet: 'icmp-echo', lastSeen: 'source-pod/eth0' });
    expect(t.reverse).toEqual({ packet: 'icmp-echo', lastSeen: 'node-1/underlay', firstMissing: 'node-2/underlay' });
  });
});

describe('a request to a ClusterIP that no proxy translated', () => {
  // The overlay-blocked lab capture read as a Service's flow: its SYN to 10.244.2.2:8080 is what left node-1.
  const asService = (translated: { ip: string; port: number }[]): TracePlanInput => ({ ...base, probe: 'cluster-ip:10.244.2.2:8080', flow: { ...base.flow, translated } });
  const captured = (plan: ReturnType<typeof planTrace>, skip: (id: string) => boolean = () => false) =>
    new Map(
      plan.hops.map((h) => {
        const text = skip(h.id) ? '' : fixture(`overlay-blocked-${h.id.replace(/[^a-z0-9.-]+/gi, '_')}.txt`);
        return [h.id, { device: h.id.endsWith('underlay') ? 'eth0' : (h.id.split('/')[1] as string), packets: parseTcpdumpText(text), lines: text.split('\n').filter((l) => l !== '') }];
      }),
    );

  it('seen leaving node-1 still addressed to the ClusterIP: the sentence names node-1 proxy, and the verdict cites it', () => {
    const plan = planTrace(asService([{ ip: '10.244.9.9', port: 8080 }]));
    const t = analyzeTrace(plan, captured(plan), { reason: 'asked', outcome: 'timeout', durationMs: 1 });
    expect(t.untranslated).toMatchObject({ node: 'node-1', hop: 'node-1/flannel.1', packet: 'syn' });
    expect(t.localized).toBe("SYN to ClusterIP 10.244.2.2:8080 left node-1 untranslated (seen on node-1's flannel.1 still addressed to it): node-1's service proxy has no rule for it");
    expect(t.node).toBe('node-1');
    // The walks are unchanged: only the sentence says where the fault is.
    expect(t.forward).toEqual({ packet: 'syn', lastSeen: 'node-2/underlay', firstMissing: 'node-2/flannel.1' });
    const verdict = withTrace({ id: 'v', cause: 'SERVICE_PROXY_RULES_MISSING', severity: 'error', certainty: 'certain', summary: 's', evidence: [], hints: [] } as never, t);
    expect(verdict.evidence).toContain(`trace (trace:cluster-ip:10.244.2.2:8080): ${t.localized}`);
    expect(verdict.cause).toBe('SERVICE_PROXY_RULES_MISSING');
  });

  it('the first hop past the node is the one cited: the underlay when the tunnel saw nothing', () => {
    const plan = planTrace(asService([{ ip: '10.244.9.9', port: 8080 }]));
    const t = analyzeTrace(plan, captured(plan, (id) => id.startsWith('node-2/') || id === 'node-1/flannel.1'), { reason: 'asked', outcome: 'timeout', durationMs: 1 });
    expect(t.untranslated?.hop).toBe('node-1/underlay');
    expect(t.localized).toMatch(/^SYN to ClusterIP 10\.244\.2\.2:8080 left node-1 untranslated \(seen on node-1's eth0 \(underlay\) still addressed to it\)/);
  });

  it('seen only before the node routed it (the pod, its veth, the bridge): proves nothing, the sentence is unchanged', () => {
    const plan = planTrace(asService([{ ip: '10.244.9.9', port: 8080 }]));
    const t = analyzeTrace(plan, captured(plan, (id) => !['source-pod/eth0', 'node-1/cni0'].includes(id) && !id.startsWith('node-1/veth')), { reason: 'asked', outcome: 'timeout', durationMs: 1 });
    expect(t.untranslated).toBeUndefined();
    expect(t.localized).toBe("SYN leaves node-1's cni0, never reaches node-1's flannel.1: inside node-1, between its cni0 and flannel.1");
  });

  it('translated to a backend (the packet carries the pod address past the bridge): nothing changes', () => {
    const plan = planTrace(asService([{ ip: '10.244.2.2', port: 8080 }]));
    const t = analyzeTrace(plan, captured(plan), { reason: 'asked', outcome: 'timeout', durationMs: 1 });
    expect(t.untranslated).toBeUndefined();
    expect(t.localized).toBe("SYN leaves node-2's eth0 (underlay), never reaches node-2's flannel.1: inside node-2, between its eth0 and flannel.1");
    // A flow to a pod (nothing to translate) is no Service's.
    expect(untranslatedService(base.flow, [{ id: 'node-1/underlay', role: 'underlay', node: 'node-1', label: 'x', packets: parseTcpdumpText(fixture('overlay-blocked-node-1_underlay.txt')) }])).toBeUndefined();
  });

  it('the source pod sends to the ClusterIP and a hop past node-1 sees a backend: translated, nothing changes', () => {
    const pod = parseTcpdumpText(fixture('overlay-blocked-source-pod_eth0.txt')).map((p) => ({ ...p, dst: '10.96.0.10', dstPort: 80 }));
    const flow = { ...base.flow, destination: { ip: '10.96.0.10', port: 80 }, translated: [{ ip: '10.244.2.2', port: 8080 }] };
    const hops = [
      { id: 'source-pod/eth0', role: 'pod' as const, node: 'node-1', label: 'pod', packets: pod },
      { id: 'node-1/underlay', role: 'underlay' as const, node: 'node-1', label: 'x', packets: parseTcpdumpText(fixture('overlay-blocked-node-1_underlay.txt')) },
    ];
    expect(untranslatedService(flow, hops)).toBeUndefined();
    expect(untranslatedService(flow, [hops[0] as (typeof hops)[number]])).toBeUndefined();
  });
});
