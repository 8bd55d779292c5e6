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
  readonly SHAVE_STATE: number; readonly CORE_STRIDE: number; readonly EPOCH: number; readonly DEFINITIONS: number; readonly LOOP_START: number;
  readonly E_EPOCH: number; readonly E_COUNT: number; readonly E_CYCLES: number; readonly E_NEXT: number; readonly E_PEU: number;
  readonly E_SLOTS: number; readonly SLOT_SIZE: number; readonly E_JIT: number; readonly E_ACCESS0: number; readonly E_ACCESS1: number;
  readonly JIT_UNKNOWN: number; readonly JIT_DECLINED: number; readonly CMX_SLICES: number;
}

/** The longest body compiled, in bundles. */
const MAX_BODY = 64;
/** Times a loop's ring may not match, or its facts be wrong, before it is left to the interpreter. */
const MAX_MISMATCHES = 4;
const MAX_COMPILES = 4;
/** Loops remembered per core (then it starts afresh). */
const MAX_BINDINGS = 256;
/** Compiled modules kept in the process (then the registry starts afresh). */
const MAX_MODULES = 1024;
/** The first id a compiled loop gets (0 and 1 are JIT_UNKNOWN and JIT_DECLINED). */
const FIRST_ID = 2;

/** Compiled modules by body, facts and memory map, shared by every machine in the process. */
const MODULES = new Map<string, number>();
const BY_ID = new Map<number, WebAssembly.Module | null>();
let nextId = FIRST_ID;

interface Binding {
  epoch: number;
  definitions: number;
  readonly bodyKey: string;
  readonly body: LoopBody;
  facts: LoopFacts;
  id: number;
  mismatches: number;
  compiles: number;
}

export class LoopRunner {
  private readonly bindings: Map<number, Binding>[];
  private readonly instances = new Map<number, CompiledLoop>();
  private readonly mapKey: string;
  /** Compiled runs that ended normally (for tests). */
  compiledRuns = 0;
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

  /**
   * The core's state was reset or replaced: its epoch and definition counts start again, so
   * what was bound to them no longer says anything.
   */
  forget(core: number): void {
    this.bindings[core]?.clear();
  }

  /** The core is at the start of a pass of the loop at its PC: run compiled passes if it can. */
  run(core: number, end: number): void {
    const { layout } = this;
    const base = layout.SHAVE_STATE + core * layout.CORE_STRIDE;
    const pc = this.u32(base + layout.PC);
    const entry = this.entryAt(base, pc);
    const epoch = this.u32(base + layout.EPOCH);
    const definitions = this.u32(base + layout.DEFINITIONS);
    let binding = this.bindings[core]!.get(pc);
    if (!binding || binding.epoch !== epoch || binding.definitions !== definitions) {
      const body = this.readBody(base, pc, this.u32(base + layout.LOOP_END), epoch);
      if (!body || declineReason(body) !== null) return this.mark(entry, layout.JIT_DECLINED);
      const bodyKey = JSON.stringify(body.bundles);
      if (binding && binding.bodyKey === bodyKey) {
        binding.epoch = epoch;
        binding.definitions = definitions;
      } else {
        binding = { epoch, definitions, bodyKey, body, facts: this.profile(base, body), id: 0, mismatches: 0, compiles: 0 };
        // Firmware that starts kernel after kernel at new addresses must not grow this forever.
        if (this.bindings[core]!.size >= MAX_BINDINGS) this.bindings[core]!.clear();
        this.bindings[core]!.set(pc, binding);
      }
    }
    if (binding.id === 0) {
      if (binding.compiles >= MAX_COMPILES) return this.mark(entry, layout.JIT_DECLINED);
      binding.compiles++;
      binding.id = this.compiled(binding);
      if (binding.id === layout.JIT_DECLINED) return this.mark(entry, layout.JIT_DECLINED);
    }
    // A new start of the core empties its cache; the loop keeps its compiled code.
    if (this.u32(entry + layout.E_JIT) !== binding.id) this.mark(entry, binding.id);
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
      // What the code assumed did not hold: compile again with that fact turned round.
      const fact = result - LOOP_FACT;
      const ddr = [...binding.facts.ddr];
      const stall = [...binding.facts.stall];
      if (fact < ddr.length) ddr[fact] = !ddr[fact];
      else stall[fact - ddr.length] = !stall[fact - ddr.length];
      binding.facts = { ddr, stall };
      binding.id = 0;
      this.mark(entry, layout.JIT_UNKNOWN);
    } else {
      binding.mismatches = 0;
      this.compiledRuns++;
    }
  }

  /** The module for a binding's body and facts: found, or compiled now; JIT_DECLINED when it cannot be. */
  private compiled(binding: Binding): number {
    const key = `${this.mapKey}|${JSON.stringify(binding.facts)}|${binding.bodyKey}`;
    const known = MODULES.get(key);
    if (known !== undefined && BY_ID.has(known)) return BY_ID.get(known) ? known : this.layout.JIT_DECLINED;
    if (MODULES.size >= MAX_MODULES) {
      MODULES.clear();
      BY_ID.clear();
    }
    let module: WebAssembly.Module | null = null;
    try {
      module = compileLoop(binding.body, binding.facts, this.layout, this.map);
    } catch (error) {
      this.compileError = error as Error;
    }
    const id = nextId++;
    MODULES.set(key, id);
    BY_ID.set(id, module);
    return module ? id : this.layout.JIT_DECLINED;
  }

  private instance(id: number): CompiledLoop | null {
    let run = this.instances.get(id);
    if (!run) {
      const module = BY_ID.get(id);
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
  private readBody(base: number, start: number, end: number, epoch: number): LoopBody | null {
    const { layout } = this;
    const bundles: BodyBundle[] = [];
    for (let pc = start; pc !== end; ) {
      const entry = this.entryAt(base, pc);
      if (bundles.length >= MAX_BODY || this.u32(entry) !== ((pc | 1) >>> 0) || this.u32(entry + layout.E_EPOCH) !== epoch) return null;
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
