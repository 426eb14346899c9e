/**
 * The diagnosis of a run that tested two address families: the rules judge each family on its own (its probes, the
 * probes both share, the targets as that family sees them), then the findings are joined. A fault found in both families
 * the same way (cause, node, object) is one finding; a fault found in one only carries that family (`Finding.family`,
 * its summary prefixed `IPv6: `), so a healthy IPv4 path never hides a broken IPv6 one.
 */
import type { IPFamily } from '../address.ts';
import { targetsForFamily } from '../families.ts';
import type { Finding, ProbeResult } from '../model.ts';
import type { VerdictInput } from './context.ts';
import { decideVerdict, type VerdictOutput } from './index.ts';
import { compareFindings } from './rank.ts';
import type { Rule } from './rule.ts';
import { RULES } from './rules/index.ts';
import { summarizeRungs } from './rungs.ts';

/** The run's view for one family: its own probes and the untagged ones, with the targets as that family sees them. */
export function inputForFamily(input: VerdictInput, family: IPFamily): VerdictInput {
  const mine = (r: ProbeResult): boolean => r.spec.family === undefined || r.spec.family === family;
  return { ...input, targets: targetsForFamily(input.targets, family), observations: input.observations.filter(mine), nodeChecks: input.nodeChecks.filter(mine) };
}

/** Where a finding is: the same cause on the same node and object in two families is one fault. */
function keyOf(f: Finding): string {
  return `${f.cause}|${f.node ?? ''}|${f.object ?? ''}`;
}

/** The items of both lists, each once, in first-seen order. */
function union<T>(a: readonly T[], b: readonly T[], key: (x: T) => string = String): T[] {
  const seen = new Set<string>();
  return [...a, ...b].filter((x) => {
    const k = key(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** One finding made in both families: the first family's words, with the evidence, citations and hints of both. */
function joinShared(a: Finding, b: Finding): Finding {
  const citations = union(a.citations ?? [], b.citations ?? [], (c) => `${c.probe}|${c.role}`);
  const { ruledOut: _ruledOut, ...rest } = a;
  return { ...rest, evidence: union(a.evidence, b.evidence), hints: union(a.hints, b.hints), ...(citations.length > 0 ? { citations } : {}) };
}

/** A finding made in one family only: named with its family. */
function inFamily(f: Finding, family: IPFamily): Finding {
  const { ruledOut: _ruledOut, ...rest } = f;
  return { ...rest, family, summary: `${family}: ${f.summary}` };
}

/**
 * Joins the families' findings (pure): shared faults once, one-family faults tagged, a HEALTHY of one family dropped
 * when the other is not healthy, ranked by the one ordering (rank.ts). The verdict keeps the Ruled out list its own
 * family's diagnosis gave it.
 */
export function joinFamilyFindings(per: ReadonlyArray<{ family: IPFamily; findings: readonly Finding[]; verdict: Finding }>): { findings: Finding[]; verdict: Finding } {
  const byKey = new Map<string, Array<{ family: IPFamily; finding: Finding }>>();
  for (const { family, findings } of per) {
    for (const finding of findings) byKey.set(keyOf(finding), [...(byKey.get(keyOf(finding)) ?? []), { family, finding }]);
  }
  const everywhere = (found: ReadonlyArray<{ family: IPFamily }>): boolean => per.every((p) => found.some((x) => x.family === p.family));
  const joined: Finding[] = [];
  for (const found of byKey.values()) {
    const first = found[0] as { family: IPFamily; finding: Finding };
    if (everywhere(found)) joined.push(found.slice(1).reduce((acc, x) => joinShared(acc, x.finding), first.finding));
    else if (first.finding.cause !== 'HEALTHY') for (const x of found) joined.push(inFamily(x.finding, x.family));
  }
  const familyOrder = (f: Finding): number => (f.family === undefined ? 0 : per.findIndex((p) => p.family === f.family) + 1);
  const ranked = [...joined].sort((a, b) => compareFindings(a, b) || familyOrder(a) - familyOrder(b));
  const [first, ...others] = ranked;
  if (!first) throw new Error('the diagnosis made no finding in any family');
  const own = per.find((p) => (first.family === undefined || p.family === first.family) && keyOf(p.verdict) === keyOf(first));
  const ruledOut = own?.verdict.ruledOut;
  const verdict: Finding = ruledOut && ruledOut.length > 0 ? { ...first, ruledOut } : first;
  return { findings: [verdict, ...others], verdict };
}

/**
 * Decides the verdict of a run: per family when the run tested two (its probes carry their family), else exactly as
 * decideVerdict does.
 */
export function decideVerdictByFamily(input: VerdictInput, families: readonly IPFamily[], rules: readonly Rule[] = RULES): VerdictOutput {
  const tagged = [...input.observations, ...input.nodeChecks].some((r) => r.spec.family !== undefined);
  if (families.length < 2 || !tagged) return decideVerdict(input, rules);
  const per = families.map((family) => ({ family, ...decideVerdict(inputForFamily(input, family), rules) }));
  const joined = joinFamilyFindings(per);
  const rungs = summarizeRungs(input.observations);
  // Healthy in every family: the HEALTHY finding counts and cites the probes of all of them, as the whole run judges it.
  if (joined.verdict.cause === 'HEALTHY' && joined.verdict.family === undefined) {
    const whole = decideVerdict(input, rules).verdict;
    if (whole.cause === 'HEALTHY') return { findings: joined.findings.map((f) => (f === joined.verdict ? whole : f)), verdict: whole, rungs };
  }
  return { ...joined, rungs };
}
