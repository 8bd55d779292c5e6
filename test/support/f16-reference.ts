/**
 * binary16 by the definition, for checking the SHAVE's f16: every finite f16 as an f64, and
 * rounding as a search for the nearest value (ties to the even significand).
 */

/** The value of an f16 bit pattern. */
export function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  if (exp === 0) return sign * frac * 2 ** -24;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Non-negative finite f16 patterns in increasing order of value (0x0000 .. 0x7bff). */
const POSITIVE = Array.from({ length: 0x7c00 }, (_, h) => h);
const MAX = f16Value(0x7bff);

/** The f16 nearest to x (an f64), ties to even; past the rounding edge, infinity; NaN: 0x7e00. */
export function nearestF16(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // Values from MAX + half an ulp (2^4) on round to infinity.
  if (a >= MAX + 16) return sign | 0x7c00;
  let lo = 0;
  let hi = POSITIVE.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (f16Value(POSITIVE[mid]!) <= a) lo = mid;
    else hi = mid;
  }
  const below = f16Value(POSITIVE[lo]!);
  const above = f16Value(POSITIVE[hi]!);
  if (a <= below) return sign | POSITIVE[lo]!;
  if (a >= above) return sign | POSITIVE[hi]!;
  const d1 = a - below;
  const d2 = above - a;
  if (d1 < d2) return sign | POSITIVE[lo]!;
  if (d2 < d1) return sign | POSITIVE[hi]!;
  return sign | ((POSITIVE[lo]! & 1) === 0 ? POSITIVE[lo]! : POSITIVE[hi]!);
}
