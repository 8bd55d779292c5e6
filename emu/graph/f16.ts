/**
 * binary16 for the graph tools and the layer references: exact conversions, fast enough for
 * whole networks. The SHAVE computes f16 as docs/shave-isa.md says (widen exactly, compute in
 * f32 or f64, round once); these do the same rounding, to nearest with ties to even.
 */

/** Every f16 bit pattern's value. */
const VALUES = (() => {
  const table = new Float64Array(0x10000);
  for (let h = 0; h < 0x10000; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    table[h] = exp === 0x1f ? (frac ? NaN : sign * Infinity) : exp === 0 ? sign * frac * 2 ** -24 : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return table;
})();

/** The value of an f16 bit pattern. */
export function f16ToNumber(h: number): number {
  return VALUES[h & 0xffff]!;
}

const bits = new DataView(new ArrayBuffer(8));

/**
 * The f16 nearest to x, ties to even; past 65520, infinity; NaN gives the default NaN 0x7E00.
 * One rounding from the exact f64 value (no double rounding through f32).
 */
export function f16FromNumber(x: number): number {
  if (x !== x) return 0x7e00;
  const sign = x < 0 || (x === 0 && 1 / x < 0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24); // subnormal: quantum 2^-24; 0x400 is the smallest normal
  bits.setFloat64(0, a);
  const e = ((bits.getUint32(0) >>> 20) & 0x7ff) - 1023; // a >= 2^-14 is a normal f64
  const m = roundEven(a * 2 ** (10 - e)); // 1024 .. 2048
  return sign | (((e + 15) << 10) + (m - 1024)); // m = 2048 carries into the exponent
}

/** x (exact, non-negative) to the nearest integer, ties to even. */
function roundEven(x: number): number {
  const n = Math.floor(x);
  const r = x - n;
  return r > 0.5 || (r === 0.5 && (n & 1) === 1) ? n + 1 : n;
}

/** The SHAVE's f16 operations, by their definitions in docs/shave-isa.md. */
export const F16 = {
  add: (a: number, b: number) => f16FromNumber(f16ToNumber(a) + f16ToNumber(b)),
  sub: (a: number, b: number) => f16FromNumber(f16ToNumber(a) - f16ToNumber(b)),
  mul: (a: number, b: number) => f16FromNumber(f16ToNumber(a) * f16ToNumber(b)),
  /** vau.mac.f16: the exact product plus the accumulator, rounded to f32, then to f16. */
  mac: (acc: number, a: number, b: number) => f16FromNumber(Math.fround(f16ToNumber(a) * f16ToNumber(b) + f16ToNumber(acc))),
  /** vau.max.f16 / min: exact; a NaN operand gives the default NaN; max(-0, +0) is +0. */
  max: (a: number, b: number) => {
    const x = f16ToNumber(a);
    const y = f16ToNumber(b);
    if (x !== x || y !== y) return 0x7e00;
    if (x === y) return x === 0 ? ((a & b & 0x8000) | (a & 0x7fff)) : a; // -0 only if both are -0
    return x > y ? a : b;
  },
  min: (a: number, b: number) => {
    const x = f16ToNumber(a);
    const y = f16ToNumber(b);
    if (x !== x || y !== y) return 0x7e00;
    if (x === y) return x === 0 ? (((a | b) & 0x8000) | (a & 0x7fff)) : a; // -0 if either is -0
    return x < y ? a : b;
  },
} as const;
