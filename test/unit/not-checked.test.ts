/** The "Not checked" section: the Windows nodes a run could not enter, what did not run there and why. */
import { describe, expect, it } from 'vitest';
import type { ProbeLocation, ProbeResult } from '../../src/core/model.ts';
import { notCheckedLines, notCheckedNodes } from '../../src/report/not-checked.ts';

const windows = "node win-1 runs Windows (kubernetes.io/os=windows): netdebug's debug pods are Linux containers and cannot run there";
const result = (rung: ProbeResult['spec']['rung'], where: ProbeLocation, reason: string | undefined, check?: ProbeResult['spec']['check']): ProbeResult => ({
  spec: { id: `${rung}:${check ?? 'x'}`, rung, where, action: { tool: 'links' }, command: [], timeoutMs: 1000, ...(check ? { check } : {}) },
  observation: reason === undefined ? { kind: 'connected' } : { kind: 'could-not-run', reason },
  durationMs: 1,
} as ProbeResult);
const onWin: ProbeLocation = { kind: 'node-pod', node: 'win-1', hostNetwork: true };

describe('what a run could not check on a Windows node', () => {
  it('groups the rungs and node checks refused on each Windows node, and says why and where to look instead', () => {
    const results = [
      result('same-node', { kind: 'node-pod', node: 'win-1', hostNetwork: false }, windows),
      result('node-checks', onWin, windows, 'ip-forward'),
      result('node-checks', onWin, windows, 'forward-policy'),
      result('node-checks', onWin, windows, 'forward-policy'),
      result('node-checks', { kind: 'node-pod', node: 'node-1', hostNetwork: true }, undefined, 'ip-forward'),
      // Not run for another reason (RBAC): not a Windows node's limit.
      result('node-checks', { kind: 'node-pod', node: 'node-2', hostNetwork: true }, 'RBAC: this user may not create pods in namespace default', 'ip-forward'),
    ];
    expect(notCheckedNodes(results, 'node-1')).toMatchObject([{ node: 'win-1', rungs: ['same-node'], checks: ['ip-forward', 'forward-policy'] }]);
    const lines = notCheckedLines(results, 'node-1');
    expect(lines[0]).toBe(
      "· node win-1: the probes there of rungs same-node; node checks ip-forward, forward-policy not run: it runs Windows: netdebug's debug image (netbox) is a Linux container, and the node has no Linux network namespace, sysctls, iptables or neighbor table to read (Windows forwards pod traffic through HNS/VFP)",
    );
    expect(lines[1]).toMatch(/^ {2}the verdict rests only on what ran elsewhere; look on the node .*hnsdiag list all/);
  });

  it("counts the source pod's refused probes on the source's node", () => {
    const refused = "pod shop/iis-1 runs on node win-1, a Windows node (kubernetes.io/os=windows): netdebug's debug container is a Linux image (netbox) that cannot run in a Windows pod";
    expect(notCheckedNodes([result('dns', { kind: 'source-pod' }, refused), result('pod-ip', { kind: 'source-pod' }, refused)], 'win-1')).toMatchObject([{ node: 'win-1', rungs: ['dns', 'pod-ip'], checks: [] }]);
  });

  it('says nothing when every location could be entered', () => {
    expect(notCheckedLines([result('pod-ip', { kind: 'source-pod' }, undefined)], 'node-1')).toEqual([]);
  });
});
