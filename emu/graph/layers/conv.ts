/**
 * 2-D convolution (ONNX Conv with dilation 1): any kernel kh x kw, strides, zero padding on
 * each side, groups (dense, grouped; depthwise works too but depthConv is far faster), an
 * optional bias and a fused activation (activation.ts). Input and output HWC8.
 *
 * Precision and order, the kernel's and the reference's (firmware-stubs/shave/layers/conv.s):
 * each output lane has two f32 accumulators starting at +0: A takes the terms of even channels
 * of each 8-channel input vector, B the odd ones. A term is weight x input, the f16 x f16
 * product exact in f32, added with one f32 rounding (vau.mac.f32), in the order taps (ky, kx)
 * row-major, then the og's input vectors, then the channel within the vector. Taps in the
 * padding are skipped. The result is f16((A + B) + bias) (f32 additions, one rounding to f16),
 * then the activation in f16. An accumulator that starts at +0 never becomes -0, so the zero
 * weights of pad lanes (past C, which hold finite values) change nothing and the reference
 * leaves them out; zero weights of real channels of another group are still multiplied, so an
 * infinity there makes NaN in the kernel and here alike.
 *
 * Weights are packed per group of 8 output channels (og), see packConvWeights; f32, so the
 * inner loop multiplies without converting them (twice the bytes of f16).
 */
import { f16FromNumber, f16ToNumber } from '../f16.js';
import { ACTIVATION_WORDS, activationOperands, applyActivation, decodeActivation, encodeActivation, type FusedActivation } from './activation.js';
import { LayerError, roundUp8, STAGE, type Constants, type Layer, type Shape, type Tensor } from './layer.js';
import { checkCount as checkCountOf, checkWindow, type SlidingWindow } from './window.js';

export interface ConvParams extends SlidingWindow {
  /** 1 dense; it divides the input's channels and `outputs`. */
  readonly groups: number;
  /** Output channels. */
  readonly outputs: number;
  readonly activation: FusedActivation;
}

/** The weights' shape in ONNX's OIHW order: O outputs, I = C / groups inputs per group. */
export interface ConvWeightsShape {
  readonly outputs: number;
  readonly inputsPerGroup: number;
  readonly h: number;
  readonly w: number;
}

const NAME = 'conv';
/** Bytes of an og's header entry: first input vector, vectors, byte offset of its weights, 0. */
const HEADER_ENTRY = 16;
/** Bytes of one input vector's weights: 8 channels x 8 outputs x f32. */
const VECTOR_WEIGHTS = 256;
/** Bytes after the last og's weights that the kernel's loop reads ahead. */
const READ_AHEAD = 32;
/** The kernel's variables at the start of its scratch (conv.s). */
const SCRATCH_VARIABLES = 256;
/** Bytes of a pixel's accumulators A and B in scratch (conv.s). */
const ROW_ACCUMULATORS = 64;
const checkCount = (what: string, n: number, min: number) => checkCountOf(NAME, what, n, min);

function checkParams(p: ConvParams): void {
  checkWindow(NAME, p);
  checkCount('groups', p.groups, 1);
  checkCount('outputs', p.outputs, 1);
  if (p.outputs % p.groups !== 0) throw new LayerError(`${NAME}: ${p.outputs} outputs do not split into ${p.groups} groups`);
}

/** Which input vectors (8 channels of a pixel) the outputs of og read: those of their groups. */
function ogInputVectors(og: number, outputs: number, inputsPerGroup: number, groups: number): { first: number; count: number } {
  const outputsPerGroup = outputs / groups;
  const lastOutput = Math.min(outputs, 8 * og + 8) - 1;
  const firstGroup = Math.floor((8 * og) / outputsPerGroup);
  const lastGroup = Math.floor(lastOutput / outputsPerGroup);
  const first = Math.floor((firstGroup * inputsPerGroup) / 8);
  return { first, count: Math.ceil(((lastGroup + 1) * inputsPerGroup) / 8) - first };
}

/**
 * The constant-section layout conv.s reads: one 16-byte header entry per og (first input
 * vector, vectors v, byte offset of its weights, 0), then per og for each tap (ky, kx)
 * row-major, each of its v input vectors, each channel k of the vector: the weights of the og's
 * 8 outputs as f32, outputs 0-3 then 4-7 (256 bytes per vector); zero where an output does not
 * read the channel (another group, past C, past the outputs). Then 32 zero bytes.
 * `weights` are f16 in ONNX's OIHW order.
 */
export function packConvWeights(weights: Uint16Array, shape: ConvWeightsShape, groups: number): Uint8Array {
  const { outputs: O, inputsPerGroup: I, h: kh, w: kw } = shape;
  for (const [what, n] of [['outputs', O], ['inputs per group', I], ['kernel height', kh], ['kernel width', kw], ['groups', groups]] as const) checkCount(what, n, 1);
  if (O % groups !== 0) throw new LayerError(`${NAME}: ${O} outputs do not split into ${groups} groups`);
  if (weights.length !== O * I * kh * kw) throw new LayerError(`${NAME}: ${O}x${I}x${kh}x${kw} weights are ${O * I * kh * kw} values, not ${weights.length}`);
  const og8 = roundUp8(O) / 8;
  const runs = Array.from({ length: og8 }, (_, og) => ogInputVectors(og, O, I, groups));
  const offsets: number[] = [];
  let bytes = og8 * HEADER_ENTRY;
  for (const run of runs) {
    offsets.push(bytes);
    bytes += kh * kw * run.count * VECTOR_WEIGHTS;
  }
  if (bytes + READ_AHEAD > 2 ** 31) throw new LayerError(`${NAME}: ${bytes} bytes of packed weights are too many`);
  const packed = new Uint8Array(bytes + READ_AHEAD);
  const view = new DataView(packed.buffer);
  const outputsPerGroup = O / groups;
  runs.forEach(({ first, count }, og) => {
    view.setUint32(og * HEADER_ENTRY, first, true);
    view.setUint32(og * HEADER_ENTRY + 4, count, true);
    view.setUint32(og * HEADER_ENTRY + 8, offsets[og]!, true);
    let at = offsets[og]!;
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++)
        for (let v = 0; v < count; v++)
          for (let k = 0; k < 8; k++) {
            const c = (first + v) * 8 + k;
            for (let lane = 0; lane < 8; lane++, at += 4) {
              const o = 8 * og + lane;
              const group = Math.floor(o / outputsPerGroup);
              const ci = c - group * I;
              if (o < O && ci >= 0 && ci < I) view.setFloat32(at, f16ToNumber(weights[((o * I + ci) * kh + ky) * kw + kx]!), true);
            }
          }
  });
  return packed;
}

/** A bias for conv, depthConv or fullyConnected: f32 per output channel, 8 per og, zero past `bias.length`. */
export function packBias(bias: Uint16Array): Uint8Array {
  const packed = new Uint8Array(4 * roundUp8(bias.length));
  const view = new DataView(packed.buffer);
  bias.forEach((b, o) => view.setFloat32(4 * o, f16ToNumber(b), true));
  return packed;
}

/** The packed bias as numbers (zeros without one), checked to cover `channels`. */
export function unpackBias(bias: Uint8Array | undefined, channels: number, layer: string): Float32Array {
  const values = new Float32Array(roundUp8(channels));
  if (!bias) return values;
  if (bias.length < 4 * values.length) throw new LayerError(`${layer}: a bias of ${bias.length} bytes does not cover ${channels} channels (${4 * values.length} bytes)`);
  const view = new DataView(bias.buffer, bias.byteOffset, bias.byteLength);
  for (let o = 0; o < values.length; o++) values[o] = view.getFloat32(4 * o, true);
  for (let o = channels; o < values.length; o++) if (values[o] !== 0) throw new LayerError(`${layer}: the packed bias is not zero past channel ${channels}`);
  return values;
}

/** The packed weights as f32 values with each og's input vectors, checked against the shapes. */
function unpackWeights(weights: Uint8Array | undefined, input: Shape, p: ConvParams): { values: Float32Array; runs: { first: number; count: number; offset: number }[] } {
  if (!weights) throw new LayerError(`${NAME}: no weights`);
  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  const og8 = roundUp8(p.outputs) / 8;
  const vectors = roundUp8(input.c) / 8;
  const taps = p.kernel.h * p.kernel.w;
  if (weights.length < og8 * HEADER_ENTRY + READ_AHEAD || weights.length % 4 !== 0) throw new LayerError(`${NAME}: ${weights.length} bytes of weights cannot hold ${og8} groups of 8 outputs`);
  const runs = Array.from({ length: og8 }, (_, og) => {
    const [first, count, offset] = [0, 4, 8].map((at) => view.getUint32(og * HEADER_ENTRY + at, true)) as [number, number, number];
    if (count < 1 || first + count > vectors || offset % 16 !== 0 || offset < og8 * HEADER_ENTRY || offset + taps * count * VECTOR_WEIGHTS + READ_AHEAD > weights.length) {
      throw new LayerError(`${NAME}: og ${og}'s header (first vector ${first}, ${count} vectors, offset ${offset}) does not fit ${vectors} input vectors and ${weights.length} bytes`);
    }
    return { first, count, offset };
  });
  const values = new Float32Array(weights.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
  // Pad lanes (past C, past the outputs) must weigh nothing, or the kernel would depend on what they hold.
  runs.forEach(({ first, count, offset }, og) => {
    for (let t = 0; t < taps; t++)
      for (let v = 0; v < count; v++)
        for (let k = 0; k < 8; k++)
          for (let lane = 0; lane < 8; lane++) {
            const c = (first + v) * 8 + k;
            const w = values[(offset + ((t * count + v) * 8 + k) * 32) / 4 + lane]!;
            if (w !== 0 && (c >= input.c || 8 * og + lane >= p.outputs)) throw new LayerError(`${NAME}: og ${og} weighs pad lane ${c >= input.c ? `channel ${c}` : `output ${8 * og + lane}`} with ${w}`);
          }
  });
  return { values, runs };
}

/** Output rows or columns of a convolution window sliding over `size` with padding. */
export const slidingOutputs = (size: number, kernel: number, stride: number, before: number, after: number) => Math.floor((size + before + after - kernel) / stride) + 1;

export const conv: Layer<ConvParams> = {
  type: STAGE.conv,
  name: NAME,
  kernel: 'conv.s',
  split: 'rows',
  inputs: 1,
  encode: (p) => {
    checkParams(p);
    return [p.kernel.h, p.kernel.w, p.stride.y, p.stride.x, p.pads.top, p.pads.left, p.pads.bottom, p.pads.right, p.groups, p.outputs, ...encodeActivation(p.activation, NAME)];
  },
  decode: (words) => {
    if (words.length !== 10 + ACTIVATION_WORDS) throw new LayerError(`${NAME}: ${10 + ACTIVATION_WORDS} parameter words, not ${words.length}`);
    const [h, w, y, x, top, left, bottom, right, groups, outputs] = words as [number, number, number, number, number, number, number, number, number, number];
    const params: ConvParams = { kernel: { h, w }, stride: { y, x }, pads: { top, left, bottom, right }, groups, outputs, activation: decodeActivation(words.slice(10), NAME) };
    checkParams(params);
    return params;
  },
  outputShape: (inputs, p) => {
    checkParams(p);
    if (inputs.length !== 1) throw new LayerError(`${NAME}: one input, not ${inputs.length}`);
    const { c, h, w } = inputs[0]!;
    if (c % p.groups !== 0) throw new LayerError(`${NAME}: ${c} input channels do not split into ${p.groups} groups`);
    if (h + p.pads.top + p.pads.bottom < p.kernel.h || w + p.pads.left + p.pads.right < p.kernel.w) {
      throw new LayerError(`${NAME}: a ${p.kernel.h}x${p.kernel.w} kernel does not fit a ${h}x${w} input padded by ${p.pads.top}, ${p.pads.left}, ${p.pads.bottom}, ${p.pads.right}`);
    }
    checkCount('the input width', w, 1);
    checkCount('the input height', h, 1);
    checkCount('input channels', c, 1);
    return { c: p.outputs, h: slidingOutputs(h, p.kernel.h, p.stride.y, p.pads.top, p.pads.bottom), w: slidingOutputs(w, p.kernel.w, p.stride.x, p.pads.left, p.pads.right) };
  },
  scratchBytes: ([input], p) => {
    const vectors = roundUp8(input!.c) / 8;
    const out = conv.outputShape([input!], p);
    // Variables, table 2 (a run of one tap row), table 1 (a whole window), A and B of a row's pixels: conv.s.
    return SCRATCH_VARIABLES + 4 * (p.kernel.w * vectors + 2) + ((4 * (p.kernel.h * p.kernel.w * vectors + 2) + 15) & ~15) + ROW_ACCUMULATORS * out.w;
  },
  reference: ([input], constants: Constants, p) => {
    const out = conv.outputShape([input!.shape], p);
    const { c: C, h: H, w: W } = input!.shape;
    const { values, runs } = unpackWeights(constants.weights, input!.shape, p);
    const bias = unpackBias(constants.bias, p.outputs, NAME);
    const operands = activationOperands(p.activation, NAME);
    const inputValues = Float64Array.from(input!.data, f16ToNumber);
    const data = new Uint16Array(out.c * out.h * out.w);
    const { h: kh, w: kw } = p.kernel;
    const a = new Float64Array(8);
    const b = new Float64Array(8);
    runs.forEach(({ first, count, offset }, og) => {
      for (let y = 0; y < out.h; y++) {
        const iy = y * p.stride.y - p.pads.top;
        for (let x = 0; x < out.w; x++) {
          const ix = x * p.stride.x - p.pads.left;
          a.fill(0);
          b.fill(0);
          for (let ky = Math.max(0, -iy); ky < kh && iy + ky < H; ky++)
            for (let kx = Math.max(0, -ix); kx < kw && ix + kx < W; kx++)
              for (let v = 0; v < count; v++)
                for (let k = 0; k < 8; k++) {
                  const c = (first + v) * 8 + k;
                  if (c >= C) break; // pad lanes: finite x zero weights
                  const value = inputValues[(c * H + iy + ky) * W + ix + kx]!;
                  const acc = k % 2 === 0 ? a : b;
                  const at = (offset + (((ky * kw + kx) * count + v) * 8 + k) * 32) / 4;
                  for (let lane = 0; lane < 8; lane++) acc[lane] = Math.fround(acc[lane]! + Math.fround(values[at + lane]! * value));
                }
          for (let lane = 0; lane < 8 && 8 * og + lane < out.c; lane++) {
            const o = 8 * og + lane;
            const sum = Math.fround(Math.fround(a[lane]! + b[lane]!) + bias[o]!);
            data[(o * out.h + y) * out.w + x] = applyActivation(f16FromNumber(sum), operands);
          }
        }
      }
    });
    return { shape: out, data };
  },
  flops: ([input], p) => {
    const out = conv.outputShape([input!], p);
    return out.c * out.h * out.w * (input!.c / p.groups) * p.kernel.h * p.kernel.w;
  },
};
export type { Tensor };
