/**
 * A strided copy between two places of the same shape (the graph's edges: the host's planar CHW
 * f16 in, cStride 2 H W, yStride 2 W, xStride 2, to HWC8 and back). Bit for bit; an HWC8
 * output's pad lanes are written zero. The places are the stage's input and output
 * descriptions in the job block; by value the copy is the identity. No parameter words.
 */
import { LayerError, STAGE, type Layer } from './layer.js';

export type CopyParams = Record<string, never>;

export const copy: Layer<CopyParams> = {
  type: STAGE.copy,
  name: 'copy',
  kernel: 'copy.s',
  split: 'rows',
  inputs: 1,
  encode: () => [],
  decode: (words) => {
    if (words.length !== 0) throw new LayerError(`copy: no parameter words, not ${words.length}`);
    return {};
  },
  outputShape: (inputs) => {
    if (inputs.length !== 1) throw new LayerError(`copy: one input, not ${inputs.length}`);
    const s = inputs[0]!;
    return { c: s.c, h: s.h, w: s.w };
  },
  scratchBytes: () => 0,
  reference: ([input]) => ({ shape: input!.shape, data: input!.data.slice() }),
  flops: () => 0,
};
