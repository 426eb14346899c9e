/**
 * Verdicts the diagnosis matrix (test/e2e/diagnose-matrix.test.ts) found wrong on one cluster shape, as unit cases:
 * Cilium's kube-proxy replacement (its Service map not inspectable) with the overlay blocked into one node.
 */
import { describe, expect, it } from 'vitest';
import { decideVerdict } from '../../src/core/diagnose/index.ts';
import type { ProbeResult } from '../../src/core/model.ts';
import { clusterIp, input, podIp, sameNode } from './verdict-cases.ts';

/** Cilium's Service map on node-1, which the plugin does not read (natWithoutExec). */
const ciliumMap: ProbeResult = {
  spec: { id: 'nat-cilium', rung: 'node-checks', check: 'nat-rules', where: { kind: 'node-pod', node: 'node-1', hostNetwork: true }, action: { tool: 'nat-rules', clusterIP: '10.96.1.1', port: 80, protocol: 'TCP', proxy: 'cilium' }, command: ['cilium-dbg', 'service', 'list'], timeoutMs: 2000 },
  observation: { kind: 'not-inspectable', what: "Cilium's Service map", reason: 'eBPF', command: 'cilium-dbg service list' },
  durationMs: 0,
};

describe('verdicts the diagnosis matrix caught', () => {
  it("Cilium replacing kube-proxy, VXLAN dropped into node-2: the path explains the ClusterIP's failure, not a missing proxy rule", () => {
    // web-1 on node-2 answers on its own node but not from node-1; another backend answers from node-1.
    const other = podIp({ kind: 'connected' });
    const local: ProbeResult = { ...other, spec: { ...other.spec, id: 'pod-ip-node-1', action: { tool: 'tcp-connect', host: '10.244.1.9', port: 8080 } } };
    const out = decideVerdict(input({ network: 'cilium', observations: [clusterIp({ kind: 'timeout' }), local, podIp({ kind: 'timeout' }), sameNode({ kind: 'connected' })], nodeChecks: [ciliumMap] }));
    expect(out.verdict).toMatchObject({ cause: 'OVERLAY_BLOCKED', status: 'degraded' });
    expect(out.findings.map((f) => f.cause)).not.toContain('SERVICE_PROXY_RULES_MISSING');
  });

  it('Cilium replacing kube-proxy, every backend answering directly while the ClusterIP fails: still the service proxy', () => {
    const out = decideVerdict(input({ network: 'cilium', observations: [clusterIp({ kind: 'timeout' }), podIp({ kind: 'connected' }), sameNode({ kind: 'connected' })], nodeChecks: [ciliumMap] }));
    expect(out.verdict).toMatchObject({ cause: 'SERVICE_PROXY_RULES_MISSING', node: 'node-1' });
  });
});
