/**
 * DESTINATION_NOT_READY (seed 002, "Pod access anomalies": a pod that is not running properly): the destination pod's Ready condition is not True. The API proves it;
 * it blocks traffic only where readiness gates it (a Service), so it is degraded by itself.
 */
import { blockingStaticRule } from './static.ts';

/** The rule. */
export const rule = blockingStaticRule('DESTINATION_NOT_READY');
