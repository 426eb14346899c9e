/** Node checks read against the verdict by its citations: the cited cause fails, a cited reference is evidence. */
import { describe, expect, it } from 'vitest';
import { decideVerdict } from '../../src/core/diagnose/index.ts';
import { readNodeCheck } from '../../src/core/node-checks.ts';
import { clusterIp, input, podIp } from './verdict-cases.ts';
import type { ProbeResult } from '../../src/core/model.ts';

const nat = (node: string, present: boolean, id: string): ProbeResult => ({
  spec: { id, rung: 'node-checks', check: 'nat-rules', where: { kind: 'node-pod', node, hostNetwork: true }, action: { tool: 'nat-rules', clusterIP: '10.96.1.1', port: 80, protocol: 'TCP' }, command: ['iptables-save', '-t', 'nat'], timeoutMs: 2000 },
  observation: { kind: 'nat-rules', clusterIP: '10.96.1.1', port: 80, present, endpoints: present ? ['10.244.2.7:8080'] : [] },
  durationMs: 3,
});

describe('readNodeCheck', () => {
  it('SERVICE_PROXY_RULES_MISSING: missing NAT rules are the cause (✗), the pod answering is only its reference', () => {
    const missing = nat('node-1', false, 'nat-missing');
    const out = decideVerdict(input({ observations: [clusterIp({ kind: 'timeout' }), podIp({ kind: 'connected' })], nodeChecks: [missing] }));
    expect(out.verdict.cause).toBe('SERVICE_PROXY_RULES_MISSING');
    expect(readNodeCheck(missing, out.verdict)).toEqual({ judged: 'fail', role: 'cause' });
  });

  it('NAT rules that are present read as evidence, not as a failure, even when the verdict cites them', () => {
    const present = nat('node-1', true, 'nat-present');
    const out = decideVerdict(input({ observations: [clusterIp({ kind: 'timeout' }), podIp({ kind: 'connected' })], nodeChecks: [present] }));
    expect(out.verdict.cause).toBe('SERVICE_PROXY_RULES_MISSING');
    expect(out.verdict.citations).toContainEqual({ probe: 'nat-present', role: 'reference' });
    expect(readNodeCheck(present, out.verdict)).toEqual({ judged: 'ok', role: 'evidence' });
  });

  it('a healthy verdict marks nothing', () => {
    const present = nat('node-1', true, 'nat-ok');
    const out = decideVerdict(input({ observations: [clusterIp({ kind: 'connected' }), podIp({ kind: 'connected' })], nodeChecks: [present] }));
    expect(out.verdict.cause).toBe('HEALTHY');
    expect(readNodeCheck(present, out.verdict)).toEqual({ judged: 'ok' });
  });

  it("a FORWARD walk unsure of its DROP ending (Calico's chains under FORWARD DROP) reads ✓ on a healthy run, and stays a warning while a probe fails", () => {
    const forward: ProbeResult = {
      spec: { id: 'fwd', rung: 'node-checks', check: 'forward-policy', where: { kind: 'node-pod', node: 'node-1', hostNetwork: true }, action: { tool: 'forward-policy', flow: { from: '192.168.14.67', to: ['192.168.149.130'] } }, command: ['sh'], timeoutMs: 2000 },
      observation: { kind: 'forward-policy', policy: 'DROP', verdict: 'unsure', backend: 'legacy', decidedBy: '-P FORWARD DROP' },
      durationMs: 3,
    };
    const healthy = decideVerdict(input({ observations: [clusterIp({ kind: 'connected' }), podIp({ kind: 'connected' })], nodeChecks: [forward] }));
    expect(healthy.verdict.cause).toBe('HEALTHY');
    expect(readNodeCheck(forward, healthy.verdict, 'calico-vxlan')).toEqual({ judged: 'ok', role: 'got-through' });
    const failing = decideVerdict(input({ observations: [clusterIp({ kind: 'timeout' }), podIp({ kind: 'connected' })], nodeChecks: [forward] }));
    expect(failing.verdict.status).not.toBe('healthy');
    expect(readNodeCheck(forward, failing.verdict, 'calico-vxlan').judged).toBe('warn');
  });

  it("an unsure FORWARD walk is no NODE_FORWARD_DROP on a node a probe of the flow got through, and still is where none did", () => {
    const unsure = (node: string): ProbeResult => ({
      spec: { id: `fwd-${node}`, rung: 'node-checks', check: 'forward-policy', where: { kind: 'node-pod', node, hostNetwork: true }, action: { tool: 'forward-policy', flow: { from: '10.244.1.5', to: ['10.244.2.7'] } }, command: ['sh'], timeoutMs: 2000 },
      observation: { kind: 'forward-policy', policy: 'DROP', verdict: 'unsure', backend: 'legacy', decidedBy: '-P FORWARD DROP' },
      durationMs: 3,
    });
    // The ClusterIP fails, the pod IP answers: node-1's and node-2's chains passed the flow; the NAT rules are what is missing.
    const crossed = decideVerdict(input({ observations: [clusterIp({ kind: 'timeout' }), podIp({ kind: 'connected' })], nodeChecks: [unsure('node-1'), unsure('node-2'), nat('node-1', false, 'nat-gone')] }));
    expect(crossed.verdict.cause).toBe('SERVICE_PROXY_RULES_MISSING');
    expect(crossed.findings.map((f) => f.cause)).not.toContain('NODE_FORWARD_DROP');
    // Nothing got through: the unsure DROP ending still names the FORWARD chain.
    const blocked = decideVerdict(input({ observations: [clusterIp({ kind: 'timeout' }), podIp({ kind: 'timeout' })], nodeChecks: [unsure('node-2')] }));
    expect(blocked.findings.map((f) => f.cause)).toContain('NODE_FORWARD_DROP');
  });

  it("an unsure FORWARD walk read exactly as on a node the flow got through is no NODE_FORWARD_DROP; one that lost an accept rule still is", () => {
    // Calico's FORWARD chain under DROP, as the walk leaves it unsure (its accept hangs on interfaces and a mark).
    const calico = ['-A FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD', '-A FORWARD -m comment --comment "cali:S93hcgKJrXEqnTfs" -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT'];
    const walked = (node: string, unjudged: string[]): ProbeResult => ({
      spec: { id: `fwd-${node}`, rung: 'node-checks', check: 'forward-policy', where: { kind: 'node-pod', node, hostNetwork: true }, action: { tool: 'forward-policy', flow: { from: '10.244.1.5', to: ['10.244.1.9', '10.244.2.7'] } }, command: ['sh'], timeoutMs: 2000 },
      observation: { kind: 'forward-policy', policy: 'DROP', verdict: 'unsure', backend: 'legacy', decidedBy: '-P FORWARD DROP', unjudged },
      durationMs: 3,
    });
    // The source's own-node backend answers (the flow crossed node-1's chain); web-1 on node-2 does not.
    const local: ProbeResult = { ...podIp({ kind: 'connected' }), spec: { ...podIp({ kind: 'connected' }).spec, id: 'pod-ip-local', action: { tool: 'tcp-connect', host: '10.244.1.9', port: 8080 } } };
    const observations = [clusterIp({ kind: 'timeout' }), local, podIp({ kind: 'timeout' })];
    const alike = decideVerdict(input({ observations, nodeChecks: [walked('node-1', calico), walked('node-2', calico)] }));
    expect(alike.findings.map((f) => f.cause)).not.toContain('NODE_FORWARD_DROP');
    // forward-policy-drop on node-2 took felix's accept rule away: its walk reads differently, and is the fault.
    const lost = decideVerdict(input({ observations, nodeChecks: [walked('node-1', calico), walked('node-2', calico.slice(0, 1))] }));
    expect(lost.verdict).toMatchObject({ cause: 'NODE_FORWARD_DROP', node: 'node-2' });
  });
});
