/**
 * The ad-hoc code signature krew/macho-codesign.ts writes, read back by a parser of this file's own (it shares no code
 * with the writer): the load command points at the blob, __LINKEDIT covers it, the magic numbers and CodeDirectory
 * fields are what Apple's format requires, and the CodeDirectory's SHA-256 of every 4 KiB page matches the file. On
 * small Mach-O files made here, and on the darwin/arm64 executable of the release archive (`npm run package` with
 * KREW_PLATFORMS=darwin/arm64), whose archive must also carry the sha256 that plugin-manifest/netdebug.yaml lists.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { adHocSign, MachoSignError, verifyAdHocSignature } from '../../krew/macho-codesign.ts';
import { archiveName, binaryName } from '../../krew/manifest.ts';
import pkg from '../../package.json' with { type: 'json' };
import { readTarGz, type Manifest } from './krew-rules.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

// ---- An independent reader of what Apple's kernel checks (xnu cs_blobs.h layout). ----

interface Checked {
  ncmds: number;
  segments: { name: string; vmsize: bigint; fileoff: number; filesize: number }[];
  sig: { dataoff: number; datasize: number };
  blobTypes: number[];
  identifier: string;
  flags: number;
  version: number;
  codeLimit: number;
  nCodeSlots: number;
  nSpecialSlots: number;
  execSeg: { base: bigint; limit: bigint; flags: bigint };
  /** Page numbers whose hash does not match the file. */
  badPages: number[];
  /** Whether special slot -2 is the hash of the requirements blob and slot -1 is empty. */
  specialSlotsOk: boolean;
}

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/** Reads the Mach-O and its signature; throws on any structural error, reports hash mismatches in badPages. */
function readSigned(file: Buffer): Checked {
  const le32 = (o: number): number => file.readUInt32LE(o);
  expect(le32(0), 'MH_MAGIC_64').toBe(0xfeedfacf);
  const ncmds = le32(16);
  const cmdsEnd = 32 + le32(20);
  const segments: Checked['segments'] = [];
  const sigs: { dataoff: number; datasize: number; cmdsize: number }[] = [];
  let at = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = le32(at);
    const size = le32(at + 4);
    if (cmd === 0x19) {
      segments.push({
        name: file.toString('latin1', at + 8, at + 24).replace(/\0+$/, ''),
        vmsize: file.readBigUInt64LE(at + 32),
        fileoff: Number(file.readBigUInt64LE(at + 40)),
        filesize: Number(file.readBigUInt64LE(at + 48)),
      });
    }
    if (cmd === 0x1d) sigs.push({ dataoff: le32(at + 8), datasize: le32(at + 12), cmdsize: size });
    at += size;
  }
  expect(at, 'load commands fill sizeofcmds exactly').toBe(cmdsEnd);
  expect(sigs, 'exactly one LC_CODE_SIGNATURE').toHaveLength(1);
  const sig = sigs[0]!;
  expect(sig.cmdsize).toBe(16);
  expect(sig.dataoff % 16, 'signature 16-byte aligned').toBe(0);
  expect(sig.dataoff + sig.datasize, 'signature ends the file').toBe(file.length);
  const linkedit = segments.find((s) => s.name === '__LINKEDIT')!;
  const text = segments.find((s) => s.name === '__TEXT')!;
  expect(linkedit.fileoff).toBeLessThanOrEqual(sig.dataoff);
  expect(linkedit.fileoff + linkedit.filesize, '__LINKEDIT covers the signature to the end of the file').toBe(file.length);
  expect(linkedit.vmsize >= BigInt(linkedit.filesize), '__LINKEDIT vmsize covers its filesize').toBe(true);

  const blob = file.subarray(sig.dataoff);
  const be32 = (o: number): number => blob.readUInt32BE(o);
  expect(be32(0), 'CSMAGIC_EMBEDDED_SIGNATURE').toBe(0xfade0cc0);
  expect(be32(4), 'SuperBlob length').toBe(sig.datasize);
  const count = be32(8);
  const index = Array.from({ length: count }, (_, i) => ({ type: be32(12 + i * 8), offset: be32(16 + i * 8) }));
  const blobAt = (type: number): Buffer => {
    const entry = index.find((e) => e.type === type);
    if (!entry) throw new Error(`no blob of type 0x${type.toString(16)}`);
    const length = be32(entry.offset + 4);
    expect(entry.offset + length).toBeLessThanOrEqual(sig.datasize);
    return blob.subarray(entry.offset, entry.offset + length);
  };
  const cd = blobAt(0);
  const req = blobAt(2);
  const cms = blobAt(0x10000);
  expect(cd.readUInt32BE(0), 'CSMAGIC_CODEDIRECTORY').toBe(0xfade0c02);
  expect(req.readUInt32BE(0), 'CSMAGIC_REQUIREMENTS').toBe(0xfade0c01);
  expect(req.readUInt32BE(8), 'no requirements').toBe(0);
  expect(cms.readUInt32BE(0), 'CSMAGIC_BLOBWRAPPER').toBe(0xfade0b01);
  expect(cms.readUInt32BE(4), 'empty CMS wrapper (ad-hoc)').toBe(8);

  const hashOffset = cd.readUInt32BE(16);
  const identOffset = cd.readUInt32BE(20);
  const nSpecialSlots = cd.readUInt32BE(24);
  const nCodeSlots = cd.readUInt32BE(28);
  const codeLimit = cd.readUInt32BE(32);
  expect(cd[36], 'hashSize').toBe(32);
  expect(cd[37], 'CS_HASHTYPE_SHA256').toBe(2);
  const pageSize = 2 ** cd[39]!;
  expect(pageSize).toBe(4096);
  expect(codeLimit, 'codeLimit is where the signature starts').toBe(sig.dataoff);
  expect(nCodeSlots).toBe(Math.ceil(codeLimit / pageSize));
  expect(hashOffset + nCodeSlots * 32).toBeLessThanOrEqual(cd.length);
  const identifier = cd.toString('utf8', identOffset, cd.indexOf(0, identOffset));
  const badPages: number[] = [];
  for (let p = 0; p < nCodeSlots; p++) {
    const page = file.subarray(p * pageSize, Math.min((p + 1) * pageSize, codeLimit));
    if (!sha(page).equals(cd.subarray(hashOffset + p * 32, hashOffset + p * 32 + 32))) badPages.push(p);
  }
  const slot = (n: number): Buffer => cd.subarray(hashOffset - n * 32, hashOffset - (n - 1) * 32);
  const specialSlotsOk = nSpecialSlots >= 2 && slot(2).equals(sha(req)) && slot(1).equals(Buffer.alloc(32));
  return {
    ncmds,
    segments,
    sig,
    blobTypes: index.map((e) => e.type),
    identifier,
    flags: cd.readUInt32BE(12),
    version: cd.readUInt32BE(8),
    codeLimit,
    nCodeSlots,
    nSpecialSlots,
    execSeg: { base: cd.readBigUInt64BE(64), limit: cd.readBigUInt64BE(72), flags: cd.readBigUInt64BE(80) },
    badPages,
    specialSlotsOk,
  };
}

/** Everything a valid ad-hoc signature of a main executable must satisfy. */
function expectValid(c: Checked, file: Buffer): void {
  expect(c.blobTypes).toEqual([0, 2, 0x10000]);
  expect(c.identifier).toBe('kubectl-netdebug');
  expect(c.flags & 0x2, 'CS_ADHOC').toBe(0x2);
  expect(c.version).toBeGreaterThanOrEqual(0x20400);
  expect(c.specialSlotsOk, 'special slots: -2 = requirements hash, -1 = no Info.plist').toBe(true);
  const text = c.segments.find((s) => s.name === '__TEXT')!;
  expect(c.execSeg).toEqual({ base: BigInt(text.fileoff), limit: BigInt(text.filesize), flags: 1n });
  expect(c.badPages, 'pages whose hash does not match').toEqual([]);
  expect(c.nCodeSlots).toBeGreaterThan(0);
  expect(file.length).toBe(c.sig.dataoff + c.sig.datasize);
}

// ---- Small Mach-O executables made here. ----

/**
 * A 64-bit arm64 MH_EXECUTE: header and load commands in the first page, __TEXT (one section) to 0x3000, then
 * __LINKEDIT with `linkeditBytes` of data and, with `oldSignature`, an LC_CODE_SIGNATURE and data standing for Node's.
 */
function makeMacho(linkeditBytes: number, oldSignature?: number): Buffer {
  const cmds: Buffer[] = [];
  const segment = (name: string, vmaddr: bigint, vmsize: bigint, fileoff: number, filesize: number, sections: { name: string; offset: number; size: number }[]): Buffer => {
    const c = Buffer.alloc(72 + sections.length * 80);
    c.writeUInt32LE(0x19, 0);
    c.writeUInt32LE(c.length, 4);
    c.write(name, 8, 'latin1');
    c.writeBigUInt64LE(vmaddr, 24);
    c.writeBigUInt64LE(vmsize, 32);
    c.writeBigUInt64LE(BigInt(fileoff), 40);
    c.writeBigUInt64LE(BigInt(filesize), 48);
    c.writeUInt32LE(sections.length, 64);
    sections.forEach((s, i) => {
      const o = 72 + i * 80;
      c.write(s.name, o, 'latin1');
      c.write(name, o + 16, 'latin1');
      c.writeBigUInt64LE(BigInt(s.size), o + 40);
      c.writeUInt32LE(s.offset, o + 48);
    });
    return c;
  };
  const linkeditOff = 0x3000;
  const sigOff = oldSignature === undefined ? undefined : linkeditOff + Math.ceil(linkeditBytes / 16) * 16;
  const linkeditEnd = sigOff === undefined ? linkeditOff + linkeditBytes : sigOff + oldSignature!;
  cmds.push(segment('__PAGEZERO', 0n, 0x100000000n, 0, 0, []));
  cmds.push(segment('__TEXT', 0x100000000n, 0x4000n, 0, 0x3000, [{ name: '__text', offset: 0x1000, size: 0x2000 }]));
  if (sigOff !== undefined) {
    const c = Buffer.alloc(16);
    c.writeUInt32LE(0x1d, 0);
    c.writeUInt32LE(16, 4);
    c.writeUInt32LE(sigOff, 8);
    c.writeUInt32LE(oldSignature!, 12);
    cmds.push(c);
  }
  cmds.push(segment('__LINKEDIT', 0x100004000n, 0x4000n, linkeditOff, linkeditEnd - linkeditOff, []));
  const file = Buffer.alloc(linkeditEnd);
  // Deterministic non-zero content everywhere, so a hash of the wrong range cannot match by accident.
  for (let i = 0; i < file.length; i++) file[i] = (i * 131 + 7) & 0xff;
  const all = Buffer.concat(cmds);
  file.fill(0, 0, 0x1000);
  file.writeUInt32LE(0xfeedfacf, 0);
  file.writeUInt32LE(0x0100000c, 4);
  file.writeUInt32LE(2, 12);
  file.writeUInt32LE(cmds.length, 16);
  file.writeUInt32LE(all.length, 20);
  all.copy(file, 32);
  if (sigOff !== undefined) file.writeUInt32BE(0xfade0cc0, sigOff);
  return file;
}

describe('adHocSign', () => {
  it('signs an unsigned executable: one LC_CODE_SIGNATURE, covered by __LINKEDIT, every page hashed', () => {
    const input = makeMacho(0x1234);
    const out = adHocSign(input, 'kubectl-netdebug');
    const c = readSigned(out);
    expectValid(c, out);
    expect(c.ncmds).toBe(4);
    expect(c.sig.dataoff).toBe(0x3000 + 0x1240); // the end of the old __LINKEDIT, rounded up to 16
    expect(c.codeLimit).toBe(0x4240);
    expect(c.nCodeSlots).toBe(5); // four full pages and the partial fifth
    // Everything after the load commands up to the old end is unchanged.
    expect(out.subarray(0x1000, input.length).equals(input.subarray(0x1000))).toBe(true);
    expect(out.subarray(input.length, c.sig.dataoff).equals(Buffer.alloc(c.sig.dataoff - input.length))).toBe(true);
  });

  it('replaces an existing signature instead of adding a second one', () => {
    const input = makeMacho(0x2000, 0x3000);
    const out = adHocSign(input, 'kubectl-netdebug');
    const c = readSigned(out);
    expectValid(c, out);
    expect(c.ncmds).toBe(4);
    expect(c.sig.dataoff).toBe(0x5000); // where the old signature started
    expect(out.subarray(0x1000, 0x5000).equals(input.subarray(0x1000, 0x5000))).toBe(true);
  });

  it('is deterministic, and signing a signed file again gives the same bytes', () => {
    const once = adHocSign(makeMacho(0x1234), 'kubectl-netdebug');
    expect(adHocSign(makeMacho(0x1234), 'kubectl-netdebug').equals(once)).toBe(true);
    expect(adHocSign(once, 'kubectl-netdebug').equals(once)).toBe(true);
  });

  it('a changed byte breaks exactly its page, for this parser and for verifyAdHocSignature', () => {
    const out = adHocSign(makeMacho(0x1234), 'kubectl-netdebug');
    verifyAdHocSignature(out);
    out.writeUInt8(out.readUInt8(0x2345) ^ 0xff, 0x2345);
    expect(readSigned(out).badPages).toEqual([2]);
    expect(() => verifyAdHocSignature(out)).toThrow(/BAD_SIGNATURE: page 2/);
  });

  it.each([
    { name: 'not a Mach-O file', file: () => Buffer.from('\x7fELF'.padEnd(64, '\0'), 'latin1'), code: 'NOT_MACHO64' },
    {
      name: 'no room for another load command',
      file: () => {
        // A filler command taking the header up to 8 bytes before the first section: LC_CODE_SIGNATURE needs 16.
        const f = makeMacho(0x100);
        const end = 32 + f.readUInt32LE(20);
        const filler = 0x1000 - 8 - end;
        f.writeUInt32LE(0x34, end);
        f.writeUInt32LE(filler, end + 4);
        f.writeUInt32LE(f.readUInt32LE(16) + 1, 16);
        f.writeUInt32LE(f.readUInt32LE(20) + filler, 20);
        return f;
      },
      code: 'NO_HEADER_ROOM',
    },
  ])('refuses $name', ({ file, code }) => {
    let err: unknown;
    try {
      adHocSign(file(), 'kubectl-netdebug');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MachoSignError);
    expect((err as MachoSignError).code).toBe(code);
  });
});

describe('the darwin/arm64 release executable (npm run package, KREW_PLATFORMS=darwin/arm64)', () => {
  const darwinArm64 = { os: 'darwin', arch: 'arm64' } as const;
  let work: string;
  let archive: Buffer;
  let binary: Buffer;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'netdebug-darwin-arm64-'));
    const env: NodeJS.ProcessEnv = { ...process.env, KREW_PLATFORMS: 'darwin/arm64', KREW_OUT: work };
    delete env.NETDEBUG_HOMEPAGE;
    execFileSync(process.execPath, ['krew/package.ts'], { cwd: repo, env, stdio: 'pipe' });
    archive = readFileSync(join(work, archiveName(`v${pkg.version}`, darwinArm64)));
    const entry = readTarGz(archive).find((e) => e.name === binaryName(darwinArm64));
    if (!entry) throw new Error('the archive holds no kubectl-netdebug');
    binary = entry.data;
  }, 600_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is an arm64 SEA executable whose ad-hoc signature verifies page by page', () => {
    expect(binary.readUInt32LE(4), 'CPU_TYPE_ARM64').toBe(0x0100000c);
    const c = readSigned(binary);
    expectValid(c, binary);
    expect(c.segments.map((s) => s.name)).toContain('NODE_SEA');
    expect(c.nCodeSlots).toBe(Math.ceil(c.sig.dataoff / 4096));
  });

  it('is the archive plugin-manifest/netdebug.yaml lists for darwin/arm64', () => {
    const m = parse(readFileSync(join(repo, 'plugin-manifest', 'netdebug.yaml'), 'utf8')) as Manifest;
    const entry = m.spec?.platforms?.find((p) => p.selector?.matchLabels?.os === 'darwin' && p.selector.matchLabels.arch === 'arm64');
    expect(entry?.sha256, 'run `npm run package` and commit plugin-manifest/').toBe(createHash('sha256').update(archive).digest('hex'));
  });
});
