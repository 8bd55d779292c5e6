import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { f16FromNumber } from '../../emu/graph/f16.js';
import { avgPool, type AvgPoolParams } from '../../emu/graph/layers/avg-pool.js';
import { LayerError, type Layer, type Tensor } from '../../emu/graph/layers/layer.js';
import { maxPool } from '../../emu/graph/layers/max-pool.js';
import type { PoolParams } from '../../emu/graph/layers/pool.js';
import { KernelFailed, runStage } from '../../emu/graph/stage-runner.js';
import { hwc8, type TensorPlace } from '../../emu/graph/tensor-place.js';
import { xorshift32 } from '../support/random.js';

const bench = new KernelBench(ma2450);
const rand = xorshift32(2450);
const CMX = 0x7018_0000; // free CMX slices 12-15
const SPECIAL = [0x7e01, 0xfe00, 0x7c00, 0xfc00, 0x8000, 0x0000, 0x0001, 0x83ff, 0x7bff];

/** Values in [-8, 8); with `special`, one element in 16 is a NaN, an infinity, a signed zero or a subnormal. */
function randomTensor(c: number, h: number, w: number, special = false): Tensor {
  const data = Uint16Array.from({ length: c * h * w }, () => f16FromNumber(((rand() / 2 ** 32) * 2 - 1) * 8));
  if (special) for (let i = 0; i < data.length; i++) if (rand() % 16 === 0) data[i] = SPECIAL[rand() % SPECIAL.length]!;
  return { shape: { c, h, w }, data };
}

const window = (kh: number, kw: number, sy: number, sx: number, [top, left, bottom, right] = [0, 0, 0, 0], global = false): PoolParams => ({
  kernelH: kh, kernelW: kw, strideY: sy, strideX: sx, padTop: top, padLeft: left, padBottom: bottom, padRight: right, global,
});
const avg = (p: PoolParams, countIncludePad: boolean): AvgPoolParams => ({ ...p, countIncludePad });

/** Runs the layer with its data in DDR, then in CMX, and again with rows that have a gap after them; all must match the reference. */
function check<P extends PoolParams>(layer: Layer<P>, input: Tensor, params: P, shaves: number): void {
  const expected = layer.reference([input], {}, params).data;
  expect(runStage(bench, layer, [input], {}, params, { shaves }).output.data).toEqual(expected);
  const out = layer.outputShape([input.shape], params);
  const inCmx = runStage(bench, layer, [input], {}, params, { shaves, inputs: [hwc8(input.shape, CMX)], output: hwc8(out, CMX + 0x40000) });
  expect(inCmx.output.data).toEqual(expected);
  const gapped = (place: TensorPlace): TensorPlace => ({ ...place, yStride: place.yStride + 48 });
  const inGapped = runStage(bench, layer, [input], {}, params, { shaves, inputs: [gapped(hwc8(input.shape, CMX))], output: gapped(hwc8(out, CMX + 0x40000)) });
  expect(inGapped.output.data).toEqual(expected);
}

const CASES: readonly { name: string; c: number; h: number; w: number; params: PoolParams; shaves: number }[] = [
  { name: '2x2 stride 2, odd input (the last row and column dropped)', c: 3, h: 7, w: 9, params: window(2, 2, 2, 2), shaves: 12 },
  { name: '3x3 stride 2 pad 1, 17 channels, shares that do not divide', c: 17, h: 9, w: 11, params: window(3, 3, 2, 2, [1, 1, 1, 1]), shaves: 5 },
  { name: '3x3 stride 1 pad 1, one channel', c: 1, h: 6, w: 5, params: window(3, 3, 1, 1, [1, 1, 1, 1]), shaves: 12 },
  { name: 'asymmetric pads (ceil mode), strides 1 and 2', c: 12, h: 8, w: 7, params: window(3, 2, 1, 2, [0, 1, 2, 1]), shaves: 3 },
  { name: '7x7 stride 3 pad 3', c: 9, h: 13, w: 12, params: window(7, 7, 3, 3, [3, 3, 3, 3]), shaves: 4 },
  { name: '13x13 window, not global', c: 5, h: 15, w: 14, params: window(13, 13, 1, 1), shaves: 2 },
  { name: '1x1 input, 1x1 window', c: 8, h: 1, w: 1, params: window(1, 1, 1, 1), shaves: 12 },
  { name: 'global, 13x13, 37 channels', c: 37, h: 13, w: 13, params: window(13, 13, 1, 1, undefined, true), shaves: 12 },
  { name: 'global, 1x1 input', c: 6, h: 1, w: 1, params: window(1, 1, 1, 1, undefined, true), shaves: 1 },
  { name: 'rows in chunks (1024 channels: 15 pixels fit in scratch)', c: 1024, h: 2, w: 24, params: window(3, 3, 1, 1, [1, 1, 1, 1]), shaves: 2 },
];

describe('maxPool kernel against its reference', () => {
  for (const { name, c, h, w, params, shaves } of CASES) {
    it(name, () => check(maxPool, randomTensor(c, h, w, true), params, shaves));
  }
  it('NaN of either sign gives the default NaN; +0 beats -0; padded taps are not zeros', () => {
    const input: Tensor = { shape: { c: 2, h: 2, w: 2 }, data: Uint16Array.from([0xfe01, 0x3c00, 0x3c00, 0x3c00, 0x8000, 0x0000, 0xbc00, 0xc000]) };
    const out = runStage(bench, maxPool, [input], {}, window(2, 2, 2, 2)).output.data;
    expect([...out]).toEqual([0x7e00, 0x0000]);
    const padded = runStage(bench, maxPool, [{ shape: { c: 1, h: 1, w: 1 }, data: Uint16Array.from([0xc000]) }], {}, window(2, 2, 1, 1, [1, 1, 0, 0])).output.data;
    expect([...padded]).toEqual([0xc000]); // -2, not max(-2, 0)
  });
});

describe('avgPool kernel against its reference', () => {
  for (const { name, c, h, w, params, shaves } of CASES) {
    for (const countIncludePad of [false, true]) {
      it(`${name}, count_include_pad ${countIncludePad ? 1 : 0}`, () => check(avgPool, randomTensor(c, h, w, true), avg(params, countIncludePad), shaves));
    }
  }
  it('divides by the taps inside, or by kh * kw; sums in f32 from -0; rounds to f16 once', () => {
    const ones: Tensor = { shape: { c: 1, h: 2, w: 2 }, data: new Uint16Array(4).fill(0x3c00) };
    const p = window(2, 2, 1, 1, [1, 1, 0, 0]);
    expect([...runStage(bench, avgPool, [ones], {}, avg(p, false)).output.data]).toEqual([0x3c00, 0x3c00, 0x3c00, 0x3c00]);
    expect([...runStage(bench, avgPool, [ones], {}, avg(p, true)).output.data]).toEqual([0x3400, 0x3800, 0x3800, 0x3c00]); // 1/4, 1/2, 1/2, 1
    // 2048 + 1 + 1: in f16 each +1 would be lost; in f32 the sum is 2050 and the average 1025.
    const spread: Tensor = { shape: { c: 1, h: 1, w: 3 }, data: Uint16Array.from([f16FromNumber(2048), 0x3c00, 0x3c00]) };
    expect([...runStage(bench, avgPool, [spread], {}, avg(window(1, 3, 1, 1, [0, 0, 0, 0], true), false)).output.data]).toEqual([f16FromNumber(2050 / 3)]);
    const zeros: Tensor = { shape: { c: 1, h: 1, w: 2 }, data: Uint16Array.from([0x8000, 0x8000]) };
    expect([...runStage(bench, avgPool, [zeros], {}, avg(window(1, 2, 1, 1), false)).output.data]).toEqual([0x8000]);
    const infinities: Tensor = { shape: { c: 1, h: 1, w: 2 }, data: Uint16Array.from([0x7c00, 0xfc00]) };
    expect([...runStage(bench, avgPool, [infinities], {}, avg(window(1, 2, 1, 1), false)).output.data]).toEqual([0x7e00]);
  });
});

describe('pooling parameters', () => {
  const base = window(3, 3, 2, 2, [1, 0, 1, 2]);
  it('encode and decode are each other\'s inverse', () => {
    for (const p of [base, window(13, 13, 1, 1, undefined, true)]) expect(maxPool.decode(maxPool.encode(p))).toEqual(p);
    for (const include of [false, true]) expect(avgPool.decode(avgPool.encode(avg(base, include)))).toEqual(avg(base, include));
    expect(avgPool.encode(avg(base, true))).toEqual([3, 3, 2, 2, 1, 0, 1, 2, 2]);
  });
  it('refuses what the kernels do not do', () => {
    expect(() => maxPool.encode({ ...base, strideX: 0 })).toThrow(LayerError);
    expect(() => maxPool.encode({ ...base, kernelH: 2.5 })).toThrow(/kernelH/);
    expect(() => maxPool.encode({ ...base, padLeft: 3 })).toThrow(/smaller than the kernel width/);
    expect(() => maxPool.encode({ ...base, padBottom: -1 })).toThrow(/padBottom/);
    expect(() => maxPool.encode({ ...base, global: true })).toThrow(/no padding/);
    expect(() => maxPool.decode([3, 3, 2, 2, 0, 0, 0, 0, 2])).toThrow(/flags/); // count_include_pad is avgPool's
    expect(() => avgPool.decode([3, 3, 2, 2, 0, 0, 0])).toThrow(/9 parameter words/);
    expect(() => maxPool.outputShape([{ c: 8, h: 2, w: 9 }], window(3, 3, 1, 1))).toThrow(/does not fit/);
    expect(() => maxPool.outputShape([{ c: 8, h: 14, w: 13 }], window(13, 13, 1, 1, undefined, true))).toThrow(/whole 14 x 13 input/);
    expect(() => avgPool.outputShape([{ c: 16384, h: 4, w: 4 }], avg(window(2, 2, 2, 2), false))).toThrow(/bytes of scratch/);
  });
  it('output sizes: floor((H + pads - k) / s) + 1', () => {
    expect(maxPool.outputShape([{ c: 64, h: 55, w: 55 }], window(3, 3, 2, 2))).toEqual({ c: 64, h: 27, w: 27 });
    expect(maxPool.outputShape([{ c: 3, h: 7, w: 8 }], window(2, 3, 2, 1, [0, 1, 1, 2]))).toEqual({ c: 3, h: 4, w: 9 });
  });
  it('a kernel given a tensor that is not HWC8 stops with an error', () => {
    const input = randomTensor(3, 4, 4);
    const chw: TensorPlace = { address: CMX, shape: input.shape, cStride: 32, yStride: 8, xStride: 2 };
    for (const layer of [maxPool, avgPool] as Layer<PoolParams>[]) {
      expect(() => runStage(bench, layer, [input], {}, avg(window(2, 2, 2, 2), false), { inputs: [chw] })).toThrow(KernelFailed);
    }
  });
  it('a kernel given less scratch than a pixel needs stops with an error', () => {
    const input = randomTensor(9, 4, 4);
    for (const layer of [maxPool, avgPool] as Layer<AvgPoolParams>[]) {
      const starved = { ...layer, scratchBytes: () => 16 * 4 };
      expect(() => runStage(bench, starved, [input], {}, avg(window(3, 3, 1, 1), false))).toThrow(/halted with code 2/);
    }
  });
  it('the global flag does not change the result', () => {
    const input = randomTensor(20, 5, 6, true);
    for (const layer of [maxPool, avgPool] as Layer<AvgPoolParams>[]) {
      const general = runStage(bench, layer, [input], {}, avg(window(5, 6, 1, 1), false)).output.data;
      expect(runStage(bench, layer, [input], {}, avg(window(5, 6, 1, 1, undefined, true), false)).output.data).toEqual(general);
    }
  });
});

describe('global pooling is split by channels', () => {
  const global = (_c: number, h: number, w: number): AvgPoolParams => ({ kernelH: h, kernelW: w, strideY: 1, strideX: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, global: true, countIncludePad: false });
  it('the shares are groups of 8 channels, and any number of them gives the reference', () => {
    const rand16 = xorshift32(77);
    const input: Tensor = { shape: { c: 203, h: 5, w: 7 }, data: Uint16Array.from({ length: 203 * 35 }, () => f16FromNumber((rand16() / 2 ** 32) * 8 - 4)) };
    const expected = avgPool.reference([input], {}, global(203, 5, 7)).data;
    for (const shaves of [1, 5, 12]) {
      const run = runStage(bench, avgPool, [input], {}, global(203, 5, 7), { shaves });
      expect(run.shares.length).toBe(shaves);
      expect(run.shares.reduce((n, s) => n + s.count, 0)).toBe(26); // ceil(203 / 8) groups
      expect(run.output.data).toEqual(expected);
      expect(runStage(bench, maxPool, [input], {}, global(203, 5, 7), { shaves }).output.data).toEqual(maxPool.reference([input], {}, global(203, 5, 7)).data);
    }
  });

  it('the graph says so, and a reader refuses a global pool split by rows', async () => {
    const { GraphBuilder } = await import('../../emu/graph/builder.js');
    const { writeGraph } = await import('../../emu/graph/writer.js');
    const { readGraph, GraphError } = await import('../../emu/graph/reader.js');
    const { STAGE_AT } = await import('../../emu/graph/format.js');
    const b = new GraphBuilder({ shaves: 12 });
    const x = b.input('x', { c: 16, h: 3, w: 3 });
    b.output('y', b.stage(avgPool, global(16, 3, 3), [x]));
    const bytes = writeGraph(b.build());
    const graph = readGraph(bytes);
    expect(graph.stages[0]!.split).toBe('channels');
    const tampered = bytes.slice();
    const at = new DataView(bytes.buffer).getUint32(52 + 4 * 18, true) + STAGE_AT.split;
    new DataView(tampered.buffer).setUint32(at, 0, true);
    expect(() => readGraph(tampered)).toThrow(GraphError);
    expect(() => readGraph(tampered)).toThrow(/split 0 \(rows\): with these parameters \S+ splits by channels/);
  });
});
