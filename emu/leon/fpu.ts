/**
 * IEEE 754 single and double arithmetic for the LEON FPU, exact in every rounding mode.
 *
 * Values are raw bit patterns (single: a uint32 number; double: a 64-bit BigInt). Each operation
 * computes the exact result (division and square root with enough extra bits and a sticky bit),
 * then `round` fits it to the format in the current mode and reports the IEEE exceptions. This
 * is slower than host floating point but right for every mode, subnormal and flag, which the
 * host's arithmetic (round-to-nearest only, no flags) cannot give.
 */

/** IEEE exception bits as the SPARC FSR orders them (cexc/aexc/TEM). */
export const NX = 0x01;
export const DZ = 0x02;
export const UF = 0x04;
export const OF = 0x08;
export const NV = 0x10;

/** FSR.RD: 0 nearest even, 1 toward zero, 2 toward +infinity, 3 toward -infinity. */
export type Rounding = 0 | 1 | 2 | 3;

export interface Format {
  /** Significand bits including the hidden bit. */
  readonly p: number;
  readonly bias: number;
  readonly expBits: number;
}

export const SINGLE: Format = { p: 24, bias: 127, expBits: 8 };
export const DOUBLE: Format = { p: 53, bias: 1023, expBits: 11 };

/** A result and the exceptions it raised. */
export interface Result {
  readonly raw: bigint;
  readonly flags: number;
}

type Unpacked =
  | { readonly kind: 'zero'; readonly sign: number }
  | { readonly kind: 'inf'; readonly sign: number }
  | { readonly kind: 'nan'; readonly sign: number; readonly signaling: boolean; readonly raw: bigint }
  /** value = (-1)^sign * sig * 2^exp, sig > 0 */
  | { readonly kind: 'finite'; readonly sign: number; readonly sig: bigint; readonly exp: number };

const fracBits = (f: Format) => f.p - 1;
const expMax = (f: Format) => (1 << f.expBits) - 1;

export function unpack(raw: bigint, f: Format): Unpacked {
  const frac = raw & ((1n << BigInt(fracBits(f))) - 1n);
  const biased = Number((raw >> BigInt(fracBits(f))) & BigInt(expMax(f)));
  const sign = Number((raw >> BigInt(f.p - 1 + f.expBits)) & 1n);
  if (biased === expMax(f)) {
    if (frac === 0n) return { kind: 'inf', sign };
    return { kind: 'nan', sign, signaling: (frac >> BigInt(fracBits(f) - 1)) === 0n, raw };
  }
  if (biased === 0) {
    if (frac === 0n) return { kind: 'zero', sign };
    return { kind: 'finite', sign, sig: frac, exp: 1 - f.bias - fracBits(f) };
  }
  return { kind: 'finite', sign, sig: frac | (1n << BigInt(fracBits(f))), exp: biased - f.bias - fracBits(f) };
}

function pack(sign: number, biased: number, frac: bigint, f: Format): bigint {
  return (BigInt(sign) << BigInt(f.p - 1 + f.expBits)) | (BigInt(biased) << BigInt(fracBits(f))) | frac;
}

const zero = (sign: number, f: Format) => pack(sign, 0, 0n, f);
const infinity = (sign: number, f: Format) => pack(sign, expMax(f), 0n, f);
const maxFinite = (sign: number, f: Format) => pack(sign, expMax(f) - 1, (1n << BigInt(fracBits(f))) - 1n, f);
/** SPARC's default NaN: sign clear, every fraction bit set. */
export const defaultNaN = (f: Format) => pack(0, expMax(f), (1n << BigInt(fracBits(f))) - 1n, f);
const quiet = (raw: bigint, f: Format) => raw | (1n << BigInt(fracBits(f) - 1));

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/**
 * Rounds (-1)^sign * (sig * 2^exp + a sticky bit below it) to the format. Tininess is detected
 * after rounding, and underflow is raised only for tiny inexact results, as QEMU does.
 */
export function round(sign: number, sig: bigint, exp: number, sticky: boolean, f: Format, mode: Rounding): Result {
  if (sig === 0n && !sticky) return { raw: zero(sign, f), flags: 0 };
  const emin = 1 - f.bias; // exponent of the smallest normal
  const emaxUnbiased = f.bias;
  const leading = exp + bitLength(sig) - 1;
  // The weight of the last significand bit: normal, or the fixed subnormal quantum.
  const quantum = Math.max(leading - (f.p - 1), emin - (f.p - 1));
  let q: bigint;
  let inexact: boolean;
  let increment = false;
  const shift = quantum - exp;
  if (shift <= 0) {
    q = sig << BigInt(-shift);
    inexact = sticky;
    if (sticky) increment = mode === 2 ? sign === 0 : mode === 3 ? sign === 1 : false;
  } else {
    q = sig >> BigInt(shift);
    const rest = sig & ((1n << BigInt(shift)) - 1n);
    const half = 1n << BigInt(shift - 1);
    inexact = rest !== 0n || sticky;
    if (mode === 0) increment = rest > half || (rest === half && (sticky || (q & 1n) === 1n));
    else if (mode === 2) increment = inexact && sign === 0;
    else if (mode === 3) increment = inexact && sign === 1;
  }
  if (increment) q += 1n;
  let e = quantum;
  if (q >> BigInt(f.p) !== 0n) {
    q >>= 1n; // the increment carried out of the significand
    e += 1;
  }
  const top = e + bitLength(q) - 1;
  let flags = inexact ? NX : 0;
  if (top > emaxUnbiased) {
    flags |= OF | NX;
    const toInfinity = mode === 0 || (mode === 2 && sign === 0) || (mode === 3 && sign === 1);
    return { raw: toInfinity ? infinity(sign, f) : maxFinite(sign, f), flags };
  }
  // Tiny after rounding: the rounded result, with an unbounded exponent, is below the smallest
  // normal. Round the exact value again as if the exponent range were unbounded to decide it.
  if (inexact && tinyAfterRounding(sign, sig, exp, sticky, f, mode, emin)) flags |= UF;
  if (q === 0n) return { raw: zero(sign, f), flags };
  if (bitLength(q) < f.p) return { raw: pack(sign, 0, q, f), flags }; // subnormal
  return { raw: pack(sign, top + f.bias, q - (1n << BigInt(f.p - 1)), f), flags };
}

function tinyAfterRounding(sign: number, sig: bigint, exp: number, sticky: boolean, f: Format, mode: Rounding, emin: number): boolean {
  const leading = exp + bitLength(sig) - 1;
  if (leading >= emin) return false;
  if (leading < emin - 1) return true;
  // Just below the smallest normal: tiny unless rounding to p bits carries into 2^emin.
  const shift = leading - (f.p - 1) - exp;
  if (shift <= 0) return true;
  const q = sig >> BigInt(shift);
  const rest = sig & ((1n << BigInt(shift)) - 1n);
  const half = 1n << BigInt(shift - 1);
  const inexact = rest !== 0n || sticky;
  const up =
    mode === 0 ? rest > half || (rest === half && (sticky || (q & 1n) === 1n)) : mode === 2 ? inexact && sign === 0 : mode === 3 ? inexact && sign === 1 : false;
  return !(up && q + 1n === 1n << BigInt(f.p));
}

/**
 * The NaN result of an operation with NaN operands, by the rule QEMU applies to SPARC (the
 * x87-style rule of SoftFloat): operands are quieted; a signalling rs1 yields rs2 when rs2 is a
 * NaN; a quiet rs1 wins over a signalling or non-NaN rs2; two NaNs of the same kind give the one
 * with the larger significand (the smaller raw value on a tie). A signalling NaN raises invalid.
 */
function propagate(a: Unpacked, b: Unpacked | null, f: Format): Result {
  const aNaN = a.kind === 'nan';
  const bNaN = b?.kind === 'nan';
  const aSignaling = aNaN && a.signaling;
  const bSignaling = bNaN && (b as { signaling: boolean }).signaling;
  const flags = aSignaling || bSignaling ? NV : 0;
  const qa = aNaN ? quiet(a.raw, f) : 0n;
  const qb = bNaN ? quiet((b as { raw: bigint }).raw, f) : 0n;
  const larger = (): bigint => {
    const mask = (1n << BigInt(f.p - 1 + f.expBits)) - 1n; // everything but the sign
    if ((qa & mask) < (qb & mask)) return qb;
    if ((qb & mask) < (qa & mask)) return qa;
    return qa < qb ? qa : qb;
  };
  let raw: bigint;
  if (aSignaling) raw = bSignaling ? larger() : bNaN ? qb : qa;
  else if (aNaN) raw = bSignaling || !bNaN ? qa : larger();
  else raw = qb;
  return { raw, flags };
}

const invalid = (f: Format): Result => ({ raw: defaultNaN(f), flags: NV });

export function add(x: bigint, y: bigint, subtract: boolean, f: Format, mode: Rounding): Result {
  const a = unpack(x, f);
  let b = unpack(y, f);
  if (a.kind === 'nan' || b.kind === 'nan') return propagate(a, b, f);
  if (subtract) b = { ...b, sign: b.sign ^ 1 } as Unpacked;
  if (a.kind === 'inf' || b.kind === 'inf') {
    if (a.kind === 'inf' && b.kind === 'inf' && a.sign !== b.sign) return invalid(f);
    return { raw: infinity(a.kind === 'inf' ? a.sign : b.sign, f), flags: 0 };
  }
  if (a.kind === 'zero' && b.kind === 'zero') {
    const sign = a.sign === b.sign ? a.sign : mode === 3 ? 1 : 0;
    return { raw: zero(sign, f), flags: 0 };
  }
  const signBit = 1n << BigInt(f.p - 1 + f.expBits);
  if (a.kind === 'zero') return { raw: (y & ~signBit) | (b.sign ? signBit : 0n), flags: 0 }; // exactly the other operand
  if (b.kind === 'zero') return { raw: x, flags: 0 };
  const fa = a as Extract<Unpacked, { kind: 'finite' }>;
  const fb = b as Extract<Unpacked, { kind: 'finite' }>;
  const e = Math.min(fa.exp, fb.exp);
  const ma = (fa.sign ? -1n : 1n) * (fa.sig << BigInt(fa.exp - e));
  const mb = (fb.sign ? -1n : 1n) * (fb.sig << BigInt(fb.exp - e));
  const sum = ma + mb;
  if (sum === 0n) return { raw: zero(mode === 3 ? 1 : 0, f), flags: 0 };
  return round(sum < 0n ? 1 : 0, sum < 0n ? -sum : sum, e, false, f, mode);
}

export function multiply(x: bigint, y: bigint, f: Format, mode: Rounding, out: Format = f): Result {
  const a = unpack(x, f);
  const b = unpack(y, f);
  if (a.kind === 'nan' || b.kind === 'nan') return convertNaN(propagate(a, b, f), f, out);
  const sign = a.sign ^ b.sign;
  if (a.kind === 'inf' || b.kind === 'inf') {
    if (a.kind === 'zero' || b.kind === 'zero') return invalid(out);
    return { raw: infinity(sign, out), flags: 0 };
  }
  if (a.kind === 'zero' || b.kind === 'zero') return { raw: zero(sign, out), flags: 0 };
  return round(sign, a.sig * b.sig, a.exp + b.exp, false, out, mode);
}

export function divide(x: bigint, y: bigint, f: Format, mode: Rounding): Result {
  const a = unpack(x, f);
  const b = unpack(y, f);
  if (a.kind === 'nan' || b.kind === 'nan') return propagate(a, b, f);
  const sign = a.sign ^ b.sign;
  if (a.kind === 'inf') return b.kind === 'inf' ? invalid(f) : { raw: infinity(sign, f), flags: 0 };
  if (b.kind === 'inf') return { raw: zero(sign, f), flags: 0 };
  if (b.kind === 'zero') return a.kind === 'zero' ? invalid(f) : { raw: infinity(sign, f), flags: DZ };
  if (a.kind === 'zero') return { raw: zero(sign, f), flags: 0 };
  // Enough quotient bits for a correct rounding: p + 2, plus a sticky bit for the remainder.
  const k = Math.max(0, f.p + 2 + bitLength(b.sig) - bitLength(a.sig));
  const num = a.sig << BigInt(k);
  const q = num / b.sig;
  return round(sign, q, a.exp - b.exp - k, num % b.sig !== 0n, f, mode);
}

export function sqrt(x: bigint, f: Format, mode: Rounding): Result {
  const a = unpack(x, f);
  if (a.kind === 'nan') return propagate(a, null, f);
  if (a.kind === 'zero') return { raw: x, flags: 0 };
  if (a.sign === 1) return invalid(f);
  if (a.kind === 'inf') return { raw: x, flags: 0 };
  let sig = a.sig;
  let exp = a.exp;
  if (exp & 1) {
    sig <<= 1n;
    exp -= 1;
  }
  const k = f.p + 2; // extra result bits
  const scaled = sig << BigInt(2 * k);
  const root = isqrt(scaled);
  return round(0, root, (exp - 2 * k) / 2, root * root !== scaled, f, mode);
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Comparison result in fcc terms: 0 equal, 1 less, 2 greater, 3 unordered. */
export function compare(x: bigint, y: bigint, f: Format, signalOnQuiet: boolean): { fcc: number; flags: number } {
  const a = unpack(x, f);
  const b = unpack(y, f);
  if (a.kind === 'nan' || b.kind === 'nan') {
    const signaling = (a.kind === 'nan' && a.signaling) || (b.kind === 'nan' && b.signaling);
    return { fcc: 3, flags: signaling || signalOnQuiet ? NV : 0 };
  }
  let order: number;
  if (a.kind === 'zero' && b.kind === 'zero') order = 0; // +0 equals -0
  else if (a.kind === 'zero') order = b.sign ? 1 : -1;
  else if (b.kind === 'zero') order = a.sign ? -1 : 1;
  else if (a.sign !== b.sign) order = a.sign ? -1 : 1;
  else order = a.sign ? -compareMagnitude(a, b) : compareMagnitude(a, b);
  return { fcc: order === 0 ? 0 : order < 0 ? 1 : 2, flags: 0 };
}

function compareMagnitude(a: Unpacked, b: Unpacked): number {
  if (a.kind === 'inf') return b.kind === 'inf' ? 0 : 1;
  if (b.kind === 'inf') return -1;
  const fa = a as { sig: bigint; exp: number };
  const fb = b as { sig: bigint; exp: number };
  const e = Math.min(fa.exp, fb.exp);
  const ma = fa.sig << BigInt(fa.exp - e);
  const mb = fb.sig << BigInt(fb.exp - e);
  return ma === mb ? 0 : ma < mb ? -1 : 1;
}

/** Between formats (FsTOd, FdTOs): NaNs keep their payload's leading bits and become quiet. */
export function convert(x: bigint, from: Format, to: Format, mode: Rounding): Result {
  const a = unpack(x, from);
  if (a.kind === 'nan') return convertNaN({ raw: quiet(a.raw, from), flags: a.signaling ? NV : 0 }, from, to);
  if (a.kind === 'zero') return { raw: zero(a.sign, to), flags: 0 };
  if (a.kind === 'inf') return { raw: infinity(a.sign, to), flags: 0 };
  return round(a.sign, a.sig, a.exp, false, to, mode);
}

function convertNaN(r: Result, from: Format, to: Format): Result {
  if (from === to) return r;
  const sign = Number((r.raw >> BigInt(from.p - 1 + from.expBits)) & 1n);
  const frac = r.raw & ((1n << BigInt(fracBits(from))) - 1n);
  const widened = fracBits(to) >= fracBits(from) ? frac << BigInt(fracBits(to) - fracBits(from)) : frac >> BigInt(fracBits(from) - fracBits(to));
  return { raw: quiet(pack(sign, expMax(to), widened, to), to), flags: r.flags };
}

/** FiTOs / FiTOd: a signed 32-bit integer to the format. */
export function fromInt(value: number, to: Format, mode: Rounding): Result {
  if (value === 0) return { raw: zero(0, to), flags: 0 };
  const sign = value < 0 ? 1 : 0;
  return round(sign, BigInt(Math.abs(value)), 0, false, to, mode);
}

/** FsTOi / FdTOi: toward zero; NaN, infinity and out-of-range values are invalid. */
export function toInt(x: bigint, from: Format): { value: number; flags: number } {
  const a = unpack(x, from);
  if (a.kind === 'zero') return { value: 0, flags: 0 };
  if (a.kind === 'nan') return { value: 0x7fffffff, flags: NV };
  if (a.kind === 'inf') return { value: a.sign ? -0x80000000 : 0x7fffffff, flags: NV };
  const magnitude = a.exp >= 0 ? a.sig << BigInt(a.exp) : a.sig >> BigInt(-a.exp);
  const exact = a.exp >= 0 || (a.sig & ((1n << BigInt(-a.exp)) - 1n)) === 0n;
  const limit = a.sign ? 0x80000000n : 0x7fffffffn;
  if (magnitude > limit) return { value: a.sign ? -0x80000000 : 0x7fffffff, flags: NV };
  return { value: Number(a.sign ? -magnitude : magnitude) | 0, flags: exact ? 0 : NX };
}
