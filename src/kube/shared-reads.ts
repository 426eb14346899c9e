/**
 * Reads that both resolution and the preflight may make, each sent at most once per run and startable early: a
 * namespace (its labels: NetworkPolicy namespaceSelectors, Pod Security levels) and a SelfSubjectRulesReview of a
 * namespace. `prefetch` starts the preflight's reads while resolution is still reading, so they are no round trip of
 * their own on the way to creating the debug pods.
 */
import type { V1Namespace, V1SelfSubjectRulesReview } from '@kubernetes/client-node';
import type { KubeApi } from './api.ts';

/** Memoized reads of one run; each promise rejects as `KubeApi.call` does (a mapped NetdebugError). */
export interface SharedReads {
  /** The namespace, read once. */
  namespace(name: string): Promise<V1Namespace>;
  /** This user's SelfSubjectRulesReview in a namespace, created once. */
  rulesReview(namespace: string): Promise<V1SelfSubjectRulesReview>;
  /** Starts the reads the preflight will make for these namespaces (source pod's and node pods'), without waiting. */
  prefetch(namespaces: readonly string[]): void;
}

/** Creates the shared reads of one run on an API client (whose counter counts them). */
export function createSharedReads(api: KubeApi): SharedReads {
  const namespaces = new Map<string, Promise<V1Namespace>>();
  const reviews = new Map<string, Promise<V1SelfSubjectRulesReview>>();
  /** A read started early may fail before anyone asks for it: that failure belongs to whoever asks, not to the process. */
  const quiet = <T>(p: Promise<T>): Promise<T> => {
    p.catch(() => undefined);
    return p;
  };
  const shared: SharedReads = {
    namespace(name) {
      let read = namespaces.get(name);
      if (!read) {
        read = quiet(api.call({ verb: 'get', resource: 'namespaces', name }, () => api.core.readNamespace({ name })));
        namespaces.set(name, read);
      }
      return read;
    },
    rulesReview(namespace) {
      let review = reviews.get(namespace);
      if (!review) {
        review = quiet(
          api.call({ verb: 'create', resource: 'selfsubjectrulesreviews', group: 'authorization.k8s.io' }, () =>
            api.authorization.createSelfSubjectRulesReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } } }),
          ),
        );
        reviews.set(namespace, review);
      }
      return review;
    },
    prefetch(names) {
      for (const name of new Set(names)) {
        void shared.namespace(name);
        void shared.rulesReview(name);
      }
    },
  };
  return shared;
}
