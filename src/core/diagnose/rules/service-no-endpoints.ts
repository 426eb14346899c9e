/**
 * SERVICE_NO_ENDPOINTS (seed 002, "Service ClusterIP fails": empty Endpoints from a wrong LabelSelector): the Service's selector matches no pod, so kube-proxy has
 * no backend and every connection to the ClusterIP is rejected. The API proves it (the selector matched 0 pods); the
 * ClusterIP failures that follow are its symptoms.
 */
import { blockingStaticRule } from './static.ts';

/** The rule. */
export const rule = blockingStaticRule('SERVICE_NO_ENDPOINTS');
