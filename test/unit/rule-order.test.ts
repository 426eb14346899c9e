/**
 * The verdict never depends on the order rules run in: every verdict case and every run recorded in a lab scenario is
 * diagnosed with the rules shuffled many times, and each time gives exactly the same findings. The recorded runs are
 * also diagnosed again as a holdout: the rules name the cause the recording named.
 */
import { describe, expect, it } from 'vitest';
import { decideVerdict, type VerdictInput } from '../../src/core/diagnose/index.ts';
import { RULES } from '../../src/core/diagnose/rules/index.ts';
import type { Rule } from '../../src/core/diagnose/rule.ts';
import type { Finding, ProbeResult, ResolvedDestination, ResolvedSource, RunEvent } from '../../src/core/model.ts';
import { loadEvents, RECORDED } from '../tui/fixtures.ts';
import { CASES } from './verdict-cases.ts';

/** A small seeded generator (mulberry32), so a failing order can be reproduced from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = random(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Rebuilds the diagnosis input from a recorded event stream. */
function inputOf(events: RunEvent[]): { input: VerdictInput; recorded: Finding } {
  let source: ResolvedSource | undefined;
  let destination: ResolvedDestination | undefined;
  let staticFindings: Finding[] = [];
  const results: ProbeResult[] = [];
  let recorded: Finding | undefined;
  for (const e of events) {
    if (e.type === 'target-resolved' && e.role === 'source') source = e.target;
    if (e.type === 'target-resolved' && e.role === 'destination') destination = e.target;
    if (e.type === 'static-findings') staticFindings = e.findings;
    if (e.type === 'probe-finished') results.push(e.result);
    if (e.type === 'verdict-decided') recorded = e.verdict;
  }
  if (!source || !destination || !recorded) throw new Error('incomplete recording');
  return {
    input: {
      targets: { source, destination },
      staticFindings,
      observations: results.filter((r) => r.spec.rung !== 'node-checks'),
      nodeChecks: results.filter((r) => r.spec.rung === 'node-checks'),
    },
    recorded,
  };
}

const ORDERS = 40;
const inputs: { name: string; input: VerdictInput }[] = [
  ...CASES.map((c) => ({ name: `case: ${c.name}`, input: c.in })),
  ...RECORDED.map((name) => ({ name: `lab run: ${name}`, input: inputOf(loadEvents(name)).input })),
];

describe('rule order', () => {
  it('the rule set covers every cause once', () => {
    const causes = RULES.map((r: Rule) => r.cause);
    expect(new Set(causes).size).toBe(causes.length);
  });

  it.each(inputs)('$name: the same findings in every order of the rules', ({ input }) => {
    const expected = decideVerdict(input);
    for (let seed = 1; seed <= ORDERS; seed += 1) {
      const order = shuffled(RULES, seed);
      expect({ seed, out: decideVerdict(input, order) }).toEqual({ seed, out: expected });
    }
  });

  it('a shuffle really changes the order, and an order-dependent rule set is caught (the test above can fail)', () => {
    const orders = new Set(Array.from({ length: ORDERS }, (_, i) => shuffled(RULES, i + 1).map((r) => r.cause).join()));
    expect(orders.size).toBeGreaterThan(ORDERS / 2);
    // A rule that only speaks when it runs before the ip_forward rule: shared state the engine cannot see.
    const ran: string[] = [];
    const sneaky: Rule = {
      cause: 'CONNECTION_FAILED',
      layer: 'facts',
      find: () => (ran.includes('NODE_IP_FORWARD_DISABLED') ? [] : [{ cause: 'CONNECTION_FAILED', status: 'broken', summary: 'first', citations: [], hints: [] }]),
    };
    const logged = [...RULES.filter((r) => r.cause !== 'CONNECTION_FAILED'), sneaky].map((r): Rule => ({ ...r, find: (ctx, prior) => (ran.push(r.cause), r.find(ctx, prior)) }));
    const outcomes = new Set(
      Array.from({ length: ORDERS }, (_, i) => {
        ran.length = 0;
        return JSON.stringify(decideVerdict(CASES[0]?.in as VerdictInput, shuffled(logged, i + 1)).findings.map((f) => f.cause));
      }),
    );
    expect(outcomes.size).toBeGreaterThan(1);
  });

  it.each(RECORDED.map((name) => ({ name })))('lab run $name: the rules name the recorded cause, node and object', ({ name }) => {
    const { input, recorded } = inputOf(loadEvents(name));
    const v = decideVerdict(input).verdict;
    expect({ cause: v.cause, status: v.status, node: v.node, object: v.object }).toEqual({ cause: recorded.cause, status: recorded.status, node: recorded.node, object: recorded.object });
  });
});
