import type { LinkedImage } from './linker.js';

/**
 * Writes a linked image as an ELF32 executable: one PT_LOAD per output section, section headers
 * and a symbol table, so that objdump, QEMU (big-endian) and `myriad-emu leon3` can read it.
 */
export function writeExecutable(image: LinkedImage): Uint8Array {
  const le = image.littleEndian;
  const sections = image.sections;
  const names = ['', ...sections.map((s) => s.name), '.symtab', '.strtab', '.shstrtab'];
  const shstr = stringTable(names);
  const symbolNames = [...image.symbols.keys()];
  const strtab = stringTable(['', ...symbolNames]);

  const ehsize = 52;
  const phnum = sections.length;
  let offset = ehsize + phnum * 32;
  const dataOffsets = sections.map((s) => {
    offset = Math.ceil(offset / 8) * 8;
    const at = offset;
    offset += s.nobits ? 0 : s.data.length;
    return at;
  });
  const symtabOffset = (offset = Math.ceil(offset / 4) * 4);
  const symtabSize = (symbolNames.length + 1) * 16;
  offset += symtabSize;
  const strtabOffset = offset;
  offset += strtab.bytes.length;
  const shstrOffset = offset;
  offset += shstr.bytes.length;
  const shoff = (offset = Math.ceil(offset / 4) * 4);
  const shnum = names.length;
  const file = new Uint8Array(shoff + shnum * 40);
  const v = new DataView(file.buffer);
  const u16 = (at: number, x: number) => v.setUint16(at, x, le);
  const u32 = (at: number, x: number) => v.setUint32(at, x >>> 0, le);

  file.set([0x7f, 0x45, 0x4c, 0x46, 1, le ? 1 : 2, 1]);
  u16(16, 2); // ET_EXEC
  u16(18, image.machine);
  u32(20, 1);
  u32(24, image.entry);
  u32(28, ehsize);
  u32(32, shoff);
  u16(40, ehsize);
  u16(42, 32);
  u16(44, phnum);
  u16(46, 40);
  u16(48, shnum);
  u16(50, shnum - 1);

  sections.forEach((s, i) => {
    const at = ehsize + i * 32;
    u32(at, 1); // PT_LOAD
    u32(at + 4, dataOffsets[i]!);
    u32(at + 8, s.address);
    u32(at + 12, s.address);
    u32(at + 16, s.nobits ? 0 : s.data.length);
    u32(at + 20, s.size);
    u32(at + 24, s.executable ? 5 : 6); // R+X or R+W
    u32(at + 28, 8);
    if (!s.nobits) file.set(s.data, dataOffsets[i]!);
  });
  symbolNames.forEach((name, i) => {
    const at = symtabOffset + (i + 1) * 16;
    u32(at, strtab.offsets.get(name)!);
    u32(at + 4, image.symbols.get(name)!);
    v.setUint8(at + 12, (1 << 4) | 0); // GLOBAL NOTYPE
    u16(at + 14, 0xfff1); // ABS
  });
  file.set(strtab.bytes, strtabOffset);
  file.set(shstr.bytes, shstrOffset);

  const header = (index: number, type: number, flags: number, addr: number, off: number, size: number, link = 0, info = 0, align = 1, entsize = 0) => {
    const at = shoff + index * 40;
    u32(at, shstr.offsets.get(names[index]!)!);
    u32(at + 4, type);
    u32(at + 8, flags);
    u32(at + 12, addr);
    u32(at + 16, off);
    u32(at + 20, size);
    u32(at + 24, link);
    u32(at + 28, info);
    u32(at + 32, align);
    u32(at + 36, entsize);
  };
  sections.forEach((s, i) => header(i + 1, s.nobits ? 8 : 1, 2 | (s.executable ? 4 : 1), s.address, dataOffsets[i]!, s.size, 0, 0, 8));
  const symtabIndex = sections.length + 1;
  header(symtabIndex, 2, 0, 0, symtabOffset, symtabSize, symtabIndex + 1, 1, 4, 16);
  header(symtabIndex + 1, 3, 0, 0, strtabOffset, strtab.bytes.length);
  header(symtabIndex + 2, 3, 0, 0, shstrOffset, shstr.bytes.length);
  return file;
}

function stringTable(strings: readonly string[]): { bytes: Uint8Array; offsets: Map<string, number> } {
  const offsets = new Map<string, number>();
  const parts: Buffer[] = [];
  let at = 0;
  for (const s of strings) {
    if (offsets.has(s)) continue;
    offsets.set(s, at);
    const b = Buffer.from(`${s}\0`, 'latin1');
    parts.push(b);
    at += b.length;
  }
  return { bytes: new Uint8Array(Buffer.concat(parts)), offsets };
}
