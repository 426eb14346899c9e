/**
 * Values the CLI and tab completion share, in a module that imports nothing, so neither has to import the other.
 */

/** The tag of the default netbox image (shown beside its digest). */
export const DEFAULT_IMAGE_TAG = 'nicolaka/netshoot:v0.13';
/** The digest v0.13 resolves to on Docker Hub (the multi-arch index), so the default cannot change under a run. */
export const DEFAULT_IMAGE_DIGEST = 'sha256:a20c2531bf35436ed3766cd6cfe89d352b050ccc4d7005ce6400adf97503da1b';
/** The default netbox image: the tag pinned by digest. */
export const DEFAULT_IMAGE = `${DEFAULT_IMAGE_TAG}@${DEFAULT_IMAGE_DIGEST}`;

/** Where node debug pods go unless --node-namespace says otherwise: never a source or destination tenant's namespace by chance. */
export const DEFAULT_NODE_NAMESPACE = 'default';

/** How long an image pull may take (--pull-timeout): a cold pull of the ~200 MB default image at ~1 MB/s, with room. */
export const DEFAULT_PULL_TIMEOUT = '5m';

/** The output modes of `-o`, in the order help and completion list them: the one place they are defined. */
export const OUTPUT_MODES = ['tui', 'text', 'json', 'ndjson'] as const;
/** How the result is shown. */
export type OutputMode = (typeof OUTPUT_MODES)[number];

/**
 * How many times the DNS rung's lookups run when `--samples` is not given: twice, so a lookup lost now and then can show
 * next to its answered twin at the cost of one exec per lookup (a run's budget is 60 API requests); `--samples 20`
 * measures a share.
 */
export const DEFAULT_DNS_SAMPLES = 2;
/** The largest `--samples`. */
export const MAX_SAMPLES = 100;
