/**
 * Calico (felix + the Calico CNI plugin + calico-ipam) in its two common modes: VXLAN (`vxlan.calico`, UDP 4789, VNI
 * 4096) and unencapsulated BGP (BIRD's `proto bird` routes to the peer node). Pods get a /32 on eth0, a default route via
 * 169.254.1.1 answered by proxy ARP on their `cali<11 hex>` host veth, and felix's /32 route and permanent neighbor entry
 * on that veth; each node owns an IPAM block with a blackhole route; felix's `cali-*` iptables chains hook into the
 * built-in chains. See test/lab/README.md ("Pod networks") for the upstream source of each detail.
 */
import { createHash } from 'node:crypto';
import { LAB_ADDRESSES, LAB_ADDRESSES_V6 } from '../model.ts';
import type { NodeNet } from '../model.ts';
import { getPodMAC } from './addressing.ts';
import { hashedVethName, taggedMAC } from './pod-network.ts';
import type { PodNetwork, PodNetworkV6, WorkloadLink } from './pod-network.ts';
import { formatCIDR6, parseCIDR6 } from './addressing-v6.ts';

/** felix's route protocol for its blackhole and same-subnet routes (dataplanedefs.DefaultRouteProto). */
export const FELIX_ROUTE_PROTO = 80;
/** The MAC the Calico CNI plugin gives every host-side veth. */
export const CALICO_HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
/** felix's accept mark bit (IptablesMarkAccept of the default mark mask 0xffff0000). */
const MARK_ACCEPT = '0x10000';

/** Calico's two route modes. */
export type CalicoMode = 'vxlan' | 'bgp';

/** The deterministic MAC of a node's vxlan.calico (calico-node picks a random one and stores it on the Node). */
export function calicoVtepMAC(node: NodeNet): string {
  return taggedMAC([0x66, 0x63], node.index);
}

/**
 * felix's rule hash: sha224 over the chain name, then chained over each rule as rendered for hashing
 * (`-A <chain> HASH <match> <action>`), URL-safe base64, 16 characters (felix/generictables/rules.go RuleHashes).
 */
export function felixRuleHashes(chain: string, rulesForHashing: string[]): string[] {
  let hash = createHash('sha224').update(chain).digest();
  return rulesForHashing.map((r) => {
    hash = createHash('sha224').update(hash).update(r).digest();
    return hash.toString('base64url').slice(0, 16);
  });
}

/** A felix rule: the hash-input form and the iptables-save form (without the hash comment). */
interface FelixRule {
  /** Match fragment as iptables-save prints it, placed after the hash comment ('' for none). */
  match: string;
  /** Interface match printed before the hash comment, as iptables-save orders `-i`/`-o`/`-p`. */
  pre?: string;
  action: string;
}

/** Renders a felix-owned chain's rules with `cali:<hash>` comments (hashes over the iptables-save form). */
function renderChain(chain: string, rules: FelixRule[], verb: '-A' | '-I' = '-A'): string[] {
  const forHash = rules.map((r) => [`-A ${chain} HASH`, r.pre, r.match, r.action].filter(Boolean).join(' '));
  const hashes = felixRuleHashes(chain, forHash);
  return rules.map((r, i) =>
    [verb === '-I' ? `-I ${chain} ${i + 1}` : `-A ${chain}`, r.pre, `-m comment --comment "cali:${hashes[i]}"`, r.match, r.action].filter(Boolean).join(' '),
  );
}

/**
 * felix's static chains for an iptables-mode VXLAN or BGP node, as they appear in upstream's own iptables-save dump
 * (felix/fv/cali-iptables-dump.txt): the hook rules into the built-in chains and cali-FORWARD/INPUT/OUTPUT, with the
 * hashes felix computes for them.
 */
export function renderFelixStaticRules(mode: CalicoMode): string {
  const raw = [
    '*raw',
    ':cali-PREROUTING - [0:0]',
    ':cali-OUTPUT - [0:0]',
    ':cali-from-host-endpoint - [0:0]',
    ':cali-to-host-endpoint - [0:0]',
    '-I PREROUTING 1 -m comment --comment "cali:6gwbT8clXdHdC1b1" -j cali-PREROUTING',
    '-I OUTPUT 1 -m comment --comment "cali:tVnHkvAo15HuiPy0" -j cali-OUTPUT',
    '-A cali-PREROUTING -m comment --comment "cali:DQ6LK2guiBRMyrLK" -j MARK --set-xmark 0x0/0x1b0000',
    ...(mode === 'vxlan' ? ['-A cali-PREROUTING -p udp -m comment --comment "cali:sIsu2aAqNN6K3YYn" -m udp --dport 4789 -j NOTRACK'] : []),
    '-A cali-PREROUTING -m comment --comment "cali:pj4jqF0K2OCNLmzX" -m mark --mark 0x0/0x80000 -j cali-from-host-endpoint',
    '-A cali-PREROUTING -m comment --comment "cali:Jefg6QI5khJcHnVl" -m mark --mark 0x10000/0x10000 -j ACCEPT',
    '-A cali-OUTPUT -m comment --comment "cali:clI8WObfCl4yhr60" -j MARK --set-xmark 0x0/0x1b0000',
    '-A cali-OUTPUT -m comment --comment "cali:ZbkN6P8OdRcBRPpU" -j cali-to-host-endpoint',
    ...(mode === 'vxlan' ? ['-A cali-OUTPUT -p udp -m comment --comment "cali:ry5_UEpt1OaPPCxO" -m udp --dport 4789 -j NOTRACK'] : []),
    '-A cali-OUTPUT -m comment --comment "cali:MGhICIksKDnYMIkW" -m mark --mark 0x10000/0x10000 -j ACCEPT',
    'COMMIT',
  ];
  const nat = [
    '*nat',
    ':cali-PREROUTING - [0:0]',
    ':cali-OUTPUT - [0:0]',
    ':cali-POSTROUTING - [0:0]',
    ':cali-fip-dnat - [0:0]',
    ':cali-fip-snat - [0:0]',
    ':cali-nat-outgoing - [0:0]',
    '-I PREROUTING 1 -m comment --comment "cali:6gwbT8clXdHdC1b1" -j cali-PREROUTING',
    '-I OUTPUT 1 -m comment --comment "cali:tVnHkvAo15HuiPy0" -j cali-OUTPUT',
    '-I POSTROUTING 1 -m comment --comment "cali:O3lYWMrLQYEMJtB5" -j cali-POSTROUTING',
    '-A cali-PREROUTING -m comment --comment "cali:r6XmIziWUJsdOK6Z" -j cali-fip-dnat',
    '-A cali-OUTPUT -m comment --comment "cali:GBTAv2p5CwevEyJm" -j cali-fip-dnat',
    '-A cali-POSTROUTING -m comment --comment "cali:Z-c7XtVd2Bq7s_hA" -j cali-fip-snat',
    '-A cali-POSTROUTING -m comment --comment "cali:nYKhEzDlr11Jccal" -j cali-nat-outgoing',
    ...(mode === 'vxlan'
      ? ['-A cali-POSTROUTING -o vxlan.calico -m comment --comment "cali:e9dnSgSVNmIcpVhP" -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully']
      : []),
    'COMMIT',
  ];
  const filter = [
    '*filter',
    ':cali-FORWARD - [0:0]',
    ':cali-INPUT - [0:0]',
    ':cali-OUTPUT - [0:0]',
    ':cali-cidr-block - [0:0]',
    ':cali-from-hep-forward - [0:0]',
    ':cali-from-host-endpoint - [0:0]',
    ':cali-from-wl-dispatch - [0:0]',
    ':cali-to-hep-forward - [0:0]',
    ':cali-to-host-endpoint - [0:0]',
    ':cali-to-wl-dispatch - [0:0]',
    ':cali-wl-to-host - [0:0]',
    '-I INPUT 1 -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT',
    '-I FORWARD 1 -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD',
    '-A FORWARD -m comment --comment "cali:S93hcgKJrXEqnTfs" -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT',
    '-A FORWARD -m comment --comment "cali:mp77cMpurHhyjLrM" -j MARK --set-xmark 0x10000/0x10000',
    '-I OUTPUT 1 -m comment --comment "cali:tVnHkvAo15HuiPy0" -j cali-OUTPUT',
    '-A cali-FORWARD -m comment --comment "cali:W_vvds1Nw3n9QE2f" -j MARK --set-xmark 0x0/0x1a0000',
    '-A cali-FORWARD -m comment --comment "cali:ZfgmjuiLaA8Pg0kp" -m mark --mark 0x0/0x10000 -j cali-from-hep-forward',
    '-A cali-FORWARD -i cali+ -m comment --comment "cali:tAzwBLPaV-j53OOZ" -j cali-from-wl-dispatch',
    '-A cali-FORWARD -o cali+ -m comment --comment "cali:4Z0Pf0byo05NFe-P" -j cali-to-wl-dispatch',
    '-A cali-FORWARD -m comment --comment "cali:hQ7Oc16wmUtLuneJ" -j cali-to-hep-forward',
    '-A cali-FORWARD -m comment --comment "cali:rnKNH2WxGcRQcIlD" -j cali-cidr-block',
    // felix also drops VXLAN from hosts outside ipset cali40all-vxlan-net here; the lab has no ipset, so that rule is left out.
    '-A cali-INPUT -i cali+ -m comment --comment "cali:H03xYXARh4e8pwd4" -g cali-wl-to-host',
    '-A cali-INPUT -m comment --comment "cali:MN6K3isIWBigb1Va" -m mark --mark 0x10000/0x10000 -j ACCEPT',
    '-A cali-INPUT -m comment --comment "cali:aKDQAoV0P_FFAIwV" -j MARK --set-xmark 0x0/0x1b0000',
    '-A cali-INPUT -m comment --comment "cali:vIx3xkWzuvLW9fr4" -j cali-from-host-endpoint',
    '-A cali-INPUT -m comment --comment "cali:5W9XghKma9wuz47x" -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT',
    '-A cali-OUTPUT -m comment --comment "cali:Mq1_rAdXXH3YkrzW" -m mark --mark 0x10000/0x10000 -j ACCEPT',
    '-A cali-OUTPUT -o cali+ -m comment --comment "cali:69FkRTJDvD5Vu6Vl" -j RETURN',
    '-A cali-OUTPUT -m comment --comment "cali:6T0hFtymUtXMOfEV" -j MARK --set-xmark 0x0/0x1b0000',
    '-A cali-OUTPUT -m comment --comment "cali:IpTGXsDHURPUaLjJ" -m conntrack ! --ctstate DNAT -j cali-to-host-endpoint',
    '-A cali-OUTPUT -m comment --comment "cali:wgnULo2gucg1umsA" -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT',
    '-A cali-wl-to-host -m comment --comment "cali:Ee9Sbo10IpVujdIY" -j cali-from-wl-dispatch',
    '-A cali-wl-to-host -m comment --comment "cali:nSZbcOoG1xPONxb8" -m comment --comment "Configured DefaultEndpointToHostAction" -j ACCEPT',
    'COMMIT',
  ];
  return `${[...raw, ...nat, ...filter].join('\n')}\n`;
}

/**
 * felix's per-workload chains for the node's current pods: the dispatch chains (`-i/-o cali<hex> -g cali-fw-/cali-tw-`,
 * then "Unknown interface" DROP) and each endpoint's chain with conntrack accept, INVALID drop, the namespace profile
 * (`cali-pro-kns.<ns>` / `cali-pri-kns.<ns>`, which sets the accept mark, as the default allow-all profile does) and the
 * "Drop if no profiles matched" rule. Chains of removed pods are deleted.
 */
export function renderFelixWorkloadRules(workloads: WorkloadLink[], removed: WorkloadLink[]): string {
  const sorted = [...workloads].sort((a, b) => a.hostVeth.localeCompare(b.hostVeth));
  const namespaces = [...new Set(sorted.map((w) => w.namespace))].sort();
  const lines: string[] = ['*filter'];
  const profileChains = namespaces.flatMap((ns) => [`cali-pro-kns.${ns}`, `cali-pri-kns.${ns}`]);
  const endpointChains = sorted.flatMap((w) => [`cali-fw-${w.hostVeth}`, `cali-tw-${w.hostVeth}`]);
  const gone = removed.filter((r) => !sorted.some((w) => w.hostVeth === r.hostVeth)).flatMap((w) => [`cali-fw-${w.hostVeth}`, `cali-tw-${w.hostVeth}`]);
  for (const c of ['cali-from-wl-dispatch', 'cali-to-wl-dispatch', ...profileChains, ...endpointChains, ...gone]) lines.push(`:${c} - [0:0]`);
  lines.push(
    ...renderChain('cali-from-wl-dispatch', [
      ...sorted.map((w) => ({ pre: `-i ${w.hostVeth}`, match: '', action: `-g cali-fw-${w.hostVeth}` })),
      { match: '-m comment --comment "Unknown interface"', action: '-j DROP' },
    ]),
    ...renderChain('cali-to-wl-dispatch', [
      ...sorted.map((w) => ({ pre: `-o ${w.hostVeth}`, match: '', action: `-g cali-tw-${w.hostVeth}` })),
      { match: '-m comment --comment "Unknown interface"', action: '-j DROP' },
    ]),
  );
  for (const ns of namespaces) {
    for (const c of [`cali-pro-kns.${ns}`, `cali-pri-kns.${ns}`]) {
      lines.push(...renderChain(c, [{ match: '', action: `-j MARK --set-xmark ${MARK_ACCEPT}/${MARK_ACCEPT}` }]));
    }
  }
  for (const w of sorted) {
    for (const [chain, profile] of [[`cali-fw-${w.hostVeth}`, `cali-pro-kns.${w.namespace}`], [`cali-tw-${w.hostVeth}`, `cali-pri-kns.${w.namespace}`]] as const) {
      lines.push(
        ...renderChain(chain, [
          { match: '-m conntrack --ctstate RELATED,ESTABLISHED', action: '-j ACCEPT' },
          { match: '-m conntrack --ctstate INVALID', action: '-j DROP' },
          { match: '', action: `-j MARK --set-xmark 0x0/${MARK_ACCEPT}` },
          { match: '', action: `-j ${profile}` },
          { match: `-m comment --comment "Return if profile accepted" -m mark --mark ${MARK_ACCEPT}/${MARK_ACCEPT}`, action: '-j RETURN' },
          { match: '-m comment --comment "Drop if no profiles matched"', action: '-j DROP' },
        ]),
      );
    }
  }
  for (const c of gone) lines.push(`-X ${c}`);
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/** felix's IPv6 VXLAN device (dataplanedefs.VXLANIfaceNameV6). */
export const CALICO_VXLAN_V6_DEVICE = 'vxlan-v6.calico';
/** The prefix of Calico's IPv6 IPAM blocks (the IPPool default blockSize for IPv6). */
export const CALICO_BLOCK_PREFIX_V6 = 122;
/**
 * The IPv6 gateway the Calico CNI plugin gives pods: the host veth's own link-local address, which the kernel derives
 * (EUI-64) from the veth's MAC ee:ee:ee:ee:ee:ee.
 */
export const CALICO_GATEWAY_V6 = 'fe80::ecee:eeff:feee:eeee';
/** vxlan-v6.calico's MTU: felix's default is the host MTU less its IPv6 VXLAN overhead (vxlanV6MTUOverhead 70). */
export const CALICO_VXLAN_V6_MTU = LAB_ADDRESSES.pathMTU - 70;

/** The deterministic MAC of a node's vxlan-v6.calico (calico-node picks a random one and stores it on the Node). */
export function calicoVtepMACv6(node: NodeNet): string {
  return taggedMAC([0x66, 0x36], node.index);
}

/**
 * A node's IPv6 IPAM block: the first /122 of its IPv6 range (calico-ipam claims a free block of the pool; the lab takes
 * the one holding the node's range's first addresses, so pods keep the host offset their IPv4 address has in its block).
 */
export function calicoBlockV6(node: NodeNet): string {
  if (node.v6 === undefined) throw new Error(`node ${node.name} has no IPv6 addresses (the cluster is not dual-stack)`);
  return formatCIDR6({ network: parseCIDR6(node.v6.podCIDR).network, prefix: CALICO_BLOCK_PREFIX_V6 });
}

/**
 * Calico's IPv6 side (felix with IPv6 enabled, the CNI plugin given an IPv6 address): per node the block's blackhole
 * route; VXLAN: vxlan-v6.calico (VNI 4096, UDP 4789, bound to the node's IPv6 address, MTU 1430) holding the block's
 * first address as the IPv6 tunnel address, `<block> via <peer tunnel address> dev vxlan-v6.calico onlink` with a
 * permanent neighbor and FDB entry per peer; BGP: BIRD's `<block> via <peer IPv6> dev eth0 proto bird`. Per pod the
 * /128 route to its cali veth (no static neighbor entry: felix's IPv6 route table leaves those to the kernel),
 * proxy_ndp/forwarding/accept_ra on that veth, and in the pod `<ip>/128` with `default via fe80::ecee:eeff:feee:eeee`.
 */
function calicoV6(mode: CalicoMode): PodNetworkV6 {
  const dev = CALICO_VXLAN_V6_DEVICE;
  const v6 = (node: NodeNet): NonNullable<NodeNet['v6']> => {
    if (node.v6 === undefined) throw new Error(`node ${node.name} has no IPv6 addresses (the cluster is not dual-stack)`);
    return node.v6;
  };
  const route = (to: NodeNet): string =>
    mode === 'vxlan' ? `route replace ${calicoBlockV6(to)} via ${v6(to).vtepIP} dev ${dev} onlink` : `route replace ${calicoBlockV6(to)} via ${v6(to).underlayIP} dev eth0 proto bird`;
  return {
    clusterCIDR: LAB_ADDRESSES_V6.clusterCIDR,
    tunnel: mode === 'vxlan' ? { device: dev, port: LAB_ADDRESSES.calicoVxlanPort } : undefined,
    nodeLines: (node) =>
      mode === 'vxlan'
        ? [
            `link add ${dev} type vxlan id ${LAB_ADDRESSES.calicoVxlanId} dstport ${LAB_ADDRESSES.calicoVxlanPort} local ${v6(node).underlayIP} dev eth0 nolearning`,
            `link set ${dev} address ${calicoVtepMACv6(node)} mtu ${CALICO_VXLAN_V6_MTU} up`,
            `addr add ${v6(node).vtepIP}/128 dev ${dev} nodad`,
            `route add blackhole ${calicoBlockV6(node)} proto ${FELIX_ROUTE_PROTO}`,
          ]
        : [`route add blackhole ${calicoBlockV6(node)} proto bird`],
    nodeSysctls: () => ({}),
    peerLines: (_local, others) => ({
      ip: others.flatMap((o) => (mode === 'vxlan' ? [route(o), `neigh replace ${v6(o).vtepIP} lladdr ${calicoVtepMACv6(o)} dev ${dev} nud permanent`] : [route(o)])),
      bridge: mode === 'vxlan' ? others.map((o) => `fdb replace ${calicoVtepMACv6(o)} dev ${dev} dst ${v6(o).underlayIP} self permanent`) : [],
    }),
    peerRoute: (_local, to) => ({
      add: [route(to)],
      del: [mode === 'vxlan' ? `route del ${calicoBlockV6(to)} dev ${dev}` : `route del ${calicoBlockV6(to)} dev eth0 proto bird`],
    }),
    podLines: (_node, ip6) => [`addr add ${ip6}/128 dev eth0 nodad`, `route add default via ${CALICO_GATEWAY_V6} dev eth0`],
    // BGP: IPv6 pod addresses cross the underlay unencapsulated, as IPv4 ones do; the twin of IPv4's bridge rule.
    ...(mode === 'bgp'
      ? { underlayBlock: (node: NodeNet, port: string) => ({ family: 'bridge' as const, hook: 'forward' as const, rule: `oifname "${port}" ip6 daddr ${v6(node).podCIDR} counter drop` }) }
      : {}),
    podNodeSide: (_node, hostVeth, ip6) => ({
      nodeLines: [`route replace ${ip6}/128 dev ${hostVeth}`],
      nodeSysctls: {
        [`net.ipv6.conf.${hostVeth}.proxy_ndp`]: 1,
        [`net.ipv6.conf.${hostVeth}.forwarding`]: 1,
        [`net.ipv6.conf.${hostVeth}.accept_ra`]: 0,
      },
    }),
  };
}

/** Creates Calico's network in VXLAN or BGP mode; dualStack adds its IPv6 side. */
export function createCalicoNetwork(mode: CalicoMode, dualStack = false): PodNetwork {
  const mtu = mode === 'vxlan' ? LAB_ADDRESSES.overlayMTU : LAB_ADDRESSES.pathMTU;
  // felix's determinePodMTU: the smallest MTU of the enabled encapsulations, so IPv6 VXLAN's 1430 on a dual-stack cluster.
  const podMTU = mode === 'vxlan' && dualStack ? CALICO_VXLAN_V6_MTU : mtu;
  const gw = LAB_ADDRESSES.linkLocalGateway;
  const peerRoute = (to: NodeNet): string =>
    mode === 'vxlan' ? `route replace ${to.podCIDR} via ${to.vtepIP} dev vxlan.calico onlink` : `route replace ${to.podCIDR} via ${to.underlayIP} dev eth0 proto bird`;
  return {
    kind: mode === 'vxlan' ? 'calico-vxlan' : 'calico-bgp',
    clusterCIDR: LAB_ADDRESSES.calicoPoolCIDR,
    tunnel: mode === 'vxlan' ? { device: 'vxlan.calico', port: LAB_ADDRESSES.calicoVxlanPort } : undefined,
    bridge: undefined,
    podMTU,
    tunnelMTU: mtu,
    underlayLines: () => [],
    underlaySysctls: () => ({}),
    nodeLines: (node) =>
      mode === 'vxlan'
        ? [
            `link add vxlan.calico type vxlan id ${LAB_ADDRESSES.calicoVxlanId} dstport ${LAB_ADDRESSES.calicoVxlanPort} local ${node.underlayIP} dev eth0 nolearning`,
            `link set vxlan.calico address ${calicoVtepMAC(node)} mtu ${mtu} up`,
            // The tunnel address calico-node claims from the node's block (the block's first address).
            `addr add ${node.vtepIP}/32 dev vxlan.calico`,
            `route add blackhole ${node.podCIDR} proto ${FELIX_ROUTE_PROTO}`,
          ]
        : [`route add blackhole ${node.podCIDR} proto bird`],
    nodeSysctls: () => ({}),
    nodeIptables: () => renderFelixStaticRules(mode),
    workloadIptables: (_node, workloads, removed) => renderFelixWorkloadRules(workloads, removed),
    peerLines: (_local, others) => ({
      ip: others.flatMap((o) =>
        mode === 'vxlan' ? [peerRoute(o), `neigh replace ${o.vtepIP} lladdr ${calicoVtepMAC(o)} dev vxlan.calico nud permanent`] : [peerRoute(o)],
      ),
      bridge: mode === 'vxlan' ? others.map((o) => `fdb replace ${calicoVtepMAC(o)} dev vxlan.calico dst ${o.underlayIP} self permanent`) : [],
    }),
    peerRoute: (_local, to) => ({
      add: [peerRoute(to)],
      del: [mode === 'vxlan' ? `route del ${to.podCIDR} dev vxlan.calico` : `route del ${to.podCIDR} dev eth0 proto bird`],
    }),
    podLink: (_node, pod) => {
      const hostVeth = hashedVethName('cali', pod.key);
      return {
        hostVeth,
        nodeLines: [
          `link set ${hostVeth} address ${CALICO_HOST_VETH_MAC} up`,
          // felix's workload route and its permanent neighbor entry for the pod (routetable updatePermanentARP).
          `route replace ${pod.ip} dev ${hostVeth} scope link`,
          `neigh replace ${pod.ip} lladdr ${getPodMAC(pod.ip)} dev ${hostVeth} nud permanent`,
        ],
        nodeSysctls: {
          [`net.ipv4.conf.${hostVeth}.proxy_arp`]: 1,
          [`net.ipv4.neigh.${hostVeth}.proxy_delay`]: 0,
          [`net.ipv4.conf.${hostVeth}.forwarding`]: 1,
          [`net.ipv4.conf.${hostVeth}.route_localnet`]: 1,
        },
        podLines: [
          `link set eth0 address ${getPodMAC(pod.ip)}`,
          `addr add ${pod.ip}/32 dev eth0`,
          'link set eth0 up',
          `route add ${gw} dev eth0 scope link`,
          `route add default via ${gw} dev eth0`,
        ],
        teardownLines: [],
      };
    },
    neighborDevice: (hostVeth) => hostVeth,
    // felix's rules appended to FORWARD: accept what policy accepted, then mark forwarded traffic (cali-iptables-dump.txt).
    forwardAcceptRules: [
      { rule: ['-m', 'comment', '--comment', 'cali:S93hcgKJrXEqnTfs', '-m', 'comment', '--comment', 'Policy explicitly accepted packet.', '-m', 'mark', '--mark', `${MARK_ACCEPT}/${MARK_ACCEPT}`, '-j', 'ACCEPT'], first: false },
      { rule: ['-m', 'comment', '--comment', 'cali:mp77cMpurHhyjLrM', '-j', 'MARK', '--set-xmark', `${MARK_ACCEPT}/${MARK_ACCEPT}`], first: false },
    ],
    underlayBlock: (node, port) =>
      mode === 'bgp' ? { family: 'bridge', hook: 'forward', rule: `oifname "${port}" ip daddr ${node.podCIDR} counter drop` } : undefined,
    ...(dualStack ? { v6: calicoV6(mode) } : {}),
  };
}
