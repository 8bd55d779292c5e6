/**
 * Reading 32-bit ELF executables (System V gABI): the header and the loadable segments, in
 * either byte order. Every offset and size is checked against the file before it is used.
 */

export const EM_SPARC = 2;
export const EM_SPARC32PLUS = 18;

export interface ElfSegment {
  readonly vaddr: number;
  /** The bytes from the file; the rest up to memsz is zero. */
  readonly data: Uint8Array;
  readonly memsz: number;
  readonly flags: number;
}

export interface ElfImage {
  readonly littleEndian: boolean;
  readonly machine: number;
  readonly type: number;
  readonly entry: number;
  readonly segments: readonly ElfSegment[];
}

export class ElfError extends Error {}

const PT_LOAD = 1;

export function parseElf32(file: Uint8Array): ElfImage {
  if (file.length < 52 || file[0] !== 0x7f || file[1] !== 0x45 || file[2] !== 0x4c || file[3] !== 0x46) throw new ElfError('not an ELF file (bad magic)');
  if (file[4] !== 1) throw new ElfError(`not a 32-bit ELF file (class ${file[4]})`);
  if (file[5] !== 1 && file[5] !== 2) throw new ElfError(`unknown ELF data encoding ${file[5]}`);
  const le = file[5] === 1;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const u16 = (at: number) => view.getUint16(at, le);
  const u32 = (at: number) => view.getUint32(at, le);
  const type = u16(16);
  const machine = u16(18);
  const entry = u32(24);
  const phoff = u32(28);
  const phentsize = u16(42);
  const phnum = u16(44);
  if (phnum > 0 && phentsize < 32) throw new ElfError(`program header entries of ${phentsize} bytes are too small`);
  if (phoff + phnum * phentsize > file.length) throw new ElfError(`program headers (${phnum} at offset ${phoff}) run past the end of the file`);
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (u32(at) !== PT_LOAD) continue;
    const offset = u32(at + 4);
    const vaddr = u32(at + 8);
    const filesz = u32(at + 16);
    const memsz = u32(at + 20);
    const flags = u32(at + 24);
    if (offset + filesz > file.length) throw new ElfError(`segment ${i} (${filesz} bytes at offset ${offset}) runs past the end of the file`);
    if (memsz < filesz) throw new ElfError(`segment ${i} has memsz ${memsz} < filesz ${filesz}`);
    if (vaddr + memsz > 0x1_0000_0000) throw new ElfError(`segment ${i} runs past the 32-bit address space`);
    segments.push({ vaddr, data: file.subarray(offset, offset + filesz), memsz, flags });
  }
  if (segments.length === 0) throw new ElfError('no loadable segment');
  return { littleEndian: le, machine, type, entry, segments };
}
