/**
 * What each operation the loop compiler handles computes, as WebAssembly: the same semantics
 * as the interpreter's `execute` (assembly/shave/core.ts) and its lane helpers (lanes.ts),
 * written out instruction by instruction. Loads and stores are the compiler's own (they need
 * address checks before the bundle runs). An operation without a template keeps its loop in
 * the interpreter. The differential tests (test/shave/loop-compiler.test.ts) run every template
 * against the interpreter.
 */
import { ALL_OPS, opIdentifier } from '../isa.js';
import type { FunctionCode, SimdOp } from './wasm-builder.js';

/** One decoded operation of a bundle, as the core's cache holds it. */
export interface BodySlot {
  readonly id: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly unit: number;
  readonly latency: number;
  readonly imm: number;
}

/** Where the operands are: the compiler's way of reading registers and making temporaries. */
export interface Operands {
  readonly code: FunctionCode;
  /** Pushes register n of the IRF or SRF (i32), or of the VRF (v128). */
  irf(n: number): void;
  srf(n: number): void;
  vrf(n: number): void;
  /** A fresh v128 local, or i32 local. */
  temp(): number;
  temp32(): number;
}

export type RegisterFile = 'i' | 's' | 'v' | 'flags';

/** A result an operation issues: into which register, under which mask, after how long. */
export interface TemplateWrite {
  readonly file: RegisterFile;
  readonly register: number;
  /** Bits (i32) or lanes (four i32 words) written; all when absent. */
  readonly mask?: number | readonly [number, number, number, number];
  readonly latency: number;
  /** Pushes the value (reading operands only; nothing lands while a bundle runs). */
  readonly value: () => void;
}

type Template = (slot: BodySlot, operands: Operands) => TemplateWrite[];

const splat = (x: number): [number, number, number, number] => [x, x, x, x];

// ---- lanes

/** bitselect(v1, v2, c) with the three pushed by the callbacks, in that order. */
function quietF32(o: Operands, push: () => void): void {
  const t = o.temp();
  push();
  o.code.set(t).v128(splat(0x7fc00000)).get(t).get(t).get(t).simd('f32x4.ne').simd('v128.bitselect');
}

/** Four f16 patterns (low halves of i32 lanes, in local h) as exact f32 lanes, into `out`. */
function halfToFloat(o: Operands, h: number, out: number): void {
  const c = o.code;
  const magnitude = o.temp();
  const shifted = o.temp();
  c.get(h).v128(splat(0x7fff)).simd('v128.and').tee(magnitude).i32(13).simd('i32x4.shl').set(shifted);
  c.get(shifted).v128(splat(0x7f800000)).simd('v128.or'); // infinity and NaN keep their fraction
  c.get(shifted).v128(splat(0x77800000)).simd('f32x4.mul'); // normals and subnormals: times 2^112
  c.get(magnitude).v128(splat(0x7bff)).simd('i32x4.gt_s').simd('v128.bitselect');
  c.get(h).v128(splat(0x8000)).simd('v128.and').i32(16).simd('i32x4.shl').simd('v128.or').set(out);
}

/** f32 lanes of an arithmetic result (local f) to f16 patterns, nearest even, default NaN. */
function arithmeticToHalf(o: Operands, f: number): void {
  const c = o.code;
  const magnitude = o.temp();
  c.get(f).v128(splat(0x7fffffff)).simd('v128.and').set(magnitude);
  c.v128(splat(0x7e00)).v128(splat(0x7c00));
  // Subnormal: adding 0.5 makes the f32 addition round at the f16 unit 2^-24.
  c.get(magnitude).v128(splat(126 << 23)).simd('f32x4.add').v128(splat(126 << 23)).simd('i32x4.sub');
  // Normal: rebias, add just under half of the dropped part plus the kept part's low bit.
  c.get(magnitude).v128(splat(((15 - 127) << 23) + 0xfff)).simd('i32x4.add');
  c.get(magnitude).i32(13).simd('i32x4.shr_u').v128(splat(1)).simd('v128.and').simd('i32x4.add').i32(13).simd('i32x4.shr_u');
  c.get(magnitude).v128(splat(113 << 23)).simd('i32x4.lt_s').simd('v128.bitselect');
  c.get(magnitude).v128(splat(143 << 23)).simd('i32x4.ge_s').simd('v128.bitselect');
  c.get(f).v128(splat(0x80000000)).simd('v128.and').i32(16).simd('i32x4.shr_u').simd('v128.or');
  c.get(magnitude).v128(splat(0x7f800000)).simd('i32x4.gt_s').simd('v128.bitselect');
}

/** f32 lanes (local f) to f16 patterns in the low halves of i32 lanes, nearest even, NaN payload kept (a conversion). */
function floatToHalf(o: Operands, f: number): void {
  const c = o.code;
  const magnitude = o.temp();
  c.get(f).v128(splat(0x7fffffff)).simd('v128.and').set(magnitude);
  // NaN: quiet, the top of the payload kept.
  c.v128(splat(0x7e00)).get(magnitude).i32(13).simd('i32x4.shr_u').v128(splat(0x3ff)).simd('v128.and').simd('v128.or');
  c.v128(splat(0x7c00));
  c.get(magnitude).v128(splat(126 << 23)).simd('f32x4.add').v128(splat(126 << 23)).simd('i32x4.sub');
  c.get(magnitude).v128(splat(((15 - 127) << 23) + 0xfff)).simd('i32x4.add');
  c.get(magnitude).i32(13).simd('i32x4.shr_u').v128(splat(1)).simd('v128.and').simd('i32x4.add').i32(13).simd('i32x4.shr_u');
  c.get(magnitude).v128(splat(113 << 23)).simd('i32x4.lt_s').simd('v128.bitselect');
  c.get(magnitude).v128(splat(143 << 23)).simd('i32x4.ge_s').simd('v128.bitselect');
  c.get(magnitude).v128(splat(0x7f800000)).simd('i32x4.gt_s').simd('v128.bitselect');
  c.get(f).v128(splat(0x80000000)).simd('v128.and').i32(16).simd('i32x4.shr_u').simd('v128.or');
}

/** Pushes f32 lanes `push` leaves as f16 in the low four lanes, by `toHalf`, the high four zero. */
function narrowLow(o: Operands, push: () => void, toHalf: (o: Operands, f: number) => void): void {
  const f = o.temp();
  push();
  o.code.set(f);
  toHalf(o, f);
  o.code.v128([0, 0, 0, 0]).simd('i16x8.narrow_i32x4_u');
}

/** The low (or high) four f16 lanes of local v as f32 lanes, into a new local. */
function widen(o: Operands, v: number, high: boolean): number {
  const lanes = o.temp();
  const out = o.temp();
  o.code.get(v).simd(high ? 'i32x4.extend_high_i16x8_u' : 'i32x4.extend_low_i16x8_u').set(lanes);
  halfToFloat(o, lanes, out);
  return out;
}

/** Pushes eight f16 lanes made of f32 lanes `combine` computes for the low and the high half. */
function f16Result(o: Operands, combine: (high: boolean) => void): void {
  const low = o.temp();
  const high = o.temp();
  combine(false);
  o.code.set(low);
  combine(true);
  o.code.set(high);
  arithmeticToHalf(o, low);
  arithmeticToHalf(o, high);
  o.code.simd('i16x8.narrow_i32x4_u');
}

/** Operands pushed into locals, so that lane helpers can read them twice. */
function vectors(o: Operands, ...registers: number[]): number[] {
  return registers.map((n) => {
    const t = o.temp();
    o.vrf(n);
    o.code.set(t);
    return t;
  });
}

function f16Lanes(o: Operands, op: SimdOp, b: number, c: number): void {
  const [x, y] = vectors(o, b, c);
  f16Result(o, (high) => {
    o.code.get(widen(o, x!, high)).get(widen(o, y!, high)).simd(op);
  });
}

/**
 * f16 min or max without widening: sign-magnitude patterns turned into two's complement keys
 * (negative lanes get their magnitude bits flipped, so -0 sorts just below +0) compare as i16
 * in the order of their values, and the same flip turns the chosen key back. That is the exact
 * result the interpreter's f32 min/max gives, -0 and +0 included; a NaN lane gives the default NaN.
 */
function f16MinMax(o: Operands, op: 'i16x8.min_s' | 'i16x8.max_s', b: number, c: number): void {
  const [x, y] = vectors(o, b, c);
  const code = o.code;
  const key = (v: number) => code.get(v).get(v).i32(15).simd('i16x8.shr_s').v128(splat(0x7fff7fff)).simd('v128.and').simd('v128.xor');
  const nan = (v: number) => code.get(v).v128(splat(0x7fff7fff)).simd('v128.and').v128(splat(0x7c007c00)).simd('i16x8.gt_s');
  const chosen = o.temp();
  code.v128(splat(0x7e007e00));
  key(x!);
  key(y!);
  code.simd(op).tee(chosen).get(chosen).i32(15).simd('i16x8.shr_s').v128(splat(0x7fff7fff)).simd('v128.and').simd('v128.xor');
  nan(x!);
  nan(y!);
  code.simd('v128.or').simd('v128.bitselect');
}

function f16MulAdd(o: Operands, a: number, b: number, c: number): void {
  const [d, x, y] = vectors(o, a, b, c);
  f16Result(o, (high) => {
    const sum = widen(o, d!, high);
    o.code.get(sum).get(widen(o, x!, high)).get(widen(o, y!, high)).simd('f32x4.mul').simd('f32x4.add');
  });
}

// ---- templates by operation

const i = (register: number, latency: number, value: () => void, mask?: number): TemplateWrite => ({ file: 'i', register, latency, value, ...(mask === undefined ? {} : { mask }) });
const s = (register: number, latency: number, value: () => void): TemplateWrite => ({ file: 's', register, latency, value });
const v = (register: number, latency: number, value: () => void, mask?: TemplateWrite['mask']): TemplateWrite => ({ file: 'v', register, latency, value, ...(mask === undefined ? {} : { mask }) });

/** The f32 bits on the stack, with a NaN made the default NaN (quiet32 in the interpreter). */
function defaultNan32(o: Operands): void {
  const bits = o.temp32();
  o.code.set(bits).i32(0x7fc00000).get(bits).get(bits).i32(0x7fffffff).op('i32.and').i32(0x7f800000).op('i32.gt_u').op('select');
}

/** IAU: a binary operation on irf(b) and irf(c) (or the immediate). */
function iau(emit: (o: Operands) => void, immediate: boolean): Template {
  return (slot, o) => [i(slot.a, slot.latency, () => {
    o.irf(slot.b);
    if (immediate) o.code.i32(slot.imm);
    else o.irf(slot.c);
    emit(o);
  })];
}

/** The IAU's shifts: by 32 or more gives 0 (or every bit the sign, for sar). */
function shift(kind: 'shl' | 'shr' | 'sar'): (o: Operands) => void {
  return (o) => {
    const by = o.temp32();
    const value = o.temp32();
    const c = o.code;
    c.set(by).set(value);
    if (kind === 'sar') {
      c.get(value).get(by).i32(31).get(by).i32(31).op('i32.lt_u').op('select').op('i32.shr_s');
    } else {
      c.get(value).get(by).op(kind === 'shl' ? 'i32.shl' : 'i32.shr_u').i32(0).get(by).i32(32).op('i32.lt_u').op('select');
    }
  };
}

function minMax(compare: 'i32.lt_s' | 'i32.lt_u' | 'i32.gt_s' | 'i32.gt_u'): (o: Operands) => void {
  return (o) => {
    const y = o.temp32();
    const x = o.temp32();
    o.code.set(y).set(x).get(x).get(y).get(x).get(y).op(compare).op('select');
  };
}

/** The relation a compare records: 0 less, 1 equal, 2 greater. */
function relation(o: Operands, x: number, y: number, greater: 'i32.gt_s' | 'i32.gt_u'): void {
  o.code.get(x).get(y).op('i32.eq').get(x).get(y).op(greater).i32(1).op('i32.shl').op('i32.or');
}

function vau(op: SimdOp): Template {
  return (slot, o) => [v(slot.a, slot.latency, () => {
    o.vrf(slot.b);
    o.vrf(slot.c);
    o.code.simd(op);
  })];
}

function vauUnary(emit: (o: Operands) => void): Template {
  return (slot, o) => [v(slot.a, slot.latency, () => {
    o.vrf(slot.b);
    emit(o);
  })];
}

function vauF32(op: SimdOp): Template {
  return (slot, o) => [v(slot.a, slot.latency, () => quietF32(o, () => {
    o.vrf(slot.b);
    o.vrf(slot.c);
    o.code.simd(op);
  }))];
}

/** i8 lanes multiplied, keeping the low 8 bits of each product. */
function mulI8(o: Operands): void {
  const [x, y] = [o.temp(), o.temp()];
  o.code.set(y).set(x);
  o.code.get(x).get(y).simd('i16x8.extmul_low_i8x16_s').get(x).get(y).simd('i16x8.extmul_high_i8x16_s');
  o.code.simd('i8x16.shuffle').lanes(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
}

/** Lanes shifted by an immediate: by the lane width or more gives 0 (or the sign, for sar). */
function laneShift(bits: 8 | 16 | 32, kind: 'shl' | 'shr_u' | 'shr_s'): Template {
  const prefix = bits === 8 ? 'i8x16' : bits === 16 ? 'i16x8' : 'i32x4';
  return (slot, o) => [v(slot.a, slot.latency, () => {
    const by = slot.imm >>> 0;
    if (by >= bits && kind !== 'shr_s') {
      o.code.v128([0, 0, 0, 0]);
      return;
    }
    o.vrf(slot.b);
    o.code.i32(Math.min(by, bits - 1)).simd(`${prefix}.${kind}` as SimdOp);
  })];
}

const LANE_PREFIX = { i8: 'i8x16', i16: 'i16x8', i32: 'i32x4' } as const;

function buildTemplates(): Map<string, Template> {
  const t = new Map<string, Template>();
  // ---- IAU
  const binary: Record<string, (o: Operands) => void> = {
    add: (o) => o.code.op('i32.add'), sub: (o) => o.code.op('i32.sub'), mul: (o) => o.code.op('i32.mul'),
    and: (o) => o.code.op('i32.and'), or: (o) => o.code.op('i32.or'), xor: (o) => o.code.op('i32.xor'),
    shl: shift('shl'), shr: shift('shr'), sar: shift('sar'),
    min: minMax('i32.lt_s'), max: minMax('i32.gt_s'), minu: minMax('i32.lt_u'), maxu: minMax('i32.gt_u'),
  };
  for (const [name, emit] of Object.entries(binary)) {
    // Names with an immediate form carry the operand kinds in their identifier (isa.ts).
    const immediateForm = ['add', 'sub', 'and', 'or', 'xor', 'shl', 'shr', 'sar'].includes(name);
    t.set(immediateForm ? `iau_${name}_iii` : `iau_${name}`, iau(emit, false));
    if (immediateForm) t.set(`iau_${name}_iis14`, iau(emit, true));
  }
  t.set('iau_not', (slot, o) => [i(slot.a, slot.latency, () => (o.irf(slot.b), o.code.i32(-1).op('i32.xor')))]);
  t.set('iau_mov', (slot, o) => [i(slot.a, slot.latency, () => o.irf(slot.b))]);
  t.set('iau_abs', (slot, o) => [i(slot.a, slot.latency, () => {
    const x = o.temp32();
    const sign = o.temp32();
    o.irf(slot.b);
    o.code.tee(x).i32(31).op('i32.shr_s').set(sign).get(x).get(sign).op('i32.add').get(sign).op('i32.xor');
  })]);
  // ---- SAU, integers
  for (const [name, op] of [['add', 'i32.add'], ['sub', 'i32.sub'], ['mul', 'i32.mul']] as const) {
    t.set(`sau_${name}_i32`, (slot, o) => [s(slot.a, slot.latency, () => (o.srf(slot.b), o.srf(slot.c), o.code.op(op)))]);
  }
  // ---- VAU
  for (const type of ['i8', 'i16', 'i32'] as const) {
    const p = LANE_PREFIX[type];
    t.set(`vau_add_${type}`, vau(`${p}.add`));
    t.set(`vau_sub_${type}`, vau(`${p}.sub`));
    t.set(`vau_min_${type}`, vau(`${p}.min_s`));
    t.set(`vau_max_${type}`, vau(`${p}.max_s`));
    t.set(`vau_abs_${type}`, vauUnary((o) => o.code.simd(`${p}.abs`)));
    t.set(`vau_neg_${type}`, vauUnary((o) => o.code.simd(`${p}.neg`)));
    const bits = type === 'i8' ? 8 : type === 'i16' ? 16 : 32;
    t.set(`vau_shl_${type}_vvu8`, laneShift(bits, 'shl'));
    t.set(`vau_shr_${type}_vvu8`, laneShift(bits, 'shr_u'));
    t.set(`vau_sar_${type}_vvu8`, laneShift(bits, 'shr_s'));
  }
  t.set('vau_mul_i8', (slot, o) => [v(slot.a, slot.latency, () => (o.vrf(slot.b), o.vrf(slot.c), mulI8(o)))]);
  t.set('vau_mul_i16', vau('i16x8.mul'));
  t.set('vau_mul_i32', vau('i32x4.mul'));
  t.set('vau_mac_i8', (slot, o) => [v(slot.a, slot.latency, () => (o.vrf(slot.a), o.vrf(slot.b), o.vrf(slot.c), mulI8(o), o.code.simd('i8x16.add')))]);
  for (const [type, p] of [['i16', 'i16x8'], ['i32', 'i32x4']] as const) {
    t.set(`vau_mac_${type}`, (slot, o) => [v(slot.a, slot.latency, () => (o.vrf(slot.a), o.vrf(slot.b), o.vrf(slot.c), o.code.simd(`${p}.mul`).simd(`${p}.add`)))]);
  }
  for (const [name, op] of [['adds_i8', 'i8x16.add_sat_s'], ['adds_u8', 'i8x16.add_sat_u'], ['adds_i16', 'i16x8.add_sat_s'], ['adds_u16', 'i16x8.add_sat_u'],
    ['subs_i8', 'i8x16.sub_sat_s'], ['subs_u8', 'i8x16.sub_sat_u'], ['subs_i16', 'i16x8.sub_sat_s'], ['subs_u16', 'i16x8.sub_sat_u'],
    ['and', 'v128.and'], ['or', 'v128.or'], ['xor', 'v128.xor']] as const) {
    t.set(`vau_${name}`, vau(op));
  }
  t.set('vau_not', vauUnary((o) => o.code.simd('v128.not')));
  for (const [name, op] of [['add', 'f32x4.add'], ['sub', 'f32x4.sub'], ['mul', 'f32x4.mul'], ['min', 'f32x4.min'], ['max', 'f32x4.max']] as const) {
    t.set(`vau_${name}_f32`, vauF32(op));
    if (name === 'min' || name === 'max') t.set(`vau_${name}_f16`, (slot, o) => [v(slot.a, slot.latency, () => f16MinMax(o, name === 'min' ? 'i16x8.min_s' : 'i16x8.max_s', slot.b, slot.c))]);
    else t.set(`vau_${name}_f16`, (slot, o) => [v(slot.a, slot.latency, () => f16Lanes(o, op, slot.b, slot.c))]);
  }
  t.set('vau_mac_f32', (slot, o) => [v(slot.a, slot.latency, () => quietF32(o, () => {
    o.vrf(slot.a);
    quietF32(o, () => (o.vrf(slot.b), o.vrf(slot.c), o.code.simd('f32x4.mul')));
    o.code.simd('f32x4.add');
  }))]);
  t.set('vau_mac_f16', (slot, o) => [v(slot.a, slot.latency, () => f16MulAdd(o, slot.a, slot.b, slot.c))]);
  t.set('vau_abs_f16', vauUnary((o) => o.code.v128(splat(0x7fff7fff)).simd('v128.and')));
  t.set('vau_abs_f32', vauUnary((o) => o.code.v128(splat(0x7fffffff)).simd('v128.and')));
  t.set('vau_neg_f16', vauUnary((o) => o.code.v128(splat(0x80008000)).simd('v128.xor')));
  t.set('vau_neg_f32', vauUnary((o) => o.code.v128(splat(0x80000000)).simd('v128.xor')));
  // Conversions: narrowing ones fill the low lanes and clear the rest (as the interpreter's).
  const zero = (o: Operands) => o.code.v128([0, 0, 0, 0]);
  t.set('vau_cvt_f32_i32', vauUnary((o) => o.code.simd('f32x4.convert_i32x4_s')));
  t.set('vau_cvt_i32_f32', vauUnary((o) => o.code.simd('i32x4.trunc_sat_f32x4_s')));
  t.set('vau_cvt_i16_i8', vauUnary((o) => o.code.simd('i16x8.extend_low_i8x16_s')));
  t.set('vau_cvt_i32_i16', vauUnary((o) => o.code.simd('i32x4.extend_low_i16x8_s')));
  t.set('vau_cvt_i8_i16', vauUnary((o) => (zero(o), o.code.simd('i8x16.narrow_i16x8_s'))));
  t.set('vau_cvt_i16_i32', vauUnary((o) => (zero(o), o.code.simd('i16x8.narrow_i32x4_s'))));
  t.set('vau_cvt_f32_f16', (slot, o) => [v(slot.a, slot.latency, () => o.code.get(widen(o, vectors(o, slot.b)[0]!, false)))]);
  t.set('vau_cvt_f16_f32', (slot, o) => [v(slot.a, slot.latency, () => narrowLow(o, () => o.vrf(slot.b), floatToHalf))]);
  t.set('vau_cvt_f16_i16', (slot, o) => [v(slot.a, slot.latency, () => {
    const [x] = vectors(o, slot.b);
    const [low, high] = [o.temp(), o.temp()];
    o.code.get(x!).simd('i32x4.extend_low_i16x8_s').simd('f32x4.convert_i32x4_s').set(low);
    o.code.get(x!).simd('i32x4.extend_high_i16x8_s').simd('f32x4.convert_i32x4_s').set(high);
    floatToHalf(o, low);
    floatToHalf(o, high);
    o.code.simd('i16x8.narrow_i32x4_u');
  })]);
  t.set('vau_cvt_i16_f16', (slot, o) => [v(slot.a, slot.latency, () => {
    const [x] = vectors(o, slot.b);
    o.code.get(widen(o, x!, false)).simd('i32x4.trunc_sat_f32x4_s').get(widen(o, x!, true)).simd('i32x4.trunc_sat_f32x4_s').simd('i16x8.narrow_i32x4_s');
  })]);
  // ---- SAU, f32: every NaN a result makes is the default NaN.
  for (const [name, op] of [['add', 'f32.add'], ['sub', 'f32.sub'], ['mul', 'f32.mul'], ['div', 'f32.div'], ['min', 'f32.min'], ['max', 'f32.max']] as const) {
    t.set(`sau_${name}_f32`, (slot, o) => [s(slot.a, slot.latency, () => {
      o.srf(slot.b);
      o.code.op('f32.reinterpret_i32');
      o.srf(slot.c);
      o.code.op('f32.reinterpret_i32').op(op).op('i32.reinterpret_f32');
      defaultNan32(o);
    })]);
  }
  t.set('sau_sqrt_f32', (slot, o) => [s(slot.a, slot.latency, () => (o.srf(slot.b), o.code.op('f32.reinterpret_i32').op('f32.sqrt').op('i32.reinterpret_f32'), defaultNan32(o)))]);
  t.set('sau_abs_f32', (slot, o) => [s(slot.a, slot.latency, () => (o.srf(slot.b), o.code.i32(0x7fffffff).op('i32.and')))]);
  t.set('sau_neg_f32', (slot, o) => [s(slot.a, slot.latency, () => (o.srf(slot.b), o.code.i32(0x80000000 | 0).op('i32.xor')))]);
  t.set('sau_abs_f16', (slot, o) => [s(slot.a, slot.latency, () => (o.srf(slot.b), o.code.i32(0x7fff).op('i32.and')))]);
  t.set('sau_neg_f16', (slot, o) => [s(slot.a, slot.latency, () => (o.srf(slot.b), o.code.i32(0x8000).op('i32.xor').i32(0xffff).op('i32.and')))]);

  // ---- CMU
  t.set('cmu_cpii', (slot, o) => [i(slot.a, slot.latency, () => o.irf(slot.b))]);
  t.set('cmu_cpsi', (slot, o) => [s(slot.a, slot.latency, () => o.irf(slot.b))]);
  t.set('cmu_cpis', (slot, o) => [i(slot.a, slot.latency, () => o.srf(slot.b))]);
  t.set('cmu_cpss', (slot, o) => [s(slot.a, slot.latency, () => o.srf(slot.b))]);
  t.set('cmu_cpvv', (slot, o) => [v(slot.a, slot.latency, () => o.vrf(slot.b))]);
  for (const [type, bytes] of [['i8', 1], ['i16', 2], ['i32', 4]] as const) {
    const p = LANE_PREFIX[type];
    t.set(`cmu_bcst_${type}`, (slot, o) => [v(slot.a, slot.latency, () => (o.irf(slot.b), o.code.simd(`${p}.splat`)))]);
    // Lanes read sign-extended, as the interpreter's extractLane does.
    const extract = type === 'i8' ? 'i8x16.extract_lane_s' : type === 'i16' ? 'i16x8.extract_lane_s' : 'i32x4.extract_lane';
    t.set(`cmu_cpvi_${type}`, (slot, o) => [i(slot.a, slot.latency, () => (o.vrf(slot.b), o.code.simd(extract).lanes(slot.imm)))]);
    t.set(`cmu_cpiv_${type}`, (slot, o) => {
      const mask = new Uint8Array(16);
      mask.fill(0xff, slot.imm * bytes, slot.imm * bytes + bytes);
      const words = new Uint32Array(mask.buffer);
      return [v(slot.a, slot.latency, () => (o.irf(slot.b), o.code.simd(`${p}.splat`)), [words[0]!, words[1]!, words[2]!, words[3]!])];
    });
  }
  t.set('cmu_vshuf_i32', (slot, o) => [v(slot.a, slot.latency, () => {
    o.vrf(slot.b);
    o.vrf(slot.b);
    const bytes: number[] = [];
    for (let lane = 0; lane < 4; lane++) for (let k = 0; k < 4; k++) bytes.push(((slot.imm >>> (2 * lane)) & 3) * 4 + k);
    o.code.simd('i8x16.shuffle').lanes(...bytes);
  })]);
  for (const [type, greater] of [['i32', 'i32.gt_s'], ['u32', 'i32.gt_u']] as const) {
    t.set(`cmu_cmii_${type}`, (slot, o) => [{ file: 'flags', register: 0, latency: slot.latency, value: () => {
      const [x, y] = [o.temp32(), o.temp32()];
      o.irf(slot.a);
      o.code.set(x);
      o.irf(slot.b);
      o.code.set(y);
      relation(o, x, y, greater);
      relation(o, x, y, 'i32.gt_u');
      o.code.i32(8).op('i32.shl').op('i32.or');
    } }]);
  }
  return t;
}

const TEMPLATES = buildTemplates();
export const TEMPLATE_IDS: ReadonlyMap<number, Template> = new Map(
  ALL_OPS.flatMap((spec, id) => {
    const template = TEMPLATES.get(opIdentifier(spec));
    return template ? [[id, template] as const] : [];
  }),
);
