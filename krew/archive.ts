/**
 * Writes the release archives: tar.gz (ustar, regular files only) and zip (deflate, Unix modes in the external
 * attributes), both deterministic (fixed owner and timestamps) so the same inputs give the same sha256.
 */
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

/** One regular file in an archive. */
export interface ArchiveEntry {
  /** Path inside the archive: relative, `/`-separated, no `..`. */
  name: string;
  data: Buffer;
  /** Unix permission bits, e.g. 0o755 for executables. */
  mode: number;
}

/** The timestamp every entry gets (2020-01-01T00:00:00Z): reproducible archives. */
const MTIME_SECONDS = 1_577_836_800;

/** Throws unless the name is a clean relative path krew will extract (no `..`, no leading `/`, no `\`). */
export function assertCleanName(name: string): void {
  if (name === '' || name.startsWith('/') || name.includes('\\') || name.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new Error(`archive entry name "${name}" is not a clean relative path`);
  }
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte ustar header for a regular file. */
function tarHeader(entry: ArchiveEntry): Buffer {
  if (Buffer.byteLength(entry.name) > 100) throw new Error(`archive entry name "${entry.name}" is longer than 100 bytes`);
  const h = Buffer.alloc(512);
  h.write(entry.name, 0, 100, 'utf8');
  h.write(octal(entry.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(entry.data.length, 12), 124, 'ascii');
  h.write(octal(MTIME_SECONDS, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0' + '00', 257, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

/** A gzipped ustar archive of the entries, in order. */
export function createTarGz(entries: readonly ArchiveEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    assertCleanName(e.name);
    parts.push(tarHeader(e), e.data);
    const pad = (512 - (e.data.length % 512)) % 512;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts), { level: 6 });
}

/** DOS time and date of MTIME_SECONDS (2020-01-01 00:00). */
const DOS_TIME = 0;
const DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1;

/** A zip archive (deflate) of the entries, in order, with Unix modes so unzip restores the executable bit. */
export function createZip(entries: readonly ArchiveEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    assertCleanName(e.name);
    const name = Buffer.from(e.name, 'utf8');
    const compressed = deflateRawSync(e.data, { level: 6 });
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    // Made by Unix (3), spec 2.0: readers then take the mode from the high 16 bits of the external attributes.
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((0o100000 | (e.mode & 0o7777)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
