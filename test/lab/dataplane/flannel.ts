/**
 * flannel's vxlan backend with the CNI bridge plugin, the lab's first and default network: cni0 bridge, flannel.1 VTEP
 * (UDP 8472, VNI 1), per-node /24 routes via the peer VTEP onlink, permanent neighbor and FDB entries.
 */
import { LAB_ADDRESSES, LAB_ADDRESSES_V6 } from '../model.ts';
import type { NodeNet } from '../model.ts';
import { getPodMAC, getPrefixLength } from './addressing.ts';
import type { PodNetwork, PodNetworkV6 } from './pod-network.ts';

/** The deterministic MAC of a node's cni0 bridge. */
function bridgeMAC(index: number): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `0e:6e:62:00:${hex(index >> 8)}:${hex(index & 255)}`;
}

/** The IPv6 VXLAN device flanneld creates next to flannel.1 when EnableIPv6 is set (vxlan.go: `flannel-v6.<VNI>`). */
export const FLANNEL_V6_DEVICE = `flannel-v6.${LAB_ADDRESSES.vxlanId}`;

/**
 * flannel's IPv6 side (pkg/backend/vxlan: createVXLANDevice, handleSubnetEvents): flannel-v6.1 with the same VNI and
 * port as flannel.1 but bound to the node's IPv6 address, its lease's network address as a /128, and per peer a /64
 * route via the peer's VTEP onlink, a permanent neighbor (AddV6ARP) and an FDB entry to the peer's IPv6 address
 * (AddV6FDB); cni0 carries the range's ::1 as the pods' IPv6 gateway.
 */
function flannelV6(): PodNetworkV6 {
  const dev = FLANNEL_V6_DEVICE;
  const v6 = (node: NodeNet): NonNullable<NodeNet['v6']> => {
    if (node.v6 === undefined) throw new Error(`node ${node.name} has no IPv6 addresses (the cluster is not dual-stack)`);
    return node.v6;
  };
  const route = (to: NodeNet): string => `route replace ${v6(to).podCIDR} via ${v6(to).vtepIP} dev ${dev} onlink`;
  return {
    clusterCIDR: LAB_ADDRESSES_V6.clusterCIDR,
    tunnel: { device: dev, port: LAB_ADDRESSES.vxlanPort },
    nodeLines: (node) => [
      // The CNI bridge plugin turns DAD off for the addresses it sets (hairpin mode echoes neighbor solicitations).
      `addr add ${v6(node).gatewayIP}/${LAB_ADDRESSES_V6.nodePrefix} dev cni0 nodad`,
      `link add ${dev} type vxlan id ${LAB_ADDRESSES.vxlanId} dstport ${LAB_ADDRESSES.vxlanPort} local ${v6(node).underlayIP} dev eth0 nolearning`,
      // No MTU is set: the kernel gives a VXLAN device over IPv6 its lower device's MTU less 70 (1430), as flanneld's
      // flannel-v6.1 shows without an MTU in its config (flannel issue #1781: "ipv4 MTU - 50, ipv6 MTU - 70").
      `link set ${dev} address ${v6(node).vtepMAC} up`,
      `addr add ${v6(node).vtepIP}/128 dev ${dev} nodad`,
    ],
    // newVXLANDevice sets accept_ra 0 on the device it creates.
    nodeSysctls: () => ({ [`net/ipv6/conf/${dev}/accept_ra`]: 0 }),
    peerLines: (_local, others) => ({
      ip: others.flatMap((o) => [route(o), `neigh replace ${v6(o).vtepIP} lladdr ${v6(o).vtepMAC} dev ${dev} nud permanent`]),
      bridge: others.map((o) => `fdb replace ${v6(o).vtepMAC} dev ${dev} dst ${v6(o).underlayIP} self permanent`),
    }),
    peerRoute: (_local, to) => ({ add: [route(to)], del: [`route del ${v6(to).podCIDR} dev ${dev}`] }),
    podLines: (node, ip6) => [`addr add ${ip6}/${LAB_ADDRESSES_V6.nodePrefix} dev eth0 nodad`, `route add default via ${v6(node).gatewayIP} dev eth0`],
  };
}

/** Creates the flannel network (exactly the lab's layout before networks were pluggable); dualStack adds its IPv6 side. */
export function createFlannelNetwork(dualStack = false): PodNetwork {
  const mtu = LAB_ADDRESSES.overlayMTU;
  return {
    kind: 'flannel',
    clusterCIDR: LAB_ADDRESSES.clusterCIDR,
    tunnel: { device: 'flannel.1', port: LAB_ADDRESSES.vxlanPort },
    bridge: 'cni0',
    podMTU: mtu,
    underlayLines: () => [],
    underlaySysctls: () => ({}),
    nodeLines: (node) => [
      // A fixed bridge MAC, as the CNI bridge plugin sets: otherwise the bridge takes its lowest port's MAC, and every
      // change of it flushes the node's neighbor table (permanent entries too).
      `link add cni0 address ${bridgeMAC(node.index)} type bridge`,
      `link set cni0 mtu ${mtu} up`,
      `addr add ${node.gatewayIP}/${getPrefixLength(node.podCIDR)} dev cni0`,
      `link add flannel.1 type vxlan id ${LAB_ADDRESSES.vxlanId} dstport ${LAB_ADDRESSES.vxlanPort} local ${node.underlayIP} dev eth0 nolearning`,
      `link set flannel.1 address ${node.vtepMAC} mtu ${mtu} up`,
      `addr add ${node.vtepIP}/32 dev flannel.1`,
    ],
    nodeSysctls: () => ({}),
    nodeIptables: () => '',
    workloadIptables: () => '',
    peerLines: (_local, others) => ({
      ip: others.flatMap((o) => [
        `route replace ${o.podCIDR} via ${o.vtepIP} dev flannel.1 onlink`,
        `neigh replace ${o.vtepIP} lladdr ${o.vtepMAC} dev flannel.1 nud permanent`,
      ]),
      bridge: others.map((o) => `fdb replace ${o.vtepMAC} dev flannel.1 dst ${o.underlayIP} self permanent`),
    }),
    peerRoute: (_local, to) => ({
      add: [`route replace ${to.podCIDR} via ${to.vtepIP} dev flannel.1 onlink`],
      del: [`route del ${to.podCIDR} dev flannel.1`],
    }),
    podLink: (node: NodeNet, pod) => {
      const hostVeth = `veth${pod.n}`;
      return {
        hostVeth,
        nodeLines: [
          `link set ${hostVeth} master cni0 up`,
          // kubelet's hairpin-veth mode: a pod reaching its own Service comes back out of the port it entered.
          `link set dev ${hostVeth} type bridge_slave hairpin on`,
        ],
        nodeSysctls: {},
        podLines: [
          `link set eth0 address ${getPodMAC(pod.ip)}`,
          `addr add ${pod.ip}/${getPrefixLength(node.podCIDR)} dev eth0`,
          'link set eth0 up',
          `route add default via ${node.gatewayIP} dev eth0`,
        ],
        teardownLines: [],
      };
    },
    neighborDevice: () => 'cni0',
    forwardAcceptRules: [],
    underlayBlock: () => undefined,
    ...(dualStack ? { v6: flannelV6() } : {}),
  };
}
