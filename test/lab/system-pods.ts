/**
 * The system pods each pod network brings to the API, laid out as its upstream installer does: the Tigera operator for
 * Calico (tigera-operator in its own namespace; calico-node, calico-typha and calico-kube-controllers in calico-system)
 * and the AWS VPC CNI's aws-node DaemonSet in kube-system. flannel keeps what the lab always served (no system pods).
 */
import { createHash } from 'node:crypto';
import type { ClusterNetwork } from './model.ts';

/** One system workload: its pods run on every node (DaemonSet) or on the first node (Deployment). */
export interface SystemWorkload {
  namespace: string;
  kind: 'DaemonSet' | 'Deployment';
  name: string;
  labels: Record<string, string>;
  container: string;
  image: string;
  hostNetwork: boolean;
}

/** One system pod placed on a node. */
export interface SystemPod {
  workload: SystemWorkload;
  name: string;
  node: string;
}

const CALICO_VERSION = 'v3.29.1';

/** The namespaces a network's installer creates (besides kube-system). */
export function systemNamespacesOf(network: ClusterNetwork): string[] {
  switch (network) {
    case 'calico-vxlan':
    case 'calico-bgp':
      return ['tigera-operator', 'calico-system'];
    case 'flannel':
    case 'cloud-routed':
    case 'cilium':
      return [];
    default: {
      const never: never = network;
      throw new Error(`unknown network ${String(never)}`);
    }
  }
}

/** The system workloads of a network. */
export function systemWorkloadsOf(network: ClusterNetwork): SystemWorkload[] {
  switch (network) {
    case 'calico-vxlan':
    case 'calico-bgp':
      return [
        { namespace: 'tigera-operator', kind: 'Deployment', name: 'tigera-operator', labels: { 'k8s-app': 'tigera-operator', name: 'tigera-operator' }, container: 'tigera-operator', image: 'quay.io/tigera/operator:v1.36.2', hostNetwork: true },
        { namespace: 'calico-system', kind: 'DaemonSet', name: 'calico-node', labels: { 'k8s-app': 'calico-node', 'app.kubernetes.io/name': 'calico-node' }, container: 'calico-node', image: `docker.io/calico/node:${CALICO_VERSION}`, hostNetwork: true },
        { namespace: 'calico-system', kind: 'Deployment', name: 'calico-typha', labels: { 'k8s-app': 'calico-typha', 'app.kubernetes.io/name': 'calico-typha' }, container: 'calico-typha', image: `docker.io/calico/typha:${CALICO_VERSION}`, hostNetwork: true },
        { namespace: 'calico-system', kind: 'Deployment', name: 'calico-kube-controllers', labels: { 'k8s-app': 'calico-kube-controllers', 'app.kubernetes.io/name': 'calico-kube-controllers' }, container: 'calico-kube-controllers', image: `docker.io/calico/kube-controllers:${CALICO_VERSION}`, hostNetwork: false },
      ];
    case 'cloud-routed':
      return [
        { namespace: 'kube-system', kind: 'DaemonSet', name: 'aws-node', labels: { 'k8s-app': 'aws-node', 'app.kubernetes.io/name': 'aws-node' }, container: 'aws-node', image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1', hostNetwork: true },
      ];
    case 'cilium':
      return [
        { namespace: 'kube-system', kind: 'DaemonSet', name: 'cilium', labels: { 'k8s-app': 'cilium', 'app.kubernetes.io/name': 'cilium-agent', 'app.kubernetes.io/part-of': 'cilium' }, container: 'cilium-agent', image: 'quay.io/cilium/cilium:v1.16.5', hostNetwork: true },
        { namespace: 'kube-system', kind: 'DaemonSet', name: 'cilium-envoy', labels: { 'k8s-app': 'cilium-envoy', 'app.kubernetes.io/name': 'cilium-envoy', 'app.kubernetes.io/part-of': 'cilium' }, container: 'cilium-envoy', image: 'quay.io/cilium/cilium-envoy:v1.30.8-1733837904-eaae5aca0fb988583e5617170a65ac5aa51c0aa8', hostNetwork: true },
        { namespace: 'kube-system', kind: 'Deployment', name: 'cilium-operator', labels: { 'io.cilium/app': 'operator', name: 'cilium-operator', 'app.kubernetes.io/name': 'cilium-operator', 'app.kubernetes.io/part-of': 'cilium' }, container: 'cilium-operator', image: 'quay.io/cilium/operator-generic:v1.16.5', hostNetwork: true },
      ];
    case 'flannel':
      return [];
    default: {
      const never: never = network;
      throw new Error(`unknown network ${String(never)}`);
    }
  }
}

/** A stable 5-character pod-name suffix (the controllers' random one, derived here so every lab reads the same). */
function suffix(seed: string, length = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = createHash('sha1').update(seed).digest();
  return [...bytes.subarray(0, length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** The system pods of a network on the given nodes (Deployment pods on the first node, named `<name>-<hash>-<5>`). */
export function systemPodsOf(network: ClusterNetwork, nodes: string[]): SystemPod[] {
  const first = nodes[0];
  if (first === undefined) return [];
  return systemWorkloadsOf(network).flatMap((w) =>
    w.kind === 'DaemonSet'
      ? nodes.map((node) => ({ workload: w, name: `${w.name}-${suffix(`${w.name}/${node}`)}`, node }))
      : [{ workload: w, name: `${w.name}-${suffix(`${w.name}/rs`, 10)}-${suffix(`${w.name}/pod`)}`, node: first }],
  );
}
