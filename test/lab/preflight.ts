/**
 * Checks that this machine can run a lab (Linux, root, the kernel features and the host tools the data plane and the
 * kubelet use) and, run as root, installs missing Debian packages itself.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Each host command the lab needs, with the Debian package that provides it. */
export const REQUIRED_TOOLS: ReadonlyArray<{ command: string; pkg: string; why: string }> = [
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

/** Finds an executable on PATH (plus the sbin directories root has). */
function hasCommand(command: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  return dirs.some((d) => d !== '' && existsSync(`${d}/${command}`));
}

/** Host commands the test suites need besides the lab's own, installed by the same preflight before tests run. */
export const TEST_TOOLS: ReadonlyArray<{ command: string; pkg: string; why: string }> = [
  { command: 'tmux', pkg: 'tmux', why: 'the terminal UI end-to-end test (a real terminal)' },
];

/** Inspects the machine without changing it; `tools` are the host commands wanted (default: the lab's). */
export function inspectMachine(tools: ReadonlyArray<{ command: string; pkg: string }> = REQUIRED_TOOLS): PreflightReport {
  const problems: string[] = [];
  if (process.platform !== 'linux') problems.push(`the lab needs Linux network namespaces; this is ${process.platform}`);
  if (process.getuid?.() !== 0) problems.push('the lab must run as root (it creates network namespaces and iptables rules)');
  const missing = new Set<string>();
  for (const t of tools) if (!hasCommand(t.command)) missing.add(t.pkg);
  return { problems, missingPackages: [...missing] };
}

/**
 * Makes the machine ready or throws an error naming exactly what is missing. As root, missing Debian packages are
 * installed with apt-get; the br_netfilter module is loaded when the kernel has it as a module.
 */
export function ensureMachineReady(log: (line: string) => void = () => {}, tools: ReadonlyArray<{ command: string; pkg: string }> = REQUIRED_TOOLS): void {
  const report = inspectMachine(tools);
  if (report.problems.length > 0) {
    const extra = report.missingPackages.length ? `; also missing Debian packages: ${report.missingPackages.join(' ')}` : '';
    throw new Error(`cannot run the lab: ${report.problems.join('; ')}${extra}`);
  }
  if (report.missingPackages.length > 0) {
    log(`installing missing Debian packages: ${report.missingPackages.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...report.missingPackages], { stdio: 'inherit', env });
    const after = inspectMachine(tools);
    if (after.missingPackages.length) throw new Error(`still missing after apt-get: ${after.missingPackages.join(' ')}`);
  }
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
    // bridge-nf-call-iptables only exists once br_netfilter is loaded; kube-proxy needs it and so does the lab.
    spawnSync('modprobe', ['br_netfilter'], { stdio: 'ignore' });
    if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
      throw new Error('cannot run the lab: the kernel has no br_netfilter (net.bridge.bridge-nf-call-iptables); try `modprobe br_netfilter`');
    }
  }
}
