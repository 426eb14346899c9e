/** The preflight around the Prober: nothing is prepared before it answers; refused locations, missing rights and skipped probes. */
import { describe, expect, it } from 'vitest';
import type { ProbeLocation, ProbeSpec } from '../../src/core/model.ts';
import { buildProbeCommand } from '../../src/core/parse.ts';
import { debugSecurityContext, type PrivilegePlan } from '../../src/core/privilege.ts';
import type { NeededRight } from '../../src/core/rbac.ts';
import { guardProber, settingsOf, tolerationsFor, type Preflight, type PreflightEvent } from '../../src/kube/lockdown.ts';
import type { Prober } from '../../src/ports.ts';

const source: ProbeLocation = { kind: 'source-pod' };
const host: ProbeLocation = { kind: 'node-pod', node: 'node-1', hostNetwork: true };
const win: ProbeLocation = { kind: 'node-pod', node: 'win-1', hostNetwork: true };
const spec = (id: string, where: ProbeLocation): ProbeSpec => ({
  id,
  rung: 'node-checks',
  where,
  action: { tool: 'links' },
  command: buildProbeCommand({ tool: 'links' }, 1000),
  timeoutMs: 1000,
});

function recordingProber(): Prober & { prepared: string[]; ran: string[]; planned: Map<string, string[]> } {
  const prepared: string[] = [];
  const ran: string[] = [];
  const planned = new Map<string, string[]>();
  return {
    prepared,
    ran,
    planned,
    async prepare(locations, p) {
      for (const [key, specs] of p ?? []) planned.set(key, specs.map((s) => s.id));
      prepared.push(...locations.map((l) => (l.kind === 'source-pod' ? 'source-pod' : `node-pod:${l.node}:${l.hostNetwork ? 'host' : 'pod'}`)));
      return new Map(prepared.map((k) => [k, { ready: true as const }]));
    },
    async run(s) {
      ran.push(s.id);
      return { spec: s, observation: { kind: 'links', links: [] }, durationMs: 1 };
    },
    cleanup: async () => ({ deleted: [], left: [] }),
    execs: () => ran.length,
  };
}

function preflight(over: { missing?: NeededRight[]; privileges?: PrivilegePlan } = {}): Preflight {
  return {
    privileges: over.privileges ?? {
      locations: new Map([
        ['source-pod', { kind: 'allowed', securityContext: debugSecurityContext([], true), level: 'restricted', namespace: 'shop' }],
        ['node-pod:node-1:host', { kind: 'allowed', securityContext: debugSecurityContext(['NET_ADMIN', 'NET_RAW'], false), level: 'privileged', namespace: 'default' }],
        ['node-pod:win-1:host', { kind: 'refused', reason: 'node win-1 runs Windows' }],
      ]),
      skipped: new Map([['ping', 'needs NET_RAW for ping, which a non-root container does not have']]),
    },
    missing: over.missing ?? [],
    notes: [],
    nodeNamespace: { name: 'default', level: 'privileged' },
    tolerations: new Map([['node-1', tolerationsFor([{ key: 'dedicated', value: 'net', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }])]]),
  };
}

describe('guardProber', () => {
  it('refused locations are not prepared; the others are, with their settings; skipped probes never reach an exec', async () => {
    const inner = recordingProber();
    const events: PreflightEvent[] = [];
    const guarded = guardProber(inner, async () => preflight(), (e) => events.push(e));
    const status = await guarded.prepare([source, host, win]);
    expect(inner.prepared).toEqual(['source-pod', 'node-pod:node-1:host']);
    expect(status.get('node-pod:win-1:host')).toEqual({ ready: false, reason: 'node win-1 runs Windows' });
    const skipped = await guarded.run(spec('ping', source));
    expect(skipped.observation).toEqual({ kind: 'could-not-run', reason: 'skipped: needs NET_RAW for ping, which a non-root container does not have' });
    await guarded.run(spec('links', host));
    expect(inner.ran).toEqual(['links']);
    expect(events).toEqual([
      { type: 'location-refused', key: 'node-pod:win-1:host', reason: 'node win-1 runs Windows' },
      { type: 'probes-skipped', probes: [{ id: 'ping', reason: 'needs NET_RAW for ping, which a non-root container does not have' }] },
    ]);
  });

  it('a location is prepared with its planned probes less those the privileges skip (a node pod never starts one)', async () => {
    const inner = recordingProber();
    const guarded = guardProber(inner, async () => preflight());
    await guarded.prepare([source, host], new Map([['source-pod', [spec('ping', source), spec('links', source)]], ['node-pod:node-1:host', [spec('links-1', host)]]]));
    expect(inner.planned).toEqual(new Map([['source-pod', ['links']], ['node-pod:node-1:host', ['links-1']]]));
  });

  it('a missing right to create pods stops only the node pods, named; a missing exec right is named but stops nothing', async () => {
    const inner = recordingProber();
    const events: PreflightEvent[] = [];
    const missing: NeededRight[] = [
      { verb: 'create', group: '', resource: 'pods', namespace: 'default', use: 'node-pods', why: 'create node debug pods' },
      { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: 'shop', use: 'exec', why: 'run probes in the source pod' },
    ];
    const guarded = guardProber(inner, async () => preflight({ missing }), (e) => events.push(e));
    const status = await guarded.prepare([source, host]);
    expect(inner.prepared).toEqual(['source-pod']);
    expect(status.get('node-pod:node-1:host')).toEqual({ ready: false, reason: 'RBAC: this user may not create pods in namespace default (run `kubectl netdebug rbac` for what to grant)' });
    expect(events[0]).toEqual({
      type: 'rights-missing',
      rights: ['create pods in namespace default (to create node debug pods)', 'create pods/exec in namespace shop (to run probes in the source pod)'],
    });
  });

  it('the preflight runs once, before the first location is prepared', async () => {
    let calls = 0;
    const inner = recordingProber();
    const guarded = guardProber(inner, async () => {
      calls++;
      expect(inner.prepared).toEqual([]);
      return preflight();
    });
    await Promise.all([guarded.prepare([source]), guarded.prepare([host]), guarded.run(spec('links', host))]);
    expect(calls).toBe(1);
  });

  it('settings: the securityContext decided, and tolerations of exactly the node taints', () => {
    const pf = preflight();
    expect(settingsOf(pf, host)).toEqual({
      securityContext: debugSecurityContext(['NET_ADMIN', 'NET_RAW'], false),
      tolerations: [
        { key: 'dedicated', operator: 'Equal', value: 'net', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
      ],
    });
    expect(settingsOf(pf, win)).toBeUndefined();
  });
});
