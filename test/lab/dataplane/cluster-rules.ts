/**
 * What the `spec.cluster` proxy settings mean for a node's rules, as pure functions: which iptables binaries the lab
 * writes with (nft or legacy x_tables backend), whether kube-proxy runs, flannel's own FLANNEL-FWD / FLANNEL-POSTRTG
 * chains (flannel pkg/trafficmngr/iptables/iptables.go forwardRules and masqRules), and the FORWARD policy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CLUSTER, type ForwardPolicy, type IptablesBackend, type ScenarioCluster } from '../model.ts';

/** The iptables programs one backend is written and read with. */
export interface IptablesTools {
  iptables: string;
  save: string;
  restore: string;
}

/**
 * The binaries of a backend. `nft` keeps the plain names the lab always used (on the lab's Debian host the alternatives
 * resolve them to iptables-nft; dataplane-proxies.test.ts checks that the legacy tables then stay empty); `legacy` calls
 * the x_tables variants by name.
 */
export function getIptablesTools(backend: IptablesBackend): IptablesTools {
  switch (backend) {
    case 'nft':
      return { iptables: 'iptables', save: 'iptables-save', restore: 'iptables-restore' };
    case 'legacy':
      return { iptables: 'iptables-legacy', save: 'iptables-legacy-save', restore: 'iptables-legacy-restore' };
    default: {
      const never: never = backend;
      throw new Error(`unknown iptables backend ${String(never)}`);
    }
  }
}

/** The ip6tables programs of a backend: the IPv6 twins of getIptablesTools' (ip6tables-nft or ip6tables-legacy). */
export function getIp6tablesTools(backend: IptablesBackend): IptablesTools {
  switch (backend) {
    case 'nft':
      return { iptables: 'ip6tables', save: 'ip6tables-save', restore: 'ip6tables-restore' };
    case 'legacy':
      return { iptables: 'ip6tables-legacy', save: 'ip6tables-legacy-save', restore: 'ip6tables-legacy-restore' };
    default: {
      const never: never = backend;
      throw new Error(`unknown iptables backend ${String(never)}`);
    }
  }
}

/** The proxy settings of a cluster that decide a node's rules. */
export type ProxySettings = Pick<ScenarioCluster, 'network' | 'serviceProxy' | 'iptablesBackend' | 'forwardPolicy'>;

/** The one place that decides whether kube-proxy runs on the cluster's nodes (and is served in the API). */
export function runsKubeProxy(c: Pick<ScenarioCluster, 'serviceProxy'>): boolean {
  return c.serviceProxy !== 'cilium';
}

/**
 * Whether the cluster is the lab's first shape (flannel, kube-proxy iptables mode on the nft backend, FORWARD ACCEPT).
 * That shape keeps exactly the rules and API objects it always had, so existing scenarios behave as before; every other
 * shape gets the full upstream rule set (KUBE-FORWARD, FLANNEL-FWD, FLANNEL-POSTRTG) and kube-proxy in the API.
 */
export function isFirstShape(c: ProxySettings): boolean {
  const d = DEFAULT_CLUSTER;
  return c.network === d.network && c.serviceProxy === d.serviceProxy && c.iptablesBackend === d.iptablesBackend && c.forwardPolicy === d.forwardPolicy;
}

/** Whether the nodes carry flannel's own iptables chains (FLANNEL-FWD accepting the cluster network, FLANNEL-POSTRTG). */
export function hasFlannelChains(c: ProxySettings): boolean {
  return !isFirstShape(c) && c.network === 'flannel';
}

/** Whether kube-proxy's KUBE-FORWARD chain exists (iptables mode only: the nftables proxier writes no accept rule). */
export function hasKubeForward(c: ProxySettings): boolean {
  return !isFirstShape(c) && c.serviceProxy === 'iptables';
}

/**
 * flannel's rules for a node as `iptables-restore --noflush` text: FLANNEL-FWD accepting the cluster network both ways
 * (forwardRules) and FLANNEL-POSTRTG, which leaves pod-to-pod traffic alone and masquerades pod traffic leaving the
 * cluster network (masqRules, with --random-fully as flannel writes it when the kernel supports it).
 */
export function renderFlannelRules(clusterCIDR: string, podCIDR: string, multicast = '224.0.0.0/4'): string {
  const fwd = '-m comment --comment "flanneld forward"';
  const masq = '-m comment --comment "flanneld masq"';
  return `${[
    '*filter',
    ':FLANNEL-FWD - [0:0]',
    `-A FORWARD ${fwd} -j FLANNEL-FWD`,
    `-A FLANNEL-FWD -s ${clusterCIDR} ${fwd} -j ACCEPT`,
    `-A FLANNEL-FWD -d ${clusterCIDR} ${fwd} -j ACCEPT`,
    'COMMIT',
    '*nat',
    ':FLANNEL-POSTRTG - [0:0]',
    `-A POSTROUTING ${masq} -j FLANNEL-POSTRTG`,
    `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${podCIDR} -d ${clusterCIDR} ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${clusterCIDR} -d ${podCIDR} ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG ! -s ${clusterCIDR} -d ${podCIDR} ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${clusterCIDR} ! -d ${multicast} ${masq} -j MASQUERADE --random-fully`,
    `-A FLANNEL-POSTRTG ! -s ${clusterCIDR} -d ${clusterCIDR} ${masq} -j MASQUERADE --random-fully`,
    'COMMIT',
  ].join('\n')}\n`;
}

/** flannel's IPv6 rules for a node (masqIP6Rules: ff00::/8 is the multicast range left alone), for ip6tables-restore. */
export function renderFlannelRulesV6(clusterCIDR: string, podCIDR: string): string {
  return renderFlannelRules(clusterCIDR, podCIDR, 'ff00::/8');
}

/** The FLANNEL-FWD accept rules alone (what the forward-policy-drop fault takes away and gives back). */
export function renderFlannelForwardAccepts(clusterCIDR: string): string {
  const fwd = '-m comment --comment "flanneld forward"';
  return `*filter\n:FLANNEL-FWD - [0:0]\n-A FLANNEL-FWD -s ${clusterCIDR} ${fwd} -j ACCEPT\n-A FLANNEL-FWD -d ${clusterCIDR} ${fwd} -j ACCEPT\nCOMMIT\n`;
}

/** The restore text that sets the FORWARD policy (and nothing else). */
export function renderForwardPolicy(policy: ForwardPolicy): string {
  return `*filter\n:FORWARD ${policy} [0:0]\nCOMMIT\n`;
}

/**
 * Writes the directory that stands for a legacy node's `update-alternatives` (iptables → iptables-legacy, as on Amazon
 * Linux 2 and older COS): `iptables`, `iptables-save` and `iptables-restore` link to the host's legacy binaries,
 * keeping their own names, so xtables-legacy-multi runs them as legacy `iptables*`. The kubelet puts it first on PATH
 * for execs in that node's hostNetwork pods. Returns the directory.
 */
export function writeLegacyAlternatives(dir: string, searchPath: string = process.env.PATH ?? '/usr/sbin:/sbin'): string {
  fs.mkdirSync(dir, { recursive: true });
  const dirs = [...searchPath.split(':'), '/usr/sbin', '/sbin'];
  for (const [name, target] of [
    ['iptables', 'iptables-legacy'],
    ['iptables-save', 'iptables-legacy-save'],
    ['iptables-restore', 'iptables-legacy-restore'],
  ] as const) {
    const found = dirs.map((d) => path.join(d, target)).find((f) => fs.existsSync(f));
    if (found === undefined) throw new Error(`${target} not found on ${dirs.join(':')}: the legacy iptables backend needs it`);
    const link = path.join(dir, name);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(found, link);
  }
  return dir;
}
