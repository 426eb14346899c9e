/**
 * The one door to the Kubernetes API: typed clients, a call wrapper that counts every request, bounds it in time (the
 * request is aborted at its deadline, not merely abandoned), retries idempotent ones on 429/5xx with a bounded backoff,
 * and maps failures to NetdebugErrors (403 FORBIDDEN with the RBAC needed, unreachable API, 404 TARGET_NOT_FOUND).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ApiException, AppsV1Api, AuthorizationV1Api, CoreV1Api, createConfiguration, DiscoveryV1Api, NetworkingV1Api, ServerConfiguration } from '@kubernetes/client-node';
import type { Configuration, KubeConfig, RequestContext, SecurityAuthentication } from '@kubernetes/client-node';
import { NetdebugError } from '../core/errors.ts';
import pkg from '../../package.json' with { type: 'json' };

/** The User-Agent of every API request, so a cluster's audit log can tell netdebug's requests apart. */
export const USER_AGENT = `kubectl-netdebug/${pkg.version}`;

/** What a call is about, for counting and error messages. */
export interface CallInfo {
  verb: string;
  /** Plural resource, with `/subresource` when there is one, e.g. `pods/ephemeralcontainers`. */
  resource: string;
  /** API group ('' for core). */
  group?: string;
  namespace?: string;
  name?: string;
}

/** Typed API clients plus the counting, error-mapping call wrapper. */
export interface KubeApi {
  core: CoreV1Api;
  apps: AppsV1Api;
  discovery: DiscoveryV1Api;
  networking: NetworkingV1Api;
  /** SelfSubjectAccessReviews (the RBAC preflight). */
  authorization: AuthorizationV1Api;
  /** The API server URL, with any password in it redacted (safe to print). */
  server: string;
  /** Runs one API request, counting it, bounding it by the request timeout (aborting it), retrying and mapping errors. */
  call<T>(info: CallInfo, fn: () => Promise<T>): Promise<T>;
  /** Counts a request made outside `call` (e.g. an exec). */
  countRequest(): void;
  /** Requests made so far. */
  requests(): number;
}

/** How `call` retries an idempotent request the API server turned away (429) or failed (5xx). */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = never retry). */
  retries: number;
  /** First backoff; doubled on each retry. */
  baseDelayMs: number;
  /** The longest wait between attempts, whatever Retry-After asks for. */
  maxDelayMs: number;
}

/** The default retry policy: 3 retries, 200 ms doubling, at most 5 s between attempts (Retry-After is capped there). */
export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 200, maxDelayMs: 5_000 };

/** Verbs safe to send again: reading and deleting change nothing more the second time. */
const IDEMPOTENT_VERBS = new Set(['get', 'list', 'watch', 'delete']);
/** Statuses worth another attempt: throttled, or the server (or a proxy in front of it) failed. */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** The abort signal of the `call` a request belongs to, read by the auth hook every client request passes through. */
const currentSignal = new AsyncLocalStorage<AbortSignal>();

/** Options of createKubeApi. */
export interface KubeApiOptions {
  /** Bound on each attempt of each request (the request is aborted at the deadline); undefined = none. */
  requestTimeoutMs?: number;
  /** Called once per request (for shared counters). */
  countRequest?: () => void;
  /** Retry policy of idempotent requests (default DEFAULT_RETRY). */
  retry?: RetryPolicy;
}

/** Builds one typed client whose every request carries the abort signal of the `call` it was made in. */
function makeClient<T>(kc: KubeConfig, Api: new (config: Configuration) => T): T {
  const server = kc.getCurrentCluster()?.server;
  if (!server) return kc.makeApiClient(Api as never) as T;
  const auth: SecurityAuthentication = {
    getName: () => 'kubeconfig authentication (bounded)',
    async applySecurityAuthentication(context: RequestContext): Promise<void> {
      await kc.applySecurityAuthentication(context);
      context.setHeaderParam('User-Agent', USER_AGENT);
      const signal = currentSignal.getStore();
      if (signal) context.setSignal(signal);
    },
  };
  return new Api(createConfiguration({ baseServer: new ServerConfiguration(server, {}), authMethods: { default: auth } }));
}

/** Builds the API clients for a kubeconfig; see KubeApiOptions. */
export function createKubeApi(kc: KubeConfig, opts: KubeApiOptions = {}): KubeApi {
  let count = 0;
  const server = redactUrl(kc.getCurrentCluster()?.server ?? '(no server)');
  const retry = opts.retry ?? DEFAULT_RETRY;
  const countRequest = (): void => {
    count++;
    opts.countRequest?.();
  };
  const attempt = async <T>(fn: () => Promise<T>): Promise<T> => {
    countRequest();
    const ms = opts.requestTimeoutMs;
    if (!ms) return fn();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(Object.assign(new Error(`${REQUEST_TIMED_OUT} ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
    try {
      return await currentSignal.run(controller.signal, fn);
    } catch (err) {
      // fetch rejects with the abort reason (or a bare AbortError): say it was our deadline. An error we already
      // explained (a credential plugin that timed out on its own bound) stays as it is.
      if (controller.signal.aborted && !(err instanceof NetdebugError)) throw controller.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    core: makeClient(kc, CoreV1Api),
    apps: makeClient(kc, AppsV1Api),
    discovery: makeClient(kc, DiscoveryV1Api),
    networking: makeClient(kc, NetworkingV1Api),
    authorization: makeClient(kc, AuthorizationV1Api),
    server,
    countRequest,
    requests: () => count,
    async call<T>(info: CallInfo, fn: () => Promise<T>): Promise<T> {
      for (let n = 0; ; n++) {
        try {
          return await attempt(fn);
        } catch (err) {
          const wait = n < retry.retries && IDEMPOTENT_VERBS.has(info.verb) ? retryDelayMs(err, n, retry) : undefined;
          if (wait === undefined) throw mapApiError(err, info, server);
          await new Promise((r) => setTimeout(r, wait));
        }
      }
    },
  };
}

/**
 * How long to wait before retrying after `err` (attempt n, from 0), or undefined when it is not worth retrying: 429
 * waits for its Retry-After (seconds, capped at maxDelayMs) or the backoff; 5xx waits baseDelayMs·2ⁿ (capped).
 */
export function retryDelayMs(err: unknown, n: number, policy: RetryPolicy): number | undefined {
  const status = statusCodeOf(err);
  if (status === undefined || !RETRYABLE_STATUS.has(status)) return undefined;
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** n);
  if (status !== 429) return backoff;
  const header = err instanceof ApiException ? headerOf(err.headers, 'retry-after') : undefined;
  const seconds = header !== undefined && /^\d+$/.test(header.trim()) ? Number(header.trim()) : undefined;
  return seconds === undefined ? backoff : Math.min(policy.maxDelayMs, seconds * 1000);
}

function headerOf(headers: Record<string, string> | undefined, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** A URL with the password of its user info replaced by `xxxxx` (as Go's url.Redacted), for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:xxxxx@');
}

/** The HTTP status of an API error, or undefined for transport errors. */
export function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  if (err instanceof NetdebugError) return undefined;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The `message` of a metav1.Status error body, when there is one. */
export function apiMessageOf(err: unknown): string {
  if (err instanceof ApiException) {
    let body: unknown = err.body;
    const raw = err.body as unknown;
    if (typeof raw === 'string') {
      try {
        body = JSON.parse(raw);
      } catch {
        return raw;
      }
    }
    const msg = (body as { message?: unknown } | null)?.message;
    if (typeof msg === 'string') return msg;
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

const TRANSPORT = /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN|timed out|fetch failed|socket hang up/i;

/** How our own --request-timeout timer words its error (the hint tells it apart from the OS's connect timeout). */
const REQUEST_TIMED_OUT = 'request timed out after';

/** Node's TLS verification failures (the codes of tls.connect's errors). */
const TLS_ERROR = /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|CERT_SIGNATURE_FAILURE/;

/** Maps a client error to a NetdebugError; already-mapped errors pass through. */
export function mapApiError(err: unknown, info: CallInfo, server: string): NetdebugError {
  if (err instanceof NetdebugError) return err;
  const code = statusCodeOf(err);
  const what = `${info.verb} ${info.resource}${info.name ? ` "${info.name}"` : ''}${info.namespace ? ` in namespace "${info.namespace}"` : ''}`;
  const message = apiMessageOf(err);
  if (code === 403) {
    const [resource, sub] = info.resource.split('/') as [string, string | undefined];
    const group = info.group ? ` (API group ${info.group})` : '';
    return new NetdebugError('FORBIDDEN', `not allowed to ${what}: ${message}`, {
      hint: `kubectl-netdebug needs RBAC verb "${info.verb}" on "${resource}${sub ? `/${sub}` : ''}"${group}; check with \`kubectl auth can-i ${info.verb} ${info.resource}${info.namespace ? ` -n ${info.namespace}` : ''}\``,
      cause: err,
    });
  }
  if (code === 401) {
    return new NetdebugError('UNAUTHORIZED', `the API server at ${server} rejected our credentials while trying to ${what}`, {
      hint: 'refresh your credentials (kubectl config view --minify) or log in again',
      cause: err,
    });
  }
  if (code === 404) {
    return new NetdebugError('TARGET_NOT_FOUND', `not found: ${what}: ${message}`, { cause: err });
  }
  if (code === undefined) {
    const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
    const causeCode = typeof cause?.code === 'string' ? cause.code : '';
    const text = `${message} ${causeCode} ${String((err as { code?: unknown })?.code ?? '')}`;
    if (TLS_ERROR.test(text)) {
      // fetch says only "fetch failed": the certificate problem is in its cause.
      const why = typeof cause?.message === 'string' ? cause.message : causeCode;
      return new NetdebugError('API_UNREACHABLE', `could not verify the API server at ${server} (${what}): ${why || message.trim()}`, {
        hint: /EXPIRED|NOT_YET_VALID/.test(text)
          ? "the server certificate is outside its validity period: check this machine's clock, or renew the cluster's certificates"
          : /ALTNAME/.test(text)
            ? "the server certificate is not issued for this address: check the kubeconfig's server URL (or the cluster's certificate SANs)"
            : 'the server certificate is not signed by the CA in the kubeconfig: check certificate-authority(-data), or pass --certificate-authority',
        cause: err,
      });
    }
    if (TRANSPORT.test(text) || err instanceof TypeError) {
      const detail = typeof cause?.message === 'string' && cause.message !== '' && !message.includes(cause.message) ? ` (${cause.message})` : '';
      return new NetdebugError('API_UNREACHABLE', `could not reach the API server at ${server} (${what}): ${message.trim()}${detail}`, {
        hint: message.startsWith(REQUEST_TIMED_OUT)
          ? 'the API server did not answer within --request-timeout: check the cluster is up (`kubectl cluster-info`), or allow longer'
          : 'check the cluster is up and the kubeconfig server URL is right: `kubectl cluster-info`',
        cause: err,
      });
    }
  }
  return new NetdebugError('API_ERROR', `the API server failed to ${what}: ${message}`, { cause: err });
}
