/**
 * A cloud-routed pod network as the AWS VPC CNI lays it out: no overlay and no node routes to other nodes' pods; the
 * VPC (here the underlay namespace, a router on 172.31.0.1) routes each node's pod range to the node. On the node, each
 * pod has a /32 route to its `eni<11 hex>` veth and an `ip rule` to the main table at priority 512; in the pod, a /32 on
 * eth0, `169.254.1.1 dev eth0 scope link`, `default via 169.254.1.1` and a permanent neighbor entry for 169.254.1.1 with
 * the host veth's MAC (amazon-vpc-cni-k8s cmd/routed-eni-cni-plugin/driver/driver.go).
 *
 * Dual-stack (which EKS never runs: the VPC CNI is IPv4 or IPv6; GKE VPC-native and AKS Azure CNI overlay do): the VPC
 * routes each node's IPv6 pod range to the node's IPv6 address as it does IPv4; each pod has a /128 route to its veth on
 * its node and nothing towards other nodes' pods but the default route; in the pod, a /128 on eth0 and the same dummy
 * next hop in IPv6, `fe80::1 dev eth0`, `default via fe80::1 dev eth0` and a permanent neighbor entry for fe80::1 with the
 * host veth's MAC (the VPC CNI's IPv6 pod side: CalculatePodIPv6GatewayIP), per pod `to <pod IPv6> lookup main` at
 * priority 512 as for IPv4, and two of the host veth's IPv6 sysctls the CNI sets (accept_ra 0, accept_redirects 1;
 * not its veth forwarding=0, which belongs to its IPv6-only mode).
 */
import { LAB_ADDRESSES, LAB_ADDRESSES_V6, type NodeNet, type NodeNetV6 } from '../model.ts';
import { formatIPv4, getPodMAC, getPrefixLength, parseCIDR, parseIPv4 } from './addressing.ts';
import { parseCIDR6, parseIPv6, UNDERLAY_GATEWAY_V6 } from './addressing-v6.ts';
import { hashedVethName, taggedMAC } from './pod-network.ts';
import type { PodNetwork, PodNetworkV6 } from './pod-network.ts';

/** The VPC CNI's priority of the per-pod "to <pod IP> lookup main" rule (networkutils ToContainerRulePriority). */
export const TO_CONTAINER_RULE_PRIORITY = 512;

/** The host veth's MAC (random in the VPC CNI; derived from the pod IP here so captures read the same in every lab). */
export function eniVethMAC(podIP: string): string {
  return taggedMAC([0x0e, 0x65], parseIPv4(podIP));
}

/** The dummy IPv6 next hop of every pod (the VPC CNI's CalculatePodIPv6GatewayIP for the pod's first interface). */
export const POD_GATEWAY_V6 = 'fe80::1';

/** The node's IPv6 side, or a thrown error when the cluster is not dual-stack. */
function v6Of(node: NodeNet): NodeNetV6 {
  if (node.v6 === undefined) throw new Error(`node ${node.name} has no IPv6 addresses (the cluster is not dual-stack)`);
  return node.v6;
}

/** The host veth's MAC of the pod holding ip6 on node: the pod's IPv4 address sits at the same offset in the IPv4 range. */
function hostVethMACForV6(node: NodeNet, ip6: string): string {
  const offset = Number(parseIPv6(ip6) - parseCIDR6(v6Of(node).podCIDR).network);
  return eniVethMAC(formatIPv4(parseCIDR(node.podCIDR).network + offset));
}

/** The cloud-routed network's IPv6 side: the VPC's IPv6 routes, per-pod /128 routes and the pods' fe80::1 next hop. */
function cloudRoutedV6(): PodNetworkV6 {
  return {
    clusterCIDR: LAB_ADDRESSES_V6.clusterCIDR,
    tunnel: undefined,
    nodeLines: () => [],
    nodeSysctls: () => ({}),
    // The nodes hold no routes to other nodes' IPv6 pods: their IPv6 default route leads to the VPC router.
    peerLines: () => ({ ip: [], bridge: [] }),
    peerRoute: () => ({ add: [], del: [] }),
    podLines: (node, ip6) => [
      `addr add ${ip6}/128 dev eth0 nodad`,
      `route replace ${POD_GATEWAY_V6} dev eth0 scope link`,
      `route add default via ${POD_GATEWAY_V6} dev eth0`,
      `neigh add ${POD_GATEWAY_V6} lladdr ${hostVethMACForV6(node, ip6)} dev eth0 nud permanent`,
    ],
    podNodeSide: (_node, hostVeth, ip6) => ({
      nodeLines: [`route replace ${ip6} dev ${hostVeth} scope link`, `-6 rule add to ${ip6} lookup main prio ${TO_CONTAINER_RULE_PRIORITY}`],
      nodeSysctls: { [`net.ipv6.conf.${hostVeth}.accept_ra`]: 0, [`net.ipv6.conf.${hostVeth}.accept_redirects`]: 1 },
      teardownLines: [`-6 rule del to ${ip6} lookup main prio ${TO_CONTAINER_RULE_PRIORITY}`],
    }),
    // The VPC router's IPv6 side: the nodes' IPv6 default gateway, with a route for each node's IPv6 pod range.
    underlayLines: (nodes) => [
      `addr add ${UNDERLAY_GATEWAY_V6}/${parseCIDR6(LAB_ADDRESSES_V6.underlayCIDR).prefix} dev br0 nodad`,
      ...nodes.filter((n) => n.v6 !== undefined).map((n) => `route replace ${v6Of(n).podCIDR} via ${v6Of(n).underlayIP} dev br0`),
    ],
    underlaySysctls: () => ({ 'net.ipv6.conf.all.forwarding': 1 }),
    underlayBlock: (node) => ({ family: 'ip6', hook: 'forward', rule: `ip6 daddr ${v6Of(node).podCIDR} counter drop` }),
  };
}

/** Creates the cloud-routed network; dualStack adds its IPv6 side. */
export function createCloudRoutedNetwork(underlayGateway: string, dualStack = false): PodNetwork {
  const mtu = LAB_ADDRESSES.pathMTU;
  const gw = LAB_ADDRESSES.linkLocalGateway;
  return {
    kind: 'cloud-routed',
    clusterCIDR: LAB_ADDRESSES.clusterCIDR,
    tunnel: undefined,
    bridge: undefined,
    podMTU: mtu,
    underlayLines: (nodes) => [
      // The VPC router: the nodes' default gateway, with a route for each node's pod range to that node.
      `addr add ${underlayGateway}/${getPrefixLength(LAB_ADDRESSES.underlayCIDR)} dev br0`,
      ...nodes.map((n) => `route replace ${n.podCIDR} via ${n.underlayIP} dev br0`),
    ],
    // A VPC router forwards and sends no ICMP redirects back at the nodes.
    underlaySysctls: () => ({ 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.send_redirects': 0, 'net.ipv4.conf.br0.send_redirects': 0 }),
    nodeLines: () => [],
    nodeSysctls: () => ({}),
    nodeIptables: () => '',
    workloadIptables: () => '',
    peerLines: () => ({ ip: [], bridge: [] }),
    peerRoute: () => undefined,
    podLink: (_node, pod) => {
      const hostVeth = hashedVethName('eni', pod.key);
      const mac = eniVethMAC(pod.ip);
      return {
        hostVeth,
        nodeLines: [
          `link set ${hostVeth} address ${mac} up`,
          `route replace ${pod.ip} dev ${hostVeth} scope link`,
          `rule add to ${pod.ip} lookup main prio ${TO_CONTAINER_RULE_PRIORITY}`,
        ],
        nodeSysctls: {},
        podLines: [
          `link set eth0 address ${getPodMAC(pod.ip)}`,
          'link set eth0 up',
          `route replace ${gw} dev eth0 scope link`,
          `route add default via ${gw} dev eth0`,
          `addr add ${pod.ip}/32 dev eth0`,
          `neigh add ${gw} lladdr ${mac} dev eth0 nud permanent`,
        ],
        teardownLines: [`rule del to ${pod.ip} lookup main prio ${TO_CONTAINER_RULE_PRIORITY}`],
      };
    },
    neighborDevice: (hostVeth) => hostVeth,
    forwardAcceptRules: [],
    underlayBlock: (node) => ({ family: 'ip', hook: 'forward', rule: `ip daddr ${node.podCIDR} counter drop` }),
    ...(dualStack ? { v6: cloudRoutedV6() } : {}),
  };
}
