/**
 * The pod networks the lab can build, by `spec.cluster.network` name.
 */
import type { ClusterNetwork } from '../model.ts';
import { createCalicoNetwork } from './calico.ts';
import { createCloudRoutedNetwork } from './cloud-routed.ts';
import { createFlannelNetwork } from './flannel.ts';
import type { PodNetwork } from './pod-network.ts';

/** The networks built so far; the others are refused by scenario validation. */
export const BUILT_NETWORKS = ['flannel', 'calico-vxlan', 'calico-bgp', 'cloud-routed'] as const satisfies readonly ClusterNetwork[];

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
      throw new Error('network cilium is not built by this lab yet');
    default: {
      const never: never = kind;
      throw new Error(`unknown network ${String(never)}`);
    }
  }
}
