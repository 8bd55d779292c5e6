/**
 * Clip: out = min(max(x, low), high) lane by lane (firmware-stubs/shave/layers/clip.s), as
 * ONNX Clip with its min and max; ReLU6 is low 0, high 6.
 *
 * vau.max.f16 then vau.min.f16, both exact: a NaN input gives the default NaN 0x7E00 (the
 * SHAVE's min and max never pass a NaN's payload on, and do not drop it for the bound), and
 * signed zeros come out as max and min give them (max(-0, +0) = +0, min(-0, +0) = -0), so with
 * low +0 an input -0 gives +0.
 *
 * Split by elements: in0 and out are dense HWC8 with the same strides. Pad lanes (zero) come
 * out as clip(0), which is finite.
 * Parameter words: [low, high] as f16 bit patterns, neither NaN, low <= high (infinities allowed).
 */
import { F16, f16ToNumber } from '../f16.js';
import { elements, LayerError, STAGE, type Layer, type Shape } from './layer.js';

export interface ClipParams {
  /** The bounds as f16 bits. */
  readonly low: number;
  readonly high: number;
}

const isF16Bits = (h: number) => Number.isInteger(h) && h >= 0 && h <= 0xffff;

export const clip: Layer<ClipParams> = {
  type: STAGE.clip,
  name: 'clip',
  kernel: 'clip.s',
  split: 'elements',
  inputs: 1,
  encode: ({ low, high }) => {
    if (!isF16Bits(low) || !isF16Bits(high)) throw new LayerError(`clip: the bounds must be f16 bit patterns, not ${low} and ${high}`);
    const [l, h] = [f16ToNumber(low), f16ToNumber(high)];
    if (!(l <= h)) throw new LayerError(`clip: needs low <= high, neither NaN; got ${l} and ${h}`);
    return [low, high];
  },
  decode: (words) => {
    if (words.length !== 2) throw new LayerError(`clip: 2 parameter words, not ${words.length}`);
    const params = { low: words[0]!, high: words[1]! };
    clip.encode(params);
    return params;
  },
  outputShape: (inputs) => {
    if (inputs.length !== 1) throw new LayerError(`clip: 1 input, not ${inputs.length}`);
    const { c, h, w }: Shape = inputs[0]!;
    return { c, h, w };
  },
  scratchBytes: () => 0,
  reference: ([input], _constants, { low, high }) => ({ shape: input!.shape, data: input!.data.map((x) => F16.min(F16.max(x, low), high)) }),
  flops: ([input]) => 2 * elements(input!),
};
