/**
 * The TypeScript handle on the SHAVE cores that run in WebAssembly (assembly/shave/core.ts):
 * starting and stopping them, decoding bundles for their cache, committing DDR they reach, and
 * reading their registers and counters straight from the shared memory.
 */
import type { SharedMemory } from '../memory/shared-memory.js';
import type { WasmExports } from '../memory/wasm-module.js';
import { decodeBundle, DecodeError, type DecodedBundle, type DecodedOp } from './assembler.js';
import { ALL_OPS, latencyOf, lsuForm, tableOf, UNITS, type OpSpec } from './isa.js';
import type { MemoryMap } from './jit/loop-compiler.js';
import { LoopRunner } from './jit/loop-runner.js';

/** The layout and codes assembly/shave/core.ts exports (as WebAssembly globals). */
const LAYOUT_NAMES = [
  'SHAVE_STATE', 'CORE_STRIDE', 'MAX_CORES', 'IRF', 'SRF', 'VRF', 'PC', 'STATUS', 'FLAGS', 'SWIH_CODE', 'CYCLES', 'BUNDLES', 'STALLS',
  'WINDOWS', 'ERROR_CAUSE', 'ERROR_ADDRESS', 'UNIT_OPS', 'DDR_READ', 'DDR_WRITE', 'CMX_READ', 'CMX_WRITE', 'CMX_SLICES', 'COMMIT_END',
  'STATUS_STOPPED', 'STATUS_RUNNING', 'STATUS_HALTED', 'STATUS_ERROR', 'RUN_BUDGET', 'RUN_HALTED', 'RUN_ERROR', 'RUN_MISS', 'RUN_COMMIT',
  'CAUSE_UNDEFINED', 'CAUSE_MISALIGNED', 'CAUSE_UNMAPPED', 'CAUSE_BRANCH_IN_DELAY',
  // What the loop compiler needs besides (jit/loop-runner.ts RunnerLayout).
  'RUN_LOOP', 'JIT_UNKNOWN', 'JIT_DECLINED', 'STAMP', 'DEFINITIONS', 'LOOP_START', 'LOOP_END', 'LOOP_COUNT', 'PENDING',
  'RING_SCALAR_COUNT', 'RING_VECTOR_COUNT', 'RING_SLOTS', 'RING_SCALAR', 'SCALAR_DEPTH', 'SCALAR_ENTRY', 'RING_VECTOR', 'VECTOR_DEPTH', 'VECTOR_ENTRY',
  'CACHE', 'CACHE_ENTRIES', 'ENTRY_SIZE', 'E_RUNS', 'E_STAMP', 'E_COUNT', 'E_CYCLES', 'E_NEXT', 'E_PEU', 'E_SLOTS', 'SLOT_SIZE', 'E_JIT', 'E_ACCESS0', 'E_ACCESS1',
  'E_WORDS', 'E_CODE', 'E_FIRST', 'E_SERIAL', 'OFFER', 'OFFER_FIRST',
] as const;
type LayoutName = (typeof LAYOUT_NAMES)[number];

/** The bytes of a core's state that are architectural (the decoded-bundle cache comes after). */
export const STATE_BYTES = 32768;

export type CoreStatus = 'stopped' | 'running' | 'halted' | 'error';
const STATUS_NAMES: readonly CoreStatus[] = ['stopped', 'running', 'halted', 'error'];

export const CAUSES: Readonly<Record<number, string>> = {
  1: 'undefined encoding',
  2: 'misaligned access',
  3: 'unmapped address',
  4: 'branch in a delay slot',
};

export interface CoreCounters {
  readonly cycles: number;
  readonly bundles: number;
  readonly stalls: number;
  /** Operations executed per unit, in slot order (isa.ts UNITS). */
  readonly unitOps: Readonly<Record<string, number>>;
  readonly ddr: { readonly read: number; readonly written: number };
  /** Bytes per CMX slice (128 KB each), only the slices touched. */
  readonly cmx: readonly { readonly slice: number; readonly read: number; readonly written: number }[];
}

/** What one call of `run` ended with. */
export type RunResult = { readonly kind: 'budget' } | { readonly kind: 'halted'; readonly code: number } | { readonly kind: 'error'; readonly cause: string; readonly address: number };

/** The core's operation id of each spec: its index in ALL_OPS. */
const SPEC_IDS = new Map<OpSpec, number>(ALL_OPS.map((spec, id) => [spec, id]));
const LANE_BYTES: Readonly<Record<string, number>> = { i8: 1, i16: 2, i32: 4 };

export class ShaveCores {
  readonly count: number;
  private readonly wasm: WasmExports;
  private readonly layout: Record<LayoutName, number>;
  /** Where CMX and DDR are: the core's translate() and the loop compiler's work from the same map. */
  private readonly map: MemoryMap;
  /** Runs rpl loops compiled to WebAssembly (jit/loop-compiler.ts); null: the interpreter runs everything. */
  private loops: LoopRunner | null = null;
  private decoded = 0;

  constructor(
    private readonly memory: SharedMemory,
    count: number,
  ) {
    this.wasm = memory.wasmExports;
    this.layout = Object.fromEntries(LAYOUT_NAMES.map((name) => [name, (this.wasm as unknown as Record<string, WebAssembly.Global>)[name]!.value as number])) as Record<LayoutName, number>;
    this.count = count;
    if (count > this.layout.MAX_CORES) throw new RangeError(`${count} SHAVEs; the WebAssembly side holds ${this.layout.MAX_CORES}`);
    if (this.layout.SLOT_SIZE !== SLOT_BYTES) throw new Error(`the core's slots are ${this.layout.SLOT_SIZE} bytes; the decoder writes ${SLOT_BYTES}`);
    const cmx = memory.regions.find((r) => r.name === 'cmx')!;
    const ddr = memory.regions.find((r) => r.name === 'ddr')!;
    this.map = {
      cmxBus: cmx.base, cmxAlias: cmx.aliases[0] ?? cmx.base, cmxOffset: cmx.offset, cmxSize: cmx.size,
      ddrBus: ddr.base, ddrAlias: ddr.aliases[0] ?? ddr.base, ddrOffset: ddr.offset, ddrSize: ddr.size,
    };
    const m = this.map;
    this.wasm.shaveConfigure(m.cmxBus, m.cmxAlias, m.cmxOffset, m.cmxSize, m.ddrBus, m.ddrAlias, m.ddrOffset, m.ddrSize);
    this.useLoopCompiler(true);
  }

  /**
   * Whether rpl loops run compiled (the default) or interpreted. Both give the same results,
   * cycle for cycle; the tests run kernels both ways and compare.
   */
  useLoopCompiler(enabled: boolean): void {
    this.wasm.shaveLoopCompiler(enabled ? 1 : 0);
    if (!enabled) {
      this.loops = null;
      return;
    }
    this.loops ??= new LoopRunner(this.memory, this.layout as never, this.map, this.count);
  }

  /**
   * Bundles decoded by TypeScript so far. After a start the core takes bundles it cached before
   * without decoding them again when their words are unchanged, so this grows only with new code.
   */
  get decodedBundles(): number {
    return this.decoded;
  }

  /** Compiled runs of rpl loops so far (tests check the compiler was used). */
  get compiledLoopRuns(): number {
    return this.loops?.compiledRuns ?? 0;
  }

  /** Of those, the runs that began in a loop's first pass. */
  get firstPassLoopRuns(): number {
    return this.loops?.firstPassRuns ?? 0;
  }

  /** The last error of the loop compiler (a bug; the loop was interpreted instead), or null. */
  get loopCompilerError(): Error | null {
    return this.loops?.compileError ?? null;
  }

  /** Byte offset of core `core`'s state in the WebAssembly memory. */
  base(core: number): number {
    return this.layout.SHAVE_STATE + core * this.layout.CORE_STRIDE;
  }

  private u32(core: number, field: LayoutName, index = 0): number {
    return this.memory.view.getUint32(this.base(core) + this.layout[field] + 4 * index, true);
  }

  private setU32(core: number, field: LayoutName, index: number, value: number): void {
    this.memory.view.setUint32(this.base(core) + this.layout[field] + 4 * index, value >>> 0, true);
  }

  private u64(core: number, field: LayoutName, index = 0): number {
    // Two halves rather than a BigInt: counters() reads some sixty of these after every run.
    const at = this.base(core) + this.layout[field] + 8 * index;
    return this.memory.view.getUint32(at, true) + this.memory.view.getUint32(at + 4, true) * 0x1_0000_0000;
  }

  status(core: number): CoreStatus {
    return STATUS_NAMES[this.u32(core, 'STATUS')] ?? 'error';
  }

  pc(core: number): number {
    return this.u32(core, 'PC');
  }

  swihCode(core: number): number {
    return this.u32(core, 'SWIH_CODE');
  }

  /** Cycles since the core's last start. */
  cycles(core: number): number {
    return this.u64(core, 'CYCLES');
  }

  /** The exception cause number (CAUSES), 0 when there is none. */
  errorCode(core: number): number {
    return this.status(core) === 'error' ? this.u32(core, 'ERROR_CAUSE') : 0;
  }

  error(core: number): { cause: string; address: number } | null {
    if (this.status(core) !== 'error') return null;
    const cause = this.u32(core, 'ERROR_CAUSE');
    return { cause: CAUSES[cause] ?? `cause ${cause}`, address: this.u32(core, 'ERROR_ADDRESS') };
  }

  /** Sets the PC of a core that is not running (where the next start begins). */
  setPc(core: number, pc: number): void {
    this.setU32(core, 'PC', 0, pc);
  }

  irf(core: number, n: number): number {
    return this.u32(core, 'IRF', n);
  }

  setIrf(core: number, n: number, value: number): void {
    this.setU32(core, 'IRF', n, value);
  }

  srf(core: number, n: number): number {
    return this.u32(core, 'SRF', n);
  }

  setSrf(core: number, n: number, value: number): void {
    this.setU32(core, 'SRF', n, value);
  }

  /** Word `word` (0-3, little-endian) of VRF register n. */
  vrfWord(core: number, n: number, word: number): number {
    return this.u32(core, 'VRF', 4 * n + word);
  }

  setVrfWord(core: number, n: number, word: number, value: number): void {
    this.setU32(core, 'VRF', 4 * n + word, value);
  }

  vrf(core: number, n: number): Uint8Array {
    const at = this.base(core) + this.layout.VRF + 16 * n;
    return this.memory.bytes.slice(at, at + 16);
  }

  window(core: number, n: number): number {
    return this.u32(core, 'WINDOWS', n);
  }

  setWindow(core: number, n: number, value: number): void {
    this.setU32(core, 'WINDOWS', n, value);
  }

  counters(core: number): CoreCounters {
    this.wasm.shaveFoldCounters(core);
    const unitOps: Record<string, number> = {};
    UNITS.forEach((unit, n) => (unitOps[unit] = this.u64(core, 'UNIT_OPS', n)));
    const cmx: { slice: number; read: number; written: number }[] = [];
    for (let slice = 0; slice < this.layout.CMX_SLICES; slice++) {
      const read = this.u64(core, 'CMX_READ', slice);
      const written = this.u64(core, 'CMX_WRITE', slice);
      if (read || written) cmx.push({ slice, read, written });
    }
    return {
      cycles: this.u64(core, 'CYCLES'),
      bundles: this.u64(core, 'BUNDLES'),
      stalls: this.u64(core, 'STALLS'),
      unitOps,
      ddr: { read: this.u64(core, 'DDR_READ'), written: this.u64(core, 'DDR_WRITE') },
      cmx,
    };
  }

  /** The core's architectural state (registers, pipeline, counters) as bytes. */
  saveState(core: number): Uint8Array {
    this.wasm.shaveFoldCounters(core);
    return this.memory.bytes.slice(this.base(core), this.base(core) + STATE_BYTES);
  }

  /** Puts back a state saveState gave; bundles are decoded again as the core reaches them. */
  loadState(core: number, state: Uint8Array): void {
    this.wasm.shaveReset(core);
    this.memory.bytes.set(state.subarray(0, STATE_BYTES), this.base(core));
  }

  /** Power-on state: registers, windows, counters and cache all zero, stopped. */
  reset(core: number): void {
    this.wasm.shaveReset(core);
  }

  /** Starts at `pc` (counters from zero, an empty bundle cache, registers as they are). */
  start(core: number, pc: number): void {
    this.wasm.shaveStart(core, pc >>> 0);
  }

  /** Stops a running core where it is; results in flight land first. */
  stop(core: number): void {
    if (this.status(core) === 'running') this.wasm.shaveStop(core);
  }

  /**
   * Runs a core for `cycles` cycles or until it halts or faults; bundles are decoded as the
   * core first reaches them. A bundle that starts within the budget finishes, so a run may go
   * a few cycles past it (never more than one bundle's idle and stall cycles).
   */
  run(core: number, cycles: number): RunResult {
    if (!Number.isSafeInteger(cycles) || cycles < 0) throw new RangeError(`${cycles} is not a cycle count`);
    const end = this.u64(core, 'CYCLES') + cycles;
    for (;;) {
      const left = end - this.u64(core, 'CYCLES');
      if (left <= 0) return { kind: 'budget' };
      const result = this.wasm.shaveRun(core, Math.min(left, 0x7fffffff));
      if (result === this.layout.RUN_MISS) this.decode(core, this.pc(core));
      else if (result === this.layout.RUN_LOOP) this.loops?.run(core, end);
      else if (result === this.layout.RUN_COMMIT) {
        // The access lies inside DDR (the core checked), so this commit cannot fail; if it
        // did, the core faults rather than asking again.
        if (!this.memory.commit(this.u32(core, 'COMMIT_END') - 1, 1)) this.wasm.shaveFault(core, this.layout.CAUSE_UNMAPPED, this.pc(core));
      } else if (result === this.layout.RUN_HALTED) {
        return this.status(core) === 'error' ? this.errorResult(core) : { kind: 'halted', code: this.swihCode(core) };
      } else if (result === this.layout.RUN_ERROR) return this.errorResult(core);
      // RUN_BUDGET: loop to check what is left
    }
  }

  private errorResult(core: number): RunResult {
    const error = this.error(core)!;
    return { kind: 'error', cause: error.cause, address: error.address };
  }

  /**
   * Reads, decodes and caches the bundle at `pc` (an undefined encoding faults the core), and
   * the bundles that follow it in straight line, so that a kernel's first pass does not come
   * back here for every bundle. Those are only cached: one that does not decode is left alone.
   */
  private decode(core: number, pc: number): void {
    let at = pc;
    for (let n = 0; n < PREFETCH_BUNDLES; n++) {
      const words = this.readBundle(core, at);
      const entry = words > 0 ? decodedEntry(at, words) : null;
      if (!entry) {
        if (n === 0) this.wasm.shaveFault(core, words > 0 ? this.layout.CAUSE_UNDEFINED : at & 3 ? this.layout.CAUSE_MISALIGNED : this.layout.CAUSE_UNMAPPED, at);
        return;
      }
      this.wasm.shaveDefine(core, at, entry.slots.length, entry.cycles, entry.next, entry.peu, entry.units);
      this.decoded++;
      // The slots as shaveDefineSlot would store them, in one copy.
      const { layout } = this;
      this.memory.bytes.set(entry.image, this.base(core) + layout.CACHE + ((at >>> 2) & (layout.CACHE_ENTRIES - 1)) * layout.ENTRY_SIZE + layout.E_SLOTS);
      at = entry.next;
    }
  }

  /**
   * Reads the words of the bundle at `pc` into BUNDLE_WORDS, as far as they can be read (the
   * header says how many slot words follow). Returns how many it read.
   */
  private readBundle(core: number, pc: number): number {
    // Usually all of it lies in one stretch of memory: two translations instead of one a word.
    const first = this.wasm.shaveTranslate(core, pc >>> 0, 4);
    if (first >= 0) {
      const header = this.memory.view.getUint32(first, true);
      let wanted = 1;
      for (let units = header & 0xff; units; units &= units - 1) wanted++;
      const last = wanted === 1 ? first : this.wasm.shaveTranslate(core, (pc + 4 * (wanted - 1)) >>> 0, 4);
      // One window (or none) throughout: then the words between are where the translation says.
      if (pc >>> 24 === (pc + 4 * (wanted - 1)) >>> 24 && last - first === 4 * (wanted - 1)) {
        for (let k = 0; k < wanted; k++) BUNDLE_WORDS[k] = this.memory.view.getUint32(first + 4 * k, true);
        return wanted;
      }
    }
    let count = 0;
    let wanted = 1;
    while (count < wanted) {
      const offset = this.wasm.shaveTranslate(core, (pc + 4 * count) >>> 0, 4);
      // Unmapped, or DDR never written (it reads as zero, which is no bundle): the code ends.
      if (offset < 0) break;
      BUNDLE_WORDS[count++] = this.memory.view.getUint32(offset, true);
      if (count === 1) for (let units = BUNDLE_WORDS[0]! & 0xff; units; units &= units - 1) wanted++;
    }
    return count;
  }
}

/** The words of the bundle being decoded: a header and at most eight slot words. */
const BUNDLE_WORDS = new Uint32Array(9);


/** The bytes of a slot in the core's cache entry (core.ts SLOT_SIZE: op u16, a, b, c, unit, latency, direct u8, imm i32). */
const SLOT_BYTES = 12;

/** Bundles decoded and cached per miss: the one missed and those after it. */
const PREFETCH_BUNDLES = 16;

/** What the core's cache needs of one bundle: shaveDefine's and each shaveDefineSlot's arguments. */
interface DecodedEntry {
  readonly cycles: number;
  readonly next: number;
  readonly peu: number;
  readonly units: number;
  readonly slots: readonly (readonly [op: number, a: number, b: number, c: number, unit: number, latency: number, imm: number, direct: number])[];
  /** The slots as the core's cache entry holds them (SLOT_SIZE bytes each, see shaveDefineSlot). */
  readonly image: Uint8Array;
}

/**
 * Decoded bundles by address, with the words they were decoded from, shared by every core in
 * the process: firmware starts the same kernels again and again, and each start empties a
 * core's bundle cache (as the silicon's instruction cache is flushed), so without this a short
 * kernel spends most of its time being decoded. Equal address and words decode equally. Bounded:
 * a few versions per address, and cleared when full.
 */
const DECODED = new Map<number, { readonly words: Uint32Array; readonly entry: DecodedEntry | null }[]>();
const MAX_DECODED = 65_536;
/** Different code at one address (cores whose windows differ): this many versions are kept. */
const VERSIONS = 4;

/** The entry for the `count` words in BUNDLE_WORDS at `pc`, or null when they do not decode. */
function decodedEntry(pc: number, count: number): DecodedEntry | null {
  const versions = DECODED.get(pc) ?? [];
  const known = versions.find((v) => v.words.length === count && v.words.every((word, n) => word === BUNDLE_WORDS[n]));
  if (known) return known.entry;
  if (DECODED.size >= MAX_DECODED) DECODED.clear();
  const words = BUNDLE_WORDS.slice(0, count);
  let entry: DecodedEntry | null = null;
  try {
    entry = describe(decodeBundle(new Uint8Array(words.buffer), 0, pc));
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
  }
  DECODED.set(pc, [{ words, entry }, ...versions.slice(0, VERSIONS - 1)]);
  return entry;
}

function describe(bundle: DecodedBundle): DecodedEntry {
  checkLanes(bundle);
  const peu = bundle.ops.find((op) => op.unit === 'peu');
  const others = bundle.ops.filter((op) => op.unit !== 'peu');
  const slots = others.map((op, index) => {
    const registers: number[] = [];
    let imm = 0;
    op.spec.operands.forEach((kind, n) => {
      if (kind === 'i' || kind === 's' || kind === 'v') registers.push(op.values[n]!);
      else imm = op.values[n]! | 0;
    });
    let [a = 0, b = 0, c = 0] = registers;
    if (op.spec.table === 'lsu' && op.spec.name === 'ldil') {
      // An ldih of the same register beside it: the two halves compose, whatever the slot order.
      c = others.some((other) => other.spec.name === 'ldih' && tableOf(other.unit) === 'lsu' && other.values[0] === a) ? 1 : 0;
    } else if (op.spec.table === 'lsu' && op.spec.name !== 'ldih') {
      c = lsuForm(op.spec.name);
    }
    const latency = latencyOf(op.spec);
    return [SPEC_IDS.get(op.spec)!, a, b, c, UNITS.indexOf(op.unit), latency, imm, writesDirectly(op, latency, others.slice(index + 1)) ? 1 : 0] as const;
  });
  const image = new Uint8Array(slots.length * SLOT_BYTES);
  const view = new DataView(image.buffer);
  slots.forEach(([op, a, b, c, unit, latency, imm, direct], n) => {
    const at = n * SLOT_BYTES;
    view.setUint16(at, op, true);
    image.set([a, b, c, unit, latency, direct], at + 2);
    view.setInt32(at + 8, imm, true);
  });
  return {
    image,
    cycles: 1 + bundle.idle,
    next: (bundle.address + bundle.bytes) >>> 0,
    peu: peu ? peu.values[0]! : -1,
    units: bundle.ops.reduce((mask, op) => mask | (1 << UNITS.indexOf(op.unit)), 0),
    slots,
  };
}

/**
 * The register an operation writes with latency 1 (operand index), if any: the destination of
 * IAU, SAU, VAU and CMU operations, ldil/ldih's register, and the address register that
 * ldi/sti move on. Compares write the condition codes instead (-1).
 */
function latencyOneWrite(op: DecodedOp): number | null {
  const name = op.spec.name;
  if (op.spec.table === 'lsu') return name === 'ldil' || name === 'ldih' ? 0 : name.startsWith('ldi.') || name.startsWith('sti.') ? 1 : null;
  if (op.spec.table === 'peu' || op.spec.table === 'bru') return null;
  const kind = op.spec.operands[0];
  return kind === 'i' || kind === 's' || kind === 'v' ? 0 : -1;
}

/**
 * Whether an operation's latency-1 result may be written while the bundle runs instead of
 * queued: no later operation of the bundle names that register at all (so none reads it
 * early). A bundle that faults later takes such writes back.
 */
function writesDirectly(op: DecodedOp, latency: number, later: readonly DecodedOp[]): boolean {
  const target = latencyOneWrite(op);
  if (latency !== 1 || target === null) return false;
  if (target < 0) return true; // the condition codes: no later unit reads them
  const kind = op.spec.operands[target]!;
  const register = op.values[target];
  return !later.some((other) => other.spec.operands.some((k, n) => k === kind && other.values[n] === register));
}

/** A lane index past the lanes of its type is an undefined encoding. */
function checkLanes(bundle: DecodedBundle): void {
  for (const op of bundle.ops) {
    const lane = op.spec.operands.indexOf('lane');
    if (lane < 0) continue;
    const bytes = LANE_BYTES[op.spec.name.split('.')[1]!]!;
    if (op.values[lane]! >= 16 / bytes) throw new DecodeError(bundle.address, `${op.unit}.${op.spec.name} has no lane ${op.values[lane]}`);
  }
}
