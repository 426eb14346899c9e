import { describe, expect, it } from 'vitest';
import { applyJsonPatch, applyMergePatch, applyPatch, applyStrategicMergePatch } from './api/patch.ts';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './api/selectors.ts';
import { StatusError } from './api/status.ts';
import { checkPodSecurity } from './api/admission.ts';
import { formatAge, wantsTable } from './api/tables.ts';
import { formatExitStatus, parseResize, pickExecProtocol } from './api/exec.ts';

const labels = { app: 'web', tier: 'front', 'example.com/team': 'shop' };

describe('label selectors', () => {
  it.each([
    { name: 'empty selects all', selector: '', expected: true },
    { name: 'equality =', selector: 'app=web', expected: true },
    { name: 'equality ==', selector: 'app==web', expected: true },
    { name: 'equality mismatch', selector: 'app=db', expected: false },
    { name: 'inequality on other value', selector: 'app!=db', expected: true },
    { name: 'inequality on same value', selector: 'app!=web', expected: false },
    { name: 'inequality on missing key', selector: 'missing!=x', expected: true },
    { name: 'in matches', selector: 'tier in (back, front)', expected: true },
    { name: 'in misses', selector: 'tier in (back)', expected: false },
    { name: 'in on missing key', selector: 'missing in (a)', expected: false },
    { name: 'notin matches', selector: 'tier notin (back)', expected: true },
    { name: 'notin misses', selector: 'tier notin (front,back)', expected: false },
    { name: 'notin on missing key', selector: 'missing notin (a)', expected: true },
    { name: 'exists', selector: 'app', expected: true },
    { name: 'exists with prefix', selector: 'example.com/team', expected: true },
    { name: 'not exists', selector: '!app', expected: false },
    { name: 'not exists on missing', selector: '!missing', expected: true },
    { name: 'AND of all', selector: 'app=web,tier in (front),!missing', expected: true },
    { name: 'AND with one failing', selector: 'app=web,tier=back', expected: false },
  ])('$name: "$selector" → $expected', ({ selector, expected }) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it.each([
    { name: 'bad key', selector: 'a b=c' },
    { name: 'empty requirement', selector: 'app=web,' },
    { name: 'bad value', selector: 'app=we b' },
    { name: 'bad set value', selector: 'app in (a b)' },
  ])('$name is a 400 BadRequest', ({ selector }) => {
    try {
      parseLabelSelector(selector);
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(StatusError);
      expect((err as StatusError).code).toBe(400);
      expect((err as StatusError).reason).toBe('BadRequest');
    }
  });
});

describe('field selectors', () => {
  const pod = { metadata: { name: 'web-1', namespace: 'shop' }, spec: { nodeName: 'node-2' }, status: { phase: 'Running' } };
  it.each([
    { name: 'name =', selector: 'metadata.name=web-1', expected: true },
    { name: 'name ==', selector: 'metadata.name==web-1', expected: true },
    { name: 'name !=', selector: 'metadata.name!=web-1', expected: false },
    { name: 'namespace', selector: 'metadata.namespace=shop', expected: true },
    { name: 'node', selector: 'spec.nodeName=node-2', expected: true },
    { name: 'other node', selector: 'spec.nodeName=node-1', expected: false },
    { name: 'phase and node', selector: 'status.phase=Running,spec.nodeName=node-2', expected: true },
    { name: 'phase !=', selector: 'status.phase!=Succeeded', expected: true },
    { name: 'empty nodeName matches unscheduled only', selector: 'spec.nodeName=', expected: false },
  ])('$name: "$selector" → $expected', ({ selector, expected }) => {
    expect(matchesFields(parseFieldSelector('pods', selector), pod)).toBe(expected);
  });

  it.each([
    { name: 'unsupported field on pods', resource: 'pods', selector: 'spec.hostNetwork=true', message: 'field label not supported: spec.hostNetwork' },
    { name: 'pod field on services', resource: 'services', selector: 'spec.nodeName=x', message: 'field label not supported: spec.nodeName' },
    { name: 'no operator', resource: 'pods', selector: 'metadata.name', message: "invalid selector: 'metadata.name'; can't understand 'metadata.name'" },
  ])('$name is 400: $message', ({ resource, selector, message }) => {
    expect(() => parseFieldSelector(resource, selector)).toThrow(message);
  });
});

describe('patches', () => {
  it('merge patch sets, merges and deletes with null', () => {
    expect(applyMergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 }, f: [1] })).toEqual({ a: 1, b: { d: 3, e: 4 }, f: [1] });
  });

  it.each([
    { name: 'add to end of list', ops: [{ op: 'add', path: '/l/-', value: 3 }], expected: { l: [1, 2, 3], m: { 'a/b': 1 } } },
    { name: 'add at index', ops: [{ op: 'add', path: '/l/0', value: 0 }], expected: { l: [0, 1, 2], m: { 'a/b': 1 } } },
    { name: 'remove escaped key', ops: [{ op: 'remove', path: '/m/a~1b' }], expected: { l: [1, 2], m: {} } },
    { name: 'replace', ops: [{ op: 'replace', path: '/l/1', value: 9 }], expected: { l: [1, 9], m: { 'a/b': 1 } } },
    { name: 'move', ops: [{ op: 'move', from: '/l', path: '/k' }], expected: { k: [1, 2], m: { 'a/b': 1 } } },
    { name: 'copy', ops: [{ op: 'copy', from: '/l/0', path: '/n' }], expected: { l: [1, 2], m: { 'a/b': 1 }, n: 1 } },
    { name: 'test passes', ops: [{ op: 'test', path: '/l/0', value: 1 }], expected: { l: [1, 2], m: { 'a/b': 1 } } },
  ])('json patch: $name', ({ ops, expected }) => {
    expect(applyJsonPatch({ l: [1, 2], m: { 'a/b': 1 } }, ops)).toEqual(expected);
  });

  it('json patch test failure and missing path are 422', () => {
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(/test failed/);
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'add', path: '/x/y', value: 2 }])).toThrow(/missing path/);
  });

  it('strategic merge merges ephemeralContainers by name and ignores $setElementOrder', () => {
    const pod = { spec: { containers: [{ name: 'app', image: 'a' }], ephemeralContainers: [{ name: 'one', image: 'x' }] } };
    const result = applyStrategicMergePatch(pod, {
      spec: {
        $setElementOrder: 'ignored',
        '$setElementOrder/ephemeralContainers': [{ name: 'one' }, { name: 'two' }],
        ephemeralContainers: [{ name: 'two', image: 'y', command: ['sleep', '60'] }],
      },
    });
    expect(result).toEqual({
      spec: { containers: [{ name: 'app', image: 'a' }], ephemeralContainers: [{ name: 'one', image: 'x' }, { name: 'two', image: 'y', command: ['sleep', '60'] }] },
    });
  });

  it('strategic merge updates an element with the same key and honours $patch: delete', () => {
    const pod = { spec: { containers: [{ name: 'app', image: 'a', env: [{ name: 'A', value: '1' }] }, { name: 'side', image: 's' }] } };
    const result = applyStrategicMergePatch(pod, { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '2' }] }, { name: 'side', $patch: 'delete' }] } });
    expect(result).toEqual({ spec: { containers: [{ name: 'app', image: 'a', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }] } });
  });

  it('an unknown patch content type is 415', () => {
    expect(() => applyPatch('application/yaml', {}, {})).toThrow(expect.objectContaining({ code: 415 }));
  });
});

describe('pod security checks', () => {
  it.each([
    { name: 'plain pod passes baseline', level: 'baseline' as const, spec: { containers: [{ name: 'c' }] }, expected: [] },
    {
      name: 'hostNetwork + privileged + NET_ADMIN fail baseline, in admission order',
      level: 'baseline' as const,
      spec: { hostNetwork: true, containers: [{ name: 'c', securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN', 'CHOWN'] } } }] },
      expected: [
        'non-default capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add)',
        'host namespaces (hostNetwork=true)',
        'privileged (container "c" must not set securityContext.privileged=true)',
      ],
    },
    {
      name: 'NET_RAW is not in the baseline set',
      level: 'baseline' as const,
      spec: { containers: [], ephemeralContainers: [{ name: 'probe', securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } } }] },
      expected: ['non-default capabilities (container "probe" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)'],
    },
    {
      name: 'restricted wants drop ALL, no escalation, non-root, seccomp',
      level: 'restricted' as const,
      spec: { containers: [{ name: 'c' }] },
      expected: [
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)',
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"])',
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)',
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
      ],
    },
    {
      name: 'a compliant pod passes restricted',
      level: 'restricted' as const,
      spec: {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }],
      },
      expected: [],
    },
    { name: 'privileged level allows everything', level: 'privileged' as const, spec: { hostNetwork: true, containers: [] }, expected: [] },
  ])('$name', ({ level, spec, expected }) => {
    expect(checkPodSecurity(level, spec)).toEqual(expected);
  });
});

describe('tables helpers', () => {
  it.each([
    { name: 'seconds', seconds: 45, expected: '45s' },
    { name: 'under two minutes', seconds: 119, expected: '119s' },
    { name: 'minutes and seconds', seconds: 310, expected: '5m10s' },
    { name: 'whole minutes', seconds: 3000, expected: '50m' },
    { name: 'hours and minutes', seconds: 4 * 3600 + 120, expected: '4h2m' },
    { name: 'days and hours', seconds: 3 * 86400 + 7200, expected: '3d2h' },
  ])('formatAge $name', ({ seconds, expected }) => {
    expect(formatAge(seconds)).toBe(expected);
  });

  it.each([
    { name: 'kubectl get', accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json', expected: true },
    { name: 'plain json', accept: 'application/json', expected: false },
    { name: 'only v1beta1', accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io', expected: false },
  ])('wantsTable: $name', ({ accept, expected }) => {
    expect(wantsTable(accept)).toBe(expected);
  });
});

describe('exec protocol helpers', () => {
  it.each([
    { name: 'success', exitCode: 0, signal: null, expected: { metadata: {}, status: 'Success' } },
    {
      name: 'exit 3',
      exitCode: 3,
      signal: null,
      expected: {
        metadata: {},
        status: 'Failure',
        message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '3' }] },
      },
    },
    { name: 'killed by SIGKILL is 137', exitCode: null, signal: 'SIGKILL', expected: expect.objectContaining({ details: { causes: [{ reason: 'ExitCode', message: '137' }] } }) },
  ])('formatExitStatus: $name', ({ exitCode, signal, expected }) => {
    expect(formatExitStatus(['sh', '-c', 'exit 3'], exitCode, signal)).toEqual(expected);
  });

  it.each([
    { name: 'client-go keys', text: '{"Width":80,"Height":24}', expected: { width: 80, height: 24 } },
    { name: 'client-node keys', text: '{"height":30,"width":100}', expected: { width: 100, height: 30 } },
    { name: 'garbage', text: 'nope', expected: undefined },
  ])('parseResize: $name', ({ text, expected }) => {
    expect(parseResize(Buffer.from(text))).toEqual(expected);
  });

  it.each([
    { name: 'kubectl offers v5 only', offered: ['v5.channel.k8s.io'], expected: 'v5.channel.k8s.io' },
    { name: 'client-node order', offered: ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io'], expected: 'v5.channel.k8s.io' },
    { name: 'client preference wins', offered: ['v4.channel.k8s.io', 'v5.channel.k8s.io'], expected: 'v4.channel.k8s.io' },
    { name: 'nothing supported', offered: ['v3.channel.k8s.io', 'channel.k8s.io'], expected: undefined },
  ])('pickExecProtocol: $name', ({ offered, expected }) => {
    expect(pickExecProtocol(offered)).toBe(expected);
  });
});
