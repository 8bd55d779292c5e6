/**
 * What max and average pooling share: the window's parameters, their words, the output's shape
 * and the walk over the taps of a window that lie inside the input.
 *
 * Parameter words (both pools): 0 kernel height, 1 kernel width, 2 stride y, 3 stride x,
 * 4 pad top, 5 pad left, 6 pad bottom, 7 pad right, 8 flags: bit 0 global (the window is the
 * whole input), bit 1 count_include_pad (average pooling only).
 *
 * Output size: floor((H + padTop + padBottom - kh) / sy) + 1 rows, the same across; ceil mode
 * is the graph compiler's business (it adds to padBottom / padRight). Every pad is smaller than
 * the window in its direction, so every window has at least one tap inside the input.
 */
import { JOB_BYTES } from '../job.js';
import { LayerError, type Shape } from './layer.js';

export interface PoolParams {
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideY: number;
  readonly strideX: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly padBottom: number;
  readonly padRight: number;
  /**
   * The window is the whole input and there is no padding (output 1 x 1): the kernel then runs
   * its fast path, one long loop over the pixels per group of 8 channels. The result is the
   * same as without the flag.
   */
  readonly global: boolean;
}

export const POOL_FLAGS = { global: 1, countIncludePad: 2 } as const;
/** Parameter words of a pooling stage. */
export const POOL_WORDS = 9;
/** Window sizes, strides and pads up to this, so that the kernels' products stay small. */
const LARGEST = 4096;

/**
 * Bytes of CMX scratch a share may take: the job block and the scratch share the first half of
 * the SHAVE's 128 KB slice (the code runs from the second, window B).
 */
export const SCRATCH_LIMIT = 64 * 1024 - JOB_BYTES;

export function encodePool(name: string, p: PoolParams, extraFlags: number): number[] {
  const fields = { kernelH: p.kernelH, kernelW: p.kernelW, strideY: p.strideY, strideX: p.strideX, padTop: p.padTop, padLeft: p.padLeft, padBottom: p.padBottom, padRight: p.padRight };
  for (const [field, value] of Object.entries(fields)) {
    const least = field.startsWith('pad') ? 0 : 1;
    if (!Number.isInteger(value) || value < least || value > LARGEST) throw new LayerError(`${name}: ${field} must be an integer from ${least} to ${LARGEST}, not ${value}`);
  }
  if (p.padTop >= p.kernelH || p.padBottom >= p.kernelH) throw new LayerError(`${name}: vertical pads (${p.padTop}, ${p.padBottom}) must be smaller than the kernel height ${p.kernelH}`);
  if (p.padLeft >= p.kernelW || p.padRight >= p.kernelW) throw new LayerError(`${name}: horizontal pads (${p.padLeft}, ${p.padRight}) must be smaller than the kernel width ${p.kernelW}`);
  if (p.global && p.padTop + p.padLeft + p.padBottom + p.padRight !== 0) throw new LayerError(`${name}: global pooling has no padding`);
  return [p.kernelH, p.kernelW, p.strideY, p.strideX, p.padTop, p.padLeft, p.padBottom, p.padRight, (p.global ? POOL_FLAGS.global : 0) | extraFlags];
}

/** The words back; `allowedFlags` the flag bits this pool knows. */
export function decodePool(name: string, words: readonly number[], allowedFlags: number): { params: PoolParams; flags: number } {
  if (words.length !== POOL_WORDS) throw new LayerError(`${name}: ${POOL_WORDS} parameter words, not ${words.length}`);
  const flags = words[8]!;
  if (!Number.isInteger(flags) || (flags & ~allowedFlags) !== 0 || flags < 0) throw new LayerError(`${name}: unknown flags 0x${flags.toString(16)}`);
  const [kernelH, kernelW, strideY, strideX, padTop, padLeft, padBottom, padRight] = words as [number, number, number, number, number, number, number, number];
  return { params: { kernelH, kernelW, strideY, strideX, padTop, padLeft, padBottom, padRight, global: (flags & POOL_FLAGS.global) !== 0 }, flags };
}

export function poolOutputShape(name: string, inputs: readonly Shape[], p: PoolParams): Shape {
  if (inputs.length !== 1) throw new LayerError(`${name}: one input, not ${inputs.length}`);
  const input = inputs[0]!;
  const paddedH = input.h + p.padTop + p.padBottom;
  const paddedW = input.w + p.padLeft + p.padRight;
  if (paddedH < p.kernelH || paddedW < p.kernelW) throw new LayerError(`${name}: a ${p.kernelH} x ${p.kernelW} window does not fit in the padded ${paddedH} x ${paddedW} input`);
  if (p.global && (p.kernelH !== input.h || p.kernelW !== input.w)) throw new LayerError(`${name}: a global window is the whole ${input.h} x ${input.w} input, not ${p.kernelH} x ${p.kernelW}`);
  return { c: input.c, h: Math.floor((paddedH - p.kernelH) / p.strideY) + 1, w: Math.floor((paddedW - p.kernelW) / p.strideX) + 1 };
}

/**
 * The window of output pixel (oy, ox) clipped to the input: rows [y0, y1), columns [x0, x1).
 * The taps are visited row by row, left to right, as the kernels visit them.
 */
export function windowOf(input: Shape, p: PoolParams, oy: number, ox: number): { y0: number; y1: number; x0: number; x1: number } {
  const top = oy * p.strideY - p.padTop;
  const left = ox * p.strideX - p.padLeft;
  return { y0: Math.max(0, top), y1: Math.min(input.h, top + p.kernelH), x0: Math.max(0, left), x1: Math.min(input.w, left + p.kernelW) };
}

/** Pooling's operation count: one per tap of every window, padding included. */
export const poolFlops = (out: Shape, p: PoolParams) => out.c * out.h * out.w * p.kernelH * p.kernelW;

/**
 * Scratch for the general path: the kx table (kw + 1 entries of 16 bytes: the kernel reads one
 * past the last) and `pixelBytes` per output pixel of a row, as many pixels as fit (the kernel
 * takes a row in chunks of that many). Global pooling needs none.
 */
export function poolScratch(name: string, out: Shape, p: PoolParams, pixelBytes: number): number {
  if (p.global) return 0;
  const table = 16 * (p.kernelW + 1);
  if (table + pixelBytes > SCRATCH_LIMIT) throw new LayerError(`${name}: one output pixel of ${out.c} channels needs ${table + pixelBytes} bytes of scratch, more than the ${SCRATCH_LIMIT} a SHAVE has`);
  return table + pixelBytes * Math.min(out.w, Math.floor((SCRATCH_LIMIT - table) / pixelBytes));
}

/** A pool layer's outputShape and scratchBytes: the output's shape, and the scratch its rows need (checked to fit). */
export function poolShapes<P extends PoolParams>(name: string, pixelBytes: (s: Shape) => number) {
  return {
    outputShape: (inputs: readonly Shape[], params: P): Shape => {
      const out = poolOutputShape(name, inputs, params);
      poolScratch(name, out, params, pixelBytes(out));
      return out;
    },
    scratchBytes: ([input]: readonly Shape[], params: P): number => poolScratch(name, poolOutputShape(name, [input!], params), params, pixelBytes(input!)),
  };
}
