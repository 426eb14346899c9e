/**
 * Cilium in its default tunnel mode (VXLAN), with kube-proxy: `cilium_host`/`cilium_net` (a NOARP veth pair, the router
 * address on cilium_host as a /32), `cilium_vxlan` (external, UDP 8472), `lxc<12 hex>` host veths, the node routes
 * `<pod CIDR> via <router> dev cilium_host proto kernel src <router>` (`mtu 1450` towards other nodes), pods with a /32,
 * `<router> dev eth0 scope link` and `default via <router> dev eth0 mtu 1450` on 1500-byte devices, and Cilium's
 * CILIUM_* iptables chains. What Cilium's eBPF programs do (deliver to the lxc veth, encapsulate with the tunnel
 * metadata) the lab does with kernel routing of its own, confined to a routing table and rule that no Cilium node has:
 * see test/lab/README.md ("Pod networks").
 */
import { createHash } from 'node:crypto';
import { LAB_ADDRESSES, LAB_ADDRESSES_V6 } from '../model.ts';
import type { NodeNet } from '../model.ts';
import { getPodMAC } from './addressing.ts';
import { taggedMAC } from './pod-network.ts';
import type { PodNetwork, PodNetworkV6 } from './pod-network.ts';

/**
 * The lab's own routing table standing for Cilium's eBPF forwarding: consulted first for traffic from the host, from
 * the tunnel and from each pod's lxc veth, it delivers to the lxc veths and encapsulates towards other nodes, so no
 * packet takes the cilium_host/cilium_net detour that only eBPF makes work.
 */
export const CILIUM_EMULATION_TABLE = 2100;
/** The priority of the lab's rules sending traffic to CILIUM_EMULATION_TABLE. */
export const CILIUM_EMULATION_RULE_PRIORITY = 100;
/** The route MTU Cilium puts on routes towards other nodes and on the pods' default route in tunnel mode. */
export const CILIUM_ROUTE_MTU = LAB_ADDRESSES.overlayMTU;
/** The tunnel key the lab's encapsulation routes carry (Cilium puts the source's security identity there). */
const TUNNEL_KEY = 2;

/** The node's router address on cilium_host (Cilium allocates it from the node's pod CIDR; the lab takes `.1`). */
export function ciliumRouterIP(node: NodeNet): string {
  return node.gatewayIP;
}

/** The deterministic MAC of a node's cilium_host. */
export function ciliumHostMAC(node: NodeNet): string {
  return taggedMAC([0x12, 0xc4], node.index);
}

/** The deterministic MAC of a node's cilium_net. */
export function ciliumNetMAC(node: NodeNet): string {
  return taggedMAC([0x22, 0xc3], node.index);
}

/** The deterministic MAC of a node's cilium_vxlan. */
export function ciliumVxlanMAC(node: NodeNet): string {
  return taggedMAC([0xae, 0xcf], node.index);
}

/** A pod's host veth: `lxc` and 12 hex digits (Cilium hashes the endpoint; the lab hashes `<namespace>/<pod>`). */
export function ciliumVethName(podKey: string): string {
  return `lxc${createHash('sha256').update(podKey).digest('hex').slice(0, 12)}`;
}

/** Cilium's filter-table chains with kube-proxy present (its iptables manager: feeders and CILIUM_FORWARD accepts). */
export function renderCiliumRules(): string {
  return `${[
    '*filter',
    ':CILIUM_FORWARD - [0:0]',
    ':CILIUM_INPUT - [0:0]',
    ':CILIUM_OUTPUT - [0:0]',
    '-I INPUT 1 -m comment --comment "cilium-feeder: CILIUM_INPUT" -j CILIUM_INPUT',
    '-I FORWARD 1 -m comment --comment "cilium-feeder: CILIUM_FORWARD" -j CILIUM_FORWARD',
    '-I OUTPUT 1 -m comment --comment "cilium-feeder: CILIUM_OUTPUT" -j CILIUM_OUTPUT',
    '-A CILIUM_FORWARD -o cilium_host -m comment --comment "cilium: any->cluster on cilium_host forward accept" -j ACCEPT',
    '-A CILIUM_FORWARD -i cilium_host -m comment --comment "cilium: cluster->any on cilium_host forward accept (nodeport)" -j ACCEPT',
    '-A CILIUM_FORWARD -i lxc+ -m comment --comment "cilium: cluster->any on lxc+ forward accept" -j ACCEPT',
    '-A CILIUM_FORWARD -i cilium_net -m comment --comment "cilium: cluster->any on cilium_net forward accept (nodeport)" -j ACCEPT',
    '-A CILIUM_INPUT -m mark --mark 0x200/0xf00 -m comment --comment "cilium: ACCEPT for proxy traffic" -j ACCEPT',
    '-A CILIUM_OUTPUT -m mark --mark 0xa00/0xe00 -m comment --comment "cilium: ACCEPT for proxy traffic" -j ACCEPT',
    'COMMIT',
  ].join('\n')}\n`;
}

/** The link-local address the kernel gives a device with this MAC (EUI-64: the U/L bit flipped, ff:fe in the middle). */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  const bytes = [(b[0] ?? 0) ^ 2, b[1] ?? 0, b[2] ?? 0, 0xff, 0xfe, b[3] ?? 0, b[4] ?? 0, b[5] ?? 0];
  const groups = [0, 2, 4, 6].map((i) => (((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return `fe80::${groups.join(':')}`;
}

/** The node's IPv6 router address on cilium_host (Cilium allocates it from the node's IPv6 pod CIDR; the lab takes `::1`). */
export function ciliumRouterIPv6(node: NodeNet): string {
  if (node.v6 === undefined) throw new Error(`node ${node.name} has no IPv6 addresses (the cluster is not dual-stack)`);
  return node.v6.gatewayIP;
}

/**
 * Cilium's IPv6 side (`enable-ipv6`, tunnel mode): the IPv6 router address as a /128 on cilium_host, per node
 * `<IPv6 pod CIDR> dev cilium_host proto kernel src <router>` (`mtu 1450` towards other nodes; createNodeRouteSpec drops
 * the `via` for IPv6 as the kernel refuses a local gateway), pods with a /128, `<router> dev eth0` and `default via <router> dev eth0 mtu
 * 1450` (connector.IPv6Routes). IPv6 pod traffic between nodes travels in cilium_vxlan over the nodes' IPv4 addresses,
 * as Cilium's tunnel endpoints are. The lab's stand-in for the eBPF datapath gets IPv6 twins: routes in
 * CILIUM_EMULATION_TABLE, `ip -6` rules, and, for the pods' neighbor solicitations of the router address (which
 * bpf_lxc answers), a proxy NDP entry on each lxc veth.
 */
function ciliumV6(): PodNetworkV6 {
  const v6 = (node: NodeNet): NonNullable<NodeNet['v6']> => {
    if (node.v6 === undefined) throw new Error(`node ${node.name} has no IPv6 addresses (the cluster is not dual-stack)`);
    return node.v6;
  };
  const nodeRoute = (local: NodeNet, to: NodeNet, remote: boolean): string => {
    const r = ciliumRouterIPv6(local);
    // No `via` for IPv6: the kernel refuses the router address as a gateway ("Gateway can not be a local address").
    return `route replace ${v6(to).podCIDR} dev cilium_host proto kernel src ${r}${remote ? ` mtu ${CILIUM_ROUTE_MTU}` : ''}`;
  };
  // The lab's IPv6 route into the tunnel goes via the peer cilium_vxlan's link-local address: an IPv6 onlink gateway
  // inside the peer's pod CIDR is refused, as the main table routes that CIDR to cilium_host ("Nexthop has invalid
  // gateway or device mismatch").
  const tunnelRoute = (local: NodeNet, to: NodeNet): string =>
    `route replace ${v6(to).podCIDR} encap ip id ${TUNNEL_KEY} dst ${to.underlayIP} via ${eui64LinkLocal(ciliumVxlanMAC(to))} dev cilium_vxlan src ${ciliumRouterIPv6(local)} mtu ${CILIUM_ROUTE_MTU} table ${CILIUM_EMULATION_TABLE}`;
  return {
    clusterCIDR: LAB_ADDRESSES_V6.clusterCIDR,
    // Cilium's IPv6 pod traffic shares cilium_vxlan with IPv4 (its tunnel endpoints are the nodes' IPv4 addresses).
    tunnel: undefined,
    nodeLines: (node) => [
      `addr add ${ciliumRouterIPv6(node)}/128 dev cilium_host nodad`,
      nodeRoute(node, node, false),
      `-6 rule add iif lo lookup ${CILIUM_EMULATION_TABLE} pref ${CILIUM_EMULATION_RULE_PRIORITY}`,
      `-6 rule add iif cilium_vxlan lookup ${CILIUM_EMULATION_TABLE} pref ${CILIUM_EMULATION_RULE_PRIORITY}`,
    ],
    nodeSysctls: () => ({}),
    peerLines: (local, others) => ({
      ip: others.flatMap((o) => [
        nodeRoute(local, o, true),
        tunnelRoute(local, o),
        `neigh replace ${eui64LinkLocal(ciliumVxlanMAC(o))} lladdr ${ciliumVxlanMAC(o)} dev cilium_vxlan nud permanent`,
      ]),
      bridge: [],
    }),
    peerRoute: (local, to) => ({
      add: [nodeRoute(local, to, true), tunnelRoute(local, to)],
      del: [`route del ${v6(to).podCIDR} dev cilium_host`, `route del ${v6(to).podCIDR} table ${CILIUM_EMULATION_TABLE}`],
    }),
    podLines: (node, ip6) => {
      const r = ciliumRouterIPv6(node);
      return [`addr add ${ip6}/128 dev eth0 nodad`, `route add ${r} dev eth0`, `route add default via ${r} dev eth0 mtu ${CILIUM_ROUTE_MTU}`];
    },
    podNodeSide: (node, hostVeth, ip6) => ({
      nodeLines: [
        `route replace ${ip6} dev ${hostVeth} src ${ciliumRouterIPv6(node)} table ${CILIUM_EMULATION_TABLE}`,
        `-6 rule add iif ${hostVeth} lookup ${CILIUM_EMULATION_TABLE} pref ${CILIUM_EMULATION_RULE_PRIORITY}`,
        `neigh add proxy ${ciliumRouterIPv6(node)} dev ${hostVeth}`,
      ],
      nodeSysctls: { [`net.ipv6.conf.${hostVeth}.proxy_ndp`]: 1, [`net.ipv6.neigh.${hostVeth}.proxy_delay`]: 0 },
      teardownLines: [`-6 rule del iif ${hostVeth} lookup ${CILIUM_EMULATION_TABLE} pref ${CILIUM_EMULATION_RULE_PRIORITY}`],
    }),
  };
}

/** Creates Cilium's network (tunnel mode, VXLAN); dualStack adds its IPv6 side. */
export function createCiliumNetwork(dualStack = false): PodNetwork {
  const mtu = LAB_ADDRESSES.pathMTU;
  const nodeRoute = (local: NodeNet, to: NodeNet, remote: boolean): string => {
    const r = ciliumRouterIP(local);
    return `route replace ${to.podCIDR} via ${r} dev cilium_host proto kernel src ${r}${remote ? ` mtu ${CILIUM_ROUTE_MTU}` : ''}`;
  };
  // The lab's route into the tunnel towards another node (what Cilium's eBPF does with its tunnel map).
  const tunnelRoute = (local: NodeNet, to: NodeNet, routeMtu: number): string =>
    `route replace ${to.podCIDR} encap ip id ${TUNNEL_KEY} dst ${to.underlayIP} via ${ciliumRouterIP(to)} dev cilium_vxlan onlink src ${ciliumRouterIP(local)} mtu ${routeMtu} table ${CILIUM_EMULATION_TABLE}`;
  return {
    kind: 'cilium',
    clusterCIDR: LAB_ADDRESSES.clusterCIDR,
    tunnel: { device: 'cilium_vxlan', port: LAB_ADDRESSES.vxlanPort },
    bridge: undefined,
    podMTU: mtu,
    underlayLines: () => [],
    underlaySysctls: () => ({}),
    nodeLines: (node) => {
      const r = ciliumRouterIP(node);
      return [
        'link add cilium_net type veth peer name cilium_host',
        `link set cilium_host address ${ciliumHostMAC(node)} arp off mtu ${mtu} up`,
        `link set cilium_net address ${ciliumNetMAC(node)} arp off mtu ${mtu} up`,
        `addr add ${r}/32 dev cilium_host`,
        `link add cilium_vxlan type vxlan external dstport ${LAB_ADDRESSES.vxlanPort} nolearning`,
        `link set cilium_vxlan address ${ciliumVxlanMAC(node)} mtu ${mtu} up`,
        `route add ${r} dev cilium_host proto kernel scope link`,
        nodeRoute(node, node, false),
        // The lab's stand-in for the eBPF datapath (see CILIUM_EMULATION_TABLE): host and tunnel traffic first.
        `rule add iif lo lookup ${CILIUM_EMULATION_TABLE} pref ${CILIUM_EMULATION_RULE_PRIORITY}`,
        `rule add iif cilium_vxlan lookup ${CILIUM_EMULATION_TABLE} pref ${CILIUM_EMULATION_RULE_PRIORITY}`,
      ];
    },
    nodeSysctls: () => ({ 'net.ipv4.conf.cilium_vxlan.rp_filter': 0 }),
    nodeIptables: () => renderCiliumRules(),
    workloadIptables: () => '',
    peerLines: (local, others) => ({
      ip: others.flatMap((o) => [
        nodeRoute(local, o, true),
        tunnelRoute(local, o, CILIUM_ROUTE_MTU),
        `neigh replace ${ciliumRouterIP(o)} lladdr ${ciliumVxlanMAC(o)} dev cilium_vxlan nud permanent`,
      ]),
      bridge: [],
    }),
    // pod-route-missing takes the node's route and the lab's tunnel route for that node away together.
    peerRoute: (local, to) => ({
      add: [nodeRoute(local, to, true), tunnelRoute(local, to, CILIUM_ROUTE_MTU)],
      del: [`route del ${to.podCIDR} dev cilium_host`, `route del ${to.podCIDR} table ${CILIUM_EMULATION_TABLE}`],
    }),
    podLink: (node, pod) => {
      const hostVeth = ciliumVethName(pod.key);
      const r = ciliumRouterIP(node);
      return {
        hostVeth,
        nodeLines: [
          `link set ${hostVeth} up`,
          `route replace ${pod.ip} dev ${hostVeth} scope link src ${r} table ${CILIUM_EMULATION_TABLE}`,
          `rule add iif ${hostVeth} lookup ${CILIUM_EMULATION_TABLE} pref ${CILIUM_EMULATION_RULE_PRIORITY}`,
        ],
        nodeSysctls: { [`net.ipv4.conf.${hostVeth}.rp_filter`]: 0 },
        podLines: [
          `link set eth0 address ${getPodMAC(pod.ip)}`,
          `addr add ${pod.ip}/32 dev eth0`,
          'link set eth0 up',
          `route add ${r} dev eth0 scope link`,
          `route add default via ${r} dev eth0 mtu ${CILIUM_ROUTE_MTU}`,
        ],
        teardownLines: [`rule del iif ${hostVeth} lookup ${CILIUM_EMULATION_TABLE} pref ${CILIUM_EMULATION_RULE_PRIORITY}`],
      };
    },
    neighborDevice: (hostVeth) => hostVeth,
    forwardAcceptRules: [{ rule: ['-m', 'comment', '--comment', 'cilium-feeder: CILIUM_FORWARD', '-j', 'CILIUM_FORWARD'], first: true }],
    underlayBlock: () => undefined,
    routeMTU: {
      node: (local, others, routeMtu) =>
        others.flatMap((o) => [
          nodeRoute(local, o, true).replace(`mtu ${CILIUM_ROUTE_MTU}`, `mtu ${routeMtu}`),
          tunnelRoute(local, o, routeMtu),
        ]),
      pod: (node, routeMtu) => [`route replace default via ${ciliumRouterIP(node)} dev eth0 mtu ${routeMtu}`],
    },
    ...(dualStack ? { v6: ciliumV6() } : {}),
  };
}

/** The nftables table of the lab's stand-in for Cilium's socket load balancer (no real cluster has it). */
export const SOCKET_LB_TABLE = 'nd_cilium_socklb';

/**
 * Cilium's kube-proxy replacement as the lab stands in for it: Cilium translates a ClusterIP to a backend at the socket
 * (connect/sendmsg), before a packet exists. The lab does it with an nftables table of its own in each pod's namespace
 * and in the node's (for host traffic): a nat output chain that picks a ready backend at random per Service port, and a
 * reject for a Service port without one. Services in omit are left out (kube-proxy-rules-missing). family `ip6` writes the
 * IPv6 twin (`table ip6`, `ip6 daddr`, `dnat to [addr]:port`) from the Services' IPv6 view.
 */
export function renderSocketLB(
  services: { namespace: string; name: string; clusterIP: string; ports: { name?: string; port: number; protocol: 'TCP' | 'UDP' }[]; endpoints: { ip: string; ready: boolean; ports: Record<string, number> }[] }[],
  omit: 'all' | string[] | undefined,
  family: 'ip' | 'ip6' = 'ip',
): string {
  const kept = omit === 'all' ? [] : services.filter((s) => !(omit ?? []).includes(`${s.namespace}/${s.name}`));
  const nat: string[] = [];
  const reject: string[] = [];
  const chains: string[] = [];
  let n = 0;
  for (const svc of kept) {
    if (svc.clusterIP === 'None' || svc.clusterIP === '') continue;
    for (const port of svc.ports) {
      const proto = port.protocol.toLowerCase();
      const match = `${family} daddr ${svc.clusterIP} ${proto} dport ${port.port}`;
      const host = (ip: string): string => (family === 'ip6' ? `[${ip}]` : ip);
      const backends = svc.endpoints.filter((e) => e.ready && e.ports[port.name ?? ''] !== undefined).map((e) => `${host(e.ip)}:${e.ports[port.name ?? '']}`);
      if (backends.length === 0) {
        reject.push(`    ${match} reject`);
        continue;
      }
      const id = n++;
      nat.push(`    ${match} jump svc_${id}`);
      const picks = backends.map((_, i) => `${i} : jump ep_${id}_${i}`).join(', ');
      chains.push(`  chain svc_${id} {\n    numgen random mod ${backends.length} vmap { ${picks} }\n  }`);
      backends.forEach((b, i) => chains.push(`  chain ep_${id}_${i} {\n    meta l4proto ${proto} dnat to ${b}\n  }`));
    }
  }
  return [
    `table ${family} ${SOCKET_LB_TABLE} {}`,
    `delete table ${family} ${SOCKET_LB_TABLE}`,
    `table ${family} ${SOCKET_LB_TABLE} {`,
    '  chain connect {',
    '    type nat hook output priority -100; policy accept;',
    ...nat,
    '  }',
    '  chain no_backend {',
    '    type filter hook output priority 0; policy accept;',
    ...reject,
    '  }',
    ...chains,
    '}',
    '',
  ].join('\n');
}
