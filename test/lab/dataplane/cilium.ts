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
import { LAB_ADDRESSES } from '../model.ts';
import type { NodeNet } from '../model.ts';
import { getPodMAC } from './addressing.ts';
import { taggedMAC } from './pod-network.ts';
import type { PodNetwork } from './pod-network.ts';

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

/** Creates Cilium's network (tunnel mode, VXLAN). */
export function createCiliumNetwork(): PodNetwork {
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
  };
}

/** The nftables table of the lab's stand-in for Cilium's socket load balancer (no real cluster has it). */
export const SOCKET_LB_TABLE = 'nd_cilium_socklb';

/**
 * Cilium's kube-proxy replacement as the lab stands in for it: Cilium translates a ClusterIP to a backend at the socket
 * (connect/sendmsg), before a packet exists. The lab does it with an nftables table of its own in each pod's namespace
 * and in the node's (for host traffic): a nat output chain that picks a ready backend at random per Service port, and a
 * reject for a Service port without one. Services in omit are left out (kube-proxy-rules-missing).
 */
export function renderSocketLB(services: { namespace: string; name: string; clusterIP: string; ports: { name?: string; port: number; protocol: 'TCP' | 'UDP' }[]; endpoints: { ip: string; ready: boolean; ports: Record<string, number> }[] }[], omit: 'all' | string[] | undefined): string {
  const kept = omit === 'all' ? [] : services.filter((s) => !(omit ?? []).includes(`${s.namespace}/${s.name}`));
  const nat: string[] = [];
  const reject: string[] = [];
  const chains: string[] = [];
  let n = 0;
  for (const svc of kept) {
    if (svc.clusterIP === 'None' || svc.clusterIP === '') continue;
    for (const port of svc.ports) {
      const proto = port.protocol.toLowerCase();
      const match = `ip daddr ${svc.clusterIP} ${proto} dport ${port.port}`;
      const backends = svc.endpoints.filter((e) => e.ready && e.ports[port.name ?? ''] !== undefined).map((e) => `${e.ip}:${e.ports[port.name ?? '']}`);
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
    `table ip ${SOCKET_LB_TABLE} {}`,
    `delete table ip ${SOCKET_LB_TABLE}`,
    `table ip ${SOCKET_LB_TABLE} {`,
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
