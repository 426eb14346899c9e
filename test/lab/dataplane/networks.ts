/**
 * The pod networks the lab can build, by `spec.cluster.network` name.
 */
import type { ClusterNetwork } from '../model.ts';
import { createCalicoNetwork } from './calico.ts';
import { createCiliumNetwork } from './cilium.ts';
import { createCloudRoutedNetwork } from './cloud-routed.ts';
import { createFlannelNetwork } from './flannel.ts';
import type { PodNetwork } from './pod-network.ts';

/** Returns the layout of a pod network; underlayGateway is the address the nodes' default route points at. */
export function createPodNetwork(kind: ClusterNetwork, underlayGateway: string): PodNetwork {
  switch (kind) {
    case 'flannel':
      return createFlannelNetwork();
    case 'calico-vxlan':
      return createCalicoNetwork('vxlan');
    case 'calico-bgp':
      return createCalicoNetwork('bgp');
    case 'cloud-routed':
      return createCloudRoutedNetwork(underlayGateway);
    case 'cilium':
      return createCiliumNetwork();
    default: {
      const never: never = kind;
      throw new Error(`unknown network ${String(never)}`);
    }
  }
}
