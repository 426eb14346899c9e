/**
 * `npm run package`: builds the single executables (Node SEA with an ESM entry, from the official Node binary of each
 * platform, fetched as an npm package tarball into krew/out/cache), checks each one (the host's is run, the others
 * are checked structurally), packs the release archives into krew/out, and renders plugin-manifest/netdebug.yaml and
 * krew/.krew.yaml. KREW_PLATFORMS=linux/amd64 (comma-separated) builds a subset; a subset writes its manifest into
 * the out directory only, never over plugin-manifest/. KREW_OUT moves the out directory (the cache stays put).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pkg from '../package.json' with { type: 'json' };
import { createTarGz, createZip, type ArchiveEntry } from './archive.ts';
import { buildSeaBundle } from './build.ts';
import { stripElf } from './elf-strip.ts';
import { adHocSign, verifyAdHocSignature } from './macho-codesign.ts';
import {
  archiveName,
  binaryName,
  COMPLETION_HELPER_CMD,
  COMPLETION_HELPER_SH,
  completionHelperName,
  HOMEPAGE,
  PLATFORMS,
  platformId,
  PLUGIN_NAME,
  renderManifest,
  renderReleaseBotTemplate,
  type Platform,
} from './manifest.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The string Node flips from `:0` to `:1` when a blob is injected. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Injection adds the blob (the bundle plus a small header); anything far bigger means something else went in. */
const MAX_OVERHEAD_BYTES = 16 << 20;

/** One archive `npm run package` produced. */
export interface BuiltArchive {
  platform: Platform;
  file: string;
  sha256: string;
  binaryBytes: number;
  archiveBytes: number;
  /** How the executable was checked: run on this host, or structurally. */
  check: 'ran --version' | 'structural';
  /** Whether the blob carries V8's code cache of the bundle (host platform only). */
  codeCache: boolean;
}

/** What to build and where. */
export interface PackageOptions {
  platforms: readonly Platform[];
  outDir: string;
  cacheDir: string;
  /** Where the krew-index manifest goes (plugin-manifest/netdebug.yaml for a full build). */
  manifestPath: string;
  /** Where the krew-release-bot template goes, or undefined for none. */
  releaseBotPath?: string;
  log?: (line: string) => void;
}

/** The lowercase hex sha256 of a buffer. */
export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Parses KREW_PLATFORMS (`linux/amd64,windows/amd64`); empty means all. Throws on an unknown platform. */
export function selectPlatforms(spec: string | undefined): Platform[] {
  if (!spec || spec.trim() === '') return [...PLATFORMS];
  return spec.split(',').map((s) => {
    const p = PLATFORMS.find((x) => platformId(x) === s.trim());
    if (!p) throw new Error(`unknown platform "${s}" (known: ${PLATFORMS.map(platformId).join(', ')})`);
    return p;
  });
}

/** Whether this machine can run the platform's executable. */
function isHost(p: Platform): boolean {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return p.os === os && p.arch === arch;
}

/** The official Node binary (same version as this Node, as a SEA blob requires) for the platform. */
function fetchNodeBinary(p: Platform, cacheDir: string, log: (l: string) => void): string {
  if (isHost(p)) return process.execPath;
  const version = process.versions.node;
  const tgz = join(cacheDir, `${p.nodePackage}-${version}.tgz`);
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(tgz)) {
    log(`fetching ${p.nodePackage}@${version} (npm pack)`);
    execFileSync('npm', ['pack', `${p.nodePackage}@${version}`, '--pack-destination', cacheDir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const dir = join(cacheDir, `${p.nodePackage}-${version}`);
  const binary = join(dir, p.nodePath);
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', dir, p.nodePath]);
  }
  return binary;
}

/** The executable format and machine a platform's binaries must have. */
function expectedFormat(p: Platform): { format: 'elf' | 'macho' | 'pe'; machine: number } {
  switch (p.os) {
    case 'linux':
      return { format: 'elf', machine: p.arch === 'amd64' ? 62 : 183 };
    case 'darwin':
      return { format: 'macho', machine: p.arch === 'amd64' ? 0x01000007 : 0x0100000c };
    case 'windows':
      return { format: 'pe', machine: p.arch === 'amd64' ? 0x8664 : 0xaa64 };
    default: {
      const never: never = p.os;
      throw new Error(`unknown os ${String(never)}`);
    }
  }
}

/** Reads the executable format and machine from a binary's headers. */
export function detectFormat(bin: Buffer): { format: 'elf' | 'macho' | 'pe'; machine: number } | undefined {
  if (bin.length > 64 && bin.readUInt32BE(0) === 0x7f454c46 && bin[4] === 2) return { format: 'elf', machine: bin.readUInt16LE(18) };
  if (bin.length > 32 && bin.readUInt32LE(0) === 0xfeedfacf) return { format: 'macho', machine: bin.readUInt32LE(4) };
  if (bin.length > 64 && bin.toString('latin1', 0, 2) === 'MZ') {
    const pe = bin.readUInt32LE(0x3c);
    if (pe + 6 < bin.length && bin.readUInt32BE(pe) === 0x50450000) return { format: 'pe', machine: bin.readUInt16LE(pe + 4) };
  }
  return undefined;
}

/** The load command types of a 64-bit Mach-O binary. */
function machoLoadCommands(bin: Buffer): { cmd: number; segname: string }[] {
  const count = bin.readUInt32LE(16);
  const out: { cmd: number; segname: string }[] = [];
  let off = 32;
  for (let i = 0; i < count; i++) {
    const cmd = bin.readUInt32LE(off);
    const segname = cmd === 0x19 ? bin.toString('latin1', off + 8, off + 24).replace(/\0+$/, '') : '';
    out.push({ cmd, segname });
    off += bin.readUInt32LE(off + 4);
  }
  return out;
}

/**
 * Throws unless `bin` is a SEA executable for the platform: right format and machine, the fuse flipped once, the whole
 * bundle embedded, a size that is the base Node plus the blob; on macOS no stale code signature left.
 */
export function checkSeaExecutable(bin: Buffer, p: Platform, bundle: Buffer, baseBytes: number): void {
  const where = `${platformId(p)} executable`;
  const want = expectedFormat(p);
  const got = detectFormat(bin);
  if (!got || got.format !== want.format || got.machine !== want.machine) {
    throw new Error(`${where}: expected ${want.format} machine 0x${want.machine.toString(16)}, got ${got ? `${got.format} 0x${got.machine.toString(16)}` : 'an unknown format'}`);
  }
  const on = bin.indexOf(`${SEA_FUSE}:1`);
  if (on < 0 || bin.indexOf(`${SEA_FUSE}:1`, on + 1) >= 0 || bin.indexOf(`${SEA_FUSE}:0`) >= 0) throw new Error(`${where}: the SEA fuse is not flipped exactly once`);
  if (bin.indexOf(bundle) < 0) throw new Error(`${where}: the bundle is not embedded intact`);
  // Injection into a Mach-O drops Node's code signature (about 2 MB of page hashes), so the floor is lower there;
  // an ad-hoc signature adds back about 1 MB (32 bytes per 4 KiB page).
  const floor = baseBytes + bundle.length - (want.format === 'macho' ? 4 << 20 : 0);
  if (bin.length < floor || bin.length > baseBytes + bundle.length + MAX_OVERHEAD_BYTES) {
    throw new Error(`${where}: size ${bin.length} is not the base Node (${baseBytes}) plus the bundle (${bundle.length})`);
  }
  if (want.format === 'macho') {
    const cmds = machoLoadCommands(bin);
    if (!cmds.some((c) => c.cmd === 0x19 && c.segname === 'NODE_SEA')) throw new Error(`${where}: no NODE_SEA segment`);
    // An invalidated signature is worse than none: macOS kills a binary whose signature does not match.
    const signatures = cmds.filter((c) => c.cmd === 0x1d).length;
    if (p.signature === 'none' && signatures > 0) throw new Error(`${where}: still carries Node's (now invalid) code signature`);
    if (p.signature === 'ad-hoc') {
      if (signatures !== 1) throw new Error(`${where}: expected one code signature, found ${signatures}`);
      verifyAdHocSignature(bin);
    }
  }
}

/** The name the bundle gets next to sea.json: the SEA blob records the main script's path as given, so it is relative. */
const SEA_MAIN = 'kubectl-netdebug.mjs';

/** The identifier in the ad-hoc signature's CodeDirectory (codesign uses the file name). */
const SIGNING_IDENTIFIER = 'kubectl-netdebug';

/**
 * Builds the SEA executable for one platform and returns its path. `node --build-sea` runs in the work directory with
 * a relative main: the blob stores that path, and an absolute one would make the sha256 depend on where the checkout is.
 * With `codeCache` the blob also carries V8's code cache of the bundle: V8 then skips compiling it at every start. The
 * cache is made by this Node, so only the host platform's executable (the same Node binary) gets one; `--predictable`
 * makes it the same bytes on every build (V8 otherwise seeds its string hashes at random), and V8 accepts it at run
 * time all the same (NODE_DEBUG_NATIVE=SEA prints "SEA module code cache accepted"). Platforms whose signature is
 * ad-hoc are signed after injection. On Linux the SEA is injected into the Node binary stripped of its symbol table and
 * debug sections (krew/elf-strip.ts: 33 MB nobody runs). Returns the executable's path and the size of the base it was
 * made from.
 */
function buildExecutable(p: Platform, nodeBinary: string, bundle: Buffer, workDir: string, codeCache: boolean): { path: string; baseBytes: number } {
  const dir = join(workDir, `${p.os}_${p.arch}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The bundle as read once for every platform (and checked against each executable), not dist/ again.
  writeFileSync(join(dir, SEA_MAIN), bundle);
  let base = nodeBinary;
  if (p.os === 'linux') {
    base = join(dir, 'node-stripped');
    writeFileSync(base, stripElf(readFileSync(nodeBinary)), { mode: 0o755 });
  }
  writeFileSync(
    join(dir, 'sea.json'),
    JSON.stringify({
      main: SEA_MAIN,
      mainFormat: 'module',
      output: binaryName(p),
      executable: base,
      disableExperimentalSEAWarning: true,
      useCodeCache: codeCache,
      // A startup snapshot cannot be used with an ESM main ("mainFormat": "module").
      useSnapshot: false,
    }),
  );
  execFileSync(process.execPath, [...(codeCache ? ['--predictable'] : []), '--build-sea', 'sea.json'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const output = join(dir, binaryName(p));
  switch (p.signature) {
    case 'none':
      break;
    case 'ad-hoc':
      writeFileSync(output, adHocSign(readFileSync(output), SIGNING_IDENTIFIER));
      break;
    default: {
      const never: never = p.signature;
      throw new Error(`unknown signature ${String(never)}`);
    }
  }
  return { path: output, baseBytes: statSync(base).size };
}

/** Runs the host's executable without Node on PATH and checks --version. */
function smokeTest(binary: string): void {
  const out = execFileSync(binary, ['--version'], { env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' }, encoding: 'utf8', timeout: 30_000 });
  if (out !== `${pkg.version}\n`) throw new Error(`${binary} --version printed ${JSON.stringify(out)}, expected ${pkg.version}`);
}

/** Builds, checks and packs every selected platform, then renders the manifests. */
export async function packageRelease(opts: PackageOptions): Promise<BuiltArchive[]> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const tag = `v${pkg.version}`;
  const bundle = await buildSeaBundle();
  const license = readFileSync(join(root, 'LICENSE'));
  mkdirSync(opts.outDir, { recursive: true });
  const workDir = join(opts.outDir, 'work');
  const built: BuiltArchive[] = [];
  for (const p of opts.platforms) {
    const nodeBinary = fetchNodeBinary(p, opts.cacheDir, log);
    const codeCache = isHost(p);
    const { path: binaryPath, baseBytes } = buildExecutable(p, nodeBinary, bundle, workDir, codeCache);
    const binary = readFileSync(binaryPath);
    checkSeaExecutable(binary, p, bundle, baseBytes);
    let check: BuiltArchive['check'] = 'structural';
    if (isHost(p)) {
      smokeTest(binaryPath);
      check = 'ran --version';
    }
    const entries: ArchiveEntry[] = [
      { name: binaryName(p), data: binary, mode: 0o755 },
      { name: completionHelperName(p), data: Buffer.from(p.os === 'windows' ? COMPLETION_HELPER_CMD : COMPLETION_HELPER_SH), mode: 0o755 },
      { name: 'LICENSE', data: license, mode: 0o644 },
    ];
    const archive = p.os === 'windows' ? createZip(entries) : createTarGz(entries);
    const file = join(opts.outDir, archiveName(tag, p));
    writeFileSync(file, archive);
    rmSync(join(workDir, `${p.os}_${p.arch}`), { recursive: true, force: true });
    const item: BuiltArchive = { platform: p, file, sha256: sha256Hex(archive), binaryBytes: binary.length, archiveBytes: archive.length, check, codeCache };
    built.push(item);
    log(`${platformId(p)}: ${file} ${(item.archiveBytes / 1e6).toFixed(1)} MB (binary ${(item.binaryBytes / 1e6).toFixed(1)} MB, ${check}) sha256 ${item.sha256}`);
  }
  rmSync(workDir, { recursive: true, force: true });
  writeFileSync(opts.manifestPath, renderManifest({ tag, homepage: HOMEPAGE, archives: built }));
  log(`wrote ${opts.manifestPath}`);
  if (opts.releaseBotPath) {
    writeFileSync(opts.releaseBotPath, renderReleaseBotTemplate({ homepage: HOMEPAGE, platforms: built.map((b) => b.platform) }));
    log(`wrote ${opts.releaseBotPath}`);
  }
  return built;
}

if (import.meta.main) {
  const platforms = selectPlatforms(process.env.KREW_PLATFORMS);
  const outDir = resolve(process.env.KREW_OUT ?? join(root, 'krew', 'out'));
  const full = platforms.length === PLATFORMS.length;
  await packageRelease({
    platforms,
    outDir,
    cacheDir: join(root, 'krew', 'out', 'cache'),
    manifestPath: full ? join(root, 'plugin-manifest', `${PLUGIN_NAME}.yaml`) : join(outDir, `${PLUGIN_NAME}.yaml`),
    ...(full ? { releaseBotPath: join(root, 'krew', '.krew.yaml') } : {}),
  });
}
