/**
 * Runs compiled rpl loops for one machine's SHAVE cores: when a core reaches the start of a
 * pass (RUN_LOOP), reads the loop body from the core's bundle cache, compiles it (or finds it
 * compiled: modules are shared by every machine in the process), and runs it. It learns from
 * what the compiled code reports: a fact that did not hold is turned round and the loop
 * compiled again; a loop that keeps failing is left to the interpreter for the rest of the run.
 */
import type { SharedMemory } from '../../memory/shared-memory.js';
import { compileLoop, declineReason, isMemoryOp, LOOP_FACT, LOOP_MISMATCH, type BodyBundle, type CompiledLoop, type CoreLayout, type LoopBody, type LoopFacts, type MemoryMap } from './loop-compiler.js';
import type { BodySlot } from './templates.js';

/** The layout the runner reads (beside CoreLayout), from assembly/shave/core.ts's exports. */
export interface RunnerLayout extends CoreLayout {
  readonly SHAVE_STATE: number; readonly CORE_STRIDE: number; readonly STAMP: number; readonly DEFINITIONS: number; readonly LOOP_START: number;
  readonly E_STAMP: number; readonly E_COUNT: number; readonly E_CYCLES: number; readonly E_NEXT: number; readonly E_PEU: number;
  readonly E_SLOTS: number; readonly SLOT_SIZE: number; readonly E_JIT: number; readonly E_ACCESS0: number; readonly E_ACCESS1: number;
  readonly E_WORDS: number; readonly E_CODE: number; readonly E_FIRST: number; readonly E_SERIAL: number; readonly OFFER: number; readonly OFFER_FIRST: number;
  readonly JIT_UNKNOWN: number; readonly JIT_DECLINED: number; readonly CMX_SLICES: number;
}

/** The longest body compiled, in bundles. */
const MAX_BODY = 64;
/** Times a loop's ring may not match, or its facts be wrong, before it is left to the interpreter. */
const MAX_MISMATCHES = 4;
const MAX_COMPILES = 4;
/** Times in a row a first pass may not match before first passes are left to the interpreter. */
const MAX_FIRST_MISMATCHES = 4;
/** Loops remembered per core (then it starts afresh). */
const MAX_BINDINGS = 256;
/** Compiled modules kept in the process (then the registry starts afresh). */
const MAX_MODULES = 1024;
/** The first id a compiled loop gets (0 and 1 are JIT_UNKNOWN and JIT_DECLINED). */
const FIRST_ID = 2;

/** Compiled modules by body, facts, entry and memory map, shared by every machine in the process. */
const MODULES = new Map<string, number>();
const BY_ID = new Map<number, { readonly module: WebAssembly.Module; readonly firstPassEntry: number } | null>();
let nextId = FIRST_ID;

/**
 * What the runner knows of the loop starting at a pc of one core. It outlives starts and
 * resets of the core: a body is the same body while the words of its bundles are the same, so
 * what was compiled for it (and learnt about its facts) is used again at the next start.
 */
interface Binding {
  /** The fill of the core's cache (STAMP) and its definition count the body was last checked under. */
  stamp: number;
  definitions: number;
  readonly bodyKey: string;
  readonly body: LoopBody;
  /** The words of each bundle of the body (E_WORDS, E_CODE), and the E_SERIAL it was last checked under. */
  readonly words: readonly Uint32Array[];
  readonly serials: number[];
  facts: LoopFacts;
  /** The STAMP of the last start whose first pass the facts were checked against. */
  profiled: number;
  /** The module for runs from the start of a pass, and for runs from `firstPc` in the first pass (0: none yet). */
  id: number;
  firstId: number;
  /** Where compiled code can take over in the first pass (the pc of that bundle; 0: it cannot, or not known yet). */
  firstPc: number;
  firstEntry: number;
  mismatches: number;
  firstMismatches: number;
  compiles: number;
}

export class LoopRunner {
  private readonly bindings: Map<number, Binding>[];
  private readonly instances = new Map<number, CompiledLoop>();
  private readonly mapKey: string;
  /** Compiled runs that ended normally (for tests). */
  compiledRuns = 0;
  /** Of those, the runs that began in a loop's first pass (for tests). */
  firstPassRuns = 0;
  /**
   * The last error compiling or instantiating a loop: a bug of the compiler. The loop is then
   * left to the interpreter, so the machine goes on; the differential test checks there is none.
   */
  compileError: Error | null = null;

  constructor(
    private readonly memory: SharedMemory,
    private readonly layout: RunnerLayout,
    private readonly map: MemoryMap,
    cores: number,
  ) {
    this.bindings = Array.from({ length: cores }, () => new Map());
    this.mapKey = JSON.stringify(map);
  }

  /** The core is at the start of a pass of the loop at its PC, or at its first-pass hand-over: run compiled passes if it can. */
  run(core: number, end: number): void {
    const { layout } = this;
    const base = layout.SHAVE_STATE + core * layout.CORE_STRIDE;
    if (this.u32(base + layout.OFFER) === layout.OFFER_FIRST) return this.runFirst(core, base, end);
    const pc = this.u32(base + layout.PC);
    const entry = this.entryAt(base, pc);
    const stamp = this.u32(base + layout.STAMP);
    let binding = this.bindings[core]!.get(pc);
    if (!binding || !this.current(base, binding, stamp)) {
      const body = this.readBody(base, pc, this.u32(base + layout.LOOP_END), stamp);
      if (!body || declineReason(body) !== null) return this.mark(entry, layout.JIT_DECLINED);
      const bodyKey = JSON.stringify(body.bundles);
      if (binding && binding.bodyKey === bodyKey) {
        this.remember(base, binding, stamp);
      } else {
        binding = {
          stamp, definitions: 0, bodyKey, body, words: body.bundles.map((bundle) => this.wordsOf(this.entryAt(base, bundle.pc))), serials: [], facts: this.profile(base, body), profiled: stamp,
          id: 0, firstId: 0, firstPc: 0, firstEntry: -1, mismatches: 0, firstMismatches: 0, compiles: 0,
        };
        this.remember(base, binding, stamp);
        // Firmware that starts kernel after kernel at new addresses must not grow this forever.
        if (this.bindings[core]!.size >= MAX_BINDINGS) this.bindings[core]!.clear();
        this.bindings[core]!.set(pc, binding);
      }
    }
    if (binding.profiled !== stamp) {
      // The first time round in this start (the first pass was interpreted): the data may be
      // elsewhere now, so the facts come from that pass as for a new loop (their modules may be known).
      binding.profiled = stamp;
      const facts = this.profile(base, binding.body);
      const same = (x: readonly boolean[], y: readonly boolean[]) => x.length === y.length && x.every((v, k) => v === y[k]);
      if (!same(facts.ddr, binding.facts.ddr) || !same(facts.stall, binding.facts.stall)) {
        binding.facts = facts;
        binding.id = 0;
        binding.firstId = 0;
      }
    }
    if (binding.id === 0) {
      if (binding.compiles >= MAX_COMPILES) return this.mark(entry, layout.JIT_DECLINED);
      binding.compiles++;
      binding.id = this.compiled(binding, 0);
      binding.firstId = 0;
      if (binding.id === layout.JIT_DECLINED) return this.mark(entry, layout.JIT_DECLINED);
      binding.firstEntry = BY_ID.get(binding.id)?.firstPassEntry ?? -1;
      binding.firstPc = binding.firstEntry >= 0 && binding.firstMismatches < MAX_FIRST_MISMATCHES ? binding.body.bundles[binding.firstEntry]!.pc : 0;
    }
    // A new start of the core empties its cache; the loop keeps its compiled code.
    if (this.u32(entry + layout.E_JIT) !== binding.id) this.mark(entry, binding.id);
    if (this.u32(entry + layout.E_FIRST) !== binding.firstPc) this.memory.view.setUint32(entry + layout.E_FIRST, binding.firstPc, true);
    const run = this.instance(binding.id);
    if (!run) {
      // The process's registry started afresh (compile again), or instantiating failed.
      binding.id = 0;
      return this.mark(entry, this.compileError ? layout.JIT_DECLINED : layout.JIT_UNKNOWN);
    }
    const result = run(base, end);
    if (result === LOOP_MISMATCH) {
      if (++binding.mismatches >= MAX_MISMATCHES) this.mark(entry, layout.JIT_DECLINED);
    } else if (result >= LOOP_FACT) {
      this.turnFact(binding, result - LOOP_FACT);
      this.mark(entry, layout.JIT_UNKNOWN);
    } else {
      binding.mismatches = 0;
      this.compiledRuns++;
    }
  }

  /**
   * The core reached the bundle where compiled code can take over in a loop's first pass
   * (E_FIRST, set by run() above): run from there if the loop is the one compiled, unchanged.
   * The interpreter goes on with the pass otherwise; nothing here declines the loop.
   */
  private runFirst(core: number, base: number, end: number): void {
    const { layout } = this;
    const start = this.u32(base + layout.LOOP_START);
    const entry = this.entryAt(base, start);
    const binding = this.bindings[core]!.get(start);
    const stamp = this.u32(base + layout.STAMP);
    if (!binding || binding.id === 0 || binding.firstPc === 0 || binding.firstPc !== this.u32(base + layout.PC) || !this.current(base, binding, stamp)) {
      // Not what the mark promised (the loop's code changed, or was compiled again): no more offers until run() marks it again.
      if (this.u32(entry) === ((start | 1) >>> 0) && this.u32(entry + layout.E_STAMP) === stamp) this.memory.view.setUint32(entry + layout.E_FIRST, 0, true);
      return;
    }
    if (binding.firstId === 0) binding.firstId = this.compiled(binding, binding.firstEntry);
    const run = binding.firstId === layout.JIT_DECLINED ? null : this.instance(binding.firstId);
    if (!run) {
      binding.firstPc = 0;
      this.memory.view.setUint32(entry + layout.E_FIRST, 0, true);
      return;
    }
    const result = run(base, end);
    if (result === LOOP_MISMATCH) {
      // What the code before the loop issued is still in flight: the interpreter finishes the pass.
      if (++binding.firstMismatches >= MAX_FIRST_MISMATCHES) {
        binding.firstPc = 0;
        this.memory.view.setUint32(entry + layout.E_FIRST, 0, true);
      }
    } else if (result >= LOOP_FACT) {
      this.turnFact(binding, result - LOOP_FACT);
      this.mark(entry, layout.JIT_UNKNOWN);
    } else {
      binding.firstMismatches = 0;
      this.compiledRuns++;
      this.firstPassRuns++;
    }
  }

  /** What the code assumed did not hold: compile again with that fact turned round. */
  private turnFact(binding: Binding, fact: number): void {
    const ddr = [...binding.facts.ddr];
    const stall = [...binding.facts.stall];
    if (fact < ddr.length) ddr[fact] = !ddr[fact];
    else stall[fact - ddr.length] = !stall[fact - ddr.length];
    binding.facts = { ddr, stall };
    binding.id = 0;
    binding.firstId = 0;
  }

  /**
   * Whether the core's cache still holds the binding's body: each bundle in the current fill,
   * and either not defined again since the last check or (after a start) from the same words.
   */
  private current(base: number, binding: Binding, stamp: number): boolean {
    const { layout } = this;
    const definitions = this.u32(base + layout.DEFINITIONS);
    if (binding.stamp === stamp && binding.definitions === definitions) return true;
    const bundles = binding.body.bundles;
    let same = true;
    for (let k = 0; k < bundles.length; k++) {
      const entry = this.entryAt(base, bundles[k]!.pc);
      if (this.u32(entry) !== ((bundles[k]!.pc | 1) >>> 0) || this.u32(entry + layout.E_STAMP) !== stamp) return false;
      if (this.u32(entry + layout.E_SERIAL) === binding.serials[k]) continue;
      const words = binding.words[k]!;
      if (this.u32(entry + layout.E_WORDS) !== words.length) return false;
      for (let w = 0; w < words.length; w++) if (this.u32(entry + layout.E_CODE + 4 * w) !== words[w]) same = false;
      if (!same) return false;
    }
    this.remember(base, binding, stamp);
    return true;
  }

  /** The binding was checked against the cache as it is now. */
  private remember(base: number, binding: Binding, stamp: number): void {
    if (binding.stamp !== stamp) {
      // A new start: the loop may meet other data (other facts), so it gets its chances again.
      binding.mismatches = 0;
      binding.firstMismatches = 0;
      binding.compiles = 0;
    }
    binding.stamp = stamp;
    binding.definitions = this.u32(base + this.layout.DEFINITIONS);
    binding.body.bundles.forEach((bundle, k) => (binding.serials[k] = this.u32(this.entryAt(base, bundle.pc) + this.layout.E_SERIAL)));
  }

  private wordsOf(entry: number): Uint32Array {
    const count = this.u32(entry + this.layout.E_WORDS);
    return Uint32Array.from({ length: count }, (_, w) => this.u32(entry + this.layout.E_CODE + 4 * w));
  }

  /** The module for a binding's body and facts, run from bundle `entry`: found, or compiled now; JIT_DECLINED when it cannot be. */
  private compiled(binding: Binding, entry: number): number {
    const key = `${this.mapKey}|${JSON.stringify(binding.facts)}|${entry}|${binding.bodyKey}`;
    const known = MODULES.get(key);
    if (known !== undefined && BY_ID.has(known)) return BY_ID.get(known) ? known : this.layout.JIT_DECLINED;
    if (MODULES.size >= MAX_MODULES) {
      MODULES.clear();
      BY_ID.clear();
    }
    let compiled: { module: WebAssembly.Module; firstPassEntry: number } | null = null;
    try {
      compiled = compileLoop(binding.body, binding.facts, this.layout, this.map, entry);
    } catch (error) {
      this.compileError = error as Error;
    }
    const id = nextId++;
    MODULES.set(key, id);
    BY_ID.set(id, compiled);
    return compiled ? id : this.layout.JIT_DECLINED;
  }

  private instance(id: number): CompiledLoop | null {
    let run = this.instances.get(id);
    if (!run) {
      const module = BY_ID.get(id)?.module;
      if (!module) return null;
      try {
        run = new WebAssembly.Instance(module, { env: { memory: this.memory.wasm } }).exports.run as CompiledLoop;
      } catch (error) {
        this.compileError = error as Error;
        BY_ID.set(id, null);
        return null;
      }
      if (this.instances.size >= MAX_MODULES) this.instances.clear();
      this.instances.set(id, run);
    }
    return run;
  }

  /** The body from the core's cache, or null when a bundle of it is not there (or it is too long). */
  private readBody(base: number, start: number, end: number, stamp: number): LoopBody | null {
    const { layout } = this;
    const bundles: BodyBundle[] = [];
    for (let pc = start; pc !== end; ) {
      const entry = this.entryAt(base, pc);
      if (bundles.length >= MAX_BODY || this.u32(entry) !== ((pc | 1) >>> 0) || this.u32(entry + layout.E_STAMP) !== stamp) return null;
      const slots: BodySlot[] = [];
      for (let k = 0; k < this.u32(entry + layout.E_COUNT); k++) {
        const at = entry + layout.E_SLOTS + k * layout.SLOT_SIZE;
        const bytes = this.memory.bytes;
        slots.push({ id: this.memory.view.getUint16(at, true), a: bytes[at + 2]!, b: bytes[at + 3]!, c: bytes[at + 4]!, unit: bytes[at + 5]!, latency: bytes[at + 6]!, imm: this.memory.view.getInt32(at + 8, true) });
      }
      bundles.push({ pc, cycles: this.u32(entry + layout.E_CYCLES), peu: this.memory.view.getInt32(entry + layout.E_PEU, true), slots });
      const next = this.u32(entry + layout.E_NEXT);
      if (next <= pc && next !== end) return null;
      pc = next;
    }
    return { start, end, bundles };
  }

  /** Facts from where each bundle's LSUs went the last time the interpreter ran it. */
  private profile(base: number, body: LoopBody): LoopFacts {
    const { layout } = this;
    const ddr: boolean[] = [];
    const stall: boolean[] = [];
    for (const bundle of body.bundles) {
      const entry = this.entryAt(base, bundle.pc);
      const regions = [this.memory.view.getInt32(entry + layout.E_ACCESS0, true), this.memory.view.getInt32(entry + layout.E_ACCESS1, true)];
      // LSU0 is unit 2, LSU1 unit 3 (isa.ts UNITS).
      for (const slot of bundle.slots) if (isMemoryOp(slot)) ddr.push(regions[slot.unit - 2]! >= layout.CMX_SLICES);
      stall.push(regions[0]! >= 0 && regions[0] === regions[1] && regions[0]! < layout.CMX_SLICES);
    }
    return { ddr, stall };
  }

  private entryAt(base: number, pc: number): number {
    const { layout } = this;
    return base + layout.CACHE + ((pc >>> 2) & (layout.CACHE_ENTRIES - 1)) * layout.ENTRY_SIZE;
  }

  private mark(entry: number, jit: number): void {
    this.memory.view.setUint32(entry + this.layout.E_JIT, jit, true);
  }

  private u32(at: number): number {
    return this.memory.view.getUint32(at, true);
  }
}
