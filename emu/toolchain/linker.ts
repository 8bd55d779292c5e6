/**
 * A static linker for ELF32 SPARC relocatable objects, in either byte order, driven by a small
 * memory-layout description. There is no little-endian SPARC linker in Debian (GNU ld has no
 * elf32-sparc little-endian target, lld no 32-bit SPARC), so clang's sparcel objects come here.
 *
 * Relocations follow the SPARC psABI: R_SPARC_8/16/32, UA32, DISP8/16/32, WDISP30, WDISP22,
 * HI22, 22, 13, LO10.
 */
import {
  ObjectError,
  SHF_ALLOC,
  SHN_ABS,
  SHN_COMMON,
  SHN_UNDEF,
  SHT_NOBITS,
  STB_LOCAL,
  STB_WEAK,
  type ElfObject,
  type ObjectSection,
} from './elf-object.js';

export class LinkError extends Error {}

/**
 * The largest alignment a section (in an object, a common symbol or the layout) may ask for:
 * 1 MiB, more than anything on the Myriad needs (a CMX slice is 128 KiB, LEON MMU tables and
 * pages at most 256 KiB), and small enough that the padding it causes stays small. Past it, an
 * object's sh_addralign is damage, not intent: 0x80000000 turned a 700-byte object into a
 * 268 MB image.
 */
export const MAX_ALIGNMENT = 1 << 20;
/**
 * The most bytes an image may span, any one section or all of them together, contents or not:
 * the 512 MiB of DDR both sticks have, the largest memory a LEON program can be loaded into.
 */
export const MAX_IMAGE_BYTES = 512 << 20;
/** Every address, the end of a section included, must be below this. */
const ADDRESS_SPACE = 2 ** 32;

const hex = (n: number) => `0x${n.toString(16)}`;

/** Refuses an alignment that is not a power of two from 1 to MAX_ALIGNMENT. */
function checkAlignment(align: number, what: string): void {
  if (!Number.isInteger(align) || align < 1) throw new LinkError(`${what} asks for alignment ${align}, not a positive whole number`);
  if (align > MAX_ALIGNMENT) throw new LinkError(`${what} asks for alignment ${hex(align)}, more than the ${hex(MAX_ALIGNMENT)} a section may ask for`);
  if ((align & (align - 1)) !== 0) throw new LinkError(`${what} asks for alignment ${hex(align)}, which is not a power of two`);
}

/** Where the output sections go. Patterns match input section names: `*` is any run of characters. */
export interface Layout {
  readonly entry: string;
  readonly sections: readonly {
    readonly name: string;
    /** An address for this section; otherwise it follows the previous one. */
    readonly address?: number;
    readonly align?: number;
    readonly inputs: readonly string[];
  }[];
  /** Symbols the layout defines, e.g. the top of the stack. */
  readonly symbols?: Readonly<Record<string, number>>;
  /** The image may not go past this address (exclusive). */
  readonly limit?: number;
}

export interface OutputSection {
  readonly name: string;
  readonly address: number;
  readonly size: number;
  readonly nobits: boolean;
  /** Contents; empty for NOBITS. */
  readonly data: Uint8Array;
  readonly executable: boolean;
}

export interface LinkedImage {
  readonly littleEndian: boolean;
  readonly machine: number;
  readonly entry: number;
  readonly sections: readonly OutputSection[];
  /** Global symbols and the section start/end symbols, sorted by name. */
  readonly symbols: ReadonlyMap<string, number>;
}

interface Placed {
  readonly object: number;
  readonly section: ObjectSection;
  address: number;
}

const R = {
  NONE: 0, R8: 1, R16: 2, R32: 3, DISP8: 4, DISP16: 5, DISP32: 6, WDISP30: 7, WDISP22: 8,
  HI22: 9, R22: 10, R13: 11, LO10: 12, UA32: 23,
} as const;

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

const alignUp = (value: number, align: number) => Math.ceil(value / align) * align;

export function link(objects: readonly ElfObject[], layout: Layout): LinkedImage {
  if (objects.length === 0) throw new LinkError('nothing to link');
  const littleEndian = objects[0]!.littleEndian;
  const machine = objects[0]!.machine;
  for (const o of objects) {
    if (o.littleEndian !== littleEndian) throw new LinkError(`${o.file} is ${o.littleEndian ? 'little' : 'big'}-endian, ${objects[0]!.file} is not`);
    if (o.machine !== 2 && o.machine !== 18) throw new LinkError(`${o.file} is not a SPARC object (machine ${o.machine})`);
  }

  // ---- place input sections into output sections, in layout order
  const placed = new Map<string, Placed>(); // "object:section" -> placement
  const key = (object: number, section: number) => `${object}:${section}`;
  const outputs: { name: string; address: number; size: number; nobits: boolean; executable: boolean; parts: Placed[] }[] = [];
  let cursor = 0;
  const commons: { object: number; symbol: number; size: number; align: number }[] = [];
  objects.forEach((o, oi) =>
    o.symbols.forEach((s, si) => {
      if (s.section !== SHN_COMMON) return;
      const align = Math.max(1, s.value);
      checkAlignment(align, `${o.file}: common symbol ${s.name}`);
      commons.push({ object: oi, symbol: si, size: s.size, align });
    }),
  );
  for (const o of objects) {
    for (const s of o.sections) if (s.flags & SHF_ALLOC) checkAlignment(s.align, `${o.file}: section ${s.name}`);
  }
  // Placing is adding: every sum is checked to stay inside the 32-bit address space (a double
  // holds it exactly), before an address wraps or a buffer is sized from it.
  const place = (out: { name: string }, size: number, what: () => string) => {
    if (cursor + size >= ADDRESS_SPACE) throw new LinkError(`section ${out.name}: ${what()} (${size} bytes at ${hex(cursor)}) runs past the 32-bit address space`);
    const at = cursor;
    cursor += size;
    return at;
  };
  for (const spec of layout.sections) {
    const patterns = spec.inputs.map(glob);
    if (spec.address !== undefined && !(Number.isInteger(spec.address) && spec.address >= 0 && spec.address < ADDRESS_SPACE)) throw new LinkError(`the layout's section ${spec.name} is placed at ${spec.address}, not a 32-bit address`);
    checkAlignment(spec.align ?? 1, `the layout's section ${spec.name}`);
    cursor = alignUp(spec.address ?? cursor, spec.align ?? 1);
    if (cursor >= ADDRESS_SPACE) throw new LinkError(`section ${spec.name} starts past the 32-bit address space`);
    const out = { name: spec.name, address: cursor, size: 0, nobits: true, executable: false, parts: [] as Placed[] };
    for (const pattern of patterns) {
      objects.forEach((o, oi) =>
        o.sections.forEach((s) => {
          if (!(s.flags & SHF_ALLOC) || placed.has(key(oi, s.index)) || !pattern.test(s.name)) return;
          cursor = alignUp(cursor, s.align);
          const p: Placed = { object: oi, section: s, address: place(out, s.size, () => `${o.file}'s ${s.name}`) };
          placed.set(key(oi, s.index), p);
          out.parts.push(p);
          if (s.type !== SHT_NOBITS) out.nobits = false;
          if (s.flags & 0x4) out.executable = true;
        }),
      );
    }
    if (spec.inputs.includes('COMMON')) {
      for (const c of commons) {
        cursor = alignUp(cursor, c.align);
        const address = place(out, c.size, () => `${objects[c.object]!.file}'s common symbol ${objects[c.object]!.symbols[c.symbol]!.name}`);
        placed.set(`common:${c.object}:${c.symbol}`, { object: c.object, section: { index: -1, name: 'COMMON', type: SHT_NOBITS, flags: SHF_ALLOC, address: 0, size: c.size, align: c.align, data: new Uint8Array(0), relocations: [] }, address });
      }
    }
    out.size = cursor - out.address;
    if (out.size > MAX_IMAGE_BYTES) throw new LinkError(`section ${out.name} is ${out.size} bytes, more than the ${MAX_IMAGE_BYTES} an image may hold (the sticks' DDR)`);
    outputs.push(out);
  }
  const total = outputs.reduce((sum, out) => sum + out.size, 0);
  if (total > MAX_IMAGE_BYTES) throw new LinkError(`the sections hold ${total} bytes together, more than the ${MAX_IMAGE_BYTES} an image may hold (the sticks' DDR)`);
  for (const [oi, o] of objects.entries()) {
    for (const s of o.sections) {
      if (s.flags & SHF_ALLOC && s.size > 0 && !placed.has(key(oi, s.index))) throw new LinkError(`${o.file}: section ${s.name} matches no output section of the layout`);
    }
  }
  if (layout.limit !== undefined && cursor > layout.limit) throw new LinkError(`the image ends at 0x${cursor.toString(16)}, past the layout's limit 0x${layout.limit.toString(16)}`);

  // ---- symbols
  const globals = new Map<string, number>();
  const weak = new Set<string>();
  const define = (name: string, value: number, isWeak: boolean, where: string) => {
    if (globals.has(name)) {
      if (isWeak) return;
      if (!weak.has(name)) throw new LinkError(`${name} is defined twice (again in ${where})`);
    }
    globals.set(name, value >>> 0);
    if (isWeak) weak.add(name);
    else weak.delete(name);
  };
  for (const out of outputs) {
    const base = out.name.replace(/^\./, '').replace(/[^A-Za-z0-9_]/g, '_');
    define(`__${base}_start`, out.address, false, 'the layout');
    define(`__${base}_end`, out.address + out.size, false, 'the layout');
  }
  for (const [name, value] of Object.entries(layout.symbols ?? {})) define(name, value, false, 'the layout');
  const symbolValue = (oi: number, si: number): number | undefined => {
    const s = objects[oi]!.symbols[si]!;
    if (s.section === SHN_ABS) return s.value;
    if (s.section === SHN_COMMON) return placed.get(`common:${oi}:${si}`)!.address;
    if (s.section === SHN_UNDEF) return undefined;
    const p = placed.get(key(oi, s.section));
    return p ? p.address + s.value : undefined;
  };
  objects.forEach((o, oi) =>
    o.symbols.forEach((s, si) => {
      if (s.bind === STB_LOCAL || s.section === SHN_UNDEF || s.name === '') return;
      const value = symbolValue(oi, si);
      if (value !== undefined) define(s.name, value, s.bind === STB_WEAK, o.file);
    }),
  );

  // ---- contents and relocations
  const contents = new Map<Placed, Uint8Array>();
  for (const p of placed.values()) contents.set(p, p.section.type === SHT_NOBITS ? new Uint8Array(0) : Uint8Array.from(p.section.data));
  for (const [k, p] of placed) {
    if (k.startsWith('common:')) continue;
    const o = objects[p.object]!;
    const bytes = contents.get(p)!;
    const count = p.section.relocations.length;
    if (count > 0 && p.section.type === SHT_NOBITS) throw new LinkError(`${o.file}: section ${p.section.name} has no contents, yet ${count} relocation${count === 1 ? '' : 's'} to patch in it`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const r of p.section.relocations) {
      const sym = o.symbols[r.symbol]!;
      let S = symbolValue(p.object, r.symbol);
      if (S === undefined || (sym.bind !== STB_LOCAL && sym.section === SHN_UNDEF)) {
        S = globals.get(sym.name);
        if (S === undefined) {
          if (sym.bind === STB_WEAK) S = 0;
          else throw new LinkError(`${o.file}: undefined reference to ${sym.name} (from ${p.section.name}+0x${r.offset.toString(16)})`);
        }
      }
      const P = p.address + r.offset;
      apply(view, r.offset, r.type, S + r.addend, P, littleEndian, () => `${o.file}: ${p.section.name}+0x${r.offset.toString(16)} (${sym.name || 'section'})`);
    }
  }

  const sections: OutputSection[] = outputs
    .filter((out) => out.size > 0)
    .map((out) => {
      const data = new Uint8Array(out.nobits ? 0 : out.size);
      if (!out.nobits) for (const part of out.parts) data.set(contents.get(part)!, part.address - out.address);
      return { name: out.name, address: out.address, size: out.size, nobits: out.nobits, data, executable: out.executable };
    });
  const entry = globals.get(layout.entry);
  if (entry === undefined) throw new LinkError(`the entry symbol ${layout.entry} is not defined`);
  return { littleEndian, machine, entry, sections, symbols: new Map([...globals].sort(([a], [b]) => (a < b ? -1 : 1))) };
}

/** Patches one relocation (SPARC psABI, table "Relocation Types"). */
function apply(view: DataView, at: number, type: number, value: number, P: number, le: boolean, where: () => string): void {
  const word = () => view.getUint32(at, le);
  const put = (mask: number, field: number) => view.setUint32(at, ((word() & ~mask) | (field & mask)) >>> 0, le);
  const range = (ok: boolean, what: string) => {
    if (!ok) throw new LinkError(`${where()}: ${what} out of range`);
  };
  const v = value | 0;
  switch (type) {
    case R.NONE:
      return;
    case R.R8:
      range(v >= -128 && v <= 255, 'R_SPARC_8');
      return view.setUint8(at, v & 0xff);
    case R.R16:
      range(v >= -32768 && v <= 65535, 'R_SPARC_16');
      return view.setUint16(at, v & 0xffff, le);
    case R.R32:
    case R.UA32:
      return view.setUint32(at, v >>> 0, le);
    case R.DISP8:
      return view.setUint8(at, (v - P) & 0xff);
    case R.DISP16:
      return view.setUint16(at, (v - P) & 0xffff, le);
    case R.DISP32:
      return view.setUint32(at, (v - P) >>> 0, le);
    case R.WDISP30:
      return put(0x3fffffff, (v - P) >> 2);
    case R.WDISP22: {
      const d = (v - P) >> 2;
      range(d >= -(1 << 21) && d < 1 << 21, 'R_SPARC_WDISP22');
      return put(0x3fffff, d);
    }
    case R.HI22:
      return put(0x3fffff, v >>> 10);
    case R.R22:
      range(v >= -(1 << 21) && v < 1 << 22, 'R_SPARC_22');
      return put(0x3fffff, v);
    case R.R13:
      range(v >= -4096 && v < 4096, 'R_SPARC_13');
      return put(0x1fff, v);
    case R.LO10:
      return put(0x1fff, v & 0x3ff);
    default:
      throw new LinkError(`${where()}: relocation type ${type} is not supported`);
  }
}

export { ObjectError };
