/**
 * `cilium-dbg` as the Cilium agent prints it, rendered from the lab's state: `service list` (one row per frontend with
 * its ID, type and ready backends `1 => ip:port/proto (active)`), `bpf lb list` (the lb map: a master entry per frontend
 * and one slot per backend) and the summary lines of `status`, laid out like Go's tabwriter as the agent does.
 */

/** One Service frontend and its backends, as the agent's service map holds them. */
export interface CiliumFrontend {
  /** The service ID; default its 1-based position. */
  id?: number;
  address: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  type: 'ClusterIP';
  backends: { address: string; port: number }[];
}

/** Aligns rows of cells like text/tabwriter.NewWriter(w, 5, 0, padding, ' ', 0): every column but the last padded to its widest cell + padding (at least 5), trailing padding kept. */
export function tabwrite(rows: string[][], padding = 3): string {
  const widths: number[] = [];
  for (const row of rows) row.slice(0, -1).forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length + padding, 5)));
  return rows.map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell)).join('')).map((l) => `${l}\n`).join('');
}

/** `ip:port`, or `[ip]:port` for an IPv6 address, as the agent's L3n4Addr prints a frontend or backend. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Renders `cilium-dbg service list`; IDs count from 1 in the order given unless a frontend carries its own. */
export function renderServiceList(frontends: CiliumFrontend[]): string {
  const rows: string[][] = [['ID', 'Frontend', 'Service Type', 'Backend']];
  frontends.forEach((f, i) => {
    const proto = `/${f.protocol}`;
    const backends = f.backends.map((b, j) => `${j + 1} => ${hostPort(b.address, b.port)}${proto} (active)`);
    rows.push([String(f.id ?? i + 1), `${hostPort(f.address, f.port)}${proto}`, f.type, backends[0] ?? '']);
    for (const b of backends.slice(1)) rows.push(['', '', '', b]);
  });
  return tabwrite(rows);
}

/** Renders `cilium-dbg bpf lb list`: per frontend its master entry (slot 0) and a slot per backend, with the frontend's ID as REVNAT_ID. */
export function renderBpfLbList(frontends: CiliumFrontend[]): string {
  const rows: string[][] = [['SERVICE ADDRESS', 'BACKEND ADDRESS (REVNAT_ID) (SLOT)']];
  frontends.forEach((f, i) => {
    const id = f.id ?? i + 1;
    const fe = `${hostPort(f.address, f.port)}/${f.protocol}`;
    const none = f.address.includes(':') ? '[::]:0' : '0.0.0.0:0';
    rows.push([`${fe} (0)`, `${none} (${id}) (0) [${f.type}, non-routable]`]);
    f.backends.forEach((b, j) => rows.push([`${fe} (${j + 1})`, `${hostPort(b.address, b.port)}/${f.protocol} (${id}) (${j + 1})`]));
  });
  return tabwrite(rows, 2);
}

/** What the agent's status summary reports, from the lab's state. */
export interface CiliumStatus {
  kubernetesVersion: string;
  ciliumVersion: string;
  kubeProxyReplacement: boolean;
  device: string;
  nodeIP: string;
  podCIDR: string;
  /** Addresses in use from the node's pod CIDR (its pods and the router address). */
  allocated: number;
  nodesReachable: number;
  nodes: number;
}

/** Renders the summary lines of `cilium-dbg status` (tunnel mode, legacy host routing, iptables masquerading). */
export function renderStatus(s: CiliumStatus): string {
  const size = 2 ** (32 - Number(s.podCIDR.split('/')[1])) - 2;
  const [major, minor] = s.kubernetesVersion.replace(/^v/, '').split('.');
  const rows: [string, string][] = [
    ['KVStore:', 'Disabled'],
    ['Kubernetes:', `Ok   ${major}.${minor} (${s.kubernetesVersion}) [linux/amd64]`],
    ['KubeProxyReplacement:', s.kubeProxyReplacement ? `True   [${s.device}   ${s.nodeIP} (Direct Routing)]` : 'False'],
    ['Cilium:', `Ok   ${s.ciliumVersion.replace(/^v/, '')} (${s.ciliumVersion})`],
    ['IPAM:', `IPv4: ${s.allocated}/${size} allocated from ${s.podCIDR}, `],
    ['Routing:', 'Network: Tunnel [vxlan]   Host: Legacy'],
    ['Masquerading:', 'IPTables [IPv4: Enabled, IPv6: Disabled]'],
    ['Cluster health:', `${s.nodesReachable}/${s.nodes} reachable`],
  ];
  // The agent's labels sit in a 25-character column (`KubeProxyReplacement:` and four spaces).
  return rows.map(([label, value]) => `${label.padEnd(25)}${value}\n`).join('');
}

/** What `cilium-dbg <args>` answers in the lab: `service list`, `bpf lb list`, `status`, or an error for anything else. */
export function runCiliumDbg(args: string[], frontends: CiliumFrontend[], status?: CiliumStatus): { stdout: string; stderr: string; exitCode: number } {
  const cmd = args.join(' ');
  if (cmd === 'service list') return { stdout: renderServiceList(frontends), stderr: '', exitCode: 0 };
  if (cmd === 'bpf lb list') return { stdout: renderBpfLbList(frontends), stderr: '', exitCode: 0 };
  if (cmd === 'status' && status !== undefined) return { stdout: renderStatus(status), stderr: '', exitCode: 0 };
  return { stdout: '', stderr: `Error: the lab's cilium-dbg answers only "service list", "bpf lb list" and "status" (got "${cmd}")\n`, exitCode: 1 };
}
