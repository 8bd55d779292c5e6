/**
 * The SPARC V8 integer unit of a LEON core (The SPARC Architecture Manual, Version 8).
 *
 * State lives in typed arrays; instructions are decoded once per 4 KiB page of RAM and the
 * decoded page is dropped when the page is written. `run` executes up to a number of
 * instructions and returns; traps, interrupts and error mode are handled as chapter 7 orders
 * them. Both byte orders: big-endian (GRLIB LEON, QEMU leon3_generic) and little-endian
 * (Myriad), for instructions and data alike.
 */
import { annul, cond, decode, disp22, disp30, imm22, iBit, Kind, opf as opfField, rd as rdField, rs1 as rs1Field, rs2 as rs2Field, simm13, asi as asiField } from './decode.js';
import { Trap, trapName } from './traps.js';
import { translate, type Block, type BlockHost } from './translate.js';
import * as fpu from './fpu.js';

/** What the core reaches outside its RAM windows (device registers, ROM). */
export interface SparcBus {
  /** Returns the value as the core sees it (in its byte order), unsigned; -1 for a bus error. */
  read(addr: number, size: 1 | 2 | 4): number;
  /** Returns false for a bus error. */
  write(addr: number, size: 1 | 2 | 4, value: number): boolean;
}

/** RAM the core reads and writes directly. */
export interface RamWindow {
  readonly base: number;
  readonly size: number;
  readonly bytes: Uint8Array;
}

export interface SparcConfig {
  readonly nwindows?: number;
  readonly littleEndian: boolean;
  /** PSR impl and ver (bits 31:24); LEON3 is 0xF3. */
  readonly implVer?: number;
  /** What RDASR %asr17 returns (LEON configuration register). */
  readonly asr17: number;
  readonly ram: readonly RamWindow[];
  readonly bus: SparcBus;
  /** The core took interrupt `level` (the interrupt controller clears its pending bit). */
  readonly acknowledge?: (level: number) => void;
  /** Translate hot blocks into JavaScript (default); false runs the interpreter only. */
  readonly translate?: boolean;
  /** An FPU (GRFPU) is present (default): PSR.EF can be set and FP instructions run. */
  readonly fpu?: boolean;
}

/** FSR fields (manual 4.4). */
const FSR_RD_SHIFT = 30;
const FSR_TEM_SHIFT = 23;
const FSR_FTT_SHIFT = 14;
const FSR_FTT = 7 << FSR_FTT_SHIFT;
const FSR_FCC_SHIFT = 10;
const FSR_AEXC_SHIFT = 5;
/** What LDFSR may change: RD, TEM, NS, fcc, aexc, cexc (not ver, ftt, qne). */
const FSR_LOADABLE = 0xcfc00fff;
/** ftt values. */
const FTT_IEEE_754_EXCEPTION = 1;
const FTT_UNIMPLEMENTED_FPOP = 3;
const FTT_SEQUENCE_ERROR = 4;

/** FBfcc: does condition c hold for fcc (0 =, 1 <, 2 >, 3 unordered)? Manual table F-7. */
const FCC_CONDITION = new Uint8Array(64);
{
  const sets = [[], [1, 2, 3], [1, 2], [1, 3], [1], [2, 3], [2], [3], [0, 1, 2, 3], [0], [0, 3], [0, 2], [0, 2, 3], [0, 1], [0, 1, 3], [0, 1, 2]];
  sets.forEach((set, c) => set.forEach((fcc) => (FCC_CONDITION[c * 4 + fcc] = 1)));
}

/**
 * Why the core is not running: error mode; power-down (wr %asr19); an idle loop (a `ba,a` to
 * itself, which can only end by an interrupt); or a stop address reached (see `stopAt`).
 */
export type HaltReason = 'error-mode' | 'power-down' | 'idle-loop' | 'stopped' | null;

/** All the state of a core, for machine snapshots. */
export interface SparcState {
  readonly regs: number[];
  readonly f: number[];
  readonly asr: number[];
  readonly pc: number;
  readonly npc: number;
  readonly y: number;
  readonly psr: number;
  readonly wim: number;
  readonly tba: number;
  readonly tt: number;
  readonly fsr: number;
  readonly irl: number;
  readonly halted: HaltReason;
  readonly errorTrap: number;
  readonly instructions: number;
  readonly stopAt: number;
}

const PAGE_SHIFT = 12;
const PAGE_WORDS = 1 << (PAGE_SHIFT - 2);
const EMPTY_WORDS = new Int32Array(PAGE_WORDS);
const EMPTY_KINDS = new Uint8Array(PAGE_WORDS);

interface CodePage {
  readonly words: Int32Array;
  readonly kinds: Uint8Array;
  /** Visits of each word as a block start by the interpreter, up to HOT. */
  readonly heat: Uint8Array;
  /** Translated blocks by (word index << 5 | CWP); NO_BLOCK where none can start. */
  readonly blocks: Map<number, Block>;
}

/** Interpreted visits after which a block is translated. */
const HOT = 16;
const NO_BLOCK: Block = { fn: () => 0, length: Infinity };

/** The manual's icc test for Bicc and Ticc (table F-7), on N, Z, V, C. */
function testIcc(c: number, n: number, z: number, v: number, carry: number): boolean {
  switch (c) {
    case 0x8: return true; // a
    case 0x0: return false; // n
    case 0x9: return z === 0; // ne
    case 0x1: return z === 1; // e
    case 0xa: return (z | (n ^ v)) === 0; // g
    case 0x2: return (z | (n ^ v)) === 1; // le
    case 0xb: return (n ^ v) === 0; // ge
    case 0x3: return (n ^ v) === 1; // l
    case 0xc: return (carry | z) === 0; // gu
    case 0x4: return (carry | z) === 1; // leu
    case 0xd: return carry === 0; // cc
    case 0x5: return carry === 1; // cs
    case 0xe: return n === 0; // pos
    case 0x6: return n === 1; // neg
    case 0xf: return v === 0; // vc
    default: return v === 1; // 0x7 vs
  }
}

/** testIcc for every condition and icc nibble (N=8, Z=4, V=2, C=1): index cond * 16 + icc. */
const CONDITION = new Uint8Array(256);
for (let c = 0; c < 16; c++) {
  for (let icc = 0; icc < 16; icc++) CONDITION[c * 16 + icc] = testIcc(c, (icc >> 3) & 1, (icc >> 2) & 1, (icc >> 1) & 1, icc & 1) ? 1 : 0;
}

export class SparcV8 implements BlockHost {
  readonly nwindows: number;
  readonly littleEndian: boolean;
  /** Globals at 0..7, then the windows (16 registers each), then a sink for writes to %g0. */
  readonly regs: Int32Array;
  private readonly sink: number;
  /** Register number -> index in `regs`, for reading and for writing, per CWP. */
  readonly readMaps: Int32Array[];
  readonly writeMaps: Int32Array[];
  private rmap: Int32Array;
  private wmap: Int32Array;

  pc = 0;
  npc = 4;
  y = 0;
  // PSR, kept in fields.
  private implVer: number;
  /** The integer condition codes as a nibble: N=8, Z=4, V=2, C=1. */
  icc = 0;
  ef = 0;
  pil = 0;
  s = 1;
  ps = 0;
  et = 0;
  cwp = 0;
  wim = 0;
  /** TBR: trap base address (bits 31:12) and tt (bits 11:4). */
  tba = 0;
  tt = 0;
  readonly asr = new Int32Array(32);
  /** The FP registers %f0-%f31; a double is an even/odd pair, the even one holding the high word. */
  readonly f = new Uint32Array(32);
  fsr = 0;
  readonly hasFpu: boolean;

  private level = 0;
  private haltReason: HaltReason = null;
  /** Non-zero while an interrupt is requested or the core is halted: one test per instruction. */
  private attention = 0;
  /** The trap that put the core in error mode. */
  errorTrap = 0;
  /**
   * An address the core stops at (halted = 'stopped') instead of fetching from it, or -1. It is
   * checked when execution moves to another page, so put it where no code runs.
   */
  stopAt = -1;
  instructions = 0;

  private readonly ram: readonly RamWindow[];
  private readonly views: DataView[];
  private readonly bus: SparcBus;
  private readonly acknowledge: (level: number) => void;
  private readonly pages = new Map<number, CodePage>();
  /** Counts dropped pages, so the run loop knows when its current page may be stale. */
  private invalidations = 0;
  /** The page the last fetch came from (most fetches hit it). */
  private lastPageNumber = -1;
  private lastPage: CodePage | null = null;
  /** One bit per 4 KiB page: set while the page has decoded code. */
  private readonly codePages = new Uint8Array(1 << (32 - PAGE_SHIFT - 3));

  constructor(config: SparcConfig) {
    this.nwindows = config.nwindows ?? 8;
    if (this.nwindows < 2 || this.nwindows > 32) throw new RangeError('NWINDOWS must be 2..32');
    this.littleEndian = config.littleEndian;
    this.implVer = config.implVer ?? 0xf3;
    this.asr[17] = config.asr17;
    this.ram = config.ram;
    this.views = config.ram.map((w) => new DataView(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength));
    this.bus = config.bus;
    this.acknowledge = config.acknowledge ?? (() => {});
    this.translating = config.translate ?? true;
    this.hasFpu = config.fpu ?? true;
    for (const w of config.ram) {
      // The fast paths rely on it: an aligned access inside a window never runs off its end.
      if (w.base % 8 !== 0 || w.size % 8 !== 0) throw new RangeError('RAM windows must start and end on 8-byte boundaries');
    }
    this.regs = new Int32Array(8 + this.nwindows * 16 + 1);
    this.sink = this.regs.length - 1;
    this.readMaps = [];
    this.writeMaps = [];
    for (let w = 0; w < this.nwindows; w++) {
      const map = new Int32Array(32);
      for (let r = 0; r < 32; r++) {
        if (r < 8) map[r] = r;
        else if (r < 24) map[r] = 8 + w * 16 + (r - 8);
        else map[r] = 8 + ((w + 1) % this.nwindows) * 16 + (r - 24);
      }
      this.readMaps.push(map);
      const write = map.slice();
      write[0] = this.sink;
      this.writeMaps.push(write);
    }
    this.rmap = this.readMaps[0]!;
    this.wmap = this.writeMaps[0]!;
  }

  /** The interrupt level requested by the interrupt controller (0 = none). */
  get irl(): number {
    return this.level;
  }

  set irl(level: number) {
    this.level = level;
    this.attention = level | (this.haltReason !== null ? 16 : 0);
  }

  get halted(): HaltReason {
    return this.haltReason;
  }

  set halted(reason: HaltReason) {
    this.haltReason = reason;
    this.attention = this.level | (reason !== null ? 16 : 0);
  }

  // ---- architectural registers

  get psr(): number {
    return (
      ((this.implVer << 24) | (this.icc << 20) | (this.ef << 12) | (this.pil << 8) | (this.s << 7) | (this.ps << 6) | (this.et << 5) | this.cwp) >>> 0
    );
  }

  set psr(value: number) {
    this.icc = (value >>> 20) & 15;
    this.ef = this.hasFpu ? (value >>> 12) & 1 : 0; // without an FPU, EF stays 0
    this.pil = (value >>> 8) & 15;
    this.s = (value >>> 7) & 1;
    this.ps = (value >>> 6) & 1;
    this.et = (value >>> 5) & 1;
    this.setCwp(value & 31);
  }

  get tbr(): number {
    return (this.tba | (this.tt << 4)) >>> 0;
  }

  /** Register r (0..31) of the current window. */
  reg(r: number): number {
    return this.regs[this.rmap[r]!]!;
  }

  setReg(r: number, value: number): void {
    this.regs[this.wmap[r]!] = value;
  }

  setCwp(cwp: number): void {
    this.cwp = cwp;
    this.rmap = this.readMaps[cwp]!;
    this.wmap = this.writeMaps[cwp]!;
  }

  /** Power-on reset (manual 7.7): supervisor, traps disabled, PC 0. */
  reset(pc = 0): void {
    this.regs.fill(0);
    this.y = 0;
    this.icc = 0;
    this.ef = 0;
    this.f.fill(0);
    this.fsr = 0;
    this.pil = 0;
    this.s = 1;
    this.ps = 0;
    this.et = 0;
    this.setCwp(0);
    this.wim = 0;
    this.tba = 0;
    this.tt = 0;
    this.pc = pc;
    this.npc = pc + 4;
    this.halted = null;
    this.errorTrap = 0;
    this.irl = 0;
    this.instructions = 0;
  }

  snapshot(): SparcState {
    return {
      regs: Array.from(this.regs),
      f: Array.from(this.f),
      asr: Array.from(this.asr),
      pc: this.pc,
      npc: this.npc,
      y: this.y,
      psr: this.psr,
      wim: this.wim,
      tba: this.tba,
      tt: this.tt,
      fsr: this.fsr,
      irl: this.irl,
      halted: this.halted,
      errorTrap: this.errorTrap,
      instructions: this.instructions,
      stopAt: this.stopAt,
    };
  }

  restore(state: SparcState): void {
    this.regs.set(state.regs);
    this.f.set(state.f);
    this.asr.set(state.asr);
    this.pc = state.pc;
    this.npc = state.npc;
    this.y = state.y;
    this.psr = state.psr;
    this.wim = state.wim;
    this.tba = state.tba;
    this.tt = state.tt;
    this.fsr = state.fsr;
    this.irl = state.irl;
    this.halted = state.halted;
    this.errorTrap = state.errorTrap;
    this.instructions = state.instructions;
    this.stopAt = state.stopAt;
    this.pages.clear();
    this.codePages.fill(0);
    this.lastPageNumber = -1;
    this.lastPage = null;
  }

  // ---- memory

  /** Index of the RAM window holding [addr, addr + size), or -1. */
  private window(addr: number, size: number): number {
    const ram = this.ram;
    for (let i = 0; i < ram.length; i++) {
      const w = ram[i]!;
      const off = (addr - w.base) >>> 0;
      if (off < w.size && off + size <= w.size) return i;
    }
    return -1;
  }

  /** A bus error on the last data access. */
  fault = false;
  private readonly translating: boolean;

  private load(addr: number, size: 1 | 2 | 4): number {
    const i = this.window(addr, size);
    if (i >= 0) {
      const view = this.views[i]!;
      const off = (addr - this.ram[i]!.base) >>> 0;
      return size === 4 ? view.getInt32(off, this.littleEndian) : size === 2 ? view.getUint16(off, this.littleEndian) : view.getUint8(off);
    }
    const value = this.bus.read(addr >>> 0, size);
    if (value < 0) {
      this.fault = true;
      return 0;
    }
    return value | 0;
  }

  private store(addr: number, size: 1 | 2 | 4, value: number): void {
    const i = this.window(addr, size);
    if (i >= 0) {
      const view = this.views[i]!;
      const off = (addr - this.ram[i]!.base) >>> 0;
      if (size === 4) view.setInt32(off, value, this.littleEndian);
      else if (size === 2) view.setUint16(off, value & 0xffff, this.littleEndian);
      else view.setUint8(off, value & 0xff);
      if (this.codePages[addr >>> (PAGE_SHIFT + 3)]! & (1 << ((addr >>> PAGE_SHIFT) & 7))) this.invalidate(addr);
      return;
    }
    if (!this.bus.write(addr >>> 0, size, size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff))) this.fault = true;
  }

  /** Drops the decoded copy of the page holding addr (a store or FLUSH touched it). */
  invalidate(addr: number): void {
    this.invalidations++;
    const page = addr >>> PAGE_SHIFT;
    this.pages.delete(page);
    if (page === this.lastPageNumber) {
      this.lastPageNumber = -1;
      this.lastPage = null;
    }
    this.codePages[page >>> 3]! &= ~(1 << (page & 7));
  }

  /** The decoded page holding pc, or null when pc is not in RAM (fetched through the bus). */
  private codePage(pc: number): CodePage | null {
    const page = pc >>> PAGE_SHIFT;
    if (page === this.lastPageNumber) return this.lastPage;
    const cached = this.pages.get(page);
    if (cached) {
      this.lastPageNumber = page;
      this.lastPage = cached;
      return cached;
    }
    const base = (page << PAGE_SHIFT) >>> 0;
    const i = this.window(base, 1 << PAGE_SHIFT);
    if (i < 0) return null;
    const view = this.views[i]!;
    const off = (base - this.ram[i]!.base) >>> 0;
    const words = new Int32Array(PAGE_WORDS);
    const kinds = new Uint8Array(PAGE_WORDS);
    for (let k = 0; k < PAGE_WORDS; k++) {
      const word = view.getInt32(off + 4 * k, this.littleEndian);
      words[k] = word;
      kinds[k] = decode(word);
    }
    const decoded: CodePage = { words, kinds, heat: new Uint8Array(PAGE_WORDS), blocks: new Map() };
    this.pages.set(page, decoded);
    this.lastPageNumber = page;
    this.lastPage = decoded;
    this.codePages[page >>> 3]! |= 1 << (page & 7);
    return decoded;
  }

  // ---- traps

  /**
   * Takes trap `tt` (manual 7.5): with traps disabled the core enters error mode; otherwise
   * ET=0, PS=S, S=1, a new window (without an overflow check), %l1/%l2 = PC/nPC, PC = TBR.
   */
  trap(tt: number): void {
    if (this.et === 0) {
      this.halted = 'error-mode';
      this.errorTrap = tt;
      return;
    }
    this.et = 0;
    this.ps = this.s;
    this.s = 1;
    this.setCwp((this.cwp + this.nwindows - 1) % this.nwindows);
    this.regs[this.wmap[17]!] = this.pc;
    this.regs[this.wmap[18]!] = this.npc;
    this.tt = tt;
    this.pc = this.tbr | 0;
    this.npc = (this.pc + 4) | 0;
  }

  /** For translated blocks: trap `tt` on the instruction at pc with nPC npc. */
  trapAt(pc: number, npc: number, tt: number): void {
    this.pc = pc;
    this.npc = npc;
    this.trap(tt);
  }

  slowLoad(addr: number, size: 1 | 2 | 4): number {
    return this.load(addr, size);
  }

  slowStore(addr: number, size: 1 | 2 | 4, value: number): void {
    this.store(addr, size, value);
  }

  /** Why the core is halted, in words. */
  describeHalt(): string {
    if (this.halted === 'error-mode') return `error mode after ${trapName(this.errorTrap)} (tt 0x${this.errorTrap.toString(16)}) with traps disabled at pc 0x${(this.pc >>> 0).toString(16)}`;
    if (this.halted === 'power-down') return 'powered down, waiting for an interrupt';
    if (this.halted === 'idle-loop') return `in an idle loop at pc 0x${(this.pc >>> 0).toString(16)}, waiting for an interrupt`;
    if (this.halted === 'stopped') return `stopped at 0x${(this.pc >>> 0).toString(16)}`;
    return 'running';
  }

  // ---- execution

  private translateBlock(words: Int32Array, k: number, pc: number): Block | null {
    const fast = this.ram[0];
    return translate(
      { littleEndian: this.littleEndian, ramBase: fast ? fast.base : 0, ramSize: fast ? fast.size : 0, nwindows: this.nwindows, readMaps: this.readMaps, writeMaps: this.writeMaps },
      words,
      k,
      pc,
      this.cwp,
    );
  }

  /**
   * Executes up to `budget` instructions. Returns how many it executed; fewer means the core
   * halted (error mode or power-down without a pending interrupt).
   *
   * The hot loop keeps PC, nPC and the window maps in locals and dispatches on the decoded
   * kind; anything that traps sets `tt` and leaves the switch, and one place takes the trap.
   */
  run(budget: number): number {
    const regs = this.regs;
    const le = this.littleEndian;
    const fast = this.ram[0];
    const fastBase = fast ? fast.base : 0;
    const fastSize = fast ? fast.size : 0;
    const fastView = this.views[0] ?? new DataView(new ArrayBuffer(0));
    const codePages = this.codePages;
    let pc = this.pc;
    let npc = this.npc;
    let rmap = this.rmap;
    let wmap = this.wmap;
    let pageNumber = -1;
    let words: Int32Array = EMPTY_WORDS;
    let kinds: Uint8Array = EMPTY_KINDS;
    let current: CodePage | null = null;
    let executed = 0;

    while (executed < budget) {
      if (this.attention !== 0) {
        const level = this.level;
        // Any pending interrupt ends a power-down, even one that PIL keeps from being taken.
        if (level !== 0 && (this.haltReason === 'power-down' || this.haltReason === 'idle-loop')) this.halted = null;
        if (level !== 0 && this.et === 1 && (level === 15 || level > this.pil)) {
          this.pc = pc;
          this.npc = npc;
          this.trap(Trap.INTERRUPT_LEVEL_0 + level);
          this.acknowledge(level);
          pc = this.pc;
          npc = this.npc;
          rmap = this.rmap;
          wmap = this.wmap;
        }
        if (this.haltReason !== null) break;
      }

      let w: number;
      let kind: Kind;
      if (pc >>> PAGE_SHIFT !== pageNumber) {
        if (pc === this.stopAt) {
          this.halted = 'stopped';
          break;
        }
        current = (pc & 3) === 0 ? this.codePage(pc) : null;
        if (current !== null) {
          pageNumber = pc >>> PAGE_SHIFT;
          words = current.words;
          kinds = current.kinds;
        }
      }
      if (pc >>> PAGE_SHIFT === pageNumber) {
        const k = (pc >>> 2) & (PAGE_WORDS - 1);
        // A hot straight-line start runs as one translated block.
        if (this.translating && npc === ((pc + 4) | 0)) {
          const key = (k << 5) | this.cwp;
          let block = current!.blocks.get(key);
          if (block === undefined && ++current!.heat[k]! >= HOT) {
            block = this.translateBlock(words, k, pc) ?? NO_BLOCK;
            current!.blocks.set(key, block);
          }
          if (block !== undefined && executed + block.length <= budget) {
            this.pc = pc;
            this.npc = npc;
            const invalidations = this.invalidations;
            executed += block.fn(this, regs, fastView, codePages, CONDITION, mulHigh);
            pc = this.pc;
            npc = this.npc;
            rmap = this.rmap;
            wmap = this.wmap;
            if (this.invalidations !== invalidations) pageNumber = -1; // the block dropped decoded pages
            continue;
          }
        }
        w = words[k]!;
        kind = kinds[k]! as Kind;
      } else {
        pageNumber = -1;
        const fetched = (pc & 3) === 0 ? this.bus.read(pc >>> 0, 4) : -1;
        if (fetched < 0) {
          executed++;
          this.pc = pc;
          this.npc = npc;
          this.trap(Trap.INSTRUCTION_ACCESS_EXCEPTION);
          pc = this.pc;
          npc = this.npc;
          rmap = this.rmap;
          wmap = this.wmap;
          continue;
        }
        w = fetched | 0; // the bus answers in the core's byte order
        kind = decode(w);
      }
      executed++;

      // Operands as the manual defines them: r[rs1], and simm13 or r[rs2].
      const op2 = iBit(w) ? simm13(w) : regs[rmap[rs2Field(w)]!]!;
      const a = regs[rmap[rs1Field(w)]!]!;
      const rd = rdField(w);
      let tt = 0;

      switch (kind) {
        // ---- the common cases first: ALU, sethi, branches, call, loads and stores
        case Kind.ADD:
          regs[wmap[rd]!] = (a + op2) | 0;
          break;
        case Kind.ADDCC:
          regs[wmap[rd]!] = this.addcc(a, op2, 0);
          break;
        case Kind.SUB:
          regs[wmap[rd]!] = (a - op2) | 0;
          break;
        case Kind.SUBCC:
          regs[wmap[rd]!] = this.subcc(a, op2, 0);
          break;
        case Kind.AND:
          regs[wmap[rd]!] = a & op2;
          break;
        case Kind.ANDCC:
          regs[wmap[rd]!] = this.logiccc(a & op2);
          break;
        case Kind.OR:
          regs[wmap[rd]!] = a | op2;
          break;
        case Kind.ORCC:
          regs[wmap[rd]!] = this.logiccc(a | op2);
          break;
        case Kind.XOR:
          regs[wmap[rd]!] = a ^ op2;
          break;
        case Kind.SLL:
          regs[wmap[rd]!] = a << (op2 & 31);
          break;
        case Kind.SRL:
          regs[wmap[rd]!] = a >>> (op2 & 31);
          break;
        case Kind.SRA:
          regs[wmap[rd]!] = a >> (op2 & 31);
          break;
        case Kind.SETHI:
          regs[wmap[rd]!] = imm22(w) << 10;
          break;
        case Kind.BICC: {
          const c = cond(w);
          const target = (pc + (disp22(w) << 2)) | 0;
          if (CONDITION[c * 16 + this.icc]) {
            if (c === 0x8 && annul(w)) {
              if (target === pc) {
                // `ba,a .` spins until an interrupt: sleep instead of burning host time.
                this.halted = 'idle-loop';
                executed--; // not executed yet: it runs again once an interrupt wakes the core
                continue; // the loop top sees the halt; pc stays on the branch
              }
              pc = target; // ba,a: the delay instruction is annulled
              npc = (target + 4) | 0;
            } else {
              pc = npc;
              npc = target;
            }
          } else if (annul(w)) {
            pc = (npc + 4) | 0; // untaken with a=1: the delay instruction is annulled
            npc = (npc + 8) | 0;
          } else {
            pc = npc;
            npc = (npc + 4) | 0;
          }
          continue;
        }
        case Kind.CALL: {
          const target = (pc + (disp30(w) << 2)) | 0;
          regs[wmap[15]!] = pc;
          pc = npc;
          npc = target;
          continue;
        }
        case Kind.JMPL: {
          const target = (a + op2) | 0;
          if (target & 3) {
            tt = Trap.MEM_ADDRESS_NOT_ALIGNED;
            break;
          }
          regs[wmap[rd]!] = pc;
          pc = npc;
          npc = target;
          continue;
        }
        case Kind.LD: {
          const addr = (a + op2) | 0;
          if (addr & 3) {
            tt = Trap.MEM_ADDRESS_NOT_ALIGNED;
            break;
          }
          const off = (addr - fastBase) >>> 0;
          if (off < fastSize) {
            regs[wmap[rd]!] = fastView.getInt32(off, le);
            break;
          }
          this.fault = false;
          const v = this.load(addr, 4);
          if (this.fault) tt = Trap.DATA_ACCESS_EXCEPTION;
          else regs[wmap[rd]!] = v;
          break;
        }
        case Kind.LDUB: {
          const addr = (a + op2) | 0;
          const off = (addr - fastBase) >>> 0;
          if (off < fastSize) {
            regs[wmap[rd]!] = fastView.getUint8(off);
            break;
          }
          this.fault = false;
          const v = this.load(addr, 1);
          if (this.fault) tt = Trap.DATA_ACCESS_EXCEPTION;
          else regs[wmap[rd]!] = v & 0xff;
          break;
        }
        case Kind.ST: {
          const addr = (a + op2) | 0;
          if (addr & 3) {
            tt = Trap.MEM_ADDRESS_NOT_ALIGNED;
            break;
          }
          const off = (addr - fastBase) >>> 0;
          if (off < fastSize) {
            fastView.setInt32(off, regs[rmap[rd]!]!, le);
            if (codePages[addr >>> (PAGE_SHIFT + 3)]! & (1 << ((addr >>> PAGE_SHIFT) & 7))) {
              this.invalidate(addr);
              pageNumber = -1;
            }
            break;
          }
          this.fault = false;
          this.store(addr, 4, regs[rmap[rd]!]!);
          if (this.fault) tt = Trap.DATA_ACCESS_EXCEPTION;
          break;
        }
        case Kind.STB: {
          const addr = (a + op2) | 0;
          const off = (addr - fastBase) >>> 0;
          if (off < fastSize) {
            fastView.setUint8(off, regs[rmap[rd]!]! & 0xff);
            if (codePages[addr >>> (PAGE_SHIFT + 3)]! & (1 << ((addr >>> PAGE_SHIFT) & 7))) {
              this.invalidate(addr);
              pageNumber = -1;
            }
            break;
          }
          this.fault = false;
          this.store(addr, 1, regs[rmap[rd]!]!);
          if (this.fault) tt = Trap.DATA_ACCESS_EXCEPTION;
          break;
        }
        case Kind.SAVE:
        case Kind.RESTORE: {
          const newCwp = kind === Kind.SAVE ? (this.cwp + this.nwindows - 1) % this.nwindows : (this.cwp + 1) % this.nwindows;
          if ((this.wim >>> newCwp) & 1) {
            tt = kind === Kind.SAVE ? Trap.WINDOW_OVERFLOW : Trap.WINDOW_UNDERFLOW;
            break;
          }
          const sum = (a + op2) | 0; // computed with the old window's registers
          this.setCwp(newCwp);
          rmap = this.rmap;
          wmap = this.wmap;
          regs[wmap[rd]!] = sum;
          break;
        }

        // ---- everything else
        case Kind.FBFCC: {
          if (this.ef === 0) {
            tt = Trap.FP_DISABLED;
            break;
          }
          const c = cond(w);
          const target = (pc + (disp22(w) << 2)) | 0;
          if (FCC_CONDITION[c * 4 + ((this.fsr >>> FSR_FCC_SHIFT) & 3)]) {
            if (c === 0x8 && annul(w)) {
              pc = target;
              npc = (target + 4) | 0;
            } else {
              pc = npc;
              npc = target;
            }
          } else if (annul(w)) {
            pc = (npc + 4) | 0;
            npc = (npc + 8) | 0;
          } else {
            pc = npc;
            npc = (npc + 4) | 0;
          }
          continue;
        }
        case Kind.CBCCC:
        case Kind.CPOP:
        case Kind.CPMEM:
          tt = Trap.CP_DISABLED;
          break;
        case Kind.UNIMP:
        case Kind.ILLEGAL:
          tt = Trap.ILLEGAL_INSTRUCTION;
          break;
        case Kind.ADDX:
          regs[wmap[rd]!] = (a + op2 + (this.icc & 1)) | 0;
          break;
        case Kind.ADDXCC:
          regs[wmap[rd]!] = this.addcc(a, op2, this.icc & 1);
          break;
        case Kind.SUBX:
          regs[wmap[rd]!] = (a - op2 - (this.icc & 1)) | 0;
          break;
        case Kind.SUBXCC:
          regs[wmap[rd]!] = this.subcc(a, op2, this.icc & 1);
          break;
        case Kind.ANDN:
          regs[wmap[rd]!] = a & ~op2;
          break;
        case Kind.ANDNCC:
          regs[wmap[rd]!] = this.logiccc(a & ~op2);
          break;
        case Kind.ORN:
          regs[wmap[rd]!] = a | ~op2;
          break;
        case Kind.ORNCC:
          regs[wmap[rd]!] = this.logiccc(a | ~op2);
          break;
        case Kind.XORCC:
          regs[wmap[rd]!] = this.logiccc(a ^ op2);
          break;
        case Kind.XNOR:
          regs[wmap[rd]!] = ~(a ^ op2);
          break;
        case Kind.XNORCC:
          regs[wmap[rd]!] = this.logiccc(~(a ^ op2));
          break;
        case Kind.TADDCC:
        case Kind.TADDCCTV: {
          const r = (a + op2) | 0;
          const overflow = (((a & op2 & ~r) | (~a & ~op2 & r)) >>> 31) | ((a | op2) & 3 ? 1 : 0);
          if (kind === Kind.TADDCCTV && overflow) {
            tt = Trap.TAG_OVERFLOW;
            break;
          }
          this.icc = flags(r, overflow, ((a & op2) | ((a | op2) & ~r)) >>> 31);
          regs[wmap[rd]!] = r;
          break;
        }
        case Kind.TSUBCC:
        case Kind.TSUBCCTV: {
          const r = (a - op2) | 0;
          const overflow = (((a & ~op2 & ~r) | (~a & op2 & r)) >>> 31) | ((a | op2) & 3 ? 1 : 0);
          if (kind === Kind.TSUBCCTV && overflow) {
            tt = Trap.TAG_OVERFLOW;
            break;
          }
          this.icc = flags(r, overflow, ((~a & op2) | ((~a | op2) & r)) >>> 31);
          regs[wmap[rd]!] = r;
          break;
        }
        case Kind.MULSCC: {
          // One step of the shift-and-add multiply (manual B.17).
          const op1 = (a >>> 1) | ((((this.icc >> 3) ^ (this.icc >> 1)) & 1) << 31); // N xor V
          const addend = this.y & 1 ? op2 : 0;
          this.y = (this.y >>> 1) | ((a & 1) << 31);
          regs[wmap[rd]!] = this.addcc(op1, addend, 0);
          break;
        }
        case Kind.UMUL:
        case Kind.UMULCC:
        case Kind.SMUL:
        case Kind.SMULCC: {
          const signed = kind === Kind.SMUL || kind === Kind.SMULCC;
          const lo = Math.imul(a, op2);
          this.y = mulHigh(a, op2, signed);
          if (kind === Kind.UMULCC || kind === Kind.SMULCC) this.logiccc(lo);
          regs[wmap[rd]!] = lo;
          break;
        }
        case Kind.UDIV:
        case Kind.UDIVCC:
        case Kind.SDIV:
        case Kind.SDIVCC: {
          if (op2 === 0) {
            tt = Trap.DIVISION_BY_ZERO;
            break;
          }
          const signed = kind === Kind.SDIV || kind === Kind.SDIVCC;
          const q = signed ? sdiv(this.y, a, op2) : udiv(this.y, a, op2);
          const overflow = divideOverflow;
          if (kind === Kind.UDIVCC || kind === Kind.SDIVCC) this.icc = flags(q, overflow, 0);
          regs[wmap[rd]!] = q;
          break;
        }
        case Kind.RDY:
          regs[wmap[rd]!] = this.y;
          break;
        case Kind.RDASR: {
          const n = rs1Field(w);
          if (n < 16) tt = Trap.ILLEGAL_INSTRUCTION; // asr 1-14 are reserved
          else if (this.s === 0) tt = Trap.PRIVILEGED_INSTRUCTION;
          else regs[wmap[rd]!] = this.asr[n]!;
          break;
        }
        case Kind.STBAR:
          break; // stores are never reordered here
        case Kind.RDPSR:
          if (this.s === 0) tt = Trap.PRIVILEGED_INSTRUCTION;
          else regs[wmap[rd]!] = this.psr | 0;
          break;
        case Kind.RDWIM:
          if (this.s === 0) tt = Trap.PRIVILEGED_INSTRUCTION;
          else regs[wmap[rd]!] = this.wim;
          break;
        case Kind.RDTBR:
          if (this.s === 0) tt = Trap.PRIVILEGED_INSTRUCTION;
          else regs[wmap[rd]!] = this.tbr | 0;
          break;
        case Kind.WRY:
          this.y = a ^ op2;
          break;
        case Kind.WRASR:
          if (rd < 16) tt = Trap.ILLEGAL_INSTRUCTION;
          else if (this.s === 0) tt = Trap.PRIVILEGED_INSTRUCTION;
          else if (rd === 19) this.halted = 'power-down'; // LEON: sleep until an interrupt
          else if (rd !== 17) this.asr[rd] = a ^ op2;
          break;
        case Kind.WRPSR: {
          const value = a ^ op2;
          if (this.s === 0) tt = Trap.PRIVILEGED_INSTRUCTION;
          else if ((value & 31) >= this.nwindows) tt = Trap.ILLEGAL_INSTRUCTION;
          else {
            this.psr = value;
            rmap = this.rmap;
            wmap = this.wmap;
          }
          break;
        }
        case Kind.WRWIM:
          if (this.s === 0) tt = Trap.PRIVILEGED_INSTRUCTION;
          else this.wim = (a ^ op2) & ((1 << this.nwindows) - 1 || -1);
          break;
        case Kind.WRTBR:
          if (this.s === 0) tt = Trap.PRIVILEGED_INSTRUCTION;
          else this.tba = (a ^ op2) & ~0xfff;
          break;
        case Kind.RETT: {
          const target = (a + op2) | 0;
          const newCwp = (this.cwp + 1) % this.nwindows;
          if (this.et === 1) tt = this.s === 0 ? Trap.PRIVILEGED_INSTRUCTION : Trap.ILLEGAL_INSTRUCTION;
          else if (this.s === 0) tt = Trap.PRIVILEGED_INSTRUCTION; // with ET=0: error mode
          else if ((this.wim >>> newCwp) & 1) tt = Trap.WINDOW_UNDERFLOW;
          else if (target & 3) tt = Trap.MEM_ADDRESS_NOT_ALIGNED;
          else {
            this.et = 1;
            this.s = this.ps;
            this.setCwp(newCwp);
            rmap = this.rmap;
            wmap = this.wmap;
            pc = npc;
            npc = target;
            continue;
          }
          break;
        }
        case Kind.TICC:
          if (CONDITION[cond(w) * 16 + this.icc]) tt = Trap.TRAP_INSTRUCTION_0 + ((a + op2) & 0x7f);
          break;
        case Kind.FLUSH:
          this.invalidate((a + op2) | 0);
          pageNumber = -1;
          break;
        case Kind.FPOP1:
        case Kind.FPOP2:
          tt = this.ef === 0 ? Trap.FP_DISABLED : this.fpop(w, kind === Kind.FPOP2);
          break;
        case Kind.LDF:
        case Kind.LDDF:
        case Kind.LDFSR:
        case Kind.STF:
        case Kind.STDF:
        case Kind.STFSR:
        case Kind.STDFQ:
          tt = this.ef === 0 ? Trap.FP_DISABLED : this.fpMemory(kind, (a + op2) | 0, rd);
          pageNumber = -1;
          break;
        default:
          tt = this.memory(kind, w, (a + op2) | 0, rd);
          pageNumber = -1; // a store may have dropped this page's decoded code
          break;
      }

      if (tt === 0) {
        pc = npc;
        npc = (npc + 4) | 0;
        continue;
      }
      this.pc = pc;
      this.npc = npc;
      this.trap(tt);
      pc = this.pc;
      npc = this.npc;
      rmap = this.rmap;
      wmap = this.wmap;
    }
    this.pc = pc;
    this.npc = npc;
    this.instructions += executed;
    return executed;
  }

  // ---- the FPU (manual chapter 4.4 and appendix B; GRFPU has no quad precision)

  private fpSingle(r: number): bigint {
    return BigInt(this.f[r]!);
  }

  private fpDouble(r: number): bigint {
    const even = r & 0x1e; // an odd register names its pair, as QEMU does
    return (BigInt(this.f[even]!) << 32n) | BigInt(this.f[even + 1]!);
  }

  private setSingle(r: number, raw: bigint): void {
    this.f[r] = Number(raw);
  }

  private setDouble(r: number, raw: bigint): void {
    const even = r & 0x1e;
    this.f[even] = Number(raw >> 32n);
    this.f[even + 1] = Number(raw & 0xffffffffn);
  }

  /**
   * An FPop. cexc and ftt clear first; an exception enabled in TEM traps fp_exception with
   * ftt = IEEE_754_exception and leaves rd and aexc alone; otherwise aexc accumulates cexc.
   */
  private fpop(w: number, fpop2: boolean): number {
    const op = opfField(w);
    const rs1 = rs1Field(w);
    const rs2 = rs2Field(w);
    const rd = rdField(w);
    const mode = (this.fsr >>> FSR_RD_SHIFT) as fpu.Rounding;
    this.fsr &= ~(FSR_FTT | 0x1f);
    let flags = 0;
    let write: () => void = () => {};
    const single = (r: fpu.Result) => {
      flags = r.flags;
      write = () => this.setSingle(rd, r.raw);
    };
    const double = (r: fpu.Result) => {
      flags = r.flags;
      write = () => this.setDouble(rd, r.raw);
    };
    const S = fpu.SINGLE;
    const D = fpu.DOUBLE;
    if (fpop2) {
      if (op !== 0x51 && op !== 0x52 && op !== 0x55 && op !== 0x56) return this.unimplementedFpop();
      const isDouble = op === 0x52 || op === 0x56;
      const r = isDouble ? fpu.compare(this.fpDouble(rs1), this.fpDouble(rs2), D, op === 0x56) : fpu.compare(this.fpSingle(rs1), this.fpSingle(rs2), S, op === 0x55);
      flags = r.flags;
      write = () => (this.fsr = (this.fsr & ~(3 << FSR_FCC_SHIFT)) | (r.fcc << FSR_FCC_SHIFT));
    } else {
      switch (op) {
        case 0x01: // FMOVs
          write = () => (this.f[rd] = this.f[rs2]!);
          break;
        case 0x05: // FNEGs
          write = () => (this.f[rd] = this.f[rs2]! ^ 0x80000000);
          break;
        case 0x09: // FABSs
          write = () => (this.f[rd] = this.f[rs2]! & 0x7fffffff);
          break;
        case 0x29: single(fpu.sqrt(this.fpSingle(rs2), S, mode)); break; // FSQRTs
        case 0x2a: double(fpu.sqrt(this.fpDouble(rs2), D, mode)); break; // FSQRTd
        case 0x41: single(fpu.add(this.fpSingle(rs1), this.fpSingle(rs2), false, S, mode)); break; // FADDs
        case 0x42: double(fpu.add(this.fpDouble(rs1), this.fpDouble(rs2), false, D, mode)); break; // FADDd
        case 0x45: single(fpu.add(this.fpSingle(rs1), this.fpSingle(rs2), true, S, mode)); break; // FSUBs
        case 0x46: double(fpu.add(this.fpDouble(rs1), this.fpDouble(rs2), true, D, mode)); break; // FSUBd
        case 0x49: single(fpu.multiply(this.fpSingle(rs1), this.fpSingle(rs2), S, mode)); break; // FMULs
        case 0x4a: double(fpu.multiply(this.fpDouble(rs1), this.fpDouble(rs2), D, mode)); break; // FMULd
        case 0x4d: single(fpu.divide(this.fpSingle(rs1), this.fpSingle(rs2), S, mode)); break; // FDIVs
        case 0x4e: double(fpu.divide(this.fpDouble(rs1), this.fpDouble(rs2), D, mode)); break; // FDIVd
        case 0x69: double(fpu.multiply(this.fpSingle(rs1), this.fpSingle(rs2), S, mode, D)); break; // FsMULd
        case 0xc4: single(fpu.fromInt(this.f[rs2]! | 0, S, mode)); break; // FiTOs
        case 0xc6: single(fpu.convert(this.fpDouble(rs2), D, S, mode)); break; // FdTOs
        case 0xc8: double(fpu.fromInt(this.f[rs2]! | 0, D, mode)); break; // FiTOd
        case 0xc9: double(fpu.convert(this.fpSingle(rs2), S, D, mode)); break; // FsTOd
        case 0xd1: // FsTOi
        case 0xd2: { // FdTOi
          const r = op === 0xd1 ? fpu.toInt(this.fpSingle(rs2), S) : fpu.toInt(this.fpDouble(rs2), D);
          flags = r.flags;
          write = () => (this.f[rd] = r.value >>> 0);
          break;
        }
        default:
          return this.unimplementedFpop();
      }
    }
    this.fsr |= flags;
    if (flags & (this.fsr >>> FSR_TEM_SHIFT) & 0x1f) {
      this.fsr |= FTT_IEEE_754_EXCEPTION << FSR_FTT_SHIFT;
      return Trap.FP_EXCEPTION;
    }
    this.fsr |= flags << FSR_AEXC_SHIFT;
    write();
    return 0;
  }

  private unimplementedFpop(): number {
    this.fsr = (this.fsr & ~FSR_FTT) | (FTT_UNIMPLEMENTED_FPOP << FSR_FTT_SHIFT);
    return Trap.FP_EXCEPTION;
  }

  /** LDF, LDDF, LDFSR, STF, STDF, STFSR, STDFQ. */
  private fpMemory(kind: Kind, addr: number, rd: number): number {
    const doubleword = kind === Kind.LDDF || kind === Kind.STDF || kind === Kind.STDFQ;
    if (kind === Kind.STDFQ) {
      // The FP queue is always empty here (exceptions are precise), so reading it is an error.
      if (this.s === 0) return Trap.PRIVILEGED_INSTRUCTION;
      this.fsr = (this.fsr & ~FSR_FTT) | (FTT_SEQUENCE_ERROR << FSR_FTT_SHIFT);
      return Trap.FP_EXCEPTION;
    }
    if (addr & (doubleword ? 7 : 3)) return Trap.MEM_ADDRESS_NOT_ALIGNED;
    this.fault = false;
    switch (kind) {
      case Kind.LDF: {
        const v = this.load(addr, 4);
        if (!this.fault) this.f[rd] = v >>> 0;
        break;
      }
      case Kind.LDDF: {
        // A double's most significant word goes to the even register: at addr in big-endian
        // memory, at addr + 4 in little-endian memory (where the 64-bit value is stored LE).
        const first = this.load(addr, 4);
        const second = this.load((addr + 4) | 0, 4);
        if (!this.fault) {
          this.f[rd & 0x1e] = (this.littleEndian ? second : first) >>> 0;
          this.f[(rd & 0x1e) + 1] = (this.littleEndian ? first : second) >>> 0;
        }
        break;
      }
      case Kind.LDFSR: {
        const v = this.load(addr, 4);
        if (!this.fault) this.fsr = ((v & FSR_LOADABLE) | (this.fsr & ~FSR_LOADABLE)) >>> 0;
        break;
      }
      case Kind.STF:
        this.store(addr, 4, this.f[rd]! | 0);
        break;
      case Kind.STDF: {
        const high = this.f[rd & 0x1e]! | 0;
        const low = this.f[(rd & 0x1e) + 1]! | 0;
        this.store(addr, 4, this.littleEndian ? low : high);
        if (!this.fault) this.store((addr + 4) | 0, 4, this.littleEndian ? high : low);
        break;
      }
      case Kind.STFSR:
        this.store(addr, 4, this.fsr | 0);
        break;
    }
    return this.fault ? Trap.DATA_ACCESS_EXCEPTION : 0;
  }

  /** Loads, stores and atomics off the fast path. Returns the trap type, or 0. */
  private memory(kind: Kind, w: number, addr: number, rd: number): number {
    const regs = this.regs;
    const wmap = this.wmap;
    // Alternate-space forms: privileged, register form only, and the ASI must name memory.
    if (kind >= Kind.LDA && kind <= Kind.CASA) {
      if (iBit(w)) return Trap.ILLEGAL_INSTRUCTION;
      const space = asiField(w);
      if (this.s === 0 && !(kind === Kind.CASA && space === 0x0a)) return Trap.PRIVILEGED_INSTRUCTION;
      if (!isMemoryAsi(space)) return Trap.DATA_ACCESS_EXCEPTION;
      if (kind === Kind.CASA) {
        addr = regs[this.rmap[rs1Field(w)]!]!; // casa [rs1] asi, rs2, rd
      }
    }
    if (addr & (alignment(kind) - 1)) return Trap.MEM_ADDRESS_NOT_ALIGNED;
    if ((kind === Kind.LDD || kind === Kind.LDDA || kind === Kind.STD || kind === Kind.STDA) && rd & 1) return Trap.ILLEGAL_INSTRUCTION;
    this.fault = false;
    switch (kind) {
      case Kind.LD:
      case Kind.LDA:
        this.loadRegister(rd, addr, 4, false);
        break;
      case Kind.LDUB:
      case Kind.LDUBA:
        this.loadRegister(rd, addr, 1, false);
        break;
      case Kind.LDSB:
      case Kind.LDSBA:
        this.loadRegister(rd, addr, 1, true);
        break;
      case Kind.LDUH:
      case Kind.LDUHA:
        this.loadRegister(rd, addr, 2, false);
        break;
      case Kind.LDSH:
      case Kind.LDSHA:
        this.loadRegister(rd, addr, 2, true);
        break;
      case Kind.LDD:
      case Kind.LDDA: {
        const hi = this.load(addr, 4);
        const lo = this.load((addr + 4) | 0, 4);
        if (this.fault) break;
        regs[wmap[rd]!] = hi;
        regs[wmap[rd + 1]!] = lo;
        break;
      }
      case Kind.ST:
      case Kind.STA:
        this.store(addr, 4, regs[this.rmap[rd]!]!);
        break;
      case Kind.STB:
      case Kind.STBA:
        this.store(addr, 1, regs[this.rmap[rd]!]!);
        break;
      case Kind.STH:
      case Kind.STHA:
        this.store(addr, 2, regs[this.rmap[rd]!]!);
        break;
      case Kind.STD:
      case Kind.STDA:
        this.store(addr, 4, regs[this.rmap[rd]!]!);
        if (!this.fault) this.store((addr + 4) | 0, 4, regs[this.rmap[rd + 1]!]!);
        break;
      case Kind.LDSTUB:
      case Kind.LDSTUBA: {
        const v = this.load(addr, 1);
        if (this.fault) break;
        this.store(addr, 1, 0xff);
        if (this.fault) break;
        regs[wmap[rd]!] = v & 0xff;
        break;
      }
      case Kind.SWAP:
      case Kind.SWAPA: {
        const v = this.load(addr, 4);
        if (this.fault) break;
        this.store(addr, 4, regs[this.rmap[rd]!]!);
        if (this.fault) break;
        regs[wmap[rd]!] = v;
        break;
      }
      case Kind.CASA: {
        const v = this.load(addr, 4);
        if (this.fault) break;
        if (v === regs[this.rmap[rs2Field(w)]!]) this.store(addr, 4, regs[this.rmap[rd]!]!);
        if (this.fault) break;
        regs[wmap[rd]!] = v;
        break;
      }
      default:
        return Trap.ILLEGAL_INSTRUCTION;
    }
    return this.fault ? Trap.DATA_ACCESS_EXCEPTION : 0;
  }

  /** r[rd] = the byte, halfword or word at addr, zero- or sign-extended; untouched on a fault. */
  private loadRegister(rd: number, addr: number, size: 1 | 2 | 4, signed: boolean): void {
    const v = this.load(addr, size);
    if (this.fault) return;
    const unused = 32 - 8 * size;
    this.regs[this.wmap[rd]!] = signed ? (v << unused) >> unused : size === 4 ? v : v & ((1 << (8 * size)) - 1);
  }

  // ---- condition codes (manual 5.1.4)

  private addcc(a: number, b: number, carryIn: number): number {
    const r = (a + b + carryIn) | 0;
    this.icc = flags(r, ((a & b & ~r) | (~a & ~b & r)) >>> 31, ((a & b) | ((a | b) & ~r)) >>> 31);
    return r;
  }

  private subcc(a: number, b: number, borrowIn: number): number {
    const r = (a - b - borrowIn) | 0;
    this.icc = flags(r, ((a & ~b & ~r) | (~a & b & r)) >>> 31, ((~a & b) | ((~a | b) & r)) >>> 31);
    return r;
  }

  private logiccc(r: number): number {
    this.icc = flags(r, 0, 0);
    return r;
  }
}

/** The icc nibble for result r: N and Z from r, V and C given. */
function flags(r: number, v: number, c: number): number {
  return ((r >>> 28) & 8) | (r === 0 ? 4 : 0) | (v << 1) | c;
}

function alignment(kind: Kind): number {
  switch (kind) {
    case Kind.LDD:
    case Kind.LDDA:
    case Kind.STD:
    case Kind.STDA:
      return 8;
    case Kind.LDUH:
    case Kind.LDSH:
    case Kind.LDUHA:
    case Kind.LDSHA:
    case Kind.STH:
    case Kind.STHA:
      return 2;
    case Kind.LDUB:
    case Kind.LDSB:
    case Kind.LDUBA:
    case Kind.LDSBA:
    case Kind.STB:
    case Kind.STBA:
    case Kind.LDSTUB:
    case Kind.LDSTUBA:
      return 1;
    default:
      return 4;
  }
}

/** ASIs that reach memory on LEON: user/supervisor instruction and data, and MMU bypass. */
function isMemoryAsi(space: number): boolean {
  return (space >= 0x08 && space <= 0x0b) || space === 0x1c;
}

/** High 32 bits of the 64-bit product, from 16-bit pieces (exact in doubles). */
function mulHigh(a: number, b: number, signed: boolean): number {
  const exact = signed ? a * b : (a >>> 0) * (b >>> 0);
  if (exact <= 9007199254740991 && exact >= -9007199254740991) return Math.floor(exact / 4294967296) | 0;
  const ua = a >>> 0;
  const ub = b >>> 0;
  const al = ua & 0xffff;
  const ah = ua >>> 16;
  const bl = ub & 0xffff;
  const bh = ub >>> 16;
  const mid = ah * bl + al * bh; // < 2^33
  const low = al * bl + (mid % 0x10000) * 0x10000; // < 2^49
  let hi = ah * bh + Math.floor(mid / 0x10000) + Math.floor(low / 0x100000000);
  if (signed) {
    if (a < 0) hi -= ub;
    if (b < 0) hi -= ua;
  }
  return hi | 0;
}

/** Set by udiv and sdiv: the quotient did not fit and was saturated (V). No allocation. */
let divideOverflow = 0;

/** UDIV: (Y:rs1) / operand2, unsigned; a quotient over 32 bits gives 0xFFFFFFFF and V=1. */
function udiv(y: number, lo: number, divisor: number): number {
  const d = divisor >>> 0;
  divideOverflow = 0;
  if (y === 0) return Math.floor((lo >>> 0) / d) | 0;
  const q = ((BigInt(y >>> 0) << 32n) | BigInt(lo >>> 0)) / BigInt(d);
  if (q > 0xffffffffn) {
    divideOverflow = 1;
    return -1;
  }
  return Number(q) | 0;
}

/** SDIV: (Y:rs1) / operand2, signed, truncating; overflow saturates and sets V. */
function sdiv(y: number, lo: number, divisor: number): number {
  divideOverflow = 0;
  if (y === lo >> 31) {
    // The dividend fits in 32 bits: plain double arithmetic is exact.
    const q = Math.trunc(lo / divisor);
    if (q > 0x7fffffff) {
      divideOverflow = 1;
      return 0x7fffffff;
    }
    return q | 0;
  }
  const q = ((BigInt(y) << 32n) | BigInt(lo >>> 0)) / BigInt(divisor);
  if (q > 0x7fffffffn || q < -0x80000000n) {
    divideOverflow = 1;
    return q > 0n ? 0x7fffffff : -0x80000000;
  }
  return Number(q) | 0;
}
