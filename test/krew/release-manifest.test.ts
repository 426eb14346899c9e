/**
 * The committed krew manifest belongs to this checkout: the linux/amd64 archive built from it (`npm run package` with
 * KREW_PLATFORMS=linux/amd64, twice, in two directories) is byte-for-byte reproducible, embeds no path of the machine
 * that built it, and has exactly the sha256 (and the entry) that plugin-manifest/netdebug.yaml carries.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { archiveName, binaryName } from '../../krew/manifest.ts';
import { sha256Hex } from '../../krew/package.ts';
import pkg from '../../package.json' with { type: 'json' };
import { readTarGz, type Manifest, type ManifestPlatform } from './krew-rules.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const linuxAmd64 = { os: 'linux', arch: 'amd64' } as const;
const STALE = 'plugin-manifest/netdebug.yaml does not match this checkout: run `npm run package` and commit plugin-manifest/ and krew/.krew.yaml';

/** The linux/amd64 entry of a manifest. */
function linuxEntry(file: string): ManifestPlatform | undefined {
  const m = parse(readFileSync(file, 'utf8')) as Manifest;
  return m.spec?.platforms?.find((p) => p.selector?.matchLabels?.os === 'linux' && p.selector.matchLabels.arch === 'amd64');
}

describe('plugin-manifest/netdebug.yaml and the linux/amd64 archive built from this checkout', () => {
  let work: string;
  const outs: string[] = [];
  const archive = (out: string): Buffer => readFileSync(join(out, archiveName(`v${pkg.version}`, linuxAmd64)));

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'netdebug-release-'));
    const env: NodeJS.ProcessEnv = { ...process.env, KREW_PLATFORMS: 'linux/amd64' };
    delete env.NETDEBUG_HOMEPAGE;
    for (const name of ['first', 'second-build']) {
      const out = join(work, name);
      execFileSync(process.execPath, ['krew/package.ts'], { cwd: repo, env: { ...env, KREW_OUT: out }, stdio: 'pipe' });
      outs.push(out);
    }
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('two builds are byte-for-byte identical', () => {
    const [a, b] = outs.map(archive);
    expect(sha256Hex(b!), 'the release archive is not reproducible (or src/ changed between the two builds): the manifest sha256s cannot be checked').toBe(sha256Hex(a!));
    expect(a!.equals(b!)).toBe(true);
  });

  it('the executable embeds no path of the checkout or of the build directory (it would change the sha256 per machine)', () => {
    const bin = readTarGz(archive(outs[0]!)).find((e) => e.name === binaryName(linuxAmd64));
    expect(bin).toBeDefined();
    for (const path of [repo.replace(/\/$/, ''), work]) expect(bin!.data.includes(path), `embeds ${path}`).toBe(false);
  });

  it('the committed manifest carries the sha256 of that archive', () => {
    const built = sha256Hex(archive(outs[0]!));
    const committed = linuxEntry(join(repo, 'plugin-manifest', 'netdebug.yaml'));
    expect(committed?.sha256, `${STALE} (built ${built}, committed ${committed?.sha256 ?? 'none'})`).toBe(built);
    expect(committed, STALE).toEqual(linuxEntry(join(outs[0]!, 'netdebug.yaml')));
  });
});
