/** What the layer kernel tests share: seeded f16 data, special values, shapes, places, guards. */
import { f16FromNumber } from '../../emu/graph/f16.js';
import type { Tensor } from '../../emu/graph/layers/layer.js';
import type { KernelBench } from '../../emu/shave/kernel-runner.js';
import { xorshift32 } from './random.js';

/** NaNs of both signs, infinities, signed zeros, subnormals, the largest finite values. */
export const SPECIAL_F16 = [0x7e01, 0xfe00, 0x7c00, 0xfc00, 0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x83ff, 0x7bff, 0xfbff];

export const DDR = 0x8000_0000;
/** Free CMX on ma2450: slices 12-15 (the bench's cores use 0-11). */
export const CMX_FREE = 0x7018_0000;
export const CMX_END = 0x7020_0000;

/**
 * Shapes [c, h, w, shares] by the vectors each share of an element-split stage gets: fewer than
 * a group of 8, exactly one group, one group and a few, many groups with and without vectors
 * left over; C = 1, C < 8, C not a multiple of 8.
 */
export const ELEMENT_SHAPES = [
  [3, 5, 7, 12],
  [1, 1, 1, 1],
  [8, 1, 1, 1],
  [24, 1, 3, 1],
  [16, 2, 4, 1],
  [17, 3, 2, 5],
  [64, 7, 9, 5],
  [40, 6, 11, 12],
] as const;

/** A seeded source of f16 data, uniform in [-scale, scale). */
export function f16Source(seed: number) {
  const rand = xorshift32(seed);
  const uniform = () => (rand() / 2 ** 32) * 2 - 1;
  const f16s = (n: number, scale = 1) => Uint16Array.from({ length: n }, () => f16FromNumber(uniform() * scale));
  return { uniform, f16s, tensor: (c: number, h: number, w: number, scale = 1): Tensor => ({ shape: { c, h, w }, data: f16s(c * h * w, scale) }) };
}

export const GUARD = 64;
/** Fills the 64 bytes either side of an output with a pattern; the function returned says whether a kernel wrote there. */
export function outputGuards(bench: KernelBench, at: number, bytes: number): () => boolean {
  const pattern = new Uint8Array(GUARD).fill(0xa5);
  const where = [at - GUARD, at + ((bytes + 63) & ~63)];
  for (const g of where) bench.write(0, g, pattern);
  return () => where.every((g) => bench.read(0, g, GUARD).every((b) => b === 0xa5));
}
