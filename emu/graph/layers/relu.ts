/** ReLU and leaky ReLU: max(x, +0 + x * slope), the slope 0 or in (0, 1]. */
import { F16, f16ToNumber } from '../f16.js';
import { elements, LayerError, STAGE, type Layer, type Shape, type Tensor } from './layer.js';

export interface ReluParams {
  /** The negative slope as f16 bits: 0 for plain ReLU. */
  readonly slope: number;
}

export const relu: Layer<ReluParams> = {
  type: STAGE.relu,
  name: 'relu',
  kernel: 'relu.s',
  split: 'elements',
  inputs: 1,
  encode: ({ slope }) => {
    if (!Number.isInteger(slope) || slope < 0 || slope > 0xffff) throw new LayerError(`relu: the slope must be f16 bits, not ${slope}`);
    const s = f16ToNumber(slope);
    if (!(s === 0 || (s > 0 && s <= 1)) || slope === 0x8000) throw new LayerError(`relu: the slope must be 0 or in (0, 1], not ${s}`);
    return [slope];
  },
  decode: (words) => {
    if (words.length !== 1) throw new LayerError(`relu: 1 parameter word, not ${words.length}`);
    const params = { slope: words[0]! };
    relu.encode(params);
    return params;
  },
  outputShape: ([input]) => sameShape(input!),
  scratchBytes: () => 0,
  reference: ([input], _constants, { slope }) => {
    const data = input!.data.map((x) => F16.max(x, F16.mac(0, x, slope)));
    return { shape: input!.shape, data };
  },
  flops: ([input]) => elements(input!),
};

const sameShape = (s: Shape): Shape => ({ c: s.c, h: s.h, w: s.w });
export type { Tensor };
