/**
 * The loop compiler: the body of an rpl loop, as the core's bundle cache holds it, becomes one
 * WebAssembly function that runs its passes until the loop ends, the cycle budget would run
 * out, or something happens that the compiled code does not handle; then it hands the core
 * back to the interpreter in exactly the state the interpreter would have reached.
 *
 * Why it is fast: in a loop whose body has no branches and no predication, every result lands
 * at a cycle known when compiling (issue cycle plus latency), once the regions that loads
 * reach and the stalls of the bundles are known. So the compiled code keeps results in flight
 * in WebAssembly locals and stores them to the register file at the point in the code where
 * they land, instead of going through the interpreter's ring of pending writes; and there is
 * no decoding or dispatch left.
 *
 * What it assumes (the "facts") comes from the interpreter's last pass (the regions each LSU
 * reached, E_ACCESS0/1) and is checked before every bundle that could break it: an address in
 * the other region kind, or a stall that did or did not happen, ends the compiled run before
 * that bundle (LOOP_FACT) and the loop is compiled again with the fact turned round. Faults
 * (misaligned, unmapped, DDR not committed yet) also end it before the bundle, which the
 * interpreter then runs and faults on as always.
 *
 * Handing over: results in flight go into the interpreter's ring, with their landing cycles
 * and issue stamps; counters (cycles, bundles, stalls, each bundle's runs, memory traffic) are
 * brought up to date. Taking over at the start of a pass checks that the ring holds exactly the
 * results in flight the compiled code expects there, and takes them out of it.
 */
import { ALL_OPS, LOAD_LATENCY, lsuFormFields, opIdentifier } from '../isa.js';
import { TEMPLATE_IDS, type BodySlot, type Operands, type RegisterFile } from './templates.js';
import { buildModule, F64, FunctionCode, I32, I64, V128 } from './wasm-builder.js';

/** Offsets of the core's state the compiled code uses (assembly/shave/core.ts exports them). */
export interface CoreLayout {
  readonly IRF: number; readonly SRF: number; readonly VRF: number; readonly FLAGS: number; readonly PC: number;
  readonly CYCLES: number; readonly BUNDLES: number; readonly STALLS: number; readonly LOOP_END: number; readonly LOOP_COUNT: number;
  readonly WINDOWS: number; readonly DDR_READ: number; readonly DDR_WRITE: number; readonly CMX_READ: number; readonly CMX_WRITE: number;
  readonly PENDING: number; readonly RING_SCALAR_COUNT: number; readonly RING_VECTOR_COUNT: number;
  readonly RING_SLOTS: number; readonly RING_SCALAR: number; readonly SCALAR_DEPTH: number; readonly SCALAR_ENTRY: number;
  readonly RING_VECTOR: number; readonly VECTOR_DEPTH: number; readonly VECTOR_ENTRY: number;
  readonly CACHE: number; readonly CACHE_ENTRIES: number; readonly ENTRY_SIZE: number; readonly E_RUNS: number;
}

/** Where CMX and DDR are, on the bus and in the WebAssembly memory. */
export interface MemoryMap {
  readonly cmxBus: number; readonly cmxAlias: number; readonly cmxOffset: number; readonly cmxSize: number;
  readonly ddrBus: number; readonly ddrAlias: number; readonly ddrOffset: number; readonly ddrSize: number;
}

/** The compiled module imports the memory with the largest maximum there is, so any machine's fits. */
const MAX_PAGES = 65536;

export interface BodyBundle {
  readonly pc: number;
  /** 1 + idle cycles. */
  readonly cycles: number;
  /** The PEU condition, -1 when the bundle has none. */
  readonly peu: number;
  readonly slots: readonly BodySlot[];
}

export interface LoopBody {
  /** The address of the first bundle of the body and the address the loop ends at. */
  readonly start: number;
  readonly end: number;
  readonly bundles: readonly BodyBundle[];
}

/** What the compiled code assumes: per load or store (in body order), DDR or CMX; per bundle, a stall or not. */
export interface LoopFacts {
  readonly ddr: readonly boolean[];
  readonly stall: readonly boolean[];
}

/** What a compiled loop returns. */
const LOOP_DONE = 0; // the last pass ran; the core is after the loop
const LOOP_BUDGET = 1; // the next pass would not fit in the cycles given
export const LOOP_MISMATCH = 2; // the ring did not hold what the compiled code expects; nothing changed
const LOOP_SIDE_EXIT = 3; // a bundle the interpreter must run (a fault, DDR to commit)
export const LOOP_FACT = 16; // + fact index (ddr facts, then stall facts): that fact did not hold

/** A compiled loop's function: the core's state offset and the cycle the run must stop by. */
export type CompiledLoop = (base: number, end: number) => number;

interface MemoryOp {
  readonly index: number; // among the body's memory operations (its ddr fact)
  readonly slot: BodySlot;
  readonly size: number;
  readonly post: boolean;
  readonly store: boolean;
  readonly signed: boolean;
  readonly file: number;
  readonly ddr: boolean;
  /** Locals: the address, the WebAssembly offset, the CMX slice. */
  address: number;
  offset: number;
  slice: number;
  /**
   * Locals counting a CMX access's traffic without touching memory: the slice of the run of
   * passes it has stayed in (-1 before its first access) and the pass that run began in. The
   * bytes go into CMX_READ/CMX_WRITE when the slice changes and when the compiled run ends.
   */
  runSlice: number;
  runFrom: number;
  /**
   * Locals: the addresses that reach the same CMX slice (or DDR) through the same window as the
   * last access, rangeStart + [0, rangeLength), and what to add to one of them for its offset.
   * Window registers and committed memory do not change while compiled code runs, so an address
   * in that range needs none of the checks (rangeLength 0 before the first access).
   */
  rangeStart: number;
  rangeLength: number;
  delta: number;
  /** For a store: the value to store. */
  value: number;
}

/** A result issued in the body. */
interface Write {
  readonly order: number; // issue order within the pass
  readonly at: number; // state offset of the register
  readonly vector: boolean;
  readonly mask: number | readonly [number, number, number, number] | undefined;
  readonly issue: number; // cycle within the pass
  readonly lands: number; // cycle within the pass; past the pass length: in the next pass
  readonly local: number;
}

/** What an LSU operation is: a load or store, ldil or ldih; null for the other units. */
function lsuKind(slot: BodySlot): 'memory' | 'ldil' | 'ldih' | null {
  const spec = ALL_OPS[slot.id]!;
  if (spec.table !== 'lsu') return null;
  return spec.name === 'ldil' ? 'ldil' : spec.name === 'ldih' ? 'ldih' : 'memory';
}

/** Why a body cannot be compiled, or null. */
export function declineReason(body: LoopBody): string | null {
  if (body.bundles.length === 0) return 'empty body';
  for (const bundle of body.bundles) {
    if (bundle.peu >= 0) return 'predicated bundle';
    for (const slot of bundle.slots) {
      const spec = ALL_OPS[slot.id];
      if (!spec) return `operation ${slot.id}`;
      if (spec.table === 'bru') return 'branch in the body';
      if (!lsuKind(slot) && !TEMPLATE_IDS.has(slot.id)) return `no template for ${opIdentifier(spec)}`;
    }
  }
  return null;
}

/** Whether an operation is a load or store (one ddr fact each, in body order). */
export const isMemoryOp = (slot: BodySlot): boolean => lsuKind(slot) === 'memory';

/** A compiled loop, and where in its first pass a run may take over from the interpreter. */
export interface CompiledModule {
  readonly module: WebAssembly.Module;
  /**
   * The first bundle (index) at whose start no result of an earlier pass is in flight: a run
   * can begin there in the loop's first pass once what the code before the loop issued has
   * landed (compile with `entry` set to it). -1 when there is none.
   */
  readonly firstPassEntry: number;
}

/**
 * Compiles a body (declineReason must be null) under `facts` into a module whose `run` is a
 * CompiledLoop (it imports the machine's memory as env.memory); null when a result of the body
 * would stay in flight for more than one pass. The run begins at the start of bundle `entry` of
 * a pass (the core's PC is that bundle; the interpreter has landed what lands up to then); it
 * checks that the ring holds exactly the results the body has in flight there.
 */
export function compileLoop(body: LoopBody, facts: LoopFacts, layout: CoreLayout, map: MemoryMap, entry = 0): CompiledModule | null {
  const n = body.bundles.length;
  if (!Number.isInteger(entry) || entry < 0 || entry >= n) throw new RangeError(`entry ${entry} is not a bundle of a body of ${n}`);
  const code = new FunctionCode([I32, F64]);
  const BASE = 0;
  const END_PARAM = 1;
  const end = code.local(I64);
  const cycle = code.local(I64);
  const count = code.local(I32);
  const passes = code.local(I32);
  const position = code.local(I32);
  const reason = code.local(I32);
  const scratch = code.local(I32);
  const bus = code.local(I32);
  const pendingBits = code.local(I32);
  /** The bytes of memory there are (committed DDR ends there); nothing grows it while the compiled code runs. */
  const memoryBytes = code.local(I64);
  const regionsApart = apart();
  const rangeEnd = code.local(I32);

  // ---- the schedule: when each bundle starts within a pass, and how long a pass is
  const starts: number[] = [];
  let time = 0;
  const stalls: boolean[] = [];
  let memoryIndex = 0;
  const memoryOps: MemoryOp[][] = body.bundles.map((bundle, j) => {
    const ops = bundle.slots.filter((s) => lsuKind(s) === 'memory').map((slot) => {
      // The decoder put the operation's form (isa.ts lsuForm) in the slot's third field.
      const op: MemoryOp = {
        index: memoryIndex, slot, ...lsuFormFields(slot.c), ddr: facts.ddr[memoryIndex] ?? false,
        address: code.local(I32), offset: code.local(I32), slice: code.local(I32), value: -1, runSlice: code.local(I32), runFrom: code.local(I32),
        rangeStart: code.local(I32), rangeLength: code.local(I32), delta: code.local(I32),
      };
      memoryIndex++;
      return op;
    });
    // Both LSUs in one CMX slice: a stall cycle (only two CMX accesses can stall).
    stalls.push(ops.length === 2 && !ops[0]!.ddr && !ops[1]!.ddr && (facts.stall[j] ?? false));
    return ops;
  });
  body.bundles.forEach((bundle, j) => {
    starts.push(time);
    time += (stalls[j] ? 1 : 0) + bundle.cycles;
  });
  const period = time;
  starts.push(period);

  // ---- the results each bundle issues, and where they land
  const operands: Operands = {
    code,
    irf: (r) => void code.get(BASE).memory('i32.load', layout.IRF + 4 * r),
    srf: (r) => void code.get(BASE).memory('i32.load', layout.SRF + 4 * r),
    vrf: (r) => void code.get(BASE).memory('v128.load', layout.VRF + 16 * r),
    temp: () => code.local(V128),
    temp32: () => code.local(I32),
  };
  const offsetOf = (file: RegisterFile, register: number) => (file === 'i' ? layout.IRF + 4 * register : file === 's' ? layout.SRF + 4 * register : file === 'v' ? layout.VRF + 16 * register : layout.FLAGS);
  const writes: Write[] = [];
  const computes: (() => void)[][] = body.bundles.map(() => []);
  let order = 0;
  const issue = (j: number, file: RegisterFile, register: number, latency: number, mask: Write['mask'], value: () => void): Write => {
    const vector = file === 'v';
    const w: Write = { order: order++, at: offsetOf(file, register), vector, mask, issue: starts[j]!, lands: starts[j]! + latency, local: code.local(vector ? V128 : I32) };
    writes.push(w);
    computes[j]!.push(() => {
      value();
      code.set(w.local);
    });
    return w;
  };
  body.bundles.forEach((bundle, j) => {
    for (const slot of bundle.slots) {
      const kind = lsuKind(slot);
      if (kind === 'ldil') {
        issue(j, 'i', slot.a, slot.latency, slot.c !== 0 ? 0xffff : undefined, () => code.i32(slot.imm & 0xffff));
      } else if (kind === 'ldih') {
        issue(j, 'i', slot.a, slot.latency, 0xffff0000, () => code.i32((slot.imm << 16) | 0));
      } else if (kind === 'memory') {
        const op = memoryOps[j]!.find((m) => m.slot === slot)!;
        if (op.store) {
          op.value = code.local(op.file === 2 ? V128 : I32);
          computes[j]!.push(() => {
            if (op.file === 2) operands.vrf(slot.a);
            else if (op.file === 1) operands.srf(slot.a);
            else operands.irf(slot.a);
            code.set(op.value);
          });
        } else {
          const latency = op.ddr ? LOAD_LATENCY.other : LOAD_LATENCY.cmx;
          const file: RegisterFile = op.file === 2 ? 'v' : op.file === 1 ? 's' : 'i';
          issue(j, file, slot.a, latency, undefined, () => {
            code.get(op.offset);
            if (op.file === 2) code.memory(op.size === 8 ? 'v128.load64_zero' : 'v128.load');
            else code.memory(op.size === 1 ? (op.signed ? 'i32.load8_s' : 'i32.load8_u') : op.size === 2 ? (op.signed ? 'i32.load16_s' : 'i32.load16_u') : 'i32.load');
          });
        }
        if (op.post) issue(j, 'i', slot.b, slot.latency, undefined, () => code.get(op.address).i32(slot.imm).op('i32.add'));
      } else {
        for (const w of TEMPLATE_IDS.get(slot.id)!(slot, operands)) issue(j, w.file, w.register, w.latency, w.mask, w.value);
      }
    }
  });
  // Every result must land before its operation issues again (within one pass of its issue).
  if (writes.some((w) => w.lands - w.issue > period)) return null;
  const crossing = Math.max(0, ...writes.filter((w) => w.lands > period).map((w) => w.lands - period));
  const firstPassEntry = starts.slice(0, n).findIndex((start) => start >= crossing);

  /** Results that land in (from, to] of a pass: this pass's, and the last pass's that cross into it. */
  const landing = (from: number, to: number) =>
    [
      ...writes.filter((w) => w.lands > period && w.lands - period > from && w.lands - period <= to).map((w) => ({ w, time: w.lands - period, previous: true })),
      ...writes.filter((w) => w.lands > from && w.lands <= to).map((w) => ({ w, time: w.lands, previous: false })),
    ].sort((x, y) => x.time - y.time || Number(y.previous) - Number(x.previous) || x.w.order - y.w.order);

  /** Results in flight at the start of bundle p: { write, cycles until it lands, cycles since it issued }, in landing order. */
  const inFlight = (p: number) => {
    const at = starts[p]!;
    return [
      ...writes.filter((w) => w.lands > period && w.lands - period > at).map((w) => ({ w, left: w.lands - period - at, age: at + period - w.issue, previous: true })),
      ...writes.filter((w) => w.issue < at && w.lands > at).map((w) => ({ w, left: w.lands - at, age: at - w.issue, previous: false })),
    ].sort((x, y) => x.left - y.left || Number(y.previous) - Number(x.previous) || x.w.order - y.w.order);
  };

  const land = (w: Write) => {
    code.get(BASE);
    if (w.mask === undefined) {
      code.get(w.local).memory(w.vector ? 'v128.store' : 'i32.store', w.at);
    } else if (typeof w.mask === 'number') {
      code.get(BASE).memory('i32.load', w.at).i32(~w.mask).op('i32.and').get(w.local).i32(w.mask).op('i32.and').op('i32.or').memory('i32.store', w.at);
    } else {
      code.get(w.local).get(BASE).memory('v128.load', w.at).v128(w.mask).simd('v128.bitselect').memory('v128.store', w.at);
    }
  };

  // ---- blocks: exits branch out of the outermost one with a position and a reason
  let open = 0;
  const exit = (p: number, why: number) => {
    code.i32(p).set(position).i32(why).set(reason).br(open - 1);
  };
  const ifOpen = () => {
    code.if();
    open++;
  };
  const close = () => {
    code.op('end');
    open--;
  };
  /** If the condition on the stack holds: leave at once (the state was not touched). */
  const mismatchIf = () => code.if().i32(LOOP_MISMATCH).op('return').op('end');
  /** If the condition on the stack holds: exit before bundle p, for `why`. */
  const exitIf = (p: number, why: number) => {
    ifOpen();
    exit(p, why);
    close();
  };

  // ---- taking over: the ring must hold exactly the results in flight at the start of a pass
  const groups = (p: number) => {
    const byLeft = new Map<number, { w: Write; left: number; age: number }[]>();
    for (const entry of inFlight(p)) byLeft.set(entry.left, [...(byLeft.get(entry.left) ?? []), entry]);
    return [...byLeft.entries()];
  };
  const slotOf = (left: number) => {
    // (now + left) mod ring slots: the slot that lands `left` cycles after the start of the entry bundle.
    code.get(cycle).op('i32.wrap_i64').i32(starts[entry]! + left).op('i32.add').i32(layout.RING_SLOTS - 1).op('i32.and');
  };
  const scalarEntry = (k: number) => {
    // base + RING_SCALAR + (slot * SCALAR_DEPTH + k) * SCALAR_ENTRY, with the slot in `scratch`
    code.get(scratch).i32(layout.SCALAR_DEPTH * layout.SCALAR_ENTRY).op('i32.mul').get(BASE).op('i32.add').i32(k * layout.SCALAR_ENTRY).op('i32.add');
  };
  const vectorEntry = (k: number) => {
    code.get(scratch).i32(layout.VECTOR_DEPTH * layout.VECTOR_ENTRY).op('i32.mul').get(BASE).op('i32.add').i32(k * layout.VECTOR_ENTRY).op('i32.add');
  };
  const maskWord = (w: Write) => (typeof w.mask === 'number' ? w.mask : 0xffffffff) | 0;
  const maskLanes = (w: Write): readonly number[] => (Array.isArray(w.mask) ? w.mask : [-1, -1, -1, -1]);

  code.get(END_PARAM).op('i64.trunc_f64_u').set(end);
  code.memorySize().op('i64.extend_i32_u').i64(16).op('i64.shl').set(memoryBytes);
  // `cycle` is the cycle the pass began in (the entry bundle began starts[entry] later).
  code.get(BASE).memory('i64.load', layout.CYCLES).i64(starts[entry]!).op('i64.sub').set(cycle);
  code.get(BASE).memory('i32.load', layout.LOOP_COUNT).set(count);
  code.block();
  open++;
  {
    // The loop must be this one (an rpl may share its start with another's).
    code.get(BASE).memory('i32.load', layout.LOOP_END).i32(body.end).op('i32.ne');
    mismatchIf();
    const expected = groups(entry);
    // PENDING must have exactly the bits of the slots the expected results land in.
    code.i32(0).set(scratch);
    for (const [left] of expected) {
      code.get(scratch).i32(1);
      slotOf(left);
      code.op('i32.shl').op('i32.or').set(scratch);
    }
    code.get(BASE).memory('i32.load', layout.PENDING).get(scratch).op('i32.ne');
    mismatchIf();
    for (const [left, results] of expected) {
      slotOf(left);
      code.set(scratch);
      const scalars = results.filter((r) => !r.w.vector);
      const vectors = results.filter((r) => r.w.vector);
      code.get(scratch).i32(2).op('i32.shl').get(BASE).op('i32.add').memory('i32.load', layout.RING_SCALAR_COUNT).i32(scalars.length).op('i32.ne');
      code.get(scratch).i32(2).op('i32.shl').get(BASE).op('i32.add').memory('i32.load', layout.RING_VECTOR_COUNT).i32(vectors.length).op('i32.ne').op('i32.or');
      mismatchIf();
      scalars.forEach((r, k) => {
        scalarEntry(k);
        code.memory('i32.load', layout.RING_SCALAR).i32(r.w.at).op('i32.ne');
        scalarEntry(k);
        code.memory('i32.load', layout.RING_SCALAR + 8).i32(maskWord(r.w)).op('i32.ne').op('i32.or');
        mismatchIf();
      });
      vectors.forEach((r, k) => {
        vectorEntry(k);
        code.memory('i32.load', layout.RING_VECTOR).i32(r.w.at).op('i32.ne');
        const lanes = maskLanes(r.w);
        for (let word = 0; word < 4; word++) {
          vectorEntry(k);
          code.memory('i32.load', layout.RING_VECTOR + 32 + 4 * word).i32(lanes[word]!).op('i32.ne').op('i32.or');
        }
        mismatchIf();
      });
    }
    // They are ours now: into their locals, and out of the ring.
    for (const [left, results] of expected) {
      slotOf(left);
      code.set(scratch);
      results.filter((r) => !r.w.vector).forEach((r, k) => {
        scalarEntry(k);
        code.memory('i32.load', layout.RING_SCALAR + 4).set(r.w.local);
      });
      results.filter((r) => r.w.vector).forEach((r, k) => {
        vectorEntry(k);
        code.memory('v128.load', layout.RING_VECTOR + 16).set(r.w.local);
      });
      code.get(scratch).i32(2).op('i32.shl').get(BASE).op('i32.add').i32(0).memory('i32.store', layout.RING_SCALAR_COUNT);
      code.get(scratch).i32(2).op('i32.shl').get(BASE).op('i32.add').i32(0).memory('i32.store', layout.RING_VECTOR_COUNT);
    }
    code.get(BASE).i32(0).memory('i32.store', layout.PENDING);
    code.i32(0).set(passes);
    for (const op of memoryOps.flat()) if (!op.ddr) code.i32(-1).set(op.runSlice);
    // Passes are counted in 32 bits: a run stops for the interpreter before they could wrap.
    code.get(end).get(cycle).i64(period * 0x4000_0000).op('i64.add').op('i64.gt_u');
    code.if().get(cycle).i64(period * 0x4000_0000).op('i64.add').set(end).op('end');

    // ---- the passes: the rest of the one the run begins in, then whole ones
    const emitBundle = (j: number, landFirst: boolean) => {
      if (landFirst) for (const { w } of landing(starts[j - 1]!, starts[j]!)) land(w);
      // Checks: every access this bundle makes, before any of it happens.
      const ops = memoryOps[j]!;
      for (const op of ops) translate(op, j);
      if (ops.length === 2 && !ops[0]!.ddr && !ops[1]!.ddr) {
        code.get(ops[0]!.slice).get(ops[1]!.slice).op(stalls[j] ? 'i32.ne' : 'i32.eq');
        exitIf(j, LOOP_FACT + facts.ddr.length + j);
      }
      // The operations, reading registers as they were before the bundle.
      for (const compute of computes[j]!) compute();
      // Stores, after every load of the bundle; then the traffic counters.
      for (const op of ops.filter((m) => m.store)) {
        code.get(op.offset).get(op.value);
        if (op.file === 2) {
          if (op.size === 8) code.simd('i64x2.extract_lane').lanes(0).memory('i64.store');
          else code.memory('v128.store');
        } else code.memory(op.size === 1 ? 'i32.store8' : op.size === 2 ? 'i32.store16' : 'i32.store');
      }
      // Traffic: DDR's is worked out from the passes at the end; a CMX access that moves to
      // another slice hands over the bytes of its run so far.
      for (const op of ops) {
        if (op.ddr) continue;
        code.get(op.slice).get(op.runSlice).op('i32.ne');
        ifOpen();
        flushCmx(op, 0);
        code.get(op.slice).set(op.runSlice).get(passes).set(op.runFrom);
        close();
      }
    };
    const endPass = () => {
      for (const { w } of landing(starts[n - 1]!, period)) land(w);
      code.get(cycle).i64(period).op('i64.add').set(cycle);
      code.get(passes).i32(1).op('i32.add').set(passes);
    };
    // A pass runs only if all of it fits in the budget (the interpreter then takes the rest).
    if (entry > 0) {
      code.get(cycle).i64(period).op('i64.add').get(end).op('i64.gt_u');
      exitIf(entry, LOOP_BUDGET);
      for (let j = entry; j < n; j++) emitBundle(j, j > entry);
      endPass();
      code.get(count).i32(1).op('i32.le_u');
      exitIf(0, LOOP_DONE);
      code.get(count).i32(1).op('i32.sub').set(count);
    }
    code.loop();
    open++;
    code.get(cycle).i64(period).op('i64.add').get(end).op('i64.gt_u');
    exitIf(0, LOOP_BUDGET);
    for (let j = 0; j < n; j++) emitBundle(j, j > 0);
    endPass();
    code.get(count).i32(1).op('i32.gt_u');
    ifOpen();
    code.get(count).i32(1).op('i32.sub').set(count).br(1);
    close();
    exit(0, LOOP_DONE);
    close(); // loop
  }
  close(); // block

  // ---- handing over at the position the exit gave
  // Counts since the run began: `passes` wraps of the body from the entry bundle, then up to p.
  const stallsBefore = (p: number) => stalls.slice(0, p).filter(Boolean).length;
  const stallsPerPass = stallsBefore(n);
  for (let p = 0; p < n; p++) {
    code.get(position).i32(p).op('i32.eq');
    code.if();
    code.get(BASE).i32(body.bundles[p]!.pc).memory('i32.store', layout.PC);
    code.get(BASE).get(cycle).i64(starts[p]!).op('i64.add').memory('i64.store', layout.CYCLES);
    code.get(BASE).get(BASE).memory('i64.load', layout.BUNDLES).get(passes).op('i64.extend_i32_u').i64(n).op('i64.mul').i64(p - entry).op('i64.add').op('i64.add').memory('i64.store', layout.BUNDLES);
    code.get(BASE).get(BASE).memory('i64.load', layout.STALLS).get(passes).op('i64.extend_i32_u').i64(stallsPerPass).op('i64.mul').i64(stallsBefore(p) - stallsBefore(entry)).op('i64.add').op('i64.add').memory('i64.store', layout.STALLS);
    // Memory traffic: each access of bundles before p ran once more than the passes, those before the entry once less.
    memoryOps.forEach((ops, j) => ops.forEach((op) => (op.ddr ? undefined : flushCmx(op, j < p ? 1 : 0))));
    for (const store of [false, true]) {
      const bytes = (upTo: number) => memoryOps.slice(0, upTo).flat().filter((op) => op.ddr && op.store === store).reduce((sum, op) => sum + op.size, 0);
      if (bytes(n) === 0) continue;
      const counter = store ? layout.DDR_WRITE : layout.DDR_READ;
      code.get(BASE).get(BASE).memory('i64.load', counter).get(passes).op('i64.extend_i32_u').i64(bytes(n)).op('i64.mul').i64(bytes(p) - bytes(entry)).op('i64.add').op('i64.add').memory('i64.store', counter);
    }
    body.bundles.forEach((bundle, j) => {
      const runs = layout.CACHE + ((bundle.pc >>> 2) & (layout.CACHE_ENTRIES - 1)) * layout.ENTRY_SIZE + layout.E_RUNS;
      code.get(BASE).get(BASE).memory('i64.load', runs).get(passes).op('i64.extend_i32_u').i64((j < p ? 1 : 0) - (j < entry ? 1 : 0)).op('i64.add').op('i64.add').memory('i64.store', runs);
    });
    // Results in flight go back into the ring, landing when they would have.
    code.i32(0).set(pendingBits);
    for (const [left, results] of groups(p)) {
      code.get(cycle).op('i32.wrap_i64').i32(starts[p]! + left).op('i32.add').i32(layout.RING_SLOTS - 1).op('i32.and').set(scratch);
      code.get(pendingBits).i32(1).get(scratch).op('i32.shl').op('i32.or').set(pendingBits);
      const stamp = (age: number) => code.get(cycle).op('i32.wrap_i64').i32(starts[p]! - age).op('i32.add');
      const scalars = results.filter((r) => !r.w.vector);
      const vectors = results.filter((r) => r.w.vector);
      scalars.forEach((r, k) => {
        scalarEntry(k);
        code.i32(r.w.at).memory('i32.store', layout.RING_SCALAR);
        scalarEntry(k);
        code.get(r.w.local).memory('i32.store', layout.RING_SCALAR + 4);
        scalarEntry(k);
        code.i32(maskWord(r.w)).memory('i32.store', layout.RING_SCALAR + 8);
        scalarEntry(k);
        stamp(r.age);
        code.memory('i32.store', layout.RING_SCALAR + 12);
      });
      vectors.forEach((r, k) => {
        vectorEntry(k);
        code.i32(r.w.at).memory('i32.store', layout.RING_VECTOR);
        vectorEntry(k);
        stamp(r.age);
        code.memory('i32.store', layout.RING_VECTOR + 4);
        vectorEntry(k);
        code.get(r.w.local).memory('v128.store', layout.RING_VECTOR + 16);
        vectorEntry(k);
        code.v128(maskLanes(r.w) as [number, number, number, number]).memory('v128.store', layout.RING_VECTOR + 32);
      });
      code.get(scratch).i32(2).op('i32.shl').get(BASE).op('i32.add').i32(scalars.length).memory('i32.store', layout.RING_SCALAR_COUNT);
      code.get(scratch).i32(2).op('i32.shl').get(BASE).op('i32.add').i32(vectors.length).memory('i32.store', layout.RING_VECTOR_COUNT);
    }
    code.get(BASE).get(pendingBits).memory('i32.store', layout.PENDING);
    code.op('end');
  }
  // The loop's own registers: ended, or passes still to run.
  code.get(reason).i32(LOOP_DONE).op('i32.eq');
  code.if();
  code.get(BASE).i32(body.end).memory('i32.store', layout.PC);
  code.get(BASE).i32(0).memory('i32.store', layout.LOOP_COUNT);
  code.get(BASE).i32(0).memory('i32.store', layout.LOOP_END);
  code.op('else');
  code.get(BASE).get(count).memory('i32.store', layout.LOOP_COUNT);
  code.op('end');
  code.get(reason);

  return { module: new WebAssembly.Module(buildModule(code, [I32], MAX_PAGES)), firstPassEntry };

  /**
   * After a full translation of `op` (op.address, op.offset, and op.slice or the DDR offset in
   * bus - ddrBus terms): the addresses around it that reach the same slice of CMX (or DDR, as
   * far as it is committed) through the same window, with the same distance to their offsets.
   */
  function rememberRange(op: MemoryOp): void {
    const size = op.size;
    // rangeEnd: the last offset in the region an access may start at; rangeStart: the region's first offset.
    if (!op.ddr) {
      code.get(op.slice).i32(1).op('i32.add').i32(17).op('i32.shl').set(rangeEnd);
      code.get(rangeEnd).i32(map.cmxSize).get(rangeEnd).i32(map.cmxSize).op('i32.lt_u').op('select').i32(map.cmxOffset - size).op('i32.add').set(rangeEnd);
      code.get(op.slice).i32(17).op('i32.shl').i32(map.cmxOffset).op('i32.add').set(op.rangeStart);
    } else {
      code.get(memoryBytes).i64(map.ddrOffset + map.ddrSize).get(memoryBytes).i64(map.ddrOffset + map.ddrSize).op('i64.lt_u').op('select').op('i32.wrap_i64').i32(size).op('i32.sub').set(rangeEnd);
      code.i32(map.ddrOffset).set(op.rangeStart);
    }
    // In addresses: offset - delta.
    code.get(op.offset).get(op.address).op('i32.sub').set(op.delta);
    code.get(op.rangeStart).get(op.delta).op('i32.sub').set(op.rangeStart);
    code.get(rangeEnd).get(op.delta).op('i32.sub').set(rangeEnd);
    // Through a window: no further than its ends.
    code.get(op.address).i32(0x1c000000).op('i32.sub').i32(0x04000000).op('i32.lt_u');
    code.if();
    // (Compared by their difference: the range may reach below address 0 when the window points high.)
    code.get(op.address).i32(0xff000000 | 0).op('i32.and').set(scratch);
    code.get(scratch).get(op.rangeStart).get(op.rangeStart).get(scratch).op('i32.sub').i32(0).op('i32.lt_s').op('select').set(op.rangeStart);
    code.get(scratch).i32(0x1000000 - size).op('i32.add').set(scratch);
    code.get(scratch).get(rangeEnd).get(rangeEnd).get(scratch).op('i32.sub').i32(0).op('i32.gt_s').op('select').set(rangeEnd);
    code.op('end');
    // An access that runs into the next slice has no range (rangeEnd is then below it).
    code.get(rangeEnd).get(op.address).op('i32.sub').i32(0).op('i32.lt_s');
    code.if().i32(0).set(op.rangeLength);
    code.op('else').get(rangeEnd).get(op.rangeStart).op('i32.sub').i32(1).op('i32.add').set(op.rangeLength);
    code.op('end');
  }

  /** Whether no bus address is both CMX (or its alias) and DDR (or its alias). */
  function apart(): boolean {
    const cmx = [map.cmxBus, map.cmxAlias].map((at) => [at, at + map.cmxSize] as const);
    const ddr = [map.ddrBus, map.ddrAlias].map((at) => [at, at + map.ddrSize] as const);
    return cmx.every(([a, b]) => ddr.every(([c, d]) => b <= c || d <= a));
  }

  /** Adds the bytes of a CMX access's current run of passes (and `extra` accesses) to its slice's counter. */
  function flushCmx(op: MemoryOp, extra: number): void {
    const counter = op.store ? layout.CMX_WRITE : layout.CMX_READ;
    code.get(op.runSlice).i32(0).op('i32.ge_s');
    code.if();
    code.get(op.runSlice).i32(3).op('i32.shl').get(BASE).op('i32.add').set(scratch);
    code.get(scratch).get(scratch).memory('i64.load', counter);
    code.get(passes).get(op.runFrom).op('i32.sub').op('i64.extend_i32_u').i64(extra).op('i64.add').i64(op.size).op('i64.mul');
    code.op('i64.add').memory('i64.store', counter);
    code.op('end');
  }

  /**
   * The WebAssembly offset of memory operation `op` into op.offset (and its CMX slice), as
   * the interpreter's translate() works it out; exits before bundle j when it faults, needs
   * DDR committed, or reaches the other region kind than the facts say.
   */
  function translate(op: MemoryOp, j: number): void {
    const { slot, size } = op;
    operands.irf(slot.b);
    if (!op.post && slot.imm !== 0) code.i32(slot.imm).op('i32.add');
    code.set(op.address);
    if (size > 1 && size <= 4) {
      code.get(op.address).i32(size - 1).op('i32.and');
      exitIf(j, LOOP_SIDE_EXIT);
    }
    // The range the last access of this operation established: no checks.
    code.get(op.address).get(op.rangeStart).op('i32.sub').get(op.rangeLength).op('i32.lt_u');
    code.if();
    code.get(op.address).get(op.delta).op('i32.add').set(op.offset);
    code.op('else');
    open++;
      // Windows A-D relocate through the core's window registers.
      code.get(op.address).set(bus);
      code.get(op.address).i32(0x1c000000).op('i32.sub').i32(0x04000000).op('i32.lt_u');
      ifOpen();
      code.get(op.address).i32(0xffffff).op('i32.and').i32(size).op('i32.add').i32(0x1000000).op('i32.gt_u');
      exitIf(j, LOOP_SIDE_EXIT);
      code.get(op.address).i32(24).op('i32.shr_u').i32(0x1c).op('i32.sub').i32(2).op('i32.shl').get(BASE).op('i32.add').memory('i32.load', layout.WINDOWS);
      code.get(op.address).i32(0xffffff).op('i32.and').op('i32.add').set(bus);
      close();
      // CMX: in the slice, or (for the facts) not.
      const cmxLocal = op.slice;
      code.get(bus).i32(map.cmxBus).op('i32.sub').set(cmxLocal);
      code.get(cmxLocal).i32(map.cmxSize).op('i32.ge_u');
      ifOpen();
      code.get(bus).i32(map.cmxAlias).op('i32.sub').set(cmxLocal);
      close();
      const inCmx = () => code.get(cmxLocal).i32(map.cmxSize).op('i32.lt_u').get(cmxLocal).i32(size).op('i32.add').i32(map.cmxSize).op('i32.le_u').op('i32.and');
      const ddrLocal = op.offset;
      const inDdr = () => {
        code.get(bus).i32(map.ddrBus).op('i32.sub').set(ddrLocal);
        code.get(ddrLocal).i32(map.ddrSize).op('i32.ge_u');
        ifOpen();
        code.get(bus).i32(map.ddrAlias).op('i32.sub').set(ddrLocal);
        close();
        code.get(ddrLocal).i32(map.ddrSize).op('i32.lt_u').get(ddrLocal).i32(size).op('i32.add').i32(map.ddrSize).op('i32.le_u').op('i32.and');
      };
      if (!op.ddr) {
        inCmx();
        code.op('i32.eqz');
        ifOpen();
        inDdr();
        exitIf(j, LOOP_FACT + op.index);
        exit(j, LOOP_SIDE_EXIT);
        close();
        code.get(cmxLocal).i32(map.cmxOffset).op('i32.add').set(op.offset);
        code.get(cmxLocal).i32(17).op('i32.shr_u').set(op.slice);
      } else if (regionsApart) {
        // DDR first: no address is in both, so the order of the checks does not matter.
        inDdr();
        code.op('i32.eqz');
        ifOpen();
        inCmx();
        exitIf(j, LOOP_FACT + op.index);
        exit(j, LOOP_SIDE_EXIT);
        close();
        code.get(ddrLocal).i32(map.ddrOffset).op('i32.add').set(op.offset);
        code.get(op.offset).op('i64.extend_i32_u').i64(size).op('i64.add').get(memoryBytes).op('i64.gt_u');
        exitIf(j, LOOP_SIDE_EXIT);
      } else {
        inCmx();
        exitIf(j, LOOP_FACT + op.index);
        inDdr();
        code.op('i32.eqz');
        exitIf(j, LOOP_SIDE_EXIT);
        code.get(ddrLocal).i32(map.ddrOffset).op('i32.add').set(op.offset);
        // DDR not committed yet: the interpreter asks TypeScript to commit it.
        code.get(op.offset).op('i64.extend_i32_u').i64(size).op('i64.add').get(memoryBytes).op('i64.gt_u');
        exitIf(j, LOOP_SIDE_EXIT);
      }
      rememberRange(op);
    close();
  }
}
