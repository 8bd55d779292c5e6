/**
 * Depthwise 2-D convolution (ONNX Conv with group = C = outputs, dilation 1): any kernel, strides,
 * zero padding, an optional bias and a fused activation (activation.ts), eight channels per
 * vector of the HWC8 layout. Far fewer operations than conv would spend on it: no channel sum.
 *
 * Precision and order, the kernel's and the reference's (firmware-stubs/shave/layers/
 * depth-conv.s): each output lane has one f32 accumulator from +0; each tap inside the image
 * adds weight x input (exact in f32) with one f32 rounding (vau.mac.f32), taps in column-major
 * order (kx, then ky: the kernel runs a tap column's rows three at a time); taps in the padding
 * are skipped. Then f16(acc + bias) with one rounding, then the activation in f16.
 *
 * Weights must be finite: the kernel's one-row loop re-adds +0 x weight to the accumulator of
 * the pixel before each run, which a finite weight leaves as it was (an accumulator from +0 is
 * never -0).
 */
import { f16FromNumber, f16ToNumber } from '../f16.js';
import { ACTIVATION_WORDS, activationOperands, applyActivation, decodeActivation, encodeActivation, type FusedActivation } from './activation.js';
import { slidingOutputs, unpackBias } from './conv.js';
import { LayerError, roundUp8, STAGE, type Constants, type Layer, type Shape } from './layer.js';
import { checkCount as checkCountOf, checkWindow, type SlidingWindow } from './window.js';

export interface DepthConvParams extends SlidingWindow {
  readonly activation: FusedActivation;
}

const NAME = 'depthConv';
/** Bytes of one tap's weights for one og: 8 channels x f32. */
const TAP_WEIGHTS = 32;
/** depth-conv.s: its variables, then an entry per kx, then the accumulators of slots -1 .. Wout. */
const SCRATCH_VARIABLES = 128;
const KX_ENTRY = 48;
const checkCount = (what: string, n: number, min: number) => checkCountOf(NAME, what, n, min);

function checkParams(p: DepthConvParams): void {
  checkWindow(NAME, p);
}

/**
 * The constant-section layout depth-conv.s reads: per og (8 channels), per tap (ky, kx)
 * row-major, the 8 channels' weights as f32 (32 bytes); zero past the channels. `weights` are
 * f16 in ONNX's layout for a depthwise Conv, C x 1 x kh x kw; every one must be finite.
 */
export function packDepthConvWeights(weights: Uint16Array, shape: { readonly channels: number; readonly h: number; readonly w: number }): Uint8Array {
  const { channels: C, h: kh, w: kw } = shape;
  checkCount('channels', C, 1);
  checkCount('the kernel height', kh, 1);
  checkCount('the kernel width', kw, 1);
  if (weights.length !== C * kh * kw) throw new LayerError(`${NAME}: ${C}x1x${kh}x${kw} weights are ${C * kh * kw} values, not ${weights.length}`);
  const packed = new Uint8Array(roundUp8(C) * kh * kw * 4);
  const view = new DataView(packed.buffer);
  weights.forEach((w, i) => {
    const value = f16ToNumber(w);
    if (!Number.isFinite(value)) throw new LayerError(`${NAME}: weight ${i} is ${value}; depthConv takes finite weights`);
    const c = Math.floor(i / (kh * kw));
    const tap = i % (kh * kw);
    view.setFloat32((((c >> 3) * kh * kw + tap) * 8 + (c & 7)) * 4, value, true);
  });
  return packed;
}

export const depthConv: Layer<DepthConvParams> = {
  type: STAGE.depthConv,
  name: NAME,
  kernel: 'depth-conv.s',
  split: 'rows',
  inputs: 1,
  encode: (p) => {
    checkParams(p);
    return [p.kernel.h, p.kernel.w, p.stride.y, p.stride.x, p.pads.top, p.pads.left, p.pads.bottom, p.pads.right, ...encodeActivation(p.activation, NAME)];
  },
  decode: (words) => {
    if (words.length !== 8 + ACTIVATION_WORDS) throw new LayerError(`${NAME}: ${8 + ACTIVATION_WORDS} parameter words, not ${words.length}`);
    const [h, w, y, x, top, left, bottom, right] = words as [number, number, number, number, number, number, number, number];
    const params: DepthConvParams = { kernel: { h, w }, stride: { y, x }, pads: { top, left, bottom, right }, activation: decodeActivation(words.slice(8), NAME) };
    checkParams(params);
    return params;
  },
  outputShape: (inputs, p) => {
    checkParams(p);
    if (inputs.length !== 1) throw new LayerError(`${NAME}: one input, not ${inputs.length}`);
    const { c, h, w } = inputs[0]!;
    checkCount('the input width', w, 1);
    checkCount('the input height', h, 1);
    checkCount('channels', c, 1);
    if (h + p.pads.top + p.pads.bottom < p.kernel.h || w + p.pads.left + p.pads.right < p.kernel.w) {
      throw new LayerError(`${NAME}: a ${p.kernel.h}x${p.kernel.w} kernel does not fit a ${h}x${w} input padded by ${p.pads.top}, ${p.pads.left}, ${p.pads.bottom}, ${p.pads.right}`);
    }
    return { c, h: slidingOutputs(h, p.kernel.h, p.stride.y, p.pads.top, p.pads.bottom), w: slidingOutputs(w, p.kernel.w, p.stride.x, p.pads.left, p.pads.right) };
  },
  scratchBytes: ([input], p) => {
    const out = depthConv.outputShape([input!], p);
    return SCRATCH_VARIABLES + KX_ENTRY * p.kernel.w + TAP_WEIGHTS * (out.w + 2);
  },
  reference: ([input], constants: Constants, p) => {
    const out = depthConv.outputShape([input!.shape], p);
    const { c: C, h: H, w: W } = input!.shape;
    const { h: kh, w: kw } = p.kernel;
    const { weights } = constants;
    const bytes = roundUp8(C) * kh * kw * 4;
    if (!weights || weights.length < bytes) throw new LayerError(`${NAME}: ${weights?.length ?? 0} bytes of weights, not the ${bytes} that ${C} channels of a ${kh}x${kw} kernel take`);
    const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
    const w = new Float64Array(bytes / 4);
    for (let i = 0; i < w.length; i++) {
      w[i] = view.getFloat32(4 * i, true);
      if (!Number.isFinite(w[i]!)) throw new LayerError(`${NAME}: packed weight ${i} is ${w[i]}; depthConv takes finite weights`);
      if (i % 8 >= C - 8 * Math.floor(i / (8 * kh * kw)) && w[i] !== 0) throw new LayerError(`${NAME}: a pad lane of packed weight ${i} is ${w[i]}, not 0`);
    }
    const bias = unpackBias(constants.bias, C, NAME);
    const operands = activationOperands(p.activation, NAME);
    const inputValues = Float64Array.from(input!.data, f16ToNumber);
    const data = new Uint16Array(out.c * out.h * out.w);
    for (let c = 0; c < C; c++) {
      const first = (c >> 3) * kh * kw * 8 + (c & 7);
      for (let y = 0; y < out.h; y++) {
        const iy = y * p.stride.y - p.pads.top;
        for (let x = 0; x < out.w; x++) {
          const ix = x * p.stride.x - p.pads.left;
          let acc = 0;
          for (let kx = Math.max(0, -ix); kx < kw && ix + kx < W; kx++)
            for (let ky = Math.max(0, -iy); ky < kh && iy + ky < H; ky++) {
              acc = Math.fround(acc + Math.fround(w[first + (ky * kw + kx) * 8]! * inputValues[(c * H + iy + ky) * W + ix + kx]!));
            }
          data[(c * out.h + y) * out.w + x] = applyActivation(f16FromNumber(Math.fround(acc + bias[c]!)), operands);
        }
      }
    }
    return { shape: out, data };
  },
  flops: ([input], p) => {
    const out = depthConv.outputShape([input!], p);
    return out.c * out.h * out.w * p.kernel.h * p.kernel.w;
  },
};
export type { Shape };
