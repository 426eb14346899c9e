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
});
