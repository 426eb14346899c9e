/**
 * kube-proxy as kubeadm installs it (cmd/kubeadm/app/phases/addons/proxy/manifests.go): the kube-system DaemonSet
 * `kube-proxy` with one hostNetwork pod per node (label k8s-app=kube-proxy) and the ConfigMap `kube-proxy` whose
 * `config.conf` is the KubeProxyConfiguration with the cluster's real `mode:`.
 */
import { createHash } from 'node:crypto';
import { getNodeUnderlayIP } from './dataplane/addressing.ts';
import { isFirstShape, runsKubeProxy } from './dataplane/cluster-rules.ts';
import { nodeUnderlayIP6 } from './dataplane/addressing-v6.ts';
import { isDualStack } from './dual-stack.ts';
import { LAB_ADDRESSES, LAB_ADDRESSES_V6, type ScenarioCluster, type ScenarioNode } from './model.ts';
import { podObject, workloadObject, type BuildOptions, type KubeObject, type KubePod } from './objects.ts';

/** The image the lab reports for kube-proxy pods. */
export const KUBE_PROXY_IMAGE = 'registry.k8s.io/kube-proxy:v1.32.0';

/** kube-proxy's API objects: the ConfigMap, the DaemonSet and its pods. */
export interface KubeProxyObjects {
  configMaps: KubeObject[];
  workloads: KubeObject[];
  pods: KubePod[];
}

/**
 * Whether the API serves kube-proxy for this cluster: wherever kube-proxy runs, except the lab's first shape, whose API
 * listing stays as it always was (see cluster-rules.ts isFirstShape).
 */
export function servesKubeProxy(c: ScenarioCluster): boolean {
  return runsKubeProxy(c) && !isFirstShape(c);
}

/** The KubeProxyConfiguration kubeadm writes into the ConfigMap's `config.conf`, with `mode` set. */
export function renderKubeProxyConfig(mode: 'iptables' | 'nftables', clusterCIDR: string = LAB_ADDRESSES.clusterCIDR): string {
  return [
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
    'bindAddress: 0.0.0.0',
    'bindAddressHardFail: false',
    'clientConnection:',
    '  acceptContentTypes: ""',
    '  burst: 0',
    '  contentType: ""',
    '  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf',
    '  qps: 0',
    `clusterCIDR: ${clusterCIDR}`,
    'configSyncPeriod: 0s',
    'conntrack:',
    '  maxPerCore: null',
    '  min: null',
    '  tcpBeLiberal: false',
    '  tcpCloseWaitTimeout: null',
    '  tcpEstablishedTimeout: null',
    '  udpStreamTimeout: 0s',
    '  udpTimeout: 0s',
    'detectLocal:',
    '  bridgeInterface: ""',
    '  interfaceNamePrefix: ""',
    'detectLocalMode: ""',
    'enableProfiling: false',
    'healthzBindAddress: ""',
    'hostnameOverride: ""',
    'iptables:',
    '  localhostNodePorts: null',
    '  masqueradeAll: false',
    '  masqueradeBit: null',
    '  minSyncPeriod: 0s',
    '  syncPeriod: 0s',
    'ipvs:',
    '  excludeCIDRs: null',
    '  minSyncPeriod: 0s',
    '  scheduler: ""',
    '  strictARP: false',
    '  syncPeriod: 0s',
    '  tcpFinTimeout: 0s',
    '  tcpTimeout: 0s',
    '  udpTimeout: 0s',
    'kind: KubeProxyConfiguration',
    'logging:',
    '  flushFrequency: 0',
    '  options:',
    '    json:',
    '      infoBufferSize: "0"',
    '    text:',
    '      infoBufferSize: "0"',
    '  verbosity: 0',
    'metricsBindAddress: ""',
    `mode: ${mode}`,
    'nftables:',
    '  masqueradeAll: false',
    '  masqueradeBit: null',
    '  minSyncPeriod: 0s',
    '  syncPeriod: 0s',
    'nodePortAddresses: null',
    'oomScoreAdj: null',
    'portRange: ""',
    'showHiddenMetricsForVersion: ""',
    'winkernel:',
    '  enableDSR: false',
    '  forwardHealthCheckVip: false',
    '  networkName: ""',
    '  rootHnsEndpointName: ""',
    '  sourceVip: ""',
    '',
  ].join('\n');
}

/** The kubeconfig kubeadm puts beside config.conf (the service account token and CA of the pod). */
const KUBECONFIG_CONF = [
  'apiVersion: v1',
  'kind: Config',
  'clusters:',
  '- cluster:',
  '    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
  '    server: https://172.31.0.11:6443',
  '  name: default',
  'contexts:',
  '- context:',
  '    cluster: default',
  '    namespace: default',
  '    user: default',
  '  name: default',
  'current-context: default',
  'users:',
  '- name: default',
  '  user:',
  '    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token',
  '',
].join('\n');

/** A DaemonSet pod's name suffix: five characters of the alphabet Kubernetes' rand.String uses, stable per node. */
function podSuffix(node: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(`kube-proxy/${node}`).digest();
  return [...digest.subarray(0, 5)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Builds kube-proxy's ConfigMap, DaemonSet and per-node pods for the cluster (nothing when servesKubeProxy is false). */
export function buildKubeProxyObjects(cluster: ScenarioCluster, nodes: ScenarioNode[], opts: BuildOptions): KubeProxyObjects {
  if (!servesKubeProxy(cluster)) return { configMaps: [], workloads: [], pods: [] };
  const mode = cluster.serviceProxy === 'nftables' ? 'nftables' : 'iptables';
  const dual = isDualStack(cluster);
  const v6First = cluster.ipFamilies[0] === 'IPv6';
  const ns = 'kube-system';
  const labels = { 'k8s-app': 'kube-proxy' };
  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kube-proxy', namespace: ns, uid: opts.uid(), creationTimestamp: opts.now.toISOString().replace(/\.\d{3}Z$/, 'Z'), labels: { app: 'kube-proxy' } },
    // Dual-stack: kube-proxy's clusterCIDR lists both families, the primary first (a comma-separated pair).
    data: { 'config.conf': renderKubeProxyConfig(mode, dual ? (v6First ? [LAB_ADDRESSES_V6.clusterCIDR, LAB_ADDRESSES.clusterCIDR] : [LAB_ADDRESSES.clusterCIDR, LAB_ADDRESSES_V6.clusterCIDR]).join(',') : LAB_ADDRESSES.clusterCIDR), 'kubeconfig.conf': KUBECONFIG_CONF },
  } as KubeObject;
  const podInputs = nodes.map((n) => ({ labels: { ...labels }, ready: n.ready, ports: [], container: 'kube-proxy', image: KUBE_PROXY_IMAGE }));
  const ds = workloadObject('DaemonSet', 'kube-proxy', ns, podInputs, opts) as KubeObject & { spec: Record<string, any> };
  ds.metadata.labels = { ...labels };
  const container = {
    name: 'kube-proxy',
    image: KUBE_PROXY_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)'],
    env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } }],
    securityContext: { privileged: true },
    volumeMounts: [
      { mountPath: '/var/lib/kube-proxy', name: 'kube-proxy' },
      { mountPath: '/run/xtables.lock', name: 'xtables-lock' },
      { mountPath: '/lib/modules', name: 'lib-modules', readOnly: true },
    ],
  };
  const podSpecExtra = {
    priorityClassName: 'system-node-critical',
    serviceAccountName: 'kube-proxy',
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ operator: 'Exists' }],
    volumes: [
      { name: 'kube-proxy', configMap: { name: 'kube-proxy', defaultMode: 420 } },
      { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
      { name: 'lib-modules', hostPath: { path: '/lib/modules', type: '' } },
    ],
  };
  ds.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
  ds.spec.template = { metadata: { labels: { ...labels } }, spec: { containers: [container], hostNetwork: true, ...podSpecExtra } };
  const owner = [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'kube-proxy', uid: ds.metadata.uid, controller: true, blockOwnerDeletion: true }];
  const pods = nodes.map((n) => {
    const ip = getNodeUnderlayIP(n.index);
    // A hostNetwork pod has its node's addresses: both families on a dual-stack cluster.
    const v6 = dual ? { v6: { podIP: nodeUnderlayIP6(n.index), hostIP: nodeUnderlayIP6(n.index), primary: v6First } } : {};
    const pod = podObject(
      { name: `kube-proxy-${podSuffix(n.name)}`, namespace: ns, node: n.name, ...podInputs[0]!, ready: n.ready, hostNetwork: true, podIP: ip, hostIP: ip, ownerReferences: owner, ...v6 },
      opts,
    );
    pod.metadata.labels = { ...labels, 'controller-revision-hash': '7b8c9d6f5', 'pod-template-generation': '1' };
    Object.assign(pod.spec, podSpecExtra, { dnsPolicy: 'ClusterFirst' });
    Object.assign(pod.spec.containers[0]!, { command: container.command, env: container.env, securityContext: container.securityContext, volumeMounts: container.volumeMounts });
    return pod;
  });
  return { configMaps: [configMap], workloads: [ds], pods };
}
