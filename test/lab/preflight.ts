/**
 * Checks that this machine can run a lab (Linux, root, the kernel features and the host tools the data plane and the
 * kubelet use) and, run as root, installs missing Debian packages itself. Everything it reads or runs on the machine
 * goes through a Machine, so tests can fake one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';

/** Each host command the lab needs, with the Debian package that provides it. */
export const REQUIRED_TOOLS: ReadonlyArray<HostTool> = [
  { command: 'ip', pkg: 'iproute2', why: 'network namespaces, veth, bridges, VXLAN, routes' },
  { command: 'bridge', pkg: 'iproute2', why: 'VXLAN forwarding entries' },
  { command: 'iptables', pkg: 'iptables', why: 'kube-proxy rules, NetworkPolicies, faults' },
  { command: 'iptables-restore', pkg: 'iptables', why: 'atomic rule updates' },
  { command: 'nft', pkg: 'nftables', why: 'the path-MTU fault in the underlay' },
  { command: 'dnsmasq', pkg: 'dnsmasq-base', why: 'the cluster DNS server' },
  { command: 'socat', pkg: 'socat', why: 'the pods\' TCP responders' },
  { command: 'nc', pkg: 'netcat-openbsd', why: 'TCP probes (netbox tool)' },
  { command: 'dig', pkg: 'dnsutils', why: 'DNS probes (netbox tool)' },
  { command: 'ping', pkg: 'iputils-ping', why: 'MTU probes (netbox tool)' },
  { command: 'conntrack', pkg: 'conntrack', why: 'netbox tool' },
  { command: 'tcpdump', pkg: 'tcpdump', why: 'netbox tool' },
  { command: 'openssl', pkg: 'openssl', why: 'the lab API server\'s CA and certificate' },
  { command: 'curl', pkg: 'curl', why: 'netbox tool' },
  { command: 'sysctl', pkg: 'procps', why: 'node checks' },
];

/** What is wrong with this machine for running a lab; empty when it can run one. */
export interface PreflightReport {
  problems: string[];
  missingPackages: string[];
}

/** A host command wanted, with the Debian package that provides it. */
export interface HostTool {
  command: string;
  pkg: string;
  why?: string;
}

/** What the preflight reads and does on the machine (swappable in tests, so nothing real is installed there). */
export interface Machine {
  platform: NodeJS.Platform;
  /** The user id, undefined where there is none (Windows). */
  uid: number | undefined;
  /** The path of an executable found on PATH (and, for root's tools, the sbin directories), or undefined. */
  findCommand(command: string): string | undefined;
  /** The path of an executable found on PATH alone (what the tests' child processes will run), or undefined. */
  findOnPath(command: string): string | undefined;
  exists(path: string): boolean;
  /** Runs a command to completion; throws when it fails. */
  run(file: string, args: string[], env: NodeJS.ProcessEnv): void;
  /** Runs a command whose failure is only looked at afterwards (modprobe). */
  tryRun(file: string, args: string[]): void;
}

/** The directories searched besides PATH: root's tools live in sbin, which a user's PATH may lack. */
const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** Finds an executable on PATH, then in `extraDirs` (by default the sbin directories root has). */
export function findCommand(command: string, path: string = process.env.PATH ?? '', extraDirs: readonly string[] = EXTRA_DIRS): string | undefined {
  for (const d of path.split(':').concat(extraDirs)) {
    if (d === '') continue;
    const file = `${d}/${command}`;
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** This machine. */
export const realMachine: Machine = {
  platform: process.platform,
  uid: process.getuid?.(),
  findCommand: (command) => findCommand(command),
  findOnPath: (command) => findCommand(command, process.env.PATH ?? '', []),
  exists: existsSync,
  run: (file, args, env) => void execFileSync(file, args, { stdio: 'inherit', env }),
  tryRun: (file, args) => void spawnSync(file, args, { stdio: 'ignore' }),
};

/** Host commands the test suites need besides the lab's own, installed by the same preflight before tests run. */
export const TEST_TOOLS: ReadonlyArray<HostTool> = [
  { command: 'tmux', pkg: 'tmux', why: 'the terminal UI end-to-end test (a real terminal)' },
  { command: 'unzip', pkg: 'unzip', why: 'test/krew/manifest.test.ts lists the Windows zip with the system tool' },
];

/**
 * Commands the suites need that no Debian package here provides (kubectl is not in Debian bookworm): the global setup
 * checks them first, on every machine, so a missing one fails the run at once instead of many tests obscurely.
 */
export const UNPACKAGED_TOOLS: ReadonlyArray<{ command: string; why: string; how: string }> = [
  {
    command: 'kubectl',
    why: 'the suites run the real kubectl (plugin discovery, `kubectl __complete`, the lab, the krew install test)',
    how: 'install kubectl >= 1.26 (https://kubernetes.io/docs/tasks/tools/) and put it on PATH',
  },
];

/** Throws an error naming every unpackaged command that is not on PATH, why it is needed and how to get it. */
export function requireUnpackagedTools(machine: Machine = realMachine, tools = UNPACKAGED_TOOLS): void {
  const missing = tools.filter((t) => machine.findOnPath(t.command) === undefined);
  if (missing.length === 0) return;
  throw new Error(`cannot run the tests: ${missing.map((t) => `\`${t.command}\` is not on PATH: ${t.why}; ${t.how}`).join('; ')}`);
}

/** Inspects the machine without changing it; `tools` are the host commands wanted (default: the lab's). */
export function inspectMachine(tools: ReadonlyArray<HostTool> = REQUIRED_TOOLS, machine: Machine = realMachine): PreflightReport {
  const problems: string[] = [];
  if (machine.platform !== 'linux') problems.push(`the lab needs Linux network namespaces; this is ${machine.platform}`);
  if (machine.uid !== 0) problems.push('the lab must run as root (it creates network namespaces and iptables rules)');
  const missing = new Set<string>();
  for (const t of tools) if (machine.findCommand(t.command) === undefined) missing.add(t.pkg);
  return { problems, missingPackages: [...missing] };
}

const BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';

/**
 * Makes the machine ready or throws an error naming exactly what is missing. As root, missing Debian packages are
 * installed with apt-get; the br_netfilter module is loaded when the kernel has it as a module.
 */
export function ensureMachineReady(log: (line: string) => void = () => {}, tools: ReadonlyArray<HostTool> = REQUIRED_TOOLS, machine: Machine = realMachine): void {
  const report = inspectMachine(tools, machine);
  if (report.problems.length > 0) {
    const extra = report.missingPackages.length ? `; also missing Debian packages: ${report.missingPackages.join(' ')}` : '';
    throw new Error(`cannot run the lab: ${report.problems.join('; ')}${extra}`);
  }
  if (report.missingPackages.length > 0) {
    log(`installing missing Debian packages: ${report.missingPackages.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    machine.run('apt-get', ['update', '-qq'], env);
    machine.run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...report.missingPackages], env);
    const after = inspectMachine(tools, machine);
    if (after.missingPackages.length) throw new Error(`still missing after apt-get: ${after.missingPackages.join(' ')}`);
  }
  if (!machine.exists(BRIDGE_NF)) {
    // bridge-nf-call-iptables only exists once br_netfilter is loaded; kube-proxy needs it and so does the lab.
    machine.tryRun('modprobe', ['br_netfilter']);
    if (!machine.exists(BRIDGE_NF)) {
      throw new Error('cannot run the lab: the kernel has no br_netfilter (net.bridge.bridge-nf-call-iptables); try `modprobe br_netfilter`');
    }
  }
}
