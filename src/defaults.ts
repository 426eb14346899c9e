/**
 * Values the CLI and tab completion share, in a module that imports nothing, so neither has to import the other.
 */

/** The pinned default netbox image. */
export const DEFAULT_IMAGE = 'nicolaka/netshoot:v0.13';

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
