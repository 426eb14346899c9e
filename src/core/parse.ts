/**
 * Probe commands and their parsers: `buildProbeCommand` turns a ProbeAction into argv, `parseProbeOutput` turns what
 * the command printed into a ProbeObservation. Parsers read stdout and stderr together (tools differ in which they use)
 * and were written against real outputs captured by test/unit/fixtures/capture.sh.
 */
import type { ProbeAction, ProbeObservation, Protocol } from './model.ts';

/** What an exec returned; exitCode null means the command was killed. */
export interface RawOutput {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

const SAFE_HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const SAFE_KEY = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;

/** Builds the argv for an action; throws if a parameter could be mistaken for an option (never a shell string). */
export function buildProbeCommand(action: ProbeAction, timeoutMs: number): string[] {
  const secs = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  switch (action.tool) {
    case 'tcp-connect':
      return ['nc', '-z', '-v', '-w', secs, safeHost(action.host), String(safePort(action.port))];
    case 'dns-lookup':
      return action.server === undefined
        ? ['dig', `+time=${secs}`, '+tries=1', '+search', safeHost(action.name)]
        : ['dig', `@${safeHost(action.server)}`, `+time=${secs}`, '+tries=1', safeHost(action.name)];
    case 'sysctl':
      if (!SAFE_KEY.test(action.key)) throw new Error(`unsafe sysctl key ${JSON.stringify(action.key)}`);
      return ['sysctl', '-n', action.key];
    case 'forward-policy':
      return ['iptables', '-S', 'FORWARD'];
    case 'nat-rules':
      return ['iptables-save', '-t', 'nat'];
    case 'route-get':
      return ['ip', '-4', 'route', 'get', safeHost(action.address)];
    case 'neighbor':
      return ['ip', 'neigh', 'show', safeHost(action.address)];
    case 'mtu-ping':
      return ['ping', '-M', 'do', '-s', String(action.size), '-c', '1', '-W', secs, safeHost(action.address)];
    default: {
      const never: never = action;
      throw new Error(`unknown probe action ${JSON.stringify(never)}`);
    }
  }
}

/** Parses a command's output into an observation according to the action that produced it. */
export function parseProbeOutput(action: ProbeAction, raw: RawOutput): ProbeObservation {
  const missing = detectNotRunnable(raw);
  if (missing) return missing;
  switch (action.tool) {
    case 'tcp-connect':
      return parseNcOutput(raw);
    case 'dns-lookup':
      return parseDigOutput(raw);
    case 'sysctl':
      return parseSysctlOutput(raw, action.key);
    case 'forward-policy':
      return parseForwardPolicy(raw);
    case 'nat-rules':
      return parseNatRules(raw, action.clusterIP, action.port, action.protocol);
    case 'route-get':
      return parseRouteGet(raw);
    case 'neighbor':
      return parseNeighbor(raw, action.address);
    case 'mtu-ping':
      return parsePing(raw, action.size);
    default: {
      const never: never = action;
      throw new Error(`unknown probe action ${JSON.stringify(never)}`);
    }
  }
}

/** Parses `nc -z -v -w N host port` (OpenBSD netcat) into connected / refused / timeout / no-route. */
export function parseNcOutput(raw: RawOutput): ProbeObservation {
  const text = combined(raw);
  if (raw.exitCode === 0 && /\bsucceeded!|^Connection to .* succeeded/m.test(text)) return { kind: 'connected' };
  if (/Connection refused/.test(text)) return { kind: 'refused' };
  if (/timed out/.test(text)) return { kind: 'timeout' };
  const route = /(No route to host|Network is unreachable|Host is unreachable)/.exec(text);
  if (route) return { kind: 'no-route', detail: route[1] as string };
  if (/getaddrinfo/.test(text)) return { kind: 'could-not-run', reason: `nc could not resolve the host: ${firstLine(text)}` };
  if (raw.exitCode === null) return { kind: 'timeout' };
  return { kind: 'could-not-run', reason: `unrecognised nc output (exit ${raw.exitCode}): ${firstLine(text)}` };
}

/** Parses `dig` output (search path or `@server`) into resolved / nxdomain / servfail / dns-refused / dns-timeout. */
export function parseDigOutput(raw: RawOutput): ProbeObservation {
  const text = combined(raw);
  const status = /->>HEADER<<-.*status: ([A-Z]+)/.exec(text)?.[1];
  switch (status) {
    case 'NOERROR':
      return { kind: 'resolved', ips: answerAddresses(text) };
    case 'NXDOMAIN':
      return { kind: 'nxdomain' };
    case 'SERVFAIL':
      return { kind: 'servfail' };
    case 'REFUSED':
      return { kind: 'dns-refused' };
    case undefined:
      break;
    default:
      return { kind: 'servfail' };
  }
  if (/communications error to .*: timed out|connection timed out; no servers could be reached/.test(text)) return { kind: 'dns-timeout' };
  if (/communications error to .*: connection refused/.test(text)) return { kind: 'refused' };
  const route = /communications error to .*: (network unreachable|host unreachable)/i.exec(text);
  if (route) return { kind: 'no-route', detail: route[1] as string };
  if (/no servers could be reached/.test(text)) return { kind: 'dns-timeout' };
  return { kind: 'could-not-run', reason: `unrecognised dig output (exit ${String(raw.exitCode)}): ${firstLine(text)}` };
}

/** Parses `sysctl -n KEY`. */
export function parseSysctlOutput(raw: RawOutput, key: string): ProbeObservation {
  const value = raw.stdout.trim();
  if (raw.exitCode === 0 && value !== '' && !value.includes('\n')) return { kind: 'sysctl', key, value };
  return { kind: 'could-not-run', reason: `could not read ${key}: ${firstLine(combined(raw))}` };
}

/** Parses `iptables -S FORWARD` into the chain's default policy. */
export function parseForwardPolicy(raw: RawOutput): ProbeObservation {
  const policy = /^-P FORWARD (\S+)/m.exec(raw.stdout)?.[1];
  if (raw.exitCode === 0 && policy) return { kind: 'forward-policy', policy };
  return { kind: 'could-not-run', reason: `could not read the FORWARD chain: ${firstLine(combined(raw))}` };
}

/**
 * Parses `iptables-save -t nat` (kube-proxy iptables mode): is there a KUBE-SERVICES rule for clusterIP:port, and which
 * endpoints does its KUBE-SVC chain DNAT to? IPVS and nftables modes are not read.
 */
export function parseNatRules(raw: RawOutput, clusterIP: string, port: number, protocol: Protocol): ProbeObservation {
  if (raw.exitCode !== 0 || !/^\*nat$/m.test(raw.stdout)) {
    return { kind: 'could-not-run', reason: `could not read the nat table: ${firstLine(combined(raw))}` };
  }
  const rules = raw.stdout.split('\n').filter((l) => l.startsWith('-A '));
  const proto = protocol.toLowerCase();
  const serviceRule = rules.find(
    (l) =>
      l.startsWith('-A KUBE-SERVICES ') &&
      l.includes(` -d ${clusterIP}/32 `) &&
      l.includes(` -p ${proto} `) &&
      new RegExp(`--dport ${port}(\\s|$)`).test(l) &&
      / -j KUBE-SVC-/.test(l),
  );
  const svcChain = serviceRule ? / -j (KUBE-SVC-\S+)/.exec(serviceRule)?.[1] : undefined;
  if (!svcChain) return { kind: 'nat-rules', clusterIP, port, present: false, endpoints: [] };
  const endpoints: string[] = [];
  for (const rule of rules) {
    if (!rule.startsWith(`-A ${svcChain} `)) continue;
    const sep = / -j (KUBE-SEP-\S+)/.exec(rule)?.[1];
    if (!sep) continue;
    for (const sepRule of rules) {
      const dest = sepRule.startsWith(`-A ${sep} `) ? /--to-destination (\S+)/.exec(sepRule)?.[1] : undefined;
      if (dest) endpoints.push(dest);
    }
  }
  return { kind: 'nat-rules', clusterIP, port, present: true, endpoints };
}

/** Parses `ip -4 route get ADDR` into present/dev/via, or the kernel's reason there is no route. */
export function parseRouteGet(raw: RawOutput): ProbeObservation {
  const text = combined(raw);
  const error = /RTNETLINK answers: (.+)/.exec(text)?.[1]?.trim();
  if (error) return { kind: 'route', present: false, error };
  const first = raw.stdout.split('\n')[0] ?? '';
  const dev = /\bdev (\S+)/.exec(first)?.[1];
  if (raw.exitCode === 0 && dev) {
    const via = /\bvia (\S+)/.exec(first)?.[1];
    return { kind: 'route', present: true, dev, ...(via ? { via } : {}) };
  }
  return { kind: 'could-not-run', reason: `unrecognised ip route output: ${firstLine(text)}` };
}

/** Parses `ip neigh show ADDR`; no entry gives state NONE and mac null. */
export function parseNeighbor(raw: RawOutput, ip: string): ProbeObservation {
  if (raw.exitCode !== 0) return { kind: 'could-not-run', reason: `could not read the neighbor table: ${firstLine(combined(raw))}` };
  const line = raw.stdout.split('\n').find((l) => l.startsWith(`${ip} `));
  if (!line) return { kind: 'neighbor', ip, mac: null, state: 'NONE' };
  const mac = /\blladdr (\S+)/.exec(line)?.[1] ?? null;
  const state = line.trim().split(/\s+/).filter((t) => /^[A-Z_]+$/.test(t)).pop() ?? 'UNKNOWN';
  const dev = /\bdev (\S+)/.exec(line)?.[1];
  return { kind: 'neighbor', ip, mac, state, ...(dev ? { dev } : {}) };
}

/** Parses `ping -M do -s SIZE -c 1 -W N ADDR`: passed, or failed with the MTU the kernel reported when it did. */
export function parsePing(raw: RawOutput, size: number): ProbeObservation {
  const text = combined(raw);
  const tooLong = /message too long, mtu=(\d+)/.exec(text) ?? /Frag needed and DF set \(mtu = (\d+)\)/.exec(text);
  if (tooLong) return { kind: 'mtu', size, passed: false, mtu: Number(tooLong[1]) };
  const received = /(\d+) packets transmitted, (\d+) received/.exec(text);
  if (received) return { kind: 'mtu', size, passed: Number(received[2]) > 0 };
  const route = /(Network is unreachable|No route to host|Host is unreachable)/.exec(text);
  if (route) return { kind: 'no-route', detail: route[1] as string };
  return { kind: 'could-not-run', reason: `unrecognised ping output (exit ${String(raw.exitCode)}): ${firstLine(text)}` };
}

function detectNotRunnable(raw: RawOutput): ProbeObservation | null {
  const text = combined(raw);
  if (raw.exitCode === 126 || raw.exitCode === 127 || /executable file not found|: not found$|command not found/m.test(text)) {
    return { kind: 'could-not-run', reason: `the tool is not available in the probe image: ${firstLine(text)}` };
  }
  if (/Permission denied \(you must be root\)|Operation not permitted/.test(text) && raw.exitCode !== 0) {
    return { kind: 'could-not-run', reason: `not permitted in the probe container: ${firstLine(text)}` };
  }
  return null;
}

function answerAddresses(text: string): string[] {
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(\n\n|$)/.exec(text)?.[1] ?? '';
  const ips: string[] = [];
  for (const line of section.split('\n')) {
    const m = /\sIN\s+A\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (m) ips.push(m[1] as string);
  }
  return ips;
}

function combined(raw: RawOutput): string {
  return raw.stderr === '' ? raw.stdout : raw.stdout === '' ? raw.stderr : `${raw.stdout}\n${raw.stderr}`;
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '(no output)';
}

function safeHost(host: string): string {
  if (!SAFE_HOST.test(host) || host.length > 253) throw new Error(`unsafe host or name for a probe: ${JSON.stringify(host)}`);
  return host;
}

function safePort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port for a probe: ${port}`);
  return port;
}
