/**
 * The lab's kubelet: gives every pod bound to a data-plane node a real network namespace and address, starts its
 * responders, reports its status, marks ephemeral containers running, enforces activeDeadlineSeconds, tears pods down
 * when they are deleted, and runs `pods/exec` commands inside the right namespace with the host's tools.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { LabApiError, type ExecProcess, type ExecRequest, type KubeletBackend, type NodeNet, type PodNet } from './model.ts';
import type { ObjectStore } from './api/store.ts';
import { canPull, formatGoDuration, imageFacts, parseImageRef, runsCommands, unreachableRegistryError, verifyRunAsNonRoot } from './images.ts';

/** How nodes get images (`spec.cluster.imagePullSeconds` and `images`). */
export interface ImagePullSettings {
  /** How long the first pull of an image not yet on a node takes. */
  pullSeconds: number;
  /** When non-empty, the only images nodes can pull (air-gapped). */
  allowed: string[];
}

/** kubelet's image pull back-off: 10 s doubling up to 5 min (pkg/kubelet: backOffPeriod, MaxContainerBackOff). */
const PULL_BACKOFF = { initialMs: 10_000, maxMs: 300_000 } as const;
/** How soon after an ErrImagePull the next pod sync reports ImagePullBackOff. */
const NEXT_SYNC_MS = 1_000;
import { formatIPv4, parseCIDR } from './dataplane/addressing.ts';
import { podIPv6For } from './dataplane/addressing-v6.ts';

/** A pod's IPv4 address out of its status (status.podIPs holds both families on a dual-stack cluster). */
function statusIPv4(status: Obj | undefined): string | undefined {
  const ips: string[] = (status?.podIPs as { ip: string }[] | undefined)?.map((p) => p.ip) ?? (status?.podIP ? [status.podIP as string] : []);
  return ips.find((ip) => !ip.includes(':'));
}

/** A pod's IPv6 address out of its status, if it has one. */
function statusIPv6(status: Obj | undefined): string | undefined {
  return ((status?.podIPs as { ip: string }[] | undefined) ?? []).map((p) => p.ip).find((ip) => ip.includes(':'));
}

/** What the kubelet needs from the data plane. */
export interface PodRuntime {
  /** Creates the pod's namespace, veth, address, default route and resolv.conf (nothing for hostNetwork pods). */
  startPodNetwork(pod: Omit<PodNet, 'netns'>, resolvConf: string): Promise<PodNet>;
  /** Removes what startPodNetwork made, the pod's responders included. */
  stopPodNetwork(pod: PodNet): Promise<void>;
  /** Starts the pod's listener on a container port (it ends with the pod's network). */
  startResponder(pod: PodNet, port: number, protocol: 'TCP' | 'UDP'): Promise<void>;
  /**
   * Runs a container's command in the pod's network namespace with the host's tools (as execs run), in a process group
   * of its own; returns its PID. Absent: containers' commands are not run (the pod is Running all the same).
   */
  startProcess?(pod: PodNet, argv: string[], env: NodeJS.ProcessEnv): Promise<number>;
  /** Kills what startProcess started (its whole process group), as kubelet kills a container deleted with grace 0. */
  stopProcess?(pid: number): Promise<void>;
}

/** Options of the kubelet. */
export interface KubeletOptions {
  store: ObjectStore;
  runtime: PodRuntime;
  nodes: NodeNet[];
  /** Nodes served through the API only (Windows nodes): their pods get an address and a Running status, no network. */
  apiOnlyNodes?: { name: string; podCIDR: string; hostIP: string }[];
  /** resolv.conf for a pod of this namespace. */
  resolvConfFor: (namespace: string) => string;
  /** Image pulls; absent means every image is on every node already. */
  images?: ImagePullSettings;
  /** Whether the kubelet starts the generic responder on a pod's container ports (false for pods that run their own server). */
  runsResponders?: (pod: Record<string, any>) => boolean;
  /**
   * Where each pod gets a temporary directory of its own (by uid), the TMPDIR of its command and its execs, removed
   * when the pod goes: the lab's containers share the host's files, and a container's /tmp goes with the container.
   * Absent: TMPDIR is not set.
   */
  podTmpRoot?: string;
  log?: (line: string) => void;
  now?: () => Date;
  /**
   * A directory an exec in this pod puts first on PATH (the node's iptables alternatives pointing at the legacy
   * backend, for hostNetwork pods on a legacy node), or undefined for the plain PATH.
   */
  execPathFor?: (pod: PodNet) => string | undefined;
  /**
   * Tools the lab answers itself instead of running a host binary (e.g. `cilium-dbg` in the Cilium agent pod): a
   * result for the pod and command, or undefined to run the command as usual.
   */
  podTools?: (pod: Record<string, any>, command: string[]) => { stdout: string; stderr: string; exitCode: number } | undefined;
  /** Dual-stack with IPv6 as the primary family: status.podIP(s) and hostIP(s) list the IPv6 address first. */
  ipv6Primary?: boolean;
}

/** Internal state of a realized pod. */
interface LivePod {
  net: PodNet;
  uid: string;
  /** Container ports with a responder (for logs). */
  ports: number[];
  execs: Set<ChildProcess>;
  /** The PIDs of the containers' commands the lab runs (runsCommand). */
  processes: number[];
  /** The pod's own temporary directory (its processes' TMPDIR), removed with it; absent without podTmpRoot. */
  tmp?: string;
  deadline?: NodeJS.Timeout;
}

type Obj = Record<string, any>;

/** Where a container sits in the pod spec (the events' fieldPath). */
type ContainerKind = 'containers' | 'ephemeralContainers';

/** Returns the lab's kubelet; call start() once the store holds the scenario's objects. */
export class Kubelet implements KubeletBackend {
  private readonly opts: KubeletOptions;
  private readonly pods = new Map<string, LivePod>();
  private readonly used = new Map<string, Set<string>>();
  private unwatch?: () => void;
  /**
   * The changes still to handle, one chain per node (a pod's events in order on its node's chain): every node has a
   * kubelet of its own, so one node starting a pod never waits for another node's pod network or pull.
   */
  private readonly queues = new Map<string, Promise<void>>();
  /** Images on each node (fully qualified), and pulls under way (`node image` → their end). */
  private readonly present = new Map<string, Set<string>>();
  private readonly pulling = new Map<string, Promise<void>>();
  /** Containers whose start is under way (`ns/name/uid/container`), so a watch event does not start them twice. */
  private readonly starting = new Set<string>();
  /** Events already recorded (`uid fieldPath reason message` → event name), counted up on repeats as kubelet's recorder does. */
  private readonly events = new Map<string, string>();
  private eventSeq = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(opts: KubeletOptions) {
    this.opts = opts;
    for (const n of opts.nodes) this.used.set(n.name, new Set([n.gatewayIP, n.vtepIP]));
    for (const n of opts.apiOnlyNodes ?? []) {
      const [a, b, c] = n.podCIDR.split('/')[0]!.split('.');
      this.used.set(n.name, new Set([`${a}.${b}.${c}.0`, `${a}.${b}.${c}.1`]));
    }
  }

  /** Realizes every pod already in the store, then follows the store's changes. */
  async start(): Promise<void> {
    const { items } = this.opts.store.list('pods', undefined, {});
    for (const p of items) this.reservePodIP(p);
    // The images of the pods the cluster starts with are on their nodes already.
    for (const p of items as Obj[]) {
      if (!p.status?.podIP || !p.spec?.nodeName) continue;
      for (const c of p.spec.containers ?? []) if (c.image) this.imagesOn(p.spec.nodeName).add(parseImageRef(c.image).full);
    }
    await Promise.all(items.map((p) => this.realize(p)));
    this.unwatch = this.opts.store.watch('pods', undefined, undefined, (ev) => {
      // In order per node: a pod's network must exist before a later event for it is handled (a pod's node, once set,
      // never changes; events of unscheduled pods, which no kubelet runs, go on the chain of the node name '').
      const node = String((ev.object as Obj).spec?.nodeName ?? '');
      const next = this.queueOf(node).then(() => this.handle(ev.type, ev.object)).catch((e) => this.opts.log?.(`kubelet: ${e.message}`));
      this.queues.set(node, next);
    });
  }

  /** What a node's kubelet still has to do (resolved when it is idle). */
  private queueOf(node: string): Promise<void> {
    return this.queues.get(node) ?? Promise.resolve();
  }

  /** Waits until every change seen so far has been handled, on every node (for tests and the controller). */
  async settle(): Promise<void> {
    for (let tails = [...this.queues.values()]; ; ) {
      await Promise.all(tails);
      const now = [...this.queues.values()];
      if (now.every((q, i) => q === tails[i]) && now.length === tails.length) return;
      tails = now;
    }
  }

  /** Stops everything the kubelet started (responders, execs, deadlines); pod namespaces go with the data plane. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.unwatch?.();
    await this.settle();
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
    const ip = statusIPv4(p.status);
    const node = p.spec?.nodeName as string | undefined;
    if (ip && node && !p.spec?.hostNetwork) this.used.get(node)?.add(ip);
  }

  private allocateIP(node: { name: string; podCIDR: string }): string {
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
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const apiOnly = (this.opts.apiOnlyNodes ?? []).find((n) => n.name === pod.spec?.nodeName);
    if (apiOnly) {
      this.startApiOnly(pod, apiOnly);
      return;
    }
    if (!node) return; // unscheduled or a synthetic node: API only
    const hostNetwork = pod.spec?.hostNetwork === true;
    const ip = hostNetwork ? node.underlayIP : (statusIPv4(pod.status) ?? this.allocateIP(node));
    // Dual-stack: host-local hands out the IPv6 address in step with the IPv4 one (the same offset in the node's /64).
    const v6 = node.v6;
    const ip6 = v6 === undefined ? undefined : hostNetwork ? v6.underlayIP : (statusIPv6(pod.status) ?? podIPv6For(ip, node.podCIDR, v6.podCIDR));
    const family = ip6 === undefined ? {} : { ip6 };
    const live: LivePod = { net: { key, node: node.name, netns: node.netns, hostNetwork, ip, ...family }, uid: pod.metadata.uid, ports: [], execs: new Set(), processes: [] };
    if (this.opts.podTmpRoot !== undefined) {
      live.tmp = join(this.opts.podTmpRoot, String(pod.metadata.uid));
      mkdirSync(live.tmp, { recursive: true });
    }
    this.pods.set(key, live);
    live.net = await this.opts.runtime.startPodNetwork({ key, node: node.name, hostNetwork, ip, ...family }, this.opts.resolvConfFor(pod.metadata.namespace));
    const ordered = (a4: string, a6: string | undefined): { ip: string }[] =>
      (a6 === undefined ? [a4] : this.opts.ipv6Primary ? [a6, a4] : [a4, a6]).map((x) => ({ ip: x }));
    const podIPs = ordered(ip, ip6);
    const hostIPs = ordered(node.underlayIP, v6?.underlayIP);
    const net = live.net;
    const responders = this.opts.runsResponders?.(pod) ?? true;
    for (const c of responders ? (pod.spec?.containers ?? []) : []) {
      for (const p of c.ports ?? []) {
        await this.opts.runtime.startResponder(net, p.containerPort, p.protocol ?? 'TCP');
        live.ports.push(p.containerPort);
      }
    }
    const now = (this.opts.now?.() ?? new Date()).toISOString();
    // A pod created through the API starts its containers now: at once when every image is there and may run, else
    // through pulls and checks that leave it Pending with waiting containers (the scenario's pods are running already).
    const wasFresh = !pod.status?.podIP;
    const waits = wasFresh ? (pod.spec?.containers ?? []).filter((c: Obj) => !this.startsAtOnce(pod, node.name, c)) : [];
    // The containers that start now run their commands before they are reported Running, as a container's process has
    // started by then.
    for (const c of pod.spec?.containers ?? []) if (!waits.includes(c)) await this.runCommand(live, c);
    this.opts.store.mutate('pods', pod.metadata.namespace, pod.metadata.name, (o: Obj) => {
      o.status ??= {};
      const s = o.status;
      const fresh = !s.podIP;
      if (fresh && waits.length > 0) {
        s.phase = 'Pending';
        s.podIP = podIPs[0]!.ip;
        s.podIPs = podIPs;
        s.hostIP = hostIPs[0]!.ip;
        s.hostIPs = hostIPs;
        s.startTime ??= now;
        const names = (o.spec.containers ?? []).map((c: Obj) => c.name).join(' ');
        const notReady = { status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${names}]` };
        s.conditions = [
          { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: now },
          { type: 'Initialized', status: 'True', lastTransitionTime: now },
          { type: 'Ready', ...notReady, lastTransitionTime: now },
          { type: 'ContainersReady', ...notReady, lastTransitionTime: now },
          { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        ];
        s.containerStatuses = (o.spec.containers ?? []).map((c: Obj) => ({
          name: c.name, image: c.image, imageID: '', ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } },
        }));
        return;
      }
      s.phase = 'Running';
      s.podIP = podIPs[0]!.ip;
      s.podIPs = podIPs;
      s.hostIP = hostIPs[0]!.ip;
      s.hostIPs = hostIPs;
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
    if (wasFresh) {
      const current = this.opts.store.get('pods', pod.metadata.namespace, pod.metadata.name) ?? pod;
      for (const c of current.spec?.containers ?? []) {
        if (waits.some((w: Obj) => w.name === c.name)) void this.startContainer(current, node.name, c, 'containers');
        else this.recordStartAtOnce(current, node.name, c, 'containers');
      }
    }
    this.markEphemeralRunning(this.opts.store.get('pods', pod.metadata.namespace, pod.metadata.name) ?? pod);
  }

  private imagesOn(node: string): Set<string> {
    let set = this.present.get(node);
    if (!set) this.present.set(node, (set = new Set()));
    return set;
  }

  /** The pull policy the API server defaults: Always for `:latest` or no tag, IfNotPresent otherwise. */
  private pullPolicy(c: Obj): string {
    if (typeof c.imagePullPolicy === 'string') return c.imagePullPolicy;
    return parseImageRef(String(c.image ?? '')).tag === 'latest' ? 'Always' : 'IfNotPresent';
  }

  /** True when a container can start in the same step: its image is there (or pulls instantly) and runAsNonRoot holds. */
  private startsAtOnce(pod: Obj, node: string, c: Obj): boolean {
    if (!c.image) return true;
    const settings = this.opts.images ?? { pullSeconds: 0, allowed: [] };
    const present = this.imagesOn(node).has(parseImageRef(c.image).full);
    const pulls = !present || this.pullPolicy(c) === 'Always';
    if (pulls && !canPull(c.image, settings.allowed)) return false;
    if (!present && (settings.pullSeconds > 0 || this.pulling.has(`${node} ${parseImageRef(c.image).full}`))) return false;
    return this.runAsNonRootError(pod, c) === undefined;
  }

  private runAsNonRootError(pod: Obj, c: Obj): string | undefined {
    if (!c.image) return undefined;
    return verifyRunAsNonRoot(pod.spec ?? {}, c as { name: string }, imageFacts(c.image), `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`);
  }

  /** The events of a container that starts at once: its image found or pulled in no time, created, started. */
  private recordStartAtOnce(pod: Obj, node: string, c: Obj, kind: ContainerKind): void {
    const fieldPath = `spec.${kind}{${c.name}}`;
    if (c.image) {
      const full = parseImageRef(c.image).full;
      const present = this.imagesOn(node).has(full);
      if (present && this.pullPolicy(c) !== 'Always') {
        this.recordEvent(pod, node, fieldPath, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
      } else {
        this.recordEvent(pod, node, fieldPath, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
        this.imagesOn(node).add(full);
        this.recordEvent(pod, node, fieldPath, 'Normal', 'Pulled', `Successfully pulled image "${c.image}" in 0s (0s including waiting). Image size: ${imageFacts(c.image).sizeBytes} bytes.`);
      }
    }
    this.recordEvent(pod, node, fieldPath, 'Normal', 'Created', `Created container: ${c.name}`);
    this.recordEvent(pod, node, fieldPath, 'Normal', 'Started', `Started container ${c.name}`);
  }

  /**
   * Waits until the wall clock reaches `deadline` (Date.now() ms), unless the kubelet stops meanwhile: a timer runs on
   * the monotonic clock and may fire a millisecond before the wall clock gets there, so it is checked and re-armed.
   */
  private async sleepUntil(deadline: number): Promise<boolean> {
    for (let left = deadline - Date.now(); left > 0; left = deadline - Date.now()) {
      if (!(await this.sleep(left))) return false;
    }
    return !this.stopped;
  }

  /** Waits ms, unless the kubelet stops meanwhile (then resolves false). */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(false);
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve(!this.stopped);
      }, ms);
      this.timers.add(t);
    });
  }

  /** True while the pod this container belongs to is the same pod (not deleted or replaced). */
  private stillThere(pod: Obj): boolean {
    const cur = this.opts.store.get('pods', pod.metadata.namespace, pod.metadata.name);
    return !this.stopped && cur !== undefined && cur.metadata.uid === pod.metadata.uid;
  }

  /** Sets the state of one container's status (regular or ephemeral) and, for regular ones, the pod's phase and readiness. */
  private setContainerState(pod: Obj, c: Obj, kind: ContainerKind, state: Obj): void {
    if (!this.stillThere(pod)) return;
    const running = state.running !== undefined;
    const now = (this.opts.now?.() ?? new Date()).toISOString();
    this.opts.store.mutate('pods', pod.metadata.namespace, pod.metadata.name, (o: Obj) => {
      o.status ??= {};
      const field = kind === 'containers' ? 'containerStatuses' : 'ephemeralContainerStatuses';
      const list: Obj[] = (o.status[field] ??= []);
      let st = list.find((x) => x.name === c.name);
      if (!st) list.push((st = { name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0 }));
      st.state = state;
      if (kind === 'containers') {
        st.ready = running;
        st.started = running;
        const all = list.length > 0 && list.every((x) => x.state?.running);
        o.status.phase = all ? 'Running' : 'Pending';
        const unready = list.filter((x) => !x.state?.running).map((x) => x.name).join(' ');
        for (const cond of o.status.conditions ?? []) {
          if (cond.type !== 'Ready' && cond.type !== 'ContainersReady') continue;
          const want = all ? 'True' : 'False';
          if (cond.status !== want) cond.lastTransitionTime = now;
          cond.status = want;
          if (all) {
            delete cond.reason;
            delete cond.message;
          } else {
            cond.reason = 'ContainersNotReady';
            cond.message = `containers with unready status: [${unready}]`;
          }
        }
      }
    });
  }

  /**
   * Starts one container as kubelet does: ensure its image (pull, or fail and back off while the registry is out of
   * reach), check runAsNonRoot against the image's user, then create and start it; every step is an event and a
   * waiting reason on the container's status.
   */
  private async startContainer(pod: Obj, node: string, c: Obj, kind: ContainerKind): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}/${pod.metadata.uid}/${c.name}`;
    if (this.starting.has(key)) return;
    this.starting.add(key);
    const fieldPath = `spec.${kind}{${c.name}}`;
    const event = (type: 'Normal' | 'Warning', reason: string, message: string) => this.stillThere(pod) && this.recordEvent(pod, node, fieldPath, type, reason, message);
    const settings = this.opts.images ?? { pullSeconds: 0, allowed: [] };
    try {
      if (c.image) {
        const image = String(c.image);
        const full = parseImageRef(image).full;
        const present = this.imagesOn(node).has(full);
        const pulls = !present || this.pullPolicy(c) === 'Always';
        if (!pulls) {
          event('Normal', 'Pulled', `Container image "${image}" already present on machine`);
        } else if (!canPull(image, settings.allowed)) {
          const err = unreachableRegistryError(image);
          for (let backoff: number = PULL_BACKOFF.initialMs; ; backoff = Math.min(backoff * 2, PULL_BACKOFF.maxMs)) {
            event('Normal', 'Pulling', `Pulling image "${image}"`);
            event('Warning', 'Failed', `Failed to pull image "${image}": ${err}`);
            this.setContainerState(pod, c, kind, { waiting: { reason: 'ErrImagePull', message: err } });
            event('Warning', 'Failed', 'Error: ErrImagePull');
            if (!(await this.sleep(NEXT_SYNC_MS)) || !this.stillThere(pod)) return;
            event('Normal', 'BackOff', `Back-off pulling image "${image}"`);
            event('Warning', 'Failed', 'Error: ImagePullBackOff');
            this.setContainerState(pod, c, kind, { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ErrImagePull: ${err}` } });
            if (!(await this.sleep(backoff)) || !this.stillThere(pod)) return;
          }
        } else {
          event('Normal', 'Pulling', `Pulling image "${image}"`);
          const started = Date.now();
          const pullKey = `${node} ${full}`;
          let pull = this.pulling.get(pullKey);
          const pulledByUs = !present && pull === undefined;
          if (pulledByUs) {
            pull = this.sleepUntil(started + settings.pullSeconds * 1000).then(() => {
              this.imagesOn(node).add(full);
              this.pulling.delete(pullKey);
            });
            this.pulling.set(pullKey, pull);
          }
          await pull;
          if (!this.stillThere(pod)) return;
          const took = formatGoDuration(Date.now() - started);
          event('Normal', 'Pulled', `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${imageFacts(image).sizeBytes} bytes.`);
        }
      }
      const current = this.opts.store.get('pods', pod.metadata.namespace, pod.metadata.name) ?? pod;
      const refused = this.runAsNonRootError(current, c);
      if (refused !== undefined) {
        this.setContainerState(pod, c, kind, { waiting: { reason: 'CreateContainerConfigError', message: refused } });
        event('Warning', 'Failed', `Error: ${refused}`);
        return;
      }
      event('Normal', 'Created', `Created container: ${c.name}`);
      const live = this.pods.get(`${pod.metadata.namespace}/${pod.metadata.name}`);
      if (live && kind === 'containers' && this.stillThere(pod)) await this.runCommand(live, c);
      event('Normal', 'Started', `Started container ${c.name}`);
      this.setContainerState(pod, c, kind, { running: { startedAt: (this.opts.now?.() ?? new Date()).toISOString() } });
    } catch (e) {
      this.opts.log?.(`kubelet: starting ${key}: ${(e as Error).message}`);
    } finally {
      this.starting.delete(key);
    }
  }

  /**
   * Records a core/v1 Event about a pod's container as kubelet's recorder does: source kubelet on the node, and a repeat
   * of the same reason and message counted up on the first event (count, lastTimestamp) instead of a new one.
   */
  private recordEvent(pod: Obj, node: string, fieldPath: string, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const now = (this.opts.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const ns = pod.metadata.namespace;
    const dedupe = `${pod.metadata.uid} ${fieldPath} ${type} ${reason} ${message}`;
    const seen = this.events.get(dedupe);
    if (seen) {
      try {
        this.opts.store.mutate('events', ns, seen, (e: Obj) => {
          e.count = (e.count ?? 1) + 1;
          e.lastTimestamp = now;
        });
        return;
      } catch {
        this.events.delete(dedupe);
      }
    }
    // Event names are `<object>.<hex time>`, as client-go's recorder makes them (here a strictly growing nanosecond count).
    const nanos = BigInt(Date.now()) * 1_000_000n + BigInt(this.eventSeq++ % 1_000_000);
    const name = `${pod.metadata.name}.${nanos.toString(16)}`;
    this.opts.store.create('events', {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid, apiVersion: 'v1', resourceVersion: pod.metadata.resourceVersion, fieldPath },
      reason,
      message,
      source: { component: 'kubelet', host: node },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: 'kubelet',
      reportingInstance: node,
    } as never);
    this.events.set(dedupe, name);
  }

  /** A pod on an API-only (Windows) node: an address from the node's pod CIDR and a Running status, with no network. */
  private startApiOnly(pod: Obj, node: { name: string; podCIDR: string; hostIP: string }): void {
    if (pod.status?.podIP) return; // a scenario pod: the API already holds its status
    const ip = pod.spec?.hostNetwork === true ? node.hostIP : this.allocateIP(node);
    const now = (this.opts.now?.() ?? new Date()).toISOString();
    this.opts.store.mutate('pods', pod.metadata.namespace, pod.metadata.name, (o: Obj) => {
      o.status ??= {};
      const s = o.status;
      s.phase = 'Running';
      s.podIP = ip;
      s.podIPs = [{ ip }];
      s.hostIP = node.hostIP;
      s.hostIPs = [{ ip: node.hostIP }];
      s.startTime ??= now;
      s.conditions = ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((t) => ({ type: t, status: 'True', lastTransitionTime: now }));
      s.containerStatuses = (o.spec.containers ?? []).map((c: Obj) => ({
        name: c.name, image: c.image, imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } },
      }));
    });
  }

  /**
   * Starts every ephemeral container without a status: at once (running) when its image is there and runAsNonRoot holds,
   * else through the same pull and checks as any container, waiting meanwhile (ContainerCreating).
   */
  private markEphemeralRunning(pod: Obj): void {
    const specs: Obj[] = pod.spec?.ephemeralContainers ?? [];
    const have = new Set((pod.status?.ephemeralContainerStatuses ?? []).map((s: Obj) => s.name));
    const fresh = specs.filter((c) => !have.has(c.name));
    if (fresh.length === 0) return;
    const node = pod.spec?.nodeName as string;
    const waits = fresh.filter((c) => !this.startsAtOnce(pod, node, c));
    const now = (this.opts.now?.() ?? new Date()).toISOString();
    const updated = this.opts.store.mutate('pods', pod.metadata.namespace, pod.metadata.name, (o: Obj) => {
      o.status ??= {};
      const list: Obj[] = (o.status.ephemeralContainerStatuses ??= []);
      for (const c of o.spec.ephemeralContainers ?? []) {
        if (list.some((s) => s.name === c.name)) continue;
        const state = waits.some((w) => w.name === c.name) ? { waiting: { reason: 'ContainerCreating' } } : { running: { startedAt: now } };
        list.push({ name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, state });
      }
    }) as Obj;
    for (const c of fresh) {
      if (waits.includes(c)) void this.startContainer(updated, node, c, 'ephemeralContainers');
      else this.recordStartAtOnce(updated, node, c, 'ephemeralContainers');
    }
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

  /**
   * Runs a container's command when the lab can: an explicit `command` (with its `args`) of an image whose tools the host
   * has (runsCommands, images.ts), so a debug container's command really runs, as kubelet would start it. Other
   * containers (the lab's responders, system pods' binaries) run nothing of theirs.
   */
  private async runCommand(live: LivePod, c: Obj): Promise<void> {
    if (!this.opts.runtime.startProcess || !Array.isArray(c.command) || c.command.length === 0 || !runsCommands(String(c.image ?? ''))) return;
    const env = { ...this.envOf(live), HOSTNAME: live.net.key.split('/')[1] ?? '' };
    live.processes.push(await this.opts.runtime.startProcess(live.net, [...c.command, ...(c.args ?? [])].map(String), env));
  }

  /**
   * What every process of a pod gets: the host's PATH after the pod's own tools (execPathFor) when it has some, and its
   * own TMPDIR when the lab gives pods one.
   */
  private envOf(live: LivePod): { PATH: string; HOME: string; TMPDIR?: string } {
    const extraPath = this.opts.execPathFor?.(live.net);
    const PATH = `${extraPath === undefined ? '' : `${extraPath}:`}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
    return { PATH, HOME: '/root', ...(live.tmp !== undefined ? { TMPDIR: live.tmp } : {}) };
  }

  private async stopLive(live: LivePod, removeNetwork: boolean): Promise<void> {
    if (live.deadline) clearTimeout(live.deadline);
    for (const c of live.execs) c.kill('SIGKILL');
    for (const pid of live.processes.splice(0)) await this.opts.runtime.stopProcess?.(pid).catch((e: Error) => this.opts.log?.(`kubelet: ${e.message}`));
    if (live.tmp !== undefined) rmSync(live.tmp, { recursive: true, force: true });
    if (removeNetwork) await this.opts.runtime.stopPodNetwork(live.net).catch((e) => this.opts.log?.(`kubelet: ${e.message}`));
  }

  /** Runs a command in a pod's container, in the pod's network namespace, with the host's tools. */
  async exec(req: ExecRequest): Promise<ExecProcess> {
    // What the pod's node has yet to handle (its start, an ephemeral container) comes first, as on a real node.
    await this.queueOf(String((this.opts.store.get('pods', req.namespace, req.pod) as Obj | undefined)?.spec?.nodeName ?? ''));
    const pod = this.opts.store.get('pods', req.namespace, req.pod) as Obj | undefined;
    if (!pod) throw new LabApiError(404, 'NotFound', `pods "${req.pod}" not found`);
    const containers: Obj[] = pod.spec?.containers ?? [];
    const ephemeral: Obj[] = pod.spec?.ephemeralContainers ?? [];
    // The API server has already checked the pod, the container name and the command, as a real apiserver does.
    const name = req.container ?? containers[0]?.name;
    const isEphemeral = ephemeral.some((c) => c.name === name);
    const live = this.pods.get(`${req.namespace}/${req.pod}`);
    if ((this.opts.apiOnlyNodes ?? []).some((n) => n.name === pod.spec?.nodeName)) {
      throw new LabApiError(400, 'BadRequest', `pod ${req.pod} runs on node ${pod.spec.nodeName}, which the lab serves through the API only (a Windows node has no data plane in the lab)`);
    }
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
      env: { ...this.envOf(live), TERM: req.tty ? 'xterm' : 'dumb', HOSTNAME: req.pod },
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
