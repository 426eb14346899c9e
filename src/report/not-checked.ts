/**
 * What a run could not check on nodes netdebug cannot enter (a Windows node, the source pod on one), grouped per node:
 * which rungs and node checks did not run, why, and what to look at there instead. Pure: read from the probe results.
 */
import type { ProbeResult } from '../core/model.ts';
import { WINDOWS_OS_LABEL } from '../core/privilege.ts';

/** One node netdebug could not look into: what did not run there, why, and where to look instead. */
export interface NotChecked {
  node: string;
  /** The ladder rungs whose probes there (from the source pod on it, or from a pod on the node) did not run. */
  rungs: string[];
  /** The node checks that did not run there, by check id, in first-seen order. */
  checks: string[];
  why: string;
  instead: string;
}

/** Why nothing of netdebug runs on a Windows node, in one sentence. */
const WINDOWS_WHY =
  "it runs Windows: netdebug's debug image (netbox) is a Linux container, and the node has no Linux network namespace, sysctls, iptables or neighbor table to read (Windows forwards pod traffic through HNS/VFP)";
/** What to look at on a Windows node instead. */
const WINDOWS_INSTEAD = 'on the node (RDP or a HostProcess pod): hnsdiag list all; Get-NetRoute; Get-NetNeighbor; from the pod: Test-NetConnection <address> -Port <port>';

/**
 * The Windows nodes a run could not look into, each with the rungs and node checks that did not run there; empty when
 * every probe's location could be entered. The source pod counts as its node (`sourceNode`).
 */
export function notCheckedNodes(results: readonly ProbeResult[], sourceNode: string): NotChecked[] {
  const byNode = new Map<string, NotChecked>();
  for (const r of results) {
    const o = r.observation;
    if (o.kind !== 'could-not-run' || !o.reason.includes(WINDOWS_OS_LABEL)) continue;
    const node = r.spec.where.kind === 'node-pod' ? r.spec.where.node : sourceNode;
    const entry = byNode.get(node) ?? { node, rungs: [], checks: [], why: WINDOWS_WHY, instead: WINDOWS_INSTEAD };
    if (r.spec.rung === 'node-checks') {
      const check = r.spec.check ?? r.spec.action.tool;
      if (!entry.checks.includes(check)) entry.checks.push(check);
    } else if (!entry.rungs.includes(r.spec.rung)) {
      entry.rungs.push(r.spec.rung);
    }
    byNode.set(node, entry);
  }
  return [...byNode.values()];
}

/** The lines of the text report's "Not checked" section (no heading); empty when there is nothing to say. */
export function notCheckedLines(results: readonly ProbeResult[], sourceNode: string): string[] {
  return notCheckedNodes(results, sourceNode).flatMap((n) => {
    const what = [
      ...(n.rungs.length > 0 ? [`the probes there of rungs ${n.rungs.join(', ')}`] : []),
      ...(n.checks.length > 0 ? [`node checks ${n.checks.join(', ')}`] : []),
    ].join('; ');
    return [`· node ${n.node}: ${what} not run: ${n.why}`, `  the verdict rests only on what ran elsewhere; look ${n.instead}`];
  });
}
