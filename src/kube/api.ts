/**
 * The one door to the Kubernetes API: typed clients, a call wrapper that counts every request, bounds it in time and
 * maps failures to NetdebugErrors (403 FORBIDDEN with the RBAC needed, unreachable API, 404 TARGET_NOT_FOUND).
 */
import { ApiException, AppsV1Api, CoreV1Api, DiscoveryV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { NetdebugError } from '../core/errors.ts';

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
  server: string;
  /** Runs one API request, counting it and mapping its errors. */
  call<T>(info: CallInfo, fn: () => Promise<T>): Promise<T>;
  /** Counts a request made outside `call` (e.g. an exec). */
  countRequest(): void;
  /** Requests made so far. */
  requests(): number;
}

/** Builds the API clients for a kubeconfig; `countRequest` is called once per request (for shared counters). */
export function createKubeApi(kc: KubeConfig, opts: { requestTimeoutMs?: number; countRequest?: () => void } = {}): KubeApi {
  let count = 0;
  const server = kc.getCurrentCluster()?.server ?? '(no server)';
  const countRequest = (): void => {
    count++;
    opts.countRequest?.();
  };
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    server,
    countRequest,
    requests: () => count,
    async call<T>(info: CallInfo, fn: () => Promise<T>): Promise<T> {
      countRequest();
      let timer: NodeJS.Timeout | undefined;
      try {
        const pending = fn();
        if (!opts.requestTimeoutMs) return await pending;
        const ms = opts.requestTimeoutMs;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error(`${REQUEST_TIMED_OUT} ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
        });
        return await Promise.race([pending, timeout]);
      } catch (err) {
        throw mapApiError(err, info, server);
      } finally {
        if (timer) clearTimeout(timer);
      }
    },
  };
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
