import { readdirSync } from 'node:fs';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FAULT_TYPES } from './model.ts';
import { loadScenario, parseScenario, ScenarioError, type ScenarioProblem } from './scenario.ts';

const ISSUE_EXAMPLE = `
apiVersion: lab.netdebug.dev/v1
kind: Scenario
metadata: {name: overlay-blocked, description: "VXLAN dropped on node-2"}
spec:
  nodes: [{name: node-1}, {name: node-2}]           # pod CIDR 10.244.<index>.0/24 unless podCIDR is given
  namespaces: [{name: shop, labels: {team: shop}}]  # default and kube-system always exist
  pods:
    - {name: client, namespace: default, node: node-1, labels: {app: client}}
    - name: web-1
      namespace: shop
      node: node-2
      labels: {app: web}
      ports: [{name: http, containerPort: 8080}]    # the pod really listens (TCP, small HTTP responder) on these
      ready: true                                     # API readiness, default true
  services:
    - name: web
      namespace: shop
      selector: {app: web}
      ports: [{name: http, port: 80, targetPort: http}]   # targetPort: number or container-port name
      # clusterIP: None makes it headless; otherwise the lab assigns one from 10.96.0.0/16
  networkPolicies:                                    # networking.k8s.io/v1 objects, enforced by the lab
    - metadata: {name: deny-all, namespace: shop}
      spec: {podSelector: {}, policyTypes: [Ingress]}
  faults:
    - {type: ip-forward-off, node: node-2}
  synthetic: {nodes: 500, pods: 10000, services: 2000}   # optional: API-only objects, no data plane (scale tests)
`;

/** A small valid scenario as a plain object, for building invalid variants. */
function base(): Record<string, any> {
  return {
    apiVersion: 'lab.netdebug.dev/v1',
    kind: 'Scenario',
    metadata: { name: 'base' },
    spec: {
      nodes: [{ name: 'node-1' }, { name: 'node-2' }],
      namespaces: [{ name: 'shop' }],
      pods: [
        { name: 'client', namespace: 'default', node: 'node-1' },
        { name: 'web-1', namespace: 'shop', node: 'node-2', labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }] },
      ],
      services: [{ name: 'web', namespace: 'shop', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }],
    },
  };
}

function variant(change: (s: Record<string, any>) => void): string {
  const s = base();
  change(s);
  return stringify(s);
}

function problemsOf(text: string): ScenarioProblem[] {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as ScenarioError).problems;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('parseScenario: valid files', () => {
  it('accepts the example of issue 2 section 1 and applies defaults', () => {
    const s = parseScenario(ISSUE_EXAMPLE, 'example.yaml');
    expect(s.name).toBe('overlay-blocked');
    expect(s.description).toBe('VXLAN dropped on node-2');
    expect(s.source).toBe('example.yaml');
    expect(s.nodes).toEqual([
      { name: 'node-1', index: 1, podCIDR: '10.244.1.0/24', ready: true, labels: {} },
      { name: 'node-2', index: 2, podCIDR: '10.244.2.0/24', ready: true, labels: {} },
    ]);
    expect(s.namespaces).toEqual([
      { name: 'default', labels: {} },
      { name: 'kube-system', labels: {} },
      { name: 'shop', labels: { team: 'shop' } },
    ]);
    expect(s.pods).toEqual([
      { name: 'client', namespace: 'default', node: 'node-1', labels: { app: 'client' }, ports: [], ready: true, hostNetwork: false },
      { name: 'web-1', namespace: 'shop', node: 'node-2', labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }], ready: true, hostNetwork: false },
    ]);
    expect(s.services).toEqual([
      { name: 'web', namespace: 'shop', type: 'ClusterIP', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    ]);
    expect(s.networkPolicies).toEqual([{ metadata: { name: 'deny-all', namespace: 'shop' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }]);
    expect(s.faults).toEqual([{ type: 'ip-forward-off', node: 'node-2' }]);
    expect(s.rbac).toEqual({ deny: [] });
    expect(s.synthetic).toEqual({ nodes: 500, pods: 10000, services: 2000 });
  });

  it('applies the remaining defaults and keeps explicit values', () => {
    const s = parseScenario(variant((x) => {
      x.spec.nodes[1] = { name: 'node-2', podCIDR: '10.244.64.0/20', ready: false, labels: { 'topology.kubernetes.io/zone': 'b' } };
      x.spec.namespaces.push({ name: 'kube-system', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } });
      x.spec.pods[0] = { name: 'client', node: 'node-1', hostNetwork: true, ready: false, owner: { kind: 'DaemonSet', name: 'agent' }, labels: { app: 'agent' } };
      x.spec.services.push({ name: 'num', namespace: 'shop', selector: { app: 'web' }, ports: [{ port: 53, protocol: 'UDP' }] });
      x.spec.services.push({ name: 'hl', namespace: 'shop', clusterIP: 'None', selector: { app: 'web' } });
      x.spec.services.push({ name: 'fixed', namespace: 'shop', clusterIP: '10.96.5.5', ports: [{ port: 80 }] });
      x.spec.services.push({ name: 'ext', namespace: 'shop', type: 'ExternalName', externalName: 'example.com' });
      x.spec.rbac = { deny: [{ verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'shop' }, { verb: 'list', resource: 'nodes' }] };
      x.spec.faults = [{ type: 'kube-proxy-rules-missing', node: 'node-1' }, { type: 'app-not-listening', pod: 'shop/web-1' }];
    }), 'defaults.yaml');
    expect(s.description).toBe('');
    expect(s.nodes[1]).toEqual({ name: 'node-2', index: 2, podCIDR: '10.244.64.0/20', ready: false, labels: { 'topology.kubernetes.io/zone': 'b' } });
    expect(s.namespaces.map((n) => n.name)).toEqual(['default', 'kube-system', 'shop']);
    expect(s.namespaces[1]?.labels).toEqual({ 'pod-security.kubernetes.io/enforce': 'baseline' });
    expect(s.pods[0]).toEqual({ name: 'client', namespace: 'default', node: 'node-1', labels: { app: 'agent' }, ports: [], ready: false, hostNetwork: true, owner: { kind: 'DaemonSet', name: 'agent' } });
    expect(s.services.slice(1)).toEqual([
      { name: 'num', namespace: 'shop', type: 'ClusterIP', selector: { app: 'web' }, ports: [{ port: 53, targetPort: 53, protocol: 'UDP' }] },
      { name: 'hl', namespace: 'shop', type: 'ClusterIP', selector: { app: 'web' }, ports: [], clusterIP: 'None' },
      { name: 'fixed', namespace: 'shop', type: 'ClusterIP', ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }], clusterIP: '10.96.5.5' },
      { name: 'ext', namespace: 'shop', type: 'ExternalName', ports: [], externalName: 'example.com' },
    ]);
    expect(s.rbac.deny).toEqual([{ verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'shop' }, { verb: 'list', resource: 'nodes' }]);
    expect(s.faults).toEqual([{ type: 'kube-proxy-rules-missing', node: 'node-1' }, { type: 'app-not-listening', pod: 'shop/web-1' }]);
    expect(s.synthetic).toBeUndefined();
  });

  it('accepts a wrong targetPort: it is a legitimate misconfiguration to diagnose', () => {
    const s = parseScenario(variant((x) => { x.spec.services[0].ports[0].targetPort = 'htttp'; }), 'ok.yaml');
    expect(s.services[0]?.ports[0]?.targetPort).toBe('htttp');
  });

  it.each(FAULT_TYPES.map((type) => ({ type })))('accepts every fault type with its parameters: $type', ({ type }) => {
    const params: Record<string, Record<string, unknown>> = {
      'pod-route-missing': { node: 'node-1', toNode: 'node-2' },
      'kube-proxy-rules-missing': { node: 'node-1', service: 'shop/web' },
      'dns-server-down': {},
      'dns-no-endpoints': {},
      'app-not-listening': { pod: 'shop/web-1', port: 8080 },
      'neighbor-stale': { node: 'node-2', pod: 'shop/web-1' },
      'dns-record-missing': { service: 'shop/web' },
      'hairpin-off': { pod: 'shop/web-1' },
      'overlay-lossy': { node: 'node-2', percent: 30 },
      'dns-lossy': { node: 'node-1', percent: 20 },
    };
    const fault = { type, ...(params[type] ?? { node: 'node-2' }) };
    // node-local-dns-down needs the cache it stops (spec.cluster.dns.nodeLocalCache)
    const s = parseScenario(variant((x) => { x.spec.faults = [fault]; if (type === 'node-local-dns-down') x.spec.cluster = { dns: { nodeLocalCache: true } }; }), 'f.yaml');
    expect(s.faults).toEqual([fault]);
  });

  const dir = new URL('./scenarios/', import.meta.url).pathname;
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  it('has a scenario file per fault type and the healthy and service ones', () => {
    for (const name of [...FAULT_TYPES, 'healthy-2-nodes', 'healthy-3-nodes', 'service-no-endpoints', 'service-target-port-mismatch', 'service-not-ready', 'network-policy-deny']) {
      expect(files).toContain(`${name}.yaml`);
    }
  });
  it.each(files.map((file) => ({ file })))('parses scenarios/$file, named after its file', async ({ file }) => {
    const s = await loadScenario(join(dir, file));
    expect(`${s.name}.yaml`).toBe(file);
    const faultType = FAULT_TYPES.find((t) => `${t}.yaml` === file);
    if (faultType) expect(s.faults.map((f) => f.type)).toEqual([faultType]);
  });
});

describe('parseScenario: invalid files', () => {
  const cases: { name: string; text: string; problems: ScenarioProblem[] }[] = [
    { name: 'not YAML', text: 'spec: [a\n', problems: [{ path: '', message: expect.stringMatching(/^not valid YAML: /) as unknown as string }] },
    { name: 'not a mapping', text: '- a\n', problems: [{ path: '', message: 'must be a mapping, got a list' }] },
    { name: 'wrong apiVersion', text: variant((x) => { x.apiVersion = 'v1'; }), problems: [{ path: 'apiVersion', message: 'must be "lab.netdebug.dev/v1", got "v1"' }] },
    { name: 'wrong kind', text: variant((x) => { x.kind = 'Cluster'; }), problems: [{ path: 'kind', message: 'must be "Scenario", got "Cluster"' }] },
    { name: 'missing metadata and spec', text: 'apiVersion: lab.netdebug.dev/v1\nkind: Scenario\n', problems: [{ path: 'metadata', message: 'is required' }, { path: 'spec', message: 'is required' }] },
    {
      name: 'name not a DNS label',
      text: variant((x) => { x.metadata.name = 'My_Scenario'; }),
      problems: [{ path: 'metadata.name', message: '"My_Scenario" is not a DNS-1123 label (lowercase letters, digits and \'-\', starting and ending with a letter or digit, at most 63 characters)' }],
    },
    { name: 'unknown top-level key with suggestion', text: variant((x) => { x.spec.service = []; }), problems: [{ path: 'spec.service', message: 'unknown field, did you mean "services"?' }] },
    { name: 'unknown pod key', text: variant((x) => { x.spec.pods[1].nodes = 'node-2'; }), problems: [{ path: 'spec.pods[1].nodes', message: 'unknown field, did you mean "node"?' }] },
    {
      name: 'unknown key without close match',
      text: variant((x) => { x.spec.nodes[0].zone = 'a'; }),
      problems: [{ path: 'spec.nodes[0].zone', message: 'unknown field, allowed: name, podCIDR, ready, labels, os' }],
    },
    { name: 'no nodes', text: variant((x) => { x.spec.nodes = []; x.spec.pods = []; }), problems: [{ path: 'spec.nodes', message: 'must list at least one node' }] },
    { name: 'duplicate node', text: variant((x) => { x.spec.nodes[1].name = 'node-1'; x.spec.pods = []; }), problems: [{ path: 'spec.nodes[1].name', message: 'duplicate node "node-1" (also spec.nodes[0])' }] },
    {
      name: 'pod on unknown node',
      text: variant((x) => { x.spec.pods[1].node = 'node-9'; }),
      problems: [{ path: 'spec.pods[1].node', message: '"node-9" is not a node of this scenario (nodes: node-1, node-2)' }],
    },
    { name: 'pod without node', text: variant((x) => { delete x.spec.pods[0].node; }), problems: [{ path: 'spec.pods[0].node', message: 'is required' }] },
    {
      name: 'pod in unknown namespace',
      text: variant((x) => { x.spec.pods[1].namespace = 'shp'; }),
      problems: [{ path: 'spec.pods[1].namespace', message: '"shp" is not a namespace of this scenario (namespaces: default, kube-system, shop)' }],
    },
    { name: 'duplicate pod', text: variant((x) => { x.spec.pods[1].name = 'client'; x.spec.pods[1].namespace = 'default'; }), problems: [{ path: 'spec.pods[1].name', message: 'duplicate pod "default/client" (also spec.pods[0])' }] },
    { name: 'duplicate namespace', text: variant((x) => { x.spec.namespaces.push({ name: 'shop' }); }), problems: [{ path: 'spec.namespaces[1].name', message: 'duplicate namespace "shop" (also spec.namespaces[0])' }] },
    { name: 'port out of range', text: variant((x) => { x.spec.pods[1].ports[0].containerPort = 70000; }), problems: [{ path: 'spec.pods[1].ports[0].containerPort', message: 'must be a port number from 1 to 65535, got 70000' }] },
    { name: 'service port zero', text: variant((x) => { x.spec.services[0].ports[0].port = 0; }), problems: [{ path: 'spec.services[0].ports[0].port', message: 'must be a port number from 1 to 65535, got 0' }] },
    { name: 'bad protocol', text: variant((x) => { x.spec.pods[1].ports[0].protocol = 'tcp'; }), problems: [{ path: 'spec.pods[1].ports[0].protocol', message: 'must be TCP or UDP, got "tcp"' }] },
    { name: 'ready not boolean', text: variant((x) => { x.spec.pods[1].ready = 'yes'; }), problems: [{ path: 'spec.pods[1].ready', message: 'must be true or false, got "yes"' }] },
    { name: 'hostNetwork not boolean', text: variant((x) => { x.spec.pods[1].hostNetwork = 1; }), problems: [{ path: 'spec.pods[1].hostNetwork', message: 'must be true or false, got 1' }] },
    { name: 'label value not a string', text: variant((x) => { x.spec.pods[1].labels.version = 2; }), problems: [{ path: 'spec.pods[1].labels.version', message: 'must be a string, got 2 (quote it)' }] },
    { name: 'owner kind', text: variant((x) => { x.spec.pods[1].owner = { kind: 'ReplicaSet', name: 'web' }; }), problems: [{ path: 'spec.pods[1].owner.kind', message: 'must be Deployment, StatefulSet or DaemonSet, got "ReplicaSet"' }] },
    {
      name: 'podCIDR outside the cluster network',
      text: variant((x) => { x.spec.nodes[0].podCIDR = '192.168.1.0/24'; }),
      problems: [{ path: 'spec.nodes[0].podCIDR', message: 'must be an IPv4 network inside 10.244.0.0/16 with a prefix from /17 to /28 (e.g. 10.244.1.0/24), got "192.168.1.0/24"' }],
    },
    { name: 'overlapping podCIDRs', text: variant((x) => { x.spec.nodes[1].podCIDR = '10.244.1.0/25'; }), problems: [{ path: 'spec.nodes[1].podCIDR', message: '10.244.1.0/25 overlaps the pod CIDR of node node-1 (spec.nodes[0])' }] },
    {
      name: 'explicit clusterIP outside the service CIDR',
      text: variant((x) => { x.spec.services[0].clusterIP = '10.97.0.5'; }),
      problems: [{ path: 'spec.services[0].clusterIP', message: 'must be None (headless) or an address inside 10.96.0.0/16, got "10.97.0.5"' }],
    },
    { name: 'clusterIP of kube-dns', text: variant((x) => { x.spec.services[0].clusterIP = '10.96.0.10'; }), problems: [{ path: 'spec.services[0].clusterIP', message: '10.96.0.10 is reserved for the cluster DNS Service kube-system/kube-dns' }] },
    { name: 'ExternalName without externalName', text: variant((x) => { x.spec.services[0] = { name: 'ext', namespace: 'shop', type: 'ExternalName' }; }), problems: [{ path: 'spec.services[0].externalName', message: 'is required for type ExternalName' }] },
    { name: 'service type', text: variant((x) => { x.spec.services[0].type = 'NodePort'; }), problems: [{ path: 'spec.services[0].type', message: 'must be ClusterIP or ExternalName, got "NodePort"' }] },
    { name: 'ClusterIP service without ports', text: variant((x) => { delete x.spec.services[0].ports; }), problems: [{ path: 'spec.services[0].ports', message: 'must list at least one port (only headless and ExternalName Services may have none)' }] },
    {
      name: 'unnamed ports on a multi-port service',
      text: variant((x) => { x.spec.services[0].ports = [{ port: 80 }, { name: 'b', port: 81 }]; }),
      problems: [{ path: 'spec.services[0].ports[0].name', message: 'is required when a Service has more than one port' }],
    },
    { name: 'duplicate service', text: variant((x) => { x.spec.services.push({ ...x.spec.services[0] }); }), problems: [{ path: 'spec.services[1].name', message: 'duplicate service "shop/web" (also spec.services[0])' }] },
    { name: 'reserved kube-dns service', text: variant((x) => { x.spec.services[0].namespace = 'kube-system'; x.spec.services[0].name = 'kube-dns'; }), problems: [{ path: 'spec.services[0].name', message: '"kube-system/kube-dns" is reserved for the lab\'s cluster DNS Service' }] },
    {
      name: 'unknown fault type with suggestion',
      text: variant((x) => { x.spec.faults = [{ type: 'ip-forwarding-off', node: 'node-2' }]; }),
      problems: [{ path: 'spec.faults[0].type', message: `"ip-forwarding-off" is not a fault type (did you mean "ip-forward-off"? known: ${FAULT_TYPES.join(', ')})` }],
    },
    { name: 'fault missing its parameter', text: variant((x) => { x.spec.faults = [{ type: 'overlay-blocked' }]; }), problems: [{ path: 'spec.faults[0].node', message: 'is required for fault overlay-blocked (its parameters: node)' }] },
    {
      name: 'fault with a foreign parameter',
      text: variant((x) => { x.spec.faults = [{ type: 'dns-server-down', node: 'node-1' }]; }),
      problems: [{ path: 'spec.faults[0].node', message: 'unknown field for fault dns-server-down (its parameters: none)' }],
    },
    {
      name: 'fault on unknown node',
      text: variant((x) => { x.spec.faults = [{ type: 'mtu-mismatch', node: 'node-3' }]; }),
      problems: [{ path: 'spec.faults[0].node', message: '"node-3" is not a node of this scenario (nodes: node-1, node-2)' }],
    },
    {
      name: 'pod-route-missing to unknown node',
      text: variant((x) => { x.spec.faults = [{ type: 'pod-route-missing', node: 'node-1', toNode: 'node-5' }]; }),
      problems: [{ path: 'spec.faults[0].toNode', message: '"node-5" is not a node of this scenario (nodes: node-1, node-2)' }],
    },
    {
      name: 'pod-route-missing to itself',
      text: variant((x) => { x.spec.faults = [{ type: 'pod-route-missing', node: 'node-1', toNode: 'node-1' }]; }),
      problems: [{ path: 'spec.faults[0].toNode', message: 'must be another node than node (node-1): a node reaches its own pods over its bridge' }],
    },
    { name: 'fault pod not ns/name', text: variant((x) => { x.spec.faults = [{ type: 'app-not-listening', pod: 'web-1' }]; }), problems: [{ path: 'spec.faults[0].pod', message: 'must be "namespace/name", got "web-1"' }] },
    {
      name: 'fault pod unknown',
      text: variant((x) => { x.spec.faults = [{ type: 'app-not-listening', pod: 'shop/web-9' }]; }),
      problems: [{ path: 'spec.faults[0].pod', message: '"shop/web-9" is not a pod of this scenario (pods: default/client, shop/web-1)' }],
    },
    {
      name: 'app-not-listening on a port the pod lacks',
      text: variant((x) => { x.spec.faults = [{ type: 'app-not-listening', pod: 'shop/web-1', port: 9090 }]; }),
      problems: [{ path: 'spec.faults[0].port', message: '9090 is not a port of shop/web-1 (its ports: 8080)' }],
    },
    {
      name: 'fault service unknown',
      text: variant((x) => { x.spec.faults = [{ type: 'kube-proxy-rules-missing', node: 'node-1', service: 'shop/api' }]; }),
      problems: [{ path: 'spec.faults[0].service', message: '"shop/api" is not a service of this scenario (services: shop/web)' }],
    },
    {
      name: 'overlay-lossy with a share out of range',
      text: variant((x) => { x.spec.faults = [{ type: 'overlay-lossy', node: 'node-2', percent: 100 }]; }),
      problems: [{ path: 'spec.faults[0].percent', message: 'must be a whole number of percent from 1 to 99, got 100' }],
    },
    {
      name: 'dns-lossy with a share out of range',
      text: variant((x) => { x.spec.faults = [{ type: 'dns-lossy', node: 'node-1', percent: 0 }]; }),
      problems: [{ path: 'spec.faults[0].percent', message: 'must be a whole number of percent from 1 to 99, got 0' }],
    },
    {
      name: 'dns-lossy on an unknown node',
      text: variant((x) => { x.spec.faults = [{ type: 'dns-lossy', node: 'node-9' }]; }),
      problems: [{ path: 'spec.faults[0].node', message: '"node-9" is not a node of this scenario (nodes: node-1, node-2)' }],
    },
    {
      name: 'hairpin-off on a hostNetwork pod',
      text: variant((x) => { x.spec.pods[1].hostNetwork = true; x.spec.faults = [{ type: 'hairpin-off', pod: 'shop/web-1' }]; }),
      problems: [{ path: 'spec.faults[0].pod', message: 'shop/web-1 uses hostNetwork, so it has no bridge port to turn hairpin mode off on' }],
    },
    {
      name: 'neighbor-stale on another node than the pod',
      text: variant((x) => { x.spec.faults = [{ type: 'neighbor-stale', node: 'node-1', pod: 'shop/web-1' }]; }),
      problems: [{ path: 'spec.faults[0].node', message: "must be the node shop/web-1 runs on (node-2): the stale entry sits on that node's bridge" }],
    },
    { name: 'dns-record-missing without its service', text: variant((x) => { x.spec.faults = [{ type: 'dns-record-missing' }]; }), problems: [{ path: 'spec.faults[0].service', message: 'is required for fault dns-record-missing (its parameters: service)' }] },
    { name: 'dns-record-missing service not ns/name', text: variant((x) => { x.spec.faults = [{ type: 'dns-record-missing', service: 'web' }]; }), problems: [{ path: 'spec.faults[0].service', message: 'must be "namespace/name", got "web"' }] },
    {
      name: 'dns-record-missing service unknown',
      text: variant((x) => { x.spec.faults = [{ type: 'dns-record-missing', service: 'shop/api' }]; }),
      problems: [{ path: 'spec.faults[0].service', message: '"shop/api" is not a service of this scenario (services: shop/web)' }],
    },
    {
      name: 'dns-record-missing on an ExternalName service',
      text: variant((x) => { x.spec.services.push({ name: 'ext', namespace: 'shop', type: 'ExternalName', externalName: 'example.com' }); x.spec.faults = [{ type: 'dns-record-missing', service: 'shop/ext' }]; }),
      problems: [{ path: 'spec.faults[0].service', message: "shop/ext is an ExternalName Service: the lab's DNS serves no record for it, so there is none to leave out" }],
    },
    { name: 'duplicate fault', text: variant((x) => { x.spec.faults = [{ type: 'dns-server-down' }, { type: 'dns-server-down' }]; }), problems: [{ path: 'spec.faults[1]', message: 'duplicate fault (same as spec.faults[0])' }] },
    {
      name: 'rbac verb',
      text: variant((x) => { x.spec.rbac = { deny: [{ verb: 'exec', resource: 'pods' }] }; }),
      problems: [{ path: 'spec.rbac.deny[0].verb', message: 'must be one of get, list, watch, create, update, patch, delete, deletecollection, *, got "exec"' }],
    },
    { name: 'rbac unknown key', text: variant((x) => { x.spec.rbac = { deny: [{ verb: 'get', resources: 'pods' }] }; }), problems: [{ path: 'spec.rbac.deny[0].resources', message: 'unknown field, did you mean "resource"?' }, { path: 'spec.rbac.deny[0].resource', message: 'is required' }] },
    { name: 'synthetic negative', text: variant((x) => { x.spec.synthetic = { nodes: -1 }; }), problems: [{ path: 'spec.synthetic.nodes', message: 'must be an integer from 0 to 5000, got -1' }] },
    { name: 'synthetic too many pods', text: variant((x) => { x.spec.synthetic = { nodes: 1000, pods: 100001 }; }), problems: [{ path: 'spec.synthetic.pods', message: 'must be an integer from 0 to 100000, got 100001' }] },
    {
      name: 'synthetic pods without enough nodes',
      text: variant((x) => { x.spec.synthetic = { nodes: 10, pods: 2000 }; }),
      problems: [{ path: 'spec.synthetic.pods', message: '2000 pods need at least 19 synthetic nodes (at most 110 pods per node), got nodes: 10' }],
    },
    { name: 'namespace label key', text: variant((x) => { x.spec.namespaces[0].labels = { 'bad key': 'x' }; }), problems: [{ path: 'spec.namespaces[0].labels["bad key"]', message: '"bad key" is not a valid label key (an optional DNS subdomain prefix and \'/\', then at most 63 letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit)' }] },
    {
      name: 'network policy typo in spec',
      text: variant((x) => { x.spec.networkPolicies = [{ metadata: { name: 'p', namespace: 'shop' }, spec: { podSelector: {}, ingres: [] } }]; }),
      problems: [{ path: 'spec.networkPolicies[0].spec.ingres', message: 'unknown field, did you mean "ingress"?' }],
    },
    {
      name: 'network policy in unknown namespace',
      text: variant((x) => { x.spec.networkPolicies = [{ metadata: { name: 'p', namespace: 'nope' }, spec: { podSelector: {} } }]; }),
      problems: [{ path: 'spec.networkPolicies[0].metadata.namespace', message: '"nope" is not a namespace of this scenario (namespaces: default, kube-system, shop)' }],
    },
    {
      name: 'network policy bad operator',
      text: variant((x) => { x.spec.networkPolicies = [{ metadata: { name: 'p', namespace: 'shop' }, spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] } } }]; }),
      problems: [{ path: 'spec.networkPolicies[0].spec.podSelector.matchExpressions[0].operator', message: 'must be In, NotIn, Exists or DoesNotExist, got "in"' }],
    },
    {
      name: 'network policy endPort below port',
      text: variant((x) => { x.spec.networkPolicies = [{ metadata: { name: 'p', namespace: 'shop' }, spec: { podSelector: {}, ingress: [{ ports: [{ port: 9000, endPort: 8000 }] }] } }]; }),
      problems: [{ path: 'spec.networkPolicies[0].spec.ingress[0].ports[0].endPort', message: 'must be at least port (9000), got 8000' }],
    },
    {
      name: 'two hostNetwork pods on one port',
      text: variant((x) => {
        x.spec.pods.push({ name: 'h1', node: 'node-1', hostNetwork: true, ports: [{ containerPort: 9100 }] }, { name: 'h2', node: 'node-1', hostNetwork: true, ports: [{ containerPort: 9100 }] });
      }),
      problems: [{ path: 'spec.pods[3].ports[0].containerPort', message: 'TCP 9100 is already used on node node-1 by hostNetwork pod default/h1' }],
    },
    {
      name: 'workload pods sharing no label',
      text: variant((x) => { x.spec.pods[0].owner = { kind: 'Deployment', name: 'w' }; x.spec.pods.push({ name: 'w2', node: 'node-1', labels: { app: 'other' }, owner: { kind: 'Deployment', name: 'w' } }); }),
      problems: [{ path: 'spec.pods', message: 'pods of Deployment default/w share no label, so no workload selector can match them; give them a common label' }],
    },
    { name: 'duplicate YAML key', text: 'apiVersion: a\napiVersion: b\n', problems: [{ path: '', message: expect.stringMatching(/^not valid YAML: Map keys must be unique/) as unknown as string }] },
  ];

  it.each(cases)('rejects: $name', ({ text, problems }) => {
    expect(problemsOf(text)).toEqual(problems);
  });

  it('collects several problems in one error whose message names the file and each field', () => {
    const text = variant((x) => { x.spec.pods[1].node = 'node-9'; x.spec.services[0].ports[0].port = 99999; });
    expect(() => parseScenario(text, 'scenarios/broken.yaml')).toThrow(
      'invalid scenario scenarios/broken.yaml:\n'
      + '  - spec.pods[1].node: "node-9" is not a node of this scenario (nodes: node-1, node-2)\n'
      + '  - spec.services[0].ports[0].port: must be a port number from 1 to 65535, got 99999',
    );
  });

  it('loadScenario names a missing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scenario-test-'));
    try {
      await expect(loadScenario(join(dir, 'nope.yaml'))).rejects.toThrow(/^invalid scenario .*nope\.yaml:\n {2}- cannot read the file: ENOENT/);
      await writeFile(join(dir, 'bad.yaml'), 'kind: Scenario\n');
      await expect(loadScenario(join(dir, 'bad.yaml'))).rejects.toMatchObject({ source: join(dir, 'bad.yaml'), code: 'INVALID_SCENARIO' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
