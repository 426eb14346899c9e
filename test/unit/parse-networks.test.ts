/**
 * The plugin's parsers on outputs captured from the lab's other pod networks (capture-lab.ts, healthy-<network>
 * sessions, files in network-fixtures/<network>/): what each parser reads from Calico's and the cloud-routed layout.
 * How the diagnosis judges these observations is not tested here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ProbeAction, ProbeObservation } from '../../src/core/model.ts';
import { buildProbeCommand, parseProbeOutput, type RawOutput } from '../../src/core/parse.ts';

/** Loads network-fixtures/<network>/<name>.txt: its command header, exit code and output. */
function load(network: string, name: string): { raw: RawOutput; cmd: string } {
  const lines = readFileSync(new URL(`./network-fixtures/${network}/${name}.txt`, import.meta.url), 'utf8').split('\n');
  let cmd = '';
  let exitCode = 0;
  while (lines[0] !== undefined && /^# (cmd|exit): /.test(lines[0])) {
    const header = lines.shift() as string;
    if (header.startsWith('# cmd: ')) cmd = header.slice('# cmd: '.length);
    else exitCode = Number(header.slice('# exit: '.length));
  }
  return { raw: { stdout: lines.join('\n'), stderr: '', exitCode }, cmd };
}

const CASES: { network: string; file: string; action: ProbeAction; want: ProbeObservation }[] = [
  // node-2 to the client pod on node-1
  { network: 'calico-vxlan', file: 'route-match-n2-remote-pod', action: { tool: 'route-match', address: '192.168.14.67' }, want: { kind: 'route', present: true, route: '192.168.14.64/26', dev: 'vxlan.calico', via: '192.168.14.64' } },
  { network: 'calico-bgp', file: 'route-match-n2-remote-pod', action: { tool: 'route-match', address: '192.168.14.67' }, want: { kind: 'route', present: true, route: '192.168.14.64/26', dev: 'eth0', via: '172.31.0.11' } },
  // Only the default route towards another node's pod: the parser reports it as such (present: false, via the VPC router).
  { network: 'cloud-routed', file: 'route-match-n2-remote-pod', action: { tool: 'route-match', address: '10.244.1.3' }, want: { kind: 'route', present: false, route: 'default', dev: 'eth0', via: '172.31.0.1' } },
  // Cilium: the node route via cilium_host with the tunnel's route MTU (the lab's own forwarding table is not listed).
  { network: 'cilium', file: 'route-match-n2-remote-pod', action: { tool: 'route-match', address: '10.244.1.3' }, want: { kind: 'route', present: true, route: '10.244.1.0/24', dev: 'cilium_host', via: '10.244.2.1' } },
  { network: 'cilium', file: 'route-match-n2-own-pod', action: { tool: 'route-match', address: '10.244.2.2' }, want: { kind: 'route', present: true, route: '10.244.2.0/24', dev: 'cilium_host', via: '10.244.2.1' } },
  // node-2 to its own pod web-1: the /32 to the host veth, more specific than Calico's blackhole for the block.
  { network: 'calico-vxlan', file: 'route-match-n2-own-pod', action: { tool: 'route-match', address: '192.168.149.130' }, want: { kind: 'route', present: true, route: '192.168.149.130', dev: 'cali751425ce827' } },
  { network: 'calico-bgp', file: 'route-match-n2-own-pod', action: { tool: 'route-match', address: '192.168.149.130' }, want: { kind: 'route', present: true, route: '192.168.149.130', dev: 'cali751425ce827' } },
  { network: 'cloud-routed', file: 'route-match-n2-own-pod', action: { tool: 'route-match', address: '10.244.2.2' }, want: { kind: 'route', present: true, route: '10.244.2.2', dev: 'eni751425ce827' } },
  // felix's permanent entry for the pod on its cali veth; the VPC CNI leaves the node's entry to ARP.
  { network: 'calico-vxlan', file: 'neighbor-n2-own-pod', action: { tool: 'neighbor', address: '192.168.149.130' }, want: { kind: 'neighbor', ip: '192.168.149.130', mac: '0a:58:c0:a8:95:82', state: 'PERMANENT', dev: 'cali751425ce827' } },
  { network: 'calico-bgp', file: 'neighbor-n2-own-pod', action: { tool: 'neighbor', address: '192.168.149.130' }, want: { kind: 'neighbor', ip: '192.168.149.130', mac: '0a:58:c0:a8:95:82', state: 'PERMANENT', dev: 'cali751425ce827' } },
];

describe('parsers on the lab\'s other pod networks', () => {
  it.each(CASES)('$network/$file', ({ network, file, action, want }) => {
    const { raw, cmd } = load(network, file);
    expect(cmd).toBe(buildProbeCommand(action, 2000).join(' '));
    expect(parseProbeOutput(action, raw)).toEqual(want);
  });

  it('cilium: the node\'s entry for its pod sits on the pod\'s lxc veth with the pod\'s MAC', () => {
    const { raw } = load('cilium', 'neighbor-n2-own-pod');
    expect(parseProbeOutput({ tool: 'neighbor', address: '10.244.2.2' }, raw)).toMatchObject({ kind: 'neighbor', ip: '10.244.2.2', mac: '0a:58:0a:f4:02:02', dev: 'lxc0bc001f3d4c0' });
  });

  it.each(['calico-vxlan', 'calico-bgp', 'cloud-routed', 'cilium'])('%s: kube-proxy\'s rules read the same next to the network\'s own chains', (network) => {
    const { raw } = load(network, 'nat-rules-n2');
    // shop/web gets the first assigned ClusterIP in every healthy-<network> scenario.
    const clusterIP = '10.96.0.2';
    const obs = parseProbeOutput({ tool: 'nat-rules', clusterIP, port: 80, protocol: 'TCP' }, raw);
    expect(obs).toMatchObject({ kind: 'nat-rules', present: true });
    expect(obs.kind === 'nat-rules' ? obs.endpoints.length : 0).toBe(3);
    expect(raw.stdout.includes('cali-POSTROUTING')).toBe(network.startsWith('calico'));
  });

  it('the dumps hold each network\'s layout as documented', () => {
    expect(load('calico-vxlan', 'n2-ip-route').raw.stdout).toMatch(/^blackhole 192\.168\.149\.128\/26 proto 80 $/m);
    expect(load('calico-bgp', 'n2-ip-route').raw.stdout).toMatch(/^blackhole 192\.168\.149\.128\/26 proto bird $/m);
    expect(load('calico-vxlan', 'n2-ip-d-link').raw.stdout).toMatch(/vxlan\.calico: .* mtu 1450 [\s\S]*vxlan id 4096 local 172\.31\.0\.12 dev eth0 srcport 0 0 dstport 4789 nolearning/);
    expect(load('calico-vxlan', 'n2-ip-neigh').raw.stdout).toMatch(/^192\.168\.14\.64 dev vxlan\.calico lladdr 66:63:00:00:00:01 PERMANENT $/m);
    expect(load('calico-vxlan', 'web-1-ip-neigh').raw.stdout).toMatch(/^169\.254\.1\.1 dev eth0 lladdr ee:ee:ee:ee:ee:ee /m);
    expect(load('cloud-routed', 'web-1-ip-neigh').raw.stdout).toMatch(/^169\.254\.1\.1 dev eth0 lladdr 0e:65:0a:f4:02:02 PERMANENT $/m);
    expect(load('cloud-routed', 'n2-ip-rule').raw.stdout).toContain('512:\tfrom all to 10.244.2.2 lookup main');
    for (const n of ['calico-vxlan', 'calico-bgp', 'cloud-routed']) expect(load(n, 'web-1-ip-route').raw.stdout).toBe('default via 169.254.1.1 dev eth0 \n169.254.1.1 dev eth0 scope link \n');
    expect(load('cilium', 'web-1-ip-route').raw.stdout).toBe('default via 10.244.2.1 dev eth0 mtu 1450 \n10.244.2.1 dev eth0 scope link \n');
    expect(load('cilium', 'n2-ip-d-link').raw.stdout).toMatch(/cilium_vxlan: [\s\S]*vxlan external id 0 srcport 0 0 dstport 8472 nolearning/);
    expect(load('cilium', 'n2-iptables-save').raw.stdout).toContain('-A FORWARD -m comment --comment "cilium-feeder: CILIUM_FORWARD" -j CILIUM_FORWARD');
    // cilium-dbg service list through kubectl exec into the agent: the agent's table of frontends and backends.
    const dbg = load('cilium', 'cilium-dbg-service-list');
    expect(dbg.cmd).toBe('cilium-dbg service list');
    expect(dbg.raw.stdout.split('\n')[0]).toBe('ID   Frontend            Service Type   Backend');
    expect(dbg.raw.stdout).toMatch(/^3 {4}10\.96\.0\.2:80\/TCP {4}ClusterIP {6}1 => 10\.244\.\d\.\d:8080\/TCP \(active\)$/m);
    expect(load('cilium', 'cilium-dbg-bpf-lb-list').raw.stdout).toMatch(/^10\.96\.0\.2:80\/TCP \(1\) +10\.244\.\d\.\d:8080\/TCP \(3\) \(1\)$/m);
    expect(load('cilium', 'cilium-dbg-status').raw.stdout).toContain('KubeProxyReplacement:    False\n');
  });
});
