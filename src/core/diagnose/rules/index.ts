/** Every diagnosis rule, one module per cause. The order here does not matter: rank.ts orders the findings. */
import type { Rule } from '../rule.ts';
import { rule as checksCouldNotRun } from './checks-could-not-run.ts';
import { rule as connectionFailed } from './connection-failed.ts';
import { rule as destinationNotListening } from './destination-not-listening.ts';
import { rule as destinationNotReady } from './destination-not-ready.ts';
import { rule as dnsIntermittentTimeout } from './dns-intermittent-timeout.ts';
import { rule as dnsNameNotFound } from './dns-name-not-found.ts';
import { rule as dnsNoEndpoints } from './dns-no-endpoints.ts';
import { rule as dnsServerFailure } from './dns-server-failure.ts';
import { rule as dnsServerUnresponsive } from './dns-server-unresponsive.ts';
import { rule as healthy } from './healthy.ts';
import { rule as networkPolicyDeny } from './network-policy-deny.ts';
import { rule as nodeBridgeNfDisabled } from './node-bridge-nf-disabled.ts';
import { rule as nodeForwardDrop } from './node-forward-drop.ts';
import { rule as nodeHairpinDisabled } from './node-hairpin-disabled.ts';
import { rule as nodeLocalDnsDown } from './node-local-dns-down.ts';
import { rule as nodeIpForwardDisabled } from './node-ip-forward-disabled.ts';
import { rule as nodeNeighborStale } from './node-neighbor-stale.ts';
import { rule as nodeNotReady } from './node-not-ready.ts';
import { rule as nodeRouteMissing } from './node-route-missing.ts';
import { rule as overlayBlocked } from './overlay-blocked.ts';
import { rule as overlayPacketLoss } from './overlay-packet-loss.ts';
import { rule as pathMtuMismatch } from './path-mtu-mismatch.ts';
import { rule as serviceNoEndpoints } from './service-no-endpoints.ts';
import { rule as serviceNoLocalEndpoints } from './service-no-local-endpoints.ts';
import { rule as serviceNoReadyEndpoints } from './service-no-ready-endpoints.ts';
import { rule as serviceProxyRulesMissing } from './service-proxy-rules-missing.ts';
import { rule as serviceTargetPortMismatch } from './service-target-port-mismatch.ts';
import { rule as underlayBlocked } from './underlay-blocked.ts';

/** The rules of the diagnosis. */
export const RULES: readonly Rule[] = [
  serviceNoEndpoints,
  serviceNoReadyEndpoints,
  serviceTargetPortMismatch,
  serviceNoLocalEndpoints,
  destinationNotReady,
  nodeNotReady,
  networkPolicyDeny,
  dnsNoEndpoints,
  nodeIpForwardDisabled,
  nodeForwardDrop,
  nodeBridgeNfDisabled,
  nodeRouteMissing,
  nodeNeighborStale,
  nodeHairpinDisabled,
  overlayPacketLoss,
  pathMtuMismatch,
  destinationNotListening,
  serviceProxyRulesMissing,
  overlayBlocked,
  underlayBlocked,
  connectionFailed,
  dnsNameNotFound,
  dnsServerFailure,
  dnsServerUnresponsive,
  nodeLocalDnsDown,
  dnsIntermittentTimeout,
  healthy,
  checksCouldNotRun,
];
