/**
 * Every IAU, SAU, VAU and CMU operation form of isa.ts, run on the core with random operands
 * (random bit patterns, so NaNs, infinities, subnormals and extremes turn up) and compared with
 * a second implementation written here from docs/shave-isa.md, in plain TypeScript. The LSU,
 * BRU and PEU are covered by core.test.ts, which needs programs rather than single operations.
 */
import { describe, expect, it } from 'vitest';
import { xorshift32 } from '../support/random.js';
import { CONDITIONS, TABLES, type OpSpec } from '../../emu/shave/isa.js';
import { f16Value, nearestF16 } from '../support/f16-reference.js';
import { runShave } from '../support/shave-run.js';

const TRIALS = 12;
const rand32 = xorshift32(99);
const SPECIAL_F16 = [0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0xbc00, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x7d01, 0x5bff, 0x0200];
const SPECIAL_F32 = [0, 0x8000_0000, 1, 0x007f_ffff, 0x3f80_0000, 0xbf80_0000, 0x7f7f_ffff, 0x7f80_0000, 0xff80_0000, 0x7fc0_0000, 0x7f80_0001, 0x4f00_0000, 0xcf00_0001];
const SPECIAL_INT = [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 31, 32, 33, 0x7f, 0x80, 0x8000, 0xffff];

/** A random 32-bit word: often a special value, whole or in its low half. */
function word(kind: 'int' | 'f16' | 'f32'): number {
  const pick = rand32() % 4;
  if (pick === 0) return rand32();
  const list = kind === 'f16' ? SPECIAL_F16 : kind === 'f32' ? SPECIAL_F32 : SPECIAL_INT;
  const special = list[rand32() % list.length]!;
  return kind === 'f16' ? (special | ((pick === 1 ? rand32() : special) << 16)) >>> 0 : special;
}

// ---- the reference

const f32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0]!;
const bitsF32 = (x: number) => (Number.isNaN(x) ? 0x7fc0_0000 : new Uint32Array(new Float32Array([x]).buffer)[0]!);
const isNaN16 = (h: number) => (h & 0x7fff) > 0x7c00;
const isNaN32 = (b: number) => (b & 0x7fff_ffff) >>> 0 > 0x7f80_0000;
const f16 = (h: number) => f16Value(h & 0xffff);
/** f32 bits to f16 keeping a NaN's payload (a conversion). */
const convertF32F16 = (b: number) => (isNaN32(b) ? ((b >>> 16) & 0x8000) | 0x7e00 | ((b >>> 13) & 0x3ff) : nearestF16(f32(b)));
const convertF16F32 = (h: number) => (isNaN16(h) ? (((h & 0x8000) << 16) | 0x7f80_0000 | ((h & 0x3ff) << 13)) >>> 0 : bitsF32(f16(h)));
const truncSat = (x: number, lo: number, hi: number) => (Number.isNaN(x) ? 0 : Math.max(lo, Math.min(hi, Math.trunc(x))));
const minMax = (which: 'min' | 'max', x: number, y: number) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math[which](x, y));

type Lane = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'f16' | 'f32';
const WIDTH: Record<Lane, number> = { i8: 8, u8: 8, i16: 16, u16: 16, i32: 32, f16: 16, f32: 32 };
const signed = (v: number, bits: number) => (bits === 32 ? v | 0 : (v << (32 - bits)) >> (32 - bits));
const unsigned = (v: number, bits: number) => (bits === 32 ? v >>> 0 : v & ((1 << bits) - 1));

function lanesOf(bytes: Uint8Array, bits: number): number[] {
  const out: number[] = [];
  for (let at = 0; at < 16; at += bits / 8) out.push(bits === 8 ? bytes[at]! : bits === 16 ? bytes[at]! | (bytes[at + 1]! << 8) : (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0);
  return out;
}

function bytesOf(lanes: number[], bits: number): number[] {
  const out: number[] = [];
  for (const lane of lanes) for (let b = 0; b < bits / 8; b++) out.push((lane >>> (8 * b)) & 0xff);
  while (out.length < 16) out.push(0);
  return out;
}

/** One lane of a float operation: f16 by nearestF16, f32 by Math.fround, NaN the default NaN. */
function floatLane(type: 'f16' | 'f32', compute: (x: number, y: number, z: number) => number, a: number, b: number, d: number): number {
  const value = type === 'f16' ? compute(f16(a), f16(b), f16(d)) : compute(f32(a), f32(b), f32(d));
  return type === 'f16' ? nearestF16(value) : bitsF32(Math.fround(value));
}

function relation(x: number, y: number): 'lt' | 'eq' | 'gt' | 'un' {
  return x < y ? 'lt' : x === y ? 'eq' : x > y ? 'gt' : 'un';
}

/** Which conditions hold for a signed (or float) and an unsigned relation. */
function conditionsHolding(s: string, u: string): string[] {
  const table: Record<string, boolean> = {
    always: true, eq: s === 'eq', neq: s !== 'eq', lt: s === 'lt', lte: s === 'lt' || s === 'eq', gt: s === 'gt', gte: s === 'gt' || s === 'eq',
    ltu: u === 'lt', lteu: u === 'lt' || u === 'eq', gtu: u === 'gt', gteu: u === 'gt' || u === 'eq', never: false,
  };
  return CONDITIONS.filter((c) => table[c]);
}

const shift = (kind: string, value: number, by: number, bits: number) => {
  if (kind === 'shl') return by >= bits ? 0 : unsigned(value << by, bits);
  if (kind === 'shr') return by >= bits ? 0 : unsigned(value, bits) >>> by;
  return unsigned(signed(value, bits) >> Math.min(by, bits - 1), bits);
};

interface Operands {
  readonly i: number[];
  readonly s: number[];
  readonly v: Uint8Array[];
  readonly imm: number;
  readonly cond: number;
  readonly lane: number;
}

/** What the operation leaves in its destination (i1, s1 or v1), or the conditions after a compare. */
function expected(spec: OpSpec, o: Operands): number | number[] | string[] {
  const [op, t1, t2] = spec.name.split('.') as [string, string | undefined, string | undefined];
  const [a, b] = [o.i[2]!, o.i[3]!];
  const [sa, sb] = [o.s[2]!, o.s[3]!];
  const imm = o.imm;
  switch (spec.table) {
    case 'iau': {
      const y = spec.operands[2] === 's14' ? imm >>> 0 : b;
      switch (op) {
        case 'add': return (a + y) >>> 0;
        case 'sub': return (a - y) >>> 0;
        case 'mul': return Math.imul(a, b) >>> 0;
        case 'and': return (a & y) >>> 0;
        case 'or': return (a | y) >>> 0;
        case 'xor': return (a ^ y) >>> 0;
        case 'shl': case 'shr': case 'sar': return shift(op, a, y, 32);
        case 'min': return Math.min(a | 0, b | 0) >>> 0;
        case 'max': return Math.max(a | 0, b | 0) >>> 0;
        case 'minu': return Math.min(a, b);
        case 'maxu': return Math.max(a, b);
        case 'not': return ~a >>> 0;
        case 'abs': return Math.abs(a | 0) >>> 0;
        case 'mov': return a;
      }
      break;
    }
    case 'sau': {
      if (op === 'cvt') {
        if (t1 === 'f16') return convertF32F16(sa);
        if (t2 === 'f16') return convertF16F32(sa);
        if (t1 === 'f32') return bitsF32(Math.fround(sa | 0));
        return truncSat(f32(sa), -(2 ** 31), 2 ** 31 - 1) >>> 0;
      }
      if (t1 === 'i32') return (op === 'add' ? sa + sb : op === 'sub' ? sa - sb : Math.imul(sa, sb)) >>> 0;
      const type = t1 as 'f16' | 'f32';
      if (op === 'abs') return type === 'f16' ? sa & 0x7fff : (sa & 0x7fff_ffff) >>> 0;
      if (op === 'neg') return type === 'f16' ? (sa ^ 0x8000) & 0xffff : (sa ^ 0x8000_0000) >>> 0;
      const fn: Record<string, (x: number, y: number) => number> = {
        add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, div: (x, y) => x / y, min: (x, y) => minMax('min', x, y), max: (x, y) => minMax('max', x, y),
        sqrt: (x) => Math.sqrt(x), rcp: (x) => 1 / x, rsqrt: (x) => 1 / Math.sqrt(x), exp: Math.exp, log: Math.log, sin: Math.sin, cos: Math.cos,
      };
      return floatLane(type, fn[op]!, sa, sb, 0);
    }
    case 'vau': {
      const [va, vb, vd] = [o.v[2]!, o.v[3]!, o.v[1]!];
      if (op === 'and' || op === 'or' || op === 'xor' || op === 'not') {
        return Array.from(va, (x, n) => (op === 'and' ? x & vb[n]! : op === 'or' ? x | vb[n]! : op === 'xor' ? x ^ vb[n]! : ~x & 0xff));
      }
      if (op === 'cvt') {
        const [to, from] = [t1 as Lane, t2 as Lane];
        const src = lanesOf(va, WIDTH[from]);
        let out: number[];
        if (to === 'f16' && from === 'f32') out = src.map(convertF32F16);
        else if (to === 'f32' && from === 'f16') out = src.slice(0, 4).map(convertF16F32);
        else if (to === 'f32') out = src.map((x) => bitsF32(Math.fround(x | 0)));
        else if (to === 'i32' && from === 'f32') out = src.map((x) => truncSat(f32(x), -(2 ** 31), 2 ** 31 - 1) >>> 0);
        else if (to === 'f16') out = src.map((x) => nearestF16(signed(x, 16)));
        else if (from === 'f16') out = src.map((x) => unsigned(truncSat(f16(x), -32768, 32767), 16));
        else if (WIDTH[to] < WIDTH[from]) out = src.map((x) => unsigned(Math.max(-(2 ** (WIDTH[to] - 1)), Math.min(2 ** (WIDTH[to] - 1) - 1, signed(x, WIDTH[from]))), WIDTH[to]));
        else out = lanesOf(va, WIDTH[from]).slice(0, 128 / WIDTH[to]).map((x) => unsigned(signed(x, WIDTH[from]), WIDTH[to]));
        return bytesOf(out, WIDTH[to]);
      }
      const type = t1 as Lane;
      const bits = WIDTH[type];
      const [la, lb, ld] = [lanesOf(va, bits), lanesOf(vb, bits), lanesOf(vd, bits)];
      let out: number[];
      if (op === 'shl' || op === 'shr' || op === 'sar') out = la.map((x, n) => shift(op, x, spec.operands[2] === 'u8' ? imm : lb[n]!, bits));
      else if (op === 'adds' || op === 'subs') {
        const isSigned = type.startsWith('i');
        const [lo, hi] = isSigned ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
        const num = (x: number) => (isSigned ? signed(x, bits) : x);
        out = la.map((x, n) => unsigned(Math.max(lo, Math.min(hi, op === 'adds' ? num(x) + num(lb[n]!) : num(x) - num(lb[n]!))), bits));
      } else if (type === 'f16' || type === 'f32') {
        const sign = type === 'f16' ? 0x8000 : 0x8000_0000;
        if (op === 'abs') out = la.map((x) => (x & ~sign) >>> 0);
        else if (op === 'neg') out = la.map((x) => (x ^ sign) >>> 0);
        else if (op === 'mac' && type === 'f32') out = la.map((x, n) => bitsF32(Math.fround(Math.fround(f32(x) * f32(lb[n]!)) + f32(ld[n]!))));
        else {
          const fn: Record<string, (x: number, y: number, z: number) => number> = {
            add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, min: (x, y) => minMax('min', x, y), max: (x, y) => minMax('max', x, y), mac: (x, y, z) => Math.fround(x * y + z),
          };
          out = la.map((x, n) => floatLane(type, fn[op]!, x, lb[n]!, ld[n]!));
        }
      } else {
        const s = (x: number) => signed(x, bits);
        const fn: Record<string, (x: number, y: number, z: number) => number> = {
          add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => Math.imul(x, y), min: (x, y) => Math.min(s(x), s(y)), max: (x, y) => Math.max(s(x), s(y)),
          mac: (x, y, z) => z + Math.imul(x, y), abs: (x) => Math.abs(s(x)), neg: (x) => -x,
        };
        out = la.map((x, n) => unsigned(fn[op]!(x, lb[n]!, ld[n]!), bits));
      }
      return bytesOf(out, bits);
    }
    case 'cmu': {
      const [va, vd] = [o.v[2]!, o.v[1]!];
      switch (op) {
        case 'cmii': return t1 === 'u32' ? conditionsHolding(relation(a, b), relation(a, b)) : conditionsHolding(relation(a | 0, b | 0), relation(a, b));
        case 'cmss':
          if (t1 === 'i32') return conditionsHolding(relation(sa | 0, sb | 0), relation(sa, sb));
          if (t1 === 'f16') return conditionsHolding(relation(f16(sa), f16(sb)), relation(f16(sa), f16(sb)));
          return conditionsHolding(relation(f32(sa), f32(sb)), relation(f32(sa), f32(sb)));
        case 'cmvv': {
          const type = t1 as Lane;
          const bits = WIDTH[type];
          const cond = CONDITIONS[o.cond]!;
          const lb = lanesOf(o.v[3]!, bits);
          const out = lanesOf(va, bits).map((x, n) => {
            const y = lb[n]!;
            const holds =
              type === 'f16' ? conditionsHolding(relation(f16(x), f16(y)), relation(f16(x), f16(y))) : type === 'f32' ? conditionsHolding(relation(f32(x), f32(y)), relation(f32(x), f32(y))) : conditionsHolding(relation(signed(x, bits), signed(y, bits)), relation(x, y));
            return holds.includes(cond) ? unsigned(-1, bits) : 0;
          });
          return bytesOf(out, bits);
        }
        case 'cpii': return a;
        case 'cpsi': return a;
        case 'cpis': return sa;
        case 'cpss': return sa;
        case 'cpvv': return Array.from(va);
        case 'cpvi': { const bits = WIDTH[t1 as Lane]; return signed(lanesOf(va, bits)[o.lane]!, bits) >>> 0; }
        case 'cpiv': { const bits = WIDTH[t1 as Lane]; const lanes = lanesOf(vd, bits); lanes[o.lane] = unsigned(a, bits); return bytesOf(lanes, bits); }
        case 'bcst': { const bits = WIDTH[t1 as Lane]; return bytesOf(new Array(128 / bits).fill(unsigned(a, bits)), bits); }
        case 'vshuf': { const lanes = lanesOf(va, 32); return bytesOf([0, 1, 2, 3].map((n) => lanes[(imm >> (2 * n)) & 3]!), 32); }
        case 'cmovii': return conditionsHolding(relation(o.i[4]! | 0, o.i[5]! | 0), relation(o.i[4]!, o.i[5]!)).includes(CONDITIONS[o.cond]!) ? a : o.i[1]!;
        case 'cmovvv': return conditionsHolding(relation(o.i[4]! | 0, o.i[5]! | 0), relation(o.i[4]!, o.i[5]!)).includes(CONDITIONS[o.cond]!) ? Array.from(va) : Array.from(vd);
      }
    }
  }
  throw new Error(`no reference for ${spec.table}.${spec.name}`);
}

/** Source for one trial: the operation writing i1/s1/v1 from registers 2 and 3, then enough idle cycles for it to land. */
function source(spec: OpSpec, o: Operands): string {
  // The destination is register 1, sources 2 and 3; compares have only sources.
  const compare = spec.name.startsWith('cmii') || spec.name.startsWith('cmss');
  let next = compare ? 2 : 1;
  const operands = spec.operands.map((kind) => {
    if (kind === 'i' || kind === 's' || kind === 'v') return `${kind}${next++}`;
    if (kind === 'cond') return CONDITIONS[o.cond]!;
    if (kind === 'lane') return String(o.lane);
    return String(o.imm);
  });
  const line = `${spec.table}.${spec.name} ${operands.join(', ')}`;
  const probe = compare ? CONDITIONS.map((c, n) => `peu.pc1c ${c} || iau.or i9, i9, ${1 << n}`).join('\n') : '';
  // cmov tests the flags of a compare of i4 and i5 before it.
  const setup = spec.name.startsWith('cmov') ? 'cmu.cmii.i32 i4, i5\n' : '';
  return `${setup}${line}\nnop 5\n${probe}\nbru.swih 0`;
}

function operandsFor(spec: OpSpec): Operands {
  const parts = spec.name.split('.');
  const from = parts[0] === 'cvt' ? parts[2] : parts[1];
  const kind = from === 'f16' || from === 'f32' ? from : 'int';
  const v = Array.from({ length: 4 }, () => new Uint8Array(new Uint32Array(Array.from({ length: 4 }, () => word(kind))).buffer));
  const immKind = spec.operands.find((k) => k === 's14' || k === 'u8');
  const imm = immKind === 's14' ? (rand32() % 3 === 0 ? [0, 31, 32, 8191, -1, -8192][rand32() % 6]! : (rand32() % 16384) - 8192) : immKind === 'u8' ? (rand32() % 3 === 0 ? [0, 7, 8, 15, 16, 31, 32, 255][rand32() % 8]! : rand32() % 256) : 0;
  const laneBits = WIDTH[(parts[1] ?? 'i32') as Lane] ?? 32;
  return {
    i: Array.from({ length: 6 }, () => word('int')),
    s: Array.from({ length: 4 }, () => word(kind)),
    v,
    imm,
    cond: rand32() % CONDITIONS.length,
    lane: rand32() % (128 / laneBits),
  };
}

describe('every IAU, SAU, VAU and CMU operation against a reference', () => {
  for (const table of ['iau', 'sau', 'vau', 'cmu'] as const) {
    it(`${table}: ${TABLES[table].length} operation forms, ${TRIALS} random trials each`, () => {
      for (const spec of TABLES[table]) {
        for (let trial = 0; trial < TRIALS; trial++) {
          const o = operandsFor(spec);
          const text = source(spec, o);
          const r = runShave(text, {
            irf: Object.fromEntries(o.i.map((x, n) => [n, x])),
            srf: Object.fromEntries(o.s.map((x, n) => [n, x])),
            vrf: Object.fromEntries(o.v.map((x, n) => [n, x])),
          });
          expect(r.result.kind, text).toBe('halted');
          const want = expected(spec, o);
          const label = `${text.split('\n').find((l) => l.includes(spec.name))} with i=${o.i.map((x) => x.toString(16))} s=${o.s.map((x) => x.toString(16))} v2=${Buffer.from(o.v[2]!).toString('hex')} v3=${Buffer.from(o.v[3]!).toString('hex')}`;
          const destination = spec.operands[0];
          if (Array.isArray(want) && typeof want[0] === 'string') {
            const got = CONDITIONS.filter((_, n) => (r.i(9) >>> n) & 1);
            expect(got, label).toEqual(want);
          } else if (Array.isArray(want)) expect(Array.from(r.v(1)), label).toEqual(want);
          else expect(destination === 's' ? r.s(1) : r.i(1), label).toBe(want);
        }
      }
    });
  }
});
