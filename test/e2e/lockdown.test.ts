/**
 * End to end in locked-down and slow labs, through the real kubectl and the BUILT executable: sources in namespaces
 * enforcing Pod Security baseline and restricted, and a runAsNonRoot pod, each get a verdict (HEALTHY, or the right cause
 * with a fault on the path) from a debug container with the least privilege that fits, what was skipped named; a 40 s
 * pull completes with its progress shown; an air-gapped cluster fails fast with the --image hint; a Windows node is
 * refused clearly while the pod-level rungs still run; a missing RBAC right is named before anything is created.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoggedRequest } from '../lab/api/server.ts';
import { skipLabSuite, startTestLab, type CommandResult, type TestLab } from '../lab/harness.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const skip = skipLabSuite('e2e lockdown');
const own = (name: string): string => fileURLToPath(new URL(`./scenarios/${name}.yaml`, import.meta.url));
const managedBy = 'app.kubernetes.io/managed-by=kubectl-netdebug';

/** Runs `kubectl netdebug ARGS` against a lab (killed, by its own PID, after timeoutMs). */
function netdebug(lab: TestLab, args: string[], timeoutMs = 60_000): Promise<CommandResult & { ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const env = { ...process.env, KUBECONFIG: lab.kubeconfig, PATH: `${repo}/bin:${process.env.PATH ?? ''}` };
    const child = spawn('kubectl', ['netdebug', ...args], { env, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += String(b)));
    child.stderr.on('data', (b: Buffer) => (stderr += String(b)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
    });
  });
}

interface Report {
  verdict: { status: string; cause: string; object?: string; summary: string };
  rungs: { id: string; status: string; summary: string; probes: { observation: { kind: string; reason?: string } }[] }[];
}

/** Starts a lab, runs fn, and always tears that lab (by its id) down. */
async function inLab<T>(scenario: string, fn: (lab: TestLab) => Promise<T>): Promise<T> {
  const lab = await startTestLab(scenario);
  try {
    return await fn(lab);
  } finally {
    await lab.down();
  }
}

/** The securityContexts of the ephemeral containers of a pod (ns/name). */
async function ephemeralContexts(lab: TestLab, pod: string): Promise<Record<string, unknown>[]> {
  const [ns, name] = pod.split('/') as [string, string];
  const res = await lab.kubectl(['get', 'pod', '-n', ns, name, '-o', 'json']);
  expect(res.code, res.stderr).toBe(0);
  const obj = JSON.parse(res.stdout) as { spec: { ephemeralContainers?: { securityContext?: Record<string, unknown> }[] } };
  return (obj.spec.ephemeralContainers ?? []).map((c) => c.securityContext ?? {});
}

/** No debug pod is left in the lab. */
async function nothingLeft(lab: TestLab): Promise<void> {
  const left = await lab.kubectl(['get', 'pods', '-A', '-l', managedBy, '-o', 'name']);
  expect(left).toMatchObject({ code: 0, stdout: '' });
}

const restrictedContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  runAsUser: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};

describe.skipIf(skip)('kubectl netdebug where clusters are locked down and slow', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' });
    expect(existsSync(`${repo}/dist/kubectl-netdebug.mjs`)).toBe(true);
  }, 120_000);

  it('baseline: HEALTHY from a debug container with no added capability; the node pods elsewhere keep their checks', async () => {
    await inLab('psa-baseline', async (lab) => {
      const res = await netdebug(lab, ['shop/web-1', 'shop/svc/web', '-o', 'json']);
      expect(res.code, res.stderr).toBe(0);
      expect((JSON.parse(res.stdout) as Report).verdict).toMatchObject({ status: 'healthy', cause: 'HEALTHY' });
      // Admitted under baseline: drop ALL, nothing added, no escalation; root is allowed there.
      expect(await ephemeralContexts(lab, 'shop/web-1')).toEqual([{ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } }]);
      await nothingLeft(lab);
    });
  }, 120_000);

  it('baseline as the node namespace too: hostNetwork pods and a ping are skipped with the level named, and the rest still says HEALTHY', async () => {
    await inLab('psa-baseline', async (lab) => {
      const res = await netdebug(lab, ['shop/web-1', 'shop/svc/web', '-o', 'json', '--node-namespace', 'shop']);
      expect(res.code, res.stderr).toBe(0);
      const report = JSON.parse(res.stdout) as Report;
      expect(report.verdict).toMatchObject({ status: 'healthy', cause: 'HEALTHY' });
      expect(res.stderr).toContain(
        'preflight: not probing from node-pod:node-2:host: node debug pods use hostNetwork, which Pod Security "baseline" (enforced in namespace shop) forbids',
      );
      expect(res.stderr).toMatch(/preflight: skipped node-checks:node-1:pod-mac:10\.244\.1\.\d+: needs NET_RAW for ping \(to refresh the neighbor entry\), which Pod Security "baseline" \(enforced in namespace shop\) forbids/);
      const origin = report.rungs.find((r) => r.id === 'node-origin');
      expect(origin?.probes[0]?.observation.reason).toMatch(/Pod Security "baseline" \(enforced in namespace shop\) forbids/);
      // The pod-level rungs ran and passed.
      for (const id of ['dns', 'cluster-ip', 'pod-ip', 'same-node']) expect(report.rungs.find((r) => r.id === id)?.status, id).toBe('passed');
      await nothingLeft(lab);
    });
  }, 120_000);

  it('baseline with a fault on the path: the right cause', async () => {
    await inLab(own('psa-baseline-not-listening'), async (lab) => {
      // Pod to pod: a Service would balance between the listening and the silent pod at random.
      const res = await netdebug(lab, ['shop/web-2', 'shop/pod/web-1:8080', '-o', 'json']);
      expect(res.code, res.stderr).toBe(1);
      expect((JSON.parse(res.stdout) as Report).verdict).toMatchObject({ status: 'broken', cause: 'DESTINATION_NOT_LISTENING', object: 'Pod/shop/web-1' });
      await nothingLeft(lab);
    });
  }, 120_000);

  it('restricted: HEALTHY from a non-root container that drops ALL, forbids escalation and uses RuntimeDefault; skips named', async () => {
    await inLab('psa-restricted', async (lab) => {
      const res = await netdebug(lab, ['shop/web-1', 'shop/svc/web', '-o', 'json']);
      expect(res.code, res.stderr).toBe(0);
      expect((JSON.parse(res.stdout) as Report).verdict).toMatchObject({ status: 'healthy', cause: 'HEALTHY' });
      expect(await ephemeralContexts(lab, 'shop/web-1')).toEqual([restrictedContext]);
      const shopNodes = await netdebug(lab, ['shop/web-1', 'shop/svc/web', '-o', 'json', '--node-namespace', 'shop']);
      expect(shopNodes.code, shopNodes.stderr).toBe(0);
      expect(shopNodes.stderr).toMatch(/preflight: skipped node-checks:node-1:pod-mac:10\.244\.1\.\d+: needs NET_RAW for ping .*which a non-root container does not have \(Pod Security "restricted" \(enforced in namespace shop\) requires runAsNonRoot\)/);
      expect(shopNodes.stderr).toContain('which Pod Security "restricted" (enforced in namespace shop) forbids');
      // The second run reused the exact container the first added: still one.
      expect(await ephemeralContexts(lab, 'shop/web-1')).toEqual([restrictedContext]);
      await nothingLeft(lab);
    });
  }, 120_000);

  it('restricted with a fault on the path: the right cause', async () => {
    await inLab(own('psa-restricted-not-listening'), async (lab) => {
      // Pod to pod: a Service would balance between the listening and the silent pod at random.
      const res = await netdebug(lab, ['shop/web-2', 'shop/pod/web-1:8080', '-o', 'json']);
      expect(res.code, res.stderr).toBe(1);
      expect((JSON.parse(res.stdout) as Report).verdict).toMatchObject({ status: 'broken', cause: 'DESTINATION_NOT_LISTENING', object: 'Pod/shop/web-1' });
      await nothingLeft(lab);
    });
  }, 120_000);

  it('runAsNonRoot: the debug container runs as non-root and starts at once (no 30 s CreateContainerConfigError); HEALTHY', async () => {
    await inLab('run-as-non-root', async (lab) => {
      const res = await netdebug(lab, ['shop/web-1', 'shop/svc/web', '-o', 'json']);
      expect(res.code, res.stderr).toBe(0);
      expect((JSON.parse(res.stdout) as Report).verdict).toMatchObject({ status: 'healthy', cause: 'HEALTHY' });
      expect(res.ms).toBeLessThan(25_000);
      expect(await ephemeralContexts(lab, 'shop/web-1')).toEqual([restrictedContext]);
      await nothingLeft(lab);
    });
  }, 120_000);

  it('runAsNonRoot with a fault on the path: the right cause', async () => {
    await inLab(own('run-as-non-root-not-listening'), async (lab) => {
      const res = await netdebug(lab, ['shop/web-1', 'shop/pod/web-2:8080', '-o', 'json']);
      expect(res.code, res.stderr).toBe(1);
      expect((JSON.parse(res.stdout) as Report).verdict).toMatchObject({ status: 'broken', cause: 'DESTINATION_NOT_LISTENING', object: 'Pod/shop/web-2' });
      await nothingLeft(lab);
    });
  }, 120_000);

  it('a 40 s first pull: waited for under --pull-timeout with its progress shown (node, image, event), then HEALTHY', async () => {
    await inLab('slow-pull', async (lab) => {
      const res = await netdebug(lab, ['default/client', 'shop/svc/web', '-o', 'text'], 170_000);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain('Verdict  ✓ HEALTHY');
      const progress = res.stderr.split('\n').filter((l) => l.startsWith('pull: '));
      // The node, the image with its tag beside the digest, how long, and the kubelet's event.
      expect(progress).toContainEqual(expect.stringMatching(/^pull: node-1: pulling nicolaka\/netshoot:v0\.13 \(sha256:a20c2531bf35…\) for [1-9]\d* s: Pulling image "nicolaka\/netshoot:v0\.13@sha256:a20c/));
      expect(progress).toContainEqual(expect.stringMatching(/^pull: node-2: pulling .* for [1-9]\d* s/));
      expect(res.ms).toBeGreaterThan(40_000);
      await nothingLeft(lab);
    });
  }, 200_000);

  it('air-gapped: ErrImagePull stops at once with the registry message and the --image hint; a mirrored --image works', async () => {
    await inLab('air-gapped', async (lab) => {
      const res = await netdebug(lab, ['default/client', 'shop/svc/web', '-o', 'json']);
      expect(res.code, res.stderr).toBe(3);
      const report = JSON.parse(res.stdout) as Report;
      expect(report.verdict).toMatchObject({ status: 'inconclusive', cause: 'CHECKS_COULD_NOT_RUN' });
      expect(report.verdict.summary).toMatch(/ErrImagePull: failed to pull and unpack image "docker\.io\/nicolaka\/netshoot@sha256:a20c.*lookup registry-1\.docker\.io: i\/o timeout; hint: the nodes cannot pull .* give --image an image they can pull/);
      expect(res.stderr).toContain('give --image an image they can pull (a mirror of nicolaka/netshoot in your registry');
      // Fast: no waiting out the 30 s preparation budget on a pull that cannot succeed.
      expect(res.ms).toBeLessThan(20_000);
      await nothingLeft(lab);
      const mirrored = await netdebug(lab, ['default/client', 'shop/svc/web', '-o', 'json', '--image', 'busybox:1.36']);
      expect(mirrored.code, mirrored.stderr).toBe(0);
      expect((JSON.parse(mirrored.stdout) as Report).verdict).toMatchObject({ status: 'healthy' });
      await nothingLeft(lab);
    });
  }, 120_000);

  it('a Windows destination node: refused clearly, no pod created there, the pod-level rungs still run', async () => {
    await inLab('windows-node', async (lab) => {
      const res = await netdebug(lab, ['default/client', 'shop/svc/iis', '-o', 'json']);
      const report = JSON.parse(res.stdout) as Report;
      expect(res.stderr).toContain(
        "preflight: not probing from node-pod:win-1:host: node win-1 runs Windows (kubernetes.io/os=windows): netdebug's debug pods are Linux containers and cannot run there",
      );
      const sameNode = report.rungs.find((r) => r.id === 'same-node');
      expect(sameNode?.probes[0]?.observation).toEqual({ kind: 'could-not-run', reason: "node win-1 runs Windows (kubernetes.io/os=windows): netdebug's debug pods are Linux containers and cannot run there" });
      // The source pod's probes ran (the lab gives Windows nodes no data plane, so they time out: they were not skipped).
      for (const id of ['cluster-ip', 'pod-ip']) expect(report.rungs.find((r) => r.id === id)?.probes[0]?.observation.kind, id).not.toBe('could-not-run');
      const logged = (await lab.labApi('GET', '/lab/v1/requests/log')) as LoggedRequest[];
      const creates = logged.filter((r) => r.verb === 'create' && r.resource === 'pods');
      expect(creates.length).toBeGreaterThan(0);
      const pods = await lab.kubectl(['get', 'pods', '-A', '--field-selector', 'spec.nodeName=win-1', '-o', 'name']);
      expect(pods.stdout).not.toContain('netdebug');
      await nothingLeft(lab);
    });
  }, 120_000);

  it('RBAC: a denied right is named with verb, resource and namespace before anything is created, and no pod is created', async () => {
    await inLab(own('rbac-no-create'), async (lab) => {
      await lab.labApi('DELETE', '/lab/v1/requests');
      const res = await netdebug(lab, ['default/client', 'shop/svc/web', '-o', 'json']);
      expect(res.stderr).toContain('preflight: missing RBAC right: create pods in namespace default (to create node debug pods)');
      expect(res.stderr).toContain('hint: a cluster admin can grant what netdebug needs: kubectl netdebug rbac');
      const logged = (await lab.labApi('GET', '/lab/v1/requests/log')) as LoggedRequest[];
      // No pod create was even attempted; the access reviews came before the first change (the ephemeral container).
      expect(logged.filter((r) => r.verb === 'create' && r.resource === 'pods')).toEqual([]);
      const firstChange = logged.findIndex((r) => r.verb === 'patch');
      const lastReview = logged.map((r) => r.resource.startsWith('selfsubject')).lastIndexOf(true);
      expect(lastReview).toBeGreaterThanOrEqual(0);
      expect(firstChange).toBeGreaterThan(lastReview);
      const report = JSON.parse(res.stdout) as Report;
      expect(report.rungs.find((r) => r.id === 'node-origin')?.probes[0]?.observation.reason).toBe(
        'RBAC: this user may not create pods in namespace default (run `kubectl netdebug rbac` for what to grant)',
      );
      // The pod-level rungs still ran.
      expect(report.rungs.find((r) => r.id === 'cluster-ip')?.status).toBe('passed');
      await nothingLeft(lab);
    });
  }, 120_000);
});
