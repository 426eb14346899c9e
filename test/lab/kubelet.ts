/**
 * The lab's kubelet: gives every pod bound to a data-plane node a real network namespace and address, starts its
 * responders, reports its status, marks ephemeral containers running, enforces activeDeadlineSeconds, tears pods down
 * when they are deleted, and runs `pods/exec` commands inside the right namespace with the host's tools.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { LabApiError, type ExecProcess, type ExecRequest, type KubeletBackend, type NodeNet, type PodNet } from './model.ts';
import type { ObjectStore } from './api/store.ts';
import { formatIPv4, parseCIDR } from './dataplane/addressing.ts';

/** What the kubelet needs from the data plane. */
export interface PodRuntime {
  /** Creates the pod's namespace, veth, address, default route and resolv.conf (nothing for hostNetwork pods). */
  startPodNetwork(pod: Omit<PodNet, 'netns'>, resolvConf: string): Promise<PodNet>;
  /** Removes what startPodNetwork made, the pod's responders included. */
  stopPodNetwork(pod: PodNet): Promise<void>;
  /** Starts the pod's listener on a container port (it ends with the pod's network). */
  startResponder(pod: PodNet, port: number, protocol: 'TCP' | 'UDP'): Promise<void>;
}

/** Options of the kubelet. */
export interface KubeletOptions {
  store: ObjectStore;
  runtime: PodRuntime;
  nodes: NodeNet[];
  /** resolv.conf for a pod of this namespace. */
  resolvConfFor: (namespace: string) => string;
  /** Whether the kubelet starts the generic responder on a pod's container ports (false for pods that run their own server). */
  runsResponders?: (pod: Record<string, any>) => boolean;
  log?: (line: string) => void;
  now?: () => Date;
  /**
   * Tools the lab answers itself instead of running a host binary (e.g. `cilium-dbg` in the Cilium agent pod): a
   * result for the pod and command, or undefined to run the command as usual.
   */
  podTools?: (pod: Record<string, any>, command: string[]) => { stdout: string; stderr: string; exitCode: number } | undefined;
}

/** Internal state of a realized pod. */
interface LivePod {
  net: PodNet;
  uid: string;
  /** Container ports with a responder (for logs). */
  ports: number[];
  execs: Set<ChildProcess>;
  deadline?: NodeJS.Timeout;
}

type Obj = Record<string, any>;

/** Returns the lab's kubelet; call start() once the store holds the scenario's objects. */
export class Kubelet implements KubeletBackend {
  private readonly opts: KubeletOptions;
  private readonly pods = new Map<string, LivePod>();
  private readonly used = new Map<string, Set<string>>();
  private unwatch?: () => void;
  private queue: Promise<void> = Promise.resolve();

  constructor(opts: KubeletOptions) {
    this.opts = opts;
    for (const n of opts.nodes) this.used.set(n.name, new Set([n.gatewayIP, n.vtepIP]));
  }

  /** Realizes every pod already in the store, then follows the store's changes. */
  async start(): Promise<void> {
    const { items } = this.opts.store.list('pods', undefined, {});
    for (const p of items) this.reservePodIP(p);
    await Promise.all(items.map((p) => this.realize(p)));
    this.unwatch = this.opts.store.watch('pods', undefined, undefined, (ev) => {
      // Serialize: a pod's network must exist before a later event for it is handled.
      this.queue = this.queue.then(() => this.handle(ev.type, ev.object)).catch((e) => this.opts.log?.(`kubelet: ${e.message}`));
    });
  }

  /** Waits until every change seen so far has been handled (for tests and the controller). */
  async settle(): Promise<void> {
    await this.queue;
  }

  /** Stops everything the kubelet started (responders, execs, deadlines); pod namespaces go with the data plane. */
  async stop(): Promise<void> {
    this.unwatch?.();
    await this.queue;
    for (const live of this.pods.values()) await this.stopLive(live, false);
    this.pods.clear();
  }

  /** The network of a realized pod, by `ns/name`. */
  podNet(key: string): PodNet | undefined {
    return this.pods.get(key)?.net;
  }

  private nodeOf(name: string | undefined): NodeNet | undefined {
    return this.opts.nodes.find((n) => n.name === name);
  }

  private reservePodIP(p: Obj): void {
    const ip = p.status?.podIP as string | undefined;
    const node = p.spec?.nodeName as string | undefined;
    if (ip && node && !p.spec?.hostNetwork) this.used.get(node)?.add(ip);
  }

  private allocateIP(node: NodeNet): string {
    const used = this.used.get(node.name)!;
    // From the third address to the last but one of the node's pod CIDR (a /24 on flannel, a /26 Calico block).
    const { network, size } = parseCIDR(node.podCIDR);
    for (let off = 2; off < Math.min(size - 1, 255); off++) {
      const ip = formatIPv4(network + off);
      if (!used.has(ip)) {
        used.add(ip);
        return ip;
      }
    }
    throw new Error(`node ${node.name} has no free pod address in ${node.podCIDR}`);
  }

  private async handle(type: string, pod: Obj): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (type === 'DELETED') {
      const live = this.pods.get(key);
      if (live && live.uid === pod.metadata.uid) {
        this.pods.delete(key);
        await this.stopLive(live, true);
      }
      return;
    }
    const live = this.pods.get(key);
    if (!live || live.uid !== pod.metadata.uid) {
      await this.realize(pod);
      return;
    }
    this.markEphemeralRunning(pod);
  }

  /** Creates the network of a pod bound to one of our nodes and reports it Running. */
  private async realize(pod: Obj): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const node = this.nodeOf(pod.spec?.nodeName);
    if (!node) return; // unscheduled or a synthetic node: API only
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const hostNetwork = pod.spec?.hostNetwork === true;
    const ip = hostNetwork ? node.underlayIP : ((pod.status?.podIP as string | undefined) ?? this.allocateIP(node));
    const live: LivePod = { net: { key, node: node.name, netns: node.netns, hostNetwork, ip }, uid: pod.metadata.uid, ports: [], execs: new Set() };
    this.pods.set(key, live);
    live.net = await this.opts.runtime.startPodNetwork({ key, node: node.name, hostNetwork, ip }, this.opts.resolvConfFor(pod.metadata.namespace));
    const net = live.net;
    const responders = this.opts.runsResponders?.(pod) ?? true;
    for (const c of responders ? (pod.spec?.containers ?? []) : []) {
      for (const p of c.ports ?? []) {
        await this.opts.runtime.startResponder(net, p.containerPort, p.protocol ?? 'TCP');
        live.ports.push(p.containerPort);
      }
    }
    const now = (this.opts.now?.() ?? new Date()).toISOString();
    this.opts.store.mutate('pods', pod.metadata.namespace, pod.metadata.name, (o: Obj) => {
      o.status ??= {};
      const s = o.status;
      const fresh = !s.podIP;
      s.phase = 'Running';
      s.podIP = ip;
      s.podIPs = [{ ip }];
      s.hostIP = node.underlayIP;
      s.hostIPs = [{ ip: node.underlayIP }];
      s.startTime ??= now;
      if (fresh || !s.conditions) {
        s.conditions = ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((t) => ({ type: t, status: 'True', lastTransitionTime: now }));
      }
      if (fresh || !s.containerStatuses) {
        const ready = s.conditions.find((c: Obj) => c.type === 'Ready')?.status === 'True';
        s.containerStatuses = (o.spec.containers ?? []).map((c: Obj) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
        }));
      }
    });
    const deadline = pod.spec?.activeDeadlineSeconds as number | undefined;
    if (deadline !== undefined) live.deadline = setTimeout(() => void this.expire(key, live), deadline * 1000).unref();
    this.markEphemeralRunning(this.opts.store.get('pods', pod.metadata.namespace, pod.metadata.name) ?? pod);
  }

  /** Marks every ephemeral container without a status as running, as a kubelet does once it has started it. */
  private markEphemeralRunning(pod: Obj): void {
    const specs: Obj[] = pod.spec?.ephemeralContainers ?? [];
    const have = new Set((pod.status?.ephemeralContainerStatuses ?? []).map((s: Obj) => s.name));
    if (specs.every((c) => have.has(c.name))) return;
    const now = (this.opts.now?.() ?? new Date()).toISOString();
    this.opts.store.mutate('pods', pod.metadata.namespace, pod.metadata.name, (o: Obj) => {
      o.status ??= {};
      const list: Obj[] = (o.status.ephemeralContainerStatuses ??= []);
      for (const c of o.spec.ephemeralContainers ?? []) {
        if (list.some((s) => s.name === c.name)) continue;
        list.push({ name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, state: { running: { startedAt: now } } });
      }
    });
  }

  /** activeDeadlineSeconds passed: the pod fails with DeadlineExceeded and its processes and network go away. */
  private async expire(key: string, live: LivePod): Promise<void> {
    if (this.pods.get(key) !== live) return;
    const [ns, name] = key.split('/') as [string, string];
    this.pods.delete(key);
    await this.stopLive(live, true);
    try {
      this.opts.store.mutate('pods', ns, name, (o: Obj) => {
        o.status.phase = 'Failed';
        o.status.reason = 'DeadlineExceeded';
        o.status.message = `Pod was active on the node longer than the specified deadline`;
        for (const c of o.status.conditions ?? []) if (c.type === 'Ready' || c.type === 'ContainersReady') c.status = 'False';
        for (const cs of o.status.containerStatuses ?? []) {
          cs.ready = false;
          cs.state = { terminated: { exitCode: 137, reason: 'Error', finishedAt: new Date().toISOString() } };
        }
      });
    } catch {
      /* deleted meanwhile */
    }
  }

  private async stopLive(live: LivePod, removeNetwork: boolean): Promise<void> {
    if (live.deadline) clearTimeout(live.deadline);
    for (const c of live.execs) c.kill('SIGKILL');
    if (removeNetwork) await this.opts.runtime.stopPodNetwork(live.net).catch((e) => this.opts.log?.(`kubelet: ${e.message}`));
  }

  /** Runs a command in a pod's container, in the pod's network namespace, with the host's tools. */
  async exec(req: ExecRequest): Promise<ExecProcess> {
    await this.queue;
    const pod = this.opts.store.get('pods', req.namespace, req.pod) as Obj | undefined;
    if (!pod) throw new LabApiError(404, 'NotFound', `pods "${req.pod}" not found`);
    const containers: Obj[] = pod.spec?.containers ?? [];
    const ephemeral: Obj[] = pod.spec?.ephemeralContainers ?? [];
    // The API server has already checked the pod, the container name and the command, as a real apiserver does.
    const name = req.container ?? containers[0]?.name;
    const isEphemeral = ephemeral.some((c) => c.name === name);
    const live = this.pods.get(`${req.namespace}/${req.pod}`);
    if (!live || pod.status?.phase !== 'Running') {
      throw new LabApiError(400, 'BadRequest', `cannot exec into a container in a completed pod; current phase is ${pod.status?.phase ?? 'Pending'}`);
    }
    if (isEphemeral) {
      const st = (pod.status?.ephemeralContainerStatuses ?? []).find((s: Obj) => s.name === name);
      if (!st?.state?.running) throw new LabApiError(400, 'BadRequest', `container ${name} is not running`);
    }
    const tool = this.opts.podTools?.(pod, req.command);
    if (tool !== undefined) {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      stdout.end(tool.stdout);
      stderr.end(tool.stderr);
      return { stdin: null, stdout, stderr, exited: Promise.resolve({ exitCode: tool.exitCode, signal: null }), resize: () => {}, kill: () => {} };
    }
    const child = spawn('ip', ['netns', 'exec', live.net.netns, ...req.command], {
      stdio: [req.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', TERM: req.tty ? 'xterm' : 'dumb', HOSTNAME: req.pod },
    });
    live.execs.add(child);
    const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('error', () => resolve({ exitCode: 127, signal: null }));
      child.on('close', (code, signal) => {
        live.execs.delete(child);
        resolve({ exitCode: code, signal });
      });
    });
    return {
      stdin: child.stdin,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exited,
      resize: () => {},
      kill: () => child.kill('SIGKILL'),
    };
  }

  /** Pods run no real container image; their log is what the lab did for them. */
  async logs(namespace: string, pod: string, container?: string): Promise<string> {
    const live = this.pods.get(`${namespace}/${pod}`);
    if (!this.opts.store.get('pods', namespace, pod)) throw new LabApiError(404, 'NotFound', `pods "${pod}" not found`);
    if (!live) return '';
    const ports = live.ports.join(', ');
    return `lab: ${container ?? 'container'} of ${live.net.key} on ${live.net.node} at ${live.net.ip}${ports ? `, listening on ${ports}` : ''}\n`;
  }
}
