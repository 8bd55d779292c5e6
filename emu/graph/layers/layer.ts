/**
 * What every layer (stage type) states once: its number in the graph, its SHAVE kernel, how a
 * stage's output is shared among SHAVEs, its parameter words, how its constants are packed,
 * and a TypeScript reference that does the kernel's f16 arithmetic in the kernel's order, so
 * that the two agree bit for bit.
 *
 * References work on tensors by value (CHW order, no padding); the kernels on memory in the
 * layout their job block describes (emu/graph/job.ts).
 */
import type { Split } from '../job.js';

/** A tensor's shape: a batch of one, C x H x W. */
export interface Shape {
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/** f16 bit patterns in CHW order: element (c, y, x) at (c * h + y) * w + x. */
export interface Tensor {
  readonly shape: Shape;
  readonly data: Uint16Array;
}

/** A stage's constant operands, packed in its kernel's layout, as the graph stores them. */
export interface Constants {
  readonly weights?: Uint8Array;
  readonly bias?: Uint8Array;
}

/**
 * Stage types. MvTensor's numbers where MvTensor has the operation (myriad-facts.md 4a), ours
 * from 100 where it has none.
 */
export const STAGE = {
  conv: 0,
  maxPool: 1,
  avgPool: 2,
  softmax: 3,
  fullyConnected: 4,
  relu: 6, // with a negative slope: leaky ReLU
  depthConv: 8,
  sum: 12, // elementwise add, with broadcast
  prod: 13, // elementwise multiply, with broadcast
  scale: 15, // per-channel scale and shift (folded batch norm, bias)
  copy: 19, // strided copy: layout changes at the graph's edges
  sigmoid: 20,
  tanh: 21,
  clip: 100, // clamp to [low, high] (ReLU6)
  concat: 101, // along channels
} as const;
export type StageType = (typeof STAGE)[keyof typeof STAGE];

export class LayerError extends Error {}

export interface Layer<P> {
  readonly type: StageType;
  /** Its name in profiles and errors: 'conv'. */
  readonly name: string;
  /** The kernel's source, a file in firmware-stubs/shave/layers/. */
  readonly kernel: string;
  /** What first/count of a job count (emu/graph/job.ts). */
  readonly split: Split;
  /** The split for these parameters, when they choose it (global pooling splits by channels). */
  splitFor?(params: P): Split;
  /** Every split splitFor may give (the firmware accepts these for the stage type). */
  readonly splits?: readonly Split[];
  /** Inputs the stage takes (1, or 2 for sum, prod and concat). */
  readonly inputs: number;
  /** Parameter words as stored in the graph (at most MAX_PARAMS). */
  encode(params: P): number[];
  /** The parameters back from their words; a LayerError for words no encode() gives. */
  decode(words: readonly number[]): P;
  /** The output's shape; a LayerError when the inputs and parameters do not fit together. */
  outputShape(inputs: readonly Shape[], params: P): Shape;
  /** Bytes of CMX scratch one SHAVE needs for a share of this stage (0 if none). */
  scratchBytes(inputs: readonly Shape[], params: P): number;
  /** The kernel's result, computed in the same f16 operations in the same order. */
  reference(inputs: readonly Tensor[], constants: Constants, params: P): Tensor;
  /** MACs or other operations per inference, for the profile's MFLOPs. */
  flops(inputs: readonly Shape[], params: P): number;
}

export const elements = (s: Shape) => s.c * s.h * s.w;
export const roundUp8 = (n: number) => (n + 7) & ~7;
export const tensor = (shape: Shape, data?: Uint16Array): Tensor => ({ shape, data: data ?? new Uint16Array(elements(shape)) });

/** The split a stage of this layer with these parameters has. */
export const splitOf = <P>(layer: Layer<P>, params: P): Split => layer.splitFor?.(params) ?? layer.split;
