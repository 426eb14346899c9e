/**
 * Near-name suggestions for "not found" messages: names within a small edit distance, or sharing a prefix.
 */

import { compareText } from '../core/compare.ts';

/** The Levenshtein edit distance between two strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** Picks up to `max` candidates close to `wanted` (distance ≤ 3, or one is a prefix of the other), closest first. */
export function suggestNames(wanted: string, candidates: readonly string[], max = 3): string[] {
  const scored = [...new Set(candidates)]
    .filter((c) => c !== wanted)
    .map((c) => ({ c, d: editDistance(wanted, c), prefix: c.startsWith(wanted) || wanted.startsWith(c) }))
    .filter((s) => s.d <= 3 || (s.prefix && Math.min(s.c.length, wanted.length) >= 2));
  scored.sort((x, y) => x.d - y.d || compareText(x.c, y.c));
  return scored.slice(0, max).map((s) => s.c);
}
