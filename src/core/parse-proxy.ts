/**
 * Reading the service proxy and the FORWARD chain on a node: the fixed scripts that dump both iptables backends (and
 * nftables, and IPVS), and the pure parsers that find a Service's rules per proxy mode and walk the FORWARD chain for
 * one flow. Written against the lab's captures (test/unit/fixtures-proxies/) and, for IPVS, outputs quoted from
 * kubernetes' own docs (pkg/proxy/ipvs/README.md).
 */
import { cidrContains, ipFamilyOf, isIPv6, type IPFamily } from './address.ts';
import type { IptablesBackend, ProbeObservation, Protocol, ServiceProxyMode } from './model.ts';

/** What an exec returned (the same shape as parse.ts's RawOutput). */
interface Raw {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

/** The marker a section script prints before each command's output. */
const SECTION = '== netdebug: ';
/** The marker it prints after, with the command's exit code. */
const SECTION_EXIT = '== netdebug exit ';

/** A fixed script that runs each command in turn (stderr with stdout), fencing its output and exit code with markers. */
function sectionScript(commands: readonly string[]): string {
  return commands.map((c) => `echo "${SECTION}${c}"; ${c} 2>&1; echo "${SECTION_EXIT}$?"`).join('; ');
}

/**
 * Both iptables backends, every table they hold. Without `-t`, each save lists only the tables that exist, so reading
 * never makes the kernel create a legacy table on an nft node (a `-t` read of x_tables can autoload one).
 */
export const IPTABLES_BOTH_SCRIPT = sectionScript(['iptables-nft-save', 'iptables-legacy-save']);
/** IPTABLES_BOTH_SCRIPT's IPv6 twin: both ip6tables backends, every table they hold (IPv6 pod traffic meets these rules). */
export const IP6TABLES_BOTH_SCRIPT = sectionScript(['ip6tables-nft-save', 'ip6tables-legacy-save']);
/** Both iptables backends and kube-proxy's nftables table: where an unknown service proxy keeps its rules. */
export const PROXY_SEARCH_SCRIPT = sectionScript(['iptables-nft-save', 'iptables-legacy-save', 'nft list table ip kube-proxy']);
/** PROXY_SEARCH_SCRIPT's IPv6 twin: both ip6tables backends and kube-proxy's `table ip6 kube-proxy`. */
export const PROXY6_SEARCH_SCRIPT = sectionScript(['ip6tables-nft-save', 'ip6tables-legacy-save', 'nft list table ip6 kube-proxy']);
/** kube-proxy's IPVS mode: the virtual servers and the addresses bound to its dummy device. */
export const IPVS_SCRIPT = sectionScript(['ipvsadm -Ln', 'ip addr show dev kube-ipvs0']);

/** The command to run where the plugin cannot look itself (Cilium's agent holds its Service map). */
export const CILIUM_SERVICE_LIST = 'kubectl -n kube-system exec <cilium pod on that node> -- cilium-dbg service list';

/** CILIUM_SERVICE_LIST for one node, with how to find its agent pod. */
export function ciliumServiceList(node: string | undefined): string {
  if (node === undefined) return CILIUM_SERVICE_LIST;
  return `kubectl -n kube-system exec <cilium pod on ${node}> -- cilium-dbg service list (its pod: kubectl -n kube-system get pods -l k8s-app=cilium --field-selector spec.nodeName=${node})`;
}

/**
 * The argv of a NAT check for one proxy mode; for an IPv6 ClusterIP (`family` IPv6) the IPv6 proxier's tables, which
 * kube-proxy keeps apart from the IPv4 ones: ip6tables, nftables' `table ip6 kube-proxy`.
 */
export function natCommand(proxy: ServiceProxyMode, family: IPFamily = 'IPv4'): string[] {
  const v6 = family === 'IPv6';
  switch (proxy) {
    case 'iptables':
      return ['sh', '-c', v6 ? IP6TABLES_BOTH_SCRIPT : IPTABLES_BOTH_SCRIPT];
    case 'nftables':
      return ['nft', 'list', 'table', v6 ? 'ip6' : 'ip', 'kube-proxy'];
    case 'ipvs':
      return ['sh', '-c', IPVS_SCRIPT];
    case 'cilium':
      // Never run by the plugin (observeWithoutExec answers): what to run in the Cilium agent on the node.
      return ['cilium-dbg', 'service', 'list'];
    case 'unknown':
      return ['sh', '-c', v6 ? PROXY6_SEARCH_SCRIPT : PROXY_SEARCH_SCRIPT];
    default: {
      const never: never = proxy;
      throw new Error(`unknown service proxy ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The observation of a check the plugin does not run, or undefined when it runs (Cilium's Service map is the one);
 * `node` is where it would have run, named in the command to run instead.
 */
export function natWithoutExec(proxy: ServiceProxyMode | undefined, node?: string): ProbeObservation | undefined {
  if (proxy !== 'cilium') return undefined;
  return {
    kind: 'not-inspectable',
    what: "Cilium's Service map",
    reason: "Cilium replaces kube-proxy with eBPF maps that only its agent reads: not inspectable from a node's debug pod",
    command: ciliumServiceList(node),
  };
}

/** One command's output in a section script's output. */
interface Section {
  output: string;
  exit: number | null;
}

/** Splits a section script's output by its markers (a command cut off by the timeout has no exit). */
export function splitSections(text: string): Map<string, Section> {
  const out = new Map<string, Section>();
  let current: { cmd: string; lines: string[] } | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith(SECTION)) {
      current = { cmd: line.slice(SECTION.length).trim(), lines: [] };
      out.set(current.cmd, { output: '', exit: null });
    } else if (line.startsWith(SECTION_EXIT) && current) {
      out.set(current.cmd, { output: current.lines.join('\n'), exit: Number(line.slice(SECTION_EXIT.length)) });
      current = undefined;
    } else if (current) {
      current.lines.push(line);
      out.set(current.cmd, { output: current.lines.join('\n'), exit: null });
    }
  }
  return out;
}

/** One table of an `iptables-save` dump: chain policies (`-` for user chains) and rules as `-A CHAIN ...`. */
export interface SavedTable {
  policies: Map<string, string>;
  rules: string[];
}

/** Parses an `iptables-save` dump into its tables. */
export function parseIptablesSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let table: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      table = { policies: new Map(), rules: [] };
      tables.set(line.slice(1), table);
    } else if (line === 'COMMIT') {
      table = undefined;
    } else if (table && line.startsWith(':')) {
      const [chain, policy] = line.slice(1).split(/\s+/);
      if (chain) table.policies.set(chain, policy ?? '-');
    } else if (table && line.startsWith('-A ')) {
      table.rules.push(line);
    }
  }
  return tables;
}

const BACKENDS: ReadonlyArray<{ backend: IptablesBackend; cmd: string; cmd6: string }> = [
  { backend: 'nft', cmd: 'iptables-nft-save', cmd6: 'ip6tables-nft-save' },
  { backend: 'legacy', cmd: 'iptables-legacy-save', cmd6: 'ip6tables-legacy-save' },
];

/** The tables of each backend that could be read (a backend whose tool is missing or failed is left out, with why). */
function readBackends(sections: Map<string, Section>): { dumps: Array<{ backend: IptablesBackend; tables: Map<string, SavedTable> }>; unread: string[] } {
  const dumps: Array<{ backend: IptablesBackend; tables: Map<string, SavedTable> }> = [];
  const unread: string[] = [];
  for (const b of BACKENDS) {
    // The IPv6 script (IP6TABLES_BOTH_SCRIPT) fences the ip6tables tools' output under their own names.
    const cmd = !sections.has(b.cmd) && sections.has(b.cmd6) ? b.cmd6 : b.cmd;
    const s = sections.get(cmd);
    if (!s || s.exit !== 0) unread.push(`${cmd}: ${firstLine(s?.output ?? 'did not run')}`);
    else dumps.push({ backend: b.backend, tables: parseIptablesSave(s.output) });
  }
  return { dumps, unread };
}

/** What one proxy's rules say of a Service port: not there at all, or there (forwarding, or dropping it here). */
type Lookup =
  | { found: false }
  | { found: true; present: boolean; endpoints: string[]; drops?: 'no-endpoints' | 'no-local-endpoints' };

/** The words of an iptables rule, quoted comments kept whole. */
function words(rule: string): string[] {
  return rule.match(/"[^"]*"|\S+/g) ?? [];
}

/** The value following an option in a rule (first occurrence), or undefined. */
function optionOf(ws: readonly string[], opt: string): string | undefined {
  const i = ws.indexOf(opt);
  return i >= 0 ? ws[i + 1] : undefined;
}

/** Whether a KUBE-SERVICES rule is the one for this ClusterIP, protocol and port. */
function isServiceRule(rule: string, clusterIP: string, port: number, protocol: Protocol): boolean {
  const ws = words(rule);
  return optionOf(ws, '-d') === `${clusterIP}/${isIPv6(clusterIP) ? 128 : 32}` && optionOf(ws, '-p') === protocol.toLowerCase() && optionOf(ws, '--dport') === String(port);
}

/**
 * Finds a Service port in one backend's kube-proxy rules: KUBE-SERVICES → KUBE-SVC-* (internalTrafficPolicy Cluster),
 * KUBE-SVL-* (Local) or KUBE-EXT-* → KUBE-SEP-* DNAT targets; without a nat rule, the filter table's REJECT (no
 * endpoints) or DROP (no local endpoints) says kube-proxy knows the Service and stops it on purpose.
 */
export function lookupIptables(tables: Map<string, SavedTable>, clusterIP: string, port: number, protocol: Protocol): Lookup {
  const nat = tables.get('nat');
  if (!nat || !(nat.policies.has('KUBE-SERVICES') || nat.rules.some((r) => r.startsWith('-A KUBE-SERVICES ')))) return { found: false };
  // IPVS mode writes KUBE-SERVICES too, matching every ClusterIP through one ipset: not iptables mode's rules.
  if (ipvsModeRules(nat)) return { found: false };
  const serviceRule = nat.rules.find((r) => r.startsWith('-A KUBE-SERVICES ') && isServiceRule(r, clusterIP, port, protocol) && /-j KUBE-(SVC|SVL|EXT)-/.test(r));
  if (serviceRule) {
    const first = / -j (KUBE-\S+)/.exec(serviceRule)?.[1] as string;
    return { found: true, present: true, endpoints: followIptables(nat.rules, first) };
  }
  const filter = tables.get('filter')?.rules.find((r) => r.startsWith('-A KUBE-SERVICES ') && isServiceRule(r, clusterIP, port, protocol));
  if (filter && /has no local endpoints/.test(filter) && / -j DROP\b/.test(filter)) return { found: true, present: true, endpoints: [], drops: 'no-local-endpoints' };
  if (filter && /has no endpoints/.test(filter) && / -j REJECT\b/.test(filter)) return { found: true, present: true, endpoints: [], drops: 'no-endpoints' };
  return { found: true, present: false, endpoints: [] };
}

/** Whether a nat table holds kube-proxy's IPVS-mode rules (KUBE-SERVICES matching the KUBE-CLUSTER-IP ipset). */
function ipvsModeRules(nat: SavedTable): boolean {
  return nat.rules.some((r) => r.startsWith('-A KUBE-SERVICES ') && / --match-set KUBE-CLUSTER-IP /.test(r));
}

/** The DNAT targets reached from a kube-proxy chain (through KUBE-SVC/SVL/EXT/SEP jumps), in rule order. */
function followIptables(rules: readonly string[], start: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (chain: string): void => {
    if (seen.has(chain)) return;
    seen.add(chain);
    for (const r of rules) {
      if (!r.startsWith(`-A ${chain} `)) continue;
      const dest = /--to-destination (\S+)/.exec(r)?.[1];
      if (dest && !out.includes(dest)) out.push(dest);
      const next = / -j (KUBE-(?:SVC|SVL|EXT|SEP)-\S+)/.exec(r)?.[1];
      if (next) visit(next);
    }
  };
  visit(start);
  return out;
}

/** The blocks (`chain`, `map`, `set`) of `nft list table ip kube-proxy` (or `ip6`), each with its body lines. */
function nftBlocks(text: string): Map<string, string[]> {
  const blocks = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    const head = /^\t(?:chain|map|set) (\S+) \{$/.exec(line);
    if (head) {
      current = [];
      blocks.set(head[1] as string, current);
    } else if (/^\t\}$/.test(line)) {
      current = undefined;
    } else if (current) {
      current.push(line.trim());
    }
  }
  return blocks;
}

/**
 * The elements of a verdict map: `key : verdict`, keys with their ` . ` separators as nft prints them, and an element's
 * `comment "…"` (kube-proxy names the Service port there, e.g. in `no-endpoint-services`) left out of its key.
 */
function mapElements(body: readonly string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const text = /elements = \{([\s\S]*?)\}\s*$/.exec((body ?? []).join(' '))?.[1] ?? '';
  // The key ends at the first ` : ` (spaced): an IPv6 key's own colons have no spaces around them.
  for (const m of text.matchAll(/\s*([^,"]+?)(?:\s+comment\s+"[^"]*")?\s+:\s+([^,]+?)\s*(?:,|$)/g)) {
    out.set((m[1] as string).replace(/\s+/g, ' '), (m[2] as string).replace(/\s+/g, ' '));
  }
  return out;
}

/**
 * Finds a Service port in kube-proxy's nftables table: the `service-ips` map sends it to a `service-…` (or `local-…`)
 * chain whose `endpoint-…` chains `dnat to` the pods; an entry in `no-endpoint-services` means kube-proxy knows the
 * Service and rejects it (no endpoints) or drops it (no local endpoints).
 */
export function lookupNftables(text: string, clusterIP: string, port: number, protocol: Protocol): Lookup {
  // An IPv6 ClusterIP is in the IPv6 proxier's table, `table ip6 kube-proxy`.
  if (!new RegExp(`^table ${nftFamily(clusterIP)} kube-proxy \\{$`, 'm').test(text)) return { found: false };
  const blocks = nftBlocks(text);
  const key = `${clusterIP} . ${protocol.toLowerCase()} . ${port}`;
  const verdict = mapElements(blocks.get('service-ips')).get(key);
  const target = verdict ? /^(?:goto|jump) (\S+)$/.exec(verdict)?.[1] : undefined;
  if (target) {
    const endpoints: string[] = [];
    const seen = new Set<string>();
    const visit = (chain: string): void => {
      if (seen.has(chain)) return;
      seen.add(chain);
      for (const line of blocks.get(chain) ?? []) {
        const dest = /\bdnat to (\S+)/.exec(line)?.[1];
        if (dest && !endpoints.includes(dest)) endpoints.push(dest);
        for (const m of line.matchAll(/(?:goto|jump) ([^\s,}]+)/g)) if (blocks.has(m[1] as string)) visit(m[1] as string);
      }
    };
    visit(target);
    return { found: true, present: true, endpoints };
  }
  const none = mapElements(blocks.get('no-endpoint-services')).get(key);
  if (none === 'drop') return { found: true, present: true, endpoints: [], drops: 'no-local-endpoints' };
  if (none !== undefined) return { found: true, present: true, endpoints: [], drops: 'no-endpoints' };
  return { found: true, present: false, endpoints: [] };
}

/**
 * Finds a Service port in IPVS: the virtual server `PROTO VIP:PORT` with its real servers (`-> IP:PORT`) in
 * `ipvsadm -Ln`, and the VIP bound to kube-ipvs0 (without it the node never takes the packet in).
 */
export function lookupIpvs(ipvsadm: string, addrs: string | undefined, clusterIP: string, port: number, protocol: Protocol): Lookup & { unbound?: boolean } {
  if (!/^IP Virtual Server version/m.test(ipvsadm)) return { found: false };
  const lines = ipvsadm.split('\n');
  const head = lines.findIndex((l) => {
    const m = /^(TCP|UDP|SCTP)\s+(\S+):(\d+)\s/.exec(l.trim() + ' ');
    return m !== null && m[1] === protocol && m[2] === clusterIP && Number(m[3]) === port;
  });
  if (head < 0) return { found: true, present: false, endpoints: [] };
  const endpoints: string[] = [];
  for (const l of lines.slice(head + 1)) {
    const real = /^\s*->\s+(\S+:\d+)\s+\S+/.exec(l);
    if (!real) break;
    endpoints.push(real[1] as string);
  }
  const bound = addrs === undefined ? undefined : new RegExp(`\\binet ${clusterIP.replace(/\./g, '\\.')}/32\\b`).test(addrs);
  if (bound === false) return { found: true, present: false, endpoints, unbound: true };
  return { found: true, present: true, endpoints };
}

/** The nftables family of kube-proxy's table for an address: `ip`, or `ip6` for IPv6. */
function nftFamily(address: string): 'ip' | 'ip6' {
  return isIPv6(address) ? 'ip6' : 'ip';
}

type NatObservation = Extract<ProbeObservation, { kind: 'nat-rules' }>;

/** Parses a NAT check's output for the proxy mode the planner chose (see natCommand). */
export function parseProxyRules(raw: Raw, proxy: Exclude<ServiceProxyMode, 'cilium'>, clusterIP: string, port: number, protocol: Protocol): ProbeObservation {
  const base = { kind: 'nat-rules' as const, clusterIP, port };
  const text = raw.stderr === '' ? raw.stdout : `${raw.stdout}\n${raw.stderr}`;
  const result = (proxyFound: NatObservation['proxy'], l: Lookup & { found: true }, extra: Partial<NatObservation> = {}): ProbeObservation => ({
    ...base,
    present: l.present,
    endpoints: l.endpoints,
    proxy: proxyFound,
    ...(l.drops ? { drops: l.drops } : {}),
    ...extra,
  });
  switch (proxy) {
    case 'nftables': {
      const table = `table ${nftFamily(clusterIP)} kube-proxy`;
      if (raw.exitCode !== 0 && !/No such file or directory/.test(text)) return { kind: 'could-not-run', reason: `could not list ${table}: ${firstLine(text)}` };
      const l = lookupNftables(raw.stdout, clusterIP, port, protocol);
      return l.found ? result('nftables', l) : { ...base, present: false, endpoints: [], proxy: 'nftables', searched: `nftables (no ${table})` };
    }
    case 'ipvs': {
      const sections = splitSections(text);
      const ipvsadm = sections.get('ipvsadm -Ln');
      if (!ipvsadm || ipvsadm.exit !== 0) return { kind: 'could-not-run', reason: `could not list the IPVS virtual servers: ${firstLine(ipvsadm?.output ?? text)}` };
      const addrs = sections.get('ip addr show dev kube-ipvs0');
      const l = lookupIpvs(ipvsadm.output, addrs?.exit === 0 ? addrs.output : undefined, clusterIP, port, protocol);
      if (!l.found) return { kind: 'could-not-run', reason: `unrecognised ipvsadm output: ${firstLine(ipvsadm.output)}` };
      return result('ipvs', l, l.unbound ? { searched: `ipvs (${clusterIP} is not bound to kube-ipvs0)` } : {});
    }
    case 'iptables':
    case 'unknown': {
      const sections = splitSections(text);
      const { dumps, unread } = readBackends(sections);
      const iptables = dumps.map((d) => ({ backend: d.backend, l: lookupIptables(d.tables, clusterIP, port, protocol) }));
      // An IPv6 ClusterIP's rules were read from ip6tables: named so.
      const tool = isIPv6(clusterIP) ? 'ip6tables' : 'iptables';
      const searched = [...BACKENDS.filter((b) => dumps.some((d) => d.backend === b.backend)).map((b) => `${tool}-${b.backend}`)];
      let nft: Lookup = { found: false };
      if (proxy === 'unknown') {
        const table = sections.get(`nft list table ${nftFamily(clusterIP)} kube-proxy`);
        if (table?.exit === 0) nft = lookupNftables(table.output, clusterIP, port, protocol);
        if (table !== undefined && (table.exit === 0 || /No such file or directory/.test(table.output))) searched.push('nftables');
      }
      // A rule in either backend (or in nftables) that takes the flow counts; else the mode actually found judges.
      const hit = iptables.find((x) => x.l.found && x.l.present);
      if (hit && hit.l.found) return result('iptables', hit.l, { backend: hit.backend });
      if (nft.found && nft.present) return result('nftables', nft);
      const foundIpt = iptables.find((x) => x.l.found);
      if (foundIpt && foundIpt.l.found) return result('iptables', foundIpt.l, { backend: foundIpt.backend, searched: searched.join(', ') });
      if (nft.found) return result('nftables', nft, { searched: searched.join(', ') });
      if (dumps.length === 0 && proxy === 'iptables') return { kind: 'could-not-run', reason: `could not read either iptables backend: ${unread.join('; ')}` };
      if (proxy === 'iptables') return { ...base, present: false, endpoints: [], proxy: 'iptables', searched: `${searched.join(', ')} (no KUBE-SERVICES chain)` };
      const ipvs = dumps.some((d) => {
        const nat = d.tables.get('nat');
        return nat !== undefined && ipvsModeRules(nat);
      });
      if (ipvs) {
        return {
          kind: 'not-inspectable',
          what: "the Service's proxy rules",
          reason: "kube-proxy's KUBE-SERVICES matches the KUBE-CLUSTER-IP ipset: it runs in IPVS mode, which the API did not say, so its virtual servers were not read",
          command: 'ipvsadm -Ln; ip addr show dev kube-ipvs0',
        };
      }
      return {
        kind: 'not-inspectable',
        what: "the Service's proxy rules",
        reason: `no kube-proxy rules in ${searched.length > 0 ? searched.join(', ') : 'iptables or nftables'}${unread.length > 0 ? ` (not read: ${unread.join('; ')})` : ''}: the service proxy is none netdebug reads (IPVS, Cilium, another)`,
        command: `ipvsadm -Ln, or on Cilium: ${CILIUM_SERVICE_LIST}`,
      };
    }
    default: {
      const never: never = proxy;
      throw new Error(`unknown service proxy ${JSON.stringify(never)}`);
    }
  }
}

/** One packet of the flow as the FORWARD chain sees it. */
interface Packet {
  src: string;
  dst: string;
  state: 'NEW' | 'ESTABLISHED';
  /** Set once a rule that may have marked the packet matched: later mark matches cannot be judged. */
  markUnknown: boolean;
}

type Match = 'yes' | 'no' | 'unknown';

/** Whether a rule's matches (everything before `-j`/`-g`) take the packet. */
function matchRule(ws: readonly string[], pkt: Packet): Match {
  let result: Match = 'yes';
  const fold = (m: Match): void => {
    if (m === 'no') result = 'no';
    else if (m === 'unknown' && result === 'yes') result = 'unknown';
  };
  let negate = false;
  for (let i = 2; i < ws.length; i += 1) {
    const w = ws[i] as string;
    if (w === '-j' || w === '-g') break;
    if (w === '!') {
      negate = true;
      continue;
    }
    const value = ws[i + 1];
    const apply = (m: Match): void => {
      fold(negate && m !== 'unknown' ? (m === 'yes' ? 'no' : 'yes') : m);
      negate = false;
    };
    switch (w) {
      case '-s':
      case '-d': {
        i += 1;
        const addr = w === '-s' ? pkt.src : pkt.dst;
        const family = ipFamilyOf(addr);
        const cidr = value?.includes('/') ? value : `${value ?? ''}/${family === 'IPv6' ? 128 : 32}`;
        apply(family !== undefined ? (cidrContains(cidr, addr) ? 'yes' : 'no') : 'unknown');
        break;
      }
      case '-p':
        i += 1;
        apply(value === 'tcp' || value === 'all' ? 'yes' : 'no');
        break;
      case '-m':
        i += 1; // the module's own options follow
        break;
      case '--comment':
        i += 1;
        break;
      case '--ctstate':
      case '--state':
        i += 1;
        apply((value ?? '').split(',').includes(pkt.state) ? 'yes' : 'no');
        break;
      case '--mark': {
        i += 1;
        const [v, m] = (value ?? '').split('/');
        // The plugin's packets carry no mark until a rule sets one.
        apply(pkt.markUnknown ? 'unknown' : (Number(v) & Number(m ?? '0xffffffff')) === 0 ? 'yes' : 'no');
        break;
      }
      default: {
        // Interfaces, ipsets, physdev, addrtype, ports...: not judged. Their values are skipped.
        while (ws[i + 1] !== undefined && !(ws[i + 1] as string).startsWith('-') && ws[i + 1] !== '!') i += 1;
        apply('unknown');
      }
    }
  }
  return result;
}

/**
 * Chains of NetworkPolicy agents: a drop decided in one (or below one) is the policy enforced, not the node's FORWARD
 * setup. The lab's agent (NETPOL-*), kube-router (KUBE-ROUTER-FORWARD, KUBE-POD-FW-*, KUBE-NWPLCY-*), Calico's policy
 * and workload chains (cali-pi-/po-/tw-/fw-, cali-from-wl-dispatch, cali-to-wl-dispatch) and Weave's WEAVE-NPC.
 */
const POLICY_CHAIN = /^(NETPOL-|KUBE-ROUTER-FORWARD$|KUBE-POD-FW-|KUBE-NWPLCY-|cali-(pi|po|tw|fw)-|cali-(from|to)-wl-dispatch|WEAVE-NPC)/;

/** How a chain ended for a packet: a verdict with the rule that gave it (and whether a policy chain did), or fell through / returned. */
type ChainEnd = { verdict: 'accept' | 'drop'; rule: string; byPolicy: boolean } | { verdict: 'continue' };

/** Walks one chain of a filter table for a packet; `unsure` collects skipped rules that might have accepted it. */
function walkChain(table: SavedTable, chain: string, pkt: Packet, unsure: string[], depth: number, inPolicy = false): ChainEnd {
  const byPolicy = inPolicy || POLICY_CHAIN.test(chain);
  if (depth > 16) {
    unsure.push(`jumps nested deeper than 16 at ${chain}`);
    return { verdict: 'continue' };
  }
  for (const rule of table.rules) {
    if (!rule.startsWith(`-A ${chain} `)) continue;
    const ws = words(rule);
    const jumpAt = ws.findIndex((w) => w === '-j' || w === '-g');
    const target = jumpAt >= 0 ? ws[jumpAt + 1] : undefined;
    const m = matchRule(ws, pkt);
    if (m === 'no' || target === undefined) continue;
    if (m === 'unknown') {
      // A DROP that may not apply is not counted; an ACCEPT (or a jump) that may apply makes a DROP ending unsure.
      if (target === 'ACCEPT' || table.policies.get(target) === '-') unsure.push(rule);
      if (target === 'MARK' || target === 'CONNMARK') pkt.markUnknown = true;
      continue;
    }
    if (target === 'ACCEPT') return { verdict: 'accept', rule, byPolicy };
    if (target === 'DROP' || target === 'REJECT') return { verdict: 'drop', rule, byPolicy };
    if (target === 'RETURN') return { verdict: 'continue' };
    if (target === 'MARK' || target === 'CONNMARK') pkt.markUnknown = true;
    if (table.policies.get(target) === '-') {
      const end = walkChain(table, target, pkt, unsure, depth + 1, byPolicy);
      if (end.verdict !== 'continue') return end;
      if (ws[jumpAt] === '-g') return { verdict: 'continue' };
    }
    // Other targets (LOG, MARK, CT, ...) do not decide.
  }
  return { verdict: 'continue' };
}

type ForwardObservation = Extract<ProbeObservation, { kind: 'forward-policy' }>;

/**
 * Walks the FORWARD chain of every backend that has one for the flow's packets (each destination's first packet, NEW,
 * and its reply, ESTABLISHED): a packet goes through both backends' hooks, so a drop in either drops it. The CNI's
 * and kube-proxy's accept rules (FLANNEL-FWD, KUBE-FORWARD, cali-FORWARD) are followed like any jump.
 */
export function walkForward(dumps: ReadonlyArray<{ backend: IptablesBackend; tables: Map<string, SavedTable> }>, flow: { from: string; to: readonly string[] }): ForwardObservation | undefined {
  const filters = dumps.flatMap((d) => {
    const t = d.tables.get('filter');
    return t && t.policies.has('FORWARD') ? [{ backend: d.backend, table: t }] : [];
  });
  if (filters.length === 0) return undefined;
  const packets: Packet[] = flow.to.flatMap((to) => [
    { src: flow.from, dst: to, state: 'NEW' as const, markUnknown: false },
    { src: to, dst: flow.from, state: 'ESTABLISHED' as const, markUnknown: false },
  ]);
  let unsureEnd: ForwardObservation | undefined;
  let policyEnd: ForwardObservation | undefined;
  for (const { backend, table } of filters) {
    const policy = table.policies.get('FORWARD') as string;
    for (const pkt of packets) {
      const unsure: string[] = [];
      const end = walkChain(table, 'FORWARD', pkt, unsure, 0);
      const verdict = end.verdict === 'continue' ? (policy === 'ACCEPT' ? 'accept' : 'drop') : end.verdict;
      if (verdict === 'accept') continue;
      const decidedBy = end.verdict === 'continue' ? `-P FORWARD ${policy}` : end.rule;
      if (end.verdict !== 'continue' && end.byPolicy) {
        policyEnd ??= { kind: 'forward-policy', policy, verdict: 'policy', backend, decidedBy };
        continue;
      }
      if (unsure.length === 0) return { kind: 'forward-policy', policy, verdict: 'drop', backend, decidedBy };
      unsureEnd ??= { kind: 'forward-policy', policy, verdict: 'unsure', backend, decidedBy, unjudged: [...new Set(unsure)] };
    }
  }
  if (unsureEnd) return unsureEnd;
  if (policyEnd) return policyEnd;
  // Every packet accepted: report the backend that holds the forwarding rules (the one with rules, else the first).
  const holder = filters.find((f) => f.table.rules.some((r) => r.startsWith('-A FORWARD '))) ?? filters[0];
  const accepting = filters.find((f) => f.table.policies.get('FORWARD') !== 'ACCEPT') ?? holder;
  return { kind: 'forward-policy', policy: accepting?.table.policies.get('FORWARD') ?? 'ACCEPT', verdict: 'accept', ...(holder ? { backend: holder.backend } : {}) };
}

/** Parses the FORWARD check's output (IPTABLES_BOTH_SCRIPT) and walks the chain for the flow. */
export function parseForwardWalk(raw: Raw, flow: { from: string; to: readonly string[] }): ProbeObservation {
  const text = raw.stderr === '' ? raw.stdout : `${raw.stdout}\n${raw.stderr}`;
  const { dumps, unread } = readBackends(splitSections(text));
  if (dumps.length === 0) return { kind: 'could-not-run', reason: `could not read either iptables backend: ${unread.join('; ')}` };
  return walkForward(dumps, flow) ?? { kind: 'forward-policy', policy: 'ACCEPT', verdict: 'accept' };
}

/** The backends' dumps of an IPTABLES_BOTH_SCRIPT output, for tests and the datapath. */
export function readIptablesBoth(text: string): Array<{ backend: IptablesBackend; tables: Map<string, SavedTable> }> {
  return readBackends(splitSections(text)).dumps;
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '(no output)';
}
