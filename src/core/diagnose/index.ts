/**
 * The diagnosis: a pure function from the API's static findings and the probe results to ranked findings and rung
 * summaries. Rules (rules/, one per cause) run in layers over one read-only context; rank.ts orders what they found;
 * explain.ts cites symptoms on the root cause and says why not the others. The first finding is the verdict.
 */
import type { Finding, RungResult } from '../model.ts';
import { buildContext, type DiagnosisContext, type VerdictInput } from './context.ts';
import { attachSymptoms, renderFinding, ruleOut } from './explain.ts';
import { rankFindings } from './rank.ts';
import { RULE_LAYERS, type Rule, type RuleFinding } from './rule.ts';
import { RULES } from './rules/index.ts';
import { summarizeRungs } from './rungs.ts';

export type { VerdictInput } from './context.ts';
export { CAUSE_RANK, rankFindings } from './rank.ts';

/** What the diagnosis decides: ranked findings (the first is the verdict) and the rung summaries. */
export interface VerdictOutput {
  findings: Finding[];
  verdict: Finding;
  rungs: RungResult[];
}

/** Runs the rules layer by layer: each rule reads the context and the findings of the layers before its own. */
export function runRules(ctx: DiagnosisContext, rules: readonly Rule[] = RULES): RuleFinding[] {
  const found: RuleFinding[] = [];
  for (const layer of RULE_LAYERS) {
    const prior = [...found];
    for (const rule of rules) if (rule.layer === layer) found.push(...rule.find(ctx, prior));
  }
  return found;
}

/** Decides the ranked findings and the verdict (pure); `rules` may be given in any order with the same result. */
export function decideVerdict(input: VerdictInput, rules: readonly Rule[] = RULES): VerdictOutput {
  const ctx = buildContext(input);
  const index = new Map(ctx.all.map((r, i) => [r.spec.id, i]));
  const ranked = attachSymptoms(ctx, rankFindings(runRules(ctx, rules), (id) => index.get(id) ?? Infinity));
  const byId = new Map(ctx.all.map((r) => [r.spec.id, r]));
  const findings = ranked.map((f) => renderFinding(byId, f));
  const [first, ...others] = findings;
  if (!first) throw new Error('the diagnosis made no finding: a conclusion rule is missing');
  const ruledOut = ruleOut(ctx, first, others);
  const verdict: Finding = ruledOut.length > 0 ? { ...first, ruledOut } : first;
  return { findings: [verdict, ...others], verdict, rungs: summarizeRungs(input.observations) };
}
