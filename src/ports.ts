/**
 * The two narrow I/O interfaces between the pure core and the cluster: `Cluster` reads what the API knows and resolves
 * targets; `Prober` prepares the places probes run (an ephemeral container in the source pod, short-lived pods on
 * nodes) and runs probes there. `main` builds the real ones from src/kube/ (the only code that talks to the API); tests use fakes.
 */
import type { ClusterFacts } from './core/facts.ts';
import type { ProbeLocation, ProbeResult, ProbeSpec } from './core/model.ts';
import type { TargetRef } from './core/target.ts';
import type { ExecTarget } from './core/repeat-command.ts';
import type { CaptureLocation, CaptureRecord } from './core/trace-plan.ts';

/** Reads the cluster through the Kubernetes API. */
export interface Cluster {
  /** Resolves both targets and gathers the facts the planner and the verdict need; throws NetdebugError (exit 2/3). */
  resolve(source: TargetRef, destination: TargetRef): Resolving;
  /** API requests made so far (for stats). */
  apiRequests(): number;
}

/** A resolution under way. */
export interface Resolving extends Promise<ClusterFacts> {
  /**
   * Optional: settles as soon as what places the ladder's debug containers and the node pods' probes is known (the
   * targets, their nodes, the datapath), before the rest (the cluster DNS's pods, a Service's backend pods, policies,
   * namespace labels): facts with no DNS pods or Services, no `policy` and no static findings yet. Rejects as the
   * resolution does when it fails first; the resolution's own facts when it ends first.
   */
  placement?: Promise<ClusterFacts>;
}

/** A debug pod cleanup could not delete, and why. */
export interface LeftPod {
  namespace: string;
  name: string;
  reason: string;
}

/** What a cleanup did: the pods it deleted (`ns/name`) and those it had to leave. */
export interface CleanupReport {
  deleted: string[];
  left: LeftPod[];
}

/** Where probes could or could not be set up. */
export type LocationStatus = { ready: true } | { ready: false; reason: string };

/** Probes of one location running together in one exec (Prober.runBatch). */
export interface ProbeBatch {
  /** One result per spec, in the order given; each settles as soon as its own probe ends. Never rejects. */
  results: Promise<ProbeResult>[];
  /** Ends the probes of these ids that are still running now, as cut off at their budget (exit code null). */
  cutOff(ids: readonly string[]): void;
}

/** Packet captures running at one location in one exec (Prober.capture). */
export interface CaptureSession {
  /** Settles once every capture of the location listens (or the exec failed: `reason`). Never rejects. */
  listening: Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Ends the captures (by the PIDs the script started) and returns what each hop saw, or why nothing came. Never rejects. */
  stop(): Promise<{ records: CaptureRecord[]; error?: string }>;
}

/** Runs probes inside the cluster. */
export interface Prober {
  /**
   * Makes every location usable: adds (or reuses) the ephemeral container in the source pod, creates the node debug
   * pods (labelled, with activeDeadlineSeconds) and waits for them. A location that cannot be set up is reported, not
   * thrown: its probes become `could-not-run`. `planned` (by location key) are the probes each location's first runBatch
   * will ask for: a prober may start them with the location (a node debug pod's container starts its batch at once).
   */
  prepare(locations: ProbeLocation[], planned?: ReadonlyMap<string, readonly ProbeSpec[]>): Promise<Map<string, LocationStatus>>;
  /** Runs one probe (bounded by spec.timeoutMs); never throws: failures to run become `could-not-run`. */
  run(spec: ProbeSpec): Promise<ProbeResult>;
  /**
   * Runs every probe of ONE prepared location in a single exec that streams each probe's result as it ends (each probe
   * keeps its own argv and output). Optional: without it each probe is `run` on its own.
   */
  runBatch?(specs: ProbeSpec[]): ProbeBatch;
  /**
   * Starts packet captures at ONE location: `command` (core's buildCaptureCommand with `mark`) runs in one exec whose
   * stdin tells it to stop, bounded by `timeoutMs` (the captures' own bound). A probe location must have been prepared; a
   * `target-pod` (the destination pod) gets its ephemeral debug container here. Optional: without it there is no trace.
   */
  capture?(where: CaptureLocation, command: string[], opts: { mark: string; timeoutMs: number }): CaptureSession;
  /**
   * Deletes every pod this run created (unless kept), bounded in time; safe to call twice (the same promise) and from a
   * signal handler. Says which pods it could not delete, when it knows (a fake may return nothing).
   */
  cleanup(): Promise<CleanupReport | void>;
  /** Execs made so far (for stats). */
  execs(): number;
  /**
   * The container a prepared location's probes are exec'd in, for the commands that repeat them by hand. Optional:
   * without it (or for a location not prepared) probes carry no such command.
   */
  execTarget?(where: ProbeLocation): ExecTarget | undefined;
}
