/**
 * The job block: how the LEON's graph runtime tells a SHAVE layer kernel what to compute.
 *
 * The runtime splits a stage's output into shares, one per SHAVE it uses, writes one job block
 * per share into CMX, puts the block's address in i18 and starts the core at the kernel's first
 * bundle. The kernel computes its share and halts with `bru.swih 0` (any other code is a
 * kernel error the runtime reports). Everything is little-endian u32 words; addresses are bus
 * addresses (CMX or DDR), which a SHAVE reaches directly.
 *
 * A tensor is f16 with a batch of one, C x H x W, element (c, y, x) at
 * `address + c * cStride + y * yStride + x * xStride` (strides in bytes). The runtime's own
 * layout, "HWC8", has cStride 2, xStride 2 * C8 and yStride W * xStride, where C8 is C rounded
 * up to a multiple of 8: a pixel's channels are whole 16-byte vectors. Lanes past C hold
 * finite values (the runtime clears them, kernels write them as zero or as what the operation
 * gives zero).
 *
 * This file is the one statement of the layout: the firmware's C header is generated from it.
 */

/** Word offsets of a tensor's description inside a job block. */
export const TENSOR_WORDS = { address: 0, c: 1, h: 2, w: 3, cStride: 4, yStride: 5, xStride: 6 } as const;
/** Words a tensor description takes (the eighth is reserved, zero). */
export const TENSOR_SIZE = 8;

/** Word offsets in the job block. */
export const JOB_WORDS = {
  in0: 0, // tensor: the first input
  in1: 8, // tensor: the second input (elementwise, concat), or all zero
  out: 16, // tensor: the output
  weights: 24, // address of the stage's weights in the constant section, or 0
  bias: 25, // address of the stage's second constant operand (bias, scale's shift), or 0
  first: 26, // the first unit of this share (see Split)
  count: 27, // units in this share, at least 1
  scratch: 28, // address of this SHAVE's scratch area in CMX
  scratchBytes: 29, // its size
  params: 32, // the stage's parameter words, as the graph stores them
} as const;

/** Parameter words a stage may have. */
export const MAX_PARAMS = 32;
/** Bytes of a job block (64-byte aligned in CMX). */
export const JOB_BYTES = 4 * (JOB_WORDS.params + MAX_PARAMS);

/**
 * What a share's units are. `rows`: output rows y (every channel, every x); `channels`: groups
 * of 8 output channels (every y and x); `elements`: 8-lane vectors of a tensor taken as flat
 * (only for stages whose input and output are dense with the same strides).
 */
export const SPLIT = { rows: 0, channels: 1, elements: 2 } as const;
export type Split = keyof typeof SPLIT;

/** The code a kernel halts with when its job is complete. */
export const KERNEL_OK = 0;
