import { describe, expect, it } from 'vitest';
import * as fpu from '../../emu/leon/fpu.js';

const S = fpu.SINGLE;
const D = fpu.DOUBLE;
const hex = (r: { raw: bigint }) => r.raw.toString(16);

// The QEMU corpus (test/leon/corpus/fpu.c) checks these operations over edge values in every
// rounding mode; these tests pin down what QEMU cannot: where it departs from the manual, and
// cases chosen by hand.
describe('LEON FPU arithmetic', () => {
  it('FsTOd of a signalling NaN raises invalid and quietens it (V8 manual; QEMU 7.2 raises nothing)', () => {
    const r = fpu.convert(0x7f800001n, S, D, 0);
    expect(r.flags).toBe(fpu.NV);
    expect(hex(r)).toBe('7ff8000020000000');
  });

  it('rounds 1 + 2^-24 in each mode: nearest even, toward zero, up, down', () => {
    const one = 0x3f800000n;
    const tiny = 0x33800000n; // 2^-24: exactly half an ulp of 1.0
    expect([0, 1, 2, 3].map((m) => hex(fpu.add(one, tiny, false, S, m as fpu.Rounding)))).toEqual(['3f800000', '3f800000', '3f800001', '3f800000']);
    expect(fpu.add(one, tiny, false, S, 0).flags).toBe(fpu.NX);
  });

  it('overflow goes to infinity or to the largest finite value by mode and sign', () => {
    const max = 0x7f7fffffn;
    expect([0, 1, 2, 3].map((m) => hex(fpu.multiply(max, 0x40000000n, S, m as fpu.Rounding)))).toEqual(['7f800000', '7f7fffff', '7f800000', '7f7fffff']);
    expect(fpu.multiply(max, 0x40000000n, S, 0).flags).toBe(fpu.OF | fpu.NX);
  });

  it('underflow is raised for tiny inexact results only; an exact subnormal is not an underflow', () => {
    expect(fpu.multiply(0x00800000n, 0x3f000000n, S, 0)).toEqual({ raw: 0x00400000n, flags: 0 }); // exact
    expect(fpu.multiply(0x00800000n, 0x3f000001n, S, 0).flags).toBe(fpu.UF | fpu.NX);
  });

  it('division by zero, 0/0 and sqrt(-1) give the SPARC default NaN or infinity with the right flags', () => {
    expect(fpu.divide(0x3f800000n, 0n, S, 0)).toEqual({ raw: 0x7f800000n, flags: fpu.DZ });
    expect(fpu.divide(0n, 0n, D, 0)).toEqual({ raw: 0x7fffffffffffffffn, flags: fpu.NV });
    expect(fpu.sqrt(0xbf800000n, S, 0)).toEqual({ raw: 0x7fffffffn, flags: fpu.NV });
  });

  it('sqrt is exact where it can be and correctly rounded where it cannot', () => {
    expect(hex(fpu.sqrt(0x40800000n, S, 0))).toBe('40000000'); // sqrt(4) = 2
    expect(fpu.sqrt(0x40800000n, S, 0).flags).toBe(0);
    expect(hex(fpu.sqrt(0x4000000000000000n, D, 0))).toBe('3ff6a09e667f3bcd'); // sqrt(2)
  });

  it('compare: -0 equals +0, NaNs are unordered, FCMPE signals on quiet NaNs', () => {
    expect(fpu.compare(0x80000000n, 0n, S, false)).toEqual({ fcc: 0, flags: 0 });
    expect(fpu.compare(0x7fc00000n, 0n, S, false)).toEqual({ fcc: 3, flags: 0 });
    expect(fpu.compare(0x7fc00000n, 0n, S, true)).toEqual({ fcc: 3, flags: fpu.NV });
    expect(fpu.compare(0xbf800000n, 0x3f800000n, S, false).fcc).toBe(1);
  });

  it('conversions to integer truncate and flag out-of-range values as invalid', () => {
    expect(fpu.toInt(0xc0600000n, S)).toEqual({ value: -3, flags: fpu.NX }); // -3.5
    expect(fpu.toInt(0x4f000000n, S)).toEqual({ value: 0x7fffffff, flags: fpu.NV }); // 2^31
    expect(fpu.toInt(0xcf000000n, S)).toEqual({ value: -0x80000000, flags: 0 }); // -2^31 fits
  });
});
