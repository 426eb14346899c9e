/**
 * The lab's NetworkPolicy agent, I/O part: reads a node namespace's NETPOL-* state and applies or removes the rendered
 * rules through the CommandRunner seam. Callers serialize calls per node namespace (read-then-restore is not atomic).
 */
import type { CommandRunner } from '../model.ts';
import { parseNetpolState, renderPolicyRemoval, renderPolicyRules, type NetpolFamily, type NetpolIptablesState, type PolicyPlan } from './compile.ts';

/** The iptables-save / iptables-restore programs of the node's backend (the legacy backend names its own). */
export interface NetpolTools {
  save: string;
  restore: string;
}

const DEFAULT_TOOLS: NetpolTools = { save: 'iptables-save', restore: 'iptables-restore' };

/** Reads the NETPOL-* state of the filter table inside a network namespace. */
export async function readNetpolState(runner: CommandRunner, netns: string, tools: NetpolTools = DEFAULT_TOOLS): Promise<NetpolIptablesState> {
  const res = await runner.run(['ip', 'netns', 'exec', netns, tools.save, '-t', 'filter']);
  return parseNetpolState(res.stdout);
}

/**
 * Enforces the plan for the pods of nodeName inside its node namespace; idempotent (one FORWARD jump, no stale chains).
 * With family IPv6, tools must be the ip6tables programs: the IPv6 twin of the rules is applied.
 */
export async function applyPolicyRules(runner: CommandRunner, netns: string, plan: PolicyPlan, nodeName: string, tools: NetpolTools = DEFAULT_TOOLS, family: NetpolFamily = 'IPv4'): Promise<void> {
  const current = await readNetpolState(runner, netns, tools);
  const input = renderPolicyRules(plan, nodeName, current, family);
  await runner.run(['ip', 'netns', 'exec', netns, tools.restore, '-w', '--noflush'], { input });
}

/** Removes every NETPOL-* chain and the FORWARD jump from a node namespace; a no-op when there are none. */
export async function removePolicyRules(runner: CommandRunner, netns: string, tools: NetpolTools = DEFAULT_TOOLS): Promise<void> {
  const current = await readNetpolState(runner, netns, tools);
  if (current.forwardJumps === 0 && current.chains.length === 0) return;
  await runner.run(['ip', 'netns', 'exec', netns, tools.restore, '-w', '--noflush'], { input: renderPolicyRemoval(current) });
}
