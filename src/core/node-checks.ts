/**
 * How a node check reads, on its own and once the verdict is known: the one place the text report and the terminal UI
 * both take it from, so they mark the same checks the same way.
 */
import type { Finding, ProbeObservation, ProbeResult } from './model.ts';
import { networkTraits, type PodNetwork } from './datapath.ts';
import { classifyObservation, isLossy, pathCarriesPods } from './diagnose/describe.ts';

/** A node check's own reading: ok, fail, warn (worth a look, a fault only if traffic fails), or not run. */
export type NodeCheckJudgement = 'ok' | 'fail' | 'warn' | 'not-run';

/**
 * What a check means for the verdict: the fault it names (`cause`), a value it was judged by (`evidence`), a ping
 * that got nothing back because the path is down (`path-down`), a lost MTU ping on a lossy overlay, which says
 * nothing of its size (`lossy-path`), or a FORWARD walk that stopped at rules it cannot judge on a run where every
 * probe got through, so those rules accept the flow (`got-through`).
 */
export type NodeCheckRole = 'cause' | 'evidence' | 'path-down' | 'lossy-path' | 'got-through';

/** A node check read with the verdict in hand. */
export interface NodeCheckReading {
  judged: NodeCheckJudgement;
  role?: NodeCheckRole;
}

/** How a node check reads on its own, on the pod network it ran on (`unknown`: as on flannel). */
export function judgeNodeCheck(obs: ProbeObservation, network: PodNetwork = 'unknown'): NodeCheckJudgement {
  switch (obs.kind) {
    case 'sysctl':
      return obs.value === '0' ? 'fail' : 'ok';
    case 'forward-policy':
      // The walk of the chain for this flow, when it ran, decides: a DROP policy the CNI's rules accept past is fine.
      if (obs.verdict === 'accept') return 'ok';
      if (obs.verdict === 'drop') return 'fail';
      // NetworkPolicy enforced in FORWARD: worth a look (NETWORK_POLICY_DENY names it), no FORWARD fault.
      if (obs.verdict === 'policy') return 'warn';
      return obs.policy === 'ACCEPT' ? 'ok' : 'warn';
    case 'route':
      // A cloud-routed node sends other nodes' pod traffic to its default gateway (the VPC routes pod ranges): only
      // the default route matching is how it should be; an unreachable route is still a fault.
      if (!obs.present && obs.error === undefined && !networkTraits(network).podRoutesOnNodes) return 'ok';
      return obs.present ? 'ok' : 'fail';
    case 'neighbor':
      // No entry at all is normal (nothing talked to it lately); one that failed to resolve is worth a look.
      return obs.state === 'FAILED' || obs.state === 'INCOMPLETE' ? 'warn' : 'ok';
    case 'nat-rules':
      // kube-proxy dropping a Local Service on a node without a local endpoint is worth a look, not a missing rule.
      return !obs.present ? 'fail' : obs.drops !== undefined ? 'warn' : 'ok';
    case 'not-inspectable':
      return 'not-run';
    case 'loss':
      // Every ping lost is the path being down (the ladder shows it); a real share lost is the fault itself.
      return isLossy(obs) ? 'fail' : obs.received === 0 ? 'warn' : 'ok';
    case 'bridge-ports':
      // Hairpin off on a port is worth a look; the verdict says whether it is the source pod's own.
      return obs.ports.some((p) => !p.hairpin) ? 'warn' : 'ok';
    case 'mtu':
      // The small ping lost too: nothing got through, which the ladder already shows; no MTU fault by itself.
      if (!obs.passed && obs.smallPassed !== false && (routeMtuByDesign(obs, network) || pathCarriesPods(obs))) return 'ok';
      return obs.passed ? 'ok' : obs.smallPassed === false ? 'warn' : 'fail';
    default: {
      const outcome = classifyObservation(obs);
      return outcome === 'value' ? 'ok' : outcome;
    }
  }
}

/**
 * Reads a node check against the verdict, by the verdict's citations: a check it cites as its cause fails, one it cites
 * as a reference (the pod's real MAC, its veth's ifindex, an MTU ping that passed elsewhere) keeps its own reading and
 * is marked as evidence; the verdict engine's own rules for pings (all lost is the path down; on a lossy overlay a lost
 * MTU ping proves nothing) apply here too.
 */
export function readNodeCheck(r: Pick<ProbeResult, 'spec' | 'observation'>, verdict: Finding | undefined, network: PodNetwork = 'unknown'): NodeCheckReading {
  const obs = r.observation;
  const own = judgeNodeCheck(obs, network);
  const faulty = verdict !== undefined && verdict.status !== 'healthy' && verdict.status !== 'inconclusive';
  const cited = faulty ? verdict.citations?.find((c) => c.probe === r.spec.id) : undefined;
  if (cited?.role === 'cause') return { judged: 'fail', role: 'cause' };
  if (cited?.role === 'reference') return { judged: own, role: 'evidence' };
  if (verdict?.cause === 'OVERLAY_PACKET_LOSS' && obs.kind === 'mtu' && !obs.passed) return { judged: 'warn', role: 'lossy-path' };
  if (own === 'warn' && (obs.kind === 'mtu' || obs.kind === 'loss')) return { judged: own, role: 'path-down' };
  // A FORWARD walk unsure of a DROP ending (Calico's mark-and-interface chains) on a healthy run: the flow's probes all
  // crossed this node's FORWARD chain, so its rules accept the flow; no warning.
  if (verdict?.status === 'healthy' && obs.kind === 'forward-policy' && obs.verdict === 'unsure') return { judged: 'ok', role: 'got-through' };
  return { judged: own };
}

/** IP and ICMP headers: a ping of payload `size` is `size + 28` bytes on the wire. */
const IP_ICMP_HEADERS = 28;

/**
 * Whether a full-size ping failed only because the node's own route refused it (the kernel's `message too long,
 * mtu=N` below the device MTU the size came from) on a network that keeps the tunnel's overhead in route MTUs: Cilium
 * routes other nodes' pods with `mtu 1450` on 1500-byte devices. The packet never left the node, so the path was not
 * judged, and a route MTU of the device MTU minus the tunnel's overhead or less is how the network is built.
 */
export function routeMtuByDesign(obs: Extract<ProbeObservation, { kind: 'mtu' }>, network: PodNetwork): boolean {
  const overhead = networkTraits(network).routeMtuOverhead;
  // The device's MTU as the probe read it; older observations lack it, and IPv4's 28 header bytes then give it back.
  const device = obs.deviceMtu ?? obs.size + IP_ICMP_HEADERS;
  return overhead !== undefined && obs.mtu !== undefined && obs.mtu < device && obs.mtu <= device - overhead;
}
