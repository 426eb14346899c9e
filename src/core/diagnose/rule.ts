/**
 * What a rule is: one cause, the layer it runs in, and a pure function from the context (and the findings of earlier
 * layers) to the findings it makes. Findings cite probe results by id with a role; their text evidence is rendered
 * from those citations in one place (explain.ts).
 */
import type { Cause, Citation, CitationRole, FindingStatus, ProbeResult } from '../model.ts';
import type { DiagnosisContext } from './context.ts';

/**
 * When a rule runs. `facts`: reads only the context (API facts and node checks: definitive misconfigurations).
 * `ladder`: interprets the ladder's failures and may read the `facts` findings (a failure a fact explains is a symptom,
 * not a second fault). `conclusion`: reads every finding (healthy, or could not tell). Within a layer, rules are
 * independent: they run in any order with the same result.
 */
export type RuleLayer = 'facts' | 'ladder' | 'conclusion';

/** The layers in the order they run. */
export const RULE_LAYERS: readonly RuleLayer[] = ['facts', 'ladder', 'conclusion'];

/** A finding as a rule makes it: the cause and where, the evidence as citations, the fix. */
export interface RuleFinding {
  cause: Cause;
  status: FindingStatus;
  node?: string;
  object?: string;
  summary: string;
  /** Evidence that is no probe: what the API said (e.g. `selector app=web matched 0 pods`). */
  facts?: string[];
  /** The probes the finding rests on, in the order a reader should see them. */
  citations: Citation[];
  hints: string[];
  /**
   * True when this fault, present, stops traffic by itself: the ladder's timeouts it causes are its symptoms (cited by
   * explain.ts on the root that ranks first), and no `ladder` rule blames another component for them.
   */
  root?: boolean;
}

/** One diagnosis rule: a module under rules/ exports one. */
export interface Rule {
  cause: Cause;
  layer: RuleLayer;
  /** The findings this rule makes; `prior` holds the findings of the earlier layers. */
  find(ctx: DiagnosisContext, prior: readonly RuleFinding[]): RuleFinding[];
}

/** Cites each result with one role. */
export function cite(role: CitationRole, results: readonly ProbeResult[]): Citation[] {
  return results.map((r) => ({ probe: r.spec.id, role }));
}

/** Whether an earlier finding stops traffic by itself (so failures are its symptoms). */
export function hasRoot(prior: readonly RuleFinding[]): boolean {
  return prior.some((f) => f.root === true);
}
