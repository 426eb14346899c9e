/**
 * Reads and validates lab scenario files (the YAML format documented in test/lab/README.md, "Scenario format").
 * Validation is strict and collects every problem: unknown keys, dangling references and out-of-range values are
 * reported together, each with the field path and what is expected.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { createHash } from 'node:crypto';
import { resolveServiceFamilies } from './dual-stack.ts';
import { cidrContains, formatCIDR, parseCIDR, tryParseCIDR, tryParseIPv4, type IPv4CIDR } from './dataplane/addressing.ts';
import { cidr6Contains, tryParseCIDR6, type IPv6CIDR } from './dataplane/addressing-v6.ts';
import {
  CLUSTER_NETWORKS,
  ALL_FAULT_TYPES,
  DEFAULT_CLUSTER,
  FAULT_TYPES,
  FAMILY_FAULT_TYPES,
  IP_FAMILY_POLICIES,
  NETWORK_TRAITS,
  FORWARD_POLICIES,
  INTERNAL_TRAFFIC_POLICIES,
  IP_FAMILIES,
  IPTABLES_BACKENDS,
  LAB_ADDRESSES,
  NODE_OS,
  SERVICE_PROXIES,
  SCENARIO_API_VERSION,
  type ClusterNetwork,
  type Scenario,
  type ScenarioCluster,
  type ScenarioClusterDNS,
  type ScenarioFault,
  type ScenarioNamespace,
  type ScenarioNetworkPolicy,
  type ScenarioNode,
  type ScenarioPod,
  type ScenarioPodSecurityContext,
  type ScenarioPort,
  type ScenarioRbacDeny,
  type ScenarioService,
  type ScenarioServicePort,
} from './model.ts';

/** One thing wrong with a scenario: where (a field path such as `spec.pods[1].node`) and what is expected. */
export interface ScenarioProblem {
  path: string;
  message: string;
}

/** Thrown for an unreadable or invalid scenario; the message names the file and lists every problem. */
export class ScenarioError extends Error {
  readonly code = 'INVALID_SCENARIO';
  readonly source: string;
  readonly problems: ScenarioProblem[];
  constructor(source: string, problems: ScenarioProblem[]) {
    const lines = problems.map((p) => `  - ${p.path ? `${p.path}: ` : ''}${p.message}`);
    super(`invalid scenario ${source}:\n${lines.join('\n')}`);
    this.name = 'ScenarioError';
    this.source = source;
    this.problems = problems;
  }
}

/** Namespaces every scenario has, in this order, before the declared ones. */
export const BUILTIN_NAMESPACES = ['default', 'kube-system'] as const;

/** The namespace synthetic (API-only) objects live in. */
export const SYNTHETIC_NAMESPACE = 'synthetic';

/** Name of the cluster DNS pod the lab adds to kube-system in the default layout (reserved). */
export const DNS_POD_NAME = 'coredns-6f6b679f8f-k8x2q';

/** The pod-template hash and pod suffix of the DNS Deployment's pods (the default layout's pod is coredns-6f6b679f8f-k8x2q). */
const DNS_DEPLOYMENT_POD_SUFFIX = '6f6b679f8f-k8x2q';
/** The alphabet of generated name suffixes (apimachinery's rand.SafeEncodeString: no vowels, no confusable digits). */
const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The cluster DNS pods of a scenario and the node each runs on: one pod `<name>-6f6b679f8f-k8x2q` on the first Linux
 * node for a Deployment, one pod `<name>-<5 chars>` per Linux node for a DaemonSet (the suffix is stable per node).
 */
export function clusterDnsPods(dns: ScenarioClusterDNS, nodes: readonly Pick<ScenarioNode, 'name' | 'os'>[]): { name: string; node: string }[] {
  const linux = nodes.filter((n) => n.os !== 'windows');
  switch (dns.workload.kind) {
    case 'Deployment': {
      const first = linux[0];
      return first ? [{ name: `${dns.workload.name}-${DNS_DEPLOYMENT_POD_SUFFIX}`, node: first.name }] : [];
    }
    case 'DaemonSet':
      return linux.map((n) => ({ name: `${dns.workload.name}-${nameSuffix(`${dns.workload.name}/${n.name}`)}`, node: n.name }));
    default: {
      const unreachable: never = dns.workload.kind;
      throw new Error(`unknown DNS workload kind ${String(unreachable)}`);
    }
  }
}

/** The `node-local-dns` DaemonSet's pods (NodeLocal DNSCache): one `node-local-dns-<5 chars>` per Linux node. */
export function nodeLocalDnsPods(nodes: readonly Pick<ScenarioNode, 'name' | 'os'>[]): { name: string; node: string }[] {
  return nodes.filter((n) => n.os !== 'windows').map((n) => ({ name: `node-local-dns-${nameSuffix(`node-local-dns/${n.name}`)}`, node: n.name }));
}

/** The Services NodeLocal DNSCache adds to kube-system (upstream's nodelocaldns.yaml). */
export const NODE_LOCAL_DNS_SERVICES = ['kube-dns-upstream', 'node-local-dns'] as const;

/** A stable 5-character generated-name suffix for a key (FNV-1a over the key, in NAME_SUFFIX_ALPHABET). */
function nameSuffix(key: string): string {
  let h = 0x811c9dc5;
  for (const ch of key) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  let out = '';
  for (let i = 0; i < 5; i++) {
    out += NAME_SUFFIX_ALPHABET[h % NAME_SUFFIX_ALPHABET.length];
    h = Math.floor(h / NAME_SUFFIX_ALPHABET.length) ^ Math.imul(h, 31 + i);
    h >>>= 0;
  }
  return out;
}

/** Upper bounds of `spec.synthetic`. */
export const SYNTHETIC_LIMITS = { nodes: 5000, pods: 100_000, services: 10_000, podsPerNode: 110 } as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const RBAC_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', '*'];

const DNS1123_LABEL_HELP = "a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)";
const DNS1035_LABEL_HELP = "a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, ending with a letter or digit, at most 63 characters)";
const DNS1123_SUBDOMAIN_HELP = "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)";
const PORT_NAME_HELP = "a port name (at most 15 lowercase letters, digits and '-', with at least one letter, no leading, trailing or double '-')";

/** The allowed parameters of each fault type, besides `type` (required ones first, optional ones marked). */
const FAULT_PARAMS: Record<ScenarioFault['type'], { required: string[]; optional: string[] }> = {
  'ip-forward-off': { required: ['node'], optional: [] },
  'forward-policy-drop': { required: ['node'], optional: [] },
  'overlay-blocked': { required: ['node'], optional: [] },
  'pod-route-missing': { required: ['node', 'toNode'], optional: [] },
  'kube-proxy-rules-missing': { required: ['node'], optional: ['service'] },
  'bridge-nf-off': { required: ['node'], optional: [] },
  'dns-server-down': { required: [], optional: [] },
  'dns-no-endpoints': { required: [], optional: [] },
  'app-not-listening': { required: ['pod'], optional: ['port'] },
  'mtu-mismatch': { required: ['node'], optional: [] },
  'neighbor-stale': { required: ['node', 'pod'], optional: [] },
  'dns-record-missing': { required: ['service'], optional: [] },
  'hairpin-off': { required: ['pod'], optional: [] },
  'overlay-lossy': { required: ['node'], optional: ['percent'] },
  'node-local-dns-down': { required: ['node'], optional: [] },
  'dns-lossy': { required: ['node'], optional: ['percent'] },
  'underlay-blocked': { required: ['node'], optional: [] },
};

/** Reads a scenario file and validates it; throws ScenarioError naming the file when it is unreadable or invalid. */
export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ScenarioError(path, [{ path: '', message: `cannot read the file: ${(err as Error).message}` }]);
  }
  return parseScenario(text, path);
}

/** Parses scenario YAML, validates it strictly and applies defaults; throws ScenarioError listing every problem. */
export function parseScenario(text: string, source: string): Scenario {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      source,
      doc.errors.map((e) => ({ path: '', message: `not valid YAML: ${e.message.split('\n')[0] ?? e.message}` })),
    );
  }
  const v = new Validator();
  const scenario = v.scenario(doc.toJS({ maxAliasCount: 100 }) as unknown, source);
  if (v.problems.length > 0 || scenario === undefined) throw new ScenarioError(source, v.problems);
  return scenario;
}

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Describes a YAML value briefly for "got ..." messages. */
function show(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

function suggest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  // Up to two edits for short keys, more for long names such as fault types.
  let bestDistance = Math.max(3, Math.floor(key.length / 4) + 1);
  for (const candidate of allowed) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function nsName(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Collects problems while turning raw YAML into a Scenario. */
class Validator {
  readonly problems: ScenarioProblem[] = [];

  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** Checks a mapping's keys; returns it when it is a mapping. */
  mapping(value: unknown, path: string, allowed: readonly string[], required: readonly string[] = [], what = ''): Obj | undefined {
    if (!isObj(value)) {
      this.add(path, `must be a mapping${what}, got ${show(value)}`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (allowed.includes(key)) continue;
      const close = suggest(key, allowed);
      const hint = close ? `did you mean "${close}"?` : `allowed: ${allowed.join(', ') || 'none'}`;
      this.add(join(path, key), `unknown field${what}, ${hint}`);
    }
    for (const key of required) {
      if (value[key] === undefined || value[key] === null) this.add(join(path, key), 'is required');
    }
    return value;
  }

  list(value: unknown, path: string): unknown[] | undefined {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.add(path, `must be a list, got ${show(value)}`);
      return undefined;
    }
    return value;
  }

  string(value: unknown, path: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.add(path, `must be a string, got ${show(value)}${typeof value === 'number' || typeof value === 'boolean' ? ' (quote it)' : ''}`);
      return undefined;
    }
    return value;
  }

  bool(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.add(path, `must be true or false, got ${show(value)}`);
      return fallback;
    }
    return value;
  }

  integer(value: unknown, path: string, min: number, max: number, help: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.add(path, `must be ${help}, got ${show(value)}`);
      return undefined;
    }
    return value;
  }

  port(value: unknown, path: string): number | undefined {
    return this.integer(value, path, 1, 65535, 'a port number from 1 to 65535');
  }

  name(value: unknown, path: string, kind: 'label' | 'dns1035' | 'subdomain'): string | undefined {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    const [re, max, help] =
      kind === 'label' ? [DNS1123_LABEL, 63, DNS1123_LABEL_HELP]
        : kind === 'dns1035' ? [DNS1035_LABEL, 63, DNS1035_LABEL_HELP]
          : [DNS1123_SUBDOMAIN, 253, DNS1123_SUBDOMAIN_HELP];
    if (!re.test(s) || s.length > max) {
      this.add(path, `${JSON.stringify(s)} is not ${help}`);
      return undefined;
    }
    return s;
  }

  portName(value: unknown, path: string): string | undefined {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    if (!IANA_SVC_NAME.test(s) || s.length > 15 || !/[a-z]/.test(s) || s.includes('--')) {
      this.add(path, `${JSON.stringify(s)} is not ${PORT_NAME_HELP}`);
      return undefined;
    }
    return s;
  }

  protocol(value: unknown, path: string): 'TCP' | 'UDP' {
    if (value === undefined || value === null) return 'TCP';
    if (value !== 'TCP' && value !== 'UDP') {
      this.add(path, `must be TCP or UDP, got ${show(value)}`);
      return 'TCP';
    }
    return value;
  }

  labels(value: unknown, path: string): Record<string, string> {
    if (value === undefined || value === null) return {};
    if (!isObj(value)) {
      this.add(path, `must be a mapping of label keys to string values, got ${show(value)}`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [key, raw] of Object.entries(value)) {
      const p = join(path, key);
      const slash = key.lastIndexOf('/');
      const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
      const name = slash >= 0 ? key.slice(slash + 1) : key;
      if (!LABEL_NAME.test(name) || name.length > 63 || (prefix !== undefined && (!DNS1123_SUBDOMAIN.test(prefix) || prefix.length > 253))) {
        this.add(p, `${JSON.stringify(key)} is not a valid label key (an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`);
        continue;
      }
      const s = this.string(raw, p);
      if (s === undefined) {
        if (raw === undefined || raw === null) this.add(p, 'must be a string, got nothing');
        continue;
      }
      if (!LABEL_VALUE.test(s) || s.length > 63) {
        this.add(p, `${JSON.stringify(s)} is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`);
        continue;
      }
      out[key] = s;
    }
    return out;
  }

  scenario(raw: unknown, source: string): Scenario | undefined {
    const root = this.mapping(raw, '', ['apiVersion', 'kind', 'metadata', 'spec'], ['apiVersion', 'kind', 'metadata', 'spec']);
    if (!root) return undefined;
    if (root.apiVersion !== undefined && root.apiVersion !== SCENARIO_API_VERSION) {
      this.add('apiVersion', `must be "${SCENARIO_API_VERSION}", got ${show(root.apiVersion)}`);
    }
    if (root.kind !== undefined && root.kind !== 'Scenario') this.add('kind', `must be "Scenario", got ${show(root.kind)}`);
    let name: string | undefined;
    let description = '';
    const meta = root.metadata === undefined ? undefined : this.mapping(root.metadata, 'metadata', ['name', 'description'], ['name']);
    if (meta) {
      name = this.name(meta.name, 'metadata.name', 'label');
      description = this.string(meta.description, 'metadata.description') ?? '';
    }
    const spec = root.spec === undefined
      ? undefined
      : this.mapping(root.spec, 'spec', ['nodes', 'namespaces', 'pods', 'services', 'networkPolicies', 'faults', 'rbac', 'synthetic', 'cluster'], ['nodes']);
    if (!spec) return undefined;

    const cluster = this.cluster(spec.cluster);
    const nodes = this.nodes(spec.nodes, cluster.network);
    const namespaces = this.namespaces(spec.namespaces, spec.synthetic !== undefined && spec.synthetic !== null, cluster.dns.namespace);
    const nodeNames = nodes.map((n) => n.name);
    const nsNames = namespaces.map((n) => n.name);
    const dnsPods = clusterDnsPods(cluster.dns, nodes);
    const reservedPods = cluster.dns.nodeLocalCache
      ? [...dnsPods, ...nodeLocalDnsPods(nodes).map((p) => ({ ...p, namespace: 'kube-system' }))]
      : dnsPods;
    const pods = this.pods(spec.pods, nodes, nsNames, cluster.dns, reservedPods);
    this.checkPodCapacity(nodes, pods, dnsPods);
    const services = this.services(spec.services, nsNames, cluster.dns, cluster.ipFamilies);
    const networkPolicies = this.networkPolicies(spec.networkPolicies, nsNames);
    const faults = this.faults(spec.faults, nodes, pods, services, cluster);
    const rbac = this.rbac(spec.rbac, nsNames);
    const synthetic = this.synthetic(spec.synthetic);
    if (name === undefined) return undefined;
    const scenario: Scenario = { name, description, source, nodes, namespaces, pods, services, networkPolicies, faults, rbac, cluster };
    if (synthetic) scenario.synthetic = synthetic;
    return scenario;
  }

  /**
   * `spec.nodes`. A node's podCIDR is its share of the pod network: on flannel, cilium and cloud-routed a /17-/28 inside
   * 10.244.0.0/16 (default 10.244.<index>.0/24, the node's spec.podCIDR); on Calico its IPAM block, a /20-/28 inside
   * the pool 192.168.0.0/16 (default a /26 derived from the node name).
   */
  nodes(raw: unknown, network: ClusterNetwork = 'flannel'): ScenarioNode[] {
    const calico = network === 'calico-vxlan' || network === 'calico-bgp';
    const items = this.list(raw, 'spec.nodes');
    if (!items) return [];
    if (raw !== undefined && raw !== null && items.length === 0) this.add('spec.nodes', 'must list at least one node');
    const out: ScenarioNode[] = [];
    const seen = new Map<string, string>();
    const cidrs: { node: string; path: string; base: number; size: number }[] = [];
    items.forEach((item, i) => {
      const path = `spec.nodes[${i}]`;
      const index = i + 1;
      const m = this.mapping(item, path, ['name', 'podCIDR', 'ready', 'labels', 'os'], ['name']);
      if (!m) return;
      const name = this.name(m.name, `${path}.name`, 'subdomain');
      const ready = this.bool(m.ready, `${path}.ready`, true);
      const os = this.oneOf(m.os, `${path}.os`, NODE_OS);
      const labels = this.labels(m.labels, `${path}.labels`);
      let podCIDR = calico ? '' : `10.244.${index}.0/24`;
      if (!calico && index > 255 && m.podCIDR === undefined) this.add(path, 'needs an explicit podCIDR (only 255 default /24s fit in 10.244.0.0/16)');
      if (m.podCIDR !== undefined) {
        const s = this.string(m.podCIDR, `${path}.podCIDR`);
        if (s !== undefined) {
          const c = tryParseCIDR(s);
          const pool = parseCIDR(calico ? LAB_ADDRESSES.calicoPoolCIDR : LAB_ADDRESSES.clusterCIDR);
          const [min, max] = calico ? [20, 28] : [17, 28];
          if (!c || c.prefix < min || c.prefix > max || c.address !== c.network || !cidrContains(pool, c.network)) {
            const what = calico ? `must be a Calico IPAM block: an IPv4 network inside the pool ${LAB_ADDRESSES.calicoPoolCIDR} with a prefix from /20 to /28 (e.g. 192.168.${index}.0/26)` : `must be an IPv4 network inside ${LAB_ADDRESSES.clusterCIDR} with a prefix from /17 to /28 (e.g. 10.244.${index}.0/24)`;
            this.add(`${path}.podCIDR`, `${what}, got ${show(s)}`);
          } else {
            podCIDR = s;
          }
        }
      } else if (calico && typeof m.name === 'string') {
        podCIDR = calicoDefaultBlock(m.name, cidrs.map((x) => x.base));
      }
      const c = tryParseCIDR(podCIDR);
      if (name !== undefined && c) {
        for (const other of cidrs) {
          if (c.network < other.base + other.size && other.base < c.network + c.size) {
            this.add(`${path}.podCIDR`, `${podCIDR} overlaps the pod CIDR of node ${other.node} (${other.path})`);
          }
        }
        cidrs.push({ node: name, path, base: c.network, size: c.size });
      }
      if (name === undefined) return;
      const previous = seen.get(name);
      if (previous) {
        this.add(`${path}.name`, `duplicate node "${name}" (also ${previous})`);
        return;
      }
      seen.set(name, path);
      out.push(os === undefined ? { name, index, podCIDR, ready, labels } : { name, index, podCIDR, ready, labels, os });
    });
    if (out.length > 0 && out.every((n) => n.os === 'windows')) {
      this.add('spec.nodes', 'must have at least one Linux node (the cluster DNS and the data plane run on Linux nodes)');
    }
    return out;
  }

  namespaces(raw: unknown, hasSynthetic: boolean, dnsNamespace: string): ScenarioNamespace[] {
    const builtin: string[] = [...BUILTIN_NAMESPACES];
    if (!builtin.includes(dnsNamespace)) builtin.push(dnsNamespace);
    const out: ScenarioNamespace[] = builtin.map((name) => ({ name, labels: {} }));
    const declared = new Map<string, string>();
    const items = this.list(raw, 'spec.namespaces') ?? [];
    items.forEach((item, i) => {
      const path = `spec.namespaces[${i}]`;
      const m = this.mapping(item, path, ['name', 'labels'], ['name']);
      if (!m) return;
      const name = this.name(m.name, `${path}.name`, 'label');
      const labels = this.labels(m.labels, `${path}.labels`);
      if (name === undefined) return;
      const previous = declared.get(name);
      if (previous) {
        this.add(`${path}.name`, `duplicate namespace "${name}" (also ${previous})`);
        return;
      }
      if (hasSynthetic && name === SYNTHETIC_NAMESPACE) {
        this.add(`${path}.name`, `"${SYNTHETIC_NAMESPACE}" is reserved for spec.synthetic objects`);
        return;
      }
      declared.set(name, path);
      const builtin = out.find((n) => n.name === name);
      if (builtin) builtin.labels = labels;
      else out.push({ name, labels });
    });
    return out;
  }

  pods(raw: unknown, nodes: ScenarioNode[], namespaces: string[], dns: ScenarioClusterDNS, dnsPods: { name: string; namespace?: string }[]): ScenarioPod[] {
    const items = this.list(raw, 'spec.pods') ?? [];
    const out: ScenarioPod[] = [];
    const seen = new Map<string, string>();
    const hostPorts = new Map<string, string>();
    items.forEach((item, i) => {
      const path = `spec.pods[${i}]`;
      const m = this.mapping(item, path, ['name', 'namespace', 'node', 'labels', 'ports', 'ready', 'hostNetwork', 'owner', 'securityContext'], ['name', 'node']);
      if (!m) return;
      const name = this.name(m.name, `${path}.name`, 'subdomain');
      const namespace = this.namespaceRef(m.namespace, `${path}.namespace`, namespaces);
      const node = this.nodeRef(m.node, `${path}.node`, nodes.map((n) => n.name));
      const labels = this.labels(m.labels, `${path}.labels`);
      const ports = this.containerPorts(m.ports, `${path}.ports`);
      const ready = this.bool(m.ready, `${path}.ready`, true);
      const hostNetwork = this.bool(m.hostNetwork, `${path}.hostNetwork`, false);
      const securityContext = m.securityContext === undefined || m.securityContext === null ? undefined : this.podSecurityContext(m.securityContext, `${path}.securityContext`);
      let owner: ScenarioPod['owner'];
      if (m.owner !== undefined) {
        const o = this.mapping(m.owner, `${path}.owner`, ['kind', 'name'], ['kind', 'name']);
        if (o) {
          const kinds = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
          const kind = kinds.find((k) => k === o.kind);
          if (o.kind !== undefined && o.kind !== null && !kind) this.add(`${path}.owner.kind`, `must be Deployment, StatefulSet or DaemonSet, got ${show(o.kind)}`);
          const ownerName = this.name(o.name, `${path}.owner.name`, 'subdomain');
          if (kind && ownerName) owner = { kind, name: ownerName };
        }
      }
      if (name === undefined || namespace === undefined || node === undefined) return;
      const key = nsName(namespace, name);
      const previous = seen.get(key);
      if (previous) {
        this.add(`${path}.name`, `duplicate pod "${key}" (also ${previous})`);
        return;
      }
      if (dnsPods.some((d) => key === nsName(d.namespace ?? dns.namespace, d.name))) {
        this.add(`${path}.name`, `"${key}" is reserved for the lab's cluster DNS pod`);
        return;
      }
      seen.set(key, path);
      if (hostNetwork) {
        for (const [j, port] of ports.entries()) {
          const slot = `${node}/${port.protocol}/${port.containerPort}`;
          const other = hostPorts.get(slot);
          if (other) this.add(`${path}.ports[${j}].containerPort`, `${port.protocol} ${port.containerPort} is already used on node ${node} by hostNetwork pod ${other}`);
          else hostPorts.set(slot, key);
        }
      }
      const pod: ScenarioPod = { name, namespace, node, labels, ports, ready, hostNetwork };
      if (owner) pod.owner = owner;
      if (securityContext) pod.securityContext = securityContext;
      out.push(pod);
    });
    this.checkOwners(out);
    return out;
  }

  checkOwners(pods: ScenarioPod[]): void {
    const groups = new Map<string, ScenarioPod[]>();
    for (const pod of pods) {
      if (!pod.owner) continue;
      const key = `${pod.namespace}/${pod.owner.name}`;
      const group = groups.get(key) ?? [];
      group.push(pod);
      groups.set(key, group);
    }
    for (const [key, group] of groups) {
      const kinds = new Set(group.map((p) => p.owner?.kind));
      if (kinds.size > 1) {
        this.add('spec.pods', `pods of workload ${key} name different kinds (${[...kinds].join(', ')}); use one kind per workload name`);
        continue;
      }
      const first = group[0];
      if (!first) continue;
      const common = Object.entries(first.labels).filter(([k, v]) => group.every((p) => p.labels[k] === v));
      if (common.length === 0) {
        this.add('spec.pods', `pods of ${first.owner?.kind} ${key} share no label, so no workload selector can match them; give them a common label`);
      }
    }
  }

  /** A pod-level securityContext: the PodSecurityContext fields the lab writes and enforces. */
  podSecurityContext(raw: unknown, path: string): ScenarioPodSecurityContext | undefined {
    const m = this.mapping(raw, path, ['runAsNonRoot', 'runAsUser', 'runAsGroup', 'fsGroup', 'seccompProfile']);
    if (!m) return undefined;
    const out: ScenarioPodSecurityContext = {};
    if (m.runAsNonRoot !== undefined && m.runAsNonRoot !== null) out.runAsNonRoot = this.bool(m.runAsNonRoot, `${path}.runAsNonRoot`, false);
    for (const key of ['runAsUser', 'runAsGroup', 'fsGroup'] as const) {
      const v = this.integer(m[key], `${path}.${key}`, 0, 2147483647, 'a user or group id from 0 to 2147483647');
      if (v !== undefined) out[key] = v;
    }
    if (out.runAsNonRoot === true && out.runAsUser === 0) {
      this.add(`${path}.runAsUser`, 'must be non-zero when runAsNonRoot is true (the kubelet would refuse every container: "container\'s runAsUser breaks non-root policy")');
    }
    if (m.seccompProfile !== undefined && m.seccompProfile !== null) {
      const sp = this.mapping(m.seccompProfile, `${path}.seccompProfile`, ['type', 'localhostProfile'], ['type']);
      const type = sp ? this.oneOf(sp.type, `${path}.seccompProfile.type`, ['RuntimeDefault', 'Unconfined', 'Localhost'] as const) : undefined;
      const profile = sp ? this.string(sp.localhostProfile, `${path}.seccompProfile.localhostProfile`) : undefined;
      if (type === 'Localhost' && profile === undefined) this.add(`${path}.seccompProfile.localhostProfile`, 'is required for type Localhost');
      if (type !== undefined && type !== 'Localhost' && profile !== undefined) this.add(`${path}.seccompProfile.localhostProfile`, 'may only be set for type Localhost');
      if (type) out.seccompProfile = profile === undefined ? { type } : { type, localhostProfile: profile };
    }
    return out;
  }

  checkPodCapacity(nodes: ScenarioNode[], pods: ScenarioPod[], dnsPods: { node: string }[]): void {
    for (const node of nodes) {
      const c = tryParseCIDR(node.podCIDR);
      if (!c) continue;
      // .0 is the VTEP, .1 the bridge gateway and the last address the broadcast; DNS pods take an address too.
      const room = c.size - 3 - dnsPods.filter((d) => d.node === node.name).length;
      const count = pods.filter((p) => p.node === node.name && !p.hostNetwork).length;
      if (count > room) this.add(`spec.nodes[${node.index - 1}].podCIDR`, `${node.podCIDR} has room for ${room} pods but ${count} are placed on ${node.name}`);
    }
  }

  namespaceRef(value: unknown, path: string, namespaces: string[]): string | undefined {
    if (value === undefined || value === null) return 'default';
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    if (!namespaces.includes(s)) {
      this.add(path, `${JSON.stringify(s)} is not a namespace of this scenario (namespaces: ${namespaces.join(', ')})`);
      return undefined;
    }
    return s;
  }

  nodeRef(value: unknown, path: string, nodes: string[]): string | undefined {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    if (!nodes.includes(s)) {
      this.add(path, `${JSON.stringify(s)} is not a node of this scenario (nodes: ${nodes.join(', ') || 'none'})`);
      return undefined;
    }
    return s;
  }

  containerPorts(raw: unknown, path: string): ScenarioPort[] {
    const items = this.list(raw, path) ?? [];
    const out: ScenarioPort[] = [];
    const names = new Set<string>();
    const numbers = new Set<string>();
    items.forEach((item, i) => {
      const p = `${path}[${i}]`;
      const m = this.mapping(item, p, ['name', 'containerPort', 'protocol'], ['containerPort']);
      if (!m) return;
      const name = m.name === undefined ? undefined : this.portName(m.name, `${p}.name`);
      const containerPort = this.port(m.containerPort, `${p}.containerPort`);
      const protocol = this.protocol(m.protocol, `${p}.protocol`);
      if (containerPort === undefined) return;
      if (name !== undefined) {
        if (names.has(name)) this.add(`${p}.name`, `duplicate port name "${name}" in this pod`);
        names.add(name);
      }
      const slot = `${protocol}/${containerPort}`;
      if (numbers.has(slot)) this.add(`${p}.containerPort`, `duplicate port ${containerPort}/${protocol} in this pod`);
      numbers.add(slot);
      const port: ScenarioPort = { containerPort, protocol };
      if (name !== undefined) port.name = name;
      out.push(port);
    });
    return out;
  }

  services(raw: unknown, namespaces: string[], dns: ScenarioClusterDNS, clusterFamilies: ScenarioCluster['ipFamilies'] = ['IPv4']): ScenarioService[] {
    const items = this.list(raw, 'spec.services') ?? [];
    const out: ScenarioService[] = [];
    const seen = new Map<string, string>();
    const clusterIPs = new Map<string, string>();
    const serviceCidr = parseCIDR(LAB_ADDRESSES.serviceCIDR);
    items.forEach((item, i) => {
      const path = `spec.services[${i}]`;
      const m = this.mapping(item, path, ['name', 'namespace', 'type', 'selector', 'ports', 'clusterIP', 'externalName', 'internalTrafficPolicy', 'ipFamilyPolicy', 'ipFamilies'], ['name']);
      if (!m) return;
      const name = this.name(m.name, `${path}.name`, 'dns1035');
      const namespace = this.namespaceRef(m.namespace, `${path}.namespace`, namespaces);
      let type: ScenarioService['type'] = 'ClusterIP';
      if (m.type !== undefined && m.type !== null) {
        if (m.type === 'ClusterIP' || m.type === 'ExternalName') type = m.type;
        else this.add(`${path}.type`, `must be ClusterIP or ExternalName, got ${show(m.type)}`);
      }
      let selector: Record<string, string> | undefined;
      if (m.selector !== undefined && m.selector !== null) selector = this.labels(m.selector, `${path}.selector`);
      let clusterIP: string | undefined;
      if (m.clusterIP !== undefined && m.clusterIP !== null) {
        const s = this.string(m.clusterIP, `${path}.clusterIP`);
        if (s === 'None') clusterIP = s;
        else if (s !== undefined) {
          const ip = tryParseIPv4(s);
          const expected = `must be None (headless) or an address inside ${LAB_ADDRESSES.serviceCIDR}`;
          if (ip === undefined || !cidrContains(serviceCidr, ip)) {
            this.add(`${path}.clusterIP`, `${expected}, got ${show(s)}`);
          } else if (s === LAB_ADDRESSES.dnsClusterIP) {
            this.add(`${path}.clusterIP`, `${s} is reserved for the cluster DNS Service ${dns.namespace}/${dns.service}`);
          } else if (s === '10.96.0.0' || s === '10.96.0.1' || s === '10.96.255.255') {
            this.add(`${path}.clusterIP`, `${s} is reserved (network, kubernetes Service or broadcast address)`);
          } else if (clusterIPs.has(s)) {
            this.add(`${path}.clusterIP`, `${s} is already the clusterIP of ${clusterIPs.get(s)}`);
          } else {
            clusterIP = s;
          }
        }
      }
      let externalName: string | undefined;
      if (m.externalName !== undefined && m.externalName !== null) externalName = this.name(m.externalName, `${path}.externalName`, 'subdomain');
      if (type === 'ExternalName') {
        if (m.externalName === undefined || m.externalName === null) this.add(`${path}.externalName`, 'is required for type ExternalName');
        if (m.selector !== undefined) this.add(`${path}.selector`, 'is not allowed for type ExternalName (it has no endpoints)');
        if (m.clusterIP !== undefined) this.add(`${path}.clusterIP`, 'is not allowed for type ExternalName');
      } else if (m.externalName !== undefined) {
        this.add(`${path}.externalName`, 'is only allowed with type: ExternalName');
      }
      const internalTrafficPolicy = this.oneOf(m.internalTrafficPolicy, `${path}.internalTrafficPolicy`, INTERNAL_TRAFFIC_POLICIES);
      if (internalTrafficPolicy !== undefined && type === 'ExternalName') {
        this.add(`${path}.internalTrafficPolicy`, 'is not allowed for type ExternalName (it has no ClusterIP to route)');
      }
      const ipFamilyPolicy = this.oneOf(m.ipFamilyPolicy, `${path}.ipFamilyPolicy`, IP_FAMILY_POLICIES);
      const ipFamilies = this.ipFamilies(m.ipFamilies, `${path}.ipFamilies`);
      if (type === 'ExternalName') {
        for (const k of ['ipFamilyPolicy', 'ipFamilies'] as const) if (m[k] !== undefined) this.add(`${path}.${k}`, 'is not allowed for type ExternalName (it has no ClusterIP)');
      } else if (ipFamilyPolicy !== undefined || ipFamilies !== undefined) {
        const r = resolveServiceFamilies({ ...(clusterIP === undefined ? {} : { clusterIP }), ...(selector ? { selector } : {}), ...(ipFamilyPolicy ? { ipFamilyPolicy } : {}), ...(ipFamilies ? { ipFamilies } : {}) }, clusterFamilies);
        if (!r.ok) this.add(`${path}.${r.field}`, r.message);
        else if (clusterIP !== undefined && clusterIP !== 'None' && r.families[0] !== 'IPv4') {
          this.add(`${path}.clusterIP`, `${clusterIP} is IPv4 but the Service's first family is ${r.families[0]} (clusterIP must be of ipFamilies[0])`);
        }
      }
      const ports = this.servicePorts(m.ports, `${path}.ports`);
      if (type === 'ClusterIP' && clusterIP !== 'None' && (m.ports === undefined || m.ports === null || (Array.isArray(m.ports) && m.ports.length === 0))) {
        this.add(`${path}.ports`, 'must list at least one port (only headless and ExternalName Services may have none)');
      }
      if (name === undefined || namespace === undefined) return;
      const key = nsName(namespace, name);
      const previous = seen.get(key);
      if (previous) {
        this.add(`${path}.name`, `duplicate service "${key}" (also ${previous})`);
        return;
      }
      if (key === nsName(dns.namespace, dns.service)) {
        this.add(`${path}.name`, `"${key}" is reserved for the lab's cluster DNS Service`);
        return;
      }
      if (dns.nodeLocalCache && namespace === 'kube-system' && (NODE_LOCAL_DNS_SERVICES as readonly string[]).includes(name)) {
        this.add(`${path}.name`, `"${key}" is reserved for NodeLocal DNSCache (spec.cluster.dns.nodeLocalCache)`);
        return;
      }
      seen.set(key, path);
      if (clusterIP && clusterIP !== 'None') clusterIPs.set(clusterIP, key);
      const svc: ScenarioService = { name, namespace, type, ports };
      if (selector) svc.selector = selector;
      if (clusterIP) svc.clusterIP = clusterIP;
      if (externalName) svc.externalName = externalName;
      if (internalTrafficPolicy !== undefined && type === 'ClusterIP') svc.internalTrafficPolicy = internalTrafficPolicy;
      if (ipFamilyPolicy !== undefined && type === 'ClusterIP') svc.ipFamilyPolicy = ipFamilyPolicy;
      if (ipFamilies !== undefined && type === 'ClusterIP') svc.ipFamilies = ipFamilies;
      out.push(svc);
    });
    return out;
  }

  servicePorts(raw: unknown, path: string): ScenarioServicePort[] {
    const items = this.list(raw, path) ?? [];
    const out: ScenarioServicePort[] = [];
    const names = new Set<string>();
    const numbers = new Set<string>();
    items.forEach((item, i) => {
      const p = `${path}[${i}]`;
      const m = this.mapping(item, p, ['name', 'port', 'targetPort', 'protocol'], ['port']);
      if (!m) return;
      let name: string | undefined;
      if (m.name !== undefined && m.name !== null) name = this.name(m.name, `${p}.name`, 'label');
      else if (items.length > 1) this.add(`${p}.name`, 'is required when a Service has more than one port');
      const port = this.port(m.port, `${p}.port`);
      const protocol = this.protocol(m.protocol, `${p}.protocol`);
      let targetPort: number | string | undefined = port;
      if (typeof m.targetPort === 'string') targetPort = this.portName(m.targetPort, `${p}.targetPort`);
      else if (m.targetPort !== undefined && m.targetPort !== null) {
        targetPort = this.integer(m.targetPort, `${p}.targetPort`, 1, 65535, 'a port number from 1 to 65535 or a container port name');
      }
      if (port === undefined || targetPort === undefined) return;
      if (name !== undefined) {
        if (names.has(name)) this.add(`${p}.name`, `duplicate port name "${name}" in this Service`);
        names.add(name);
      }
      const slot = `${protocol}/${port}`;
      if (numbers.has(slot)) this.add(`${p}.port`, `duplicate port ${port}/${protocol} in this Service`);
      numbers.add(slot);
      const sp: ScenarioServicePort = { port, targetPort, protocol };
      if (name !== undefined) sp.name = name;
      out.push(sp);
    });
    return out;
  }

  networkPolicies(raw: unknown, namespaces: string[]): ScenarioNetworkPolicy[] {
    const items = this.list(raw, 'spec.networkPolicies') ?? [];
    const out: ScenarioNetworkPolicy[] = [];
    const seen = new Map<string, string>();
    items.forEach((item, i) => {
      const path = `spec.networkPolicies[${i}]`;
      const m = this.mapping(item, path, ['apiVersion', 'kind', 'metadata', 'spec'], ['metadata', 'spec']);
      if (!m) return;
      if (m.apiVersion !== undefined && m.apiVersion !== 'networking.k8s.io/v1') this.add(`${path}.apiVersion`, `must be "networking.k8s.io/v1" (or left out), got ${show(m.apiVersion)}`);
      if (m.kind !== undefined && m.kind !== 'NetworkPolicy') this.add(`${path}.kind`, `must be "NetworkPolicy" (or left out), got ${show(m.kind)}`);
      const meta = m.metadata === undefined ? undefined : this.mapping(m.metadata, `${path}.metadata`, ['name', 'namespace', 'labels'], ['name']);
      let name: string | undefined;
      let namespace: string | undefined;
      let labels: Record<string, string> | undefined;
      if (meta) {
        name = this.name(meta.name, `${path}.metadata.name`, 'subdomain');
        namespace = this.namespaceRef(meta.namespace, `${path}.metadata.namespace`, namespaces);
        if (meta.labels !== undefined) labels = this.labels(meta.labels, `${path}.metadata.labels`);
      }
      const before = this.problems.length;
      if (m.spec !== undefined) this.policySpec(m.spec, `${path}.spec`);
      if (name === undefined || namespace === undefined || this.problems.length > before || !isObj(m.spec)) return;
      const key = nsName(namespace, name);
      const previous = seen.get(key);
      if (previous) {
        this.add(`${path}.metadata.name`, `duplicate network policy "${key}" (also ${previous})`);
        return;
      }
      seen.set(key, path);
      const policy: ScenarioNetworkPolicy = { metadata: { name, namespace }, spec: m.spec };
      if (labels) policy.metadata.labels = labels;
      out.push(policy);
    });
    return out;
  }

  policySpec(raw: unknown, path: string): void {
    const spec = this.mapping(raw, path, ['podSelector', 'policyTypes', 'ingress', 'egress'], ['podSelector']);
    if (!spec) return;
    if (spec.podSelector !== undefined && spec.podSelector !== null) this.labelSelector(spec.podSelector, `${path}.podSelector`);
    if (spec.policyTypes !== undefined) {
      const types = this.list(spec.policyTypes, `${path}.policyTypes`) ?? [];
      types.forEach((t, i) => {
        if (t !== 'Ingress' && t !== 'Egress') this.add(`${path}.policyTypes[${i}]`, `must be Ingress or Egress, got ${show(t)}`);
      });
    }
    for (const [direction, peersKey] of [['ingress', 'from'], ['egress', 'to']] as const) {
      if (spec[direction] === undefined) continue;
      const rules = this.list(spec[direction], `${path}.${direction}`) ?? [];
      rules.forEach((rule, i) => {
        const rp = `${path}.${direction}[${i}]`;
        const r = this.mapping(rule, rp, [peersKey, 'ports']);
        if (!r) return;
        (this.list(r[peersKey], `${rp}.${peersKey}`) ?? []).forEach((peer, j) => this.policyPeer(peer, `${rp}.${peersKey}[${j}]`));
        (this.list(r.ports, `${rp}.ports`) ?? []).forEach((port, j) => this.policyPort(port, `${rp}.ports[${j}]`));
      });
    }
  }

  policyPeer(raw: unknown, path: string): void {
    const peer = this.mapping(raw, path, ['podSelector', 'namespaceSelector', 'ipBlock']);
    if (!peer) return;
    if (peer.podSelector !== undefined) this.labelSelector(peer.podSelector, `${path}.podSelector`);
    if (peer.namespaceSelector !== undefined) this.labelSelector(peer.namespaceSelector, `${path}.namespaceSelector`);
    if (peer.ipBlock !== undefined) {
      if (peer.podSelector !== undefined || peer.namespaceSelector !== undefined) this.add(`${path}.ipBlock`, 'must stand alone (not with podSelector or namespaceSelector in the same peer)');
      const block = this.mapping(peer.ipBlock, `${path}.ipBlock`, ['cidr', 'except'], ['cidr']);
      if (!block) return;
      if (typeof block.cidr === 'string' && block.cidr.includes(':')) {
        // An IPv6 ipBlock (as the API server accepts one): it matches IPv6 addresses only, its excepts lie inside it.
        const cidr6 = this.cidr6(block.cidr, `${path}.ipBlock.cidr`);
        (this.list(block.except, `${path}.ipBlock.except`) ?? []).forEach((e, i) => {
          const ex = this.cidr6(e, `${path}.ipBlock.except[${i}]`);
          if (cidr6 && ex && !(ex.prefix >= cidr6.prefix && cidr6Contains(cidr6, ex.network))) {
            this.add(`${path}.ipBlock.except[${i}]`, `${String(e)} must lie inside ${block.cidr}`);
          }
        });
        return;
      }
      const cidr = this.cidr(block.cidr, `${path}.ipBlock.cidr`);
      (this.list(block.except, `${path}.ipBlock.except`) ?? []).forEach((e, i) => {
        const ex = this.cidr(e, `${path}.ipBlock.except[${i}]`);
        if (cidr && ex && !(ex.prefix >= cidr.prefix && cidrContains(cidr, ex.network))) {
          this.add(`${path}.ipBlock.except[${i}]`, `${String(e)} must lie inside ${String(block.cidr)}`);
        }
      });
    }
    if (Object.keys(peer).length === 0) this.add(path, 'must have podSelector, namespaceSelector or ipBlock');
  }

  cidr6(raw: unknown, path: string): IPv6CIDR | undefined {
    const s = this.string(raw, path);
    if (s === undefined) return undefined;
    const c = tryParseCIDR6(s);
    if (!c) this.add(path, `must be an IPv6 CIDR such as fd00:10:244::/56, got ${show(s)}`);
    return c;
  }

  cidr(raw: unknown, path: string): IPv4CIDR | undefined {
    const s = this.string(raw, path);
    if (s === undefined) return undefined;
    const c = tryParseCIDR(s);
    if (!c) this.add(path, `must be an IPv4 CIDR such as 10.244.0.0/16, got ${show(s)}`);
    return c;
  }

  policyPort(raw: unknown, path: string): void {
    const port = this.mapping(raw, path, ['protocol', 'port', 'endPort']);
    if (!port) return;
    if (port.protocol !== undefined && port.protocol !== 'TCP' && port.protocol !== 'UDP' && port.protocol !== 'SCTP') {
      this.add(`${path}.protocol`, `must be TCP, UDP or SCTP, got ${show(port.protocol)}`);
    }
    if (typeof port.port === 'string') this.portName(port.port, `${path}.port`);
    else if (port.port !== undefined) this.port(port.port, `${path}.port`);
    if (port.endPort !== undefined) {
      const end = this.port(port.endPort, `${path}.endPort`);
      if (typeof port.port !== 'number') this.add(`${path}.endPort`, 'needs a numeric port');
      else if (end !== undefined && end < port.port) this.add(`${path}.endPort`, `must be at least port (${port.port}), got ${end}`);
    }
  }

  labelSelector(raw: unknown, path: string): void {
    const sel = this.mapping(raw, path, ['matchLabels', 'matchExpressions']);
    if (!sel) return;
    if (sel.matchLabels !== undefined) this.labels(sel.matchLabels, `${path}.matchLabels`);
    (this.list(sel.matchExpressions, `${path}.matchExpressions`) ?? []).forEach((e, i) => {
      const ep = `${path}.matchExpressions[${i}]`;
      const expr = this.mapping(e, ep, ['key', 'operator', 'values'], ['key', 'operator']);
      if (!expr) return;
      this.string(expr.key, `${ep}.key`);
      const op = expr.operator;
      if (op !== undefined && op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist') {
        this.add(`${ep}.operator`, `must be In, NotIn, Exists or DoesNotExist, got ${show(op)}`);
        return;
      }
      const values = this.list(expr.values, `${ep}.values`) ?? [];
      values.forEach((v, j) => this.string(v, `${ep}.values[${j}]`));
      if ((op === 'In' || op === 'NotIn') && values.length === 0) this.add(`${ep}.values`, `must not be empty for operator ${op}`);
      if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) this.add(`${ep}.values`, `must be empty for operator ${op}`);
    });
  }

  faults(raw: unknown, scenarioNodes: ScenarioNode[], pods: ScenarioPod[], services: ScenarioService[], cluster: ScenarioCluster): ScenarioFault[] {
    const nodes = scenarioNodes.map((n) => n.name);
    const windows = new Set(scenarioNodes.filter((n) => n.os === 'windows').map((n) => n.name));
    const network = cluster.network;
    // The types listed as known are the ones that can exist on this network.
    const known = ALL_FAULT_TYPES.filter((t) => faultRefusal(t, network) === undefined);
    const items = this.list(raw, 'spec.faults') ?? [];
    const out: ScenarioFault[] = [];
    const seen = new Map<string, string>();
    items.forEach((item, i) => {
      const path = `spec.faults[${i}]`;
      if (!isObj(item)) {
        this.add(path, `must be a mapping with a type, got ${show(item)}`);
        return;
      }
      const type = ALL_FAULT_TYPES.find((t) => t === item.type);
      if (!type) {
        if (item.type === undefined || item.type === null) this.add(`${path}.type`, `is required (one of: ${known.join(', ')})`);
        else {
          const close = typeof item.type === 'string' ? suggest(item.type, known) : undefined;
          this.add(`${path}.type`, `${show(item.type)} is not a fault type (${close ? `did you mean "${close}"? ` : ''}known: ${known.join(', ')})`);
        }
        return;
      }
      const refusal = faultRefusal(type, network);
      if (refusal !== undefined) {
        this.add(`${path}.type`, `${type} cannot exist on network ${network}: ${refusal}`);
        return;
      }
      // Faults with an IPv6 twin take `family` (listed among their parameters on dual-stack clusters, where it matters).
      const hasFamily = (FAMILY_FAULT_TYPES as readonly string[]).includes(type);
      const base = FAULT_PARAMS[type];
      const params = hasFamily && cluster.ipFamilies.length === 2 ? { ...base, optional: [...base.optional, 'family'] } : base;
      const allowed = ['type', ...params.required, ...params.optional, ...(hasFamily ? ['family'] : [])];
      const what = ` for fault ${type} (its parameters: ${[...params.required, ...params.optional.map((p) => `${p} (optional)`)].join(', ') || 'none'})`;
      for (const key of Object.keys(item)) {
        if (!allowed.includes(key)) this.add(join(path, key), `unknown field${what}`);
      }
      for (const key of params.required) {
        if (item[key] === undefined || item[key] === null) this.add(join(path, key), `is required${what}`);
      }
      const parsed = this.fault(type, item, path, nodes, pods, services, cluster);
      if (!parsed) return;
      const fault = this.faultFamily(parsed, item, path, cluster);
      if (!fault) return;
      const onWindows = (['node', 'toNode'] as const).flatMap((k) => (k in fault && windows.has((fault as Record<string, string>)[k] ?? '') ? [k] : []));
      const podOnWindows = 'pod' in fault && pods.some((p) => nsName(p.namespace, p.name) === fault.pod && windows.has(p.node));
      if (onWindows.length > 0 || podOnWindows) {
        this.add(`${path}.${onWindows[0] ?? 'pod'}`, 'is on a Windows node, which the lab serves through the API only (it has no data plane to break)');
        return;
      }
      const key = JSON.stringify(fault);
      const previous = seen.get(key);
      if (previous) {
        this.add(path, `duplicate fault (same as ${previous})`);
        return;
      }
      seen.set(key, path);
      out.push(fault);
    });
    return out;
  }

  /**
   * A fault's optional `family` (FAMILY_FAULT_TYPES): IPv4 is the default and is not recorded, so a scenario without the
   * field yields the same fault as before; IPv6 needs a cluster that runs IPv6.
   */
  faultFamily(fault: ScenarioFault, item: Obj, path: string, cluster: ScenarioCluster): ScenarioFault | undefined {
    if (item.family === undefined || item.family === null) return fault;
    const family = this.oneOf(item.family, `${path}.family`, IP_FAMILIES);
    if (family === undefined) return undefined;
    if (!(FAMILY_FAULT_TYPES as readonly string[]).includes(fault.type)) return fault;
    if (!cluster.ipFamilies.includes(family)) {
      this.add(`${path}.family`, `${family} is not a family of this cluster (spec.cluster.ipFamilies: [${cluster.ipFamilies.join(', ')}])`);
      return undefined;
    }
    if (family === 'IPv4') return fault;
    // Cilium tunnels both families in cilium_vxlan between the nodes' IPv4 addresses: there is no IPv6 tunnel to break.
    if (cluster.network === 'cilium' && (fault.type === 'overlay-blocked' || fault.type === 'overlay-lossy')) {
      this.add(`${path}.family`, `IPv6 has no tunnel of its own on network cilium (cilium_vxlan carries both families between the nodes' IPv4 addresses); without family, ${fault.type} acts on both`);
      return undefined;
    }
    // Cilium's one tunnel MTU (route MTUs of both families) has no IPv6 side of its own to mismatch.
    if (cluster.network === 'cilium' && fault.type === 'mtu-mismatch') {
      this.add(`${path}.family`, 'IPv6 has no tunnel of its own on network cilium (cilium_vxlan carries both families between the nodes\' IPv4 addresses, with one tunnel overhead); mtu-mismatch is built there without family only');
      return undefined;
    }
    // underlay-blocked needs no check here: it exists on cloud-routed and calico-bgp alone (refused by type elsewhere),
    // and both route IPv6 pod addresses over the underlay unencapsulated, as IPv4 ones.
    return { ...fault, family } as ScenarioFault;
  }

  fault(type: ScenarioFault['type'], item: Obj, path: string, nodes: string[], pods: ScenarioPod[], services: ScenarioService[], cluster: ScenarioCluster): ScenarioFault | undefined {
    const network = cluster.network;
    const node = (): string | undefined => (item.node === undefined || item.node === null ? undefined : this.nodeRef(item.node, `${path}.node`, nodes));
    switch (type) {
      case 'ip-forward-off':
      case 'forward-policy-drop':
      case 'overlay-blocked':
      case 'bridge-nf-off':
      case 'mtu-mismatch':
      case 'underlay-blocked': {
        const n = node();
        return n === undefined ? undefined : { type, node: n };
      }
      case 'pod-route-missing': {
        const n = node();
        const to = item.toNode === undefined || item.toNode === null ? undefined : this.nodeRef(item.toNode, `${path}.toNode`, nodes);
        if (n === undefined || to === undefined) return undefined;
        if (n === to) {
          this.add(`${path}.toNode`, `must be another node than node (${n}): a node reaches its own pods over its bridge`);
          return undefined;
        }
        return { type, node: n, toNode: to };
      }
      case 'kube-proxy-rules-missing': {
        const n = node();
        let service: string | undefined;
        if (item.service !== undefined && item.service !== null) {
          const s = this.objectRef(item.service, `${path}.service`, 'service', services.map((x) => nsName(x.namespace, x.name)));
          if (s === undefined) return undefined;
          const svc = services.find((x) => nsName(x.namespace, x.name) === s);
          if (svc && (svc.type !== 'ClusterIP' || svc.clusterIP === 'None')) {
            this.add(`${path}.service`, `${s} has no ClusterIP (headless or ExternalName), so kube-proxy has no rules for it`);
            return undefined;
          }
          service = s;
        }
        if (n === undefined) return undefined;
        return service === undefined ? { type, node: n } : { type, node: n, service };
      }
      case 'dns-server-down':
      case 'dns-no-endpoints':
        return { type };
      case 'app-not-listening': {
        const ref = item.pod === undefined || item.pod === null ? undefined : this.objectRef(item.pod, `${path}.pod`, 'pod', pods.map((p) => nsName(p.namespace, p.name)));
        const pod = pods.find((p) => nsName(p.namespace, p.name) === ref);
        const port = this.port(item.port, `${path}.port`);
        if (!pod || ref === undefined) return undefined;
        if (pod.ports.length === 0) {
          this.add(`${path}.pod`, `${ref} declares no ports, so nothing listens there anyway`);
          return undefined;
        }
        if (item.port !== undefined && port === undefined) return undefined;
        if (port !== undefined) {
          if (!pod.ports.some((p) => p.containerPort === port)) {
            this.add(`${path}.port`, `${port} is not a port of ${ref} (its ports: ${pod.ports.map((p) => p.containerPort).join(', ')})`);
            return undefined;
          }
          return { type, pod: ref, port };
        }
        return { type, pod: ref };
      }
      case 'overlay-lossy':
      case 'dns-lossy': {
        const n = node();
        const percent = item.percent;
        if (percent !== undefined && (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 1 || percent > 99)) {
          this.add(`${path}.percent`, `must be a whole number of percent from 1 to 99, got ${show(percent)}`);
          return undefined;
        }
        if (n === undefined) return undefined;
        return percent === undefined ? { type, node: n } : { type, node: n, percent };
      }
      case 'node-local-dns-down': {
        const n = node();
        if (n === undefined) return undefined;
        if (!cluster.dns.nodeLocalCache) {
          this.add(`${path}.type`, 'needs spec.cluster.dns.nodeLocalCache: true (there is no node-local DNS cache to stop)');
          return undefined;
        }
        return { type, node: n };
      }
      case 'hairpin-off': {
        const ref = item.pod === undefined || item.pod === null ? undefined : this.objectRef(item.pod, `${path}.pod`, 'pod', pods.map((p) => nsName(p.namespace, p.name)));
        const pod = pods.find((p) => nsName(p.namespace, p.name) === ref);
        if (!pod || ref === undefined) return undefined;
        if (pod.hostNetwork) {
          this.add(`${path}.pod`, `${ref} uses hostNetwork, so it has no bridge port to turn hairpin mode off on`);
          return undefined;
        }
        return { type, pod: ref };
      }
      case 'neighbor-stale': {
        const n = node();
        const ref = item.pod === undefined || item.pod === null ? undefined : this.objectRef(item.pod, `${path}.pod`, 'pod', pods.map((p) => nsName(p.namespace, p.name)));
        const pod = pods.find((p) => nsName(p.namespace, p.name) === ref);
        if (n === undefined || !pod || ref === undefined) return undefined;
        if (pod.hostNetwork) {
          this.add(`${path}.pod`, `${ref} uses hostNetwork, so it has no pod IP of its own to hold a neighbor entry for`);
          return undefined;
        }
        if (pod.node !== n) {
          const where = NETWORK_TRAITS[network].bridge ? "that node's bridge" : "the pod's veth in that node";
          this.add(`${path}.node`, `must be the node ${ref} runs on (${pod.node}): the stale entry sits on ${where}`);
          return undefined;
        }
        return { type, node: n, pod: ref };
      }
      case 'dns-record-missing': {
        if (item.service === undefined || item.service === null) return undefined;
        const s = this.objectRef(item.service, `${path}.service`, 'service', services.map((x) => nsName(x.namespace, x.name)));
        if (s === undefined) return undefined;
        const svc = services.find((x) => nsName(x.namespace, x.name) === s);
        if (svc?.type === 'ExternalName') {
          this.add(`${path}.service`, `${s} is an ExternalName Service: the lab's DNS serves no record for it, so there is none to leave out`);
          return undefined;
        }
        return { type, service: s };
      }
      default: {
        const unreachable: never = type;
        throw new Error(`unhandled fault type ${String(unreachable)}`);
      }
    }
  }

  objectRef(value: unknown, path: string, kind: 'pod' | 'service', existing: string[]): string | undefined {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    if (!/^[^/]+\/[^/]+$/.test(s)) {
      this.add(path, `must be "namespace/name", got ${show(s)}`);
      return undefined;
    }
    if (!existing.includes(s)) {
      this.add(path, `${JSON.stringify(s)} is not a ${kind} of this scenario (${kind}s: ${existing.join(', ') || 'none'})`);
      return undefined;
    }
    return s;
  }

  rbac(raw: unknown, namespaces: string[]): { deny: ScenarioRbacDeny[] } {
    const out: ScenarioRbacDeny[] = [];
    if (raw === undefined || raw === null) return { deny: out };
    const m = this.mapping(raw, 'spec.rbac', ['deny']);
    if (!m) return { deny: out };
    (this.list(m.deny, 'spec.rbac.deny') ?? []).forEach((item, i) => {
      const path = `spec.rbac.deny[${i}]`;
      const d = this.mapping(item, path, ['verb', 'resource', 'subresource', 'namespace'], ['verb', 'resource']);
      if (!d) return;
      const verb = this.string(d.verb, `${path}.verb`);
      if (verb !== undefined && !RBAC_VERBS.includes(verb)) this.add(`${path}.verb`, `must be one of ${RBAC_VERBS.join(', ')}, got ${show(verb)}`);
      const resource = this.string(d.resource, `${path}.resource`);
      if (resource !== undefined && !/^([a-z][a-z0-9]*|\*)$/.test(resource)) this.add(`${path}.resource`, `must be a lowercase plural resource name such as pods or endpointslices, got ${show(resource)}`);
      const subresource = this.string(d.subresource, `${path}.subresource`);
      if (subresource !== undefined && !/^[a-z][a-z0-9]*$/.test(subresource)) this.add(`${path}.subresource`, `must be a lowercase subresource name such as exec or ephemeralcontainers, got ${show(subresource)}`);
      const namespace = d.namespace === undefined || d.namespace === null ? undefined : this.namespaceRef(d.namespace, `${path}.namespace`, namespaces);
      if (verb === undefined || !RBAC_VERBS.includes(verb) || resource === undefined) return;
      const deny: ScenarioRbacDeny = { verb, resource };
      if (subresource !== undefined) deny.subresource = subresource;
      if (namespace !== undefined) deny.namespace = namespace;
      out.push(deny);
    });
    return { deny: out };
  }

  synthetic(raw: unknown): Scenario['synthetic'] {
    if (raw === undefined || raw === null) return undefined;
    const m = this.mapping(raw, 'spec.synthetic', ['nodes', 'pods', 'services']);
    if (!m) return undefined;
    const count = (key: 'nodes' | 'pods' | 'services'): number =>
      this.integer(m[key], `spec.synthetic.${key}`, 0, SYNTHETIC_LIMITS[key], `an integer from 0 to ${SYNTHETIC_LIMITS[key]}`) ?? 0;
    const counts = { nodes: count('nodes'), pods: count('pods'), services: count('services') };
    if (counts.pods > counts.nodes * SYNTHETIC_LIMITS.podsPerNode) {
      this.add('spec.synthetic.pods', `${counts.pods} pods need at least ${Math.ceil(counts.pods / SYNTHETIC_LIMITS.podsPerNode)} synthetic nodes (at most ${SYNTHETIC_LIMITS.podsPerNode} pods per node), got nodes: ${counts.nodes}`);
    }
    return counts;
  }

  /** `spec.cluster`: every field optional, defaults from DEFAULT_CLUSTER; values the lab cannot build yet are refused. */
  cluster(raw: unknown): ScenarioCluster {
    const d = DEFAULT_CLUSTER;
    if (raw === undefined || raw === null) return structuredClone(d) as ScenarioCluster;
    const path = 'spec.cluster';
    const m = this.mapping(raw, path, ['network', 'serviceProxy', 'iptablesBackend', 'forwardPolicy', 'dns', 'ipFamilies', 'apiLatencyMs', 'imagePullSeconds', 'images']);
    if (!m) return structuredClone(d) as ScenarioCluster;
    const cluster: ScenarioCluster = {
      network: this.oneOf(m.network, `${path}.network`, CLUSTER_NETWORKS) ?? d.network,
      serviceProxy: this.oneOf(m.serviceProxy, `${path}.serviceProxy`, SERVICE_PROXIES) ?? d.serviceProxy,
      iptablesBackend: this.oneOf(m.iptablesBackend, `${path}.iptablesBackend`, IPTABLES_BACKENDS) ?? d.iptablesBackend,
      forwardPolicy: this.oneOf(m.forwardPolicy, `${path}.forwardPolicy`, FORWARD_POLICIES) ?? d.forwardPolicy,
      dns: this.clusterDNS(m.dns, `${path}.dns`),
      ipFamilies: this.ipFamilies(m.ipFamilies, `${path}.ipFamilies`) ?? [...d.ipFamilies],
      apiLatencyMs: this.integer(m.apiLatencyMs, `${path}.apiLatencyMs`, 0, 10_000, 'an integer number of milliseconds from 0 to 10000') ?? d.apiLatencyMs,
      imagePullSeconds: this.integer(m.imagePullSeconds, `${path}.imagePullSeconds`, 0, 600, 'an integer number of seconds from 0 to 600') ?? d.imagePullSeconds,
      images: (this.list(m.images, `${path}.images`) ?? []).flatMap((item, i) => {
        const s = this.string(item, `${path}.images[${i}]`);
        if (s === undefined || s === '') {
          if (s === '' || item === undefined || item === null) this.add(`${path}.images[${i}]`, 'must be an image reference');
          return [];
        }
        return [s];
      }),
    };
    if (cluster.serviceProxy === 'cilium' && cluster.network !== 'cilium') {
      this.add(`${path}.serviceProxy`, `"cilium" (Cilium's kube-proxy replacement) needs network: cilium, got network: ${cluster.network}`);
    }
    for (const p of unbuiltClusterSettings(cluster)) this.add(p.path, p.message);
    return cluster;
  }

  /** `spec.cluster.dns` with defaults. */
  clusterDNS(raw: unknown, path: string): ScenarioClusterDNS {
    const d = DEFAULT_CLUSTER.dns;
    if (raw === undefined || raw === null) return structuredClone(d) as ScenarioClusterDNS;
    const m = this.mapping(raw, path, ['namespace', 'service', 'workload', 'labels', 'port', 'domain', 'nodeLocalCache']);
    if (!m) return structuredClone(d) as ScenarioClusterDNS;
    const namespace = this.string(m.namespace, `${path}.namespace`) ?? d.namespace;
    if (!DNS1123_LABEL.test(namespace) || namespace.length > 63) this.add(`${path}.namespace`, `must be ${DNS1123_LABEL_HELP}, got ${show(namespace)}`);
    const service = this.string(m.service, `${path}.service`) ?? d.service;
    if (!DNS1035_LABEL.test(service) || service.length > 63) this.add(`${path}.service`, `must be ${DNS1035_LABEL_HELP}, got ${show(service)}`);
    let workload = { ...d.workload };
    if (m.workload !== undefined && m.workload !== null) {
      const w = this.mapping(m.workload, `${path}.workload`, ['kind', 'name'], ['kind', 'name']);
      const kind = w ? this.oneOf(w.kind, `${path}.workload.kind`, ['Deployment', 'DaemonSet'] as const) : undefined;
      const name = w ? this.string(w.name, `${path}.workload.name`) : undefined;
      if (name !== undefined && (!DNS1123_SUBDOMAIN.test(name) || name.length > 253)) this.add(`${path}.workload.name`, `must be ${DNS1123_SUBDOMAIN_HELP}, got ${show(name)}`);
      if (kind && name) workload = { kind, name };
    }
    const labels = m.labels === undefined || m.labels === null ? { ...d.labels } : this.labels(m.labels, `${path}.labels`);
    if (Object.keys(labels).length === 0) this.add(`${path}.labels`, "must have at least one label (they are the DNS Service's selector)");
    const domain = this.string(m.domain, `${path}.domain`) ?? d.domain;
    if (!DNS1123_SUBDOMAIN.test(domain) || domain.length > 253) this.add(`${path}.domain`, `must be ${DNS1123_SUBDOMAIN_HELP}, got ${show(domain)}`);
    return {
      namespace,
      service,
      workload,
      labels,
      port: this.port(m.port, `${path}.port`) ?? d.port,
      domain,
      nodeLocalCache: this.bool(m.nodeLocalCache, `${path}.nodeLocalCache`, d.nodeLocalCache),
    };
  }

  /** An address-family list: one or two distinct families, the first is the primary one. */
  ipFamilies(raw: unknown, path: string): ScenarioCluster['ipFamilies'] | undefined {
    if (raw === undefined || raw === null) return undefined;
    const items = this.list(raw, path);
    if (!items) return undefined;
    const out = items.flatMap((item, i) => {
      const f = this.oneOf(item, `${path}[${i}]`, IP_FAMILIES);
      return f ? [f] : [];
    });
    if (items.length === 0 || items.length > 2 || new Set(out).size !== out.length) {
      this.add(path, `must be [IPv4], [IPv6], [IPv4, IPv6] or [IPv6, IPv4], got ${show(raw)}`);
      return undefined;
    }
    return out;
  }

  /** A string that must be one of `allowed`. */
  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.add(path, `must be one of ${allowed.join(', ')}, got ${show(value)}`);
      return undefined;
    }
    return value as T;
  }
}

/**
 * The `spec.cluster` settings the lab cannot build yet, as problems: a scenario asking for one is refused instead of
 * silently getting the default cluster. Each entry goes away when the lab builds that setting.
 */
export function unbuiltClusterSettings(c: ScenarioCluster): ScenarioProblem[] {
  const d = DEFAULT_CLUSTER;
  const out: ScenarioProblem[] = [];
  const no = (path: string, value: unknown): void => {
    out.push({ path: `spec.cluster.${path}`, message: `${show(value)} is valid but not built by this lab yet` });
  };
  if (!NETWORK_TRAITS[c.network].built) no('network', c.network);
  // Every service proxy, iptables backend and FORWARD policy is built (kube-proxy*.ts, cluster-rules.ts, cilium.ts), but
  // Cilium's forwarding does not cross a FORWARD chain the lab can stand in for: under DROP its pod traffic would die.
  if (c.network === 'cilium' && c.forwardPolicy === 'DROP') no('forwardPolicy', `${c.forwardPolicy} with network cilium`);
  // The AWS VPC CNI writes no FORWARD accept rule: EKS nodes run FORWARD ACCEPT (the EKS AMI sets it at boot), so a
  // cloud-routed node under DROP is a broken node, which forward-policy-drop already builds.
  if (c.network === 'cloud-routed' && c.forwardPolicy === 'DROP') no('forwardPolicy', `${c.forwardPolicy} with network cloud-routed`);
  // Dual-stack is built on the networks whose traits say so (flannel: flannel-v6.1, ip6tables / `ip6 kube-proxy`);
  // IPv6 single-stack is not built.
  if (c.ipFamilies.length === 1 && c.ipFamilies[0] !== d.ipFamilies[0]) {
    out.push({ path: 'spec.cluster.ipFamilies', message: `[${c.ipFamilies.join(', ')}] (IPv6 single-stack) is valid but not built by this lab yet (dual-stack [IPv4, IPv6] and [IPv6, IPv4] are)` });
  }
  // NodeLocal DNSCache is built with either primary family (169.254.20.10, or fd00::10 on [IPv6, IPv4]).
  // cloud-routed dual-stack stands for GKE VPC-native and AKS Azure CNI overlay (EKS runs IPv4 or IPv6, never both).
  if (c.ipFamilies.length === 2 && !NETWORK_TRAITS[c.network].dualStack) {
    const built = CLUSTER_NETWORKS.filter((n) => NETWORK_TRAITS[n].dualStack).join(', ');
    out.push({ path: 'spec.cluster.ipFamilies', message: `[${c.ipFamilies.join(', ')}] (dual-stack) is not built by this lab on network ${c.network} yet (dual-stack networks: ${built})` });
  }
  return out;
}

/**
 * Why a fault cannot exist on a pod network, or undefined when it can: bridge faults need a bridge, tunnel faults an
 * overlay, pod-route-missing nodes that hold routes to other nodes' pods, underlay-blocked pod addresses on the underlay.
 */
export function faultRefusal(type: ScenarioFault['type'], network: ClusterNetwork): string | undefined {
  const t = NETWORK_TRAITS[network];
  switch (type) {
    case 'hairpin-off':
    case 'bridge-nf-off':
      return t.bridge ? undefined : 'pods attach by routed veths, not a bridge, so there is no bridge port or bridge netfilter to turn off';
    case 'overlay-blocked':
    case 'overlay-lossy':
    case 'mtu-mismatch':
      return t.overlay ? undefined : 'pod traffic crosses the underlay unencapsulated, so there is no overlay tunnel to block, thin out or shrink (see underlay-blocked)';
    case 'pod-route-missing':
      return t.peerRoutes ? undefined : "nodes hold no routes to other nodes' pods (the cloud's router does; see underlay-blocked)";
    case 'underlay-blocked':
      return t.overlay ? 'pod addresses never cross the underlay: they travel inside the overlay between node IPs (see overlay-blocked)' : undefined;
    case 'ip-forward-off':
    case 'forward-policy-drop':
    case 'kube-proxy-rules-missing':
    case 'dns-server-down':
    case 'dns-no-endpoints':
    case 'app-not-listening':
    case 'neighbor-stale':
    case 'dns-record-missing':
    case 'dns-lossy':
    case 'node-local-dns-down':
      return undefined;
    default: {
      const never: never = type;
      throw new Error(`unhandled fault type ${String(never)}`);
    }
  }
}

/**
 * A node's default Calico IPAM block: a /26 of 192.168.0.0/16 chosen from the node name (calico-ipam claims a free
 * block at random; deriving it from the name keeps every lab's addresses the same), skipping blocks already taken.
 */
export function calicoDefaultBlock(nodeName: string, taken: number[]): string {
  const pool = parseCIDR(LAB_ADDRESSES.calicoPoolCIDR);
  const size = 2 ** (32 - LAB_ADDRESSES.calicoBlockPrefix);
  const count = pool.size / size;
  const start = createHash('sha1').update(nodeName).digest().readUInt32BE(0) % count;
  for (let i = 0; i < count; i++) {
    const network = pool.network + ((start + i) % count) * size;
    if (!taken.some((t) => t === network)) return formatCIDR({ network, prefix: LAB_ADDRESSES.calicoBlockPrefix });
  }
  throw new Error(`no free block in ${LAB_ADDRESSES.calicoPoolCIDR}`);
}
