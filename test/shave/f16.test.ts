/**
 * The SHAVE's software binary16 (assembly/shave/f16.ts) against a reference written another
 * way: every finite f16 value as an f64, and rounding as a search for the nearest one (ties to
 * the even significand). Conversions are checked exhaustively; operations on all pairs of a
 * set of edge values and on pseudo-random pairs.
 */
import { describe, expect, it } from 'vitest';
import { instantiateWasm } from '../../emu/memory/wasm-module.js';
import { f16Value, nearestF16 } from '../support/f16-reference.js';

const wasm = instantiateWasm(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }));

const value = f16Value;
const nearest = nearestF16;

const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const f32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0]!;

describe('SHAVE f16 (software binary16 in WASM)', () => {
  it('converts every f16 to f32 exactly, and back to the same bits', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = wasm.f16ToF32(h);
      if (isNaN16(h)) {
        expect(Number.isNaN(x)).toBe(true);
        expect(wasm.f32ToF16(x) & 0x7fff, `NaN ${h.toString(16)}`).toBe((h & 0x7fff) | 0x200); // quieted, payload kept
        continue;
      }
      expect(Object.is(x, value(h)), `f16 0x${h.toString(16)}`).toBe(true);
      expect(wasm.f32ToF16(x), `round trip of 0x${h.toString(16)}`).toBe(h);
    }
  });

  it('rounds f32 to nearest even: every midpoint between neighbours, and the f32 values either side', () => {
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (value(h) + value(h + 1)) / 2; // exact in f32: 12 significant bits
      const bits = new Uint32Array(new Float32Array([mid]).buffer)[0]!;
      for (const b of [bits - 1, bits, bits + 1]) {
        for (const sign of [0, 0x80000000]) {
          const x = f32((b | sign) >>> 0);
          expect(wasm.f32ToF16(x), `f32 ${x}`).toBe(nearest(x));
        }
      }
    }
  });

  it('rounds f32 overflow, underflow and specials as IEEE says', () => {
    const cases: [number, number][] = [
      [65504, 0x7bff],
      [65519.99, 0x7bff],
      [65520, 0x7c00], // the midpoint to the next (absent) binade: ties to even, which is infinity
      [1e10, 0x7c00],
      [-1e10, 0xfc00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -25, 0x0000], // half the smallest subnormal: ties to even (zero)
      [2 ** -25 * 1.0000001, 0x0001],
      [2 ** -24 * 1.5, 0x0002], // ties to even
      [2 ** -24 * 2.5, 0x0002],
      [1e-30, 0x0000],
      [-1e-30, 0x8000],
      [-0, 0x8000],
      [f32(0x00000001), 0x0000], // f32 subnormal
    ];
    for (const [x, h] of cases) expect(wasm.f32ToF16(x), `f32 ${x}`).toBe(h);
  });

  const EDGES = [0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x3c00, 0xbc00, 0x3bff, 0x3c01, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x5640, 0x1400, 0x0200, 0x4000, 0xc000, 0x3555];

  /** xorshift32, fixed seed: the same pairs on every run. */
  function* randomPairs(count: number): Generator<[number, number]> {
    let s = 0x12345;
    const next = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) & 0xffff;
    };
    for (let i = 0; i < count; i++) yield [next(), next()];
  }

  const OPS: [string, (a: number, b: number) => number, (x: number, y: number) => number][] = [
    ['add', wasm.f16Add, (x, y) => x + y],
    ['sub', wasm.f16Sub, (x, y) => x - y],
    ['mul', wasm.f16Mul, (x, y) => x * y],
    ['div', wasm.f16Div, (x, y) => x / y],
    ['sqrt', (a) => wasm.f16Sqrt(a), (x) => Math.sqrt(x)],
  ];

  it('rounds f64 to f16 in one step, not through f32', () => {
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (value(h) + value(h + 1)) / 2;
      // Just above and below a midpoint by less than an f32 ulp: f32 would round to the midpoint first.
      for (const x of [mid, mid * (1 + 2 ** -40), mid * (1 - 2 ** -40), -mid * (1 + 2 ** -40)]) {
        expect(wasm.f64ToF16(x), `f64 ${x}`).toBe(nearest(x));
      }
    }
    for (const [x, h] of [[NaN, 0x7e00], [Infinity, 0x7c00], [-0, 0x8000], [2 ** -25, 0], [2 ** -25 * (1 + 2 ** -50), 1], [65520, 0x7c00], [65519.999999, 0x7bff]] as const) {
      expect(wasm.f64ToF16(x) & (Number.isNaN(x) ? 0x7e00 : 0xffff), `f64 ${x}`).toBe(h);
    }
  });

  const FUNCTIONS: [string, (a: number) => number, (x: number) => number][] = [
    ['rcp', wasm.f16Rcp, (x) => 1 / x],
    ['rsqrt', wasm.f16Rsqrt, (x) => 1 / Math.sqrt(x)],
    ['exp', wasm.f16Exp, Math.exp],
    ['log', wasm.f16Log, Math.log],
    ['sin', wasm.f16Sin, Math.sin],
    ['cos', wasm.f16Cos, Math.cos],
  ];

  it.each(FUNCTIONS)('SAU %s agrees with the f64 function rounded once, on all 65 536 inputs', (name, op, exact) => {
    const differ: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const got = op(h);
      const want = nearest(exact(value(h)));
      if (isNaN16(want) ? !isNaN16(got) : got !== want) differ.push(`${name}(0x${h.toString(16)}) = 0x${got.toString(16)}, want 0x${want.toString(16)}`);
    }
    expect(differ).toEqual([]);
  });

  it.each(OPS)('%s is correctly rounded on edge values and 200 000 random pairs', (name, op, exact) => {
    const pairs = [...EDGES.flatMap((a) => EDGES.map((b) => [a, b] as [number, number])), ...randomPairs(200_000)];
    for (const [a, b] of pairs) {
      const got = op(a, b);
      // In f64, + - * of two f16 values are exact; / and sqrt are rounded once to 53 bits,
      // which is fine enough for the f16 rounding that follows.
      const want = nearest(exact(value(a), value(b)));
      if (isNaN16(want)) {
        expect(isNaN16(got), `${name}(0x${a.toString(16)}, 0x${b.toString(16)}) = 0x${got.toString(16)}, not a NaN`).toBe(true);
        continue;
      }
      if (got !== want) expect(`${name}(0x${a.toString(16)}, 0x${b.toString(16)}) = 0x${got.toString(16)}`).toBe(`... 0x${want.toString(16)}`);
    }
  });
});
