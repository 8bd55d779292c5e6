/**
 * The loop compiler against the interpreter: the same program on two machines, one running rpl
 * loops compiled and one interpreting everything, run in the same random slices of cycles.
 * After every slice the cores must be in the same state: registers, condition codes, PC,
 * loop and branch state, every counter, and the results still in flight (the ring); at the
 * end, memory too. Kernels first, then random loop bodies built from every operation the
 * compiler has a template for, with loads and stores that reach CMX, DDR, nothing, or a
 * misaligned address.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ma2485 } from '../../emu/models/ma2485.js';
import { packageRoot } from '../../emu/package-root.js';
import { assemble, decodeBundle, DecodeError, formatBundle } from '../../emu/shave/assembler.js';
import { ALL_OPS, HEADER_MARKER, OPERAND_BITS, TABLES, UNITS, tableOf, type OpSpec, type Unit } from '../../emu/shave/isa.js';
import { TEMPLATE_IDS } from '../../emu/shave/jit/templates.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { xorshift32 } from '../support/random.js';

const A = 0x1c00_0000; // window A: the core's CMX slice
const C = 0x1e00_0000; // window C: DDR

/** Two machines, one compiling loops and one not. */
const compiled = new KernelBench(ma2485);
const interpreted = new KernelBench(ma2485);
interpreted.cores.useLoopCompiler(false);

const globals = compiled.memory.wasmExports as unknown as Record<string, WebAssembly.Global>;
const at = (name: string) => globals[name]!.value as number;
const [RING_SCALAR, RING_VECTOR, RING_SCALAR_COUNT, RING_VECTOR_COUNT, SCALAR_ENTRY, VECTOR_ENTRY, SCALAR_DEPTH, VECTOR_DEPTH] =
  ['RING_SCALAR', 'RING_VECTOR', 'RING_SCALAR_COUNT', 'RING_VECTOR_COUNT', 'SCALAR_ENTRY', 'VECTOR_ENTRY', 'SCALAR_DEPTH', 'VECTOR_DEPTH'].map(at) as number[];
/** The interpreter's scratch space (deferred stores, lane scratch, undo list) starts after the ring counts. */
const SCRATCH_START = RING_VECTOR_COUNT! + 32;

/**
 * What a core's future depends on: its state up to the ring, without the interpreter's
 * scratch space (deferred stores, lane scratch, undo list), and the ring's live entries.
 */
function coreState(bench: KernelBench, core: number): string {
  bench.memory.wasmExports.shaveFoldCounters(core);
  const base = bench.cores.base(core);
  const state = bench.memory.bytes.subarray(base, base + RING_VECTOR! + 8 * VECTOR_DEPTH! * VECTOR_ENTRY!);
  const view = new DataView(state.buffer, state.byteOffset);
  const parts = [Buffer.from(state.subarray(0, SCRATCH_START)).toString('hex')];
  for (let slot = 0; slot < 8; slot++) {
    const scalars = view.getUint32(RING_SCALAR_COUNT! + 4 * slot, true);
    const vectors = view.getUint32(RING_VECTOR_COUNT! + 4 * slot, true);
    const s = RING_SCALAR! + slot * SCALAR_DEPTH! * SCALAR_ENTRY!;
    const v = RING_VECTOR! + slot * VECTOR_DEPTH! * VECTOR_ENTRY!;
    parts.push(`${slot}:${Buffer.from(state.subarray(s, s + scalars * SCALAR_ENTRY!)).toString('hex')}/${Buffer.from(state.subarray(v, v + vectors * VECTOR_ENTRY!)).toString('hex')}`);
  }
  return parts.join('|');
}

interface Setup {
  readonly irf: Readonly<Record<number, number>>;
  readonly memory: readonly { readonly address: number; readonly bytes: Uint8Array }[];
  /** Other registers, random: [irf, srf, vrf words] from a seed. */
  readonly seed?: number;
}

/**
 * Runs `source` on core `core` of both machines in random slices; expects the same state after
 * every slice and the same memory at the end. Returns the compiled passes it saw.
 */
/** Which registers or fields two core states differ in, by name, for a failure message. */
function differences(x: string, y: string): string {
  const names: [number, number, string][] = [[0, 128, 'IRF'], [128, 256, 'SRF'], [256, 768, 'VRF']];
  const out: string[] = [];
  for (let byte = 0; byte * 2 < Math.min(x.length, y.length); byte++) {
    if (x.slice(byte * 2, byte * 2 + 2) === y.slice(byte * 2, byte * 2 + 2)) continue;
    const named = names.find(([from, to]) => byte >= from && byte < to);
    const label = named ? `${named[2]}[${(byte - named[0]) >> (named[2] === 'VRF' ? 4 : 2)}]` : `state+${byte}`;
    if (!out.includes(label)) out.push(label);
  }
  return out.join(', ') || (x.length !== y.length ? 'ring' : 'nothing');
}

function compare(source: string, setup: Setup, rand: () => number, core = 0, maxCycles = 200_000): number {
  const program = assemble(source);
  const before = compiled.cores.compiledLoopRuns;
  for (const bench of [compiled, interpreted]) {
    // What the programs reach (anything else they store to is the same on both machines).
    for (const address of [A, C]) bench.write(core, address, new Uint8Array(0x2_0000));
    bench.resetCore(core);
    bench.load(core, program);
    for (const { address, bytes } of setup.memory) bench.write(core, address, bytes);
    const fill = interesting(xorshift32(setup.seed ?? 1));
    for (let r = 0; r < 32; r++) {
      bench.cores.setIrf(core, r, setup.irf[r] ?? fill());
      bench.cores.setSrf(core, r, fill());
      for (let w = 0; w < 4; w++) bench.cores.setVrfWord(core, r, w, fill());
    }
    bench.cores.start(core, program.codeBase);
  }
  let cycles = 0;
  for (let slice = 0; cycles < maxCycles; slice++) {
    const budget = 1 + (rand() % (slice % 3 === 0 ? 20 : 400));
    const a = compiled.cores.run(core, budget);
    const b = interpreted.cores.run(core, budget);
    expect(a).toEqual(b);
    const [x, y] = [coreState(compiled, core), coreState(interpreted, core)];
    if (x !== y) expect.fail(`after ${cycles + budget} cycles the states differ in ${differences(x, y)}\n${source}\n${x.split('|').slice(1).join(' ')}\n${y.split('|').slice(1).join(' ')}`);
    if (a.kind !== 'budget') break;
    cycles += budget;
  }
  expect(compiled.cores.loopCompilerError).toBeNull();
  for (const address of [A, C]) expect(Buffer.from(compiled.read(core, address, 0x2_0000)).equals(Buffer.from(interpreted.read(core, address, 0x2_0000)))).toBe(true);
  return compiled.cores.compiledLoopRuns - before;
}

/**
 * Random words, and a quarter of the time one of the edge cases of the lane types: NaNs with
 * payloads, infinities, signed zeros, subnormals, in f32 words and in pairs of f16 lanes.
 */
function interesting(rand: () => number): () => number {
  const edges = [0x7fc00001, 0xffa00000, 0x7f800000, 0xff800000, 0x80000000, 0x00000001, 0x477fe000, 0x7e017d00, 0x7c00fc00, 0x80010001, 0x03ff8400, 0x7bff3c00];
  return () => (rand() % 4 === 0 ? edges[rand() % edges.length]! : rand());
}

const kernel = (name: string) => readFileSync(join(packageRoot(), 'firmware-stubs', 'shave', `${name}.s`), 'utf8');
const randomBytes = (rand: () => number, n: number) => new Uint8Array(n).map(() => rand());
/** f16 values of moderate size (and now and then a NaN or an infinity). */
const randomHalves = (rand: () => number, n: number) =>
  new Uint8Array(new Uint16Array(n).map(() => (rand() % 50 === 0 ? [0x7c00, 0xfc00, 0x7e01][rand() % 3]! : (rand() & 0x8000) | (0x3000 + (rand() % 0x1000))) ).buffer);

describe('the loop compiler gives what the interpreter gives', () => {
  it('on every kernel, in random slices of cycles, on CMX and on DDR data', () => {
    const rand = xorshift32(99);
    let passes = 0;
    for (const data of [A + 0x2000, C]) {
      const [a, b, c] = [data, data + 0x2000, data + 0x4000];
      const cases: [string, Record<number, number>, Uint8Array, Uint8Array][] = [
        ['vector-add', { 18: a, 17: b, 16: c, 15: 64 }, randomBytes(rand, 256), randomBytes(rand, 256)],
        ['relu-f16', { 18: a, 17: c, 16: 64 }, randomHalves(rand, 64), new Uint8Array()],
        ['dot-f16', { 18: a, 17: b, 16: 256, 15: c }, randomHalves(rand, 256), randomHalves(rand, 256)],
        ['matmul-f16', { 18: a, 17: b, 16: c, 15: 64 }, randomHalves(rand, 512), randomHalves(rand, 512)],
        ['conv3x3-f16', { 18: a, 17: b, 16: c, 15: 6, 14: 2 }, randomHalves(rand, 8 * 18), randomHalves(rand, 9)],
        ['maxpool2x2-f16', { 18: a, 17: c, 16: 4, 15: 2 }, randomHalves(rand, 8 * 32), new Uint8Array()],
      ];
      for (const [name, irf, x, y] of cases) {
        passes += compare(kernel(name), { irf, memory: [{ address: a, bytes: x }, { address: b, bytes: y }] }, rand);
      }
    }
    // The kernels' loops ran compiled (most of their passes), not just alongside.
    expect(passes).toBeGreaterThan(50);
  });

  it('on 2000 random loop bodies of every operation it compiles, with faults, stalls and DDR', () => {
    const rand = xorshift32(4242);
    const supported = ALL_OPS.map((spec, id) => ({ spec, id })).filter(({ spec, id }) => spec.table === 'lsu' || TEMPLATE_IDS.has(id));
    const others = ALL_OPS.map((spec, id) => ({ spec, id })).filter(({ spec }) => spec.table !== 'bru' && spec.table !== 'peu');
    let passes = 0;
    let faults = 0;
    let compiledPrograms = 0;
    /** How often each operation was in a loop that ran compiled. */
    const covered = new Map<string, number>();
    for (let n = 0; n < 2000; n++) {
      const bundles: string[] = [];
      const length = 1 + (rand() % 6);
      for (let k = 0; k < length; k++) {
        const line = randomBundle(rand, rand() % 40 === 0 ? others : supported, k === length - 1 ? rand() % 6 : rand() % 3);
        if (line) bundles.push(line);
      }
      if (bundles.length === 0) continue;
      const source = ['        bru.rpl i20, end', ...bundles.map((b) => `        ${b}`), 'end:    nop 3', '        bru.swih 7'].join('\n');
      // Address registers mostly in the windows (aligned or not), the rest random.
      const irf: Record<number, number> = { 20: 1 + (rand() % 30) };
      for (let r = 0; r < 20; r++) {
        const pick = rand() % 10;
        // Not DDR at random: every store there would commit more of the machine's memory.
        irf[r] = pick < 5 ? A + 0x4000 + (rand() % 0x1000) * (pick < 4 ? 16 : 1) : pick < 8 ? C + (rand() % 0x1000) * 16 : rand() & 0x3fff_ffff;
      }
      const got = compare(source, { irf, memory: [{ address: A + 0x4000, bytes: randomBytes(rand, 0x2000) }], seed: rand() }, rand, n % 16, 20_000);
      passes += got;
      if (got > 0) {
        compiledPrograms++;
        for (const line of bundles) for (const op of line.split(' || ')) covered.set(op.split(' ')[0]!.replace(/^lsu1/, 'lsu0'), (covered.get(op.split(' ')[0]!.replace(/^lsu1/, 'lsu0')) ?? 0) + 1);
      }
      if (compiled.cores.status(n % 16) === 'error') faults++;
    }
    if (process.env.LOOP_STATS) console.log({ passes, faults, compiledPrograms }, [...covered].sort((x, y) => x[1] - y[1]).slice(0, 20));
    expect(passes).toBeGreaterThan(1000);
    expect(faults).toBeGreaterThan(100);
    // Every operation the compiler has a template for, and every load and store, ran compiled.
    const names = supported.map(({ spec }) => `${spec.table === 'lsu' ? 'lsu0' : spec.table}.${spec.name}`);
    expect(names.filter((name) => (covered.get(name) ?? 0) < 3)).toEqual([]);
  });

  it('on pointers that walk across CMX slices, out of a window and into DDR not committed yet', () => {
    const rand = xorshift32(31);
    /** The bus address (plain DDR) where the compiling machine's memory ends. */
    const committedEnd = () => {
      const ddr = compiled.memory.regions.find((r) => r.name === 'ddr')!;
      return ddr.base + (compiled.memory.wasm.buffer.byteLength - ddr.offset);
    };
    const CMX = 0x7000_0000;
    const SLICE = 0x2_0000;
    const walk = (step: number, vector: string) => `
        bru.rpl i20, end
        lsu0.ldi.${vector} v1, i1, ${step} || lsu1.ldi.i32 i5, i2, 4
        vau.add.i32 v2, v1, v1 || iau.add i6, i5, i6
        lsu0.sti.${vector} v2, i3, ${step} || lsu1.ld.i32 i7, i4, 0
        lsu0.ldi.${vector} v3, i4, ${step}
        nop 2
end:    nop 3
        bru.swih 7`;
    let passes = 0;
    const starts = [
      // Absolute CMX addresses below slice ends; the same through window A; across window A's end into window B.
      () => ({ 1: CMX + SLICE - 64, 2: CMX + SLICE - 24, 3: CMX + 2 * SLICE - 48, 4: CMX + 3 * SLICE - 32 }),
      () => ({ 1: A + SLICE - 64, 2: A + SLICE - 24, 3: A + 2 * SLICE - 48, 4: A + SLICE - 8 }),
      // Up to window C's end (DDR on, through window D), a vector that straddles it faulting.
      () => ({ 1: C + 0xff_fc08, 2: C + 0xff_ffe8, 3: C + 0x1_0000, 4: C + 0xff_f000 }),
      // DDR, running past what is committed of the compiling machine's memory.
      () => ({ 1: committedEnd() - 0x800, 2: C + 0x1_fff0, 3: C + 0x1000, 4: committedEnd() - 0x40 }),
    ];
    for (const [k, at] of starts.entries()) {
      for (const [step, vector] of [[16, 'v128'], [8, 'v64'], [4096, 'v128']] as const) {
        if (k < 3 && step === 4096) continue;
        passes += compare(walk(step, vector), { irf: { ...at(), 20: 200 }, memory: [] }, rand, k);
      }
    }
    expect(passes).toBeGreaterThan(8);
  });

  it('on 600 random loops entered again and again: compiled from their first pass, with what came before still in flight', () => {
    const rand = xorshift32(777);
    const supported = ALL_OPS.map((spec, id) => ({ spec, id })).filter(({ spec, id }) => spec.table === 'lsu' || TEMPLATE_IDS.has(id));
    const firstBefore = compiled.cores.firstPassLoopRuns;
    let passes = 0;
    for (let n = 0; n < 600; n++) {
      const bundles: string[] = [];
      const length = 1 + (rand() % 6);
      for (let k = 0; k < length; k++) {
        const line = randomBundle(rand, supported, k === length - 1 ? rand() % 6 : rand() % 3);
        if (line) bundles.push(line);
      }
      if (bundles.length === 0) continue;
      // Half the time a random bundle just before the loop: its results may still be in flight
      // where the first pass could be taken over (then the interpreter must finish the pass).
      const before = rand() % 2 === 0 ? randomBundle(rand, supported, rand() % 2) : null;
      // i21 counts the entries down (against i22 = 0); the bodies' own writes to them only change how often.
      const source = [
        'again:  iau.add i20, i23, 0',
        ...(before ? [`        ${before}`] : []),
        '        bru.rpl i20, end',
        ...bundles.map((b) => `        ${b}`),
        'end:    iau.sub i21, i21, 1',
        '        cmu.cmii.i32 i21, i22',
        '        peu.pc1c gt || bru.bra again',
        '        nop 6',
        '        bru.swih 7',
      ].join('\n');
      const irf: Record<number, number> = { 21: 2 + (rand() % 5), 22: 0, 23: 1 + (rand() % 12) };
      for (let r = 0; r < 20; r++) {
        const pick = rand() % 10;
        irf[r] = pick < 6 ? A + 0x4000 + (rand() % 0x1000) * (pick < 5 ? 16 : 1) : pick < 9 ? C + (rand() % 0x1000) * 16 : rand() & 0x3fff_ffff;
      }
      passes += compare(source, { irf, memory: [{ address: A + 0x4000, bytes: randomBytes(rand, 0x2000) }], seed: rand() }, rand, n % 16, 20_000);
    }
    expect(passes).toBeGreaterThan(300);
    expect(compiled.cores.firstPassLoopRuns - firstBefore).toBeGreaterThan(200);
  });
});

/** One bundle of random operations from `ops` (at most one per unit), as assembly, or null. */
function randomBundle(rand: () => number, ops: readonly { spec: OpSpec; id: number }[], idle: number): string | null {
  const byUnit = new Map<Unit, number>();
  const count = 1 + (rand() % 3);
  for (let k = 0; k < count; k++) {
    const { spec } = ops[rand() % ops.length]!;
    const units = UNITS.filter((u) => tableOf(u) === spec.table && !byUnit.has(u));
    if (units.length === 0) continue;
    const unit = units[rand() % units.length]!;
    const opcode = TABLES[spec.table].indexOf(spec);
    let word = opcode;
    let bit = 8;
    for (const kind of spec.operands) {
      const width = OPERAND_BITS[kind];
      // Small immediates (a pointer steps through memory), conditions and lanes in range.
      const lanes = 16 / ({ i8: 1, i16: 2, i32: 4 }[spec.name.split('.')[1] ?? ''] ?? 4);
      const field = kind === 'lane' ? rand() % lanes : kind === 'cond' ? rand() % 12 : kind === 's14' ? (rand() % 9) * [1, 2, 4, 8, 16][rand() % 5]! - 16 : kind === 'u16' ? rand() & 0xffff : rand();
      word |= (field & ((1 << width) - 1)) << bit;
      bit += width;
    }
    byUnit.set(unit, word >>> 0);
  }
  let mask = 0;
  const words: number[] = [];
  UNITS.forEach((unit, n) => {
    if (byUnit.has(unit)) {
      mask |= 1 << n;
      words.push(byUnit.get(unit)!);
    }
  });
  if (mask === 0) return null;
  const bytes = new Uint8Array(new Uint32Array([(mask | (idle << 8) | (HEADER_MARKER << 16)) >>> 0, ...words]).buffer);
  try {
    return formatBundle(decodeBundle(bytes, 0, 0));
  } catch (error) {
    if (error instanceof DecodeError) return null;
    throw error;
  }
}
