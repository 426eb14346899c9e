/**
 * The target grammar `[[NAMESPACE/]KIND/]NAME[:PORT]`, parsed into typed TargetRefs before anything talks to the API.
 */
import { isIPv4, isIPv6 } from './address.ts';
import { NetdebugError } from './errors.ts';

/** Which side of the connection a target is. */
export type TargetRole = 'source' | 'destination';

/** A port as the user wrote it: a number, or a port name to resolve against the Service or pod. */
export type PortRef = { kind: 'number'; number: number } | { kind: 'name'; name: string };

/** The workload kinds a target may name; each means "a ready pod of it". */
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

/** A parsed target, not yet looked up in the API. */
export type TargetRef =
  | { kind: 'pod'; namespace: string; name: string; port?: PortRef }
  | { kind: 'service'; namespace: string; name: string; port?: PortRef }
  /** A bare NAME as destination: the pod of that name, else the Service of that name, in the namespace. */
  | { kind: 'pod-or-service'; namespace: string; name: string; port?: PortRef }
  | { kind: 'workload'; workload: WorkloadKind; namespace: string; name: string; port?: PortRef }
  | { kind: 'node'; name: string; port?: PortRef }
  /** A bare IPv4 address, an IPv6 address in brackets (`[fd00::1]:80`), or a host name containing dots; destinations only. */
  | { kind: 'address'; host: string; isIP: boolean; port?: PortRef };

type KindName = 'pod' | 'service' | 'node' | WorkloadKind;

/** Every accepted KIND spelling (case-insensitive, like kubectl) and what it means. */
export const KIND_ALIASES: Readonly<Record<string, KindName>> = {
  pod: 'pod',
  pods: 'pod',
  po: 'pod',
  service: 'service',
  services: 'service',
  svc: 'service',
  node: 'node',
  nodes: 'node',
  no: 'node',
  deployment: 'Deployment',
  deployments: 'Deployment',
  deploy: 'Deployment',
  statefulset: 'StatefulSet',
  statefulsets: 'StatefulSet',
  sts: 'StatefulSet',
  daemonset: 'DaemonSet',
  daemonsets: 'DaemonSet',
  ds: 'DaemonSet',
};

const GRAMMAR = '[[NAMESPACE/]KIND/]NAME[:PORT]';
const KIND_LIST = 'pod|po, service|svc, node|no, deployment|deploy, statefulset|sts, daemonset|ds';
const HINT = `targets look like NAME, KIND/NAME, NAMESPACE/NAME or NAMESPACE/KIND/NAME, with :PORT on the destination (e.g. shop/svc/web:http, pod/client, node/node-1:10250, 10.96.0.10:53)`;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * Parses one target. Rules, in order:
 * - `NAME[:PORT]` with a dot in NAME, or an IPv4 address, is an address (destinations only); name a dotted pod as `pod/NAME`.
 * - `A/B`: if A is a known KIND (kubectl's `KIND/NAME`, e.g. `svc/web`) it is KIND/NAME in the default namespace;
 *   otherwise NAMESPACE/NAME. A namespace spelled like a kind alias (e.g. `po`) needs the three-part form.
 * - `NS/KIND/NAME`; nodes are cluster-scoped, so `NS/node/NAME` is an error.
 * - A bare NAME is a pod as source; as destination the pod of that name, else the Service (`pod-or-service`).
 * - Sources must be something we can exec into: a pod, a workload (a ready pod of it) or a node (its hostNetwork);
 *   a Service or an address as source is UNSUPPORTED_TARGET; a source takes no port.
 * Throws NetdebugError (INVALID_TARGET or UNSUPPORTED_TARGET) with the exact reason.
 */
export function parseTarget(text: string, role: TargetRole, defaultNamespace: string): TargetRef {
  return parseTargetArg(text, role, defaultNamespace).ref;
}

/**
 * A target as given on the command line, parsed once (Complete → Validate → Run): its typed ref, and whether its
 * namespace is the default one, still to be completed from the kubeconfig's context (completeTarget) when no -n was given.
 */
export interface ParsedTarget {
  text: string;
  ref: TargetRef;
  usesDefaultNamespace: boolean;
}

/** Gives a parsed target the default namespace if it uses it (a namespace written in the target stays). */
export function completeTarget(t: ParsedTarget, defaultNamespace: string): TargetRef {
  return t.usesDefaultNamespace && 'namespace' in t.ref ? { ...t.ref, namespace: defaultNamespace } : t.ref;
}

/** Parses one target like parseTarget, remembering whether it uses the default namespace (`''` until completed). */
export function parseTargetArg(text: string, role: TargetRole, defaultNamespace = ''): ParsedTarget {
  let usesDefaultNamespace = true;
  const ref = parseRef(text, role, defaultNamespace, () => {
    usesDefaultNamespace = false;
  });
  return { text, ref, usesDefaultNamespace: usesDefaultNamespace && 'namespace' in ref };
}

function parseRef(text: string, role: TargetRole, defaultNamespace: string, namespaceGiven: () => void): TargetRef {
  const input = text.trim();
  const fail = (reason: string): never => {
    throw new NetdebugError('INVALID_TARGET', `invalid ${role} "${text}": ${reason}`, { hint: HINT });
  };
  if (input === '') fail(`empty target; expected ${GRAMMAR}`);
  if (/\s/.test(input)) fail('a target contains no whitespace');

  if (input.startsWith('[')) return parseBracketed(input, text, role, fail);
  const colon = input.indexOf(':');
  if (colon !== input.lastIndexOf(':')) {
    throw new NetdebugError('UNSUPPORTED_TARGET', `invalid ${role} "${text}": IPv6 addresses and multiple ':' are not supported`, {
      hint: 'write an IPv6 address in brackets, as in a URL: [fd00::1]:8080',
    });
  }
  const body = colon === -1 ? input : input.slice(0, colon);
  const portText = colon === -1 ? undefined : input.slice(colon + 1);
  const port = portText === undefined ? undefined : parsePort(portText, fail);
  if (port && role === 'source') fail('a source takes no port; put the port on the destination');
  if (body === '') fail(`missing NAME; expected ${GRAMMAR}`);

  const parts = body.split('/');
  if (parts.some((p) => p === '')) fail(`empty part between '/'; expected ${GRAMMAR}`);
  if (parts.length > 3) fail(`too many '/'; expected ${GRAMMAR}`);

  if (parts.length === 1) {
    const name = parts[0] as string;
    if (isIPv4(name) || name.includes('.')) {
      const isIP = isIPv4(name);
      if (!isIP && /^[\d.]+$/.test(name)) fail(`"${name}" is not a valid IPv4 address`);
      if (!isIP) checkSubdomain(name, 'host name', fail);
      if (role === 'source') {
        throw new NetdebugError('UNSUPPORTED_TARGET', `invalid source "${text}": a source must be a pod, workload or node, not an address`, {
          hint: 'name the pod to test from, e.g. pod/client or deploy/frontend, or node/NAME to test from a node',
        });
      }
      return withPort({ kind: 'address', host: name, isIP }, port);
    }
    checkLabel(name, 'name', fail);
    const namespace = defaultNamespace;
    if (role === 'source') return withPort({ kind: 'pod', namespace, name }, port);
    return withPort({ kind: 'pod-or-service', namespace, name }, port);
  }

  let namespace = defaultNamespace;
  let kindText: string;
  let name: string;
  if (parts.length === 2) {
    const [first, second] = parts as [string, string];
    if (KIND_ALIASES[first.toLowerCase()] !== undefined) {
      kindText = first;
    } else {
      checkLabel(first, 'namespace', fail);
      namespace = first;
      namespaceGiven();
      kindText = role === 'source' ? 'pod' : '';
    }
    name = second;
  } else {
    const [ns, kind, n] = parts as [string, string, string];
    checkLabel(ns, 'namespace', fail);
    namespace = ns;
    namespaceGiven();
    kindText = kind;
    name = n;
    if (KIND_ALIASES[kind.toLowerCase()] === undefined) fail(`unknown kind "${kind}"; expected one of ${KIND_LIST}`);
  }

  if (kindText === '') {
    checkLabel(name, 'name', fail);
    return withPort({ kind: 'pod-or-service', namespace, name }, port);
  }
  const kind = KIND_ALIASES[kindText.toLowerCase()] as KindName;
  switch (kind) {
    case 'pod':
      checkSubdomain(name, 'pod name', fail);
      return withPort({ kind: 'pod', namespace, name }, port);
    case 'service':
      if (role === 'source') {
        throw new NetdebugError('UNSUPPORTED_TARGET', `invalid source "${text}": a Service cannot be a source (nothing to exec into)`, {
          hint: `test from a pod instead, e.g. ${namespace ? `${namespace}/` : ''}pod/NAME, or from a pod of the workload behind it, e.g. ${namespace ? `${namespace}/` : ''}deploy/NAME`,
        });
      }
      if (!DNS1035_LABEL.test(name) || name.length > 63) {
        fail(`service name "${name}" must be a DNS-1035 label: at most 63 lower case alphanumeric characters or '-', starting with a letter and ending with an alphanumeric character`);
      }
      return withPort({ kind: 'service', namespace, name }, port);
    case 'node':
      if (parts.length === 3) fail(`nodes are cluster-scoped; write node/${name} without a namespace`);
      checkSubdomain(name, 'node name', fail);
      return withPort({ kind: 'node', name }, port);
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
      checkSubdomain(name, `${kind} name`, fail);
      return withPort({ kind: 'workload', workload: kind, namespace, name }, port);
    default: {
      const never: never = kind;
      throw new Error(`unhandled kind ${String(never)}`);
    }
  }
}

/** Parses `[IPv6]` or `[IPv6]:PORT` (the bracket form of RFC 3986, which keeps the address's ':' apart from the port's). */
function parseBracketed(input: string, text: string, role: TargetRole, fail: (reason: string) => never): TargetRef {
  const m = /^\[([^\]]*)\](?::(.*))?$/.exec(input);
  if (!m) return fail("an IPv6 address in brackets is followed by nothing or by :PORT, e.g. [fd00::1]:8080");
  const host = m[1] as string;
  if (!isIPv6(host)) fail(`"${host}" is not a valid IPv6 address`);
  if (role === 'source') {
    throw new NetdebugError('UNSUPPORTED_TARGET', `invalid source "${text}": a source must be a pod, workload or node, not an address`, {
      hint: 'name the pod to test from, e.g. pod/client or deploy/frontend, or node/NAME to test from a node',
    });
  }
  const port = m[2] === undefined ? undefined : parsePort(m[2], fail);
  return withPort({ kind: 'address' as const, host, isIP: true }, port);
}

/** Formats a TargetRef back into the grammar, e.g. `shop/service/web:http`, for messages and events. */
export function formatTarget(ref: TargetRef): string {
  const port = ref.port ? `:${ref.port.kind === 'number' ? ref.port.number : ref.port.name}` : '';
  switch (ref.kind) {
    case 'pod':
    case 'service':
      return `${ref.namespace}/${ref.kind}/${ref.name}${port}`;
    case 'pod-or-service':
      return `${ref.namespace}/${ref.name}${port}`;
    case 'workload':
      return `${ref.namespace}/${ref.workload.toLowerCase()}/${ref.name}${port}`;
    case 'node':
      return `node/${ref.name}${port}`;
    case 'address':
      return `${isIPv6(ref.host) ? `[${ref.host}]` : ref.host}${port}`;
    default: {
      const never: never = ref;
      throw new Error(`unknown target ${JSON.stringify(never)}`);
    }
  }
}

function withPort<T extends object>(ref: T, port: PortRef | undefined): T & { port?: PortRef } {
  return port ? { ...ref, port } : ref;
}

function parsePort(text: string, fail: (reason: string) => never): PortRef {
  if (text === '') return fail('empty PORT after ":"; give a number (1-65535) or a port name');
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number < 1 || number > 65535) fail(`port ${text} is out of range 1-65535`);
    return { kind: 'number', number };
  }
  if (text.length > 15 || !PORT_NAME.test(text) || text.includes('--') || !/[a-z]/.test(text)) {
    fail(`port name "${text}" must be at most 15 lower case alphanumeric characters or '-', contain a letter, and not start, end or repeat '-' (IANA service name)`);
  }
  return { kind: 'name', name: text };
}

function checkLabel(value: string, what: string, fail: (reason: string) => never): void {
  if (value.length > 63 || !DNS1123_LABEL.test(value)) {
    fail(`${what} "${value}" must be a DNS-1123 label: at most 63 lower case alphanumeric characters or '-', starting and ending with an alphanumeric character`);
  }
}

function checkSubdomain(value: string, what: string, fail: (reason: string) => never): void {
  if (value.length > 253 || !value.split('.').every((label) => DNS1123_LABEL.test(label))) {
    fail(`${what} "${value}" must be a DNS-1123 subdomain: at most 253 characters, dot-separated lower case alphanumeric labels that may contain '-' inside`);
  }
}
