/**
 * Rules for findings the API alone proves (core/static-findings.ts computes them before any probe): a rule here takes
 * the static finding of its cause and judges it again in the light of the probes.
 */
import type { Cause, Finding } from '../../model.ts';
import type { DiagnosisContext } from '../context.ts';
import type { Rule, RuleFinding } from '../rule.ts';

/** A static finding as a rule finding, unchanged: its evidence is what the API said. */
export function fromStatic(f: Finding, extra: Partial<RuleFinding> = {}): RuleFinding {
  return {
    cause: f.cause,
    status: f.status,
    ...(f.node !== undefined ? { node: f.node } : {}),
    ...(f.object !== undefined ? { object: f.object } : {}),
    summary: f.summary,
    facts: [...f.evidence],
    citations: [],
    hints: [...f.hints],
    ...extra,
  };
}

/** The static findings of one cause. */
export function staticOf(ctx: DiagnosisContext, cause: Cause): Finding[] {
  return ctx.staticFindings.filter((f) => f.cause === cause);
}

/**
 * A rule for a cause the API proves by itself and that stops traffic when broken: the ladder's failures are then its
 * symptoms.
 */
export function blockingStaticRule(cause: Cause): Rule {
  return {
    cause,
    layer: 'facts',
    find: (ctx) => staticOf(ctx, cause).map((f) => fromStatic(f, { root: f.status === 'broken' })),
  };
}
