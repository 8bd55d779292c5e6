/**
 * SPARC V8 instruction decoding (The SPARC Architecture Manual, Version 8, chapter 5 and
 * appendix F). Every instruction word maps to one `Kind`; the tables below are the manual's
 * opcode maps written as data, so they can be checked line by line.
 */

export const enum Kind {
  ILLEGAL,
  UNIMP,
  // format 2
  SETHI,
  BICC,
  FBFCC,
  CBCCC,
  // format 1
  CALL,
  // arithmetic and logic (op = 2)
  ADD, ADDCC, ADDX, ADDXCC, SUB, SUBCC, SUBX, SUBXCC,
  AND, ANDCC, ANDN, ANDNCC, OR, ORCC, ORN, ORNCC, XOR, XORCC, XNOR, XNORCC,
  SLL, SRL, SRA,
  UMUL, UMULCC, SMUL, SMULCC, UDIV, UDIVCC, SDIV, SDIVCC, MULSCC,
  TADDCC, TSUBCC, TADDCCTV, TSUBCCTV,
  // state registers
  RDY, RDASR, STBAR, RDPSR, RDWIM, RDTBR, WRY, WRASR, WRPSR, WRWIM, WRTBR,
  // control transfer
  JMPL, RETT, TICC, SAVE, RESTORE, FLUSH,
  // floating point and coprocessor operate
  FPOP1, FPOP2, CPOP,
  // memory (op = 3)
  LD, LDUB, LDUH, LDD, ST, STB, STH, STD, LDSB, LDSH, LDSTUB, SWAP,
  LDA, LDUBA, LDUHA, LDDA, STA, STBA, STHA, STDA, LDSBA, LDSHA, LDSTUBA, SWAPA, CASA,
  LDF, LDFSR, LDDF, STF, STFSR, STDFQ, STDF,
  CPMEM,
}

/** op = 2, by op3 (manual table F-5). */
const ARITH: Readonly<Record<number, Kind>> = {
  0x00: Kind.ADD, 0x01: Kind.AND, 0x02: Kind.OR, 0x03: Kind.XOR,
  0x04: Kind.SUB, 0x05: Kind.ANDN, 0x06: Kind.ORN, 0x07: Kind.XNOR,
  0x08: Kind.ADDX, 0x0a: Kind.UMUL, 0x0b: Kind.SMUL, 0x0c: Kind.SUBX, 0x0e: Kind.UDIV, 0x0f: Kind.SDIV,
  0x10: Kind.ADDCC, 0x11: Kind.ANDCC, 0x12: Kind.ORCC, 0x13: Kind.XORCC,
  0x14: Kind.SUBCC, 0x15: Kind.ANDNCC, 0x16: Kind.ORNCC, 0x17: Kind.XNORCC,
  0x18: Kind.ADDXCC, 0x1a: Kind.UMULCC, 0x1b: Kind.SMULCC, 0x1c: Kind.SUBXCC, 0x1e: Kind.UDIVCC, 0x1f: Kind.SDIVCC,
  0x20: Kind.TADDCC, 0x21: Kind.TSUBCC, 0x22: Kind.TADDCCTV, 0x23: Kind.TSUBCCTV,
  0x24: Kind.MULSCC, 0x25: Kind.SLL, 0x26: Kind.SRL, 0x27: Kind.SRA,
  0x28: Kind.RDY, // RDY, RDASR or STBAR by rs1/rd, see decode()
  0x29: Kind.RDPSR, 0x2a: Kind.RDWIM, 0x2b: Kind.RDTBR,
  0x30: Kind.WRY, // WRY or WRASR by rd
  0x31: Kind.WRPSR, 0x32: Kind.WRWIM, 0x33: Kind.WRTBR,
  0x34: Kind.FPOP1, 0x35: Kind.FPOP2, 0x36: Kind.CPOP, 0x37: Kind.CPOP,
  0x38: Kind.JMPL, 0x39: Kind.RETT, 0x3a: Kind.TICC, 0x3b: Kind.FLUSH,
  0x3c: Kind.SAVE, 0x3d: Kind.RESTORE,
};

/** op = 3, by op3 (manual table F-6; CASA is LEON's). */
const MEMORY: Readonly<Record<number, Kind>> = {
  0x00: Kind.LD, 0x01: Kind.LDUB, 0x02: Kind.LDUH, 0x03: Kind.LDD,
  0x04: Kind.ST, 0x05: Kind.STB, 0x06: Kind.STH, 0x07: Kind.STD,
  0x09: Kind.LDSB, 0x0a: Kind.LDSH, 0x0d: Kind.LDSTUB, 0x0f: Kind.SWAP,
  0x10: Kind.LDA, 0x11: Kind.LDUBA, 0x12: Kind.LDUHA, 0x13: Kind.LDDA,
  0x14: Kind.STA, 0x15: Kind.STBA, 0x16: Kind.STHA, 0x17: Kind.STDA,
  0x19: Kind.LDSBA, 0x1a: Kind.LDSHA, 0x1d: Kind.LDSTUBA, 0x1f: Kind.SWAPA,
  0x20: Kind.LDF, 0x21: Kind.LDFSR, 0x23: Kind.LDDF,
  0x24: Kind.STF, 0x25: Kind.STFSR, 0x26: Kind.STDFQ, 0x27: Kind.STDF,
  0x30: Kind.CPMEM, 0x31: Kind.CPMEM, 0x33: Kind.CPMEM, 0x34: Kind.CPMEM, 0x35: Kind.CPMEM, 0x36: Kind.CPMEM, 0x37: Kind.CPMEM,
  0x3c: Kind.CASA,
};

/** op = 0, by op2 (manual table F-1). */
const FORMAT2: Readonly<Record<number, Kind>> = {
  0: Kind.UNIMP, 2: Kind.BICC, 4: Kind.SETHI, 6: Kind.FBFCC, 7: Kind.CBCCC,
};

export function decode(word: number): Kind {
  const op = word >>> 30;
  if (op === 1) return Kind.CALL;
  if (op === 0) return FORMAT2[(word >>> 22) & 7] ?? Kind.ILLEGAL;
  const op3 = (word >>> 19) & 0x3f;
  if (op === 3) return MEMORY[op3] ?? Kind.ILLEGAL;
  const kind = ARITH[op3] ?? Kind.ILLEGAL;
  if (kind === Kind.RDY) {
    const rs1 = (word >>> 14) & 31;
    if (rs1 === 0) return Kind.RDY;
    if (rs1 === 15 && rd(word) === 0) return Kind.STBAR;
    return Kind.RDASR;
  }
  if (kind === Kind.WRY) return rd(word) === 0 ? Kind.WRY : Kind.WRASR;
  return kind;
}

// Field extraction, named as in the manual.
export const rd = (w: number): number => (w >>> 25) & 31;
export const rs1 = (w: number): number => (w >>> 14) & 31;
export const rs2 = (w: number): number => w & 31;
export const iBit = (w: number): number => (w >>> 13) & 1;
export const simm13 = (w: number): number => (w << 19) >> 19;
export const asi = (w: number): number => (w >>> 5) & 0xff;
export const opf = (w: number): number => (w >>> 5) & 0x1ff;
export const cond = (w: number): number => (w >>> 25) & 15;
export const annul = (w: number): number => (w >>> 29) & 1;
export const disp22 = (w: number): number => (w << 10) >> 10;
export const disp30 = (w: number): number => (w << 2) >> 2;
export const imm22 = (w: number): number => w & 0x3fffff;
