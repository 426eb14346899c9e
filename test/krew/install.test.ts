/**
 * The release as a user gets it: `npm run package` builds the linux/amd64 archive only (KREW_PLATFORMS), krewInstall
 * installs it the way `kubectl krew install --manifest --archive` does into a temporary KREW_ROOT, and then, through
 * the real kubectl with PATH = KREW_ROOT/bin:/usr/bin:/bin (no Node), the plugin is listed, prints its version and
 * help, diagnoses a lab, completes names from the lab, and authenticates through an exec-credential plugin, --context
 * and a KUBECONFIG of two files. Also: what `npm pack` would publish.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { archiveName } from '../../krew/manifest.ts';
import pkg from '../../package.json' with { type: 'json' };
import { run, skipLabSuite, startTestLab, type TestLab } from '../lab/harness.ts';
import { findCommand } from '../lab/preflight.ts';
import { krewInstall, LICENSE_NAME, validateManifest } from './krew-rules.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const skip = skipLabSuite('krew install');
const tag = `v${pkg.version}`;

/** A kubeconfig as parsed: just what these tests rewrite. */
interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  'current-context': string;
  [k: string]: unknown;
}

describe.skipIf(skip)('the linux/amd64 release installed by krew, run by kubectl without Node', () => {
  let work: string;
  let krewRoot: string;
  let lab: TestLab;
  let env: NodeJS.ProcessEnv;
  let installDir: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'netdebug-krew-'));
    krewRoot = join(work, 'krew-root');
    const out = join(work, 'out');
    // Only the host's archive: building all four takes minutes and three of them cannot run here anyway.
    execFileSync(process.execPath, ['krew/package.ts'], { cwd: repo, env: { ...process.env, KREW_PLATFORMS: 'linux/amd64', KREW_OUT: out }, stdio: 'pipe' });
    const installed = krewInstall({ manifestPath: join(out, 'netdebug.yaml'), archivePath: join(out, archiveName(tag, { os: 'linux', arch: 'amd64' })), krewRoot, os: 'linux', arch: 'amd64' });
    installDir = installed.installDir;
    expect(installed.message).toContain('kubectl netdebug');
    lab = await startTestLab('ip-forward-off');
    // This machine has a Node in /usr/bin, so PATH gets a directory holding kubectl alone instead of /usr/bin:/bin.
    const tools = join(work, 'tools');
    mkdirSync(tools);
    const kubectl = findCommand('kubectl', process.env.PATH, []);
    if (!kubectl) throw new Error('kubectl is not on PATH (the global setup should have said so)');
    symlinkSync(kubectl, join(tools, 'kubectl'));
    env = { PATH: `${krewRoot}/bin:${tools}`, HOME: join(work, 'home'), KUBECONFIG: lab.kubeconfig, NO_COLOR: '1' };
  }, 240_000);

  afterAll(async () => {
    await lab?.down();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const sh = (cmd: string[], extra: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): ReturnType<typeof run> =>
    run(cmd[0] ?? '', cmd.slice(1), { env: { ...env, ...extra }, timeoutMs });

  it('the manifest npm run package rendered passes every krew rule', () => {
    const file = join(work, 'out', 'netdebug.yaml');
    expect(validateManifest(readFileSync(file, 'utf8'), file)).toEqual([]);
  });

  it('installed the binary (0755), the completion helper and the LICENSE, with an absolute bin symlink', () => {
    expect(installDir).toBe(join(krewRoot, 'store', 'netdebug', tag));
    expect(statSync(join(installDir, 'kubectl-netdebug')).mode & 0o777).toBe(0o755);
    expect(statSync(join(installDir, 'kubectl_complete-netdebug')).mode & 0o777).toBe(0o755);
    expect(['LICENSE'].filter((n) => LICENSE_NAME.test(n) && existsSync(join(installDir, n)))).toEqual(['LICENSE']);
    const link = join(krewRoot, 'bin', 'kubectl-netdebug');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(join(installDir, 'kubectl-netdebug'));
    expect(existsSync(join(krewRoot, 'receipts', 'netdebug.yaml'))).toBe(true);
  });

  it('refuses a second install and an archive whose sha256 differs', () => {
    const manifestPath = join(work, 'out', 'netdebug.yaml');
    const archivePath = join(work, 'out', archiveName(tag, { os: 'linux', arch: 'amd64' }));
    expect(() => krewInstall({ manifestPath, archivePath, krewRoot, os: 'linux', arch: 'amd64' })).toThrow(/already installed/);
    const bad = join(work, 'bad.tar.gz');
    writeFileSync(bad, Buffer.concat([readFileSync(archivePath).subarray(0, 1000)]));
    expect(() => krewInstall({ manifestPath, archivePath: bad, krewRoot: join(work, 'other-root'), os: 'linux', arch: 'amd64' })).toThrow(/sha256 mismatch/);
  });

  it('runs with no node on PATH', async () => {
    expect((await sh(['/bin/sh', '-c', 'command -v node'])).code).not.toBe(0);
    expect((await sh(['/bin/sh', '-c', 'command -v kubectl'])).code).toBe(0);
  });

  it('kubectl plugin list shows it without warnings', async () => {
    const r = await sh(['kubectl', 'plugin', 'list']);
    expect(r.stderr).not.toMatch(/warning/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(join(krewRoot, 'bin', 'kubectl-netdebug'));
  });

  it('kubectl netdebug --version and --help', async () => {
    expect(await sh(['kubectl', 'netdebug', '--version'])).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = await sh(['kubectl', 'netdebug', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: kubectl netdebug SRC DST/);
    expect(help.stdout).toContain('completion <shell>');
  });

  /** Runs the diagnosis of the lab's fault through the installed binary and checks the verdict. */
  async function expectDiagnosis(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<void> {
    const r = await sh(['kubectl', 'netdebug', 'default/client', 'shop/svc/web', '-o', 'json', ...args], extra, 60_000);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as { verdict: { cause: string; node?: string } };
    expect(report.verdict).toMatchObject({ cause: 'NODE_IP_FORWARD_DISABLED', node: 'node-2' });
  }

  it('kubectl netdebug diagnoses the lab (ip_forward off on node-2)', async () => {
    await expectDiagnosis([]);
  }, 90_000);

  it('kubectl __complete netdebug returns pod, service and node names from the lab', async () => {
    // krew links only `bin`; users link the completion helper themselves (README), as done here.
    symlinkSync(join(installDir, 'kubectl_complete-netdebug'), join(krewRoot, 'bin', 'kubectl_complete-netdebug'));
    const complete = async (...words: string[]): Promise<string[]> => {
      const r = await sh(['kubectl', '__complete', 'netdebug', ...words]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split('\n').filter((l) => l !== '');
    };
    expect(await complete('pod/')).toEqual(['pod/client', ':4']);
    expect(await complete('client', 'shop/svc/')).toEqual(['shop/svc/web', ':4']);
    expect(await complete('node/')).toEqual(['node/node-1', 'node/node-2', ':4']);
    expect(await complete('client', '-n', 'shop', 'svc/web:')).toEqual(['svc/web:http', 'svc/web:80', ':4']);
    expect(await complete('-o', '')).toEqual(['tui', 'text', 'json', 'ndjson', ':4']);
  });

  describe('authentication the way kubectl users have it', () => {
    const base = (): Kubeconfig => parse(readFileSync(lab.kubeconfig, 'utf8')) as Kubeconfig;

    it('an exec-credential plugin supplies the token', async () => {
      const kc = base();
      const token = String(kc.users[0]?.user.token);
      const marker = join(work, 'exec-ran');
      const script = join(work, 'credential.sh');
      writeFileSync(
        script,
        `#!/bin/sh\n/usr/bin/touch '${marker}'\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${token}"}}'\n`,
      );
      chmodSync(script, 0o755);
      kc.users = kc.users.map((u) => ({ name: u.name, user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: script, interactiveMode: 'Never' } } }));
      const file = join(work, 'exec.kubeconfig');
      writeFileSync(file, stringify(kc));
      await expectDiagnosis([], { KUBECONFIG: file });
      expect(existsSync(marker)).toBe(true);
    }, 90_000);

    it('--context picks a context other than the current one', async () => {
      const kc = base();
      const good = kc.contexts[0]!;
      kc.users.push({ name: 'wrong', user: { token: 'not-the-token' } });
      kc.contexts.push({ name: 'wrong', context: { ...good.context, user: 'wrong' } });
      kc['current-context'] = 'wrong';
      const file = join(work, 'context.kubeconfig');
      writeFileSync(file, stringify(kc));
      const refused = await sh(['kubectl', 'netdebug', 'default/client', 'shop/svc/web', '-o', 'json'], { KUBECONFIG: file }, 60_000);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(/rejected our credentials/);
      await expectDiagnosis(['--context', good.name], { KUBECONFIG: file });
    }, 90_000);

    it('KUBECONFIG lists two files: the context in the first, its user in the second', async () => {
      const kc = base();
      const first = join(work, 'a.kubeconfig');
      const second = join(work, 'b.kubeconfig');
      writeFileSync(first, stringify({ apiVersion: 'v1', kind: 'Config', clusters: kc.clusters, users: [], contexts: kc.contexts, 'current-context': kc['current-context'] }));
      writeFileSync(second, stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: kc.users, contexts: [] }));
      await expectDiagnosis([], { KUBECONFIG: `${first}:${second}` });
      // Only one file: the user is missing, so the same command cannot authenticate.
      expect((await sh(['kubectl', 'netdebug', 'default/client', 'shop/svc/web', '-o', 'json'], { KUBECONFIG: first }, 60_000)).code).not.toBe(1);
    }, 90_000);

    it('KUBECONFIG lists two files: clusters and users in the first, the current context in the second', async () => {
      const kc = base();
      const first = join(work, 'c.kubeconfig');
      const second = join(work, 'd.kubeconfig');
      writeFileSync(first, stringify({ apiVersion: 'v1', kind: 'Config', clusters: kc.clusters, users: kc.users, contexts: [] }));
      writeFileSync(second, stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: kc.contexts, 'current-context': kc['current-context'] }));
      await expectDiagnosis([], { KUBECONFIG: `${first}:${second}` });
    }, 90_000);
  });
});

describe('what npm publishes', () => {
  it('npm pack holds bin/, dist/, LICENSE, README.md, CHANGELOG.md and package.json only', () => {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' });
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [packed] = JSON.parse(out) as { files: { path: string; mode: number }[] }[];
    const paths = (packed?.files ?? []).map((f) => f.path).sort();
    expect(paths.filter((p) => !/^(bin|dist)\//.test(p) && !['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json'].includes(p))).toEqual([]);
    expect(paths).toEqual(
      expect.arrayContaining(['bin/kubectl-netdebug', 'bin/kubectl_complete-netdebug', 'dist/kubectl-netdebug.mjs', 'LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']),
    );
    for (const f of packed?.files ?? []) if (f.path.startsWith('bin/')) expect(f.mode & 0o111, f.path).toBe(0o111);
  }, 120_000);

  it('npm install -g of the packed tarball installs a working CLI with nothing else (no dependencies: dist/ is the bundle)', () => {
    expect(pkg).not.toHaveProperty('dependencies');
    const work = mkdtempSync(join(tmpdir(), 'netdebug-npm-'));
    try {
      execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' });
      const packed = JSON.parse(
        execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
      ) as { filename: string }[];
      const prefix = join(work, 'global');
      // --offline: a package with no dependencies needs nothing from the registry.
      execFileSync('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, join(work, packed[0]!.filename)], { stdio: 'pipe' });
      // A user's Node >= 22 first on PATH (the project's own Node 26 stands in for it).
      const env = { ...process.env, PATH: `${join(repo, 'node_modules', 'node', 'bin')}:${join(prefix, 'bin')}:/usr/bin:/bin` };
      expect(execFileSync(join(prefix, 'bin', 'kubectl-netdebug'), ['--version'], { env, encoding: 'utf8' }).trim()).toBe(pkg.version);
      expect(existsSync(join(prefix, 'bin', 'kubectl_complete-netdebug'))).toBe(true);
      expect(existsSync(join(prefix, 'lib', 'node_modules', 'kubectl-netdebug', 'node_modules'))).toBe(false);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});
