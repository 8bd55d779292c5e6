/**
 * Elementwise sum and product of two tensors, in1 broadcast to in0's shape ONNX-style
 * (firmware-stubs/shave/layers/sum.s, one kernel for both).
 *
 * sum: in0 + in1 (vau.add.f16), with a fused ReLU max(in0 + in1, +0) (then vau.max.f16) for
 * ResNet's Add + Relu. prod: in0 * in1 (vau.mul.f16). Each is correctly rounded; a NaN comes out
 * as the default NaN 0x7E00.
 *
 * Broadcasting: each of in1's C, H and W is in0's or 1, so in1 is the full tensor, per channel
 * (C,1,1), per pixel (1,H,W), one value (1,1,1) or any mix; the output has in0's shape. Two
 * operands that broadcast each other to a larger shape are the compiler's to expand first.
 * All three tensors are HWC8 of their own shapes with the runtime's strides: the kernel
 * derives them from the shapes (so it takes no stride-0 views). When in1's C or W is 1 the
 * kernel lays a piece of each row of in1, broadcast, out in scratch (scratchBytes); a value
 * broadcast across channels goes to the lanes of C only, so pad lanes stay finite.
 *
 * Split by rows. Parameter words: [operation]: 0 add, 1 add then ReLU (sum), 2 multiply (prod).
 */
import { F16 } from '../f16.js';
import { elements, LayerError, roundUp8, STAGE, type Layer, type Shape, type Tensor } from './layer.js';

export interface SumParams {
  /** A ReLU after the sum. */
  readonly relu: boolean;
}
export type ProdParams = Record<string, never>;

const OPERATION = { add: 0, addRelu: 1, multiply: 2 } as const;
/** Scratch the kernel lays a broadcast row piece out in, at most. */
const MAX_SCRATCH = 48 * 1024;
const POSITIVE_ZERO = 0;

/** in1's shape checked against in0's: each of its dimensions in0's or 1. */
function broadcastShape(layer: string, inputs: readonly Shape[]): Shape {
  if (inputs.length !== 2) throw new LayerError(`${layer}: 2 inputs, not ${inputs.length}`);
  const [a, b] = inputs as [Shape, Shape];
  const fits = (n: number, to: number) => n === to || n === 1;
  if (!fits(b.c, a.c) || !fits(b.h, a.h) || !fits(b.w, a.w)) {
    throw new LayerError(`${layer}: in1 ${b.c}x${b.h}x${b.w} does not broadcast to in0 ${a.c}x${a.h}x${a.w}: each of its C, H and W must be in0's or 1 (operands that broadcast to a larger shape are the compiler's to expand)`);
  }
  if (needsLayout(a, b) && pixelBytes(a) > MAX_SCRATCH) throw new LayerError(`${layer}: a pixel of ${a.c} channels (${pixelBytes(a)} bytes) does not fit the ${MAX_SCRATCH} bytes of scratch a broadcast row takes`);
  return { c: a.c, h: a.h, w: a.w };
}

const needsLayout = (a: Shape, b: Shape) => b.c !== a.c || b.w !== a.w;
const pixelBytes = (s: Shape) => 2 * roundUp8(s.c);

/** What the kernel's scratch holds for a broadcast in1: whole pixels of a row, as many as fit. */
function scratchFor(inputs: readonly Shape[]): number {
  const [a, b] = inputs as [Shape, Shape];
  if (!needsLayout(a, b)) return 0;
  return pixelBytes(a) * Math.min(a.w, Math.floor(MAX_SCRATCH / pixelBytes(a)));
}

/** out[c, y, x] = op(in0[c, y, x], in1 at the same place, or at 0 along its dimensions of 1). */
function broadcast(inputs: readonly Tensor[], op: (x: number, y: number) => number): Tensor {
  const [a, b] = inputs as [Tensor, Tensor];
  const { c, h, w } = a.shape;
  const s = b.shape;
  const data = new Uint16Array(elements(a.shape));
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const other = b.data[((s.c === 1 ? 0 : ch) * s.h + (s.h === 1 ? 0 : y)) * s.w + (s.w === 1 ? 0 : x)]!;
        data[(ch * h + y) * w + x] = op(a.data[(ch * h + y) * w + x]!, other);
      }
  return { shape: a.shape, data };
}

export const sum: Layer<SumParams> = {
  type: STAGE.sum,
  name: 'sum',
  kernel: 'sum.s',
  split: 'rows',
  inputs: 2,
  encode: ({ relu }) => {
    if (typeof relu !== 'boolean') throw new LayerError(`sum: relu must be true or false, not ${String(relu)}`);
    return [relu ? OPERATION.addRelu : OPERATION.add];
  },
  decode: (words) => {
    if (words.length !== 1 || (words[0] !== OPERATION.add && words[0] !== OPERATION.addRelu)) throw new LayerError(`sum: 1 parameter word, ${OPERATION.add} or ${OPERATION.addRelu}, not [${words.join(', ')}]`);
    return { relu: words[0] === OPERATION.addRelu };
  },
  outputShape: (inputs) => broadcastShape('sum', inputs),
  scratchBytes: scratchFor,
  reference: (inputs, _constants, { relu }) => broadcast(inputs, relu ? (x, y) => F16.max(F16.add(x, y), POSITIVE_ZERO) : F16.add),
  flops: ([input]) => elements(input!),
};

export const prod: Layer<ProdParams> = {
  type: STAGE.prod,
  name: 'prod',
  kernel: 'sum.s',
  split: 'rows',
  inputs: 2,
  encode: (params) => {
    if (Object.keys(params).length !== 0) throw new LayerError(`prod: takes no parameters, not ${Object.keys(params).join(', ')}`);
    return [OPERATION.multiply];
  },
  decode: (words) => {
    if (words.length !== 1 || words[0] !== OPERATION.multiply) throw new LayerError(`prod: 1 parameter word, ${OPERATION.multiply}, not [${words.join(', ')}]`);
    return {};
  },
  outputShape: (inputs) => broadcastShape('prod', inputs),
  scratchBytes: scratchFor,
  reference: (inputs) => broadcast(inputs, F16.mul),
  flops: ([input]) => elements(input!),
};
