/**
 * The pod networks the lab can build, by `spec.cluster.network` name.
 */
import { NETWORK_TRAITS, type ClusterNetwork } from '../model.ts';
import { createCalicoNetwork } from './calico.ts';
import { createCiliumNetwork } from './cilium.ts';
import { createCloudRoutedNetwork } from './cloud-routed.ts';
import { createFlannelNetwork } from './flannel.ts';
import type { PodNetwork } from './pod-network.ts';

/**
 * Returns the layout of a pod network; underlayGateway is the address the nodes' default route points at; dualStack
 * asks for its IPv6 side (only networks whose NETWORK_TRAITS say dualStack have one; scenario validation refuses others).
 */
export function createPodNetwork(kind: ClusterNetwork, underlayGateway: string, dualStack = false): PodNetwork {
  if (dualStack && !NETWORK_TRAITS[kind].dualStack) throw new Error(`network ${kind} is not built dual-stack by this lab`);
  switch (kind) {
    case 'flannel':
      return createFlannelNetwork(dualStack);
    case 'calico-vxlan':
      return createCalicoNetwork('vxlan', dualStack);
    case 'calico-bgp':
      return createCalicoNetwork('bgp', dualStack);
    case 'cloud-routed':
      return createCloudRoutedNetwork(underlayGateway, dualStack);
    case 'cilium':
      return createCiliumNetwork(dualStack);
    default: {
      const never: never = kind;
      throw new Error(`unknown network ${String(never)}`);
    }
  }
}
