/**
 * The diagnosis matrix: for every pod network × service proxy × iptables backend × FORWARD policy the lab builds (the
 * lab's own scenario validator decides which), the BUILT executable runs through the real kubectl on that network's
 * healthy scenario with the combination's cluster block, and on each fault example of that network (its
 * `<network>-<fault>.yaml` scenarios, flannel's unprefixed ones, plus kube-proxy-rules-missing on every network) with
 * the same cluster block overlaid.
 *
 * Healthy: HEALTHY, exit 0, no ✗ and no ! mark anywhere in the text report, and the datapath line (and the JSON
 * `datapath`) naming the combination's network, proxy and backend with nothing unsure. Fault: the expected cause,
 * component and node/object, exit 1, at most one ✗ node check, on the faulty node.
 *
 * CI runs a covering subset (`coveringSubset` below, deterministic): every network with the shape furthest from its
 * default, which puts every value of every dimension under a healthy run at least once, and every fault example of
 * every network at least once (kube-proxy-rules-missing on every chosen combination, since it is the proxy's own fault).
 * `npm run test:diagnose-matrix` (DIAGNOSE_MATRIX=full) runs every combination with every fault of its network;
 * DIAGNOSE_MATRIX_FILTER=<regular expression> narrows a run to the cases whose name matches (e.g. `^cilium ` or
 * `: overlay-lossy$`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { buildPlugin, nodeCheckLines, pluginEnv } from './plugin.ts';
import { run, scenarioPath, skipLabSuite, startTestLab } from '../lab/harness.ts';
import { parseScenario, ScenarioError } from '../lab/scenario.ts';

const skip = skipLabSuite('e2e diagnose matrix');

const NETWORKS = ['flannel', 'calico-vxlan', 'calico-bgp', 'cloud-routed', 'cilium'] as const;
const PROXIES = ['iptables', 'nftables', 'cilium'] as const;
const BACKENDS = ['nft', 'legacy'] as const;
const POLICIES = ['ACCEPT', 'DROP'] as const;
type Network = (typeof NETWORKS)[number];

/** One cluster shape: the four spec.cluster fields the matrix crosses. */
interface Combo {
  network: Network;
  serviceProxy: (typeof PROXIES)[number];
  iptablesBackend: (typeof BACKENDS)[number];
  forwardPolicy: (typeof POLICIES)[number];
}

/** The verdict fields a case pins down; node/object undefined means the verdict must not name one. */
interface Expected {
  status: 'healthy' | 'broken' | 'degraded';
  cause: string;
  component: string;
  node?: string;
  object?: string;
}

/** One fault example of a network: the scenario it comes from, the flow to diagnose and the verdict it must get. */
interface FaultCase {
  fault: string;
  /** A shipped scenario (name) holding the fault, or the healthy scenario of the network when `add` is set. */
  scenario: string;
  /** A fault added to `scenario` (for a fault a network has no shipped example of). */
  add?: Record<string, unknown>;
  src: string;
  dst: string;
  verdict: Expected;
}

/** A run of the matrix: a combination, and the fault case (undefined: the healthy scenario). */
interface MatrixCase {
  combo: Combo;
  fault?: FaultCase;
}

/** The healthy scenario of each network (each has a same-node and a cross-node backend of shop/web behind client). */
const HEALTHY: Record<Network, string> = {
  flannel: 'healthy-2-nodes',
  'calico-vxlan': 'healthy-calico-vxlan',
  'calico-bgp': 'healthy-calico-bgp',
  'cloud-routed': 'healthy-cloud-routed',
  cilium: 'healthy-cilium',
};

const client = { src: 'default/client', dst: 'shop/svc/web' };
const onNode = (cause: string, component: string, node: string): Expected => ({ status: 'broken', cause, component, node });

/** The fault examples of a network, each with the verdict the existing per-network suites pin on its default shape. */
function faultsOf(network: Network): FaultCase[] {
  const file = (fault: string): string => (network === 'flannel' ? fault : `${network}-${fault}`);
  const out: FaultCase[] = [
    { fault: 'ip-forward-off', scenario: file('ip-forward-off'), ...client, verdict: onNode('NODE_IP_FORWARD_DISABLED', 'node', 'node-2') },
    { fault: 'forward-policy-drop', scenario: file('forward-policy-drop'), ...client, verdict: onNode('NODE_FORWARD_DROP', 'node', 'node-2') },
    { fault: 'neighbor-stale', scenario: file('neighbor-stale'), ...client, verdict: onNode('NODE_NEIGHBOR_STALE', 'node', 'node-2') },
    network === 'flannel'
      ? { fault: 'kube-proxy-rules-missing', scenario: 'kube-proxy-rules-missing', ...client, verdict: onNode('SERVICE_PROXY_RULES_MISSING', 'kube-proxy', 'node-1') }
      : {
          fault: 'kube-proxy-rules-missing',
          scenario: HEALTHY[network],
          add: { type: 'kube-proxy-rules-missing', node: 'node-1', service: 'shop/web' },
          ...client,
          verdict: onNode('SERVICE_PROXY_RULES_MISSING', 'kube-proxy', 'node-1'),
        },
  ];
  if (network !== 'cloud-routed') out.push({ fault: 'pod-route-missing', scenario: file('pod-route-missing'), ...client, verdict: onNode('NODE_ROUTE_MISSING', 'node', 'node-1') });
  if (network === 'flannel' || network === 'calico-vxlan' || network === 'cilium') {
    out.push(
      { fault: 'mtu-mismatch', scenario: file('mtu-mismatch'), ...client, verdict: onNode('PATH_MTU_MISMATCH', 'overlay', 'node-2') },
      { fault: 'overlay-blocked', scenario: file('overlay-blocked'), ...client, verdict: { status: network === 'flannel' ? 'broken' : 'degraded', cause: 'OVERLAY_BLOCKED', component: 'overlay' } },
      { fault: 'overlay-lossy', scenario: file('overlay-lossy'), ...client, verdict: { status: 'degraded', cause: 'OVERLAY_PACKET_LOSS', component: 'overlay', node: 'node-1' } },
    );
  }
  if (network === 'calico-bgp' || network === 'cloud-routed') {
    out.push({ fault: 'underlay-blocked', scenario: file('underlay-blocked'), ...client, verdict: { status: 'degraded', cause: 'UNDERLAY_BLOCKED', component: 'network', node: 'node-2' } });
  }
  if (network === 'flannel') {
    out.push(
      { fault: 'bridge-nf-off', scenario: 'bridge-nf-off', ...client, verdict: onNode('NODE_BRIDGE_NF_DISABLED', 'node', 'node-1') },
      { fault: 'hairpin-off', scenario: 'hairpin-off', src: 'shop/web-1', dst: 'shop/svc/web', verdict: { ...onNode('NODE_HAIRPIN_DISABLED', 'node', 'node-2'), object: 'Pod/shop/web-1' } },
    );
  }
  return out;
}

const short: Record<string, string> = { flannel: 'fl', 'calico-vxlan': 'cvx', 'calico-bgp': 'cbgp', 'cloud-routed': 'cr', cilium: 'cil', iptables: 'ipt', nftables: 'nft', nft: 'nft', legacy: 'leg', ACCEPT: 'acc', DROP: 'drop' };

/** The scenario document of a case: its base scenario with the combination's cluster block (and the added fault). */
function scenarioDoc(c: MatrixCase): { metadata: { name: string }; spec: { cluster?: Record<string, unknown>; faults?: unknown[] } } {
  const doc = parse(readFileSync(scenarioPath(c.fault?.scenario ?? HEALTHY[c.combo.network]), 'utf8')) as ReturnType<typeof scenarioDoc>;
  const { network, serviceProxy, iptablesBackend, forwardPolicy } = c.combo;
  doc.metadata.name = ['mx', short[network], short[serviceProxy], short[iptablesBackend], short[forwardPolicy], c.fault?.fault ?? 'healthy'].join('-');
  doc.spec.cluster = { ...(doc.spec.cluster ?? {}), network, serviceProxy, iptablesBackend, forwardPolicy };
  if (c.fault?.add) doc.spec.faults = [...(doc.spec.faults ?? []), c.fault.add];
  return doc;
}

/** Why the lab refuses to build a case (its own validator's words), or undefined when it builds it. */
function refusal(c: MatrixCase): string | undefined {
  try {
    parseScenario(stringify(scenarioDoc(c)), 'matrix');
    return undefined;
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    throw e;
  }
}

/** Every combination the lab builds, decided by the lab's validator on the network's healthy scenario. */
const ALL_COMBOS: Combo[] = NETWORKS.flatMap((network) =>
  PROXIES.flatMap((serviceProxy) => BACKENDS.flatMap((iptablesBackend) => POLICIES.map((forwardPolicy) => ({ network, serviceProxy, iptablesBackend, forwardPolicy })))),
).filter((combo) => refusal({ combo }) === undefined);

/** The whole matrix: every buildable combination, healthy and with each fault example of its network. */
const FULL: MatrixCase[] = ALL_COMBOS.flatMap((combo) => [{ combo }, ...faultsOf(combo.network).map((fault) => ({ combo, fault }))]);

/**
 * The CI subset: per network the combinations furthest from the lab's default (each its healthy run), chosen so that
 * every network, proxy, backend and policy appears; each fault example of a network runs on one of its chosen
 * combinations in turn (round-robin, in the order faultsOf lists them), and kube-proxy-rules-missing on all of them.
 */
const CI_COMBOS: Combo[] = [
  { network: 'flannel', serviceProxy: 'nftables', iptablesBackend: 'legacy', forwardPolicy: 'DROP' },
  { network: 'calico-vxlan', serviceProxy: 'nftables', iptablesBackend: 'legacy', forwardPolicy: 'DROP' },
  { network: 'calico-bgp', serviceProxy: 'iptables', iptablesBackend: 'legacy', forwardPolicy: 'DROP' },
  { network: 'cloud-routed', serviceProxy: 'nftables', iptablesBackend: 'nft', forwardPolicy: 'ACCEPT' },
  { network: 'cilium', serviceProxy: 'cilium', iptablesBackend: 'legacy', forwardPolicy: 'ACCEPT' },
  { network: 'cilium', serviceProxy: 'nftables', iptablesBackend: 'nft', forwardPolicy: 'ACCEPT' },
];

/** The covering subset of `coveringSubset`'s doc comment, deterministic. */
function coveringSubset(): MatrixCase[] {
  return NETWORKS.flatMap((network) => {
    const combos = CI_COMBOS.filter((c) => c.network === network);
    const faults = faultsOf(network);
    return [
      ...combos.map((combo) => ({ combo })),
      ...faults.flatMap((fault, i) => (fault.fault === 'kube-proxy-rules-missing' ? combos.map((combo) => ({ combo, fault })) : [{ combo: combos[i % combos.length]!, fault }])),
    ];
  });
}

/**
 * The iptables backend the datapath must name: the combination's, except where the nodes hold no iptables table at all
 * (cloud-routed with kube-proxy in nftables mode: the lab's VPC-CNI-like network writes no rule, the proxy lives in its
 * own nft table), so nothing shows a backend and the report must not guess one; forward-policy-drop's `iptables -P
 * FORWARD DROP` makes the filter table, which shows it again.
 */
function backendShown(c: MatrixCase): Combo['iptablesBackend'] | 'unknown' {
  const none = c.combo.network === 'cloud-routed' && c.combo.serviceProxy === 'nftables' && c.fault?.fault !== 'forward-policy-drop';
  return none ? 'unknown' : c.combo.iptablesBackend;
}

const proxyLabel = (p: Combo['serviceProxy']): string => (p === 'cilium' ? 'cilium (no kube-proxy)' : `kube-proxy ${p}`);
const caseName = (c: MatrixCase): string =>
  `${c.combo.network} · ${c.combo.serviceProxy} · ${c.combo.iptablesBackend} · FORWARD ${c.combo.forwardPolicy}: ${c.fault ? c.fault.fault : 'healthy'}`;

/** The cases this run takes: the CI subset, or the whole matrix; DIAGNOSE_MATRIX_FILTER (a regular expression) narrows it by case name. */
const filter = process.env.DIAGNOSE_MATRIX_FILTER ? new RegExp(process.env.DIAGNOSE_MATRIX_FILTER) : undefined;
const CASES: MatrixCase[] = (process.env.DIAGNOSE_MATRIX === 'full' ? FULL : coveringSubset()).filter((c) => filter === undefined || filter.test(caseName(c)));

describe('the diagnosis matrix (no lab needed)', () => {
  it('the lab builds 34 combinations, and every fault example of a network on every combination of it', () => {
    expect(ALL_COMBOS.length).toBe(34);
    expect(FULL.flatMap((c) => (c.fault ? [[caseName(c), refusal(c)]] : [])).filter(([, r]) => r !== undefined)).toEqual([]);
  });

  it('the CI subset is buildable and covers every value of every dimension healthy, and every fault example of every network', () => {
    const ci = coveringSubset();
    const healthy = ci.filter((c) => !c.fault).map((c) => c.combo);
    for (const c of healthy) expect(ALL_COMBOS, JSON.stringify(c)).toContainEqual(c);
    expect(new Set(healthy.map((c) => c.network))).toEqual(new Set(NETWORKS));
    expect(new Set(healthy.map((c) => c.serviceProxy))).toEqual(new Set(PROXIES));
    expect(new Set(healthy.map((c) => c.iptablesBackend))).toEqual(new Set(BACKENDS));
    expect(new Set(healthy.map((c) => c.forwardPolicy))).toEqual(new Set(POLICIES));
    const ran = new Set(ci.flatMap((c) => (c.fault ? [`${c.combo.network}/${c.fault.fault}`] : [])));
    expect([...ran].sort()).toEqual(NETWORKS.flatMap((n) => faultsOf(n).map((f) => `${n}/${f.fault}`)).sort());
    const causes = new Set(ci.flatMap((c) => (c.fault ? [c.fault.verdict.cause] : [])));
    expect(causes).toEqual(new Set(FULL.flatMap((c) => (c.fault ? [c.fault.verdict.cause] : []))));
  });
});

describe.skipIf(skip)('kubectl netdebug end to end on every cluster shape the lab builds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'diagnose-matrix-'));
  beforeAll(buildPlugin, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // One plain test per case (it.each would cut the names short in reports and in -t).
  for (const c of CASES) it(caseName(c), async () => {
    const doc = scenarioDoc(c);
    const path = join(dir, `${doc.metadata.name}.yaml`);
    writeFileSync(path, stringify(doc));
    const { src, dst } = c.fault ?? client;
    const lab = await startTestLab(path);
    try {
      const env = pluginEnv(lab.kubeconfig, { NO_COLOR: '1' });
      const res = await run('kubectl', ['netdebug', src, dst, '-o', 'json'], { env, timeoutMs: 90_000 });
      const report = JSON.parse(res.stdout) as { verdict: Record<string, unknown>; datapath?: { network: string; serviceProxy: string; iptablesBackend: string; unsure: string[] } };
      const v = report.verdict;
      const expected: Expected = c.fault?.verdict ?? { status: 'healthy', cause: 'HEALTHY', component: 'none' };
      expect({ status: v.status, cause: v.cause, component: v.component, node: v.node, object: v.object }, String(v.summary)).toEqual({ node: undefined, object: undefined, ...expected });
      expect(res.code, res.stderr).toBe(c.fault ? 1 : 0);
      const { network, serviceProxy } = c.combo;
      const iptablesBackend = backendShown(c);
      expect({ network: report.datapath?.network, serviceProxy: report.datapath?.serviceProxy, iptablesBackend: report.datapath?.iptablesBackend }).toEqual({ network, serviceProxy, iptablesBackend });

      const text = await run('kubectl', ['netdebug', src, dst, '-o', 'text'], { env, timeoutMs: 90_000 });
      expect(text.code, text.stderr).toBe(c.fault ? 1 : 0);
      const datapathLine = text.stdout.split('\n').find((l) => l.startsWith('Datapath  '));
      const backendPart = iptablesBackend === 'unknown' ? '' : ` · iptables-${iptablesBackend}`;
      expect(datapathLine, text.stdout).toMatch(new RegExp(`^Datapath  ${network} · ${proxyLabel(serviceProxy).replace(/[()]/g, '\\$&')}${backendPart} · DNS [^ ]+$`));
      const checks = nodeCheckLines(text.stdout);
      expect(checks.length, text.stdout).toBeGreaterThan(0);
      if (!c.fault) {
        // No red mark and no warning anywhere on a healthy cluster: the ladder, the node checks and the verdict.
        expect(text.stdout.split('\n').filter((l) => /^\s*[✗!]/.test(l) || /\s[✗!]\s/.test(l)), text.stdout).toEqual([]);
        expect(text.stdout, text.stdout).toContain('Verdict  ✓ HEALTHY');
      } else {
        // The cause's own check is the one marked ✗, on its node, when a node check names it.
        const marked = checks.filter((l) => /^\s+✗/.test(l));
        expect(marked.every((l) => l.includes(expected.node ?? '')), text.stdout).toBe(true);
        expect(marked.length, text.stdout).toBeLessThanOrEqual(1);
      }
      const left = await lab.kubectl(['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-netdebug', '-o', 'name']);
      expect(left).toMatchObject({ code: 0, stdout: '' });
    } finally {
      await lab.down();
    }
  });
});
