import { describe, expect, it } from 'vitest';
import { NetdebugError } from '../../src/core/errors.ts';
import { completeTarget, formatTarget, parseTarget, parseTargetArg, type TargetRef, type TargetRole } from '../../src/core/target.ts';

const OK: { name: string; text: string; role: TargetRole; want: TargetRef }[] = [
  { name: 'bare name as source is a pod', text: 'client', role: 'source', want: { kind: 'pod', namespace: 'def', name: 'client' } },
  { name: 'bare name as destination is pod-or-service', text: 'web:80', role: 'destination', want: { kind: 'pod-or-service', namespace: 'def', name: 'web', port: { kind: 'number', number: 80 } } },
  { name: 'KIND/NAME (kubectl style)', text: 'svc/web:http', role: 'destination', want: { kind: 'service', namespace: 'def', name: 'web', port: { kind: 'name', name: 'http' } } },
  { name: 'kind is case-insensitive', text: 'Pod/web', role: 'destination', want: { kind: 'pod', namespace: 'def', name: 'web' } },
  { name: 'NAMESPACE/NAME as source is a pod', text: 'shop/client', role: 'source', want: { kind: 'pod', namespace: 'shop', name: 'client' } },
  { name: 'NAMESPACE/NAME as destination', text: 'shop/web:8080', role: 'destination', want: { kind: 'pod-or-service', namespace: 'shop', name: 'web', port: { kind: 'number', number: 8080 } } },
  { name: 'NS/KIND/NAME service', text: 'shop/service/web:80', role: 'destination', want: { kind: 'service', namespace: 'shop', name: 'web', port: { kind: 'number', number: 80 } } },
  { name: 'po alias', text: 'shop/po/web-0', role: 'source', want: { kind: 'pod', namespace: 'shop', name: 'web-0' } },
  { name: 'deploy alias', text: 'shop/deploy/front', role: 'source', want: { kind: 'workload', workload: 'Deployment', namespace: 'shop', name: 'front' } },
  { name: 'sts alias', text: 'sts/db:5432', role: 'destination', want: { kind: 'workload', workload: 'StatefulSet', namespace: 'def', name: 'db', port: { kind: 'number', number: 5432 } } },
  { name: 'ds alias', text: 'ds/agent', role: 'source', want: { kind: 'workload', workload: 'DaemonSet', namespace: 'def', name: 'agent' } },
  { name: 'node as source', text: 'node/node-1', role: 'source', want: { kind: 'node', name: 'node-1' } },
  { name: 'no alias with port', text: 'no/node-2:10250', role: 'destination', want: { kind: 'node', name: 'node-2', port: { kind: 'number', number: 10250 } } },
  { name: 'IPv4 address', text: '10.96.0.10:53', role: 'destination', want: { kind: 'address', host: '10.96.0.10', isIP: true, port: { kind: 'number', number: 53 } } },
  { name: 'dotted host name', text: 'web.shop.svc.cluster.local:80', role: 'destination', want: { kind: 'address', host: 'web.shop.svc.cluster.local', isIP: false, port: { kind: 'number', number: 80 } } },
  { name: 'dotted pod via kind', text: 'pod/web.v1', role: 'destination', want: { kind: 'pod', namespace: 'def', name: 'web.v1' } },
  { name: 'port 65535', text: 'web:65535', role: 'destination', want: { kind: 'pod-or-service', namespace: 'def', name: 'web', port: { kind: 'number', number: 65535 } } },
  { name: 'port name 15 chars', text: 'web:abcdefghij-klmn', role: 'destination', want: { kind: 'pod-or-service', namespace: 'def', name: 'web', port: { kind: 'name', name: 'abcdefghij-klmn' } } },
  { name: 'surrounding whitespace trimmed', text: ' web ', role: 'source', want: { kind: 'pod', namespace: 'def', name: 'web' } },
];

/** Every spelling the issue names (and kubectl's plurals), as `KIND/NAME` and `NS/KIND/NAME`, mapped to what it means. */
const SPELLINGS: { spelling: string; want: (ns: string) => TargetRef }[] = [
  ...['pod', 'pods', 'po'].map((spelling) => ({ spelling, want: (ns: string): TargetRef => ({ kind: 'pod', namespace: ns, name: 'x' }) })),
  ...['service', 'services', 'svc'].map((spelling) => ({ spelling, want: (ns: string): TargetRef => ({ kind: 'service', namespace: ns, name: 'x' }) })),
  ...(
    [
      ['Deployment', ['deployment', 'deployments', 'deploy']],
      ['StatefulSet', ['statefulset', 'statefulsets', 'sts']],
      ['DaemonSet', ['daemonset', 'daemonsets', 'ds']],
    ] as const
  ).flatMap(([workload, spellings]) => spellings.map((spelling) => ({ spelling, want: (ns: string): TargetRef => ({ kind: 'workload', workload, namespace: ns, name: 'x' }) }))),
];

describe('parseTarget: every kind spelling', () => {
  it.each(SPELLINGS.map((s) => ({ name: s.spelling, ...s })))('$name/x and shop/$name/x as destination', ({ spelling, want }) => {
    expect(parseTarget(`${spelling}/x`, 'destination', 'def')).toEqual(want('def'));
    expect(parseTarget(`shop/${spelling.toUpperCase()}/x`, 'destination', 'def')).toEqual(want('shop'));
  });

  it.each(['node', 'nodes', 'no'])('%s/x is a node (cluster-scoped)', (spelling) => {
    expect(parseTarget(`${spelling}/x`, 'destination', 'def')).toEqual({ kind: 'node', name: 'x' });
  });
});

describe('parseTarget: accepted forms', () => {
  it.each(OK)('$name', ({ text, role, want }) => {
    expect(parseTarget(text, role, 'def')).toEqual(want);
  });
});

const ERR: { name: string; text: string; role: TargetRole; code: string; message: string }[] = [
  { name: 'empty', text: '', role: 'source', code: 'INVALID_TARGET', message: 'invalid source "": empty target; expected [[NAMESPACE/]KIND/]NAME[:PORT]' },
  { name: 'too many parts', text: 'a/b/c/d', role: 'destination', code: 'INVALID_TARGET', message: `invalid destination "a/b/c/d": too many '/'; expected [[NAMESPACE/]KIND/]NAME[:PORT]` },
  { name: 'empty part', text: 'shop//web', role: 'destination', code: 'INVALID_TARGET', message: `invalid destination "shop//web": empty part between '/'; expected [[NAMESPACE/]KIND/]NAME[:PORT]` },
  { name: 'unknown kind', text: 'shop/thing/web', role: 'destination', code: 'INVALID_TARGET', message: 'invalid destination "shop/thing/web": unknown kind "thing"; expected one of pod|po, service|svc, node|no, deployment|deploy, statefulset|sts, daemonset|ds' },
  { name: 'port 0', text: 'web:0', role: 'destination', code: 'INVALID_TARGET', message: 'invalid destination "web:0": port 0 is out of range 1-65535' },
  { name: 'port 65536', text: 'web:65536', role: 'destination', code: 'INVALID_TARGET', message: 'invalid destination "web:65536": port 65536 is out of range 1-65535' },
  { name: 'empty port', text: 'web:', role: 'destination', code: 'INVALID_TARGET', message: 'invalid destination "web:": empty PORT after ":"; give a number (1-65535) or a port name' },
  { name: 'port name too long', text: 'web:abcdefghijklmnop', role: 'destination', code: 'INVALID_TARGET', message: `invalid destination "web:abcdefghijklmnop": port name "abcdefghijklmnop" must be at most 15 lower case alphanumeric characters or '-', contain a letter, and not start, end or repeat '-' (IANA service name)` },
  { name: 'port name with --', text: 'web:a--b', role: 'destination', code: 'INVALID_TARGET', message: `invalid destination "web:a--b": port name "a--b" must be at most 15 lower case alphanumeric characters or '-', contain a letter, and not start, end or repeat '-' (IANA service name)` },
  { name: 'upper-case name', text: 'Web', role: 'destination', code: 'INVALID_TARGET', message: `invalid destination "Web": name "Web" must be a DNS-1123 label: at most 63 lower case alphanumeric characters or '-', starting and ending with an alphanumeric character` },
  { name: 'bad namespace', text: 'Shop/web', role: 'destination', code: 'INVALID_TARGET', message: `invalid destination "Shop/web": namespace "Shop" must be a DNS-1123 label: at most 63 lower case alphanumeric characters or '-', starting and ending with an alphanumeric character` },
  { name: 'label too long', text: 'a'.repeat(64), role: 'source', code: 'INVALID_TARGET', message: `invalid source "${'a'.repeat(64)}": name "${'a'.repeat(64)}" must be a DNS-1123 label: at most 63 lower case alphanumeric characters or '-', starting and ending with an alphanumeric character` },
  { name: 'service name starting with digit', text: 'svc/1web', role: 'destination', code: 'INVALID_TARGET', message: `invalid destination "svc/1web": service name "1web" must be a DNS-1035 label: at most 63 lower case alphanumeric characters or '-', starting with a letter and ending with an alphanumeric character` },
  { name: 'bad pod subdomain', text: 'pod/web_1', role: 'destination', code: 'INVALID_TARGET', message: `invalid destination "pod/web_1": pod name "web_1" must be a DNS-1123 subdomain: at most 253 characters, dot-separated lower case alphanumeric labels that may contain '-' inside` },
  { name: 'bad IP', text: '10.0.0.300:80', role: 'destination', code: 'INVALID_TARGET', message: 'invalid destination "10.0.0.300:80": "10.0.0.300" is not a valid IPv4 address' },
  { name: 'namespaced node', text: 'shop/node/n1', role: 'destination', code: 'INVALID_TARGET', message: 'invalid destination "shop/node/n1": nodes are cluster-scoped; write node/n1 without a namespace' },
  { name: 'port on source', text: 'client:80', role: 'source', code: 'INVALID_TARGET', message: 'invalid source "client:80": a source takes no port; put the port on the destination' },
  { name: 'service as source', text: 'svc/web', role: 'source', code: 'UNSUPPORTED_TARGET', message: 'invalid source "svc/web": a Service cannot be a source (nothing to exec into)' },
  { name: 'address as source', text: '10.0.0.1', role: 'source', code: 'UNSUPPORTED_TARGET', message: 'invalid source "10.0.0.1": a source must be a pod, workload or node, not an address' },
  { name: 'IPv6', text: 'fd00::1', role: 'destination', code: 'UNSUPPORTED_TARGET', message: `invalid destination "fd00::1": IPv6 addresses and multiple ':' are not supported` },
  { name: 'whitespace inside', text: 'we b', role: 'destination', code: 'INVALID_TARGET', message: 'invalid destination "we b": a target contains no whitespace' },
];

describe('parseTarget: rejected forms', () => {
  it.each(ERR)('$name', ({ text, role, code, message }) => {
    let caught: unknown;
    try {
      parseTarget(text, role, 'def');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NetdebugError);
    const err = caught as NetdebugError;
    expect({ code: err.code, message: err.message, exitCode: err.exitCode }).toEqual({ code, message, exitCode: 2 });
    expect(err.hint).toBeTruthy();
  });
});

describe('formatTarget', () => {
  it.each([
    { name: 'service', text: 'shop/svc/web:http', want: 'shop/service/web:http' },
    { name: 'workload', text: 'deploy/front', want: 'def/deployment/front' },
    { name: 'node', text: 'no/n1:22', want: 'node/n1:22' },
    { name: 'address', text: '10.0.0.1:80', want: '10.0.0.1:80' },
    { name: 'pod-or-service', text: 'web', want: 'def/web' },
  ])('$name', ({ text, want }) => {
    expect(formatTarget(parseTarget(text, 'destination', 'def'))).toBe(want);
  });
});

describe('parseTargetArg and completeTarget: parsed once, namespace completed from the kubeconfig', () => {
  it.each([
    { text: 'client', role: 'source' as const, ns: 'team', want: { kind: 'pod', namespace: 'team', name: 'client' } },
    { text: 'svc/web:80', role: 'destination' as const, ns: 'team', want: { kind: 'service', namespace: 'team', name: 'web', port: { kind: 'number', number: 80 } } },
    { text: 'shop/svc/web', role: 'destination' as const, ns: 'team', want: { kind: 'service', namespace: 'shop', name: 'web' } },
    { text: 'shop/web', role: 'destination' as const, ns: 'team', want: { kind: 'pod-or-service', namespace: 'shop', name: 'web' } },
    { text: 'node/node-1', role: 'source' as const, ns: 'team', want: { kind: 'node', name: 'node-1' } },
    { text: '10.0.0.1:53', role: 'destination' as const, ns: 'team', want: { kind: 'address', host: '10.0.0.1', isIP: true, port: { kind: 'number', number: 53 } } },
  ])('$text completes to $want', ({ text, role, ns, want }) => {
    const parsed = parseTargetArg(text, role);
    expect(completeTarget(parsed, ns)).toEqual(want);
    expect(completeTarget(parsed, ns)).toEqual(parseTarget(text, role, ns));
  });

  it('keeps a namespace given with -n when completing', () => {
    const parsed = parseTargetArg('client', 'source', 'front');
    expect(parsed.usesDefaultNamespace).toBe(true);
    expect(completeTarget(parsed, 'front')).toEqual({ kind: 'pod', namespace: 'front', name: 'client' });
  });

  it('names no empty namespace in its hints before the namespace is known', () => {
    expect(() => parseTargetArg('svc/web', 'source')).toThrow(expect.objectContaining({ hint: expect.stringContaining('e.g. pod/NAME') }));
  });
});
