/**
 * NODE_NOT_READY (seed 003, a node whose kubelet or network is failing): a node involved in the path has its Ready condition not True; its kubelet or
 * runtime is down, and its pods' traffic with it. The API proves it.
 */
import { blockingStaticRule } from './static.ts';

/** The rule. */
export const rule = blockingStaticRule('NODE_NOT_READY');
