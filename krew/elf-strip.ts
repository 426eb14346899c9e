/**
 * Removes what a running program never reads from a 64-bit little-endian ELF executable: every section not loaded
 * into memory (no SHF_ALLOC: .symtab, .strtab, .debug_*, .comment, annobin notes) except the section-name table, as
 * `strip --strip-all` does. Node's official Linux binaries carry about 33 MB of them; the dynamic symbol table
 * (.dynsym, loaded) stays, so native addons still find Node's API. Runs on the base Node before the SEA is injected
 * (stripping after injection would remove the SEA section).
 */

/** Why a binary cannot be stripped, with a stable code. */
export type ElfStripErrorCode = 'NOT_ELF64_LE' | 'UNSTRIPPABLE_LAYOUT';

/** A binary this module will not strip. */
export class ElfStripError extends Error {
  readonly code: ElfStripErrorCode;
  constructor(code: ElfStripErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ElfStripError';
    this.code = code;
  }
}

const SHF_ALLOC = 0x2;
const SHF_INFO_LINK = 0x40;
const SHT_NOBITS = 8;
const SHT_RELA = 4;
const SHT_REL = 9;
const SHDR_SIZE = 64;

interface Section {
  index: number;
  header: Buffer;
  type: number;
  flags: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * Returns a copy of `bin` without its non-loaded sections. The removed sections must lie after everything that is
 * loaded (as linkers lay them out); otherwise, or for anything but ELF64 little-endian, it throws ElfStripError.
 * A file with nothing to remove comes back unchanged.
 */
export function stripElf(bin: Buffer): Buffer {
  if (bin.length < 64 || bin.readUInt32BE(0) !== 0x7f454c46 || bin[4] !== 2 || bin[5] !== 1) throw new ElfStripError('NOT_ELF64_LE', 'not a 64-bit little-endian ELF file');
  const phoff = Number(bin.readBigUInt64LE(0x20));
  const shoff = Number(bin.readBigUInt64LE(0x28));
  const phentsize = bin.readUInt16LE(0x36);
  const phnum = bin.readUInt16LE(0x38);
  const shentsize = bin.readUInt16LE(0x3a);
  const shnum = bin.readUInt16LE(0x3c);
  const shstrndx = bin.readUInt16LE(0x3e);
  if (shentsize !== SHDR_SIZE || shnum === 0 || shstrndx >= shnum) throw new ElfStripError('UNSTRIPPABLE_LAYOUT', 'unexpected section header table');

  const sections: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const header = Buffer.from(bin.subarray(shoff + i * SHDR_SIZE, shoff + (i + 1) * SHDR_SIZE));
    sections.push({
      index: i,
      header,
      type: header.readUInt32LE(4),
      flags: header.readBigUInt64LE(8),
      offset: Number(header.readBigUInt64LE(24)),
      size: Number(header.readBigUInt64LE(32)),
      link: header.readUInt32LE(40),
      info: header.readUInt32LE(44),
    });
  }
  const removed = sections.filter((s) => s.index !== 0 && s.index !== shstrndx && (s.flags & BigInt(SHF_ALLOC)) === 0n);
  if (removed.length === 0) return bin;
  const kept = sections.filter((s) => !removed.includes(s));

  // Everything loaded, and every kept section but the name table, must end before the first removed byte.
  const cut = Math.min(...removed.map((s) => s.offset));
  let loadedEnd = 0;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    loadedEnd = Math.max(loadedEnd, Number(bin.readBigUInt64LE(ph + 8)) + Number(bin.readBigUInt64LE(ph + 32)));
  }
  for (const s of kept) if (s.index !== shstrndx && s.type !== SHT_NOBITS) loadedEnd = Math.max(loadedEnd, s.offset + s.size);
  if (loadedEnd > cut) throw new ElfStripError('UNSTRIPPABLE_LAYOUT', 'a non-loaded section lies between loaded data');

  const newIndex = new Map(kept.map((s, i) => [s.index, i]));
  const names = sections[shstrndx]!;
  const namesOffset = cut;
  const shtOffset = alignUp(namesOffset + names.size, 8);
  const out = Buffer.alloc(shtOffset + kept.length * SHDR_SIZE);
  bin.copy(out, 0, 0, cut);
  bin.copy(out, namesOffset, names.offset, names.offset + names.size);
  kept.forEach((s, i) => {
    const h = Buffer.from(s.header);
    if (s.index === shstrndx) h.writeBigUInt64LE(BigInt(namesOffset), 24);
    h.writeUInt32LE(newIndex.get(s.link) ?? 0, 40);
    if ((s.type === SHT_REL || s.type === SHT_RELA) && (s.flags & BigInt(SHF_INFO_LINK)) !== 0n) h.writeUInt32LE(newIndex.get(s.info) ?? 0, 44);
    h.copy(out, shtOffset + i * SHDR_SIZE);
  });
  out.writeBigUInt64LE(BigInt(shtOffset), 0x28);
  out.writeUInt16LE(kept.length, 0x3c);
  out.writeUInt16LE(newIndex.get(shstrndx)!, 0x3e);
  return out;
}
