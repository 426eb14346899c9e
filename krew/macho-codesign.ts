/**
 * Ad-hoc code signing of a 64-bit Mach-O executable, as `codesign --sign -` does it: Apple Silicon refuses to run
 * arm64 code without a valid signature, and injecting the SEA blob invalidates the one Node ships with. The signature
 * is an embedded SuperBlob at the end of __LINKEDIT holding a CodeDirectory (SHA-256 of every 4 KiB page up to the
 * signature, the identifier, the executable segment, special slots for Info.plist and the requirements), an empty
 * requirements set and an empty CMS wrapper (no certificate: ad-hoc). Layout from Apple's xnu cs_blobs.h, as
 * documented by Go's cmd/internal/codesign; everything multi-byte inside the signature is big-endian.
 */
import { createHash } from 'node:crypto';

/** Why a binary cannot be signed. */
export type MachoSignErrorCode = 'NOT_MACHO64' | 'NO_TEXT_SEGMENT' | 'NO_LINKEDIT' | 'LINKEDIT_NOT_LAST' | 'NO_HEADER_ROOM' | 'TOO_LARGE' | 'BAD_SIGNATURE';

/** A binary this module cannot sign or whose signature does not verify, with a stable code. */
export class MachoSignError extends Error {
  readonly code: MachoSignErrorCode;
  constructor(code: MachoSignErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'MachoSignError';
    this.code = code;
  }
}

const MH_MAGIC_64 = 0xfeedfacf;
const MH_EXECUTE = 2;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const MACH_HEADER_64_SIZE = 32;
const SEGMENT_COMMAND_64_SIZE = 72;
const SECTION_64_SIZE = 80;
const LINKEDIT_DATA_COMMAND_SIZE = 16;

/** Blob magics and slot numbers (cs_blobs.h). */
export const CS = {
  MAGIC_EMBEDDED_SIGNATURE: 0xfade0cc0,
  MAGIC_CODEDIRECTORY: 0xfade0c02,
  MAGIC_REQUIREMENTS: 0xfade0c01,
  MAGIC_BLOBWRAPPER: 0xfade0b01,
  SLOT_CODEDIRECTORY: 0,
  SLOT_INFO: 1,
  SLOT_REQUIREMENTS: 2,
  SLOT_SIGNATURE: 0x10000,
  ADHOC: 0x2,
  HASHTYPE_SHA256: 2,
  EXECSEG_MAIN_BINARY: 0x1,
  /** The CodeDirectory version that has the executable-segment fields. */
  CD_VERSION: 0x20400,
} as const;

const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const HASH_SIZE = 32;
/** The CodeDirectory header up to and including execSegFlags (version 0x20400). */
const CD_HEADER_SIZE = 88;
/** Special slots: -1 Info.plist (none: zeros), -2 requirements. */
const SPECIAL_SLOTS = 2;
/** __LINKEDIT's vmsize is rounded to this (arm64 pages; a multiple of x86_64's). */
const SEGMENT_ALIGN = 0x4000;
/** Apple's tools start the signature on a 16-byte boundary. */
const SIGNATURE_ALIGN = 16;

interface Segment {
  cmdOffset: number;
  name: string;
  fileoff: number;
  filesize: number;
}

interface Layout {
  filetype: number;
  ncmds: number;
  sizeofcmds: number;
  segments: Segment[];
  codeSignature?: { cmdOffset: number; dataoff: number; datasize: number };
  /** The lowest file offset of any section's data: load commands must end before it. */
  firstSectionOffset: number;
}

function readLayout(bin: Buffer): Layout {
  if (bin.length < MACH_HEADER_64_SIZE || bin.readUInt32LE(0) !== MH_MAGIC_64) throw new MachoSignError('NOT_MACHO64', 'not a 64-bit little-endian Mach-O file');
  const ncmds = bin.readUInt32LE(16);
  const sizeofcmds = bin.readUInt32LE(20);
  const segments: Segment[] = [];
  let codeSignature: Layout['codeSignature'];
  let firstSectionOffset = bin.length;
  let off = MACH_HEADER_64_SIZE;
  for (let i = 0; i < ncmds; i++) {
    if (off + 8 > MACH_HEADER_64_SIZE + sizeofcmds) throw new MachoSignError('NOT_MACHO64', `load command ${i} runs past sizeofcmds`);
    const cmd = bin.readUInt32LE(off);
    const cmdsize = bin.readUInt32LE(off + 4);
    if (cmd === LC_SEGMENT_64) {
      const name = bin.toString('latin1', off + 8, off + 24).replace(/\0+$/, '');
      segments.push({ cmdOffset: off, name, fileoff: Number(bin.readBigUInt64LE(off + 40)), filesize: Number(bin.readBigUInt64LE(off + 48)) });
      const nsects = bin.readUInt32LE(off + 64);
      for (let s = 0; s < nsects; s++) {
        const sectOffset = bin.readUInt32LE(off + SEGMENT_COMMAND_64_SIZE + s * SECTION_64_SIZE + 48);
        if (sectOffset !== 0) firstSectionOffset = Math.min(firstSectionOffset, sectOffset);
      }
    } else if (cmd === LC_CODE_SIGNATURE) {
      codeSignature = { cmdOffset: off, dataoff: bin.readUInt32LE(off + 8), datasize: bin.readUInt32LE(off + 12) };
    }
    off += cmdsize;
  }
  return { filetype: bin.readUInt32LE(12), ncmds, sizeofcmds, segments, ...(codeSignature ? { codeSignature } : {}), firstSectionOffset };
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The empty requirements set (`codesign -s -` writes this; its hash goes into special slot -2). */
function emptyRequirements(): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(CS.MAGIC_REQUIREMENTS, 0);
  b.writeUInt32BE(12, 4);
  b.writeUInt32BE(0, 8);
  return b;
}

/** The empty CMS wrapper: the slot a certificate signature would fill. */
function emptyBlobWrapper(): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(CS.MAGIC_BLOBWRAPPER, 0);
  b.writeUInt32BE(8, 4);
  return b;
}

/** How many bytes the signature of `codeLimit` bytes of code takes. */
function signatureSize(codeLimit: number, identifier: string): number {
  const pages = Math.ceil(codeLimit / PAGE);
  const cd = CD_HEADER_SIZE + Buffer.byteLength(identifier) + 1 + (SPECIAL_SLOTS + pages) * HASH_SIZE;
  return 12 + 3 * 8 + cd + emptyRequirements().length + emptyBlobWrapper().length;
}

/**
 * Returns a copy of `bin` (a 64-bit Mach-O whose __LINKEDIT ends the file) with an ad-hoc signature: any existing
 * LC_CODE_SIGNATURE and its data are removed, the new signature is appended at the end of __LINKEDIT (16-byte
 * aligned), __LINKEDIT's filesize and vmsize grow to cover it and an LC_CODE_SIGNATURE pointing at it is appended to
 * the load commands. `identifier` is the CodeDirectory's identifier (codesign uses the file name).
 */
export function adHocSign(bin: Buffer, identifier: string): Buffer {
  const layout = readLayout(bin);
  const text = layout.segments.find((s) => s.name === '__TEXT');
  if (!text) throw new MachoSignError('NO_TEXT_SEGMENT', 'no __TEXT segment');
  const linkedit = layout.segments.find((s) => s.name === '__LINKEDIT');
  if (!linkedit) throw new MachoSignError('NO_LINKEDIT', 'no __LINKEDIT segment');

  // Header and load commands, without the old LC_CODE_SIGNATURE.
  const headerEnd = MACH_HEADER_64_SIZE + layout.sizeofcmds;
  let header = Buffer.from(bin.subarray(0, headerEnd));
  let ncmds = layout.ncmds;
  let sizeofcmds = layout.sizeofcmds;
  let contentEnd = bin.length;
  const old = layout.codeSignature;
  if (old) {
    if (old.dataoff + old.datasize !== linkedit.fileoff + linkedit.filesize && old.dataoff + old.datasize !== bin.length) {
      throw new MachoSignError('LINKEDIT_NOT_LAST', 'the existing signature does not end __LINKEDIT');
    }
    contentEnd = old.dataoff;
    header = Buffer.concat([header.subarray(0, old.cmdOffset), header.subarray(old.cmdOffset + LINKEDIT_DATA_COMMAND_SIZE)]);
    ncmds -= 1;
    sizeofcmds -= LINKEDIT_DATA_COMMAND_SIZE;
  }
  if (linkedit.fileoff + linkedit.filesize < contentEnd || linkedit.fileoff > contentEnd) {
    throw new MachoSignError('LINKEDIT_NOT_LAST', '__LINKEDIT does not end the file: the signature would fall outside it');
  }
  if (MACH_HEADER_64_SIZE + sizeofcmds + LINKEDIT_DATA_COMMAND_SIZE > layout.firstSectionOffset) {
    throw new MachoSignError('NO_HEADER_ROOM', 'no room after the load commands for LC_CODE_SIGNATURE');
  }

  const sigOff = alignUp(contentEnd, SIGNATURE_ALIGN);
  const sigSize = signatureSize(sigOff, identifier);
  if (sigOff + sigSize > 0xffffffff) throw new MachoSignError('TOO_LARGE', 'the file passes 4 GiB, beyond a 32-bit codeLimit');

  const out = Buffer.alloc(sigOff + sigSize);
  bin.copy(out, 0, 0, contentEnd);
  // The rewritten header and load commands, with the new LC_CODE_SIGNATURE last (zeros after it, as before).
  out.fill(0, 0, headerEnd);
  header.copy(out, 0);
  const lc = MACH_HEADER_64_SIZE + sizeofcmds;
  out.writeUInt32LE(LC_CODE_SIGNATURE, lc);
  out.writeUInt32LE(LINKEDIT_DATA_COMMAND_SIZE, lc + 4);
  out.writeUInt32LE(sigOff, lc + 8);
  out.writeUInt32LE(sigSize, lc + 12);
  out.writeUInt32LE(ncmds + 1, 16);
  out.writeUInt32LE(sizeofcmds + LINKEDIT_DATA_COMMAND_SIZE, 20);
  // __LINKEDIT now ends with the signature. Its command sits before the removed one, if at all moved: find it again.
  const linkeditCmd = old && old.cmdOffset < linkedit.cmdOffset ? linkedit.cmdOffset - LINKEDIT_DATA_COMMAND_SIZE : linkedit.cmdOffset;
  const linkeditSize = sigOff + sigSize - linkedit.fileoff;
  out.writeBigUInt64LE(BigInt(linkeditSize), linkeditCmd + 48);
  const vmsize = Number(out.readBigUInt64LE(linkeditCmd + 32));
  out.writeBigUInt64LE(BigInt(Math.max(vmsize, alignUp(linkeditSize, SEGMENT_ALIGN))), linkeditCmd + 32);

  writeSignature(out, sigOff, sigSize, identifier, text, layout.filetype === MH_EXECUTE);
  return out;
}

/** Writes the SuperBlob at `sigOff`, hashing out[0, sigOff) (header and load commands already final). */
function writeSignature(out: Buffer, sigOff: number, sigSize: number, identifier: string, text: Segment, isMain: boolean): void {
  const requirements = emptyRequirements();
  const wrapper = emptyBlobWrapper();
  const pages = Math.ceil(sigOff / PAGE);
  const id = Buffer.from(`${identifier}\0`, 'utf8');
  const cdLength = CD_HEADER_SIZE + id.length + (SPECIAL_SLOTS + pages) * HASH_SIZE;
  const superHeader = 12 + 3 * 8;
  const sig = out.subarray(sigOff, sigOff + sigSize);

  sig.writeUInt32BE(CS.MAGIC_EMBEDDED_SIGNATURE, 0);
  sig.writeUInt32BE(sigSize, 4);
  sig.writeUInt32BE(3, 8);
  const index: [number, number][] = [
    [CS.SLOT_CODEDIRECTORY, superHeader],
    [CS.SLOT_REQUIREMENTS, superHeader + cdLength],
    [CS.SLOT_SIGNATURE, superHeader + cdLength + requirements.length],
  ];
  index.forEach(([slot, offset], i) => {
    sig.writeUInt32BE(slot, 12 + i * 8);
    sig.writeUInt32BE(offset, 16 + i * 8);
  });

  const cd = sig.subarray(superHeader, superHeader + cdLength);
  const hashOffset = CD_HEADER_SIZE + id.length + SPECIAL_SLOTS * HASH_SIZE;
  cd.writeUInt32BE(CS.MAGIC_CODEDIRECTORY, 0);
  cd.writeUInt32BE(cdLength, 4);
  cd.writeUInt32BE(CS.CD_VERSION, 8);
  cd.writeUInt32BE(CS.ADHOC, 12);
  cd.writeUInt32BE(hashOffset, 16);
  cd.writeUInt32BE(CD_HEADER_SIZE, 20); // identOffset
  cd.writeUInt32BE(SPECIAL_SLOTS, 24);
  cd.writeUInt32BE(pages, 28);
  cd.writeUInt32BE(sigOff, 32); // codeLimit
  cd[36] = HASH_SIZE;
  cd[37] = CS.HASHTYPE_SHA256;
  cd[38] = 0; // platform
  cd[39] = PAGE_BITS;
  // 40 spare2, 44 scatterOffset, 48 teamOffset, 52 spare3, 56 codeLimit64: all zero.
  cd.writeBigUInt64BE(BigInt(text.fileoff), 64);
  cd.writeBigUInt64BE(BigInt(text.filesize), 72);
  cd.writeBigUInt64BE(BigInt(isMain ? CS.EXECSEG_MAIN_BINARY : 0), 80);
  id.copy(cd, CD_HEADER_SIZE);
  // Special slots sit just below hashOffset, slot -n lowest: -2 requirements, then -1 Info.plist (absent: zeros).
  sha256(requirements).copy(cd, hashOffset - SPECIAL_SLOTS * HASH_SIZE);
  for (let p = 0; p < pages; p++) {
    sha256(out.subarray(p * PAGE, Math.min((p + 1) * PAGE, sigOff))).copy(cd, hashOffset + p * HASH_SIZE);
  }
  requirements.copy(sig, superHeader + cdLength);
  wrapper.copy(sig, superHeader + cdLength + requirements.length);
}

/**
 * Throws MachoSignError BAD_SIGNATURE unless `bin` carries exactly one LC_CODE_SIGNATURE whose SuperBlob ends the
 * file inside __LINKEDIT and whose CodeDirectory hashes every page before it. The release build's own check; the
 * tests verify with a parser of their own.
 */
export function verifyAdHocSignature(bin: Buffer): void {
  const layout = readLayout(bin);
  const sig = layout.codeSignature;
  const bad = (why: string): never => {
    throw new MachoSignError('BAD_SIGNATURE', why);
  };
  if (!sig) return bad('no LC_CODE_SIGNATURE');
  const linkedit = layout.segments.find((s) => s.name === '__LINKEDIT');
  if (!linkedit || sig.dataoff < linkedit.fileoff || sig.dataoff + sig.datasize > linkedit.fileoff + linkedit.filesize) bad('the signature is outside __LINKEDIT');
  if (sig.dataoff + sig.datasize !== bin.length) bad('the signature does not end the file');
  const blob = bin.subarray(sig.dataoff, sig.dataoff + sig.datasize);
  if (blob.readUInt32BE(0) !== CS.MAGIC_EMBEDDED_SIGNATURE) bad('no embedded-signature SuperBlob');
  const cdOffset = blob.readUInt32BE(16);
  if (blob.readUInt32BE(12) !== CS.SLOT_CODEDIRECTORY) bad('the first blob is not the CodeDirectory');
  const cd = blob.subarray(cdOffset, cdOffset + blob.readUInt32BE(cdOffset + 4));
  if (cd.readUInt32BE(0) !== CS.MAGIC_CODEDIRECTORY) bad('bad CodeDirectory magic');
  const hashOffset = cd.readUInt32BE(16);
  const pages = cd.readUInt32BE(28);
  const codeLimit = cd.readUInt32BE(32);
  if (codeLimit !== sig.dataoff) bad(`codeLimit ${codeLimit} is not the signature offset ${sig.dataoff}`);
  for (let p = 0; p < pages; p++) {
    const want = cd.subarray(hashOffset + p * HASH_SIZE, hashOffset + (p + 1) * HASH_SIZE);
    if (!sha256(bin.subarray(p * PAGE, Math.min((p + 1) * PAGE, codeLimit))).equals(want)) bad(`page ${p} does not match its hash`);
  }
}
