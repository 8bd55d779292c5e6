/**
 * Average pooling (ONNX AveragePool, GlobalAveragePool): out(c, oy, ox) = sum * r, where
 *
 * - sum adds the window's taps inside the input in f32, row by row and left to right, starting
 *   from -0 (each f16 tap is exact in f32; every addition is rounded to f32);
 * - r is the f32 nearest to 1 / n, n = kh * kw with countIncludePad (ONNX count_include_pad = 1),
 *   else the number of taps inside the input (count_include_pad = 0);
 * - the product is rounded to f32 and then once to f16.
 *
 * A NaN tap, or infinite taps of both signs, give the default NaN. The kernel divides by
 * multiplying with r (sau.div.f32 makes it once per output pixel). Parameter words: pool.ts
 * (flag bit 1 is countIncludePad).
 */
import { f16FromNumber, f16ToNumber } from '../f16.js';
import { decodePool, encodePool, POOL_FLAGS, poolFlops, poolOutputShape, poolShapes, windowOf, type PoolParams } from './pool.js';
import { elements, STAGE, type Layer, type Shape } from './layer.js';

export interface AvgPoolParams extends PoolParams {
  /** Divide by kh * kw (padded taps count as zeros), not by the taps inside the input. */
  readonly countIncludePad: boolean;
}

/** Scratch per output pixel: the reciprocal of its count (one vector) and two f32 vectors per group. */
const pixelBytes = (s: Shape) => 16 + 32 * Math.ceil(s.c / 8);

export const avgPool: Layer<AvgPoolParams> = {
  type: STAGE.avgPool,
  name: 'avgPool',
  kernel: 'avg-pool.s',
  split: 'rows',
  // Global pooling has one output pixel: its shares are groups of channels.
  splitFor: (params) => (params.global ? 'channels' : 'rows'),
  splits: ['channels'],
  inputs: 1,
  encode: (params) => encodePool('avgPool', params, params.countIncludePad ? POOL_FLAGS.countIncludePad : 0),
  decode: (words) => {
    const { params, flags } = decodePool('avgPool', words, POOL_FLAGS.global | POOL_FLAGS.countIncludePad);
    const full = { ...params, countIncludePad: (flags & POOL_FLAGS.countIncludePad) !== 0 };
    avgPool.encode(full);
    return full;
  },
  ...poolShapes('avgPool', pixelBytes),
  reference: ([input], _constants, params) => {
    const out = poolOutputShape('avgPool', [input!.shape], params);
    const { h, w } = input!.shape;
    const data = new Uint16Array(elements(out));
    for (let c = 0; c < out.c; c++) {
      for (let oy = 0; oy < out.h; oy++) {
        for (let ox = 0; ox < out.w; ox++) {
          const { y0, y1, x0, x1 } = windowOf(input!.shape, params, oy, ox);
          let sum = -0;
          for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum = Math.fround(sum + f16ToNumber(input!.data[(c * h + y) * w + x]!));
          const count = params.countIncludePad ? params.kernelH * params.kernelW : (y1 - y0) * (x1 - x0);
          data[(c * out.h + oy) * out.w + ox] = f16FromNumber(Math.fround(sum * Math.fround(1 / count)));
        }
      }
    }
    return { shape: out, data };
  },
  flops: ([input], params) => poolFlops(poolOutputShape('avgPool', [input!], params), params),
};
