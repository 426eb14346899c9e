/**
 * SERVICE_NO_READY_ENDPOINTS (seed 002, the Service's Endpoints list is empty): pods match the selector but none is Ready, so the EndpointSlices hold
 * no ready endpoint and kube-proxy rejects the ClusterIP although the pods may answer directly. The API proves it.
 */
import { blockingStaticRule } from './static.ts';

/** The rule. */
export const rule = blockingStaticRule('SERVICE_NO_READY_ENDPOINTS');
