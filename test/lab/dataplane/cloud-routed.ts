/**
 * A cloud-routed pod network as the AWS VPC CNI lays it out: no overlay and no node routes to other nodes' pods; the
 * VPC (here the underlay namespace, a router on 172.31.0.1) routes each node's pod range to the node. On the node, each
 * pod has a /32 route to its `eni<11 hex>` veth and an `ip rule` to the main table at priority 512; in the pod, a /32 on
 * eth0, `169.254.1.1 dev eth0 scope link`, `default via 169.254.1.1` and a permanent neighbor entry for 169.254.1.1 with
 * the host veth's MAC (amazon-vpc-cni-k8s cmd/routed-eni-cni-plugin/driver/driver.go).
 */
import { LAB_ADDRESSES } from '../model.ts';
import { getPodMAC, getPrefixLength, parseIPv4 } from './addressing.ts';
import { hashedVethName, taggedMAC } from './pod-network.ts';
import type { PodNetwork } from './pod-network.ts';

/** The VPC CNI's priority of the per-pod "to <pod IP> lookup main" rule (networkutils ToContainerRulePriority). */
export const TO_CONTAINER_RULE_PRIORITY = 512;

/** The host veth's MAC (random in the VPC CNI; derived from the pod IP here so captures read the same in every lab). */
export function eniVethMAC(podIP: string): string {
  return taggedMAC([0x0e, 0x65], parseIPv4(podIP));
}

/** Creates the cloud-routed network. */
export function createCloudRoutedNetwork(underlayGateway: string): PodNetwork {
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
  };
}
