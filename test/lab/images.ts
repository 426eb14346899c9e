/**
 * What the lab's container runtime knows about images, as pure functions: the user each image runs as (the `USER` of its
 * Dockerfile), its size, its fully qualified reference, whether an air-gapped cluster can pull it, and the messages
 * kubelet and containerd produce about pulls and runAsNonRoot (pkg/kubelet/images, security_context_others.go).
 */

/** What the runtime reads from an image's config: its user (a uid, or a user name) and its size. */
export interface ImageFacts {
  /** The numeric user the image runs as; 0 (root) for images without a USER. */
  uid?: number;
  /** Set instead of uid when the image's USER is a name. */
  username?: string;
  sizeBytes: number;
}

/**
 * Images the lab knows by name (repository without registry or tag). Sizes are those the real images report in kubelet's
 * Pulled events; the lab's own images run as the distroless `nonroot` user (65532), as the CoreDNS image does.
 */
const KNOWN_IMAGES: Record<string, ImageFacts> = {
  'docker.io/lab/responder': { uid: 65532, sizeBytes: 4_812_288 },
  'docker.io/lab/dns': { uid: 65532, sizeBytes: 18_562_039 },
  'docker.io/nicolaka/netshoot': { uid: 0, sizeBytes: 208_761_544 },
  'docker.io/library/busybox': { uid: 0, sizeBytes: 2_222_260 },
  'docker.io/library/alpine': { uid: 0, sizeBytes: 3_653_068 },
  'docker.io/library/nginx': { uid: 0, sizeBytes: 68_857_691 },
  'registry.k8s.io/coredns/coredns': { uid: 65532, sizeBytes: 18_562_039 },
  'registry.k8s.io/pause': { uid: 65535, sizeBytes: 320_368 },
};

/**
 * Images whose commands the lab runs with the host's tools (a shell, sleep, nc, dig, ip...), as it runs execs into any
 * container: the debug images, by their name in any registry (a mirror keeps it). Other images' binaries (the lab's
 * responders, kube-proxy, CoreDNS) are not on the host: their containers run nothing.
 */
const TOOL_IMAGES = new Set(['netshoot', 'netbox', 'busybox', 'alpine']);

/** Whether the lab runs the command of a container with this image (TOOL_IMAGES). */
export function runsCommands(image: string): boolean {
  if (image === '') return false;
  return TOOL_IMAGES.has(parseImageRef(image).path.split('/').pop() ?? '');
}

/** A parsed image reference: registry host, repository path and tag (or digest). */
export interface ImageRef {
  host: string;
  path: string;
  tag: string;
  /** `<host>/<path>:<tag>` (or `@<digest>`), as containerd names it. */
  full: string;
}

/** Parses an image reference the way the Docker reference grammar normalizes it (docker.io, library/, :latest). */
export function parseImageRef(ref: string): ImageRef {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  const hasHost = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const host = hasHost ? first : 'docker.io';
  let path = hasHost ? rest.slice(slash + 1) : rest;
  let tag = 'latest';
  const colon = path.lastIndexOf(':');
  if (colon > path.lastIndexOf('/')) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (host === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  const full = digest ? `${host}/${path}@${digest}` : `${host}/${path}:${tag}`;
  return { host, path, tag: digest ?? tag, full };
}

/** A stable pseudo-size for an image the lab does not know (10 to 110 MB, from its name). */
function guessedSize(name: string): number {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return 10_000_000 + (h % 100_000_000);
}

/** The user and size of an image: known images as listed, any other image runs as root (no USER in its Dockerfile). */
export function imageFacts(ref: string): ImageFacts {
  const { host, path } = parseImageRef(ref);
  return KNOWN_IMAGES[`${host}/${path}`] ?? { uid: 0, sizeBytes: guessedSize(`${host}/${path}`) };
}

/** Whether an air-gapped cluster (`spec.cluster.images`, non-empty) can pull an image: its normalized name is listed. */
export function canPull(ref: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const want = parseImageRef(ref).full;
  return allowed.some((a) => parseImageRef(a).full === want);
}

/** containerd's error for a pull whose registry cannot be reached (an air-gapped node: the lookup times out). */
export function unreachableRegistryError(ref: string): string {
  const { host, path, tag, full } = parseImageRef(ref);
  const registry = host === 'docker.io' ? 'registry-1.docker.io' : host;
  return `failed to pull and unpack image "${full}": failed to resolve reference "${full}": failed to do request: Head "https://${registry}/v2/${path}/manifests/${tag}": dial tcp: lookup ${registry}: i/o timeout`;
}

/** Formats milliseconds as Go's time.Duration String() does after Truncate(time.Millisecond): 313ms, 5.419s, 1m0.5s. */
export function formatGoDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const sMs = total % 60_000;
  const secs = `${Math.floor(sMs / 1000)}${sMs % 1000 ? `.${String(sMs % 1000).padStart(3, '0').replace(/0+$/, '')}` : ''}s`;
  if (h > 0) return `${h}h${m}m${secs}`;
  if (m > 0) return `${m}m${secs}`;
  return secs;
}

/** The securityContext fields verifyRunAsNonRoot reads. */
interface RunAsContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
}

/**
 * kubelet's runAsNonRoot check for one container (its own securityContext over the pod's), against the image's user;
 * returns the kubelet's error text, or undefined when the container may start. `podDesc` is `name_namespace(uid)`.
 */
export function verifyRunAsNonRoot(
  pod: { securityContext?: RunAsContext },
  container: { name: string; securityContext?: RunAsContext },
  image: ImageFacts,
  podDesc: string,
): string | undefined {
  const nonRoot = container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
  if (nonRoot !== true) return undefined;
  const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
  if (user !== undefined) {
    return user === 0 ? `container's runAsUser breaks non-root policy (pod: "${podDesc}", container: ${container.name})` : undefined;
  }
  if (image.uid === undefined && image.username) {
    return `container has runAsNonRoot and image has non-numeric user (${image.username}), cannot verify user is non-root (pod: "${podDesc}", container: ${container.name})`;
  }
  if (image.uid === 0) return `container has runAsNonRoot and image will run as root (pod: "${podDesc}", container: ${container.name})`;
  return undefined;
}
