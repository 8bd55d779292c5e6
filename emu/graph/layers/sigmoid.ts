/**
 * Sigmoid, lane by lane, on the SAU (firmware-stubs/shave/layers/sigmoid.s, which also does
 * tanh: tanh.ts):
 *
 *     sigmoid(x) = f16(rcp(1 + exp(-x)))
 *
 * -x exact, then three f32 operations each rounded to f32: the SAU's exp and rcp are computed in
 * f64 and rounded once (docs/shave-isa.md), so the reference does Math.exp / division in f64 and
 * Math.fround; one rounding to f16 at the end. Over every f16 input that is the correctly
 * rounded sigmoid but for a handful one ulp off. sigmoid(-inf) = +0, sigmoid(+inf) = 1, no NaN
 * for large |x| (exp overflows to +inf, rcp(+inf) = 0); a NaN gives the default NaN 0x7E00.
 *
 * The SAU does one element at a time: 3 cycles an element, and that loop runs in the
 * interpreter (the loop compiler has no template for the SAU's exp and rcp), which is what
 * limits both the SHAVE's and the host's speed.
 *
 * Split by elements: in0 and out are dense HWC8 with the same strides. Scratch: 12448 bytes of
 * CMX. Parameter words: [0] (the kernel's function: 0 sigmoid, 1 tanh).
 */
import { f16FromNumber, f16ToNumber } from '../f16.js';
import { elements, LayerError, STAGE, type Layer, type Shape, type StageType } from './layer.js';

export type SauActivationParams = Record<string, never>;

/** Scratch the kernel takes: guards, 256 vectors as f32, guards, 256 vectors of x. */
const SCRATCH_BYTES = 64 + 256 * 32 + 64 + 16 + 256 * 16 + 16;

/** The SAU's f32 rcp(1 + exp(t)) as the kernel's scalar loop does it. */
export function rcpOnePlusExp(t: number): number {
  const e = Math.fround(Math.exp(t));
  const d = Math.fround(1 + e);
  return Math.fround(1 / d);
}

/** A layer of sigmoid.s: its function word and the f16 function it computes per element. */
export function sauActivation(name: string, type: StageType, functionWord: number, f: (x: number) => number, flopsPerElement: number): Layer<SauActivationParams> {
  const layer: Layer<SauActivationParams> = {
    type,
    name,
    kernel: 'sigmoid.s',
    split: 'elements',
    inputs: 1,
    encode: (params) => {
      if (Object.keys(params).length !== 0) throw new LayerError(`${name}: takes no parameters, not ${Object.keys(params).join(', ')}`);
      return [functionWord];
    },
    decode: (words) => {
      if (words.length !== 1 || words[0] !== functionWord) throw new LayerError(`${name}: 1 parameter word, ${functionWord}, not [${words.join(', ')}]`);
      return {};
    },
    outputShape: (inputs) => {
      if (inputs.length !== 1) throw new LayerError(`${name}: 1 input, not ${inputs.length}`);
      const { c, h, w }: Shape = inputs[0]!;
      return { c, h, w };
    },
    scratchBytes: () => SCRATCH_BYTES,
    reference: ([input]) => ({ shape: input!.shape, data: input!.data.map(f) }),
    flops: ([input]) => flopsPerElement * elements(input!),
  };
  return layer;
}

/** sigmoid of an f16, as the kernel computes it. */
export function sigmoidOf(x: number): number {
  return f16FromNumber(rcpOnePlusExp(f16ToNumber(x ^ 0x8000)));
}

export const sigmoid = sauActivation('sigmoid', STAGE.sigmoid, 0, sigmoidOf, 4);
