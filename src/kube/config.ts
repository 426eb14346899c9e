/**
 * Loads the kubeconfig the way kubectl does (KUBECONFIG with several files, --kubeconfig, context/cluster/user
 * overrides) and picks the default namespace; the only place that decides which cluster we talk to.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { OutgoingHttpHeaders } from 'node:http';
import { KubeConfig, type Cluster } from '@kubernetes/client-node';
import type { AgentOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector, errors as undiciErrors, getGlobalDispatcher, type Dispatcher } from 'undici';
import { NetdebugError } from '../core/errors.ts';

/** The kubectl connection flags the plugin accepts. */
export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  server?: string;
  token?: string;
  insecureSkipTlsVerify?: boolean;
  /** CA certificate file that replaces the cluster's. */
  certificateAuthority?: string;
  /** User to impersonate (Impersonate-User header). */
  as?: string;
  /** Groups to impersonate (one Impersonate-Group header each); needs a user to impersonate, as in kubectl. */
  asGroups?: string[];
  requestTimeoutMs?: number;
}

/** A loaded kubeconfig with the namespace and context to use. */
export interface LoadedKubeConfig {
  kc: ImpersonatingKubeConfig;
  namespace: string;
  context: string;
  /** Bound on each API request, when --request-timeout was given. */
  requestTimeoutMs?: number;
}

/** The name of the context made up from connection flags when the kubeconfig has none to start from (kubectl knows no such context). */
export const OVERRIDE_CONTEXT = 'netdebug-override';
const NO_CONFIG_HINT =
  'point KUBECONFIG or --kubeconfig at a kubeconfig file (e.g. ~/.kube/config), then check `kubectl config current-context`';

/**
 * Merges a later KUBECONFIG file the way kubectl does: the first file to set a value wins — the current context, and
 * each cluster, user and context by name (client-node's mergeConfig would keep the first context but throw on duplicate
 * names, and drop a current context only a later file sets).
 */
function mergeFirstWins(kc: KubeConfig, more: KubeConfig): void {
  if (!kc.getCurrentContext() && more.getCurrentContext()) kc.setCurrentContext(more.getCurrentContext());
  for (const c of more.getClusters()) if (!kc.getCluster(c.name)) kc.addCluster(c);
  for (const u of more.getUsers()) if (!kc.getUser(u.name)) kc.addUser(u);
  for (const x of more.getContexts()) if (!kc.getContextObject(x.name)) kc.addContext(x);
}

const IMPERSONATE_GROUP = 'Impersonate-Group';

/** How long an exec-credential plugin may run when --request-timeout is not given (a browser login needs a while). */
export const DEFAULT_CREDENTIAL_TIMEOUT_MS = 60_000;
/** Written into a killed plugin's stderr so the error it becomes can be told apart from the plugin's own failure. */
const PLUGIN_TIMED_OUT = 'netdebug: credential plugin timed out after';

/** Whether a value looks like client-node's ExecAuth (the authenticator that spawns exec-credential plugins). */
function isExecAuth(a: unknown): a is { execFn: (command: string, args: string[], opts: SpawnOptions) => ChildProcess } {
  return typeof a === 'object' && a !== null && typeof (a as { execFn?: unknown }).execFn === 'function';
}

/** Request headers without any Impersonate-Group, plus one Impersonate-Group line per group. */
function withGroupHeaders(headers: Dispatcher.DispatchOptions['headers'], groups: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const add = (name: string, value: string | string[] | number | undefined): void => {
    if (value === undefined || name.toLowerCase() === IMPERSONATE_GROUP.toLowerCase()) return;
    const prev = out[name];
    out[name] = prev === undefined ? value : [...[prev].flat().map(String), ...[value].flat().map(String)];
  };
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) add(String(headers[i]), headers[i + 1]);
  } else if (headers && Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<[string, string | string[] | undefined]>) add(name, value);
  } else if (headers) {
    for (const [name, value] of Object.entries(headers)) add(name, value);
  }
  out[IMPERSONATE_GROUP] = [...groups];
  return out;
}

/** How long undici's connector waits for a connection's handshakes (its default connect timeout). */
const CONNECT_TIMEOUT_MS = 10_000;

/** Credential plugins still running; killed if the process exits first (a failed run must not leave one behind). */
const runningPlugins = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills `child` if this process exits while it still runs. */
function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const running of runningPlugins) running.kill('SIGKILL');
    });
  }
  runningPlugins.add(child);
  const forget = (): void => void runningPlugins.delete(child);
  child.once('exit', forget);
  child.once('error', forget);
}

/**
 * A KubeConfig that also impersonates groups. client-node sends Impersonate-User (from the user's `as`) but has no
 * groups, and its headers are a name → string record, which fetch would join into one `Impersonate-Group: a, b` line
 * (read by the API server as the single group "a, b"). kubectl sends one header line per group, so this adds them below
 * fetch, in the undici dispatcher of each API request and watch, and in the WebSocket options of exec.
 */
export class ImpersonatingKubeConfig extends KubeConfig {
  /** Groups sent as Impersonate-Group, one header line each. */
  impersonateGroups: string[] = [];

  /** The connection pool every API request and watch made with this kubeconfig shares (see applySecurityAuthentication). */
  private sharedDispatcher: Dispatcher | undefined;

  /** How long an exec-credential plugin may run before it is killed and the request fails (see loadKubeConfig). */
  credentialTimeoutMs = DEFAULT_CREDENTIAL_TIMEOUT_MS;

  /** The first authentication, which every request sent while it runs waits for (see `authenticated`). */
  private firstAuth: Promise<unknown> | undefined;

  /**
   * The API connection opened ahead for this host and port, if any (main.ts: preconnect.ts's takeApi): the requests'
   * pool takes it for its first connection instead of opening one (see `connectorFor`).
   */
  apiConnection: ((host: string, port: number) => { socket: TLSSocket; connected: boolean } | undefined) | undefined;

  constructor() {
    super();
    // client-node's dispatcher for a direct connection (no proxy) is an undici Agent with these TLS settings; ours is the
    // same Agent whose connector first asks for a connection opened ahead. (createDispatcher is private in client-node's
    // typings, so it is replaced on the instance.)
    const self = this as unknown as { createDispatcher: (cluster: Cluster | null, agentOptions: AgentOptions) => Dispatcher | undefined };
    const clientNodeDispatcher = self.createDispatcher.bind(this);
    self.createDispatcher = (cluster, agentOptions) => {
      const made = this.createDispatcherOptions(cluster, agentOptions);
      if (this.apiConnection === undefined || (made.type !== 'agent' && made.type !== 'none')) return clientNodeDispatcher(cluster, agentOptions);
      // 'none' (no TLS setting at all) is what undici's global Agent would do: default trust, no client certificate.
      return new Agent({ connect: this.connectorFor(made.type === 'agent' ? made.connect : {}) });
    };
    // client-node spawns exec-credential plugins without any time bound: give each child a deadline that kills it.
    const authenticators = (this as unknown as { authenticators?: unknown[] }).authenticators ?? [];
    for (const auth of authenticators.filter(isExecAuth)) {
      auth.execFn = (command, args, options) => {
        const child = spawn(command, args, options);
        killOnExit(child);
        const ms = this.credentialTimeoutMs;
        const timer = setTimeout(() => {
          // ExecAuth turns a failed plugin into an Error of its stderr: say why it failed there, then end it.
          child.stderr?.emit('data', `${PLUGIN_TIMED_OUT} ${ms} ms`);
          child.kill('SIGKILL');
          // A grandchild holding the pipes would keep 'close' (which ExecAuth waits for) from ever coming.
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, ms);
        child.on('close', () => clearTimeout(timer));
        child.on('error', () => clearTimeout(timer));
        return child;
      };
    }
  }

  /**
   * An undici connector with client-node's TLS settings that hands out the connection opened ahead when there is one
   * for the origin (waiting for its handshake as undici's own connector would, within undici's connect timeout), and
   * otherwise connects as undici would.
   */
  private connectorFor(tls: buildConnector.BuildOptions): buildConnector.connector {
    const direct = buildConnector(tls);
    return (options, callback) => {
      const ahead = this.apiConnection?.(options.hostname, Number(options.port || 443));
      if (!ahead) return direct(options, callback);
      const { socket } = ahead;
      // As undici's connector sets up its own sockets.
      socket.setNoDelay(true);
      if (tls.keepAlive !== false) socket.setKeepAlive(true, tls.keepAliveInitialDelay ?? 60_000);
      if (ahead.connected) {
        callback(null, socket);
        return;
      }
      let done = false;
      const finish = (err: Error | null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.off('secureConnect', onSecure);
        socket.off('error', finish);
        if (err) {
          socket.destroy();
          callback(err, null);
        } else {
          callback(null, socket);
        }
      };
      const onSecure = (): void => finish(null);
      const timer = setTimeout(() => finish(new undiciErrors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${options.hostname}:${options.port || 443}, timeout: ${CONNECT_TIMEOUT_MS}ms)`)), CONNECT_TIMEOUT_MS);
      socket.once('secureConnect', onSecure);
      socket.once('error', finish);
    };
  }

  /** Turns a killed plugin's error into one that names the plugin and the bound. */
  private credentialError(err: unknown): unknown {
    const message = err instanceof Error ? err.message : '';
    const at = message.indexOf(PLUGIN_TIMED_OUT);
    if (at < 0) return err;
    const ms = Number(/(\d+) ms/.exec(message.slice(at))?.[1] ?? this.credentialTimeoutMs);
    const command = this.getCurrentUser()?.exec?.command ?? 'the exec-credential plugin';
    return new NetdebugError('CREDENTIALS_TIMEOUT', `the credential plugin "${String(command)}" of user "${this.getCurrentUser()?.name ?? ''}" did not answer within ${formatMs(ms)}`, {
      hint: 'run the plugin yourself to see what it waits for (a login prompt, the network), or allow longer with --request-timeout',
    });
  }

  /**
   * Runs one authentication, the first one alone: client-node runs an exec-credential plugin for every request that
   * finds no credential cached, so the first requests (sent together) would each start the plugin (a login prompt many
   * times over, and plugins still running when a failed run exits). Requests sent while the first authentication runs
   * wait for it, then find its credential cached; if it failed, they fail the same way without starting the plugin.
   */
  private async authenticated(run: () => Promise<void>): Promise<void> {
    const first = this.firstAuth;
    try {
      if (first === undefined) {
        const mine = run();
        this.firstAuth = mine;
        await mine;
        return;
      }
      await first;
      await run();
    } catch (err) {
      throw this.credentialError(err);
    }
  }

  override async applySecurityAuthentication(context: Parameters<KubeConfig['applySecurityAuthentication']>[0]): Promise<void> {
    await this.authenticated(() => super.applySecurityAuthentication(context));
    // client-node builds a new undici Agent (a connection pool of its own) for every request and watch, so each one
    // would open a new TCP and TLS connection: all of them share the first one instead, whose connections stay open
    // and are reused. A run lasts seconds, so the TLS settings (a credential plugin's client certificate included)
    // do not change under it.
    const fresh = context.getDispatcher();
    if (fresh) {
      this.sharedDispatcher ??= fresh;
      context.setDispatcher(this.sharedDispatcher);
    }
    const groups = this.impersonateGroups;
    if (groups.length === 0) return;
    // No dispatcher of its own means fetch would use the global one: wrap that instead.
    const inner = context.getDispatcher() ?? getGlobalDispatcher();
    context.setDispatcher(inner.compose((dispatch) => (opts, handler) => dispatch({ ...opts, headers: withGroupHeaders(opts.headers, groups) }, handler)));
  }

  override async applyToHTTPSOptions(opts: Parameters<KubeConfig['applyToHTTPSOptions']>[0]): Promise<void> {
    await this.authenticated(() => super.applyToHTTPSOptions(opts));
    if (this.impersonateGroups.length === 0) return;
    // Node's http (under ws) writes one header line per array element.
    const headers = (opts.headers ?? {}) as OutgoingHttpHeaders;
    opts.headers = withGroupHeaders(headers, this.impersonateGroups) as typeof opts.headers;
  }
}

/** Loads the kubeconfig per the flags and environment; throws NetdebugError NO_KUBECONFIG / NO_CONTEXT / USAGE. */
export function loadKubeConfig(flags: KubeFlags, env: NodeJS.ProcessEnv = process.env): LoadedKubeConfig {
  const kc = new ImpersonatingKubeConfig();
  const files = flags.kubeconfig ? [flags.kubeconfig] : (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  if (files.length === 0) files.push(join(env.HOME ?? homedir(), '.kube', 'config'));
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0 && !flags.server) {
    throw new NetdebugError('NO_KUBECONFIG', `no kubeconfig found (looked at ${files.join(', ')})`, { hint: NO_CONFIG_HINT });
  }
  try {
    present.forEach((file, i) => {
      if (i === 0) {
        kc.loadFromFile(file);
      } else {
        const more = new KubeConfig();
        more.loadFromFile(file);
        mergeFirstWins(kc, more);
      }
    });
  } catch (err) {
    throw new NetdebugError('NO_KUBECONFIG', `could not read the kubeconfig ${present.join(', ')}: ${(err as Error).message}`, {
      hint: NO_CONFIG_HINT,
      cause: err,
    });
  }

  if (flags.context) {
    if (!kc.getContextObject(flags.context)) {
      throw new NetdebugError('NO_CONTEXT', `context "${flags.context}" is not in the kubeconfig`, {
        hint: `known contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`,
      });
    }
    kc.setCurrentContext(flags.context);
  }
  const base = kc.getContextObject(kc.getCurrentContext());
  if (!base && !flags.server) {
    throw new NetdebugError('NO_CONTEXT', 'the kubeconfig has no current context', {
      hint: 'run `kubectl config use-context NAME` or pass --context NAME',
    });
  }
  const contextName = base?.name ?? OVERRIDE_CONTEXT;

  if (flags.cluster || flags.user || flags.server || flags.token || flags.insecureSkipTlsVerify || flags.certificateAuthority || flags.as) {
    let clusterName = flags.cluster ?? base?.cluster ?? OVERRIDE_CONTEXT;
    let userName = flags.user ?? base?.user ?? OVERRIDE_CONTEXT;
    const cluster = kc.getCluster(clusterName);
    if (flags.cluster && !cluster) {
      throw new NetdebugError('NO_CONTEXT', `cluster "${flags.cluster}" is not in the kubeconfig`, {
        hint: `known clusters: ${kc.getClusters().map((c) => c.name).join(', ') || 'none'}`,
      });
    }
    if (flags.user && !kc.getUser(flags.user)) {
      throw new NetdebugError('NO_CONTEXT', `user "${flags.user}" is not in the kubeconfig`, {
        hint: `known users: ${kc.getUsers().map((u) => u.name).join(', ') || 'none'}`,
      });
    }
    if (flags.server || flags.insecureSkipTlsVerify || flags.certificateAuthority) {
      if (flags.insecureSkipTlsVerify && flags.certificateAuthority) {
        // kubectl refuses the pair too: a CA to verify against and no verification contradict each other.
        throw new NetdebugError('USAGE', 'specifying a root certificates file with the insecure flag is not allowed', {
          hint: 'give --certificate-authority FILE to verify the server, or --insecure-skip-tls-verify to skip verification, not both',
        });
      }
      const server = flags.server ?? cluster?.server;
      if (!server) throw new NetdebugError('NO_CONTEXT', `cluster "${clusterName}" has no server`, { hint: 'pass --server URL' });
      clusterName = `${OVERRIDE_CONTEXT}-cluster`;
      kc.addCluster({
        ...(cluster ?? {}),
        name: clusterName,
        server,
        // As kubectl: an explicit CA or insecure flag replaces the kubeconfig's whole TLS trust (its CA and its
        // insecure-skip-tls-verify alike); without either, the kubeconfig's stays.
        skipTLSVerify: flags.certificateAuthority ? false : (flags.insecureSkipTlsVerify ?? cluster?.skipTLSVerify ?? false),
        ...(flags.certificateAuthority ? { caFile: flags.certificateAuthority, caData: undefined } : {}),
        ...(flags.insecureSkipTlsVerify ? { caFile: undefined, caData: undefined } : {}),
      });
    }
    if (flags.token || flags.as) {
      const user = flags.token ? { token: flags.token } : (kc.getUser(userName) ?? {});
      userName = `${OVERRIDE_CONTEXT}-user`;
      kc.addUser({ ...user, name: userName, ...(flags.as ? { impersonateUser: flags.as } : {}) });
    }
    if (!kc.getUser(userName)) {
      // client-node applies no TLS settings at all (not even insecure-skip-tls-verify) when the context has no user.
      userName = `${OVERRIDE_CONTEXT}-user`;
      kc.addUser({ name: userName });
    }
    const name = `${OVERRIDE_CONTEXT}-${Date.now()}`;
    kc.addContext({ name, cluster: clusterName, user: userName, ...(base?.namespace ? { namespace: base.namespace } : {}) });
    kc.setCurrentContext(name);
  }
  if (flags.asGroups?.length) {
    // kubectl refuses groups without a user to impersonate (from --as or the kubeconfig user's `as`), and so does the API server.
    if (!kc.getCurrentUser()?.impersonateUser) {
      const who = flags.user ?? base?.user;
      throw new NetdebugError('USAGE', `--as-group needs --as: requesting groups for ${who ? `user "${who}"` : 'the user'} without impersonating a user`, {
        hint: `add --as USER, e.g. --as jane ${flags.asGroups.map((g) => `--as-group ${g}`).join(' ')}`,
      });
    }
    kc.impersonateGroups = [...flags.asGroups];
  }
  if (flags.requestTimeoutMs) kc.credentialTimeoutMs = flags.requestTimeoutMs;
  const namespace = flags.namespace ?? base?.namespace ?? 'default';
  return { kc, namespace, context: contextName, ...(flags.requestTimeoutMs !== undefined ? { requestTimeoutMs: flags.requestTimeoutMs } : {}) };
}

/** A duration for messages: `1500 ms`, `30 s`. */
function formatMs(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
