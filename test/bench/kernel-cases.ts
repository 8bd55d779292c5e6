/** Realistic shapes for each layer kernel, for the SHAVE benchmarks (seeded data). */
import { f16FromNumber } from '../../emu/graph/f16.js';
import { avgPool } from '../../emu/graph/layers/avg-pool.js';
import { clip } from '../../emu/graph/layers/clip.js';
import { concat } from '../../emu/graph/layers/concat.js';
import { copy } from '../../emu/graph/layers/copy.js';
import { prod, sum } from '../../emu/graph/layers/eltwise.js';
import type { Constants, Layer, Shape, Tensor } from '../../emu/graph/layers/layer.js';
import { maxPool } from '../../emu/graph/layers/max-pool.js';
import { relu } from '../../emu/graph/layers/relu.js';
import { packChannelVector, scale } from '../../emu/graph/layers/scale.js';
import { sigmoid } from '../../emu/graph/layers/sigmoid.js';
import { softmax } from '../../emu/graph/layers/softmax.js';
import { tanh } from '../../emu/graph/layers/tanh.js';
import { conv, packBias, packConvWeights } from '../../emu/graph/layers/conv.js';
import { depthConv, packDepthConvWeights } from '../../emu/graph/layers/depth-conv.js';
import { fullyConnected, packFullyConnectedWeights } from '../../emu/graph/layers/fully-connected.js';
import { planar } from '../../emu/graph/builder.js';
import type { StageRunOptions } from '../../emu/graph/stage-runner.js';
import { hwc8 } from '../../emu/graph/tensor-place.js';

export interface KernelCase {
  readonly layer: Layer<any>;
  readonly label: string;
  readonly inputs: readonly Tensor[];
  readonly constants: Constants;
  readonly params: unknown;
  /** Where the tensors go, when not HWC8 in DDR. */
  readonly options?: StageRunOptions;
}

let state = 12345;
const random = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};
export const randomTensor = (c: number, h: number, w: number): Tensor => ({ shape: { c, h, w }, data: Uint16Array.from({ length: c * h * w }, () => f16FromNumber(random() * 4 - 2)) });
const label = (...shapes: Shape[]) => shapes.map((s) => `${s.c}x${s.h}x${s.w}`).join(' + ');
const pool = (k: number, s: number, pad: number, global = false) => ({ kernelH: k, kernelW: k, strideY: s, strideX: s, padTop: pad, padLeft: pad, padBottom: pad, padRight: pad, global });

const small = (n: number) => randomTensor(n, 1, 1).data.map((h) => h & 0xbfff); // |w| < 2: keeps sums finite
const same = { top: 1, left: 1, bottom: 1, right: 1 };
const none = { top: 0, left: 0, bottom: 0, right: 0 };
const big = randomTensor(64, 56, 56);
const mid = randomTensor(64, 28, 28);
export const KERNEL_CASES: KernelCase[] = [
  {
    layer: conv,
    label: `${label({ c: 64, h: 28, w: 28 })} to 64, 3x3 pad 1, ReLU`,
    inputs: [randomTensor(64, 28, 28)],
    constants: { weights: packConvWeights(small(64 * 64 * 9), { outputs: 64, inputsPerGroup: 64, h: 3, w: 3 }, 1), bias: packBias(small(64)) },
    params: { kernel: { h: 3, w: 3 }, stride: { y: 1, x: 1 }, pads: same, groups: 1, outputs: 64, activation: { kind: 'relu' } },
  },
  {
    layer: conv,
    label: `${label({ c: 256, h: 14, w: 14 })} to 64, 1x1`,
    inputs: [randomTensor(256, 14, 14)],
    constants: { weights: packConvWeights(small(64 * 256), { outputs: 64, inputsPerGroup: 256, h: 1, w: 1 }, 1), bias: packBias(small(64)) },
    params: { kernel: { h: 1, w: 1 }, stride: { y: 1, x: 1 }, pads: none, groups: 1, outputs: 64, activation: { kind: 'none' } },
  },
  {
    layer: depthConv,
    label: `${label({ c: 128, h: 28, w: 28 })}, 3x3 pad 1`,
    inputs: [randomTensor(128, 28, 28)],
    constants: { weights: packDepthConvWeights(small(128 * 9), { channels: 128, h: 3, w: 3 }), bias: packBias(small(128)) },
    params: { kernel: { h: 3, w: 3 }, stride: { y: 1, x: 1 }, pads: same, activation: { kind: 'relu' } },
  },
  {
    layer: fullyConnected,
    label: `${label({ c: 1024, h: 1, w: 1 })} to 1000`,
    inputs: [randomTensor(1024, 1, 1)],
    constants: { weights: packFullyConnectedWeights(small(1000 * 1024), 1000, { c: 1024, h: 1, w: 1 }), bias: packBias(small(1000)) },
    params: { outputs: 1000, activation: { kind: 'none' } },
  },
  { layer: relu, label: label(big.shape), inputs: [big], constants: {}, params: { slope: 0 } },
  { layer: clip, label: `${label(big.shape)}, ReLU6`, inputs: [big], constants: {}, params: { low: 0, high: f16FromNumber(6) } },
  { layer: sum, label: label(big.shape, big.shape), inputs: [big, randomTensor(64, 56, 56)], constants: {}, params: { relu: false } },
  { layer: sum, label: `${label(big.shape)} + 64x1x1 per channel`, inputs: [big, randomTensor(64, 1, 1)], constants: {}, params: { relu: false } },
  { layer: prod, label: label(big.shape, big.shape), inputs: [big, randomTensor(64, 56, 56)], constants: {}, params: {} },
  { layer: scale, label: label(big.shape), inputs: [big], constants: { weights: packChannelVector(randomTensor(64, 1, 1).data, 64), bias: packChannelVector(randomTensor(64, 1, 1).data, 64) }, params: { relu: false } },
  { layer: sigmoid, label: label(mid.shape), inputs: [mid], constants: {}, params: {} },
  { layer: tanh, label: label(mid.shape), inputs: [mid], constants: {}, params: {} },
  { layer: maxPool, label: `${label({ c: 64, h: 55, w: 55 })}, 3x3 stride 2`, inputs: [randomTensor(64, 55, 55)], constants: {}, params: pool(3, 2, 0) },
  { layer: avgPool, label: `${label({ c: 1000, h: 13, w: 13 })}, global`, inputs: [randomTensor(1000, 13, 13)], constants: {}, params: { ...pool(13, 1, 0, true), countIncludePad: false } },
  { layer: softmax, label: label({ c: 1000, h: 1, w: 1 }), inputs: [randomTensor(1000, 1, 1)], constants: {}, params: {} },
  { layer: concat, label: label({ c: 64, h: 55, w: 55 }, { c: 64, h: 55, w: 55 }), inputs: [randomTensor(64, 55, 55), randomTensor(64, 55, 55)], constants: {}, params: {} },
  {
    layer: copy,
    label: `${label({ c: 3, h: 224, w: 224 })}, planar CHW to HWC8`,
    inputs: [randomTensor(3, 224, 224)],
    constants: {},
    params: {},
    options: { inputs: [{ address: 0x8000_0000, shape: { c: 3, h: 224, w: 224 }, ...planar({ c: 3, h: 224, w: 224 }) }], output: hwc8({ c: 3, h: 224, w: 224 }, 0x8010_0000) },
  },
];
