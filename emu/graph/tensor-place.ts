/** Where a tensor lies in memory: its first element and its strides (emu/graph/job.ts). */
import { roundUp8, type Shape } from './layers/layer.js';

/** Where a tensor's elements are: element (c, y, x) at address + c*cStride + y*yStride + x*xStride. */
export interface TensorPlace {
  readonly address: number;
  readonly shape: Shape;
  readonly cStride: number;
  readonly yStride: number;
  readonly xStride: number;
}

/** The runtime's HWC8 layout at `address`. */
export function hwc8(shape: Shape, address: number): TensorPlace {
  const xStride = 2 * roundUp8(shape.c);
  return { address, shape, cStride: 2, xStride, yStride: xStride * shape.w };
}

/** Bytes an HWC8 tensor takes. */
export const hwc8Bytes = (shape: Shape) => 2 * roundUp8(shape.c) * shape.w * shape.h;

/** Bytes from a place's first element to just past its last (HWC8: including the pad lanes). */
export function spanOf(place: TensorPlace): number {
  const { c, h, w } = place.shape;
  const hwc8Pixels = place.cStride === 2 && place.xStride === 2 * roundUp8(c); // the pad lanes belong to the tensor
  const lastChannel = hwc8Pixels ? roundUp8(c) - 1 : c - 1;
  return lastChannel * place.cStride + (h - 1) * place.yStride + (w - 1) * place.xStride + 2;
}
