/**
 * Test helpers that do what krew does, written from the rules in shared/reference/krew-and-kubectl-plugins.md:
 * validateManifest (krew's validation plus validate-krew-manifest's extra checks) and krewInstall (what
 * `kubectl krew install --manifest=F --archive=A` does: sha256, type by magic bytes, extraction rules, files, bin link,
 * receipt). Also archive readers used to check what krew/archive.ts writes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, posix, relative } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { parse } from 'yaml';

/** The os/arch pairs validate-krew-manifest accepts. */
export const SUPPORTED_PLATFORMS = [
  'darwin/amd64',
  'darwin/arm64',
  'linux/386',
  'linux/amd64',
  'linux/arm',
  'linux/arm64',
  'linux/ppc64le',
  'linux/s390x',
  'windows/386',
  'windows/amd64',
  'windows/arm64',
] as const;

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
/** A platform entry of a krew manifest, as parsed. */
export interface ManifestPlatform {
  selector?: Selector;
  uri?: string;
  sha256?: string;
  files?: { from?: string; to?: string }[];
  bin?: string;
}
/** A krew manifest, as parsed. */
export interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    version?: string;
    homepage?: string;
    shortDescription?: string;
    description?: string;
    caveats?: string;
    platforms?: ManifestPlatform[];
  };
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;
const SEMVER = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
/** A license file name validate-krew-manifest recognises. */
export const LICENSE_NAME = /^(license|licenses|copying)(\.txt|\.md)?$/i;

/** Whether a label selector matches the labels (matchLabels AND matchExpressions, like metav1.LabelSelector). */
export function selectorMatches(sel: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key] ?? '';
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(value)
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(value)
      : e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}

/** Whether `to` is already clean the way krew wants it (filepath.Clean(to) === to, relative, inside). */
export function isCleanTo(to: string): boolean {
  return to !== '' && posix.normalize(to) === to && !to.endsWith('/') && !isAbsolute(to) && to !== '..' && !to.startsWith('../');
}

/** Every rule krew (on load) and validate-krew-manifest (in krew-index CI) enforce; returns the violations. */
export function validateManifest(text: string, fileName: string): string[] {
  const errors: string[] = [];
  let m: Manifest;
  try {
    m = parse(text) as Manifest;
  } catch (err) {
    return [`not YAML: ${(err as Error).message}`];
  }
  if (m.apiVersion !== 'krew.googlecontainertools.github.com/v1alpha2') errors.push(`apiVersion ${String(m.apiVersion)}`);
  if (m.kind !== 'Plugin') errors.push(`kind ${String(m.kind)}`);
  const name = m.metadata?.name ?? '';
  if (!/^[\w-]+$/.test(name)) errors.push(`name "${name}" does not match ^[\\w-]+$`);
  if (WINDOWS_RESERVED.test(name)) errors.push(`name "${name}" is a Windows reserved name`);
  if (basename(fileName).replace(/\.yaml$/, '') !== name) errors.push(`name "${name}" differs from the file name ${basename(fileName)}`);
  const spec = m.spec ?? {};
  const short = spec.shortDescription ?? '';
  if (short.trim() === '' || short.includes('\n') || short.length > 50) errors.push(`shortDescription "${short}" must be one non-empty line of at most 50 characters`);
  for (const line of (spec.description ?? '').split('\n')) if (line.length > 80) errors.push(`description line longer than 80: "${line}"`);
  if (!spec.description?.trim()) errors.push('description is empty');
  if (!SEMVER.test(spec.version ?? '')) errors.push(`version "${String(spec.version)}" is not v + semver`);
  const platforms = spec.platforms ?? [];
  if (platforms.length === 0) errors.push('no platforms');
  platforms.forEach((p, i) => {
    const at = `platforms[${i}]`;
    if (!p.uri) errors.push(`${at}: uri missing`);
    if (!/^[a-f0-9]{64}$/.test(p.sha256 ?? '')) errors.push(`${at}: sha256 "${String(p.sha256)}" is not 64 lowercase hex digits`);
    if (!p.bin) errors.push(`${at}: bin missing`);
    if (p.files !== undefined) {
      if (!Array.isArray(p.files) || p.files.length === 0) errors.push(`${at}: files is empty (omit it instead)`);
      for (const f of p.files ?? []) {
        if (!f.from || !f.to) errors.push(`${at}: a files entry lacks from or to`);
        else if (!isCleanTo(f.to)) errors.push(`${at}: files.to "${f.to}" is not clean`);
      }
      if (!(p.files ?? []).some((f) => LICENSE_NAME.test(basename(f.from ?? '')))) errors.push(`${at}: no license file among files`);
    }
    const sel = p.selector;
    const keys = [...Object.keys(sel?.matchLabels ?? {}), ...(sel?.matchExpressions ?? []).map((e) => e.key)];
    if (!sel || keys.length === 0) errors.push(`${at}: selector missing or empty`);
    for (const k of keys) if (k !== 'os' && k !== 'arch') errors.push(`${at}: selector key "${k}" (only os and arch)`);
    if (sel && keys.length > 0 && !SUPPORTED_PLATFORMS.some((pair) => selectorMatches(sel, labelsOf(pair)))) errors.push(`${at}: matches no supported os/arch`);
  });
  for (const pair of SUPPORTED_PLATFORMS) {
    const matching = platforms.filter((p) => p.selector && selectorMatches(p.selector, labelsOf(pair)));
    if (matching.length > 1) errors.push(`${pair} is matched by ${matching.length} platforms`);
  }
  return errors;
}

function labelsOf(pair: string): Record<string, string> {
  const [os = '', arch = ''] = pair.split('/');
  return { os, arch };
}

/** One entry read from an archive. */
export interface ReadEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  data: Buffer;
}

function cString(buf: Buffer, start: number, len: number): string {
  const s = buf.subarray(start, start + len);
  const nul = s.indexOf(0);
  return s.toString('utf8', 0, nul < 0 ? len : nul);
}

/** Reads a tar.gz (ustar/pax: pax metadata records are skipped the way Go's archive/tar consumes them). */
export function readTarGz(archive: Buffer): ReadEntry[] {
  const tar = gunzipSync(archive);
  const out: ReadEntry[] = [];
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
    if (sum !== parseInt(cString(h, 148, 8).trim(), 8)) throw new Error(`tar header checksum mismatch at ${off}`);
    const prefix = cString(h, 257, 6) === 'ustar' ? cString(h, 345, 155) : '';
    const name = prefix ? `${prefix}/${cString(h, 0, 100)}` : cString(h, 0, 100);
    const size = parseInt(cString(h, 124, 12).trim() || '0', 8);
    const flag = String.fromCharCode(h[156] ?? 0);
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (flag === 'x' || flag === 'g') continue;
    const type = flag === '0' || flag === '\0' ? 'file' : flag === '5' ? 'dir' : flag === '2' ? 'symlink' : flag === '1' ? 'hardlink' : 'other';
    out.push({ name, type, mode: parseInt(cString(h, 100, 8).trim(), 8), data: Buffer.from(data) });
  }
  return out;
}

/** Reads a zip archive (stored or deflated entries), with Unix modes from the external attributes. */
export function readZip(zip: Buffer): ReadEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('zip: no end of central directory');
  const count = zip.readUInt16LE(eocd + 10);
  let off = zip.readUInt32LE(eocd + 16);
  const out: ReadEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(off) !== 0x02014b50) throw new Error('zip: bad central directory entry');
    const method = zip.readUInt16LE(off + 10);
    const compSize = zip.readUInt32LE(off + 20);
    const nameLen = zip.readUInt16LE(off + 28);
    const extraLen = zip.readUInt16LE(off + 30);
    const commentLen = zip.readUInt16LE(off + 32);
    const unixMode = zip.readUInt32LE(off + 38) >>> 16;
    const local = zip.readUInt32LE(off + 42);
    const name = zip.toString('utf8', off + 46, off + 46 + nameLen);
    off += 46 + nameLen + extraLen + commentLen;
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(dataStart, dataStart + compSize);
    const data = method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    const fmt = unixMode & 0o170000;
    const type = name.endsWith('/') ? 'dir' : fmt === 0o120000 ? 'symlink' : fmt === 0 || fmt === 0o100000 ? 'file' : 'other';
    out.push({ name, type, mode: unixMode & 0o7777, data });
  }
  return out;
}

/** What krewInstall did. */
export interface InstallResult {
  installDir: string;
  /** KREW_ROOT/bin/kubectl-<name> */
  link: string;
  /** What krew prints after installing. */
  message: string;
}

/** Installs a plugin exactly as `kubectl krew install --manifest=F --archive=A` does, into krewRoot. */
export function krewInstall(opts: { manifestPath: string; archivePath: string; krewRoot: string; os: string; arch: string }): InstallResult {
  const text = readFileSync(opts.manifestPath, 'utf8');
  const errors = validateManifest(text, opts.manifestPath);
  if (errors.length > 0) throw new Error(`invalid manifest: ${errors.join('; ')}`);
  const m = parse(text) as Required<Manifest> & { metadata: { name: string }; spec: { version: string; platforms: ManifestPlatform[] } };
  const name = m.metadata.name;
  const receipt = join(opts.krewRoot, 'receipts', `${name}.yaml`);
  if (existsSync(receipt)) throw new Error(`${name} is already installed`);
  const platform = m.spec.platforms.find((p) => p.selector && selectorMatches(p.selector, { os: opts.os, arch: opts.arch }));
  if (!platform) throw new Error(`no platform matches ${opts.os}/${opts.arch}`);
  const data = readFileSync(opts.archivePath);
  const sum = createHash('sha256').update(data).digest('hex');
  if (sum !== platform.sha256) throw new Error(`sha256 mismatch: archive ${sum}, manifest ${String(platform.sha256)}`);
  const head = data.subarray(0, 512);
  const entries =
    head.readUInt32BE(0) === 0x504b0304 ? readZip(data)
    : head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08 ? readTarGz(data)
    : undefined;
  if (!entries) throw new Error('archive is neither zip nor tar.gz (by its first bytes)');

  const staging = mkdtempSync(join(tmpdir(), 'krew-extract-'));
  try {
    for (const e of entries) {
      if (e.name.includes('..') || e.name.startsWith('/')) throw new Error(`suspicious path in archive: ${e.name}`);
      const target = join(staging, e.name);
      if (e.type === 'dir') {
        mkdirSync(target, { recursive: true, mode: 0o755 });
      } else if (e.type === 'file') {
        mkdirSync(dirname(target), { recursive: true });
        // krew never chmods: the mode in the archive is the mode installed.
        writeFileSync(target, e.data, { mode: e.mode });
      } else {
        throw new Error(`unable to extract ${e.name}: ${e.type} entries are not allowed`);
      }
    }
    const installDir = join(opts.krewRoot, 'store', name, m.spec.version);
    mkdirSync(installDir, { recursive: true });
    for (const f of platform.files ?? [{ from: '*', to: '.' }]) {
      const from = f.from ?? '';
      const to = f.to ?? '';
      if (!isCleanTo(to)) throw new Error(`files.to "${to}" is not clean`);
      const dest = join(installDir, to);
      if (/[*?[]/.test(from)) {
        const matches = globIn(staging, from);
        if (matches.length === 0) throw new Error(`files.from "${from}" matches nothing`);
        mkdirSync(dest, { recursive: true });
        for (const match of matches) renameSync(join(staging, match), join(dest, basename(match)));
      } else {
        const src = join(staging, from);
        if (!existsSync(src)) throw new Error(`files.from "${from}" does not exist in the archive`);
        const into = to === '.' || (existsSync(dest) && statSync(dest).isDirectory());
        mkdirSync(into ? dest : dirname(dest), { recursive: true });
        renameSync(src, into ? join(dest, basename(from)) : dest);
      }
    }
    const bin = join(installDir, platform.bin ?? '');
    if (relative(installDir, bin).startsWith('..') || !existsSync(bin)) throw new Error(`bin "${String(platform.bin)}" is not in the installation`);
    const linkName = `kubectl-${name.replace(/-/g, '_')}${opts.os === 'windows' ? '.exe' : ''}`;
    const link = join(opts.krewRoot, 'bin', linkName);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(bin, link);
    mkdirSync(dirname(receipt), { recursive: true });
    writeFileSync(receipt, text);
    const message = `Installed plugin: ${name}\n\\\n | Use this plugin:\n | \tkubectl ${name}\n | Documentation:\n | \t${m.spec.homepage ?? ''}\n${m.spec.caveats ? ` | Caveats:\n${m.spec.caveats}` : ''}`;
    return { installDir, link, message };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Paths under dir matching a `/`-separated glob (`*`, `?` within one segment). */
function globIn(dir: string, pattern: string): string[] {
  const segs = pattern.split('/');
  let current = [''];
  for (const seg of segs) {
    const re = new RegExp(`^${seg.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    current = current.flatMap((base) => {
      const full = join(dir, base);
      if (!existsSync(full) || !statSync(full).isDirectory()) return [];
      return readdirSync(full)
        .filter((n) => re.test(n))
        .map((n) => (base ? `${base}/${n}` : n));
    });
  }
  return current;
}
