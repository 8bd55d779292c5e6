/**
 * Fully connected (ONNX Gemm with a 1 x K input, MatMul of a vector, Flatten + Gemm):
 * out[o] = bias[o] + sum over i of W[o][i] * in[i], where in is the C x H x W input flattened in
 * ONNX's NCHW order, i = c*H*W + y*W + x; output (outputs, 1, 1), HWC8; a fused activation
 * (activation.ts). Split by channels: each SHAVE takes whole groups of 8 outputs (og).
 *
 * Precision and order, the kernel's and the reference's (firmware-stubs/shave/layers/
 * fully-connected.s): the kernel reads the input in memory order (pixels row-major, 8-channel
 * vectors within a pixel) and the packed weights follow it. Each output lane has two f32
 * accumulators starting at +0, A for even channels of each vector and B for odd ones; each
 * term is weight x input, exact in f32, added with one f32 rounding (vau.mac.f32), in that
 * memory order. Then f16((A + B) + bias), then the activation in f16. Pad lanes past C weigh
 * zero and, being finite, add nothing (an accumulator from +0 never becomes -0), so the
 * reference leaves them out.
 *
 * Weights are f16 here (a network's fully connected layers hold most of its parameters); the
 * kernel converts them as it goes.
 */
import { f16FromNumber, f16ToNumber } from '../f16.js';
import { ACTIVATION_WORDS, activationOperands, applyActivation, decodeActivation, encodeActivation, type FusedActivation } from './activation.js';
import { unpackBias } from './conv.js';
import { elements, LayerError, roundUp8, STAGE, type Constants, type Layer, type Shape } from './layer.js';

export interface FullyConnectedParams {
  readonly outputs: number;
  readonly activation: FusedActivation;
}

const NAME = 'fullyConnected';
/** Bytes of one input vector's weights: 8 channels x 8 outputs x f16. */
const VECTOR_WEIGHTS = 128;
/** Bytes after the last og's weights that the kernel's loop reads ahead. */
const READ_AHEAD = 32;
/** The activation's operands as vectors (fully-connected.s). */
const SCRATCH_BYTES = 64;
/** Keeps the packed weights' offsets inside 31 bits. */
const MAX_WEIGHT_BYTES = 2 ** 31;

function checkParams({ outputs }: FullyConnectedParams): void {
  if (!Number.isInteger(outputs) || outputs < 1 || outputs >= 1 << 20) throw new LayerError(`${NAME}: outputs must be an integer from 1 to ${(1 << 20) - 1}, not ${outputs}`);
}

/** Input vectors (8 channels of a pixel) the kernel reads, in memory order. */
const inputVectors = ({ c, h, w }: Shape) => (h * w * roundUp8(c)) / 8;

/**
 * The constant-section layout fully-connected.s reads: per og, per input vector in memory order
 * (pixel (y, x) row-major, then the pixel's vectors), per channel k of the vector, the f16
 * weights of the og's 8 outputs (16 bytes); zero for channels past C and outputs past the last.
 * Then 32 zero bytes. `weights` are f16, [outputs][C*H*W] in ONNX's order c*H*W + y*W + x.
 */
export function packFullyConnectedWeights(weights: Uint16Array, outputs: number, input: Shape): Uint8Array {
  checkParams({ outputs, activation: { kind: 'none' } });
  const { c: C, h: H, w: W } = input;
  const k = elements(input);
  if (!(k >= 1) || !Number.isInteger(k)) throw new LayerError(`${NAME}: an input of ${C}x${H}x${W} has no elements`);
  if (weights.length !== outputs * k) throw new LayerError(`${NAME}: ${outputs} x ${k} weights are ${outputs * k} values, not ${weights.length}`);
  const perOg = inputVectors(input) * VECTOR_WEIGHTS;
  const bytes = (roundUp8(outputs) / 8) * perOg + READ_AHEAD;
  if (bytes > MAX_WEIGHT_BYTES) throw new LayerError(`${NAME}: ${bytes} bytes of packed weights are too many`);
  const packed = new Uint8Array(bytes);
  const view = new DataView(packed.buffer);
  const vectorsPerPixel = roundUp8(C) / 8;
  for (let og = 0; og < roundUp8(outputs) / 8; og++)
    for (let p = 0; p < H * W; p++)
      for (let v = 0; v < vectorsPerPixel; v++)
        for (let kk = 0; kk < 8; kk++) {
          const ch = 8 * v + kk;
          if (ch >= C) continue;
          const at = og * perOg + ((p * vectorsPerPixel + v) * 8 + kk) * 16;
          for (let lane = 0; lane < 8 && 8 * og + lane < outputs; lane++) view.setUint16(at + 2 * lane, weights[(8 * og + lane) * k + ch * H * W + p]!, true);
        }
  return packed;
}

export const fullyConnected: Layer<FullyConnectedParams> = {
  type: STAGE.fullyConnected,
  name: NAME,
  kernel: 'fully-connected.s',
  split: 'channels',
  inputs: 1,
  encode: (p) => {
    checkParams(p);
    return [p.outputs, ...encodeActivation(p.activation, NAME)];
  },
  decode: (words) => {
    if (words.length !== 1 + ACTIVATION_WORDS) throw new LayerError(`${NAME}: ${1 + ACTIVATION_WORDS} parameter words, not ${words.length}`);
    const params = { outputs: words[0]!, activation: decodeActivation(words.slice(1), NAME) };
    checkParams(params);
    return params;
  },
  outputShape: (inputs, p) => {
    checkParams(p);
    if (inputs.length !== 1) throw new LayerError(`${NAME}: one input, not ${inputs.length}`);
    if ((roundUp8(p.outputs) / 8) * inputVectors(inputs[0]!) * VECTOR_WEIGHTS + READ_AHEAD > MAX_WEIGHT_BYTES) throw new LayerError(`${NAME}: ${p.outputs} outputs of ${elements(inputs[0]!)} inputs are too many weights`);
    return { c: p.outputs, h: 1, w: 1 };
  },
  scratchBytes: () => SCRATCH_BYTES,
  reference: ([input], constants: Constants, p) => {
    const out = fullyConnected.outputShape([input!.shape], p);
    const { c: C, h: H, w: W } = input!.shape;
    const perOg = inputVectors(input!.shape) * VECTOR_WEIGHTS;
    const { weights } = constants;
    const og8 = roundUp8(p.outputs) / 8;
    if (!weights || weights.length < og8 * perOg + READ_AHEAD) throw new LayerError(`${NAME}: ${weights?.length ?? 0} bytes of weights, not the ${og8 * perOg + READ_AHEAD} that ${p.outputs} outputs of a ${C}x${H}x${W} input take`);
    const wv = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
    const bias = unpackBias(constants.bias, p.outputs, NAME);
    const operands = activationOperands(p.activation, NAME);
    const inputValues = Float64Array.from(input!.data, f16ToNumber);
    const vectorsPerPixel = roundUp8(C) / 8;
    const weightValue = new Float64Array(8);
    const data = new Uint16Array(p.outputs);
    const a = new Float64Array(8);
    const b = new Float64Array(8);
    for (let og = 0; og < og8; og++) {
      a.fill(0);
      b.fill(0);
      for (let pixel = 0; pixel < H * W; pixel++)
        for (let v = 0; v < vectorsPerPixel; v++)
          for (let k = 0; k < 8; k++) {
            const ch = 8 * v + k;
            const at = og * perOg + ((pixel * vectorsPerPixel + v) * 8 + k) * 16;
            for (let lane = 0; lane < 8; lane++) weightValue[lane] = f16ToNumber(wv.getUint16(at + 2 * lane, true));
            if (ch >= C || 8 * og + 8 > p.outputs) {
              // Pad lanes must weigh nothing, or the kernel would depend on what they hold.
              for (let lane = 0; lane < 8; lane++) {
                if ((ch >= C || 8 * og + lane >= p.outputs) && weightValue[lane] !== 0) throw new LayerError(`${NAME}: og ${og} weighs pad lane ${ch >= C ? `channel ${ch}` : `output ${8 * og + lane}`}`);
              }
              if (ch >= C) continue;
            }
            const value = inputValues[ch * H * W + pixel]!;
            const acc = k % 2 === 0 ? a : b;
            for (let lane = 0; lane < 8; lane++) acc[lane] = Math.fround(acc[lane]! + Math.fround(weightValue[lane]! * value));
          }
      for (let lane = 0; lane < 8 && 8 * og + lane < p.outputs; lane++) {
        const sum = Math.fround(Math.fround(a[lane]! + b[lane]!) + bias[8 * og + lane]!);
        data[8 * og + lane] = applyActivation(f16FromNumber(sum), operands);
      }
    }
    return { shape: out, data };
  },
  flops: ([input], p) => elements(input!) * p.outputs,
};
