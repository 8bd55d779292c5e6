/**
 * Reading ELF32 relocatable objects (System V gABI, SPARC psABI), either byte order: the
 * sections, the symbol table and the RELA relocations a static linker needs. Every offset and
 * size is checked against the file.
 */

export class ObjectError extends Error {}

export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHN_UNDEF = 0;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

export interface ObjectSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  /** sh_addr: 0 in objects, the load address in executables. */
  readonly address: number;
  readonly size: number;
  readonly align: number;
  /** File contents (empty for NOBITS). */
  readonly data: Uint8Array;
  readonly relocations: readonly Relocation[];
}

export interface ObjectSymbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  readonly bind: number;
  readonly type: number;
  /** Section index, or SHN_UNDEF / SHN_ABS / SHN_COMMON. */
  readonly section: number;
}

export interface Relocation {
  readonly offset: number;
  readonly type: number;
  readonly symbol: number;
  readonly addend: number;
}

export interface ElfObject {
  readonly file: string;
  readonly littleEndian: boolean;
  readonly machine: number;
  readonly sections: readonly ObjectSection[];
  readonly symbols: readonly ObjectSymbol[];
}

/** Parses a relocatable object; with `anyType`, also an executable (for its section headers). */
export function parseObject(bytes: Uint8Array, file = 'object', anyType = false): ElfObject {
  const fail = (message: string): never => {
    throw new ObjectError(`${file}: ${message}`);
  };
  if (bytes.length < 52 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) fail('not an ELF file');
  if (bytes[4] !== 1) fail('not a 32-bit ELF file');
  if (bytes[5] !== 1 && bytes[5] !== 2) fail(`unknown data encoding ${bytes[5]}`);
  const le = bytes[5] === 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u8 = (at: number) => view.getUint8(at);
  const u16 = (at: number) => view.getUint16(at, le);
  const u32 = (at: number) => view.getUint32(at, le);
  const i32 = (at: number) => view.getInt32(at, le);
  const inFile = (offset: number, size: number, what: string) => {
    if (offset + size > bytes.length || offset < 0) fail(`${what} (${size} bytes at ${offset}) runs past the end of the file`);
  };
  if (!anyType && u16(16) !== 1) fail(`not a relocatable object (type ${u16(16)})`);
  const machine = u16(18);
  const shoff = u32(32);
  const shentsize = u16(46);
  const shnum = u16(48);
  const shstrndx = u16(50);
  if (shentsize < 40) fail(`section header entries of ${shentsize} bytes are too small`);
  inFile(shoff, shnum * shentsize, 'the section headers');

  const headers = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return { nameOffset: u32(at), type: u32(at + 4), flags: u32(at + 8), addr: u32(at + 12), offset: u32(at + 16), size: u32(at + 20), link: u32(at + 24), info: u32(at + 28), align: u32(at + 32), entsize: u32(at + 36) };
  });
  const stringAt = (table: number, offset: number): string => {
    const h = headers[table];
    if (!h || h.type !== SHT_STRTAB) fail(`section ${table} is not a string table`);
    inFile(h!.offset, h!.size, 'a string table');
    if (offset >= h!.size) fail(`string offset ${offset} outside its table`);
    let end = h!.offset + offset;
    while (end < h!.offset + h!.size && bytes[end] !== 0) end++;
    return Buffer.from(bytes.subarray(h!.offset + offset, end)).toString('latin1');
  };

  const symtab = headers.findIndex((h) => h.type === SHT_SYMTAB);
  const symbols: ObjectSymbol[] = [];
  if (symtab >= 0) {
    const h = headers[symtab]!;
    inFile(h.offset, h.size, 'the symbol table');
    for (let at = h.offset; at + 16 <= h.offset + h.size; at += 16) {
      const info = u8(at + 12);
      symbols.push({ name: stringAt(h.link, u32(at)), value: u32(at + 4), size: u32(at + 8), bind: info >> 4, type: info & 15, section: u16(at + 14) });
    }
  }

  const relocationsFor = new Map<number, Relocation[]>();
  headers.forEach((h, i) => {
    if (h.type === SHT_REL) fail(`section ${i} has REL relocations; SPARC objects use RELA`);
    if (h.type !== SHT_RELA) return;
    inFile(h.offset, h.size, 'a relocation section');
    const list: Relocation[] = [];
    for (let at = h.offset; at + 12 <= h.offset + h.size; at += 12) {
      const info = u32(at + 4);
      const symbol = info >>> 8;
      if (symbol >= symbols.length) fail(`relocation at ${at} names symbol ${symbol}, past the symbol table`);
      list.push({ offset: u32(at), type: info & 0xff, symbol, addend: i32(at + 8) });
    }
    relocationsFor.set(h.info, list);
  });

  const sections = headers.map((h, index): ObjectSection => {
    if (h.type !== SHT_NOBITS && h.type !== 0) inFile(h.offset, h.size, `section ${index}`);
    const data = h.type === SHT_NOBITS || h.type === 0 ? new Uint8Array(0) : bytes.subarray(h.offset, h.offset + h.size);
    return { index, name: index === 0 ? '' : stringAt(shstrndx, h.nameOffset), type: h.type, flags: h.flags, address: h.addr, size: h.size, align: Math.max(1, h.align), data, relocations: relocationsFor.get(index) ?? [] };
  });
  for (const [target, list] of relocationsFor) {
    const section = sections[target];
    if (!section) fail(`relocations for missing section ${target}`);
    for (const r of list) if (r.offset + 4 > section!.size) fail(`relocation at ${r.offset} outside section ${section!.name}`);
  }
  return { file, littleEndian: le, machine, sections, symbols };
}
