// IEEE 754 binary16 for the SHAVE lanes, in software: WebAssembly has no f16.
//
// Conversions are exact (f16 -> f32) or round to nearest, ties to even (f32 -> f16), with
// overflow to infinity, gradual underflow, and NaNs kept quiet with their top payload bits.
// The four operations and the square root compute in f32 and round once to f16: f32 has
// 24 >= 2 * 11 + 2 bits, which is enough for the f32 result rounded to f16 to be the correctly
// rounded f16 result (no double-rounding error) for +, -, *, / and sqrt.

const SIGN: u32 = 0x8000;
const EXP16: u32 = 0x7c00;
const FRAC16: u32 = 0x03ff;

/** The f32 value of an f16 bit pattern (low 16 bits of `h`). Exact. */
export function f16ToF32(h: u32): f32 {
  const sign = (h & SIGN) << 16;
  const exp = (h & EXP16) >> 10;
  const frac = h & FRAC16;
  if (exp == 0x1f) {
    // Infinity, or NaN with its payload in the top of the f32 fraction (quiet bit kept).
    return reinterpret<f32>(sign | 0x7f800000 | (frac << 13));
  }
  if (exp == 0) {
    if (frac == 0) return reinterpret<f32>(sign);
    // Subnormal: frac * 2^-24, exact in f32.
    const magnitude = <f32>frac * reinterpret<f32>(0x33800000); // 2^-24
    return sign ? -magnitude : magnitude;
  }
  return reinterpret<f32>(sign | ((exp + 112) << 23) | (frac << 13));
}

/** The f16 bit pattern nearest to `value`, ties to even. */
export function f32ToF16(value: f32): u32 {
  const bits = reinterpret<u32>(value);
  const sign = (bits >> 16) & SIGN;
  const exp = (bits >> 23) & 0xff;
  const frac = bits & 0x7fffff;
  if (exp == 0xff) {
    if (frac == 0) return sign | EXP16; // infinity
    // NaN: quiet, top payload bits kept (never turned into infinity).
    return sign | EXP16 | 0x200 | (frac >> 13);
  }
  // The unbiased exponent, and the f16 exponent field it would have.
  const e = <i32>exp - 127;
  if (e > 15) return sign | EXP16; // beyond the largest finite f16 even before rounding
  if (e >= -14) {
    // Normal range: keep 10 fraction bits, round the 13 dropped ones.
    let half = ((<u32>(e + 15)) << 10) | (frac >> 13);
    const dropped = frac & 0x1fff;
    if (dropped > 0x1000 || (dropped == 0x1000 && (half & 1) != 0)) half++; // may carry into the exponent: right, up to infinity
    return sign | half;
  }
  if (e < -25) return sign; // below half the smallest subnormal: rounds to zero
  // Subnormal: the significand with its hidden bit, shifted right; round what falls off.
  const significand = frac | 0x800000;
  const shift = <u32>(-e - 1); // 14..24: e = -15 keeps 9 bits, e = -25 keeps none
  let half = significand >> (shift);
  const droppedMask = (<u32>1 << shift) - 1;
  const dropped = significand & droppedMask;
  const halfway = <u32>1 << (shift - 1);
  if (dropped > halfway || (dropped == halfway && (half & 1) != 0)) half++;
  return sign | half;
}

export function f16Add(a: u32, b: u32): u32 {
  return f32ToF16(f16ToF32(a) + f16ToF32(b));
}

export function f16Sub(a: u32, b: u32): u32 {
  return f32ToF16(f16ToF32(a) - f16ToF32(b));
}

export function f16Mul(a: u32, b: u32): u32 {
  return f32ToF16(f16ToF32(a) * f16ToF32(b));
}

export function f16Div(a: u32, b: u32): u32 {
  return f32ToF16(f16ToF32(a) / f16ToF32(b));
}

export function f16Sqrt(a: u32): u32 {
  return f32ToF16(Mathf.sqrt(f16ToF32(a)));
}

// SAU functions on f16. Each is computed in f64 (AssemblyScript's libm, from musl) and rounded
// once to f16. An f64 result is off by at most an ulp or so, 2^-52 relative, so the f16 result
// can differ from the correctly rounded one only where the true value lies that close to an
// f16 midpoint. The test compares all 65 536 inputs with V8's libm, rounded the same way.

/** Reciprocal, 1/x. */
export function f16Rcp(a: u32): u32 {
  return f64ToF16(1.0 / <f64>f16ToF32(a));
}

/** Reciprocal square root, 1/sqrt(x). */
export function f16Rsqrt(a: u32): u32 {
  return f64ToF16(1.0 / Math.sqrt(<f64>f16ToF32(a)));
}

export function f16Exp(a: u32): u32 {
  return f64ToF16(Math.exp(<f64>f16ToF32(a)));
}

/** Natural logarithm. */
export function f16Log(a: u32): u32 {
  return f64ToF16(Math.log(<f64>f16ToF32(a)));
}

export function f16Sin(a: u32): u32 {
  return f64ToF16(Math.sin(<f64>f16ToF32(a)));
}

export function f16Cos(a: u32): u32 {
  return f64ToF16(Math.cos(<f64>f16ToF32(a)));
}

/**
 * f64 to f16, round to nearest even, in one step (going through f32 would round twice).
 * The same cases as f32ToF16, with 52 fraction bits.
 */
export function f64ToF16(value: f64): u32 {
  const bits = reinterpret<u64>(value);
  const sign = <u32>(bits >> 48) & SIGN;
  const exp = <i32>((bits >> 52) & 0x7ff);
  const frac = bits & 0xfffffffffffff;
  if (exp == 0x7ff) {
    if (frac == 0) return sign | EXP16;
    return sign | EXP16 | 0x200 | <u32>(frac >> 42);
  }
  const e = exp - 1023;
  if (e > 15) return sign | EXP16;
  if (e >= -14) {
    let half = (<u32>(e + 15) << 10) | <u32>(frac >> 42);
    const dropped = frac & 0x3ffffffffff;
    const halfway: u64 = 0x20000000000;
    if (dropped > halfway || (dropped == halfway && (half & 1) != 0)) half++;
    return sign | half;
  }
  if (e < -25) return sign;
  const significand = frac | 0x10000000000000;
  const shift = <u64>(-e + 28); // e = -15 keeps 10 bits of the 53
  let half = <u32>(significand >> shift);
  const dropped = significand & ((<u64>1 << shift) - 1);
  const halfway = <u64>1 << (shift - 1);
  if (dropped > halfway || (dropped == halfway && (half & 1) != 0)) half++;
  return sign | half;
}
