/**
 * What decides whether a debug container can run at all, each through `lab up` and real kubectl 1.32: Pod Security
 * admission of `pods/ephemeralcontainers` (enforce, warn, audit), the kubelet's runAsNonRoot check, slow image pulls and
 * an air-gapped cluster, with the container statuses and events `kubectl describe` and `kubectl get events` show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipLabSuite, startTestLab, type TestLab } from './harness.ts';

const skip = skipLabSuite('lab Pod Security, runAsNonRoot and image pulls');

const NETSHOOT = 'nicolaka/netshoot:v0.13';
const json = <T = any>(text: string): T => JSON.parse(text) as T;

/** Polls `read` until `done` holds for its value (every 200 ms, up to timeoutMs); returns the last value read. */
async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The pod's events for one container, oldest first, as [type, reason, message]. */
async function containerEvents(lab: TestLab, ns: string, pod: string, container: string): Promise<string[][]> {
  const r = await lab.kubectl(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${pod}`, '-o', 'json']);
  return json(r.stdout).items
    .filter((e: any) => e.involvedObject.fieldPath?.endsWith(`{${container}}`))
    .map((e: any) => [e.type, e.reason, e.message]);
}

/** The status of an ephemeral container. */
async function ephemeralStatus(lab: TestLab, ns: string, pod: string, container: string): Promise<any> {
  const p = json((await lab.kubectl(['get', 'pod', '-n', ns, pod, '-o', 'json'])).stdout);
  return (p.status.ephemeralContainerStatuses ?? []).find((s: any) => s.name === container);
}

/** Adds an ephemeral container through `pods/ephemeralcontainers`, as kubectl debug does. */
async function addEphemeral(lab: TestLab, ns: string, pod: string, container: Record<string, unknown>) {
  const patch = { spec: { ephemeralContainers: [{ command: ['sleep', '600'], ...container }] } };
  return lab.kubectl(['patch', 'pod', '-n', ns, pod, '--subresource=ephemeralcontainers', '--type=strategic', '-p', JSON.stringify(patch)]);
}

describe.skipIf(skip)('Pod Security baseline (scenarios/psa-baseline.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('psa-baseline');
  }, 90_000);
  afterAll(async () => lab?.down(), 60_000);

  it('rejects a kubectl debug container that adds NET_ADMIN and NET_RAW with the real message', async () => {
    const r = await lab.kubectl(['debug', '-n', 'shop', 'web-1', `--image=${NETSHOOT}`, '--profile=netadmin', '--container=dbg', '--', 'sleep', '600']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error from server (Forbidden): pods "web-1" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities ' +
        '(container "dbg" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)\n',
    );
    expect(await ephemeralStatus(lab, 'shop', 'web-1', 'dbg')).toBeUndefined();
  });

  it('admits a baseline debug container with the restricted warning kubectl prints, and audits it', async () => {
    await lab.labApi('DELETE', '/lab/v1/requests');
    const r = await lab.kubectl(['debug', '-n', 'shop', 'web-1', `--image=${NETSHOOT}`, '--profile=legacy', '--container=dbg2', '--', 'sleep', '600']);
    expect(r.code, r.stderr).toBe(0);
    const warning =
      'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (containers "app", "dbg2" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (containers "app", "dbg2" must set securityContext.capabilities.drop=["ALL"]), ' +
      'runAsNonRoot != true (pod or containers "app", "dbg2" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or containers "app", "dbg2" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';
    expect(r.stderr).toContain(`Warning: ${warning}\n`);
    const audit = (await lab.labApi('GET', '/lab/v1/audit')) as any[];
    expect(audit.at(-1)).toEqual({
      verb: 'patch',
      resource: 'pods/ephemeralcontainers',
      namespace: 'shop',
      name: 'web-1',
      annotations: { 'pod-security.kubernetes.io/enforce-policy': 'baseline:latest', 'pod-security.kubernetes.io/audit-violations': warning },
    });
    const st = await waitFor(() => ephemeralStatus(lab, 'shop', 'web-1', 'dbg2'), (s) => s?.state?.running !== undefined, 20_000);
    expect(st.state.running).toBeDefined();
  });
});

describe.skipIf(skip)('Pod Security restricted and runAsNonRoot (scenarios/psa-restricted.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('psa-restricted');
  }, 90_000);
  afterAll(async () => lab?.down(), 60_000);

  it('rejects a default kubectl debug container with every restricted violation', async () => {
    const r = await lab.kubectl(['debug', '-n', 'shop', 'web-1', `--image=${NETSHOOT}`, '--profile=general', '--container=dbg', '--', 'sleep', '600']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error from server (Forbidden): pods "web-1" is forbidden: violates PodSecurity "restricted:latest": ' +
        'non-default capabilities (container "dbg" must not include "SYS_PTRACE" in securityContext.capabilities.add), ' +
        'allowPrivilegeEscalation != false (container "dbg" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (container "dbg" must set securityContext.capabilities.drop=["ALL"]; container "dbg" must not include "SYS_PTRACE" in securityContext.capabilities.add)\n',
    );
  });

  it('admits a --profile=restricted debug container, which runs as the pod’s non-root runAsUser', async () => {
    const r = await lab.kubectl(['debug', '-n', 'shop', 'web-2', `--image=${NETSHOOT}`, '--profile=restricted', '--container=dbg', '--', 'sleep', '600']);
    expect(r.code, r.stderr).toBe(0);
    const pod = json((await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-2', '-o', 'json'])).stdout);
    const st = await waitFor(() => ephemeralStatus(lab, 'shop', 'web-2', 'dbg'), (s) => s?.state?.running !== undefined, 20_000);
    // the pod's runAsUser 1000 applies to the debug container too, so netshoot (root by its image) runs as 1000
    expect(st.state.running).toBeDefined();
    expect(pod.spec.securityContext.runAsUser).toBe(1000);
  });
});

describe.skipIf(skip)('runAsNonRoot (scenarios/run-as-non-root.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('run-as-non-root');
  }, 90_000);
  afterAll(async () => lab?.down(), 60_000);

  it('runs the pod itself (its image runs as uid 65532) with the securityContext in its spec', async () => {
    const pod = json((await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'json'])).stdout);
    expect(pod.spec.securityContext).toEqual({ runAsNonRoot: true });
    expect(pod.status.phase).toBe('Running');
  });

  it('leaves a debug container whose image runs as root in CreateContainerConfigError with the kubelet’s message and event', async () => {
    const r = await lab.kubectl(['debug', '-n', 'shop', 'web-1', `--image=${NETSHOOT}`, '--container=dbg', '--profile=legacy', '--', 'sleep', '600']);
    expect(r.code, r.stderr).toBe(0);
    const uid = (await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const message = `container has runAsNonRoot and image will run as root (pod: "web-1_shop(${uid})", container: dbg)`;
    const st = await waitFor(() => ephemeralStatus(lab, 'shop', 'web-1', 'dbg'), (s) => s?.state?.waiting?.reason === 'CreateContainerConfigError', 20_000);
    expect(st.state).toEqual({ waiting: { reason: 'CreateContainerConfigError', message } });
    const events = await waitFor(() => containerEvents(lab, 'shop', 'web-1', 'dbg'), (e) => e.some((x) => x[1] === 'Failed'), 20_000);
    expect(events.map((e) => e[1])).toEqual(['Pulling', 'Pulled', 'Failed']);
    expect(events.at(-1)).toEqual(['Warning', 'Failed', `Error: ${message}`]);
    const describe = await lab.kubectl(['describe', 'pod', '-n', 'shop', 'web-1']);
    expect(describe.stdout).toMatch(/State:\s+Waiting\n\s+Reason:\s+CreateContainerConfigError/);
    expect(describe.stdout).toMatch(new RegExp(`Warning\\s+Failed\\s+\\S+\\s+kubelet\\s+Error: container has runAsNonRoot and image will run as root \\(pod: "web-1_shop\\(${uid}\\)", container: dbg\\)`));
  });

  it('starts a debug container with an explicit non-root runAsUser, and refuses runAsUser 0', async () => {
    expect((await addEphemeral(lab, 'shop', 'web-1', { name: 'dbg-uid', image: NETSHOOT, securityContext: { runAsUser: 1000 } })).code).toBe(0);
    const ok = await waitFor(() => ephemeralStatus(lab, 'shop', 'web-1', 'dbg-uid'), (s) => s?.state?.running !== undefined, 20_000);
    expect(ok.state.running).toBeDefined();
    expect((await addEphemeral(lab, 'shop', 'web-1', { name: 'dbg-root', image: NETSHOOT, securityContext: { runAsUser: 0 } })).code).toBe(0);
    const uid = (await lab.kubectl(['get', 'pod', '-n', 'shop', 'web-1', '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const bad = await waitFor(() => ephemeralStatus(lab, 'shop', 'web-1', 'dbg-root'), (s) => s?.state?.waiting !== undefined, 20_000);
    expect(bad.state.waiting).toEqual({ reason: 'CreateContainerConfigError', message: `container's runAsUser breaks non-root policy (pod: "web-1_shop(${uid})", container: dbg-root)` });
    // a pod in a namespace without the setting: the same image runs as root and starts
    expect((await addEphemeral(lab, 'shop', 'web-2', { name: 'dbg', image: NETSHOOT })).code).toBe(0);
    const other = await waitFor(() => ephemeralStatus(lab, 'shop', 'web-2', 'dbg'), (s) => s?.state?.running !== undefined, 20_000);
    expect(other.state.running).toBeDefined();
  });
});

describe.skipIf(skip)('an air-gapped cluster (scenarios/air-gapped.yaml)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('air-gapped');
  }, 90_000);
  afterAll(async () => lab?.down(), 60_000);

  const pod = (name: string, image: string) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: 'node-2', containers: [{ name: 'probe', image, command: ['sleep', '600'] }] } });

  it('fails a pod whose image is not mirrored with ErrImagePull, then ImagePullBackOff, and the real events', async () => {
    expect((await lab.kubectl(['create', '--validate=false', '-f', '-'], { input: pod('probe', NETSHOOT) })).code).toBe(0);
    const err =
      'failed to pull and unpack image "docker.io/nicolaka/netshoot:v0.13": failed to resolve reference "docker.io/nicolaka/netshoot:v0.13": ' +
      'failed to do request: Head "https://registry-1.docker.io/v2/nicolaka/netshoot/manifests/v0.13": dial tcp: lookup registry-1.docker.io: i/o timeout';
    const states: string[] = [];
    const read = async () => {
      const p = json((await lab.kubectl(['get', 'pod', 'probe', '-o', 'json'])).stdout);
      const w = p.status.containerStatuses?.[0]?.state?.waiting;
      if (w && states.at(-1) !== w.reason) states.push(w.reason);
      return { phase: p.status.phase, waiting: w };
    };
    const last = await waitFor(read, (s) => s.waiting?.reason === 'ImagePullBackOff', 20_000);
    expect(last).toEqual({ phase: 'Pending', waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${NETSHOOT}": ErrImagePull: ${err}` } });
    expect(states.filter((s) => s !== 'ContainerCreating')).toEqual(['ErrImagePull', 'ImagePullBackOff'].slice(states.includes('ErrImagePull') ? 0 : 1));
    expect((await lab.kubectl(['get', 'pod', 'probe'])).stdout).toMatch(/^probe\s+0\/1\s+ImagePullBackOff\s+0\s+/m);
    const events = await containerEvents(lab, 'default', 'probe', 'probe');
    expect(events.slice(0, 5)).toEqual([
      ['Normal', 'Pulling', `Pulling image "${NETSHOOT}"`],
      ['Warning', 'Failed', `Failed to pull image "${NETSHOOT}": ${err}`],
      ['Warning', 'Failed', 'Error: ErrImagePull'],
      ['Normal', 'BackOff', `Back-off pulling image "${NETSHOOT}"`],
      ['Warning', 'Failed', 'Error: ImagePullBackOff'],
    ]);
    const table = await lab.kubectl(['get', 'events', '-n', 'default']);
    expect(table.stdout.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(table.stdout).toMatch(/Warning\s+Failed\s+pod\/probe\s+Error: ErrImagePull/);
  });

  it('runs a pod whose image is in the mirror', async () => {
    expect((await lab.kubectl(['create', '--validate=false', '-f', '-'], { input: pod('mirrored', 'busybox:1.36') })).code).toBe(0);
    const p = await waitFor(async () => json((await lab.kubectl(['get', 'pod', 'mirrored', '-o', 'json'])).stdout), (x) => x.status.phase === 'Running', 20_000);
    expect(p.status.containerStatuses[0].state.running).toBeDefined();
    expect((await containerEvents(lab, 'default', 'mirrored', 'probe')).map((e) => e[1])).toEqual(['Pulling', 'Pulled', 'Created', 'Started']);
  });
});

describe.skipIf(skip)('a slow first pull (scenarios/slow-pull.yaml, imagePullSeconds: 40)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab('slow-pull');
  }, 90_000);
  afterAll(async () => lab?.down(), 60_000);

  it('keeps the debug container waiting through a 40 s pull, then starts it; the next one on that node needs no pull', async () => {
    const started = Date.now();
    const r = await lab.kubectl(['debug', '-n', 'shop', 'web-1', `--image=${NETSHOOT}`, '--container=dbg', '--profile=legacy', '--', 'sleep', '600']);
    expect(r.code, r.stderr).toBe(0);
    const waiting = await ephemeralStatus(lab, 'shop', 'web-1', 'dbg');
    expect(waiting.state).toEqual({ waiting: { reason: 'ContainerCreating' } });
    expect(await containerEvents(lab, 'shop', 'web-1', 'dbg')).toEqual([['Normal', 'Pulling', `Pulling image "${NETSHOOT}"`]]);
    const st = await waitFor(() => ephemeralStatus(lab, 'shop', 'web-1', 'dbg'), (s) => s?.state?.running !== undefined, 90_000);
    expect(st.state.running).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(40_000);
    const events = await containerEvents(lab, 'shop', 'web-1', 'dbg');
    expect(events.map((e) => e[1])).toEqual(['Pulling', 'Pulled', 'Created', 'Started']);
    const pulled = /^Successfully pulled image "nicolaka\/netshoot:v0\.13" in (\d+(?:\.\d+)?)s \(\1s including waiting\)\. Image size: 208761544 bytes\.$/.exec(events[1]![2]!);
    expect(pulled, events[1]![2]).not.toBeNull();
    expect(Number(pulled![1])).toBeGreaterThanOrEqual(40);
    const describe = await lab.kubectl(['describe', 'pod', '-n', 'shop', 'web-1']);
    expect(describe.stdout).toMatch(/Normal\s+Pulling\s+\S+\s+kubelet\s+Pulling image "nicolaka\/netshoot:v0\.13"\n\s+Normal\s+Pulled\s+\S+\s+kubelet\s+Successfully pulled image/);

    // web-1 runs on node-2: a second debug container there finds the image
    expect((await addEphemeral(lab, 'shop', 'web-1', { name: 'dbg2', image: NETSHOOT })).code).toBe(0);
    const again = await waitFor(() => ephemeralStatus(lab, 'shop', 'web-1', 'dbg2'), (s) => s?.state?.running !== undefined, 10_000);
    expect(again.state.running).toBeDefined();
    expect((await containerEvents(lab, 'shop', 'web-1', 'dbg2'))[0]).toEqual(['Normal', 'Pulled', `Container image "${NETSHOOT}" already present on machine`]);
    // web-2 runs on node-1, which has not pulled it
    expect((await addEphemeral(lab, 'shop', 'web-2', { name: 'dbg', image: NETSHOOT })).code).toBe(0);
    expect((await ephemeralStatus(lab, 'shop', 'web-2', 'dbg')).state).toEqual({ waiting: { reason: 'ContainerCreating' } });
  }, 120_000);
});
