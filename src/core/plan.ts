/**
 * The ladder planner: a pure function from what the API told us to the probes to run, where to run them, and why a rung
 * does not apply. Running the plan is run.ts's job; turning actions into argv is parse.ts's.
 */
import { ipFamilyOf, isIPv4, parseIP, type IPFamily } from './address.ts';
import { detectFromApi, networkTraits } from './datapath.ts';
import type { ClusterFacts } from './facts.ts';
import { dnsLookupsForFamilies, targetsForFamily } from './families.ts';
import {
  defaultDebugNamespace,
  hasClusterIP,
  locationKey,
  RUNG_IDS,
  type NodeCheckId,
  type ObjectRef,
  type ProbeAction,
  type ProbeLocation,
  type ProbeSpec,
  type ResolvedEndpoint,
  type RungId,
  type ServiceProxyMode,
} from './model.ts';
import { buildProbeCommand } from './parse.ts';
import { markPredictedDenials, type DebugPods } from './policy-prediction.ts';

/** Planner options: the per-probe timeout and how many endpoints (and DNS pods) to sample. */
export interface PlanOptions {
  timeoutMs: number;
  /** At most this many endpoints of a Service (and DNS pods) are probed; default 3. */
  maxEndpoints?: number;
  /** Where the debug pods run, to predict which of the plugin's own probes NetworkPolicy denies (default: the source's namespace). */
  debugPods?: DebugPods;
  /**
   * How many times to run each probe of the DNS rung (`dns`) and of the TCP rungs (`tcp`), for faults that come and go;
   * default 1 each. Bounded so a run stays fast (see samplesPerProbe): the DNS rung holds at most MAX_SAMPLED_DNS probes,
   * and the whole ladder at most MAX_SAMPLED_PROBES; fewer samples per probe when there are many targets.
   */
  samples?: { dns?: number; tcp?: number };
  /**
   * The address families to run the ladder for (families.ts chooseFamilies): each rung and node check once per family,
   * probes tagged with theirs when there are two. Absent or empty: the destination's addresses as they are (IPv4 runs).
   */
  families?: readonly IPFamily[];
}

/** The most probes a sampled DNS rung holds (the lookups intermittent DNS faults are judged on come first). */
export const MAX_SAMPLED_DNS = 40;
/**
 * The most ladder probes a sampled run holds: every probe is an exec, all run at once, and a crowd of them slows each
 * exec past its deadline (an unsampled run has about ten).
 */
export const MAX_SAMPLED_PROBES = 60;

/**
 * Samples per probe for the DNS rung and for the TCP rungs: as asked, cut so the DNS rung stays within MAX_SAMPLED_DNS
 * and the ladder within MAX_SAMPLED_PROBES (the TCP rungs share what the DNS rung leaves); never below 1.
 */
export function samplesPerProbe(asked: { dns?: number; tcp?: number }, counts: { dns: number; tcp: number }): { dns: number; tcp: number } {
  const whole = (n: number | undefined): number => Math.max(1, Math.floor(n ?? 1));
  const dns = Math.max(1, Math.min(whole(asked.dns), Math.floor(MAX_SAMPLED_DNS / Math.max(1, counts.dns))));
  const left = MAX_SAMPLED_PROBES - dns * counts.dns;
  const tcp = Math.max(1, Math.min(whole(asked.tcp), Math.floor(left / Math.max(1, counts.tcp))));
  return { dns, tcp };
}

/** The probes of one rung, or why the rung does not apply (then `probes` is empty). */
export interface RungPlan {
  rung: RungId;
  probes: ProbeSpec[];
  skipReason?: string;
}

/** The whole plan: every location to prepare, the rungs in ladder order, and the node checks. */
export interface LadderPlan {
  locations: ProbeLocation[];
  rungs: RungPlan[];
  nodeChecks: ProbeSpec[];
  /**
   * Read first in a source pod when the DNS rung applies: its /etc/resolv.conf. The rung's lookups are then planned
   * from it (core/dns.ts planDnsLookups); the `dns` rung above is what the API alone suggests, run when it cannot be read.
   */
  dnsDiscovery?: ProbeSpec;
}

/** A destination address to probe directly: an endpoint, the pod, the node, or an address, with its node when known. */
interface DirectTarget {
  host: string;
  port: number;
  node?: string;
  /** True when the address belongs to a pod (so pod-network node checks apply). */
  isPod: boolean;
  about?: ObjectRef;
}

/** Plans the ladder for one run (pure): which probes run where, and which rungs are skipped and why. */
export function planLadder(facts: ClusterFacts, opts: PlanOptions): LadderPlan {
  const families = opts.families ?? [];
  const one = (family: IPFamily | undefined): FamilyPlan => planFamily(family ? { ...facts, targets: targetsForFamily(facts.targets, family) } : facts, opts, family);
  const merged = families.length <= 1 ? one(families[0]) : mergeFamilyPlans(families.map((f) => ({ family: f, plan: one(f) })));
  const rungs = merged.rungs.map((r) => (r.rung === 'dns' && families.length > 0 ? { ...r, probes: dnsLookupsForFamilies(r.probes, families, opts.timeoutMs) } : r));
  const { source } = facts.targets;
  const nodeChecks = merged.nodeChecks;
  const debugPods = opts.debugPods ?? { namespace: defaultDebugNamespace(source) };
  const marked = RUNG_IDS.map((id) => rungs.find((r) => r.rung === id) as RungPlan).map((r) => ({ ...r, probes: markPredictedDenials(r.probes, facts, debugPods) }));
  const count = (dns: boolean): number => marked.filter((r) => (r.rung === 'dns') === dns).reduce((n, r) => n + r.probes.length, 0);
  const per = samplesPerProbe(opts.samples ?? {}, { dns: count(true), tcp: count(false) });
  const ordered = marked.map((r) => repeatSamples(r, r.rung === 'dns' ? per.dns : per.tcp));
  const locations: ProbeLocation[] = [];
  const keys = new Set<string>();
  for (const p of [...ordered.flatMap((r) => r.probes), ...nodeChecks]) {
    const key = locationKey(p.where);
    if (keys.has(key)) continue;
    keys.add(key);
    locations.push(p.where);
  }
  const { dnsDiscovery } = merged;
  return { locations, rungs: ordered, nodeChecks, ...(dnsDiscovery ? { dnsDiscovery } : {}) };
}

/** One family's rungs and node checks, before NetworkPolicy predictions and sampling. */
interface FamilyPlan {
  rungs: RungPlan[];
  nodeChecks: ProbeSpec[];
  dnsDiscovery?: ProbeSpec;
}

/**
 * Joins the plans of two families: each rung holds both families' probes (IPv4's first), skipped only when it is
 * skipped in every family; a probe both plans hold (the node's interfaces, the source's resolv.conf) runs once, untagged,
 * and every other probe carries its family.
 */
export function mergeFamilyPlans(plans: ReadonlyArray<{ family: IPFamily; plan: FamilyPlan }>): FamilyPlan {
  const count = new Map<string, number>();
  for (const { plan } of plans) for (const p of [...plan.rungs.flatMap((r) => r.probes), ...plan.nodeChecks]) count.set(p.id, (count.get(p.id) ?? 0) + 1);
  const tag = (family: IPFamily, probes: readonly ProbeSpec[], seen: Set<string>): ProbeSpec[] =>
    probes.flatMap((p) => {
      if (seen.has(p.id)) return [];
      seen.add(p.id);
      return [(count.get(p.id) ?? 0) > 1 ? p : { ...p, family }];
    });
  const rungs: RungPlan[] = RUNG_IDS.map((id) => {
    const seen = new Set<string>();
    const parts = plans.map(({ family, plan }) => ({ family, rung: plan.rungs.find((r) => r.rung === id) }));
    const probes = parts.flatMap(({ family, rung }) => tag(family, rung?.probes ?? [], seen));
    const planned = parts.filter((p) => p.rung !== undefined && p.rung.skipReason === undefined);
    if (planned.length > 0) return { rung: id, probes };
    const reasons = [...new Set(parts.flatMap((p) => (p.rung?.skipReason !== undefined ? [p.rung.skipReason] : [])))];
    return { rung: id, probes: [], skipReason: reasons.length === 1 ? (reasons[0] as string) : parts.map((p) => `${p.family}: ${p.rung?.skipReason ?? 'not planned'}`).join('; ') };
  });
  const seenChecks = new Set<string>();
  const nodeChecks = plans.flatMap(({ family, plan }) => tag(family, plan.nodeChecks, seenChecks));
  const dnsDiscovery = plans.find((p) => p.plan.dnsDiscovery !== undefined)?.plan.dnsDiscovery;
  return { rungs, nodeChecks, ...(dnsDiscovery ? { dnsDiscovery } : {}) };
}

/** Plans one family's ladder (or the targets as they are, when `family` is undefined). */
function planFamily(facts: ClusterFacts, opts: PlanOptions, family: IPFamily | undefined): FamilyPlan {
  const { source, destination: dest } = facts.targets;
  const max = Math.max(1, opts.maxEndpoints ?? 3);
  const timeoutMs = opts.timeoutMs;
  const sourceNode = source.kind === 'pod' ? source.node : source.name;
  const sourceLoc: ProbeLocation = source.kind === 'pod' ? { kind: 'source-pod' } : { kind: 'node-pod', node: source.name, hostNetwork: true };
  /** True when the source's own probes already run in the node's network namespace. */
  const sourceOnHost = source.kind === 'node' || source.hostNetwork;
  const protocol = dest.kind === 'service' ? dest.port.protocol : dest.protocol;

  const spec = (rung: RungId | 'node-checks', id: string, where: ProbeLocation, action: ProbeAction, extra: { check?: NodeCheckId; about?: ObjectRef } = {}): ProbeSpec => ({
    id: `${rung}:${id}`,
    rung,
    ...(extra.check ? { check: extra.check } : {}),
    where,
    action,
    command: buildProbeCommand(action, timeoutMs),
    timeoutMs,
    ...(extra.about ? { about: extra.about } : {}),
  });
  // A host name tested in one family (`--family`) connects over that family alone.
  const tcp = (t: DirectTarget): ProbeAction => ({ tool: 'tcp-connect', host: t.host, port: t.port, ...(family !== undefined && parseIP(t.host) === null ? { family } : {}) });
  const hostPod = (node: string): ProbeLocation => ({ kind: 'node-pod', node, hostNetwork: true });

  const direct = directTargets(facts, max);
  const rungs: RungPlan[] = [];
  let dnsDiscovery: ProbeSpec | undefined;
  const skip = (rung: RungId, reason: string): void => void rungs.push({ rung, probes: [], skipReason: reason });
  const tcpOnly = protocol === 'TCP' ? undefined : `only TCP is probed; the destination port is ${protocol}`;

  // dns: the name as the application resolves it (search path), then each DNS pod directly with the full name.
  if (dest.kind === 'service' || (dest.kind === 'address' && parseIP(dest.host) === null)) {
    const shortName = dest.kind === 'service' ? `${dest.name}.${dest.namespace}` : dest.host;
    const fullName = dest.kind === 'service' ? dest.dnsName : dest.host;
    const probes: ProbeSpec[] = [];
    probes.push(spec('dns', `search:${shortName}`, sourceLoc, { tool: 'dns-lookup', name: shortName }));
    for (const pod of facts.dns.pods.filter((p) => p.ready && p.ip !== '').slice(0, max)) {
      probes.push(
        spec('dns', `${pod.ip}:${fullName}`, sourceLoc, { tool: 'dns-lookup', name: fullName, server: pod.ip, ...(facts.dns.podPort !== undefined ? { port: facts.dns.podPort } : {}) }, {
          about: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        }),
      );
    }
    rungs.push({ rung: 'dns', probes });
    // The source's resolv.conf is matched to the DNS Services the adapter read under their well-known names; facts
    // without them (the API's kube-dns alone) keep the rung above.
    if (source.kind === 'pod' && !source.hostNetwork && facts.dns.services !== undefined) dnsDiscovery = spec('dns', 'resolv-conf', sourceLoc, { tool: 'resolv-conf' });
  } else {
    skip('dns', dest.kind === 'address' ? 'the destination is an IP address: no name to resolve' : `the destination is a ${dest.kind}, reached by IP: no name to resolve`);
  }

  // cluster-ip: the Service's virtual IP from the source.
  if (dest.kind !== 'service') {
    skip('cluster-ip', `the destination is ${dest.kind === 'address' ? 'an address' : `a ${dest.kind}`}, not a Service: no ClusterIP`);
  } else if (tcpOnly) {
    skip('cluster-ip', tcpOnly);
  } else if (!hasClusterIP(dest)) {
    skip('cluster-ip', 'the Service is headless: it has no ClusterIP');
  } else {
    const action: ProbeAction = { tool: 'tcp-connect', host: dest.clusterIP, port: dest.port.port };
    rungs.push({
      rung: 'cluster-ip',
      probes: [spec('cluster-ip', `${dest.clusterIP}:${dest.port.port}`, sourceLoc, action, { about: { kind: 'Service', namespace: dest.namespace, name: dest.name } })],
    });
  }

  // pod-ip: the destination's own address(es) from the source, a bounded sample of endpoints for a Service.
  if (tcpOnly) {
    skip('pod-ip', tcpOnly);
  } else if (direct.length === 0) {
    skip('pod-ip', dest.kind === 'service' ? 'the Service has no ready endpoints to probe directly' : 'no address to probe');
  } else {
    rungs.push({ rung: 'pod-ip', probes: direct.map((t) => spec('pod-ip', `${t.host}:${t.port}`, sourceLoc, tcp(t), t.about ? { about: t.about } : {})) });
  }

  // same-node: from an ordinary pod on the destination's node, which takes the overlay out of the path.
  const podTargets = direct.filter((t) => t.isPod && t.node !== undefined);
  const sameNodeTargets = podTargets.filter((t) => sourceOnHost || t.node !== sourceNode);
  if (tcpOnly) {
    skip('same-node', tcpOnly);
  } else if (podTargets.length === 0) {
    skip('same-node', dest.kind === 'node' || dest.kind === 'address' ? `the destination is a${dest.kind === 'address' ? 'n address' : ' node'}, not a pod` : 'no ready endpoint with a known node');
  } else if (sameNodeTargets.length === 0) {
    skip('same-node', `the source pod already runs on the destination's node ${sourceNode}: pod-ip tested the same-node path`);
  } else {
    rungs.push({
      rung: 'same-node',
      probes: sameNodeTargets.map((t) =>
        spec('same-node', `${t.node}:${t.host}:${t.port}`, { kind: 'node-pod', node: t.node as string, hostNetwork: false }, tcp(t), t.about ? { about: t.about } : {}),
      ),
    });
  }

  // node-origin: from the nodes themselves (hostNetwork), source node to every target, each destination node to its own.
  if (tcpOnly) {
    skip('node-origin', tcpOnly);
  } else if (direct.length === 0) {
    skip('node-origin', 'no address to probe');
  } else {
    const probes: ProbeSpec[] = [];
    const seen = new Set<string>();
    const add = (node: string, t: DirectTarget): void => {
      const id = `${node}:${t.host}:${t.port}`;
      if (seen.has(id)) return;
      seen.add(id);
      probes.push(spec('node-origin', id, hostPod(node), tcp(t), t.about ? { about: t.about } : {}));
    };
    // A node source's pod-ip probes already ran from its host network namespace.
    if (source.kind !== 'node') for (const t of direct) add(sourceNode, t);
    for (const t of direct) if (t.node !== undefined) add(t.node, t);
    if (probes.length === 0) skip('node-origin', `the source is node ${sourceNode}: pod-ip already tested from its network namespace`);
    else rungs.push({ rung: 'node-origin', probes });
  }

  // Nodes that already get an ordinary (pod-network) debug pod, for the same-node rung.
  const sameNodePods = new Set(rungs.find((r) => r.rung === 'same-node')?.probes.flatMap((p) => (p.where.kind === 'node-pod' ? [p.where.node] : [])));
  const nodeChecks = planNodeChecks(facts, direct, sourceNode, spec, hostPod, sameNodePods, family === 'IPv6' ? 'IPv6' : 'IPv4');
  return { rungs, nodeChecks, ...(dnsDiscovery ? { dnsDiscovery } : {}) };
}

/**
 * Repeats each probe of a rung `samples` times: the first run keeps the probe's id, later ones are `<id>#2` … `<id>#N`,
 * each marked with its `sample` index. One sample changes nothing.
 */
export function repeatSamples(rung: RungPlan, samples: number): RungPlan {
  const perProbe = Math.max(1, Math.floor(samples));
  if (perProbe === 1) return rung;
  const probes = rung.probes.flatMap((p) =>
    Array.from({ length: perProbe }, (_, i): ProbeSpec => ({ ...p, id: i === 0 ? p.id : `${p.id}#${i + 1}`, sample: { index: i + 1, of: perProbe } })),
  );
  return { ...rung, probes };
}

/** The sysctl that turns IPv6 forwarding on for every interface (the IPv6 twin of net.ipv4.ip_forward). */
export const IPV6_FORWARDING = 'net.ipv6.conf.all.forwarding';
/** The sysctl that sends bridged IPv6 traffic through ip6tables (the IPv6 twin of bridge-nf-call-iptables). */
export const BRIDGE_NF_IP6TABLES = 'net.bridge.bridge-nf-call-ip6tables';

type SpecFn = (rung: RungId | 'node-checks', id: string, where: ProbeLocation, action: ProbeAction, extra?: { check?: NodeCheckId; about?: ObjectRef }) => ProbeSpec;

function planNodeChecks(
  facts: ClusterFacts,
  direct: DirectTarget[],
  sourceNode: string,
  spec: SpecFn,
  hostPod: (node: string) => ProbeLocation,
  sameNodePods: ReadonlySet<string>,
  family: IPFamily,
): ProbeSpec[] {
  const { source, destination: dest } = facts.targets;
  const podTargets = direct.filter((t) => t.isPod);
  const destNodes = dest.kind === 'node' ? [dest.name] : [...new Set(podTargets.flatMap((t) => (t.node ? [t.node] : [])))];
  const nodes = [...new Set([sourceNode, ...destNodes])];
  const checks: ProbeSpec[] = [];
  // With the API's datapath facts (every run against a cluster), the NAT check reads the proxy the API names and the
  // FORWARD check walks the chain of both iptables backends for this flow; without them, the iptables reading alone.
  const api = facts.datapath ? detectFromApi(facts.datapath) : undefined;
  const proxy = api?.serviceProxy;
  // Calico, Cilium and cloud-routed CNIs route each pod through its own veth (the pod's gateway 169.254.1.1 or the
  // Cilium router): no Linux bridge, so bridge-nf-call-iptables and hairpin mode govern nothing there and are not checked.
  const bridge = networkTraits(api?.network ?? 'unknown').bridge;
  const inFamily = (a: string): boolean => ipFamilyOf(a) === family;
  const flowTo = [...new Set(podTargets.map((t) => t.host))].filter(inFamily);
  const flow = facts.datapath && inFamily(source.ip) && flowTo.length > 0 ? { from: source.ip, to: flowTo } : undefined;
  const check = (node: string, check: NodeCheckId, id: string, action: ProbeAction, about?: ObjectRef): void =>
    void checks.push(spec('node-checks', `${node}:${id}`, hostPod(node), action, { check, ...(about ? { about } : {}) }));

  if (family === 'IPv6') {
    // The IPv6 twins of the IPv4 checks below: forwarding, bridge-nf-call-ip6tables, ip6tables' FORWARD chain for this
    // flow, the routes to and from the pods (ip -6), then the same path checks on the IPv6 addresses (NDP neighbors,
    // hairpin, the IPv6 proxier's NAT rules, the MTU and loss pings).
    for (const node of nodes) {
      check(node, 'ip-forward', 'ipv6-forward', { tool: 'sysctl', key: IPV6_FORWARDING });
      if (bridge) check(node, 'bridge-nf', 'bridge-nf6', { tool: 'sysctl', key: BRIDGE_NF_IP6TABLES });
      if (flow) check(node, 'forward-policy', 'forward-policy6', { tool: 'forward-policy', flow });
      check(node, 'links', 'links', { tool: 'links' });
    }
    const targets6 = podTargets.filter((x) => inFamily(x.host));
    for (const t of targets6) check(sourceNode, 'route-to-destination', `route:${t.host}`, { tool: 'route-match', address: t.host }, t.about);
    const fromPod = source.kind === 'pod' && !source.hostNetwork && inFamily(source.ip) ? source.ip : undefined;
    if (fromPod) for (const node of destNodes.filter((n) => n !== sourceNode)) check(node, 'route-to-source', `route:${fromPod}`, { tool: 'route-match', address: fromPod });
    // IPVS lists both families' virtual servers in one table, whose IPv6 form no output here was checked against.
    const natProxy = proxy === 'ipvs' ? null : proxy;
    return [...checks, ...planPathChecks({ facts, podTargets: targets6, sourceNode, sourcePodIP: fromPod, bridge, proxy: natProxy, spec, sameNodePods })];
  }
  for (const node of nodes) {
    check(node, 'ip-forward', 'ip-forward', { tool: 'sysctl', key: 'net.ipv4.ip_forward' });
    if (bridge) check(node, 'bridge-nf', 'bridge-nf', { tool: 'sysctl', key: 'net.bridge.bridge-nf-call-iptables' });
    check(node, 'forward-policy', 'forward-policy', flow ? { tool: 'forward-policy', flow } : { tool: 'forward-policy' });
    // The node's interfaces say which pod network it runs (and confirm what the API suggested).
    check(node, 'links', 'links', { tool: 'links' });
  }
  for (const t of podTargets) check(sourceNode, 'route-to-destination', `route:${t.host}`, { tool: 'route-match', address: t.host }, t.about);
  const sourcePodIP = source.kind === 'pod' && !source.hostNetwork ? source.ip : undefined;
  if (sourcePodIP) {
    for (const node of destNodes.filter((n) => n !== sourceNode)) {
      check(node, 'route-to-source', `route:${sourcePodIP}`, { tool: 'route-match', address: sourcePodIP });
    }
  }
  return [...checks, ...planPathChecks({ facts, podTargets, sourceNode, sourcePodIP, bridge, proxy, spec, sameNodePods })];
}

/** What the path checks of one family are planned from. */
interface PathCheckInput {
  facts: ClusterFacts;
  /** The destination's pod addresses of this family. */
  podTargets: DirectTarget[];
  sourceNode: string;
  /** The source pod's address of this family (absent: a node or hostNetwork source). */
  sourcePodIP: string | undefined;
  bridge: boolean;
  /** The proxy the NAT check reads; null: no NAT check in this family. */
  proxy: ServiceProxyMode | undefined | null;
  spec: SpecFn;
  sameNodePods: ReadonlySet<string>;
}

/**
 * The checks along the pods' path, the same in each family on that family's addresses: the neighbor entries and pod
 * MACs, hairpin mode, the Service's NAT rules, and the MTU and loss pings across the overlay.
 */
function planPathChecks(input: PathCheckInput): ProbeSpec[] {
  const { podTargets, sourceNode, sourcePodIP, bridge, proxy, spec, sameNodePods } = input;
  const { source, destination: dest } = input.facts.targets;
  const checks: ProbeSpec[] = [];
  const check = (node: string, id: NodeCheckId, name: string, action: ProbeAction, about?: ObjectRef): void =>
    void checks.push(spec('node-checks', `${node}:${name}`, { kind: 'node-pod', node, hostNetwork: true }, action, { check: id, ...(about ? { about } : {}) }));
  // The node's neighbor entry for each destination pod, and the MAC the pod really answers with, read from a pod on the
  // same bridge (the source pod when it is on that node, else the same-node rung's pod; no pod is created just for it):
  // a wrong entry differs from it.
  const sourceOnBridge = (node: string): boolean => source.kind === 'pod' && !source.hostNetwork && source.node === node;
  for (const t of podTargets) {
    if (!t.node) continue;
    check(t.node, 'neighbor', `neighbor:${t.host}`, { tool: 'neighbor', address: t.host }, t.about);
    if (t.host === sourcePodIP) continue; // the source itself: nothing on its bridge to ask
    const onBridge: ProbeLocation | undefined = sourceOnBridge(t.node)
      ? { kind: 'source-pod' }
      : sameNodePods.has(t.node)
        ? { kind: 'node-pod', node: t.node, hostNetwork: false }
        : undefined;
    if (!onBridge) continue;
    checks.push(spec('node-checks', `${t.node}:pod-mac:${t.host}`, onBridge, { tool: 'neighbor', address: t.host, refresh: true }, { check: 'pod-mac', ...(t.about ? { about: t.about } : {}) }));
  }
  // The source pod is one of its own Service's backends: reaching itself through the ClusterIP takes hairpin mode on its
  // bridge port. Which port is its own: the ifindex of its eth0's peer, read inside the pod.
  if (bridge && sourcePodIP && dest.kind === 'service' && hasClusterIP(dest) && dest.endpoints.some((e) => e.ip === sourcePodIP)) {
    checks.push(spec('node-checks', `source:veth-peer`, { kind: 'source-pod' }, { tool: 'veth-peer' }, { check: 'hairpin' }));
    check(sourceNode, 'hairpin', 'bridge-ports', { tool: 'bridge-ports' });
  }
  if (dest.kind === 'service' && hasClusterIP(dest) && proxy !== null) {
    check(sourceNode, 'nat-rules', `nat:${dest.clusterIP}:${dest.port.port}`, {
      tool: 'nat-rules',
      clusterIP: dest.clusterIP,
      port: dest.port.port,
      protocol: dest.port.protocol,
      ...(proxy !== undefined ? { proxy } : {}),
    });
  }
  // Full-size pings across the overlay in both directions: a node whose overlay MTU exceeds the path loses its own
  // large packets, which the other side's pings never send.
  const crossNode = podTargets.filter((x) => x.node !== undefined && x.node !== sourceNode);
  for (const t of crossNode) check(sourceNode, 'mtu', `mtu:${t.host}`, { tool: 'path-mtu', address: t.host }, t.about);
  // A burst of small pings across the overlay: a lossy path still lets most handshakes through, slowly.
  for (const t of crossNode) check(sourceNode, 'loss', `loss:${t.host}`, { tool: 'packet-loss', address: t.host }, t.about);
  if (sourcePodIP) {
    for (const node of [...new Set(crossNode.map((t) => t.node as string))]) check(node, 'mtu', `mtu:${sourcePodIP}`, { tool: 'path-mtu', address: sourcePodIP });
  }
  return checks;
}

/** The addresses pod-ip probes: sampled ready endpoints (spread across nodes first), the pod, the node, or the address. */
function directTargets(facts: ClusterFacts, max: number): DirectTarget[] {
  const dest = facts.targets.destination;
  switch (dest.kind) {
    case 'service':
      return sampleEndpoints(dest.endpoints.filter((e) => e.ready), max).map((e) => ({
        host: e.ip,
        port: e.port,
        isPod: e.pod !== undefined || e.node !== undefined,
        ...(e.node ? { node: e.node } : {}),
        ...(e.pod ? { about: { kind: 'Pod', namespace: e.pod.namespace, name: e.pod.name } } : {}),
      }));
    case 'pod':
      return dest.ip === ''
        ? []
        : [{ host: dest.ip, port: dest.port, node: dest.node, isPod: !dest.hostNetwork, about: { kind: 'Pod', namespace: dest.namespace, name: dest.name } }];
    case 'node':
      return [{ host: dest.ip, port: dest.port, node: dest.name, isPod: false, about: { kind: 'Node', name: dest.name } }];
    case 'address':
      return (dest.ips.length > 0 ? dest.ips.slice(0, max) : [dest.host]).map((host) => ({ host, port: dest.port, isPod: false }));
    default: {
      const never: never = dest;
      throw new Error(`unknown destination ${JSON.stringify(never)}`);
    }
  }
}

/** Picks up to `max` endpoints, one per node first so the sample crosses as many nodes as it can (order-stable). */
export function sampleEndpoints(endpoints: ResolvedEndpoint[], max: number): ResolvedEndpoint[] {
  const picked: ResolvedEndpoint[] = [];
  const nodes = new Set<string | undefined>();
  for (const e of endpoints) {
    if (picked.length >= max) break;
    if (nodes.has(e.node)) continue;
    nodes.add(e.node);
    picked.push(e);
  }
  for (const e of endpoints) {
    if (picked.length >= max) break;
    if (!picked.includes(e)) picked.push(e);
  }
  return picked;
}


