/**
 * How the proxy and FORWARD checks read in a verdict: SERVICE_PROXY_RULES_MISSING's hint names the command of the mode
 * the node runs, and each new reading gets its own mark (a Local Service dropped on purpose and a NetworkPolicy drop are
 * worth a look, not a failure; Cilium's map is "could not look", never ✗; a DROP policy the walk saw accepted is ✓).
 */
import { describe, expect, it } from 'vitest';
import { decideVerdict } from '../../src/core/diagnose/index.ts';
import { judgeNodeCheck } from '../../src/core/node-checks.ts';
import type { ProbeObservation, ProbeResult } from '../../src/core/model.ts';
import { clusterIp, input, podIp } from './verdict-cases.ts';

const natResult = (obs: Extract<ProbeObservation, { kind: 'nat-rules' }>): ProbeResult => ({
  spec: {
    id: 'nat',
    rung: 'node-checks',
    check: 'nat-rules',
    where: { kind: 'node-pod', node: 'node-1', hostNetwork: true },
    action: { tool: 'nat-rules', clusterIP: '10.96.1.1', port: 80, protocol: 'TCP', ...(obs.proxy ? { proxy: obs.proxy } : {}) },
    command: [],
    timeoutMs: 2000,
  },
  observation: obs,
  durationMs: 1,
});
const missing = (extra: Partial<Extract<ProbeObservation, { kind: 'nat-rules' }>>) => natResult({ kind: 'nat-rules', clusterIP: '10.96.1.1', port: 80, present: false, endpoints: [], ...extra });

describe("SERVICE_PROXY_RULES_MISSING's hint names the mode's own command", () => {
  it.each([
    { name: 'nftables', obs: missing({ proxy: 'nftables' }), hint: 'on node node-1: nft list table ip kube-proxy | grep 10.96.1.1' },
    { name: 'iptables, legacy backend', obs: missing({ proxy: 'iptables', backend: 'legacy' }), hint: 'on node node-1: iptables-legacy-save -t nat | grep 10.96.1.1' },
    { name: 'ipvs', obs: missing({ proxy: 'ipvs' }), hint: 'on node node-1: ipvsadm -Ln -t 10.96.1.1:80; ip addr show dev kube-ipvs0' },
    { name: 'the policy-only reading', obs: missing({}), hint: 'on node node-1: iptables-save -t nat | grep 10.96.1.1' },
  ])('$name', ({ obs, hint }) => {
    const out = decideVerdict(input({ observations: [clusterIp({ kind: 'timeout' }), podIp({ kind: 'connected' })], nodeChecks: [obs] }));
    expect(out.verdict.cause).toBe('SERVICE_PROXY_RULES_MISSING');
    expect(out.verdict.hints[0]).toBe(hint);
  });
});

describe('node check marks of the new readings', () => {
  it.each([
    { name: 'rules present', obs: { kind: 'nat-rules', clusterIP: '10.96.1.1', port: 80, present: true, endpoints: ['10.244.2.7:8080'], proxy: 'nftables' }, want: 'ok' },
    { name: 'a Local Service dropped here on purpose', obs: { kind: 'nat-rules', clusterIP: '10.96.1.1', port: 80, present: true, endpoints: [], proxy: 'iptables', drops: 'no-local-endpoints' }, want: 'warn' },
    { name: 'rules missing', obs: { kind: 'nat-rules', clusterIP: '10.96.1.1', port: 80, present: false, endpoints: [], proxy: 'nftables' }, want: 'fail' },
    { name: "Cilium's map, not inspectable", obs: { kind: 'not-inspectable', what: 'x', reason: 'y', command: 'z' }, want: 'not-run' },
    { name: 'FORWARD DROP, the flow accepted by the walk', obs: { kind: 'forward-policy', policy: 'DROP', verdict: 'accept', backend: 'nft' }, want: 'ok' },
    { name: 'FORWARD, the walk ends in DROP', obs: { kind: 'forward-policy', policy: 'DROP', verdict: 'drop', backend: 'nft', decidedBy: '-P FORWARD DROP' }, want: 'fail' },
    { name: 'FORWARD, a NetworkPolicy chain drops it', obs: { kind: 'forward-policy', policy: 'ACCEPT', verdict: 'policy', backend: 'nft', decidedBy: '-A NETPOL-I-x -j DROP' }, want: 'warn' },
    { name: 'FORWARD, unsure', obs: { kind: 'forward-policy', policy: 'DROP', verdict: 'unsure', backend: 'nft', decidedBy: '-P FORWARD DROP' }, want: 'warn' },
    { name: 'FORWARD policy only, DROP', obs: { kind: 'forward-policy', policy: 'DROP' }, want: 'warn' },
  ] as { name: string; obs: ProbeObservation; want: string }[])('$name', ({ obs, want }) => {
    expect(judgeNodeCheck(obs)).toBe(want);
  });
});
