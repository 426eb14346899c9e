/**
 * How debug containers are recognised and described: the exact-match test for reusing an ephemeral container, the
 * resources of node debug pods, the image shown with its tag beside the digest, and what a failed or slow pull says.
 */
import type { V1ContainerStateWaiting, V1EphemeralContainer, V1Pod, V1ResourceRequirements } from '@kubernetes/client-node';
import { sameSecurityContext } from '../core/privilege.ts';

/**
 * The command of a debug container that starts with no probes (the source pod's ephemeral container, a node pod with
 * none planned): nothing, until probes are exec'd into it. A node pod with planned probes starts them first
 * (buildPrelaunchCommand), then sleeps the same way.
 */
export const DEBUG_COMMAND: readonly string[] = ['sleep', 'infinity'];

/** The name prefix of the ephemeral containers the plugin adds. */
export const EPHEMERAL_PREFIX = 'netdebug-';

/** Small requests and limits for node debug pods: a shell, ping, dig and nc for a few seconds. */
export const NODE_POD_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '10m', memory: '32Mi' },
  limits: { cpu: '200m', memory: '128Mi' },
};

/**
 * Whether an ephemeral container is exactly what the plugin would add now: its name prefix, image, command and
 * securityContext, and nothing else (no stdin, tty, env, volume mounts or target container), so one that anyone who can
 * patch the pod forged with more privilege or another command is never reused.
 */
export function debugContainerMatches(c: V1EphemeralContainer, wanted: { image: string; command: readonly string[]; securityContext: unknown }): boolean {
  if (!c.name.startsWith(EPHEMERAL_PREFIX) || c.image !== wanted.image) return false;
  if (JSON.stringify(c.command ?? []) !== JSON.stringify(wanted.command) || (c.args ?? []).length > 0) return false;
  if (!sameSecurityContext(c.securityContext ?? {}, wanted.securityContext)) return false;
  if (c.stdin === true || c.tty === true || c.targetContainerName !== undefined) return false;
  return (c.env ?? []).length === 0 && (c.envFrom ?? []).length === 0 && (c.volumeMounts ?? []).length === 0 && (c.volumeDevices ?? []).length === 0;
}

/** The state of a pod's ephemeral container, from its status. */
export function ephemeralState(pod: V1Pod, name: string): 'running' | 'waiting' | 'terminated' | 'none' {
  const st = (pod.status?.ephemeralContainerStatuses ?? []).find((s) => s.name === name);
  if (st?.state?.running) return 'running';
  if (st?.state?.terminated) return 'terminated';
  if (st?.state?.waiting) return 'waiting';
  return 'none';
}

/** An image for people: `repo:tag (sha256:0123456789ab…)` for a digest-pinned reference, else the reference itself. */
export function describeImage(ref: string): string {
  const at = ref.indexOf('@');
  if (at < 0) return ref;
  const digest = ref.slice(at + 1);
  const short = /^sha256:[0-9a-f]{64}$/.test(digest) ? `${digest.slice(0, 19)}…` : digest;
  return `${ref.slice(0, at)} (${short})`;
}

/** The hint every failed pull gets: the image may come from elsewhere. */
export function pullHint(image: string): string {
  return `the nodes cannot pull ${describeImage(image)}: give --image an image they can pull (a mirror of nicolaka/netshoot in your registry, or one an air-gapped cluster already has)`;
}

/** A waiting state that means the pull failed (ErrImagePull, ImagePullBackOff), as a reason with the registry's words and the hint. */
export function pullFailureReason(waiting: V1ContainerStateWaiting | undefined, image: string): string | undefined {
  if (!waiting?.reason || !/^(ErrImagePull|ImagePullBackOff)$/.test(waiting.reason)) return undefined;
  return `${waiting.reason}: ${waiting.message ?? `could not pull ${image}`}; hint: ${pullHint(image)}`;
}

/** A pull still under way, in words: `node-1: pulling nicolaka/netshoot:v0.13 (sha256:…) for 20 s: Pulling image "…"`. */
export function pullProgress(node: string, image: string, elapsedMs: number, message: string): string {
  return `${node}: pulling ${describeImage(image)} for ${Math.round(elapsedMs / 1000)} s${message ? `: ${message}` : ''}`;
}
