/**
 * A run with the API's datapath facts: the planner picks the NAT check by the proxy the API names and walks FORWARD
 * for the flow; Cilium's check is answered without an exec; the nodes' own checks settle `iptablesBackend` (and a
 * proxy the API left unknown).
 */
import { describe, expect, it } from 'vitest';
import type { ProbeSpec, RunEvent } from '../../src/core/model.ts';
import type { DatapathApiFacts } from '../../src/core/datapath.ts';
import { runDiagnosis } from '../../src/run.ts';
import { buildFacts, createFakeCluster, createFakeProber, healthyAnswer, realClock, type Answer } from './fakes.ts';

async function runWith(datapath: DatapathApiFacts, answer: Answer = healthyAnswer) {
  const prober = createFakeProber({ answer });
  const events: RunEvent[] = [];
  const report = await runDiagnosis({
    runId: 'run-1',
    source: { kind: 'pod', namespace: 'front', name: 'client' },
    destination: { kind: 'service', namespace: 'shop', name: 'web', port: { kind: 'number', number: 80 } },
    cluster: createFakeCluster(buildFacts(undefined, undefined, { datapath })),
    makeProber: () => prober,
    opts: { timeoutMs: 2000 },
    emit: (e) => void events.push(e),
    clock: realClock,
  });
  const specs = events.flatMap((e) => (e.type === 'probe-started' ? [e.probe] : []));
  const finished = events.flatMap((e) => (e.type === 'probe-finished' ? [e.result] : []));
  return { report, prober, specs, finished };
}

const mode = (m: string): DatapathApiFacts => ({ daemonSets: ['kube-system/kube-proxy', 'kube-flannel/kube-flannel-ds'], unreadable: [], kubeProxy: { mode: m } });

describe('runs on each service proxy', () => {
  it('reads the proxy the API names and walks FORWARD for the flow', async () => {
    const { specs } = await runWith(mode('nftables'));
    const nat = specs.find((s) => s.check === 'nat-rules') as ProbeSpec;
    expect(nat.action).toEqual({ tool: 'nat-rules', clusterIP: '10.96.1.1', port: 80, protocol: 'TCP', proxy: 'nftables' });
    expect(nat.command).toEqual(['nft', 'list', 'table', 'ip', 'kube-proxy']);
    const fwd = specs.filter((s) => s.check === 'forward-policy');
    expect(fwd.map((s) => s.action)).toEqual([
      { tool: 'forward-policy', flow: { from: '10.244.1.5', to: ['10.244.2.7', '10.244.1.9'] } },
      { tool: 'forward-policy', flow: { from: '10.244.1.5', to: ['10.244.2.7', '10.244.1.9'] } },
    ]);
  });

  it('answers Cilium\'s check without an exec: not inspectable here, never a failure', async () => {
    const { report, prober, specs, finished } = await runWith({ daemonSets: ['kube-system/cilium'], unreadable: [], ciliumKubeProxyReplacement: 'true' });
    const nat = specs.find((s) => s.check === 'nat-rules') as ProbeSpec;
    expect(prober.log.some((l) => l.includes(nat.id))).toBe(false);
    expect(report.verdict.cause).toBe('HEALTHY');
    expect(finished.find((r) => r.spec.id === nat.id)?.observation).toEqual({
      kind: 'not-inspectable',
      what: "Cilium's Service map",
      reason: "Cilium replaces kube-proxy with eBPF maps that only its agent reads: not inspectable from a node's debug pod",
      command: 'kubectl -n kube-system exec <cilium pod on node-1> -- cilium-dbg service list (its pod: kubectl -n kube-system get pods -l k8s-app=cilium --field-selector spec.nodeName=node-1)',
    });
  });

  it("takes iptablesBackend from the backend that held kube-proxy's rules, and a proxy the API left unknown from the rules found", async () => {
    const answer: Answer = (spec) =>
      spec.action.tool === 'nat-rules'
        ? { kind: 'nat-rules', clusterIP: spec.action.clusterIP, port: spec.action.port, present: true, endpoints: ['10.244.2.7:8080'], proxy: 'iptables', backend: 'legacy' }
        : spec.action.tool === 'forward-policy'
          ? { kind: 'forward-policy', policy: 'ACCEPT', verdict: 'accept', backend: 'nft' }
          : healthyAnswer(spec);
    const { report } = await runWith({ daemonSets: [], unreadable: [] }, answer);
    expect(report.datapath).toMatchObject({ serviceProxy: 'iptables', iptablesBackend: 'legacy' });
    expect(report.datapath?.evidence).toContain("node node-1: kube-proxy's rules in iptables-legacy");
  });

  it('takes iptablesBackend from the FORWARD chain when no iptables proxy rules were read (nftables mode)', async () => {
    const answer: Answer = (spec) =>
      spec.action.tool === 'forward-policy' ? { kind: 'forward-policy', policy: 'ACCEPT', verdict: 'accept', backend: 'nft' } : healthyAnswer(spec);
    const { report } = await runWith(mode('nftables'), answer);
    expect(report.datapath).toMatchObject({ serviceProxy: 'nftables', iptablesBackend: 'nft' });
  });
});
