/**
 * The `spec.cluster` proxy settings applied to a node: kube-proxy's rules in its mode (iptables restore text or the
 * nftables table), flannel's chains and the FORWARD policy, every iptables rule through the cluster's backend, and the
 * forward-policy-drop fault on top of them. Kept apart from dataplane.ts, which calls it at a few points.
 */
import { DEFAULT_CLUSTER, LAB_ADDRESSES } from '../model.ts';
import type { CommandRunner, NodeNet } from '../model.ts';
import {
  getIptablesTools,
  hasFlannelChains,
  hasKubeForward,
  renderFlannelForwardAccepts,
  renderFlannelRules,
  renderForwardPolicy,
  runsKubeProxy,
  writeLegacyAlternatives,
  type IptablesTools,
  type ProxySettings,
} from './cluster-rules.ts';
import { renderKubeProxyHooks, renderKubeProxyRules, type ServiceRules } from './kube-proxy.ts';
import { renderNftablesProxy } from './kube-proxy-nft.ts';
import { inNetns, restoreIptables } from './runner.ts';

/** The proxy side of every node of one lab. */
export class NodeProxy {
  /** `spec.cluster`'s proxy settings. */
  readonly settings: ProxySettings;
  /** The iptables programs of the cluster's backend: every iptables rule the lab writes goes through them. */
  readonly iptables: IptablesTools;
  private readonly runner: CommandRunner;
  /** The pod network (kube-proxy's --cluster-cidr, flannel's network): the network module's, 10.244.0.0/16 for flannel. */
  private readonly clusterCIDR: string;

  constructor(runner: CommandRunner, settings?: ProxySettings, clusterCIDR: string = LAB_ADDRESSES.clusterCIDR) {
    const d = DEFAULT_CLUSTER;
    this.runner = runner;
    this.clusterCIDR = clusterCIDR;
    this.settings = settings ?? { network: d.network, serviceProxy: d.serviceProxy, iptablesBackend: d.iptablesBackend, forwardPolicy: d.forwardPolicy };
    this.iptables = getIptablesTools(this.settings.iptablesBackend);
  }

  /** A node's fixed rules: kube-proxy's hooks (iptables mode), flannel's chains and the FORWARD policy, in the cluster's backend. */
  async installNodeRules(node: NodeNet): Promise<void> {
    if (this.settings.serviceProxy === 'iptables') {
      await restoreIptables(this.runner, node.netns, renderKubeProxyHooks({ forward: hasKubeForward(this.settings) }), this.iptables.restore);
    }
    if (hasFlannelChains(this.settings)) {
      await restoreIptables(this.runner, node.netns, renderFlannelRules(this.clusterCIDR, node.podCIDR), this.iptables.restore);
    }
    if (this.settings.forwardPolicy !== 'ACCEPT') {
      await restoreIptables(this.runner, node.netns, renderForwardPolicy(this.settings.forwardPolicy), this.iptables.restore);
    }
  }

  /**
   * Writes kube-proxy's rules for services on a node in the cluster's mode, leaving out `omit`; returns the iptables nat
   * chains it declared (none in nftables mode, where the whole table is replaced in one `nft -f` transaction).
   */
  async applyServiceRules(node: NodeNet, services: ServiceRules[], omit: 'all' | string[] | undefined, previousChains: string[]): Promise<string[]> {
    switch (this.settings.serviceProxy) {
      case 'nftables': {
        const text = renderNftablesProxy({
          services,
          clusterCIDR: this.clusterCIDR,
          serviceCIDR: LAB_ADDRESSES.serviceCIDR,
          nodeIP: node.underlayIP,
          nodeName: node.name,
          ...(omit === undefined ? {} : { omit }),
        });
        await this.runner.run(inNetns(node.netns, ['nft', '-f', '-']), { input: text });
        return [];
      }
      case 'iptables': {
        const out = renderKubeProxyRules({ services, clusterCIDR: this.clusterCIDR, omit, previousChains, nodeName: node.name });
        await restoreIptables(this.runner, node.netns, out.text, this.iptables.restore);
        return out.chains;
      }
      case 'cilium':
        throw new Error(`applyServiceRules: serviceProxy cilium runs no kube-proxy (runsKubeProxy is ${runsKubeProxy(this.settings)})`);
      default: {
        const never: never = this.settings.serviceProxy;
        throw new Error(`unknown serviceProxy ${String(never)}`);
      }
    }
  }

  /**
   * forward-policy-drop: FORWARD policy DROP, and the accept rules that make DROP harmless (FLANNEL-FWD's, and
   * KUBE-FORWARD's in iptables mode) flushed, so forwarded pod traffic really is dropped; reverting restores both as the
   * cluster has them. The lab's first shape has no accept rules, so there it only switches the policy, as it always did.
   */
  async switchForwardPolicyDrop(node: NodeNet, on: boolean): Promise<void> {
    const parts: string[] = [];
    if (hasFlannelChains(this.settings)) parts.push(on ? '*filter\n:FLANNEL-FWD - [0:0]\nCOMMIT\n' : renderFlannelForwardAccepts(this.clusterCIDR));
    if (hasKubeForward(this.settings)) parts.push(on ? '*filter\n:KUBE-FORWARD - [0:0]\nCOMMIT\n' : kubeForwardBody());
    if (parts.length > 0) await restoreIptables(this.runner, node.netns, parts.join(''), this.iptables.restore);
    await this.runner.run(inNetns(node.netns, [this.iptables.iptables, '-P', 'FORWARD', on ? 'DROP' : this.settings.forwardPolicy]));
  }

  /**
   * The directory a hostNetwork pod's exec on this cluster's nodes puts first on PATH, standing for the node's iptables
   * alternatives (written under `dir`): set for the legacy backend, undefined for nft (the host's own default).
   */
  execPathDir(dir: string): string | undefined {
    return this.settings.iptablesBackend === 'legacy' ? writeLegacyAlternatives(dir) : undefined;
  }
}

/** KUBE-FORWARD's own rules (without the FORWARD jump), cut from the hooks kube-proxy installs; declaring it flushes it first. */
function kubeForwardBody(): string {
  const lines = renderKubeProxyHooks({ forward: true })
    .split('\n')
    .filter((l) => l === ':KUBE-FORWARD - [0:0]' || l.startsWith('-A KUBE-FORWARD '));
  return `*filter\n${lines.join('\n')}\nCOMMIT\n`;
}
