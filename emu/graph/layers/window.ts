/** What convolutions (conv, depthConv) share: a sliding window's kernel, stride and padding, checked. */
import { LayerError } from './layer.js';

export interface SlidingWindow {
  readonly kernel: { readonly h: number; readonly w: number };
  readonly stride: { readonly y: number; readonly x: number };
  readonly pads: { readonly top: number; readonly left: number; readonly bottom: number; readonly right: number };
}

/** Keeps kernel arithmetic (products of sizes, byte offsets) inside 32 bits. */
export const MAX_SIZE = 1 << 14;

/** A count for `layer` that must be an integer from `min` to MAX_SIZE - 1. */
export function checkCount(layer: string, what: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min || n >= MAX_SIZE) throw new LayerError(`${layer}: ${what} must be an integer from ${min} to ${MAX_SIZE - 1}, not ${n}`);
}

export function checkWindow(layer: string, p: SlidingWindow): void {
  checkCount(layer, 'the kernel height', p.kernel.h, 1);
  checkCount(layer, 'the kernel width', p.kernel.w, 1);
  checkCount(layer, 'the vertical stride', p.stride.y, 1);
  checkCount(layer, 'the horizontal stride', p.stride.x, 1);
  for (const side of ['top', 'left', 'bottom', 'right'] as const) checkCount(layer, `the ${side} padding`, p.pads[side], 0);
}
