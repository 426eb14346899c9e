/**
 * `cilium-dbg service list` as the Cilium agent prints it, rendered from the lab's Services and EndpointSlices: one row
 * per frontend (ClusterIP:port/protocol) with an ID, the Service type and its ready backends numbered `1 => ip:port/proto
 * (active)`, laid out like Go's tabwriter with cilium's settings (minimum cell width 5, padding 3).
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

/** Aligns rows of cells like text/tabwriter.NewWriter(w, 5, 0, 3, ' ', 0): every column but the last padded to its widest cell + 3 (at least 5), trailing padding kept. */
export function tabwrite(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.slice(0, -1).forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length + 3, 5)));
  return rows.map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell)).join('')).map((l) => `${l}\n`).join('');
}

/** Renders `cilium-dbg service list`; IDs count from 1 in the order given unless a frontend carries its own. */
export function renderServiceList(frontends: CiliumFrontend[]): string {
  const rows: string[][] = [['ID', 'Frontend', 'Service Type', 'Backend']];
  frontends.forEach((f, i) => {
    const proto = `/${f.protocol}`;
    const backends = f.backends.map((b, j) => `${j + 1} => ${b.address}:${b.port}${proto} (active)`);
    rows.push([String(f.id ?? i + 1), `${f.address}:${f.port}${proto}`, f.type, backends[0] ?? '']);
    for (const b of backends.slice(1)) rows.push(['', '', '', b]);
  });
  return tabwrite(rows);
}

/** What `cilium-dbg <args>` answers in the lab: the service list, or the usage error for anything else. */
export function runCiliumDbg(args: string[], frontends: CiliumFrontend[]): { stdout: string; stderr: string; exitCode: number } {
  if (args[0] === 'service' && args[1] === 'list' && args.length === 2) return { stdout: renderServiceList(frontends), stderr: '', exitCode: 0 };
  return { stdout: '', stderr: `Error: the lab's cilium-dbg answers only "service list" (got "${args.join(' ')}")\n`, exitCode: 1 };
}
