/**
 * flannel's vxlan backend with the CNI bridge plugin, the lab's first and default network: cni0 bridge, flannel.1 VTEP
 * (UDP 8472, VNI 1), per-node /24 routes via the peer VTEP onlink, permanent neighbor and FDB entries.
 */
import { LAB_ADDRESSES } from '../model.ts';
import type { NodeNet } from '../model.ts';
import { getPodMAC, getPrefixLength } from './addressing.ts';
import type { PodNetwork } from './pod-network.ts';

/** The deterministic MAC of a node's cni0 bridge. */
function bridgeMAC(index: number): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `0e:6e:62:00:${hex(index >> 8)}:${hex(index & 255)}`;
}

/** Creates the flannel network (exactly the lab's layout before networks were pluggable). */
export function createFlannelNetwork(): PodNetwork {
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
  };
}
