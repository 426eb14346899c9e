/**
 * The hop-by-hop trace of an IPv6 flow (issue 14 on dual-stack): the IPv6 tunnel devices and underlay of each network,
 * the filters for the IPv6 5-tuple (inside VXLAN by the inner IPv6 header's offsets), tcpdump's IPv6 lines read from
 * real captures of a dual-stack flannel lab (test/unit/trace-fixtures/dual-stack-v6-*), and an IPv6 probe picked and
 * planned from the pod's IPv6 address.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ClusterFacts } from '../../src/core/facts.ts';
import type { ProbeResult, ProbeSpec } from '../../src/core/model.ts';
import { analyzeTrace, classifyHop } from '../../src/core/trace-analysis.ts';
import { parseTcpdumpText } from '../../src/core/trace-parse.ts';
import { encapsulatedFilter, hopFilter, innerFilter, ipv6Words, planTrace, type TraceFlow, type TracePlanInput } from '../../src/core/trace-plan.ts';
import { pickTraceProbe, tracePlanFor } from '../../src/core/trace-select.ts';

const fixture = (name: string): string => readFileSync(new URL(`trace-fixtures/${name}`, import.meta.url), 'utf8');

const flow: TraceFlow = { protocol: 'TCP', source: 'fd00:10:244:1::3', destination: { ip: 'fd00:10:244:2::2', port: 8080 }, translated: [] };
const base: TracePlanInput = {
  network: 'flannel',
  probe: 'pod-ip:fd00:10:244:2::2:8080',
  flow,
  source: { ip: 'fd00:10:244:1::3', node: 'node-1' },
  destination: { ip: 'fd00:10:244:2::2', node: 'node-2', name: 'shop/web-1' },
  nodeIPs: { 'node-1': '172.31.0.11', 'node-2': '172.31.0.12' },
  nodeIPv6s: { 'node-1': 'fd00:172:31::b', 'node-2': 'fd00:172:31::c' },
};

describe('planTrace for an IPv6 flow', () => {
  it('flannel: cni0 and flannel-v6.1, the underlay towards the peer IPv6 address, VXLAN 8472 over IPv6', () => {
    const plan = planTrace(base);
    expect(plan.hops.map((h) => h.id)).toEqual([
      'source-pod/eth0',
      'node-1/veth:fd00:10:244:1::3',
      'node-1/cni0',
      'node-1/flannel-v6.1',
      'node-1/underlay',
      'node-2/underlay',
      'node-2/flannel-v6.1',
      'node-2/cni0',
      'node-2/veth:fd00:10:244:2::2',
    ]);
    const under = plan.hops.find((h) => h.id === 'node-1/underlay');
    expect(under?.device).toEqual({ kind: 'route-to', address: 'fd00:172:31::c' });
    expect(under?.encapsulation).toEqual({ port: 8472, outer: 'IPv6' });
  });

  it('calico-vxlan: vxlan-v6.calico, UDP 4789 over IPv6; cilium: cilium_vxlan over the IPv4 underlay', () => {
    const calico = planTrace({ ...base, network: 'calico-vxlan' });
    expect(calico.hops.map((h) => h.id)).toContain('node-1/vxlan-v6.calico');
    expect(calico.hops.find((h) => h.id === 'node-2/underlay')).toMatchObject({ device: { kind: 'route-to', address: 'fd00:172:31::b' }, encapsulation: { port: 4789, outer: 'IPv6' } });
    const cilium = planTrace({ ...base, network: 'cilium' });
    expect(cilium.hops.map((h) => h.id)).toContain('node-1/cilium_vxlan');
    expect(cilium.hops.find((h) => h.id === 'node-1/underlay')).toMatchObject({ device: { kind: 'route-to', address: '172.31.0.12' }, encapsulation: { port: 8472 } });
    expect(cilium.hops.find((h) => h.id === 'node-1/underlay')?.encapsulation?.outer).toBeUndefined();
  });

  it('the IPv4 plan of the same network is unchanged (flannel.1 over the IPv4 underlay)', () => {
    const plan = planTrace({ ...base, flow: { ...flow, source: '10.244.1.3', destination: { ip: '10.244.2.2', port: 8080 } }, source: { ip: '10.244.1.3', node: 'node-1' }, destination: { ip: '10.244.2.2', node: 'node-2', name: 'shop/web-1' } });
    expect(plan.hops.map((h) => h.id)).toContain('node-1/flannel.1');
    expect(plan.hops.find((h) => h.id === 'node-1/underlay')).toMatchObject({ device: { kind: 'route-to', address: '172.31.0.12' }, encapsulation: { port: 8472 } });
  });
});

describe('IPv6 filters', () => {
  it('ipv6Words: the 16 bytes as four 32-bit words', () => {
    expect(ipv6Words('fd00:10:244:1::3')).toEqual(['0xfd000010', '0x02440001', '0x00000000', '0x00000003']);
    expect(() => ipv6Words('10.244.1.3')).toThrow(/not an IPv6 address/);
  });

  it('plain hops: ip6 and the protocol between the two addresses, ICMPv6 errors (not neighbour discovery) about the source', () => {
    expect(innerFilter(flow)).toBe(
      '(ip6 and tcp and host fd00:10:244:1::3 and ((host fd00:10:244:2::2 and port 8080))) or ((icmp6 and (ip6[40] = 1 or ip6[40] = 2 or ip6[40] = 3)) and host fd00:10:244:1::3)',
    );
  });

  it('inside VXLAN over IPv6: the inner IPv6 header at ip6[70], source at ip6[78], destination at ip6[94], both directions', () => {
    const f = encapsulatedFilter(flow, 8472, 'IPv6');
    expect(f.startsWith('(ip6 and udp dst port 8472 and ip6[68:2] = 0x86dd and (((ip6[78:4] = 0xfd000010 and ip6[82:4] = 0x02440001 and ip6[86:4] = 0x00000000 and ip6[90:4] = 0x00000003) and (ip6[94:4] = 0xfd000010 and ip6[98:4] = 0x02440002')).toBe(true);
    expect(f).toContain('(ip6[78:4] = 0xfd000010 and ip6[82:4] = 0x02440002 and ip6[86:4] = 0x00000000 and ip6[90:4] = 0x00000002) and (ip6[94:4] = 0xfd000010');
    expect(f.endsWith('or (icmp6 and (ip6[40] = 1 or ip6[40] = 2 or ip6[40] = 3))')).toBe(true);
  });

  it('inside VXLAN over IPv4 (Cilium): the inner IPv6 header at udp[30], source at udp[38], destination at udp[54]', () => {
    const f = encapsulatedFilter(flow, 8472);
    expect(f).toContain('(ip and udp dst port 8472 and udp[28:2] = 0x86dd and (((udp[38:4] = 0xfd000010');
    expect(f).toContain('(udp[54:4] = 0xfd000010 and udp[58:4] = 0x02440002 and udp[62:4] = 0x00000000 and udp[66:4] = 0x00000002)');
    expect(f.endsWith('or (icmp and (icmp[0] = 3 or icmp[0] = 11))')).toBe(true);
  });

  it('hopFilter picks the underlay family from the hop', () => {
    const plan = planTrace(base);
    const under = plan.hops.find((h) => h.id === 'node-1/underlay');
    expect(under && hopFilter(flow, under)).toMatch(/^\(ip6 and udp dst port 8472 and ip6\[68:2\]/);
    const cni0 = plan.hops.find((h) => h.id === 'node-1/cni0');
    expect(cni0 && hopFilter(flow, cni0)).toBe(innerFilter(flow));
  });
});

describe("parseTcpdumpText on a dual-stack lab's IPv6 captures", () => {
  it("reads `IP6` lines: the pod's eth0 saw the SYN, SYN-ACK and the rest of a connection", () => {
    const packets = parseTcpdumpText(fixture('dual-stack-v6-source-pod_eth0.txt'));
    expect(packets.length).toBe(6);
    expect(packets[0]).toMatchObject({ src: 'fd00:10:244:1::3', dst: 'fd00:10:244:2::2', dstPort: 8080, kind: 'syn' });
    expect(packets[0]?.outer).toBeUndefined();
    expect(packets[1]).toMatchObject({ src: 'fd00:10:244:2::2', srcPort: 8080, dst: 'fd00:10:244:1::3', kind: 'syn-ack' });
    expect(classifyHop(flow, packets).forward).toContain('syn');
    expect(classifyHop(flow, packets).reverse).toContain('syn-ack');
  });

  it('reads flannel-v6.1 VXLAN over IPv6 (-T vxlan): the inner IPv6 flow, the outer IPv6 node addresses', () => {
    const packets = parseTcpdumpText(fixture('dual-stack-v6-node-1_underlay.txt'));
    expect(packets.length).toBe(6);
    expect(packets[0]).toMatchObject({ src: 'fd00:10:244:1::3', dst: 'fd00:10:244:2::2', kind: 'syn', outer: { src: 'fd00:172:31::b', dst: 'fd00:172:31::c' } });
    expect(packets[1]).toMatchObject({ kind: 'syn-ack', outer: { src: 'fd00:172:31::c', dst: 'fd00:172:31::b' } });
  });

  it('MAC addresses of the -e header are never read as IPv6 addresses', () => {
    const packets = parseTcpdumpText(fixture('dual-stack-v6-node-2_cni0.txt'));
    expect(packets.every((p) => p.src.startsWith('fd00:') && p.dst.startsWith('fd00:'))).toBe(true);
  });

  it("reads a node's ICMPv6 unreachable back to the pod (the lab's IPv6 kube-proxy-rules-missing, no DNAT on node-1)", () => {
    const packets = parseTcpdumpText(fixture('dual-stack-v6-kube-proxy-rules-missing-source-pod_eth0.txt'));
    expect(packets.map((p) => p.kind)).toEqual(['syn', 'icmp-unreachable', 'icmp-unreachable', 'icmp-unreachable']);
    expect(packets[0]).toMatchObject({ src: 'fd00:10:244:1::3', dst: 'fd00:10:96::2', dstPort: 80 });
    expect(packets[1]).toMatchObject({ src: 'fd00:10:244:1::1', dst: 'fd00:10:244:1::3' });
    const clusterFlow: TraceFlow = { ...flow, destination: { ip: 'fd00:10:96::2', port: 80 }, translated: [{ ip: 'fd00:10:244:2::2', port: 8080 }] };
    expect(classifyHop(clusterFlow, packets)).toEqual({ forward: ['syn'], reverse: ['icmp-unreachable'] });
  });

  it('ICMPv6 kinds: destination unreachable, packet too big, echo, neighbour discovery', () => {
    const line = (rest: string): string | undefined => parseTcpdumpText(`1796546247.233145 0e:6e:62:00:00:01 > 0a:58:0a:f4:01:03, ethertype IPv6 (0x86dd), length 142: fd00:10:244:1::1 > fd00:10:244:1::3: ${rest}`)[0]?.kind;
    expect(line('ICMP6, destination unreachable, unreachable port, fd00:10:96::2 tcp port 80, length 88')).toBe('icmp-unreachable');
    expect(line('ICMP6, packet too big, mtu 1430, length 1240')).toBe('icmp-frag-needed');
    expect(line('ICMP6, echo request, id 7, seq 1, length 64')).toBe('icmp-echo');
    expect(line('ICMP6, neighbor solicitation, who has fd00:10:244:1::3, length 32')).toBe('icmp-other');
  });

  it('the whole path of a healthy IPv6 connection: the SYN seen everywhere, nothing missing', () => {
    const plan = planTrace(base);
    const eth0 = parseTcpdumpText(fixture('dual-stack-v6-source-pod_eth0.txt'));
    const under = parseTcpdumpText(fixture('dual-stack-v6-node-1_underlay.txt'));
    const caps = new Map(plan.hops.map((h) => [h.id, { device: 'x', packets: h.role === 'underlay' ? under : eth0, lines: [] }]));
    const t = analyzeTrace(plan, caps, { reason: 'asked', outcome: 'connected', durationMs: 1 });
    expect(t.forward).toEqual({ packet: 'syn', lastSeen: 'node-2/veth:fd00:10:244:2::2' });
  });
});

describe('the IPv6 probe picked and planned', () => {
  const facts: ClusterFacts = {
    targets: {
      source: { kind: 'pod', namespace: 'default', name: 'client', node: 'node-1', ip: '10.244.1.3', ips: ['10.244.1.3', 'fd00:10:244:1::3'], labels: {}, hostNetwork: false },
      destination: {
        kind: 'service',
        namespace: 'shop',
        name: 'web',
        clusterIP: '10.96.0.20',
        clusterIPs: ['10.96.0.20', 'fd00:10:96::14'],
        dnsName: 'web.shop.svc.cluster.local',
        port: { port: 80, targetPort: 8080, protocol: 'TCP' },
        selector: {},
        endpoints: [
          { ip: '10.244.2.2', port: 8080, ready: true, serving: true, terminating: false, node: 'node-2', pod: { namespace: 'shop', name: 'web-1' } },
          { ip: 'fd00:10:244:2::2', port: 8080, ready: true, serving: true, terminating: false, node: 'node-2', pod: { namespace: 'shop', name: 'web-1' } },
        ],
      },
    },
    staticFindings: [],
    dns: { pods: [], readyEndpoints: 0 },
    nodes: [
      { name: 'node-1', ready: true, internalIP: '172.31.0.11', internalIPs: ['172.31.0.11', 'fd00:172:31::b'] },
      { name: 'node-2', ready: true, internalIP: '172.31.0.12', internalIPs: ['172.31.0.12', 'fd00:172:31::c'] },
    ],
    context: 'lab',
  } as ClusterFacts;
  const spec = (id: string, host: string, family: 'IPv4' | 'IPv6'): ProbeSpec => ({ id, rung: 'pod-ip', family, where: { kind: 'source-pod' }, action: { tool: 'tcp-connect', host, port: 8080 }, command: [], timeoutMs: 2000 });
  const v4 = spec('pod-ip:10.244.2.2:8080', '10.244.2.2', 'IPv4');
  const v6 = spec('pod-ip:fd00:10:244:2::2:8080', 'fd00:10:244:2::2', 'IPv6');

  it('the failing IPv6 probe is traced when the IPv4 twin passes', () => {
    const obs: ProbeResult[] = [
      { spec: v4, observation: { kind: 'connected' }, durationMs: 1 } as ProbeResult,
      { spec: v6, observation: { kind: 'timeout' }, durationMs: 2000 } as ProbeResult,
    ];
    expect(pickTraceProbe(obs)?.id).toBe(v6.id);
  });

  it("an IPv6 probe is followed from the pod's IPv6 address to the IPv6 endpoint, over the nodes' IPv6 underlay", () => {
    const plan = tracePlanFor(facts, v6, 'flannel');
    expect(plan?.flow).toEqual({ protocol: 'TCP', source: 'fd00:10:244:1::3', destination: { ip: 'fd00:10:244:2::2', port: 8080 }, translated: [] });
    expect(plan?.hops.find((h) => h.id === 'node-1/underlay')?.device).toEqual({ kind: 'route-to', address: 'fd00:172:31::c' });
    // A ClusterIP probe is translated to the endpoints of its own family only.
    const cluster = tracePlanFor(facts, { ...v6, id: 'cluster-ip', rung: 'cluster-ip', action: { tool: 'tcp-connect', host: 'fd00:10:96::14', port: 80 } }, 'flannel');
    expect(cluster?.flow.translated).toEqual([{ ip: 'fd00:10:244:2::2', port: 8080 }]);
    // The IPv4 probe keeps its IPv4 flow and flannel.1.
    const four = tracePlanFor(facts, v4, 'flannel');
    expect(four?.flow.source).toBe('10.244.1.3');
    expect(four?.hops.map((h) => h.id)).toContain('node-1/flannel.1');
  });
});
