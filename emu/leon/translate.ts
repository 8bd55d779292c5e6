/**
 * Basic-block translation for the SPARC core: a hot run of instructions becomes one JavaScript
 * function, specialised for the window it starts in (register indices are constants), the core's
 * byte order and its RAM bounds. The interpreter in cpu.ts stays the reference: a block covers
 * only the instructions below, ends before anything else, and exits through the same trap code.
 *
 * A block starts at a PC whose nPC is PC + 4, runs straight-line instructions, and ends after a
 * control transfer and its delay slot, at the page end, or after MAX_BLOCK instructions. It
 * returns the number of instructions it executed and leaves PC, nPC and icc in the core.
 */
import { annul, cond, decode, disp22, disp30, iBit, imm22, Kind, rd as rdField, rs1 as rs1Field, rs2 as rs2Field, simm13 } from './decode.js';
import { Trap } from './traps.js';

export const MAX_BLOCK = 64;

/** What generated code may call on the core. */
export interface BlockHost {
  pc: number;
  npc: number;
  icc: number;
  y: number;
  wim: number;
  /** Takes a trap for the instruction at pc with nPC npc. */
  trapAt(pc: number, npc: number, tt: number): void;
  setCwp(cwp: number): void;
  invalidate(addr: number): void;
  /** Loads outside the fast RAM window; sets `fault` (never clears it) on a bus error. */
  slowLoad(addr: number, size: 1 | 2 | 4): number;
  slowStore(addr: number, size: 1 | 2 | 4, value: number): void;
  fault: boolean;
}

export type BlockFn = (cpu: BlockHost, R: Int32Array, V: DataView, CP: Uint8Array, COND: Uint8Array, MULHI: (a: number, b: number, signed: boolean) => number) => number;

export interface Block {
  readonly fn: BlockFn;
  /** The most instructions one execution can run (for exact step budgets). */
  readonly length: number;
}

export interface TranslationContext {
  readonly littleEndian: boolean;
  readonly ramBase: number;
  readonly ramSize: number;
  readonly nwindows: number;
  /** Register index maps per window, for reading and for writing (%g0 writes go to a sink). */
  readonly readMaps: readonly Int32Array[];
  readonly writeMaps: readonly Int32Array[];
}

/** The kinds a block can hold; a control transfer also needs a simple delay-slot instruction. */
function simple(kind: Kind): boolean {
  switch (kind) {
    case Kind.ADD: case Kind.ADDCC: case Kind.ADDX: case Kind.ADDXCC:
    case Kind.SUB: case Kind.SUBCC: case Kind.SUBX: case Kind.SUBXCC:
    case Kind.AND: case Kind.ANDCC: case Kind.ANDN: case Kind.ANDNCC:
    case Kind.OR: case Kind.ORCC: case Kind.ORN: case Kind.ORNCC:
    case Kind.XOR: case Kind.XORCC: case Kind.XNOR: case Kind.XNORCC:
    case Kind.SLL: case Kind.SRL: case Kind.SRA: case Kind.SETHI:
    case Kind.UMUL: case Kind.UMULCC: case Kind.SMUL: case Kind.SMULCC:
    case Kind.RDY: case Kind.WRY:
    case Kind.LD: case Kind.LDUB: case Kind.LDSB: case Kind.LDUH: case Kind.LDSH: case Kind.LDD:
    case Kind.ST: case Kind.STB: case Kind.STH: case Kind.STD:
    case Kind.SAVE: case Kind.RESTORE:
      return true;
    default:
      return false;
  }
}

const isTransfer = (kind: Kind) => kind === Kind.BICC || kind === Kind.CALL || kind === Kind.JMPL;

/**
 * Translates the block at `pc` (a word index `k` into `words`) for window `cwp`, or returns
 * null when the first instruction is not one a block can start with.
 */
/**
 * Block functions by their source, shared by every core in the process. A block's source spells
 * out everything it depends on (addresses, window maps, endianness), so equal source is equal
 * behaviour; sharing the function keeps the optimized code V8 made for it, instead of every new
 * stick compiling and warming up the same blocks again. Bounded: cleared when full.
 */
const COMPILED = new Map<string, BlockFn>();
const MAX_COMPILED = 20_000;

export function translate(ctx: TranslationContext, words: Int32Array, k: number, pc: number, cwp: number): Block | null {
  const lines: string[] = ['let icc = cpu.icc;'];
  let count = 0;
  let window = cwp;
  const le = ctx.littleEndian ? 'true' : 'false';
  const exit = (nextPc: string, nextNpc: string, n: string) => `cpu.icc = icc; cpu.pc = ${nextPc}; cpu.npc = ${nextNpc}; return ${n};`;

  /** Code for one simple instruction at `at` (nPC `npcExpr`), the count so far `n`. */
  const emit = (w: number, kind: Kind, at: number, npcExpr: string, nextPcExpr: string, nextNpcExpr: string, n: number): string => {
    const R = (r: number) => (r === 0 ? '0' : `R[${ctx.readMaps[window]![r]}]`);
    const W = (r: number) => `R[${ctx.writeMaps[window]![r]}]`;
    const a = R(rs1Field(w));
    const b = iBit(w) ? String(simm13(w)) : R(rs2Field(w));
    const d = W(rdField(w));
    const trap = (tt: string) => `{ cpu.icc = icc; cpu.trapAt(${at | 0}, ${npcExpr}, ${tt}); return ${n + 1}; }`;
    const nz = (r: string) => `((${r} >>> 28) & 8) | (${r} === 0 ? 4 : 0)`;
    const addFlags = `${nz('r')} | ((((x & y & ~r) | (~x & ~y & r)) >>> 31) << 1) | (((x & y) | ((x | y) & ~r)) >>> 31)`;
    const subFlags = `${nz('r')} | ((((x & ~y & ~r) | (~x & y & r)) >>> 31) << 1) | (((~x & y) | ((~x | y) & r)) >>> 31)`;
    const logic = (expr: string) => `{ const r = ${expr}; icc = ${nz('r')}; ${d} = r; }`;
    // Loads and stores: alignment, then the fast RAM window, then the bus (after which the
    // block ends, since a device access may have raised an interrupt).
    const address = `const addr = (${a} + ${b}) | 0;`;
    const aligned = (size: number) => (size > 1 ? `if (addr & ${size - 1}) ${trap(String(Trap.MEM_ADDRESS_NOT_ALIGNED))}` : '');
    const inRam = `const off = (addr - ${ctx.ramBase}) >>> 0; if (off < ${ctx.ramSize})`;
    const leave = exit(nextPcExpr, nextNpcExpr, String(n + 1));
    const load = (size: 1 | 2 | 4, get: string, extend: (v: string) => string) =>
      `{ ${address} ${aligned(size)} ${inRam} { ${d} = ${extend(`V.${get}(off${size > 1 ? `, ${le}` : ''})`)}; } else { cpu.fault = false; const v = cpu.slowLoad(addr, ${size}); if (cpu.fault) ${trap(String(Trap.DATA_ACCESS_EXCEPTION))} ${d} = ${extend('v')}; ${leave} } }`;
    const codeCheck = `if (CP[addr >>> 15] & (1 << ((addr >>> 12) & 7))) { cpu.invalidate(addr); ${leave} }`;
    const store = (size: 1 | 2 | 4, set: string, value: string) =>
      `{ ${address} ${aligned(size)} ${inRam} { V.${set}(off, ${value}${size > 1 ? `, ${le}` : ''}); ${codeCheck} } else { cpu.fault = false; cpu.slowStore(addr, ${size}, ${value}); if (cpu.fault) ${trap(String(Trap.DATA_ACCESS_EXCEPTION))} ${leave} } }`;
    const rdNumber = rdField(w);

    switch (kind) {
      case Kind.ADD: return `${d} = (${a} + ${b}) | 0;`;
      case Kind.ADDCC: return `{ const x = ${a}, y = ${b}, r = (x + y) | 0; icc = ${addFlags}; ${d} = r; }`;
      case Kind.ADDX: return `${d} = (${a} + ${b} + (icc & 1)) | 0;`;
      case Kind.ADDXCC: return `{ const x = ${a}, y = ${b}, r = (x + y + (icc & 1)) | 0; icc = ${addFlags}; ${d} = r; }`;
      case Kind.SUB: return `${d} = (${a} - ${b}) | 0;`;
      case Kind.SUBCC: return `{ const x = ${a}, y = ${b}, r = (x - y) | 0; icc = ${subFlags}; ${d} = r; }`;
      case Kind.SUBX: return `${d} = (${a} - ${b} - (icc & 1)) | 0;`;
      case Kind.SUBXCC: return `{ const x = ${a}, y = ${b}, r = (x - y - (icc & 1)) | 0; icc = ${subFlags}; ${d} = r; }`;
      case Kind.AND: return `${d} = ${a} & ${b};`;
      case Kind.ANDCC: return logic(`${a} & ${b}`);
      case Kind.ANDN: return `${d} = ${a} & ~${b};`;
      case Kind.ANDNCC: return logic(`${a} & ~${b}`);
      case Kind.OR: return `${d} = ${a} | ${b};`;
      case Kind.ORCC: return logic(`${a} | ${b}`);
      case Kind.ORN: return `${d} = ${a} | ~${b};`;
      case Kind.ORNCC: return logic(`${a} | ~${b}`);
      case Kind.XOR: return `${d} = ${a} ^ ${b};`;
      case Kind.XORCC: return logic(`${a} ^ ${b}`);
      case Kind.XNOR: return `${d} = ~(${a} ^ ${b});`;
      case Kind.XNORCC: return logic(`~(${a} ^ ${b})`);
      case Kind.SLL: return `${d} = ${a} << (${b} & 31);`;
      case Kind.SRL: return `${d} = ${a} >>> (${b} & 31);`;
      case Kind.SRA: return `${d} = ${a} >> (${b} & 31);`;
      case Kind.SETHI: return `${d} = ${imm22(w) << 10};`;
      case Kind.UMUL: case Kind.UMULCC: case Kind.SMUL: case Kind.SMULCC: {
        const signed = kind === Kind.SMUL || kind === Kind.SMULCC;
        const cc = kind === Kind.UMULCC || kind === Kind.SMULCC ? `icc = ${nz('r')};` : '';
        return `{ const x = ${a}, y = ${b}, r = Math.imul(x, y); cpu.y = MULHI(x, y, ${signed}); ${cc} ${d} = r; }`;
      }
      case Kind.RDY: return `${d} = cpu.y;`;
      case Kind.WRY: return `cpu.y = ${a} ^ ${b};`;
      case Kind.LD: return load(4, 'getInt32', (v) => v);
      case Kind.LDUB: return load(1, 'getUint8', (v) => v);
      case Kind.LDSB: return load(1, 'getUint8', (v) => `((${v}) << 24) >> 24`);
      case Kind.LDUH: return load(2, 'getUint16', (v) => `(${v}) & 0xffff`);
      case Kind.LDSH: return load(2, 'getUint16', (v) => `((${v}) << 16) >> 16`);
      case Kind.ST: return store(4, 'setInt32', R(rdNumber));
      case Kind.STB: return store(1, 'setUint8', `${R(rdNumber)} & 0xff`);
      case Kind.STH: return store(2, 'setUint16', `${R(rdNumber)} & 0xffff`);
      case Kind.LDD:
        return `{ ${address} ${aligned(8)} ${inRam} { if (off + 8 <= ${ctx.ramSize}) { ${W(rdNumber)} = V.getInt32(off, ${le}); ${W(rdNumber + 1)} = V.getInt32(off + 4, ${le}); } else ${trap(String(Trap.DATA_ACCESS_EXCEPTION))} } else { cpu.fault = false; const hi = cpu.slowLoad(addr, 4), lo = cpu.slowLoad((addr + 4) | 0, 4); if (cpu.fault) ${trap(String(Trap.DATA_ACCESS_EXCEPTION))} ${W(rdNumber)} = hi; ${W(rdNumber + 1)} = lo; ${leave} } }`;
      case Kind.STD:
        return `{ ${address} ${aligned(8)} ${inRam} { if (off + 8 <= ${ctx.ramSize}) { V.setInt32(off, ${R(rdNumber)}, ${le}); V.setInt32(off + 4, ${R(rdNumber + 1)}, ${le}); ${codeCheck} } else ${trap(String(Trap.DATA_ACCESS_EXCEPTION))} } else { cpu.fault = false; cpu.slowStore(addr, 4, ${R(rdNumber)}); if (!cpu.fault) cpu.slowStore((addr + 4) | 0, 4, ${R(rdNumber + 1)}); if (cpu.fault) ${trap(String(Trap.DATA_ACCESS_EXCEPTION))} ${leave} } }`;
      case Kind.SAVE: case Kind.RESTORE: {
        const next = kind === Kind.SAVE ? (window + ctx.nwindows - 1) % ctx.nwindows : (window + 1) % ctx.nwindows;
        const tt = kind === Kind.SAVE ? Trap.WINDOW_OVERFLOW : Trap.WINDOW_UNDERFLOW;
        const sum = `(${a} + ${b}) | 0`; // read in the old window
        window = next;
        return `{ if ((cpu.wim >>> ${next}) & 1) ${trap(String(tt))} const s = ${sum}; cpu.setCwp(${next}); ${W(rdNumber)} = s; }`;
      }
      default:
        throw new Error(`kind ${kind} is not translatable`);
    }
  };

  let at = pc | 0;
  for (let i = k; i < words.length && count < MAX_BLOCK; i++, at = (at + 4) | 0) {
    const w = words[i]!;
    const kind = decode(w);
    if (simple(kind)) {
      // An instruction whose nPC is the next word: it falls through to at + 4.
      lines.push(emit(w, kind, at, String((at + 4) | 0), String((at + 4) | 0), String((at + 8) | 0), count));
      count++;
      continue;
    }
    if (!isTransfer(kind) || i + 1 >= words.length) break;
    const delay = words[i + 1]!;
    const delayKind = decode(delay);
    if (!simple(delayKind)) break;
    const delayAt = (at + 4) | 0;
    if (kind === Kind.BICC) {
      const c = cond(w);
      const target = (at + (disp22(w) << 2)) | 0;
      lines.push(`{ const taken = COND[${c * 16} + icc];`);
      if (annul(w)) {
        if (c === 8 && target === at) break; // `ba,a .`: the interpreter sees an idle loop
        if (c === 8) {
          lines.push(`${exit(String(target), String((target + 4) | 0), String(count + 1))} }`);
          count++;
          return finish(); // ba,a: the delay instruction is annulled
        }
        lines.push(`if (!taken) { ${exit(String((at + 8) | 0), String((at + 12) | 0), String(count + 1))} }`);
      }
      const nextPc = `(taken ? ${target} : ${(at + 8) | 0})`;
      const nextNpc = `(taken ? ${(target + 4) | 0} : ${(at + 12) | 0})`;
      // In the delay slot nPC is the branch target (taken) or the word after it.
      lines.push(emit(delay, delayKind, delayAt, nextPc, nextPc, nextNpc, count + 1));
      lines.push(`${exit(nextPc, nextNpc, String(count + 2))} }`);
    } else if (kind === Kind.CALL) {
      const target = (at + (disp30(w) << 2)) | 0;
      lines.push(`R[${ctx.writeMaps[window]![15]}] = ${at};`);
      lines.push(emit(delay, delayKind, delayAt, String(target), String(target), String((target + 4) | 0), count + 1));
      lines.push(exit(String(target), String((target + 4) | 0), String(count + 2)));
    } else {
      // JMPL: the target is known only at run time.
      const R = (r: number) => (r === 0 ? '0' : `R[${ctx.readMaps[window]![r]}]`);
      const b = iBit(w) ? String(simm13(w)) : R(rs2Field(w));
      lines.push(`{ const target = (${R(rs1Field(w))} + ${b}) | 0;`);
      lines.push(`if (target & 3) { cpu.icc = icc; cpu.trapAt(${at}, ${delayAt}, ${Trap.MEM_ADDRESS_NOT_ALIGNED}); return ${count + 1}; }`);
      lines.push(`R[${ctx.writeMaps[window]![rdField(w)]}] = ${at};`);
      lines.push(emit(delay, delayKind, delayAt, 'target', 'target', '((target + 4) | 0)', count + 1));
      lines.push(`${exit('target', '((target + 4) | 0)', String(count + 2))} }`);
    }
    count += 2;
    return finish();
  }
  if (count === 0) return null;
  lines.push(exit(String(at), String((at + 4) | 0), String(count)));
  return finish();

  function finish(): Block {
    const source = lines.join('\n');
    let fn = COMPILED.get(source);
    if (!fn) {
      if (COMPILED.size >= MAX_COMPILED) COMPILED.clear();
      fn = new Function('cpu', 'R', 'V', 'CP', 'COND', 'MULHI', source) as BlockFn;
      COMPILED.set(source, fn);
    }
    return { fn, length: count };
  }
}
