/**
 * Hand encoding of the few SPARC V8 instructions the little test programs need, straight from
 * the manual's formats (chapter 5), and a minimal ELF32 writer for them.
 */
const f3 = (op: number, rd: number, op3: number, rs1: number, simm13: number) => ((op << 30) | (rd << 25) | (op3 << 19) | (rs1 << 14) | (1 << 13) | (simm13 & 0x1fff)) >>> 0;
const f3r = (op: number, rd: number, op3: number, rs1: number, rs2: number) => ((op << 30) | (rd << 25) | (op3 << 19) | (rs1 << 14) | rs2) >>> 0;

export const G0 = 0, G1 = 1, G2 = 2, G3 = 3, O0 = 8, L0 = 16;
export const nop = () => 0x01000000;
export const sethi = (value: number, rd: number) => ((rd << 25) | (4 << 22) | (value >>> 10)) >>> 0;
export const orImm = (rs1: number, imm: number, rd: number) => f3(2, rd, 0x02, rs1, imm);
export const addImm = (rs1: number, imm: number, rd: number) => f3(2, rd, 0x00, rs1, imm);
export const subccImm = (rs1: number, imm: number, rd: number) => f3(2, rd, 0x14, rs1, imm);
export const andnImm = (rs1: number, imm: number, rd: number) => f3(2, rd, 0x05, rs1, imm);
export const st = (rd: number, rs1: number, imm: number) => f3(3, rd, 0x04, rs1, imm);
export const ld = (rs1: number, imm: number, rd: number) => f3(3, rd, 0x00, rs1, imm);
export const ldub = (rs1: number, imm: number, rd: number) => f3(3, rd, 0x01, rs1, imm);
export const rdpsr = (rd: number) => f3r(2, rd, 0x29, 0, 0);
export const wrpsr = (rs1: number) => f3r(2, 0, 0x31, rs1, 0);
export const wrAsr19 = () => f3r(2, 19, 0x30, 0, 0);
export const jmpl = (rs1: number, imm: number, rd: number) => f3(2, rd, 0x38, rs1, imm);
export const ta = (n: number) => f3(2, 8, 0x3a, 0, n);
/** Bicc with cond (8 = always, 9 = ne) and a word displacement. */
export const b = (cond: number, words: number, annul = false) => (((annul ? 1 : 0) << 29) | (cond << 25) | (2 << 22) | (words & 0x3fffff)) >>> 0;
/** set value, rd (sethi + or). */
export const set = (value: number, rd: number) => [sethi(value, rd), orImm(rd, value & 0x3ff, rd)];

/** Prints `text` on the leon3 UART at 0x80000100 (clobbers %g1, %g2). */
export function print(text: string): number[] {
  const code = set(0x80000100, G1);
  for (const ch of Buffer.from(text, 'latin1')) code.push(orImm(G0, ch, G2), st(G2, G1, 0));
  return code;
}

/** Clears ET and executes ta 0: how programs end under QEMU. */
export const exit = () => [rdpsr(G3), andnImm(G3, 0x20, G3), wrpsr(G3), nop(), nop(), nop(), ta(0), nop()];

/** A minimal executable ELF32 for SPARC with one segment at `base`. */
export function elf(words: readonly number[], options: { base?: number; littleEndian?: boolean } = {}): Uint8Array {
  const base = options.base ?? 0x40000000;
  const le = options.littleEndian ?? false;
  const headerSize = 52 + 32;
  const file = new Uint8Array(headerSize + words.length * 4);
  const v = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, 1, le ? 1 : 2, 1]);
  v.setUint16(16, 2, le); // ET_EXEC
  v.setUint16(18, 2, le); // EM_SPARC
  v.setUint32(20, 1, le);
  v.setUint32(24, base, le); // entry
  v.setUint32(28, 52, le); // phoff
  v.setUint16(40, 52, le);
  v.setUint16(42, 32, le);
  v.setUint16(44, 1, le);
  v.setUint32(52, 1, le); // PT_LOAD
  v.setUint32(56, headerSize, le);
  v.setUint32(60, base, le);
  v.setUint32(64, base, le);
  v.setUint32(68, words.length * 4, le);
  v.setUint32(72, words.length * 4 + 64, le);
  v.setUint32(76, 7, le);
  words.forEach((w, i) => v.setUint32(headerSize + i * 4, w, le));
  return file;
}
