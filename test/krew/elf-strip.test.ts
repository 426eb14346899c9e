/**
 * krew/elf-strip.ts on the Node binary the release is made from (this Node): the stripped copy has no section left
 * that is not loaded (but the section names), keeps every loaded byte and the dynamic symbols native addons link
 * against, and still runs. The section table is read here by a parser of this file's own.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfStripError, stripElf } from '../../krew/elf-strip.ts';

interface Sec {
  name: string;
  type: number;
  alloc: boolean;
  offset: number;
  size: number;
}

/** The section headers of an ELF64 LE file, with names. */
function sectionsOf(f: Buffer): Sec[] {
  const shoff = Number(f.readBigUInt64LE(40));
  const shnum = f.readUInt16LE(60);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const h = shoff + i * 64;
    return { nameAt: f.readUInt32LE(h), type: f.readUInt32LE(h + 4), alloc: (f.readBigUInt64LE(h + 8) & 2n) !== 0n, offset: Number(f.readBigUInt64LE(h + 24)), size: Number(f.readBigUInt64LE(h + 32)) };
  });
  const names = raw[f.readUInt16LE(62)]!;
  return raw.map((s) => ({ name: f.toString('latin1', names.offset + s.nameAt, f.indexOf(0, names.offset + s.nameAt)), type: s.type, alloc: s.alloc, offset: s.offset, size: s.size }));
}

describe('stripElf on the official Node binary', () => {
  let work: string;
  let original: Buffer;
  let stripped: Buffer;
  let strippedPath: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'netdebug-strip-'));
    original = readFileSync(process.execPath);
    stripped = stripElf(original);
    strippedPath = join(work, 'node');
    writeFileSync(strippedPath, stripped);
    chmodSync(strippedPath, 0o755);
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('drops the symbol table and debug sections, keeps every loaded section byte for byte', () => {
    const before = sectionsOf(original);
    const after = sectionsOf(stripped);
    expect(before.some((s) => s.name === '.symtab')).toBe(true);
    expect(after.filter((s) => !s.alloc && s.type !== 0).map((s) => s.name)).toEqual(['.shstrtab']);
    expect(after.map((s) => s.name)).toEqual(before.filter((s) => s.alloc || s.type === 0 || s.name === '.shstrtab').map((s) => s.name));
    for (const s of after.filter((x) => x.alloc && x.type !== 8)) {
      const was = before.find((b) => b.name === s.name)!;
      expect(s.offset, s.name).toBe(was.offset);
      expect(stripped.subarray(s.offset, s.offset + s.size).equals(original.subarray(was.offset, was.offset + was.size)), s.name).toBe(true);
    }
    expect(after.map((s) => s.name)).toContain('.dynsym');
    expect(stripped.length).toBeLessThan(original.length - 20_000_000);
  });

  it('still runs, with the crypto and zlib it links in', () => {
    const out = execFileSync(strippedPath, ['-e', 'console.log(process.version, require("node:crypto").createHash("sha256").update("x").digest("hex").length, require("node:zlib").gzipSync("x").length > 0)'], { encoding: 'utf8' });
    expect(out).toBe(`${process.version} 64 true\n`);
  });

  it('leaves a stripped file as it is, and refuses what is not ELF64', () => {
    expect(stripElf(stripped).equals(stripped)).toBe(true);
    expect(() => stripElf(Buffer.from('MZ'.padEnd(128, '\0'), 'latin1'))).toThrow(ElfStripError);
  });
});
