/** Where a tensor lies in memory: its first element and its strides (emu/graph/job.ts). */
import { elements, roundUp8, type Shape, type Tensor } from './layers/layer.js';

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

/** A tensor (CHW by value) as the bytes of its place, from its first element; pad lanes and gaps are zero. */
export function tensorBytes(place: TensorPlace, t: Tensor): Uint8Array {
  const { c, h, w } = place.shape;
  const bytes = new Uint8Array(spanOf(place));
  const view = new DataView(bytes.buffer);
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) view.setUint16(ch * place.cStride + y * place.yStride + x * place.xStride, t.data[(ch * h + y) * w + x]!, true);
  return bytes;
}

/** The tensor in `bytes`, which hold its place from its first element. */
export function tensorFromBytes(place: TensorPlace, bytes: Uint8Array): Tensor {
  const { c, h, w } = place.shape;
  if (bytes.length < spanOf(place)) throw new RangeError(`${bytes.length} bytes hold no ${c}x${h}x${w} tensor with these strides (${spanOf(place)} needed)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Uint16Array(elements(place.shape));
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(ch * h + y) * w + x] = view.getUint16(ch * place.cStride + y * place.yStride + x * place.xStride, true);
  return { shape: place.shape, data };
}
