/**
 * tanh, lane by lane, on the SAU (the kernel is sigmoid.s's, with function word 1):
 *
 *     tanh(x) = x                                          where |x| < 2^-6
 *             = sign(x) * f16(2 * rcp(1 + exp(y)) - 1)     elsewhere, y = f16(-|x| + -|x|)
 *
 * that is 2 * sigmoid(2|x|) - 1 with its sign put back. Below 2^-6 every f16 tanh rounds to x,
 * and there 2r - 1 would lose its precision; elsewhere the f32 steps (exp, 1 + e, rcp, each
 * rounded to f32; 2r - 1 exact since r is in [1/2, 1]) give the correctly rounded tanh for all
 * but a dozen f16 inputs, which are one ulp off. -|x| + -|x| is f16 and overflows to -inf for
 * |x| >= 32760, where exp gives 0 all the same, so tanh(+-65504) = tanh(+-inf) = +-1. A NaN
 * gives the default NaN 0x7E00 with the input's sign.
 *
 * Like sigmoid, three SAU operations an element in an interpreted loop are the bound.
 * Split by elements: in0 and out are dense HWC8 with the same strides. Scratch: 12448 bytes of
 * CMX. Parameter words: [1] (the kernel's function: 0 sigmoid, 1 tanh).
 */
import { F16, f16FromNumber, f16ToNumber } from '../f16.js';
import { STAGE } from './layer.js';
import { rcpOnePlusExp, sauActivation } from './sigmoid.js';

/** Below 2^-6 (f16 0x2400) tanh(x) rounds to x. */
const SMALL = 0x2400;

/** tanh of an f16, as the kernel computes it. */
export function tanhOf(x: number): number {
  if ((x & 0x7fff) < SMALL) return x;
  const minusMagnitude = x | 0x8000;
  const y = F16.add(minusMagnitude, minusMagnitude);
  const r = rcpOnePlusExp(f16ToNumber(y));
  return f16FromNumber(Math.fround(2 * r - 1)) | (x & 0x8000);
}

export const tanh = sauActivation('tanh', STAGE.tanh, 1, tanhOf, 5);
