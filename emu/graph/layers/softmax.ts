/**
 * Softmax over the channels of every pixel (ONNX Softmax with axis 1 on (1, C) or, from opset 13,
 * on (1, C, H, W); before opset 13 axis 1 of a 4-D tensor means C * H * W values together, which
 * is this stage only when H = W = 1). Numerically stable, in f32, in this order:
 *
 * - m = the largest x[c] (exact; any NaN gives NaN);
 * - d[c] = x[c] - m rounded to f32; e[c] = exp(d[c]) computed in f64 and rounded once to f32
 *   (the SAU's exp, docs/shave-isa.md);
 * - s = e[0] + ... + e[C-1] from +0, each addition rounded to f32; r = 1 / s rounded to f32
 *   (the SAU's rcp, computed in f64);
 * - y[c] = e[c] * r rounded to f32, then once to f16.
 *
 * No parameter words.
 */
import { f16FromNumber, f16ToNumber, F16 } from '../f16.js';
import { SCRATCH_LIMIT } from './pool.js';
import { elements, LayerError, roundUp8, STAGE, type Layer, type Shape } from './layer.js';

export type SoftmaxParams = Record<string, never>;

/** Scratch per pixel: the f32 differences, then the exponentials in their place; the maximum and 1 / sum as vectors. */
const pixelBytes = (s: Shape) => 4 * roundUp8(s.c) + 32;
/** A chunk of a row, as many pixels as fit. */
const scratchOf = (s: Shape) => pixelBytes(s) * Math.min(s.w, Math.floor(SCRATCH_LIMIT / pixelBytes(s)));

export const softmax: Layer<SoftmaxParams> = {
  type: STAGE.softmax,
  name: 'softmax',
  kernel: 'softmax.s',
  split: 'rows',
  inputs: 1,
  encode: () => [],
  decode: (words) => {
    if (words.length !== 0) throw new LayerError(`softmax: no parameter words, not ${words.length}`);
    return {};
  },
  outputShape: (inputs) => {
    if (inputs.length !== 1) throw new LayerError(`softmax: one input, not ${inputs.length}`);
    const s = inputs[0]!;
    if (pixelBytes(s) > SCRATCH_LIMIT) throw new LayerError(`softmax: ${s.c} channels need ${pixelBytes(s)} bytes of scratch, more than the ${SCRATCH_LIMIT} a SHAVE has`);
    return { c: s.c, h: s.h, w: s.w };
  },
  scratchBytes: ([input]) => scratchOf(input!),
  reference: ([input]) => {
    const { c: channels, h, w } = input!.shape;
    const plane = h * w;
    const data = new Uint16Array(elements(input!.shape));
    const e = new Float64Array(channels);
    for (let p = 0; p < plane; p++) {
      let m = 0xfc00;
      for (let c = 0; c < channels; c++) m = F16.max(m, input!.data[c * plane + p]!);
      const max = f16ToNumber(m);
      let sum = 0;
      for (let c = 0; c < channels; c++) {
        e[c] = Math.fround(Math.exp(Math.fround(f16ToNumber(input!.data[c * plane + p]!) - max)));
        sum = Math.fround(sum + e[c]!);
      }
      const r = Math.fround(1 / sum);
      for (let c = 0; c < channels; c++) data[c * plane + p] = f16FromNumber(Math.fround(e[c]! * r));
    }
    return { shape: input!.shape, data };
  },
  flops: ([input]) => 5 * elements(input!), // max, difference, exp, sum, product
};
