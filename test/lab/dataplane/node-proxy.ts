/**
 * The `spec.cluster` proxy settings applied to a node: kube-proxy's rules in its mode (iptables restore text or the
 * nftables table), flannel's chains and the FORWARD policy, every iptables rule through the cluster's backend, and the
 * forward-policy-drop fault on top of them. Kept apart from dataplane.ts, which calls it at a few points.
 */
import { DEFAULT_CLUSTER, LAB_ADDRESSES, LAB_ADDRESSES_V6 } from '../model.ts';
import type { CommandRunner, IPFamily, NodeNet } from '../model.ts';
import {
  getIp6tablesTools,
  getIptablesTools,
  hasFlannelChains,
  hasKubeForward,
  renderFlannelForwardAccepts,
  renderFlannelRules,
  renderFlannelRulesV6,
  renderForwardPolicy,
  runsKubeProxy,
  writeLegacyAlternatives,
  type IptablesTools,
  type ProxySettings,
} from './cluster-rules.ts';
import { ipv6View, renderKubeProxyHooks, renderKubeProxyRules, type ServiceRules } from './kube-proxy.ts';
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

  /** Dual-stack: the IPv6 pod network (undefined: IPv4 only, nothing is written with ip6tables or in `ip6` tables). */
  private readonly clusterCIDR6: string | undefined;
  /** The ip6tables programs of the cluster's backend (used on dual-stack clusters only). */
  readonly ip6tables: IptablesTools;
  /** The IPv6 KUBE-SVC/KUBE-SEP chains last declared on each node (iptables mode). */
  private readonly chains6 = new Map<string, string[]>();

  constructor(runner: CommandRunner, settings?: ProxySettings, clusterCIDR: string = LAB_ADDRESSES.clusterCIDR, clusterCIDR6?: string) {
    const d = DEFAULT_CLUSTER;
    this.runner = runner;
    this.clusterCIDR = clusterCIDR;
    this.clusterCIDR6 = clusterCIDR6;
    this.settings = settings ?? { network: d.network, serviceProxy: d.serviceProxy, iptablesBackend: d.iptablesBackend, forwardPolicy: d.forwardPolicy };
    this.iptables = getIptablesTools(this.settings.iptablesBackend);
    this.ip6tables = getIp6tablesTools(this.settings.iptablesBackend);
  }

  /** The programs of one family (IPv6: ip6tables). */
  tools(family: IPFamily): IptablesTools {
    return family === 'IPv6' ? this.ip6tables : this.iptables;
  }

  /** A node's fixed rules: kube-proxy's hooks (iptables mode), flannel's chains and the FORWARD policy, in the cluster's backend. */
  async installNodeRules(node: NodeNet): Promise<void> {
    await this.installNodeRulesV4(node);
    if (this.clusterCIDR6 !== undefined && node.v6 !== undefined) await this.installNodeRulesV6(node, this.clusterCIDR6, node.v6.podCIDR);
  }

  /** The IPv6 twins of the node's fixed rules, with ip6tables (kube-proxy's IPv6 proxier and flanneld write them alike). */
  private async installNodeRulesV6(node: NodeNet, clusterCIDR6: string, podCIDR6: string): Promise<void> {
    const restore = this.ip6tables.restore;
    if (this.settings.serviceProxy === 'iptables') await restoreIptables(this.runner, node.netns, renderKubeProxyHooks({ forward: hasKubeForward(this.settings) }), restore);
    if (hasFlannelChains(this.settings)) await restoreIptables(this.runner, node.netns, renderFlannelRulesV6(clusterCIDR6, podCIDR6), restore);
    if (this.settings.forwardPolicy !== 'ACCEPT') await restoreIptables(this.runner, node.netns, renderForwardPolicy(this.settings.forwardPolicy), restore);
  }

  private async installNodeRulesV4(node: NodeNet): Promise<void> {
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
   * chains it declared (none in nftables mode, where the whole table is replaced in one `nft -f` transaction). On a
   * dual-stack node the IPv6 proxier leaves out `omit6` (default: `omit`).
   */
  async applyServiceRules(node: NodeNet, services: ServiceRules[], omit: 'all' | string[] | undefined, previousChains: string[], omit6: 'all' | string[] | undefined = omit): Promise<string[]> {
    const chains = await this.applyServiceRulesV4(node, services, omit, previousChains);
    if (this.clusterCIDR6 !== undefined && node.v6 !== undefined) await this.applyServiceRulesV6(node, node.v6.underlayIP, this.clusterCIDR6, ipv6View(services), omit6);
    return chains;
  }

  /** kube-proxy's IPv6 proxier on a dual-stack node: the same rules over the Services' IPv6 addresses, in ip6tables or `ip6 kube-proxy`. */
  private async applyServiceRulesV6(node: NodeNet, nodeIP6: string, clusterCIDR6: string, services: ServiceRules[], omit: 'all' | string[] | undefined): Promise<void> {
    switch (this.settings.serviceProxy) {
      case 'nftables': {
        const text = renderNftablesProxy({
          services, clusterCIDR: clusterCIDR6, serviceCIDR: LAB_ADDRESSES_V6.serviceCIDR, nodeIP: nodeIP6, nodeName: node.name, family: 'IPv6', ...(omit === undefined ? {} : { omit }),
        });
        await this.runner.run(inNetns(node.netns, ['nft', '-f', '-']), { input: text });
        return;
      }
      case 'iptables': {
        const out = renderKubeProxyRules({ services, clusterCIDR: clusterCIDR6, omit, previousChains: this.chains6.get(node.name) ?? [], nodeName: node.name, family: 'IPv6' });
        await restoreIptables(this.runner, node.netns, out.text, this.ip6tables.restore);
        this.chains6.set(node.name, out.chains);
        return;
      }
      case 'cilium':
        throw new Error('applyServiceRules: serviceProxy cilium runs no kube-proxy');
      default: {
        const never: never = this.settings.serviceProxy;
        throw new Error(`unknown serviceProxy ${String(never)}`);
      }
    }
  }

  private async applyServiceRulesV4(node: NodeNet, services: ServiceRules[], omit: 'all' | string[] | undefined, previousChains: string[]): Promise<string[]> {
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
  async switchForwardPolicyDrop(node: NodeNet, on: boolean, family: IPFamily = 'IPv4'): Promise<void> {
    const parts: string[] = [];
    const tools = this.tools(family);
    const clusterCIDR = family === 'IPv6' ? (this.clusterCIDR6 ?? '') : this.clusterCIDR;
    if (family === 'IPv6' && this.clusterCIDR6 === undefined) throw new Error('forward-policy-drop family IPv6: the cluster is not dual-stack');
    if (hasFlannelChains(this.settings)) parts.push(on ? '*filter\n:FLANNEL-FWD - [0:0]\nCOMMIT\n' : renderFlannelForwardAccepts(clusterCIDR));
    if (hasKubeForward(this.settings)) parts.push(on ? '*filter\n:KUBE-FORWARD - [0:0]\nCOMMIT\n' : kubeForwardBody());
    if (parts.length > 0) await restoreIptables(this.runner, node.netns, parts.join(''), tools.restore);
    await this.runner.run(inNetns(node.netns, [tools.iptables, '-P', 'FORWARD', on ? 'DROP' : this.settings.forwardPolicy]));
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
