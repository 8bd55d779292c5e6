import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { F16, f16FromNumber } from '../../emu/graph/f16.js';
import { prod, sum } from '../../emu/graph/layers/eltwise.js';
import { roundUp8, type Layer, type Shape, type Tensor } from '../../emu/graph/layers/layer.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { hwc8, spanOf } from '../../emu/graph/tensor-place.js';
import { xorshift32 } from '../support/random.js';

const bench = new KernelBench(ma2450);
const rand = xorshift32(77);
const randomTensor = ({ c, h, w }: Shape) => ({ shape: { c, h, w }, data: Uint16Array.from({ length: c * h * w }, () => f16FromNumber(((rand() / 2 ** 32) * 2 - 1) * 6)) });
/** NaNs of both signs, infinities, signed zeros, subnormals, the largest finite values. */
const SPECIAL = [0x7e01, 0xfe00, 0x7c00, 0xfc00, 0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x83ff, 0x7bff, 0xfbff];
const CMX = 0x7018_0000; // free CMX slices 12-15 on ma2450

function withSpecials(t: Tensor, stride: number): Tensor {
  SPECIAL.forEach((x, i) => (t.data[(i * stride) % t.data.length] = x));
  return t;
}

/** Runs the stage with its tensors in DDR and again in CMX; both must give the reference. */
function check<P>(layer: Layer<P>, params: P, a: Tensor, b: Tensor, shaves: number): void {
  const expected = layer.reference([a, b], {}, params).data;
  expect(runStage(bench, layer, [a, b], {}, params, { shaves }).output.data).toEqual(expected);
  const places = { inputs: [hwc8(a.shape, CMX), hwc8(b.shape, CMX + 0x20000)], output: hwc8(a.shape, CMX + 0x40000) };
  expect(runStage(bench, layer, [a, b], {}, params, { shaves, ...places }).output.data).toEqual(expected);
}

/** in1's shape for a broadcast pattern: 'c' keeps C, 'h' keeps H, 'w' keeps W; the rest 1. */
const pattern = ({ c, h, w }: Shape, keep: string): Shape => ({ c: keep.includes('c') ? c : 1, h: keep.includes('h') ? h : 1, w: keep.includes('w') ? w : 1 });

// in0 shapes: C = 1, C < 8, C = 8, C not a multiple of 8, several groups; widths that give
// row runs below a group of 8 vectors, exactly one and many, with and without leftovers.
const SHAPES: readonly (readonly [number, number, number, number])[] = [
  [1, 3, 5, 1],
  [3, 5, 7, 12],
  [8, 4, 4, 5],
  [17, 3, 6, 5],
  [40, 6, 11, 12],
  [9, 2, 1, 1],
];
const PATTERNS = ['chw', 'c', 'hw', '', 'ch', 'cw', 'h', 'w'];
const OPERATIONS = [
  { name: 'sum', layer: sum, params: { relu: false } },
  { name: 'sum with ReLU', layer: sum, params: { relu: true } },
  { name: 'prod', layer: prod, params: {} },
] as const;

describe('sum and prod layer kernel against its reference', () => {
  for (const { name, layer, params } of OPERATIONS) {
    it(`${name}: every broadcast pattern, odd shapes, shares that do not divide, special values, DDR and CMX`, () => {
      for (const [c, h, w, shaves] of SHAPES) {
        const shape = { c, h, w };
        for (const keep of PATTERNS) {
          const a = withSpecials(randomTensor(shape), 5);
          const b = withSpecials(randomTensor(pattern(shape, keep)), 3);
          check(layer as Layer<typeof params>, params, a, b, shaves);
        }
      }
    });
  }

  it('lays a broadcast row out in pieces when it does not fit the scratch', () => {
    const shape = { c: 1000, h: 2, w: 30 }; // 2000-byte pixels: 24 fit in the scratch, the kernel takes 15
    expect(sum.scratchBytes([shape, { c: 1000, h: 1, w: 1 }], { relu: false })).toBe(24 * 2000);
    for (const keep of ['c', 'hw', 'ch']) check(sum, { relu: false }, randomTensor(shape), randomTensor(pattern(shape, keep)), 2);
    check(prod, {}, randomTensor(shape), randomTensor(pattern(shape, 'w')), 1);
  });

  it('leaves the pad lanes of the output zero when it broadcasts a value across channels', () => {
    for (const { layer, params } of OPERATIONS) {
      for (const [c, keep] of [[3, 'hw'], [13, 'hw'], [3, ''], [13, 'h']] as const) {
        const shape = { c, h: 2, w: 9 };
        const one = pattern(shape, keep);
        const infinities = { shape: one, data: new Uint16Array(one.h * one.w).fill(0x7c00) };
        const output = hwc8(shape, CMX + 0x40000);
        runStage(bench, layer as Layer<typeof params>, [randomTensor(shape), infinities], {}, params, { shaves: 1, output });
        const lanes = new Uint16Array(bench.read(0, output.address, spanOf(output)).buffer);
        const pads = lanes.filter((_, i) => i % roundUp8(c) >= c);
        expect(pads.length).toBe(18 * (roundUp8(c) - c));
        expect(pads.every((h) => h === 0)).toBe(true);
      }
    }
  });

  it('gives what the operations give for the special values', () => {
    const a = { shape: { c: SPECIAL.length, h: 1, w: 1 }, data: Uint16Array.from(SPECIAL) };
    const infinity = { shape: { c: 1, h: 1, w: 1 }, data: Uint16Array.from([0x7c00]) };
    const added = [...sum.reference([a, infinity], {}, { relu: false }).data];
    expect(added).toEqual([0x7e00, 0x7e00, 0x7c00, 0x7e00, 0x7c00, 0x7c00, 0x7c00, 0x7c00, 0x7c00, 0x7c00, 0x7c00, 0x7c00]);
    expect([...runStage(bench, sum, [a, infinity], {}, { relu: false }, { shaves: 1 }).output.data]).toEqual(added);
    const zero = { shape: { c: 1, h: 1, w: 1 }, data: Uint16Array.from([0x8000]) };
    const multiplied = [...prod.reference([a, zero], {}, {}).data];
    expect(multiplied).toEqual([0x7e00, 0x7e00, 0x7e00, 0x7e00, 0x8000, 0, 0x8000, 0, 0x8000, 0, 0x8000, 0]);
    expect([...runStage(bench, prod, [a, zero], {}, {}, { shaves: 1 }).output.data]).toEqual(multiplied);
    expect(F16.max(F16.add(0x8000, 0x8000), 0)).toBe(0); // with the ReLU, -0 + -0 gives +0
  });

  it('takes about a cycle and a half a vector for a sum of one shape, about two with a broadcast channel vector', () => {
    const shape = { c: 64, h: 5, w: 32 }; // 1280 vectors on one SHAVE
    const [same] = runStage(bench, sum, [randomTensor(shape), randomTensor(shape)], {}, { relu: false }, { shaves: 1 }).shares;
    expect(same!.counters.cycles).toBeLessThan(1280 * 1.6);
    const [perChannel] = runStage(bench, sum, [randomTensor(shape), randomTensor(pattern(shape, 'c'))], {}, { relu: false }, { shaves: 1 }).shares;
    expect(perChannel!.counters.cycles).toBeLessThan(1280 * 2.3);
  });

  it('refuses shapes that do not broadcast to in0, and words it does not give', () => {
    const a = { c: 8, h: 4, w: 4 };
    expect(() => sum.outputShape([a, { c: 2, h: 1, w: 1 }], { relu: false })).toThrow(/does not broadcast/);
    expect(() => prod.outputShape([{ c: 1, h: 1, w: 1 }, a], {})).toThrow(/does not broadcast/);
    expect(() => sum.outputShape([a], { relu: false })).toThrow(/2 inputs/);
    expect(() => sum.outputShape([{ c: 30000, h: 1, w: 2 }, { c: 1, h: 1, w: 1 }], { relu: false })).toThrow(/does not fit/);
    expect(sum.outputShape([a, { c: 8, h: 1, w: 4 }], { relu: true })).toEqual(a);
    expect(sum.decode(sum.encode({ relu: true }))).toEqual({ relu: true });
    expect(prod.decode(prod.encode({}))).toEqual({});
    expect(() => sum.decode([2])).toThrow(/0 or 1/);
    expect(() => prod.decode([0])).toThrow(/2/);
  });
});
