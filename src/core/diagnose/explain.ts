/**
 * Explaining the ranked findings: the failures a root fault causes are cited as its symptoms on the root that ranks
 * first; each finding's evidence is rendered from its citations; the verdict says why the other candidates are not
 * the answer (rungs that passed, findings that rank below it).
 */
import { CAUSE_COMPONENTS, type Finding, type ProbeResult, type RungId } from '../model.ts';
import type { DiagnosisContext } from './context.ts';
import { describeEvidence } from './describe.ts';
import { whyBelow } from './rank.ts';
import type { RuleFinding } from './rule.ts';
import { cite } from './rule.ts';

/**
 * The failures a root fault explains and no finding cites yet: the ClusterIP's failures, then the pod IP's and the
 * DNS lookups that got nothing back.
 */
function uncitedSymptoms(ctx: DiagnosisContext, ranked: readonly RuleFinding[]): ProbeResult[] {
  const cited = new Set(ranked.flatMap((f) => f.citations.map((c) => c.probe)));
  const unreachable = ctx.failedAs('unreachable');
  return [
    ...ctx.failing(ctx.rung('cluster-ip')),
    ...ctx.failing(ctx.rung('pod-ip')).filter(unreachable),
    ...ctx.failing(ctx.rung('dns')).filter(unreachable),
  ].filter((r) => !cited.has(r.spec.id));
}

/** Cites the uncited symptoms on the root fault that ranks first (findings already ranked; returns new findings). */
export function attachSymptoms(ctx: DiagnosisContext, ranked: readonly RuleFinding[]): RuleFinding[] {
  const root = ranked.find((f) => f.root === true);
  if (!root) return [...ranked];
  const symptoms = uncitedSymptoms(ctx, ranked);
  return ranked.map((f) => (f === root && symptoms.length > 0 ? { ...f, citations: [...f.citations, ...cite('symptom', symptoms)] } : f));
}

/** Renders a rule finding into the output contract: evidence from its facts and citations. */
export function renderFinding(byId: ReadonlyMap<string, ProbeResult>, f: RuleFinding): Finding {
  const lines = f.citations.flatMap((c) => {
    const r = byId.get(c.probe);
    return r ? [`${c.role === 'symptom' ? 'explains: ' : ''}${describeEvidence(r)}`] : [];
  });
  return {
    status: f.status,
    cause: f.cause,
    component: CAUSE_COMPONENTS[f.cause],
    ...(f.node !== undefined ? { node: f.node } : {}),
    ...(f.object !== undefined ? { object: f.object } : {}),
    summary: f.summary,
    evidence: [...(f.facts ?? []), ...lines],
    citations: f.citations.map((c) => ({ ...c })),
    hints: [...f.hints],
  };
}

/** What a rung that passed rules out. */
const PASSED_RULES_OUT: Record<RungId, string> = {
  dns: 'not DNS: the name resolves',
  'cluster-ip': 'not the Service or its proxy: the ClusterIP answers',
  'pod-ip': 'not the destination: it answers on its own address',
  'same-node': 'not the application or its node: it answers from a pod on its own node',
  'node-origin': "not the nodes' own network: it answers from the nodes",
};

/** Why not the others: the rungs that passed, then each other fault and why it ranks below the verdict. */
export function ruleOut(ctx: DiagnosisContext, verdict: Finding, others: readonly Finding[]): string[] {
  if (verdict.status === 'healthy') return [];
  const passed = (Object.keys(PASSED_RULES_OUT) as RungId[]).filter((id) => {
    const rs = ctx.rung(id);
    return rs.length > 0 && ctx.passing(rs).length === rs.length;
  });
  const lower = others.filter((f) => f.status !== 'healthy' && f.cause !== 'CHECKS_COULD_NOT_RUN');
  return [
    ...passed.map((id) => `${PASSED_RULES_OUT[id]} (${id} passed)`),
    ...lower.map((f) => `${f.cause}${f.node ? ` on node ${f.node}` : f.object ? ` (${f.object})` : ''}: ranks below, ${whyBelow(verdict, f)}`),
  ];
}
