/**
 * Concatenation along channels (ONNX Concat, axis 1, two inputs; more inputs chain concats):
 * out = in0's C0 channels, then in1's C1, bit for bit, with the same height and width. No
 * parameter words. When C0 is not a multiple of 8, in1's channels start inside a vector and the
 * kernel builds each output row in scratch first (concat.s).
 */
import { SCRATCH_LIMIT } from './pool.js';
import { LayerError, roundUp8, STAGE, type Layer, type Shape } from './layer.js';

export type ConcatParams = Record<string, never>;

/** A pixel of the output as the kernel builds it in scratch: its vectors and one to spare. */
const stagedPixel = (channels: number) => 2 * roundUp8(channels) + 16;

export const concat: Layer<ConcatParams> = {
  type: STAGE.concat,
  name: 'concat',
  kernel: 'concat.s',
  split: 'rows',
  inputs: 2,
  encode: () => [],
  decode: (words) => {
    if (words.length !== 0) throw new LayerError(`concat: no parameter words, not ${words.length}`);
    return {};
  },
  outputShape: (inputs) => {
    if (inputs.length !== 2) throw new LayerError(`concat: two inputs, not ${inputs.length}`);
    const [a, b] = inputs as [Shape, Shape];
    if (a.h !== b.h || a.w !== b.w) throw new LayerError(`concat: the inputs must have the same height and width, not ${a.h} x ${a.w} and ${b.h} x ${b.w}`);
    if (a.c < 1 || b.c < 1) throw new LayerError('concat: every input needs a channel');
    if (a.c % 8 !== 0 && stagedPixel(a.c + b.c) > SCRATCH_LIMIT) throw new LayerError(`concat: ${a.c + b.c} channels do not fit in a SHAVE's scratch`);
    return { c: a.c + b.c, h: a.h, w: a.w };
  },
  scratchBytes: (inputs) => {
    const out = concat.outputShape(inputs, {});
    if (inputs[0]!.c % 8 === 0) return 0;
    const pixel = stagedPixel(out.c);
    return pixel * Math.min(out.w, Math.floor(SCRATCH_LIMIT / pixel));
  },
  reference: ([a, b]) => {
    const shape = concat.outputShape([a!.shape, b!.shape], {});
    const data = new Uint16Array(shape.c * shape.h * shape.w);
    data.set(a!.data, 0);
    data.set(b!.data, a!.data.length); // CHW: in1's planes follow in0's
    return { shape, data };
  },
  flops: () => 0,
};
