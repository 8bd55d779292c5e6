/**
 * Max pooling (ONNX MaxPool, GlobalMaxPool): out(c, oy, ox) = the largest input over the
 * window's taps inside the input; padded taps are ignored. The maximum is exact (F16.max: any
 * NaN gives the default NaN, +0 beats -0), so the order of the taps does not matter. The kernel
 * takes it in f32 (exact conversions both ways), starting from -inf, row by row. Parameter
 * words: pool.ts.
 */
import { F16 } from '../f16.js';
import { decodePool, encodePool, POOL_FLAGS, poolFlops, poolOutputShape, poolShapes, windowOf, type PoolParams } from './pool.js';
import { elements, STAGE, type Layer, type Shape } from './layer.js';

const NEGATIVE_INFINITY = 0xfc00;
/** Scratch per output pixel: two f32 vectors per group of 8 channels. */
const pixelBytes = (s: Shape) => 32 * Math.ceil(s.c / 8);

export const maxPool: Layer<PoolParams> = {
  type: STAGE.maxPool,
  name: 'maxPool',
  kernel: 'max-pool.s',
  split: 'rows',
  // Global pooling has one output pixel: its shares are groups of channels.
  splitFor: (params) => (params.global ? 'channels' : 'rows'),
  splits: ['channels'],
  inputs: 1,
  encode: (params) => encodePool('maxPool', params, 0),
  decode: (words) => {
    const { params } = decodePool('maxPool', words, POOL_FLAGS.global);
    maxPool.encode(params);
    return params;
  },
  ...poolShapes('maxPool', pixelBytes),
  reference: ([input], _constants, params) => {
    const out = poolOutputShape('maxPool', [input!.shape], params);
    const { h, w } = input!.shape;
    const data = new Uint16Array(elements(out));
    for (let c = 0; c < out.c; c++) {
      for (let oy = 0; oy < out.h; oy++) {
        for (let ox = 0; ox < out.w; ox++) {
          const { y0, y1, x0, x1 } = windowOf(input!.shape, params, oy, ox);
          let acc = NEGATIVE_INFINITY;
          for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) acc = F16.max(acc, input!.data[(c * h + y) * w + x]!);
          data[(c * out.h + oy) * out.w + ox] = acc;
        }
      }
    }
    return { shape: out, data };
  },
  flops: ([input], params) => poolFlops(poolOutputShape('maxPool', [input!], params), params),
};
