// The symbol versions an ELF shared object needs from each library (its .gnu.version_r section), read without
// binutils: how the prebuild script and its test know a binary's glibc floor (the highest GLIBC_x.y it needs).
import { readFileSync } from 'node:fs';

const SHT_GNU_VERNEED = 0x6ffffffe;

function cString(buffer, offset) {
  const end = buffer.indexOf(0, offset);
  return buffer.toString('latin1', offset, end);
}

/** {library: [version names]} for a 64-bit little-endian ELF file, e.g. {"libc.so.6": ["GLIBC_2.2.5", ...]}. */
export function neededVersions(path) {
  const elf = readFileSync(path);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error(`${path} is not a 64-bit little-endian ELF file`);
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const section = (index) => {
    const base = shoff + index * shentsize;
    return { type: elf.readUInt32LE(base + 4), offset: Number(elf.readBigUInt64LE(base + 0x18)), link: elf.readUInt32LE(base + 0x28),
      info: elf.readUInt32LE(base + 0x2c) };
  };
  const result = {};
  for (let i = 0; i < shnum; i++) {
    const verneed = section(i);
    if (verneed.type !== SHT_GNU_VERNEED) continue;
    const strings = section(verneed.link).offset;
    let entry = verneed.offset;
    for (let n = 0; n < verneed.info; n++) {
      const count = elf.readUInt16LE(entry + 2);
      const file = cString(elf, strings + elf.readUInt32LE(entry + 4));
      let aux = entry + elf.readUInt32LE(entry + 8);
      const names = (result[file] ??= []);
      for (let k = 0; k < count; k++) {
        names.push(cString(elf, strings + elf.readUInt32LE(aux + 8)));
        aux += elf.readUInt32LE(aux + 12);
      }
      entry += elf.readUInt32LE(entry + 12);
    }
  }
  return result;
}

function compareVersions(a, b) {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** The highest version with this prefix (GLIBC_, GLIBCXX_, CXXABI_) the file needs, e.g. "2.28"; null if none. */
export function highestVersion(path, prefix = 'GLIBC_') {
  const versions = Object.values(neededVersions(path)).flat()
    .filter((name) => name.startsWith(prefix) && /^[\d.]+$/.test(name.slice(prefix.length)))
    .map((name) => name.slice(prefix.length));
  return versions.sort(compareVersions).pop() ?? null;
}
