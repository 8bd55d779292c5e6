/**
 * ReLU and leaky ReLU, lane by lane (firmware-stubs/shave/layers/relu.s).
 *
 * Slope 0: max(x, +0), one vau.max.f16: +inf stays +inf, -inf gives +0. Slope s in (0, 1]:
 * max(x, +0 + x * s), one vau.mac.f16 (the exact product plus +0, rounded to f32 then to f16)
 * and a vau.max.f16. Either way -0 gives +0 and a NaN gives the default NaN 0x7E00.
 *
 * Split by elements: in0 and out are dense HWC8 with the same strides.
 * Parameter words: [slope as f16 bits].
 */
import { F16, f16ToNumber } from '../f16.js';
import { elements, LayerError, STAGE, type Layer, type Shape, type Tensor } from './layer.js';

export interface ReluParams {
  /** The negative slope as f16 bits: 0 for plain ReLU. */
  readonly slope: number;
}

const POSITIVE_ZERO = 0;

export const relu: Layer<ReluParams> = {
  type: STAGE.relu,
  name: 'relu',
  kernel: 'relu.s',
  split: 'elements',
  inputs: 1,
  encode: ({ slope }) => {
    const s = f16ToNumber(slope);
    if (!Number.isInteger(slope) || slope < 0 || slope > 0xffff || !(s === 0 || (s > 0 && s <= 1)) || slope === 0x8000) {
      throw new LayerError(`relu: the slope must be 0 or in (0, 1], not ${s}`);
    }
    return [slope];
  },
  decode: (words) => {
    if (words.length !== 1) throw new LayerError(`relu: 1 parameter word, not ${words.length}`);
    const params = { slope: words[0]! };
    relu.encode(params);
    return params;
  },
  outputShape: (inputs) => {
    if (inputs.length !== 1) throw new LayerError(`relu: 1 input, not ${inputs.length}`);
    return sameShape(inputs[0]!);
  },
  scratchBytes: () => 0,
  reference: ([input], _constants, { slope }) => {
    const data =
      slope === POSITIVE_ZERO
        ? input!.data.map((x) => F16.max(x, POSITIVE_ZERO))
        : input!.data.map((x) => F16.max(x, F16.mac(POSITIVE_ZERO, x, slope)));
    return { shape: input!.shape, data };
  },
  flops: ([input]) => elements(input!),
};

const sameShape = (s: Shape): Shape => ({ c: s.c, h: s.h, w: s.w });
export type { Tensor };
