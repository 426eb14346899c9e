/** Least privilege per location: the capabilities each probe needs, what each Pod Security level allows, non-root. */
import { describe, expect, it } from 'vitest';
import { buildProbeCommand } from '../../src/core/parse.ts';
import type { ProbeAction, ProbeLocation, ProbeSpec } from '../../src/core/model.ts';
import { canonical, capabilitiesFor, debugSecurityContext, enforceLevel, nodeRefusal, planPrivileges, sameSecurityContext, sourcePodRefusal, type PrivilegeInput } from '../../src/core/privilege.ts';

const source: ProbeLocation = { kind: 'source-pod' };
const host = (node: string): ProbeLocation => ({ kind: 'node-pod', node, hostNetwork: true });
const podNet = (node: string): ProbeLocation => ({ kind: 'node-pod', node, hostNetwork: false });
const probe = (id: string, where: ProbeLocation, action: ProbeAction): ProbeSpec => ({ id, rung: 'node-checks', where, action, command: buildProbeCommand(action, 2000), timeoutMs: 2000 });

const plan: ProbeSpec[] = [
  probe('dns', source, { tool: 'dns-lookup', name: 'web.shop' }),
  probe('tcp', source, { tool: 'tcp-connect', host: '10.96.0.2', port: 80 }),
  probe('pod-mac', source, { tool: 'neighbor', address: '10.244.1.4', refresh: true }),
  probe('ip-forward', host('node-1'), { tool: 'sysctl', key: 'net.ipv4.ip_forward' }),
  probe('forward', host('node-1'), { tool: 'forward-policy' }),
  probe('mtu', host('node-1'), { tool: 'path-mtu', address: '10.244.2.2' }),
  probe('same-node', podNet('node-2'), { tool: 'tcp-connect', host: '10.244.2.2', port: 8080 }),
  probe('mac-2', podNet('node-2'), { tool: 'neighbor', address: '10.244.2.2', refresh: true }),
];

const input = (over: Partial<PrivilegeInput> & { sourceLevel?: 'privileged' | 'baseline' | 'restricted'; nonRoot?: boolean } = {}): PrivilegeInput => ({
  source: { namespace: 'shop', level: over.sourceLevel ?? 'privileged', podRunAsNonRoot: over.nonRoot ?? false, node: 'node-1' },
  nodeNamespace: over.nodeNamespace ?? { name: 'default', level: 'privileged' },
  nodes: over.nodes ?? [{ name: 'node-1', labels: { 'kubernetes.io/os': 'linux' } }, { name: 'node-2', labels: {} }],
});

describe('capabilities per probe', () => {
  it.each<[ProbeAction, string[]]>([
    [{ tool: 'dns-lookup', name: 'x' }, []],
    [{ tool: 'tcp-connect', host: '10.0.0.1', port: 1 }, []],
    [{ tool: 'sysctl', key: 'net.ipv4.ip_forward' }, []],
    [{ tool: 'links' }, []],
    [{ tool: 'neighbor', address: '10.0.0.1' }, []],
    [{ tool: 'neighbor', address: '10.0.0.1', refresh: true }, ['NET_RAW']],
    [{ tool: 'packet-loss', address: '10.0.0.1' }, ['NET_RAW']],
    [{ tool: 'path-mtu', address: '10.0.0.1' }, ['NET_RAW']],
    [{ tool: 'forward-policy' }, ['NET_ADMIN', 'NET_RAW']],
    [{ tool: 'nat-rules', clusterIP: '10.96.0.1', port: 80, protocol: 'TCP' }, ['NET_ADMIN', 'NET_RAW']],
  ])('%j needs %j', (action, caps) => {
    expect(capabilitiesFor(action).caps).toEqual(caps);
  });
});

describe('the securityContext of each location', () => {
  it('privileged namespaces: only the capabilities the location’s probes need, everything else dropped', () => {
    const p = planPrivileges(plan, input());
    expect(p.skipped.size).toBe(0);
    expect(p.locations.get('source-pod')).toEqual({
      kind: 'allowed',
      namespace: 'shop',
      level: 'privileged',
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_RAW'] }, seccompProfile: { type: 'RuntimeDefault' } },
    });
    const onHost = p.locations.get('node-pod:node-1:host');
    expect(onHost).toMatchObject({ kind: 'allowed', securityContext: { capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] } } });
  });

  it('a source with only DNS and TCP probes gets no capability at all', () => {
    const p = planPrivileges(plan.filter((x) => x.id === 'dns' || x.id === 'tcp'), input());
    expect(p.locations.get('source-pod')).toMatchObject({ securityContext: { capabilities: { drop: ['ALL'] } } });
    expect((p.locations.get('source-pod') as { securityContext: { capabilities: { add?: string[] } } }).securityContext.capabilities.add).toBeUndefined();
  });

  it('baseline: no NET_RAW, the ping skipped naming the capability, the tool, the level and the namespace; DNS and TCP still run', () => {
    const p = planPrivileges(plan, input({ sourceLevel: 'baseline' }));
    expect(p.skipped.get('pod-mac')).toBe('needs NET_RAW for ping (to refresh the neighbor entry), which Pod Security "baseline" (enforced in namespace shop) forbids');
    expect(p.skipped.has('dns')).toBe(false);
    expect(p.skipped.has('tcp')).toBe(false);
    expect(p.locations.get('source-pod')).toEqual({
      kind: 'allowed',
      namespace: 'shop',
      level: 'baseline',
      securityContext: debugSecurityContext([], false),
    });
  });

  it('restricted: non-root, no escalation, drop ALL, RuntimeDefault; what needs a capability is skipped', () => {
    const p = planPrivileges(plan, input({ sourceLevel: 'restricted' }));
    expect(p.locations.get('source-pod')).toMatchObject({
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    });
    expect(p.skipped.get('pod-mac')).toMatch(/needs NET_RAW for ping .*non-root container .*Pod Security "restricted" \(enforced in namespace shop\) requires runAsNonRoot/);
  });

  it('a source pod with runAsNonRoot: true gets a non-root container even in a privileged namespace', () => {
    const p = planPrivileges(plan, input({ nonRoot: true }));
    expect(p.locations.get('source-pod')).toMatchObject({ securityContext: { runAsNonRoot: true, runAsUser: 65532 } });
    expect(p.skipped.get('pod-mac')).toMatch(/the source pod sets runAsNonRoot: true/);
  });

  it('a node namespace enforcing baseline refuses hostNetwork node pods, naming the level, and keeps pod-network ones without NET_RAW', () => {
    const p = planPrivileges(plan, input({ nodeNamespace: { name: 'tools', level: 'baseline' } }));
    expect(p.locations.get('node-pod:node-1:host')).toEqual({
      kind: 'refused',
      reason: 'node debug pods use hostNetwork, which Pod Security "baseline" (enforced in namespace tools) forbids: use --node-namespace with a namespace that allows privileged pods',
    });
    expect(p.locations.get('node-pod:node-2:pod')).toMatchObject({ kind: 'allowed', level: 'baseline' });
    expect(p.skipped.get('mac-2')).toMatch(/Pod Security "baseline" \(enforced in namespace tools\) forbids/);
  });

  it.each([
    [{ 'kubernetes.io/os': 'windows' }, 'node-1', /runs Windows/],
    [{ 'eks.amazonaws.com/compute-type': 'fargate' }, 'node-1', /EKS Fargate/],
    [{ 'cloud.google.com/gke-nodepool': 'pool-1' }, 'gk3-autopilot-pool-1-abc', /GKE Autopilot/],
  ])('a node labelled %j is refused (%s)', (labels, name, why) => {
    expect(nodeRefusal({ name, labels })).toMatch(why);
    const p = planPrivileges([probe('x', host(name), { tool: 'links' })], input({ nodes: [{ name, labels }] }));
    expect(p.locations.get(`node-pod:${name}:host`)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(why) });
  });

  it("a source pod on a Windows node gets no ephemeral container: its probes cannot run there, and the Linux nodes' still do", () => {
    const windows = { name: 'node-1', labels: { 'kubernetes.io/os': 'windows' } };
    const p = planPrivileges(plan, { ...input({ nodes: [windows, { name: 'node-2', labels: {} }] }), source: { namespace: 'shop', name: 'iis-1', level: 'privileged', podRunAsNonRoot: false, node: 'node-1' } });
    expect(p.locations.get('source-pod')).toEqual({
      kind: 'refused',
      reason:
        "pod shop/iis-1 runs on node node-1, a Windows node (kubernetes.io/os=windows): netdebug's debug container is a Linux image (netbox) that cannot run in a Windows pod, and the pod has no Linux network namespace to probe from",
    });
    expect(p.locations.get('node-pod:node-2:pod')).toMatchObject({ kind: 'allowed' });
    // Fargate and Autopilot pods take ephemeral containers: only their nodes refuse node pods.
    expect(sourcePodRefusal('shop/x', { name: 'fargate-ip-1', labels: { 'eks.amazonaws.com/compute-type': 'fargate' } })).toBeUndefined();
    expect(planPrivileges(plan, input()).locations.get('source-pod')).toMatchObject({ kind: 'allowed' });
  });

  it('an ordinary GKE Standard node or a Linux node is not refused', () => {
    expect(nodeRefusal({ name: 'gke-std-pool-1-abc', labels: { 'cloud.google.com/gke-nodepool': 'pool-1' } })).toBeUndefined();
    expect(nodeRefusal({ name: 'node-1', labels: { 'kubernetes.io/os': 'linux' } })).toBeUndefined();
  });

  it('enforce labels: only baseline and restricted restrict', () => {
    expect(enforceLevel(undefined)).toBe('privileged');
    expect(enforceLevel({ 'pod-security.kubernetes.io/enforce': 'baseline' })).toBe('baseline');
    expect(enforceLevel({ 'pod-security.kubernetes.io/warn': 'restricted' })).toBe('privileged');
    expect(enforceLevel({ 'pod-security.kubernetes.io/enforce': 'restricted' })).toBe('restricted');
  });

  it('securityContexts compare by content, not key order', () => {
    const ours = debugSecurityContext(['NET_RAW'], true);
    const fromApi = { seccompProfile: { type: 'RuntimeDefault' }, runAsUser: 65532, runAsNonRoot: true, capabilities: { add: ['NET_RAW'], drop: ['ALL'] }, allowPrivilegeEscalation: false };
    expect(sameSecurityContext(fromApi, ours)).toBe(true);
    expect(sameSecurityContext({ ...fromApi, privileged: true }, ours)).toBe(false);
    expect(sameSecurityContext({ ...fromApi, capabilities: { add: ['NET_RAW', 'NET_ADMIN'], drop: ['ALL'] } }, ours)).toBe(false);
  });

  it('the canonical form sorts keys in code-unit order, not by the locale (no ICU collator on the way to the creates)', () => {
    // localeCompare would give {"a":3,"b":1,"B":2} (lower case before upper case within a letter).
    expect(canonical({ b: 1, B: 2, a: 3, nested: { y: 1, Y: 2 } })).toBe('{"B":2,"a":3,"b":1,"nested":{"Y":2,"y":1}}');
  });
});
