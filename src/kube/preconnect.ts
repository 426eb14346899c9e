/**
 * Connections for exec opened ahead of time. An exec's WebSocket upgrade is HTTP/1.1, so it cannot share the API
 * requests' HTTP/2 connection and opens one of its own: against a control plane 50 ms away that is a TCP and a TLS
 * handshake (two round trips) before the upgrade's own. A debug pod is created and started before its exec can begin,
 * so its connection is opened while that happens, with the TLS settings client-node gives the WebSocket (the same CA,
 * client certificate, server name and verification), and handed to the exec's upgrade request when it starts. One per
 * container; nothing is sent on it until then. Behind a proxy (cluster proxy-url) or over plain HTTP nothing is opened
 * ahead and every exec connects as before. kube-apiserver closes a connection that has sent no request within 32 s (its
 * ReadHeaderTimeout), so one idle for longer than MAX_IDLE_MS (a container that waited for a slow image pull) is closed
 * here instead of handed over, and that exec connects as before.
 *
 * An exec whose connection is still on its way waits for it (`settled`, never longer than the connection's own bound)
 * rather than starting a second one. One spare connection (`openSpare`, opened when the run starts) serves the first
 * exec into a container nothing was opened for: a source pod's netdebug container left by an earlier run, reused at
 * once, whose exec would otherwise pay its own handshakes.
 *
 * The API requests' own connection (HTTP/2 or HTTP/1.1, as the server chooses) is opened ahead too (`openApi`, as soon
 * as the kubeconfig is read): its handshakes then run while the rest of the client loads, and the requests' connection
 * pool takes it (`takeApi`, config.ts) in the state it is in, handshaking or done.
 */
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * How long the API server may take to answer an exec's WebSocket upgrade (and a connection opened ahead, its
 * handshakes) when no --request-timeout is given.
 */
export const DEFAULT_UPGRADE_TIMEOUT_MS = 30_000;

/** Connections opened ahead, by exec target (`namespace/pod/container`). */
export interface Preconnector {
  /** Starts opening the connection the exec into this container will use (once per container). */
  open(namespace: string, pod: string, container: string): void;
  /**
   * Resolves once this container's connection is ready to take, has failed, or was never opened (at once then); never
   * later than the connection's bound (`connectTimeoutMs`) after it was opened. It never rejects.
   */
  settled(namespace: string, pod: string, container: string): Promise<void>;
  /** Starts opening the spare connection: the first exec into a container with none of its own takes it. */
  openSpare(): void;
  /** The connection opened for this container, if it is connected and unused (it is then the caller's); else undefined. */
  take(namespace: string, pod: string, container: string): Socket | undefined;
  /** Starts opening the API requests' connection (ALPN h2 and http/1.1, as undici offers them). */
  openApi(): void;
  /**
   * The API connection opened ahead, handshaking or connected, if it is for this host and port and has neither failed
   * nor been taken (it is then the caller's, to wait for its handshake with a bound of its own); else undefined.
   */
  takeApi(host: string, port: number): { socket: TLSSocket; connected: boolean } | undefined;
  /** Closes every connection not taken (cleanup: none may outlive the run or keep the process alive). */
  closeAll(): void;
}

/** How long a connection may wait for its exec: well within kube-apiserver's 32 s for a first request. */
export const MAX_IDLE_MS = 20_000;

interface Entry {
  socket?: TLSSocket;
  /** When the handshake was done (Date.now); absent until then. */
  readyAt?: number;
  /** Forgets the entry (its connection failed or closed): removed from the socket when the exec takes it. */
  drop?: () => void;
  /** Resolved when the handshake ended, the connection failed or closed, or its bound passed. */
  settled: Promise<void>;
  settle: () => void;
  /** The timer of that bound (unref'd: an idle connection keeps nothing alive; ref'd while an exec waits). */
  bound?: NodeJS.Timeout;
}

/** The https options client-node gives a WebSocket (applyToHTTPSOptions), read for their TLS settings. */
interface TlsFields {
  ca?: string | Buffer | (string | Buffer)[];
  cert?: string | Buffer | (string | Buffer)[];
  key?: string | Buffer | (string | Buffer)[];
  pfx?: string | Buffer | (string | Buffer)[];
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/**
 * A Preconnector for the kubeconfig's current cluster; `connectTimeoutMs` bounds each connection's handshakes,
 * `maxIdleMs` (default MAX_IDLE_MS) how long one may then wait for its exec.
 */
export function createPreconnector(kc: KubeConfig, opts: { connectTimeoutMs: number; maxIdleMs?: number }): Preconnector {
  const maxIdleMs = opts.maxIdleMs ?? MAX_IDLE_MS;
  const cluster = kc.getCurrentCluster();
  const url = cluster?.server ? safeUrl(cluster.server) : undefined;
  const entries = new Map<string, Entry>();
  let closed = false;
  const keyOf = (namespace: string, pod: string, container: string): string => `${namespace}/${pod}/${container}`;
  /** The spare connection's key (no container is named so). */
  const SPARE = '\0spare';
  /** The API requests' connection's key. */
  const API = '\0api';
  /** A container's own entry, else the spare (for a container nothing was opened for). */
  const entryFor = (namespace: string, pod: string, container: string): [string, Entry] | undefined => {
    const key = keyOf(namespace, pod, container);
    const own = entries.get(key);
    if (own) return [key, own];
    const spare = entries.get(SPARE);
    return spare ? [SPARE, spare] : undefined;
  };
  if (!url || url.protocol !== 'https:' || cluster?.proxyUrl) {
    return { open: () => undefined, settled: () => Promise.resolve(), openSpare: () => undefined, take: () => undefined, openApi: () => undefined, takeApi: () => undefined, closeAll: () => undefined };
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = Number(url.port || 443);

  const connect = async (key: string, entry: Entry): Promise<void> => {
    const tls: TlsFields = {};
    // Runs a credential plugin if the user has one (client-node caches its answer for the exec that follows).
    await kc.applyToHTTPSOptions(tls as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
    if (closed || entries.get(key) !== entry) {
      entry.settle();
      return;
    }
    const socket = tlsConnect({
      host,
      port,
      // As ws names the server: no SNI for an IP address (an empty name), else the host, unless the kubeconfig says.
      servername: tls.servername ?? (isIP(host) ? '' : host),
      // An exec's upgrade is HTTP/1.1; the API requests' pool speaks what the server picks of undici's offer.
      ALPNProtocols: key === API ? ['http/1.1', 'h2'] : ['http/1.1'],
      ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: tls.key } : {}),
      ...(tls.pfx !== undefined ? { pfx: tls.pfx } : {}),
      ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
      ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
    });
    // An idle connection waiting for its exec never keeps the process alive.
    socket.unref();
    entry.socket = socket;
    const timer = setTimeout(() => socket.destroy(), opts.connectTimeoutMs);
    timer.unref();
    // A connection that fails or is closed is forgotten: that exec connects as it would have without it.
    const drop = (): void => {
      clearTimeout(timer);
      if (entries.get(key) === entry) entries.delete(key);
      entry.settle();
    };
    entry.drop = drop;
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      entry.readyAt = Date.now();
      entry.settle();
    });
    socket.on('error', drop);
    socket.once('close', drop);
  };

  const open = (key: string): void => {
    if (closed || entries.has(key)) return;
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const entry: Entry = { settled, settle };
    entries.set(key, entry);
    // The bound also covers the credential plugin applyToHTTPSOptions may run before the socket exists.
    const bound = setTimeout(settle, opts.connectTimeoutMs);
    bound.unref();
    entry.bound = bound;
    void settled.then(() => clearTimeout(bound));
    connect(key, entry).catch(() => {
      if (entries.get(key) === entry) entries.delete(key);
      settle();
    });
  };

  return {
    open: (namespace, pod, container) => open(keyOf(namespace, pod, container)),
    openSpare: () => open(SPARE),
    settled(namespace, pod, container) {
      const entry = entryFor(namespace, pod, container)?.[1];
      if (!entry) return Promise.resolve();
      // Someone waits for it now: the process must not end for want of anything else to do (the socket and the bound
      // are unref'd while idle, and an exec waiting here may be all that is left of a run).
      entry.bound?.ref();
      entry.socket?.ref();
      return entry.settled;
    },
    take(namespace, pod, container) {
      const [key, entry] = entryFor(namespace, pod, container) ?? [];
      const socket = entry?.socket;
      if (key === undefined || entry?.readyAt === undefined || !socket || socket.destroyed || !socket.writable) return undefined;
      entries.delete(key);
      if (Date.now() - entry.readyAt > maxIdleMs) {
        socket.destroy();
        return undefined;
      }
      if (entry.drop) {
        socket.off('error', entry.drop);
        socket.off('close', entry.drop);
      }
      socket.ref();
      return socket;
    },
    openApi: () => open(API),
    takeApi(wantHost, wantPort) {
      const entry = entries.get(API);
      const socket = entry?.socket;
      if (!entry || !socket || socket.destroyed || wantHost !== host || wantPort !== port) return undefined;
      // Forgotten here as a failed one would be (its handshake bound cleared, settled); its fate is the taker's now.
      const { drop } = entry;
      if (drop) {
        socket.off('error', drop);
        socket.off('close', drop);
        drop();
      }
      socket.ref();
      return { socket, connected: entry.readyAt !== undefined };
    },
    closeAll() {
      closed = true;
      for (const { socket, settle } of entries.values()) {
        socket?.destroy();
        settle();
      }
      entries.clear();
    },
  };
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
