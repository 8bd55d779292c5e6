// Vector lanes of the VAU and CMU on WebAssembly SIMD. Integer lanes map onto v128 operations
// directly. f32 lanes too, with every NaN an operation produces made the default NaN so that
// results do not depend on the host's NaN propagation. f16 lanes are widened to f32 (exactly),
// computed there and narrowed back with one rounding to nearest even: for + - * that is the
// correctly rounded f16 result (see f16.ts), and min/max are exact.

const DEFAULT_NAN_F32: i32 = 0x7fc00000;

/** NaN lanes of an f32 result become the default NaN. */
// @ts-ignore: decorator
@inline export function quietF32(v: v128): v128 {
  return v128.bitselect(i32x4.splat(DEFAULT_NAN_F32), v, f32x4.ne(v, v));
}

/** Four f16 patterns (in the low halves of i32 lanes) as exact f32 lanes. */
// @ts-ignore: decorator
@inline function halfToFloat(h: v128): v128 {
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const magnitude = v128.and(h, i32x4.splat(0x7fff));
  const shifted = i32x4.shl(magnitude, 13);
  // Normals and subnormals alike: the f16 fields placed in an f32, times 2^112 (exact).
  const scaled = f32x4.mul(shifted, f32x4.splat(reinterpret<f32>(0x77800000)));
  // Infinity and NaN keep their fraction under an all-ones exponent.
  const special = v128.or(shifted, i32x4.splat(0x7f800000));
  return v128.or(v128.bitselect(special, scaled, i32x4.gt_s(magnitude, i32x4.splat(0x7bff))), sign);
}

/** f32 lanes to f16 patterns in the low halves of i32 lanes, nearest even, like f32ToF16. */
// @ts-ignore: decorator
@inline function floatToHalf(f: v128): v128 {
  const sign = i32x4.shr_u(v128.and(f, i32x4.splat(0x80000000)), 16);
  const magnitude = v128.and(f, i32x4.splat(0x7fffffff));
  // NaN: quiet, the top of the payload kept.
  const nan = v128.or(i32x4.splat(0x7e00), v128.and(i32x4.shr_u(magnitude, 13), i32x4.splat(0x3ff)));
  // Below 2^-14 the result is subnormal: adding 0.5 puts the f16 unit 2^-24 at the f32's last
  // place, so the f32 addition does the rounding.
  const half = i32x4.splat(126 << 23);
  const subnormal = i32x4.sub(f32x4.add(magnitude, half), half);
  // Normal: rebias, add just under half of the dropped part plus the kept part's low bit.
  const odd = v128.and(i32x4.shr_u(magnitude, 13), i32x4.splat(1));
  const normal = i32x4.shr_u(i32x4.add(i32x4.add(magnitude, i32x4.splat(((15 - 127) << 23) + 0xfff)), odd), 13);
  let r = v128.bitselect(subnormal, normal, i32x4.lt_s(magnitude, i32x4.splat(113 << 23)));
  r = v128.bitselect(i32x4.splat(0x7c00), r, i32x4.ge_s(magnitude, i32x4.splat(143 << 23))); // >= 2^16: infinity
  r = v128.bitselect(nan, r, i32x4.gt_s(magnitude, i32x4.splat(0x7f800000)));
  return v128.or(r, sign);
}

/**
 * Like floatToHalf, for results of arithmetic: every NaN becomes the default NaN 0x7e00,
 * whatever sign and payload the host's f32 arithmetic gave it.
 */
// @ts-ignore: decorator
@inline function arithmeticToHalf(f: v128): v128 {
  const magnitude = v128.and(f, i32x4.splat(0x7fffffff));
  const half = i32x4.splat(126 << 23);
  const subnormal = i32x4.sub(f32x4.add(magnitude, half), half);
  const odd = v128.and(i32x4.shr_u(magnitude, 13), i32x4.splat(1));
  const normal = i32x4.shr_u(i32x4.add(i32x4.add(magnitude, i32x4.splat(((15 - 127) << 23) + 0xfff)), odd), 13);
  let r = v128.bitselect(subnormal, normal, i32x4.lt_s(magnitude, i32x4.splat(113 << 23)));
  r = v128.bitselect(i32x4.splat(0x7c00), r, i32x4.ge_s(magnitude, i32x4.splat(143 << 23)));
  r = v128.or(r, i32x4.shr_u(v128.and(f, i32x4.splat(0x80000000)), 16));
  return v128.bitselect(i32x4.splat(0x7e00), r, i32x4.gt_s(magnitude, i32x4.splat(0x7f800000)));
}

/** Eight f16 lanes from two f32 arithmetic results (low and high lanes), default NaN. */
// @ts-ignore: decorator
@inline function arithmeticF16(low: v128, high: v128): v128 {
  return i16x8.narrow_i32x4_u(arithmeticToHalf(low), arithmeticToHalf(high));
}

/** The low four f16 lanes as f32 lanes. */
// @ts-ignore: decorator
@inline export function f16Low(v: v128): v128 {
  return halfToFloat(i32x4.extend_low_i16x8_u(v));
}

/** The high four f16 lanes as f32 lanes. */
// @ts-ignore: decorator
@inline export function f16High(v: v128): v128 {
  return halfToFloat(i32x4.extend_high_i16x8_u(v));
}

/** Two f32 vectors (low and high lanes) rounded into eight f16 lanes. */
// @ts-ignore: decorator
@inline export function toF16(low: v128, high: v128): v128 {
  return i16x8.narrow_i32x4_u(floatToHalf(low), floatToHalf(high));
}

/** Four f32 lanes rounded into the low four f16 lanes; the high four are zero. */
// @ts-ignore: decorator
@inline export function toF16Low(low: v128): v128 {
  return i16x8.narrow_i32x4_u(floatToHalf(low), i32x4.splat(0));
}

// f16 lane operations, through f32.
export const F16_ADD: u32 = 0;
export const F16_SUB: u32 = 1;
export const F16_MUL: u32 = 2;
export const F16_MIN: u32 = 3;
export const F16_MAX: u32 = 4;

// @ts-ignore: decorator
@inline function f32Lanes(op: u32, a: v128, b: v128): v128 {
  switch (op) {
    case F16_ADD: return f32x4.add(a, b);
    case F16_SUB: return f32x4.sub(a, b);
    case F16_MUL: return f32x4.mul(a, b);
    case F16_MIN: return f32x4.min(a, b);
    default: return f32x4.max(a, b);
  }
}

// @ts-ignore: decorator
@inline export function f16Lanes(op: u32, a: v128, b: v128): v128 {
  return arithmeticF16(f32Lanes(op, f16Low(a), f16Low(b)), f32Lanes(op, f16High(a), f16High(b)));
}

/** d + a * b on f16 lanes: the product is exact in f32, the sum is rounded to f32, then to f16. */
// @ts-ignore: decorator
@inline export function f16MulAdd(d: v128, a: v128, b: v128): v128 {
  const low = f32x4.add(f16Low(d), f32x4.mul(f16Low(a), f16Low(b)));
  const high = f32x4.add(f16High(d), f32x4.mul(f16High(a), f16High(b)));
  return arithmeticF16(low, high);
}

/** i8 lanes multiplied, keeping the low 8 bits of each product. */
// @ts-ignore: decorator
@inline export function mulI8(a: v128, b: v128): v128 {
  const low = i16x8.extmul_low_i8x16_s(a, b);
  const high = i16x8.extmul_high_i8x16_s(a, b);
  return v128.shuffle<u8>(low, high, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
}
